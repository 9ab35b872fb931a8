package bolt

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

// Loader writes a history made elsewhere (tacit generate) into a store:
// records, indexes, figures and the audit chain come from the same code as
// the write path (putRecord, statsDelta, appendEvents), so they cannot
// disagree with it, but a transaction holds thousands of writes, figures
// are added up once per transaction, pages are filled, and nothing is
// synced to disk before Close. Nobody else may write to the store
// meanwhile; a load that fails or is interrupted leaves a store to throw
// away.
//
// Audit entries must be given in time order (the trail is append-only and
// searched by time). Consultations may come in any order, each in its final
// state, but their ids must run from the store's sequence + 1 to the
// highest one given, each once.
type Loader struct {
	s     *Store
	batch int
	tx    *bolt.Tx
	stats *statsDelta
	n     int // writes in tx

	seq, maxID, count uint64 // the sequence before the load, highest id, records written
	noSync            bool   // the store's setting before the load
}

// DefaultLoadBatch is how many records and audit entries a transaction
// of the Loader holds by default. bbolt keeps the nodes a transaction
// changes in memory until it commits, and an insert in the middle of a
// node copies the rest of it: much larger transactions get slower, much
// smaller ones commit too often (2,000 to 50,000 were within 10%).
const DefaultLoadBatch = 10000

// NewLoader starts a bulk load; batch is the number of records and audit
// entries per transaction (0: DefaultLoadBatch).
func (s *Store) NewLoader(batch int) (*Loader, error) {
	if batch <= 0 {
		batch = DefaultLoadBatch
	}
	l := &Loader{s: s, batch: batch, noSync: s.db.NoSync}
	if err := s.db.View(func(tx *bolt.Tx) error {
		l.seq = tx.Bucket(bConsultations).Sequence()
		return nil
	}); err != nil {
		return nil, err
	}
	l.maxID = l.seq
	s.db.NoSync = true
	return l, nil
}

// begin opens the transaction the next writes go to.
func (l *Loader) begin() error {
	if l.tx != nil {
		return nil
	}
	tx, err := l.s.db.Begin(true)
	if err != nil {
		return err
	}
	// The loader indexes its entries as it writes them and marks the
	// indexes complete at its commit: first write, in its transaction, those
	// the store holds in memory (writes made between the loader's commits).
	if _, err := l.s.group.tail.fold(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	// The trail and the indexes of its entries by agency are appended in
	// key order (the sequence grows): fill their pages. Records come in the
	// order they end, and the indexes of records and of entries by
	// consultation get keys in the middle: with full pages every later
	// insert would split one into a full and an almost empty page (a
	// quarter used after a million records); 70% measured best.
	for _, b := range [][]byte{bAudit, bAuditAgency, bInbox} {
		tx.Bucket(b).FillPercent = 1
	}
	for _, b := range [][]byte{bConsultations, bAuditCons, bParty, bDeemed, bDeemedTime, bDeemedLead} {
		tx.Bucket(b).FillPercent = 0.7
	}
	l.tx, l.stats, l.n = tx, newStatsDelta(), 0
	return nil
}

// wrote counts n writes and commits when the transaction is full.
func (l *Loader) wrote(n int) error {
	if l.n += n; l.n >= l.batch {
		return l.Flush()
	}
	return nil
}

// Consultation stores c, in its final state, with its index entries and
// figures. Its audit entries are given to Events, in their time order.
func (l *Loader) Consultation(c *tacitv1.Consultation) error {
	id, ok := ParseID(c.GetId())
	if !ok || id <= l.seq {
		return fmt.Errorf("bulk load: consultation id %q is not after the store's last id %d", c.GetId(), l.seq)
	}
	if err := l.begin(); err != nil {
		return err
	}
	if l.tx.Bucket(bConsultations).Get(u64(id)) != nil {
		return fmt.Errorf("bulk load: consultation id %s is given twice", c.GetId())
	}
	if _, err := putRecord(l.tx, id, nil, c, l.stats); err != nil {
		return err
	}
	l.maxID, l.count = max(l.maxID, id), l.count+1
	return l.wrote(1)
}

// Events appends audit entries to the trail.
func (l *Loader) Events(events []*tacitv1.AuditEvent) error {
	if err := l.begin(); err != nil {
		return err
	}
	if err := appendEvents(l.tx, events); err != nil {
		return err
	}
	return l.wrote(len(events))
}

// Rejection appends the audit entries of a refused opening and counts it
// against the lead, as RecordRejection does.
func (l *Loader) Rejection(lead string, events []*tacitv1.AuditEvent) error {
	if err := l.begin(); err != nil {
		return err
	}
	l.stats.rejected(lead, events)
	return l.Events(events)
}

// Flush commits the open transaction (without syncing it to disk), so that
// another writer, such as a registry import, can go next.
func (l *Loader) Flush() error {
	if l.tx == nil {
		return nil
	}
	tx := l.tx
	l.tx = nil
	if err := l.stats.apply(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	mark, err := markIndexed(tx)
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	l.s.group.tail.trim(mark)
	return nil
}

// Close commits what is left, sets the consultations' sequence to the
// highest id, and syncs the file to disk.
func (l *Loader) Close() error {
	defer func() { l.s.db.NoSync = l.noSync }()
	if err := l.Flush(); err != nil {
		return err
	}
	if l.count != l.maxID-l.seq {
		return fmt.Errorf("bulk load: %d consultations written with ids up to %d after %d: ids must run %d..%d, each once", l.count, l.maxID, l.seq, l.seq+1, l.maxID)
	}
	if err := l.s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bConsultations).SetSequence(l.maxID)
	}); err != nil {
		return err
	}
	return l.s.db.Sync()
}

// Abort rolls back the open transaction; what was committed stays.
func (l *Loader) Abort() {
	if l.tx != nil {
		_ = l.tx.Rollback()
		l.tx = nil
	}
	l.s.db.NoSync = l.noSync
}
