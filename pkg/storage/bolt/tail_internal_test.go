package bolt

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

// heldStore is an empty store that holds every agency index entry in
// memory until closed (at the end of the test) or folded by hand.
func heldStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{FoldEvery: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rejections writes n refused openings of lead, each notified to so-y-te.
func rejections(t *testing.T, s *Store, n int) {
	t.Helper()
	for range n {
		e := &tacitv1.AuditEvent{Actor: "agency:so-nnmt", Type: "OPEN_REJECTED", Notified: []string{"so-y-te"}}
		if err := s.RecordRejection(t.Context(), "so-nnmt", []*tacitv1.AuditEvent{e}); err != nil {
			t.Fatal(err)
		}
	}
}

func collect(next func() (uint64, bool)) []uint64 {
	var out []uint64
	for seq, ok := next(); ok; seq, ok = next() {
		out = append(out, seq)
	}
	return out
}

// A read transaction sees the agency indexes as of its start, whatever the
// tail does meanwhile: entries folded into the buckets and forgotten by
// the tail after it began are read from the trail, and entries committed
// after it began are not seen.
func TestTailReadsAsOfTheTransaction(t *testing.T) {
	s := heldStore(t)
	rejections(t, s, 5)
	tx, err := s.db.Begin(false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	want := []uint64{1, 2, 3, 4, 5}
	for _, ix := range [][]byte{bAuditAgency, bInbox} {
		agency := map[string]string{string(bAuditAgency): "so-nnmt", string(bInbox): "so-y-te"}[string(ix)]
		if got := collect(s.group.tail.seqs(tx, ix, agency, 0)); !slices.Equal(got, want) {
			t.Fatalf("%s of %s before anything else = %v, want %v", ix, agency, got, want)
		}
	}

	// Folded and trimmed after tx began, then two more written.
	var mark uint64
	if err := s.db.Update(func(tx *bolt.Tx) (err error) {
		mark, err = s.group.tail.fold(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.group.tail.trim(mark)
	if mark != 5 || s.group.tail.held() != 0 {
		t.Fatalf("fold: mark %d, %d held; want 5, 0", mark, s.group.tail.held())
	}
	rejections(t, s, 2)
	for _, ix := range [][]byte{bAuditAgency, bInbox} {
		agency := map[string]string{string(bAuditAgency): "so-nnmt", string(bInbox): "so-y-te"}[string(ix)]
		if got := collect(s.group.tail.seqs(tx, ix, agency, 0)); !slices.Equal(got, want) {
			t.Errorf("%s of %s, read in the transaction begun before the fold = %v, want %v", ix, agency, got, want)
		}
		if got := collect(s.group.tail.seqs(tx, ix, agency, 3)); !slices.Equal(got, want[3:]) {
			t.Errorf("%s of %s after 3, in that transaction = %v, want %v", ix, agency, got, want[3:])
		}
	}
	if err := s.db.View(func(now *bolt.Tx) error {
		if got, want := collect(s.group.tail.seqs(now, bInbox, "so-y-te", 0)), []uint64{1, 2, 3, 4, 5, 6, 7}; !slices.Equal(got, want) {
			t.Errorf("inbox of so-y-te now = %v, want %v", got, want)
		}
		// A tail that covers nothing (as when commits bypassed it) reads
		// the same from the trail.
		if diff := cmp.Diff(collect(s.group.tail.seqs(now, bInbox, "so-y-te", 2)), collect(newTail(0).seqs(now, bInbox, "so-y-te", 2))); diff != "" {
			t.Errorf("an empty tail reads otherwise (-tail +empty):\n%s", diff)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// A commit whose audit entries do not follow the tail's last (written
// around it) starts the tail anew, and reads fill the gap from the trail.
func TestTailStartsAnewAfterAGap(t *testing.T) {
	tl := newTail(0)
	tl.add([]tailEntry{{seq: 1, agencies: []string{"a"}}, {seq: 2, notified: []string{"a"}}})
	tl.add([]tailEntry{{seq: 5, agencies: []string{"a"}}})
	if tl.from != 5 || tl.top != 5 || tl.held() != 1 {
		t.Fatalf("after a gap: from %d top %d held %d, want 5 5 1", tl.from, tl.top, tl.held())
	}
	if sp := tl.span(bAuditAgency, "a", 1, 9); !slices.Equal(sp.seqs, []uint64{5}) {
		t.Errorf("span = %+v, want only 5", sp)
	}
	tl.trim(7)
	if tl.held() != 0 || tl.from != 8 {
		t.Errorf("trimmed past its top: from %d, held %d; want 8, 0", tl.from, tl.held())
	}
}

// An event that names an agency twice indexes it once, held or written.
func TestTailIndexesAnAgencyOnce(t *testing.T) {
	e := entryOf(7, &tacitv1.AuditEvent{Agency: "x", Actor: "agency:x", Notified: []string{"y", "x", "y"}})
	if !slices.Equal(e.agencies, []string{"x"}) || !slices.Equal(e.notified, []string{"x", "y"}) {
		t.Errorf("entryOf = %+v, want agencies [x], notified [x y]", e)
	}
}

// A fold writes every entry after the mark, whether the tail holds it or
// not: what it does not cover is read from the trail.
func TestFoldWritesWhatTheTailDoesNotHold(t *testing.T) {
	s := heldStore(t)
	rejections(t, s, 5)
	var keys int
	if err := s.db.Update(func(tx *bolt.Tx) error {
		part := newTail(0) // holds entries 1 and 2 of 5
		part.add(readTrail(tx, 1, 2))
		if _, err := part.fold(tx); err != nil {
			return err
		}
		for _, b := range [][]byte{bAuditAgency, bInbox} {
			c := tx.Bucket(b).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				keys++
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if keys != 10 {
		t.Errorf("after folding with an empty tail the buckets hold %d entries, want 10 (5 by agency, 5 in the inbox)", keys)
	}
}

// While a writer says more of its commits follow (a sweep with due
// entries left), the tail keeps up to burstFolds×FoldEvery entries rather
// than folding between its commits; the commit that says none follow
// folds them, and an agency's inbox reads the same throughout.
func TestFoldsWaitWhileASweepGoesOn(t *testing.T) {
	const every = 4
	s, err := Open(t.TempDir(), Options{FoldEvery: every})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	write := func(more bool) {
		t.Helper()
		err := s.group.alone(func(b *txBatch) error {
			b.more = more
			return b.appendEvents([]*tacitv1.AuditEvent{{Actor: "system", Type: "DEEMED_APPROVAL", Notified: []string{"so-y-te"}}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The writer folds after answering a commit, before the next: a commit
	// of nothing (that says more follow, lest it fold) waits for the fold.
	settled := func() uint64 {
		t.Helper()
		if err := s.group.alone(func(b *txBatch) error { b.more = true; return nil }); err != nil {
			t.Fatal(err)
		}
		return s.group.tail.held()
	}
	inbox := func() int {
		t.Helper()
		got, err := s.ListInbox(t.Context(), "so-y-te", 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	burst := every*burstFolds - 1
	for i := range burst {
		write(true)
		if held := settled(); held != uint64(i+1) {
			t.Fatalf("after %d commits of a sweep, the tail holds %d entries, want all %d (no fold yet)", i+1, held, i+1)
		}
	}
	if n := inbox(); n != burst {
		t.Fatalf("so-y-te's inbox lists %d entries while the sweep goes on, want %d", n, burst)
	}
	write(false)
	if held := settled(); held != 0 {
		t.Errorf("the sweep's last commit left %d entries held, want them folded", held)
	}
	// Ordinary writes fold every FoldEvery entries again.
	for range every {
		write(false)
	}
	if held := settled(); held != 0 {
		t.Errorf("after %d ordinary writes the tail holds %d entries, want them folded", every, held)
	}
	if n := inbox(); n != burst+1+every {
		t.Errorf("so-y-te's inbox lists %d entries, want %d", n, burst+1+every)
	}
	if r, err := s.Check(t.Context()); err != nil || len(r) > 0 {
		t.Errorf("Check: %v %v", err, r)
	}
}
