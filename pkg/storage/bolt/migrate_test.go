package bolt_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bbolt "go.etcd.io/bbolt"

	"github.com/tacit-gov/tacit/pkg/storage"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

// A store written by schema 1 lacked the derived data of auditors and
// inboxes. Opening it copies the file first, then rebuilds that data from
// the records and the audit trail: the figures, indexes and totals equal
// those of a store that always had them, and Check finds nothing.
func TestMigrationFromSchema1RebuildsDerivedData(t *testing.T) {
	ctx := context.Background()
	s := consistentStore(t)
	dir := filepath.Dir(s.DB().Path())
	wantFigures, err := s.AgencyFigures(ctx, storage.StatsQuery{})
	if err != nil {
		t.Fatal(err)
	}
	wantCounts, _ := s.Counts(ctx)
	wantDeemed, _, _ := s.ListDeemed(ctx, storage.DeemedQuery{Limit: 1000})
	// Make it look like schema 1: no derived data at all.
	err = s.DB().Update(func(tx *bbolt.Tx) error {
		for _, b := range []string{"pending", "reminders", "deemed", "deemed_time", "deemed_lead", "party", "stats", "stats_pending", "audit_consultation", "audit_agency", "inbox"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		meta := tx.Bucket([]byte("meta"))
		for _, k := range []string{"open_consultations", "deemed_approvals"} {
			if err := meta.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return meta.Put([]byte("schema"), []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	m, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatalf("opening a schema 1 store: %v", err)
	}
	defer m.Close()
	if len(m.Migrated) != 2 || !strings.Contains(m.Migrated[0], "backed up schema 1") {
		t.Fatalf("Migrated = %q", m.Migrated)
	}
	backups, _ := filepath.Glob(filepath.Join(dir, "tacit.db.schema-1.*.bak"))
	if len(backups) != 1 {
		t.Fatalf("backups before migrating: %v", backups)
	}
	if problems := mustCheck(t, m); len(problems) > 0 {
		t.Fatalf("after migration: %q", problems)
	}
	gotFigures, _ := m.AgencyFigures(ctx, storage.StatsQuery{})
	if diff := cmp.Diff(wantFigures, gotFigures); diff != "" {
		t.Errorf("figures after migration (-want +got):\n%s", diff)
	}
	gotCounts, _ := m.Counts(ctx)
	if gotCounts.OpenConsultations != wantCounts.OpenConsultations || gotCounts.DeemedApprovals != wantCounts.DeemedApprovals || gotCounts.PendingAddressees != wantCounts.PendingAddressees {
		t.Errorf("counts after migration %+v, want %+v", gotCounts, wantCounts)
	}
	if gotDeemed, _, _ := m.ListDeemed(ctx, storage.DeemedQuery{Limit: 1000}); len(gotDeemed) != len(wantDeemed) {
		t.Errorf("%d deemed approvals after migration, want %d", len(gotDeemed), len(wantDeemed))
	}
	// The backup is the untouched schema 1 file, and opening the migrated
	// store again does nothing more.
	m.Close()
	again, err := bolt.Open(dir, bolt.Options{Migrating: func(from, to int, _ int64) {
		t.Errorf("told of a migration from %d to %d of an up-to-date store", from, to)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if len(again.Migrated) != 0 {
		t.Errorf("a second open migrated again: %q", again.Migrated)
	}
}

// A schema 2 store keyed its figures by agency, then day. Opening it
// copies the file and rewrites them by day, then agency: every figure, of
// all time and of a period, is what it was, and Check finds nothing.
func TestMigrationFromSchema2RekeysFiguresByDay(t *testing.T) {
	ctx := context.Background()
	s := consistentStore(t)
	dir := filepath.Dir(s.DB().Path())
	var first, last time.Time
	err := s.DB().View(func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket([]byte("stats")).Cursor().First()
		l, _ := tx.Bucket([]byte("stats")).Cursor().Last()
		first, last = dayStart(k), dayStart(l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !last.After(first) {
		t.Fatalf("the store's figures span one day (%s): the test needs several", first)
	}
	period := storage.StatsQuery{Since: first.Add(24 * time.Hour), Until: last}
	wantAll, _ := s.AgencyFigures(ctx, storage.StatsQuery{})
	wantPeriod, _ := s.AgencyFigures(ctx, period)
	// Make it look like schema 2: figures under agency 0 day(4).
	err = s.DB().Update(func(tx *bbolt.Tx) error {
		type row struct{ k, v []byte }
		var rows []row
		st := tx.Bucket([]byte("stats"))
		_ = st.ForEach(func(k, v []byte) error {
			rows = append(rows, row{append(append(append([]byte{}, k[4:]...), 0), k[:4]...), bytes.Clone(v)})
			return nil
		})
		if err := tx.DeleteBucket([]byte("stats")); err != nil {
			return err
		}
		st, err := tx.CreateBucket([]byte("stats"))
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := st.Put(r.k, r.v); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("2"))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	var told []int
	m, err := bolt.Open(dir, bolt.Options{Migrating: func(from, to int, size int64) {
		if size <= 0 {
			t.Errorf("told of a migration of a %d-byte store", size)
		}
		told = append(told, from, to)
	}})
	if err != nil {
		t.Fatalf("opening a schema 2 store: %v", err)
	}
	if !slices.Equal(told, []int{2, bolt.SchemaVersion}) {
		t.Errorf("told of migrations %v, want from 2 to %d once", told, bolt.SchemaVersion)
	}
	defer m.Close()
	if len(m.Migrated) != 2 || !strings.Contains(m.Migrated[0], "backed up schema 2") || !strings.Contains(m.Migrated[1], "figures keyed by day") {
		t.Fatalf("Migrated = %q", m.Migrated)
	}
	if problems := mustCheck(t, m); len(problems) > 0 {
		t.Fatalf("after migration: %q", problems)
	}
	gotAll, _ := m.AgencyFigures(ctx, storage.StatsQuery{})
	if diff := cmp.Diff(wantAll, gotAll); diff != "" {
		t.Errorf("figures of all time after migration (-want +got):\n%s", diff)
	}
	gotPeriod, _ := m.AgencyFigures(ctx, period)
	if diff := cmp.Diff(wantPeriod, gotPeriod); diff != "" {
		t.Errorf("figures of %s to %s after migration (-want +got):\n%s", period.Since, period.Until, diff)
	}
	if cmp.Equal(wantAll, wantPeriod) {
		t.Error("the period's figures equal all time's: the test does not tell them apart")
	}
}

// dayStart is the first instant of the day a figures key names (in UTC; a
// day boundary is all the test needs).
func dayStart(k []byte) time.Time {
	return time.Unix(int64(binary.BigEndian.Uint32(k[:4]))*86400, 0).UTC()
}

// A store of schema 3 had its agency indexes written with every entry.
// Opening it marks them complete up to the head of the trail, in place: no
// copy is made (nothing is rewritten) and the operator is not told of a
// long migration; reads and Check are as before.
func TestMigrationFromSchema3MarksTheIndexes(t *testing.T) {
	s := consistentStore(t)
	want := readAgencies(t, s)
	path := closeAsSchema(t, s, 3, "indexed", nil)

	m := openMigratedInPlace(t, path, 3)
	if diff := cmp.Diff(want, readAgencies(t, m)); diff != "" {
		t.Errorf("reads after migration (-before +after):\n%s", diff)
	}
	if got := indexEntries(t, m); got != trailEntries(t, m) {
		t.Errorf("index buckets hold %d entries, the trail implies %d", got, trailEntries(t, m))
	}
	if problems := mustCheck(t, m); len(problems) > 0 {
		t.Fatalf("after migration: %q", problems)
	}
}

// A store of schema 4 wrote every remembered request to the index at
// once, and its results log holds the results alone. Opening it marks the
// requests complete up to the end of the log, in place: retries still
// return their first result, reused ids are still refused, and Check finds
// nothing.
func TestMigrationFromSchema4MarksTheRequests(t *testing.T) {
	path := closeAsSchema(t, consistentStore(t), 4, "requests_indexed", func(tx *bbolt.Tx) error {
		// Results as schema 4 wrote them: the encoded record alone, which
		// follows the request's entry in the index (49 bytes).
		results := tx.Bucket([]byte("results"))
		c := results.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			n, w := binary.Uvarint(v[1:])
			if v[0] != 0 || w <= 0 {
				t.Fatalf("result %x is not of schema 5", k)
			}
			if err := results.Put(bytes.Clone(k), bytes.Clone(v[1+w+int(n)+49:])); err != nil {
				return err
			}
		}
		return nil
	})

	m := openMigratedInPlace(t, path, 4)
	if problems := mustCheck(t, m); len(problems) > 0 {
		t.Fatalf("after migration: %q", problems)
	}
	// writeHistory opened consultation 1 with request r-1.
	key := storage.IdempotencyKey{Principal: "agency:so-nnmt", Method: "OpenConsultation", ID: "r-1"}
	c, replayed, err := m.Create(t.Context(), key, checkBuild("again", nil, true))
	if err != nil || !replayed || c.GetId() != "1" || c.GetTitle() != "one" {
		t.Errorf("retry of a request remembered by schema 4: %s %q replayed=%v err=%v, want consultation 1 \"one\"", c.GetId(), c.GetTitle(), replayed, err)
	}
}

// closeAsSchema closes s and makes its file look like one of an older
// schema: without the meta mark that schema lacked, edited further by edit
// (when set), and with its version. It returns the file's path.
func closeAsSchema(t *testing.T, s *bolt.Store, schema int, mark string, edit func(*bbolt.Tx) error) string {
	t.Helper()
	path := s.DB().Path()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	editFile(t, path, func(tx *bbolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		if err := meta.Delete([]byte(mark)); err != nil {
			return err
		}
		if edit != nil {
			if err := edit(tx); err != nil {
				return err
			}
		}
		return meta.Put([]byte("schema"), []byte(strconv.Itoa(schema)))
	})
	return path
}

// openMigratedInPlace opens the closed store at path, of schema from, and
// asserts it was migrated in place: in one step, with no copy, and without
// telling the operator of a long migration. It is closed when t ends.
func openMigratedInPlace(t *testing.T, path string, from int) *bolt.Store {
	t.Helper()
	m, err := bolt.Open(filepath.Dir(path), bolt.Options{Migrating: func(from, to int, size int64) {
		t.Errorf("told of a long migration from %d to %d", from, to)
	}})
	if err != nil {
		t.Fatalf("opening a schema %d store: %v", from, err)
	}
	t.Cleanup(func() { m.Close() })
	if len(m.Migrated) != 1 || !strings.Contains(m.Migrated[0], fmt.Sprintf("schema %d to %d", from, bolt.SchemaVersion)) {
		t.Errorf("Migrated = %q", m.Migrated)
	}
	if baks, _ := filepath.Glob(path + "*.bak"); len(baks) != 0 {
		t.Errorf("copies made: %q", baks)
	}
	return m
}
