package bolt_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

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
	again, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if len(again.Migrated) != 0 {
		t.Errorf("a second open migrated again: %q", again.Migrated)
	}
}
