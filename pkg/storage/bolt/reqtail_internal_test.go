package bolt

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/tacit-gov/tacit/pkg/storage"
)

// After every commit of a busy history, the request tail's order of keys
// is that of the requests it holds, the mark is below every held result,
// and every request is held or in the bucket: the runs that go round the
// key space (and wrap) lose nothing and keep no stray key.
func TestRequestTailStaysConsistent(t *testing.T) {
	s, err := Open(t.TempDir(), Options{FoldEvery: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rt := s.group.requests
	var all []string
	var mu sync.Mutex
	for round := range 12 {
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				// Keys spread over the key space: principals a0..a4, ids in
				// no order.
				i := round*6 + w
				k := storage.IdempotencyKey{Principal: fmt.Sprintf("agency:a%d", (i*7)%5), Method: "OpenConsultation", ID: fmt.Sprintf("%08x", uint32(i)*2654435761)}
				for n := range 5 {
					k := k
					k.ID += fmt.Sprint("-", n)
					if _, _, err := s.Create(t.Context(), k, titled(k.ID)); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					all = append(all, string(requestKey(k)))
					mu.Unlock()
				}
			})
		}
		wg.Wait()

		rt.mu.RLock()
		if want := slices.Sorted(maps.Keys(rt.held)); !slices.Equal(rt.sorted, want) {
			t.Fatalf("round %d: the tail orders %d keys, holds %d (%v vs %v)", round, len(rt.sorted), len(want), rt.sorted, want)
		}
		var oldest uint64
		for _, h := range rt.held {
			if oldest == 0 || h.result < oldest {
				oldest = h.result
			}
		}
		if oldest != 0 && (len(rt.order) == 0 || rt.order[0].result != oldest) {
			t.Errorf("round %d: order starts at %v, the oldest held result is %d", round, rt.order[:min(1, len(rt.order))], oldest)
		}
		held := maps.Clone(rt.held)
		rt.mu.RUnlock()
		if err := s.db.View(func(tx *bolt.Tx) error {
			mark := requestsMark(tx)
			if oldest != 0 && mark >= oldest {
				t.Errorf("round %d: the mark %d is not below the oldest held result %d", round, mark, oldest)
			}
			for _, key := range all {
				if _, ok := held[key]; !ok && tx.Bucket(bRequests).Get([]byte(key)) == nil {
					t.Errorf("round %d: request %q is neither held nor in the bucket", round, key)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(all) != 12*6*5 {
		t.Fatalf("wrote %d requests", len(all))
	}
}
