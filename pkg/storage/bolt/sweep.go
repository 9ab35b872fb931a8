package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tacit-gov/tacit/pkg/storage"
)

// SweepDue implements storage.Store.
//
// Its transactions follow one another, and while one commits (its pages
// written and synced, when the writer computes nothing) the workers
// already prepare the next one's changes (ahead). The next transaction
// keeps a change prepared so only if the record and its due entries are
// still those it was prepared from; another write may have changed them
// in between, and those are prepared again.
func (s *Store) SweepDue(ctx context.Context, now time.Time, limit int, mutate storage.Mutation, committed func(int)) (int, error) {
	end := timeKey(now)
	total := 0
	var ahead *sweepAhead
	defer func() { ahead.stop() }()
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, more := 0, false
		var next *sweepAhead
		err := s.group.alone(func(b *txBatch) (err error) {
			var ids idSet
			var due [][]dueEntry
			ids, due, more = dueBatch(b.tx, end, limit, nil)
			var dropped int
			n, dropped, err = s.mutateAll(b, ids.list, due, mutate, ahead)
			ahead.stop() // its workers on consultations not taken after all
			if err != nil {
				return err
			}
			// A transaction that neither changed nor dropped anything
			// would leave the same entries for the next: stop, lest the
			// loop never end.
			more = more && n+dropped > 0
			b.more = more
			if more {
				next = s.prepareAhead(end, limit, &ids, mutate)
			}
			return nil
		})
		ahead = next
		if err != nil {
			return total, err
		}
		total += n
		if committed != nil {
			committed(n)
		}
		if !more {
			return total, nil
		}
	}
}

// dueBatch takes the entries of the deadline and reminder indexes due at
// or before end (a timeKey), in time order, until limit are taken and
// then those of the consultations already taken, passing over the
// consultations in skip; it returns the consultations and their entries,
// and whether entries of others are left.
func dueBatch(tx *bolt.Tx, end []byte, limit int, skip *idSet) (ids idSet, due [][]dueEntry, more bool) {
	taken := 0
	for _, b := range [][]byte{bPending, bReminders} {
		cur := tx.Bucket(b).Cursor()
		for k, _ := cur.First(); k != nil && bytes.Compare(k[:8], end) <= 0; k, _ = cur.Next() {
			id := binary.BigEndian.Uint64(k[8:16])
			if skip != nil && skip.has(id) {
				continue
			}
			if taken >= limit && !ids.has(id) {
				more = true
				break
			}
			i := ids.add(id)
			if i == len(due) {
				due = append(due, nil)
			}
			due[i] = append(due[i], dueEntry{reminder: bytes.Equal(b, bReminders), key: k})
			taken++
		}
	}
	return ids, due, more
}

// dueEntry is an entry of the deadline (or reminder) index that has come
// due; key is valid for the life of the transaction that read it, unless
// copied.
type dueEntry struct {
	reminder bool
	key      []byte
}

// sameDue says whether a and b are the same entries in the same order.
func sameDue(a, b []dueEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].reminder != b[i].reminder || !bytes.Equal(a[i].key, b[i].key) {
			return false
		}
	}
	return true
}

// sweepAhead prepares the changes of a sweep's next transaction while the one
// before commits: it reads, on a snapshot of its own, the entries due
// after those the committing transaction took and copies their records,
// then prepares them on the workers. The snapshot may be from before that
// commit, which changes only the consultations it took: those are passed
// over, and prepared by the next transaction itself if it takes them.
type sweepAhead struct {
	ready chan struct{}  // closed once the fields below are set
	at    map[uint64]int // consultation id: its position in raw, due and p
	raw   [][]byte       // copies
	due   [][]dueEntry   // copies
	p     *preparation   // nil if the snapshot could not be read
}

func (s *Store) prepareAhead(end []byte, limit int, skip *idSet, mutate storage.Mutation) *sweepAhead {
	a := &sweepAhead{ready: make(chan struct{})}
	go func() {
		defer close(a.ready)
		var list []uint64 // of the records found
		err := s.db.View(func(tx *bolt.Tx) error {
			ids, due, _ := dueBatch(tx, end, limit, skip)
			records := tx.Bucket(bConsultations)
			a.at = make(map[uint64]int, len(ids.list))
			for i, id := range ids.list {
				v := records.Get(u64(id))
				if v == nil {
					continue // the next transaction says what is wrong
				}
				for j, e := range due[i] {
					due[i][j].key = bytes.Clone(e.key)
				}
				a.at[id] = len(list)
				list = append(list, id)
				a.raw = append(a.raw, bytes.Clone(v))
				a.due = append(a.due, due[i])
			}
			return nil
		})
		if err != nil {
			return // the next transaction prepares every change itself
		}
		a.p = prepareAll(list, a.raw, a.due, mutate)
	}()
	return a
}

// take returns the position of the change prepared for consultation id,
// if it was prepared from the record raw with the entries due.
func (a *sweepAhead) take(id uint64, raw []byte, due []dueEntry) (int, bool) {
	if a == nil {
		return 0, false
	}
	<-a.ready
	i, ok := a.at[id]
	if !ok || a.p == nil || !bytes.Equal(a.raw[i], raw) || !sameDue(a.due[i], due) {
		return 0, false
	}
	return i, true
}

// stop stops the workers and waits for them; a nil ahead does nothing.
func (a *sweepAhead) stop() {
	if a == nil {
		return
	}
	<-a.ready
	if a.p != nil {
		a.p.stop()
	}
}

// idSet collects consultation ids in first-seen order.
type idSet struct {
	list  []uint64
	index map[uint64]int // position in list
}

// add adds id, if new, and returns its position in list.
func (s *idSet) add(id uint64) int {
	if i, ok := s.index[id]; ok {
		return i
	}
	if s.index == nil {
		s.index = map[uint64]int{}
	}
	s.index[id] = len(s.list)
	s.list = append(s.list, id)
	return len(s.list) - 1
}

// has says whether id was added.
func (s *idSet) has(id uint64) bool {
	_, ok := s.index[id]
	return ok
}
