package bolt

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// commitTestStore is a store with a bucket for the committer's tests.
func commitTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("t"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

// queued waits until n writes wait in the committer's queue.
func queued(t *testing.T, c *committer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := len(c.queue)
		c.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Writes that arrive while a commit runs share the next one, and each is
// answered only once it is committed: a write's error (or panic) goes to
// its caller alone, and nothing it wrote is kept, while the others of its
// group are committed.
func TestCommitterGroupsWritesAndIsolatesFailures(t *testing.T) {
	s := commitTestStore(t)
	hold, held := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.group.do(func(tx *bolt.Tx) error {
			close(held)
			<-hold // the writer is busy: the next writes queue up
			return tx.Bucket([]byte("t")).Put([]byte("first"), []byte("1"))
		})
	}()
	<-held

	const n = 20
	var (
		mu  sync.Mutex
		txs = map[*bolt.Tx]int{}
		wg  sync.WaitGroup
	)
	errs := make([]error, n)
	errBad := errors.New("refused by the test")
	for i := range n {
		wg.Go(func() {
			errs[i] = s.group.do(func(tx *bolt.Tx) error {
				mu.Lock()
				txs[tx]++
				mu.Unlock()
				b := tx.Bucket([]byte("t"))
				if err := b.Put([]byte("k"+strconv.Itoa(i)), []byte("v")); err != nil {
					return err
				}
				switch i {
				case 3:
					return errBad
				case 7:
					panic("a bug in one write")
				}
				return nil
			})
		})
	}
	queued(t, &s.group, n)
	close(hold)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first write: %v", err)
	}

	for i, err := range errs {
		switch i {
		case 3:
			if !errors.Is(err, errBad) {
				t.Errorf("write 3: error %v, want its own %v", err, errBad)
			}
		case 7:
			if err == nil {
				t.Errorf("write 7 panicked but was answered with no error")
			}
		default:
			if err != nil {
				t.Errorf("write %d: %v (another write's failure spoiled it)", i, err)
			}
		}
	}
	// The 20 queued writes ran in one transaction, which was rolled back
	// twice (once per failing write) and committed on the third try.
	if len(txs) != 3 {
		t.Errorf("the queued writes ran in %d transactions, want 3 (one group, two failures taken out)", len(txs))
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("t"))
		if b.Get([]byte("first")) == nil {
			t.Error("the first write is not stored")
		}
		for i := range n {
			got := b.Get([]byte("k"+strconv.Itoa(i))) != nil
			if want := i != 3 && i != 7; got != want {
				t.Errorf("k%d stored: %v, want %v", i, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// When the commit itself fails (here: the store is read-only), every write
// of the group is told so.
func TestCommitterCommitFailureReachesEveryWrite(t *testing.T) {
	s := commitTestStore(t)
	path := s.db.Path()
	s.Close()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := &committer{db: db}
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() {
			errs[i] = c.do(func(tx *bolt.Tx) error { return nil })
		})
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, bolt.ErrDatabaseReadOnly) {
			t.Errorf("write %d: %v, want %v", i, err, bolt.ErrDatabaseReadOnly)
		}
	}
}
