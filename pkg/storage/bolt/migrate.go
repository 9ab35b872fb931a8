package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

// derived are the buckets computed from records and audit entries; a
// migration may rebuild them without losing anything.
var derived = [][]byte{bPending, bReminders, bDeemed, bDeemedTime, bDeemedLead, bParty, bStats, bStatsPending, bAuditCons, bAuditAgency, bInbox}

// migrate brings a store written by an older tacit to SchemaVersion, after
// copying the file next to it, so an operator can always go back.
func (s *Store) migrate(path string, from int) error {
	if from >= 3 {
		// Versions 4 and 5 only add marks: the agency indexes of the
		// trail (4) and the remembered requests (5) are complete up to
		// the end of the trail and of the results log. Nothing is
		// rewritten, and a copy would only take the time of one.
		err := s.db.Update(func(tx *bolt.Tx) error {
			if from < 4 {
				if _, err := markIndexed(tx); err != nil {
					return err
				}
			}
			if err := markRequests(tx); err != nil {
				return err
			}
			return tx.Bucket(bMeta).Put(kSchema, []byte(fmt.Sprint(SchemaVersion)))
		})
		if err != nil {
			return fmt.Errorf("migrate %s from schema %d to %d: %w (the file is unchanged)", path, from, SchemaVersion, err)
		}
		what := "the remembered requests are marked complete up to the end of the results log"
		if from < 4 {
			what = "the agency indexes of the audit trail and the remembered requests are marked complete up to the end of the trail and of the results log"
		}
		s.Migrated = append(s.Migrated, fmt.Sprintf("migrated schema %d to %d: %s", from, SchemaVersion, what))
		return nil
	}
	backup := fmt.Sprintf("%s.schema-%d.%s.bak", path, from, time.Now().UTC().Format("20060102T150405Z"))
	if err := s.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(backup, 0o600) }); err != nil {
		return fmt.Errorf("back up %s before migrating it: %w (nothing was changed)", path, err)
	}
	s.Migrated = append(s.Migrated, "backed up schema "+fmt.Sprint(from)+" to "+backup)
	err := s.db.Update(func(tx *bolt.Tx) error {
		switch {
		case from < 2:
			if err := rebuildDerived(tx); err != nil {
				return err
			}
		case from < 3:
			if err := rekeyFigures(tx); err != nil {
				return err
			}
		}
		if _, err := markIndexed(tx); err != nil {
			return err
		}
		if err := markRequests(tx); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kSchema, []byte(fmt.Sprint(SchemaVersion)))
	})
	if err != nil {
		return fmt.Errorf("migrate %s from schema %d to %d: %w (the file is unchanged; the copy is %s)", path, from, SchemaVersion, err, backup)
	}
	what := "derived indexes, figures and running totals rebuilt from the records and the audit trail"
	if from >= 2 {
		what = "figures keyed by day, then agency"
	}
	s.Migrated = append(s.Migrated, fmt.Sprintf("migrated schema %d to %d: %s", from, SchemaVersion, what))
	return nil
}

// markRequests records that the requests index holds the request of every
// result in the log, as stores before schema 5 wrote it.
func markRequests(tx *bolt.Tx) error {
	return tx.Bucket(bMeta).Put(kRequestsIndexed, u64(tx.Bucket(bResults).Sequence()))
}

// rekeyFigures rewrites the figures of a schema 2 store, keyed agency 0
// day(4), under day(4) agency (statsKey).
func rekeyFigures(tx *bolt.Tx) error {
	type row struct{ k, v []byte }
	var rows []row
	err := tx.Bucket(bStats).ForEach(func(k, v []byte) error {
		i := bytes.IndexByte(k, 0)
		if i < 0 || len(k) != i+5 {
			return fmt.Errorf("figures: key %q is not agency, 0, day (schema 2)", k)
		}
		rows = append(rows, row{statsKey(string(k[:i]), binary.BigEndian.Uint32(k[i+1:])), bytes.Clone(v)})
		return nil
	})
	if err != nil {
		return err
	}
	if err := tx.DeleteBucket(bStats); err != nil {
		return err
	}
	b, err := tx.CreateBucket(bStats)
	if err != nil {
		return err
	}
	// Put in key order, into full pages: the loader's way (bulk.go).
	slices.SortFunc(rows, func(a, b row) int { return bytes.Compare(a.k, b.k) })
	b.FillPercent = 1
	for _, r := range rows {
		if err := b.Put(r.k, r.v); err != nil {
			return err
		}
	}
	return nil
}

// rebuildDerived recomputes every derived bucket: record indexes and
// figures by storing each record anew, rejected attempts and audit indexes
// from the audit trail. Records and the audit trail are not touched.
func rebuildDerived(tx *bolt.Tx) error {
	for _, b := range derived {
		if err := tx.DeleteBucket(b); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(b); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bMeta)
	for _, k := range [][]byte{kOpenTotal, kDeemedTotal} {
		if err := meta.Delete(k); err != nil {
			return err
		}
	}
	type rec struct {
		id uint64
		c  *tacitv1.Consultation
	}
	var recs []rec
	if err := tx.Bucket(bConsultations).ForEach(func(k, v []byte) error {
		c := &tacitv1.Consultation{}
		if err := decodeRecord(v, c); err != nil {
			return err
		}
		recs = append(recs, rec{binary.BigEndian.Uint64(k), c})
		return nil
	}); err != nil {
		return err
	}
	figures := newStatsDelta()
	for _, r := range recs {
		if _, err := putRecord(tx, r.id, nil, r.c, figures); err != nil {
			return err
		}
	}
	byCons, byAgency, inbox := tx.Bucket(bAuditCons), tx.Bucket(bAuditAgency), tx.Bucket(bInbox)
	if err := tx.Bucket(bAudit).ForEach(func(k, v []byte) error {
		e := &tacitv1.AuditEvent{}
		if err := unmarshal(v, e); err != nil {
			return err
		}
		if id, ok := ParseID(e.GetConsultationId()); ok {
			if err := byCons.Put(concat(u64(id), k), nil); err != nil {
				return err
			}
		}
		for _, a := range eventAgencies(e) {
			if err := byAgency.Put(concat([]byte(a), []byte{0}, k), nil); err != nil {
				return err
			}
		}
		for _, a := range e.GetNotified() {
			if err := inbox.Put(concat([]byte(a), []byte{0}, k), nil); err != nil {
				return err
			}
		}
		if lead, ok := strings.CutPrefix(e.GetActor(), "agency:"); ok && e.GetType() == "OPEN_REJECTED" {
			figures.add(lead, e.GetEventTime().AsTime(), fRejected, 1)
		}
		return nil
	}); err != nil {
		return err
	}
	return figures.apply(tx)
}
