package bolt_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	bbolt "go.etcd.io/bbolt"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/storage"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

// agencyReads is what an agency reads of the trail: the entries it is
// party to (ListEvents by agency) and its inbox (ListInbox), each read in
// pages of two so that pages cross from the index's file to its memory.
type agencyReads struct {
	Party, Inbox []uint64
}

var historyAgencies = []string{"so-nnmt", "so-y-te", "so-xay-dung"}

func readAgencies(t *testing.T, s *bolt.Store) map[string]agencyReads {
	t.Helper()
	ctx := t.Context()
	out := map[string]agencyReads{}
	for _, a := range historyAgencies {
		var r agencyReads
		for after := uint64(0); ; {
			page, err := s.ListEvents(ctx, storage.EventQuery{Agency: a, AfterSeq: after, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				r.Party = append(r.Party, e.GetSequence())
			}
			after = page[len(page)-1].GetSequence()
		}
		for after := uint64(0); ; {
			page, err := s.ListInbox(ctx, a, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				r.Inbox = append(r.Inbox, e.GetSequence())
			}
			after = page[len(page)-1].GetSequence()
		}
		out[a] = r
	}
	return out
}

// trailReads is readAgencies worked out from the whole trail: what the
// indexes must give.
func trailReads(t *testing.T, s *bolt.Store) map[string]agencyReads {
	t.Helper()
	all, err := s.ListEvents(t.Context(), storage.EventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]agencyReads{}
	for _, a := range historyAgencies {
		var r agencyReads
		for _, e := range all {
			if e.GetAgency() == a || e.GetActor() == "agency:"+a {
				r.Party = append(r.Party, e.GetSequence())
			}
			if slices.Contains(e.GetNotified(), a) {
				r.Inbox = append(r.Inbox, e.GetSequence())
			}
		}
		out[a] = r
	}
	return out
}

// indexEntries counts the entries of the agency indexes in the file.
func indexEntries(t *testing.T, s *bolt.Store) (n int) {
	t.Helper()
	if err := s.DB().View(func(tx *bbolt.Tx) error {
		for _, b := range []string{"audit_agency", "inbox"} {
			n += tx.Bucket([]byte(b)).Stats().KeyN
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// openFold opens the store in dir, writing its agency indexes every fold
// audit entries (1 << 20: never, in a test), closed at the end of the test.
func openFold(t *testing.T, dir string, fold int) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(dir, bolt.Options{FoldEvery: fold})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// copyLive copies the file of the open store s, as a backup takes it, into
// a new folder, and returns the folder.
func copyLive(t *testing.T, s *bolt.Store) string {
	t.Helper()
	dir := t.TempDir()
	if err := s.DB().View(func(tx *bbolt.Tx) error {
		return tx.CopyFile(filepath.Join(dir, "tacit.db"), 0o600)
	}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// editFile changes the closed data file at path with bbolt directly, as
// damage or an older tacit would have left it.
func editFile(t *testing.T, path string, edit func(*bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(edit); err != nil {
		t.Fatal(err)
	}
}

// The agency indexes of the trail are written late (held in memory until
// FoldEvery entries have gathered): whether an entry is held, written, or
// read back from the trail after a restart, every read gives the same.
func TestAgencyIndexesReadTheSameHeldOrWritten(t *testing.T) {
	for _, fold := range []int{1, 3, 1 << 20} {
		t.Run(fmt.Sprintf("FoldEvery%d", fold), func(t *testing.T) {
			dir := t.TempDir()
			s := openFold(t, dir, fold)
			writeHistory(t, s)
			want := trailReads(t, s)
			if len(want["so-y-te"].Party) < 3 || len(want["so-y-te"].Inbox) < 3 {
				t.Fatalf("the history gives so-y-te too little to read: %+v", want["so-y-te"])
			}
			if diff := cmp.Diff(want, readAgencies(t, s)); diff != "" {
				t.Errorf("reads of the live store (-trail +read):\n%s", diff)
			}
			held := indexEntries(t, s)
			switch {
			case fold == 1 && held == 0:
				t.Error("folding every entry, the index buckets are empty")
			case fold > 1000 && held != 0:
				t.Errorf("with every entry held in memory, the index buckets have %d", held)
			}
			if p := mustCheck(t, s); len(p) != 0 {
				t.Errorf("Check of the live store:\n%s", strings.Join(p, "\n"))
			}

			// A copy of the live file, as a backup takes it: its entries
			// held in memory are read back from its trail.
			c := open(t, copyLive(t, s))
			if diff := cmp.Diff(want, readAgencies(t, c)); diff != "" {
				t.Errorf("reads of a copy of the live file (-trail +read):\n%s", diff)
			}

			// Closed, the file has every index entry; opened again, the
			// same reads.
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			r := open(t, dir)
			if diff := cmp.Diff(want, readAgencies(t, r)); diff != "" {
				t.Errorf("reads after closing and opening again (-trail +read):\n%s", diff)
			}
			if got, n := indexEntries(t, r), trailEntries(t, r); got != n {
				t.Errorf("after Close the index buckets hold %d entries, the trail implies %d", got, n)
			}
			if p := mustCheck(t, r); len(p) != 0 {
				t.Errorf("Check after Close:\n%s", strings.Join(p, "\n"))
			}
		})
	}
}

// An index entry in the file after the mark (written there by something
// other than the store, or a damaged mark) is reported by Check, saying
// why.
func TestCheckReportsIndexEntryAfterTheMark(t *testing.T) {
	s := openFold(t, t.TempDir(), 1<<20)
	writeHistory(t, s)
	var seq uint64
	all, _ := s.ListEvents(t.Context(), storage.EventQuery{Agency: "so-y-te"})
	if len(all) == 0 {
		t.Fatal("so-y-te has no entries")
	}
	seq = all[len(all)-1].GetSequence()
	if err := s.DB().Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("audit_agency")).Put(append([]byte("so-y-te\x00"), u64be(seq)...), nil)
	}); err != nil {
		t.Fatal(err)
	}
	p := mustCheck(t, s)
	if len(p) != 1 || !strings.Contains(p[0], "audit_agency") || !strings.Contains(p[0], "up to which the index is written") {
		t.Errorf("Check = %q, want the entry after the mark reported", p)
	}
}

// trailEntries counts the agency index entries the whole trail implies.
func trailEntries(t *testing.T, s *bolt.Store) (n int) {
	t.Helper()
	all, err := s.ListEvents(t.Context(), storage.EventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if e.GetAgency() != "" {
			n++
		}
		if a, ok := strings.CutPrefix(e.GetActor(), "agency:"); ok && a != e.GetAgency() {
			n++
		}
		n += len(e.GetNotified())
	}
	return n
}

func u64be(v uint64) []byte {
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return b
}

// Writes made through the store while a bulk load is under way (between
// the loader's commits) are indexed by agency like any: the loader, which
// marks the indexes complete as it commits, first writes those the store
// holds in memory.
func TestLoaderKeepsTheIndexEntriesOfWritesBetweenItsCommits(t *testing.T) {
	ctx := t.Context()
	s := openFold(t, t.TempDir(), 1<<20)
	l, err := s.NewLoader(0)
	if err != nil {
		t.Fatal(err)
	}
	event := func(actor string) []*tacitv1.AuditEvent {
		return []*tacitv1.AuditEvent{{EventTime: ts(opened), Actor: actor, Type: "REGISTRY_IMPORTED", Notified: []string{"so-y-te"}}}
	}
	if err := l.Events(event("agency:so-nnmt")); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRegistry(ctx, nil, nil, event("agency:so-nnmt")); err != nil {
		t.Fatal(err)
	}
	if err := l.Events(event("agency:so-nnmt")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	want := agencyReads{Party: []uint64{1, 2, 3}, Inbox: []uint64{1, 2, 3}}
	if got := readAgencies(t, s)["so-nnmt"].Party; !slices.Equal(got, want.Party) {
		t.Errorf("so-nnmt's entries after the load = %v, want %v", got, want.Party)
	}
	if got := readAgencies(t, s)["so-y-te"].Inbox; !slices.Equal(got, want.Inbox) {
		t.Errorf("so-y-te's inbox after the load = %v, want %v", got, want.Inbox)
	}
	if p := mustCheck(t, s); len(p) != 0 {
		t.Errorf("Check after the load:\n%s", strings.Join(p, "\n"))
	}
}

// A store whose trail has an unreadable entry among those whose agency
// indexes are not yet written still opens, so that VerifyAudit can say
// which entry is broken; the entry indexes nothing.
func TestStoreWithAnUnreadableRecentAuditEntryOpens(t *testing.T) {
	s := openFold(t, t.TempDir(), 1<<20)
	writeHistory(t, s)
	// A copy of the live file, whose agency indexes are all unwritten; its
	// entry 2 damaged.
	dir := copyLive(t, s)
	editFile(t, filepath.Join(dir, "tacit.db"), func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("audit")).Put(u64be(2), []byte{0xff, 0xff, 0xff})
	})
	c, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatalf("opening a store with a damaged recent audit entry: %v", err)
	}
	defer c.Close()
	v, err := c.VerifyAudit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v.Intact || v.FirstBroken != 2 {
		t.Errorf("VerifyAudit = %+v, want entry 2 reported broken", v)
	}
	if len(readAgencies(t, c)["so-y-te"].Inbox) == 0 {
		t.Error("so-y-te's inbox is empty: the other entries must still be read")
	}
}
