package bolt_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/storage"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

// remembered is a history of requests with request ids: opens and
// retitles, each of a consultation of its own.
type remembered struct {
	ids []string // consultation of open i
}

const rememberedN = 300

func openKey(i int) storage.IdempotencyKey {
	return storage.IdempotencyKey{Principal: fmt.Sprintf("agency:a%d", i%7), Method: "OpenConsultation", ID: fmt.Sprintf("open-%03d", i), Fingerprint: []byte(fmt.Sprint("open ", i))}
}

func retitleKey(i int) storage.IdempotencyKey {
	return storage.IdempotencyKey{Principal: fmt.Sprintf("agency:a%d", i%7), Method: "Retitle", ID: fmt.Sprintf("retitle-%03d", i), Fingerprint: []byte(fmt.Sprint("retitle ", i))}
}

func openTitled(title string) storage.Builder {
	return checkBuild(title, map[string]time.Time{"so-y-te": later}, true)
}

func retitleTo(title string) storage.Mutation {
	return func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) { c.Title = title; return nil, nil }
}

// writeRemembered writes the history, eight callers at a time so that
// commits carry several requests.
func writeRemembered(t *testing.T, s *bolt.Store) remembered {
	t.Helper()
	h := remembered{ids: make([]string, rememberedN)}
	var wg sync.WaitGroup
	errs := make(chan error, rememberedN)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < rememberedN; i += 8 {
				c, _, err := s.Create(t.Context(), openKey(i), openTitled(fmt.Sprint("open ", i)))
				if err != nil {
					errs <- err
					return
				}
				h.ids[i] = c.GetId()
				if _, _, err := s.Update(t.Context(), c.GetId(), retitleKey(i), retitleTo(fmt.Sprint("retitled ", i))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return h
}

// checkRemembered asserts what a client relies on of every request of the
// history: a retry returns the first result and writes nothing, and the
// request id used for another request is refused.
func checkRemembered(t *testing.T, s *bolt.Store, h remembered) {
	t.Helper()
	ctx := t.Context()
	before, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rememberedN {
		c, replayed, err := s.Create(ctx, openKey(i), openTitled("a retry"))
		if err != nil || !replayed || c.GetId() != h.ids[i] || c.GetTitle() != fmt.Sprint("open ", i) {
			t.Fatalf("retry of open %d: %s %q replayed=%v err=%v, want consultation %s %q replayed", i, c.GetId(), c.GetTitle(), replayed, err, h.ids[i], fmt.Sprint("open ", i))
		}
		c, replayed, err = s.Update(ctx, h.ids[i], retitleKey(i), retitleTo("a retry"))
		if err != nil || !replayed || c.GetTitle() != fmt.Sprint("retitled ", i) {
			t.Fatalf("retry of retitle %d: %q replayed=%v err=%v, want the first result", i, c.GetTitle(), replayed, err)
		}
		other := h.ids[(i+1)%rememberedN]
		if _, _, err := s.Update(ctx, other, retitleKey(i), retitleTo("a retry")); !reused(err) {
			t.Fatalf("retitle %d's request id on consultation %s: %v, want %s", i, other, err, storage.ReasonRequestIDReused)
		}
		k := openKey(i)
		k.Fingerprint = []byte("something else")
		if _, _, err := s.Create(ctx, k, openTitled("another")); !reused(err) {
			t.Fatalf("open %d's request id for another request: %v, want %s", i, err, storage.ReasonRequestIDReused)
		}
	}
	after, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Consultations != before.Consultations || after.AuditEntries != before.AuditEntries {
		t.Errorf("retries and refusals wrote: %+v, then %+v", before, after)
	}
}

func reused(err error) bool {
	f, ok := fault.As(err)
	return ok && f.Reason == storage.ReasonRequestIDReused
}

// requestEntries counts the entries of the requests index in the file.
func requestEntries(t *testing.T, s *bolt.Store) (n int) {
	t.Helper()
	if err := s.DB().View(func(tx *bbolt.Tx) error {
		n = tx.Bucket([]byte("requests")).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// The index of remembered requests is written late (a run of the held
// ones with each commit once FoldEvery are held): whether a request is
// held, written, in a copy of the live file (as after a crash: the file
// alone, read back from its results log) or in a store closed and opened
// again, a retry finds its first result and a reused id is refused.
func TestRememberedRequestsHeldOrWritten(t *testing.T) {
	for _, fold := range []int{1, 100, 1 << 20} {
		t.Run(fmt.Sprintf("FoldEvery%d", fold), func(t *testing.T) {
			dir := t.TempDir()
			s := openFold(t, dir, fold)
			h := writeRemembered(t, s)
			written := requestEntries(t, s)
			switch {
			case fold == 1 && written != 2*rememberedN:
				t.Errorf("with FoldEvery 1 the index holds %d requests, want all %d", written, 2*rememberedN)
			case fold == 100 && (written == 0 || 2*rememberedN-written > 100+8):
				// Runs wait for 100 held; a commit adds up to 8 more.
				t.Errorf("with FoldEvery 100 the index holds %d of %d requests, want all but 100 at most", written, 2*rememberedN)
			case fold == 1<<20 && written != 0:
				t.Errorf("with FoldEvery %d the index holds %d requests, want none yet", fold, written)
			}
			checkRemembered(t, s, h)

			live := openFold(t, copyLive(t, s), fold)
			checkRemembered(t, live, h)
			if problems := mustCheck(t, live); len(problems) > 0 {
				t.Errorf("Check of a copy of the live file: %q", problems[:min(len(problems), 5)])
			}

			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openFold(t, dir, fold)
			if got := requestEntries(t, s); got != 2*rememberedN {
				t.Errorf("after Close the index holds %d requests, want %d", got, 2*rememberedN)
			}
			checkRemembered(t, s, h)
			if problems := mustCheck(t, s); len(problems) > 0 {
				t.Errorf("Check after Close and open: %q", problems[:min(len(problems), 5)])
			}
		})
	}
}
