package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

// The indexes of the audit trail by agency (audit_agency: the entries an
// agency is party to; inbox: those it was notified of) are written late.
// Every write touches a few agencies, each indexed under its own key
// range: written at once, each write would rewrite one page per agency it
// names, and with a thousand agencies those pages are most of what a
// commit writes. Instead the store holds the entries after its index mark
// (kIndexed) in memory, in a tail, and folds them into the buckets, in key
// order, once foldEvery entries have gathered: a page then takes dozens of
// an agency's entries at once.
//
// The trail itself is written at once, as ever, and is what the tail is
// derived from: at open the store reads the entries after the mark back
// from it, and a reader whose transaction needs entries the tail does not
// hold (it was folded and trimmed after the transaction began, or has not
// yet taken the commit the transaction sees) reads them from the trail.
// The tail is a cache of the trail, never a second truth.

// DefaultFoldEvery is how many audit entries the store holds in memory
// before it writes their agency indexes.
const DefaultFoldEvery = 4096

// kIndexed is the meta key of the index mark: seq(8), the last audit
// entry whose agency index entries are in the buckets. Every later one's
// are not (they are in the tail).
var kIndexed = []byte("indexed")

// tailEntry is what one audit entry adds to the agency indexes.
type tailEntry struct {
	seq      uint64
	agencies []string // eventAgencies
	notified []string // GetNotified
}

func entryOf(seq uint64, e *tacitv1.AuditEvent) tailEntry {
	// Each agency once, as the bucket's keys would hold it.
	notified := slices.Compact(slices.Sorted(slices.Values(e.GetNotified())))
	return tailEntry{seq: seq, agencies: eventAgencies(e), notified: notified}
}

// tail holds the agency index entries of the audit entries from..top.
type tail struct {
	mu        sync.RWMutex
	from, top uint64              // from == top+1: none held
	agency    map[string][]uint64 // agency -> sequences, ascending
	inbox     map[string][]uint64
}

func newTail(mark uint64) *tail {
	return &tail{from: mark + 1, top: mark, agency: map[string][]uint64{}, inbox: map[string][]uint64{}}
}

// held is how many audit entries the tail covers.
func (t *tail) held() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.top + 1 - t.from
}

// add takes the entries of a commit, in sequence order. Entries that do
// not follow the last held (a write that bypassed the tail) start the tail
// anew: readers find what it no longer covers in the trail.
func (t *tail) add(entries []tailEntry) {
	if len(entries) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if entries[0].seq != t.top+1 {
		t.from, t.top = entries[0].seq, entries[0].seq-1
		clear(t.agency)
		clear(t.inbox)
	}
	for _, e := range entries {
		for _, a := range e.agencies {
			t.agency[a] = append(t.agency[a], e.seq)
		}
		for _, a := range e.notified {
			t.inbox[a] = append(t.inbox[a], e.seq)
		}
		t.top = e.seq
	}
}

// trim forgets the entries up to mark, now in the buckets.
func (t *tail) trim(mark uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if mark < t.from {
		return
	}
	for _, m := range []map[string][]uint64{t.agency, t.inbox} {
		for a, seqs := range m {
			i, _ := slices.BinarySearch(seqs, mark+1)
			if i == len(seqs) {
				delete(m, a)
			} else {
				m[a] = slices.Clone(seqs[i:])
			}
		}
	}
	t.from = mark + 1
	t.top = max(t.top, mark)
}

// span is what the tail holds of one agency in one index, lo..hi.
type span struct {
	from, top uint64   // the sequences the tail covered
	seqs      []uint64 // of them, the agency's, within lo..hi
}

func (t *tail) span(ix []byte, agency string, lo, hi uint64) span {
	t.mu.RLock()
	defer t.mu.RUnlock()
	m := t.agency
	if bytes.Equal(ix, bInbox) {
		m = t.inbox
	}
	seqs := m[agency]
	i, _ := slices.BinarySearch(seqs, lo)
	j, _ := slices.BinarySearch(seqs, hi+1)
	return span{from: t.from, top: t.top, seqs: slices.Clone(seqs[i:j])}
}

// indexMark reads the mark and the head of the trail as tx sees them.
func indexMark(tx *bolt.Tx) (mark, head uint64) {
	meta := tx.Bucket(bMeta)
	if v := meta.Get(kIndexed); len(v) == 8 {
		mark = binary.BigEndian.Uint64(v)
	}
	if v := meta.Get(kAuditHead); len(v) >= 8 {
		head = binary.BigEndian.Uint64(v[:8])
	}
	return mark, head
}

// markIndexed records that the buckets hold every entry up to the head,
// for writers that index directly (the loader, migrations).
func markIndexed(tx *bolt.Tx) error {
	_, head := indexMark(tx)
	return tx.Bucket(bMeta).Put(kIndexed, u64(head))
}

// inIndex says whether e belongs in index ix under agency.
func inIndex(ix []byte, agency string, e *tacitv1.AuditEvent) bool {
	if bytes.Equal(ix, bInbox) {
		return slices.Contains(e.GetNotified(), agency)
	}
	return slices.Contains(eventAgencies(e), agency)
}

// seqs yields, in order, the sequences after `after` that index ix holds
// for agency as tx sees the store: first those in the bucket (up to the
// mark), then those after it, from the tail where it covers them and from
// the trail where it does not. A nil tail covers nothing.
func (t *tail) seqs(tx *bolt.Tx, ix []byte, agency string, after uint64) func() (uint64, bool) {
	mark, head := indexMark(tx)
	prefix := append([]byte(agency), 0)
	cur := tx.Bucket(ix).Cursor()
	k, _ := cur.Seek(concat(prefix, u64(after+1)))
	var rest []uint64
	inBucket := true
	return func() (uint64, bool) {
		if inBucket {
			if k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8 {
				if seq := binary.BigEndian.Uint64(k[len(prefix):]); seq <= mark {
					k, _ = cur.Next()
					return seq, true
				}
			}
			inBucket = false
			rest = t.unfolded(tx, ix, agency, max(after, mark)+1, head)
		}
		if len(rest) == 0 {
			return 0, false
		}
		seq := rest[0]
		rest = rest[1:]
		return seq, true
	}
}

// unfolded lists agency's sequences lo..hi in index ix that are not in the
// bucket: from the tail, and from the trail for any it does not cover.
func (t *tail) unfolded(tx *bolt.Tx, ix []byte, agency string, lo, hi uint64) []uint64 {
	if lo > hi {
		return nil
	}
	sp := span{from: hi + 1, top: hi}
	if t != nil {
		sp = t.span(ix, agency, lo, hi)
	}
	audit := tx.Bucket(bAudit)
	scan := func(out []uint64, lo, hi uint64) []uint64 {
		for seq := lo; seq <= hi; seq++ {
			e := &tacitv1.AuditEvent{}
			if v := audit.Get(u64(seq)); v != nil && proto.Unmarshal(v, e) == nil && inIndex(ix, agency, e) {
				out = append(out, seq)
			}
		}
		return out
	}
	if sp.from > sp.top || sp.from > hi || sp.top < lo { // nothing of lo..hi held
		return scan(nil, lo, hi)
	}
	out := scan(nil, lo, sp.from-1)
	out = append(out, sp.seqs...)
	return scan(out, sp.top+1, hi)
}

// fold writes into the buckets the agency index entries of every audit
// entry after the mark, in key order, and moves the mark to the head. It
// returns the new mark, up to which the tail may then be trimmed (once
// the transaction has committed).
func (t *tail) fold(tx *bolt.Tx) (uint64, error) {
	mark, head := indexMark(tx)
	if head <= mark {
		return mark, nil
	}
	want := map[string]map[string][]uint64{string(bAuditAgency): {}, string(bInbox): {}}
	add := func(e tailEntry) {
		for _, a := range e.agencies {
			want[string(bAuditAgency)][a] = append(want[string(bAuditAgency)][a], e.seq)
		}
		for _, a := range e.notified {
			want[string(bInbox)][a] = append(want[string(bInbox)][a], e.seq)
		}
	}
	audit := tx.Bucket(bAudit)
	scan := func(lo, hi uint64) error {
		for seq := lo; seq <= hi; seq++ {
			v := audit.Get(u64(seq))
			if v == nil {
				continue
			}
			e := &tacitv1.AuditEvent{}
			if proto.Unmarshal(v, e) != nil {
				continue // VerifyAudit and Check report it
			}
			add(entryOf(seq, e))
		}
		return nil
	}
	from, top := head+1, head
	var held map[string]map[string][]uint64
	if t != nil {
		t.mu.RLock()
		from, top = max(t.from, mark+1), min(t.top, head)
		if from <= top {
			held = map[string]map[string][]uint64{string(bAuditAgency): t.agency, string(bInbox): t.inbox}
			for ix, m := range held {
				clipped := map[string][]uint64{}
				for a, seqs := range m {
					i, _ := slices.BinarySearch(seqs, from)
					j, _ := slices.BinarySearch(seqs, top+1)
					if i < j {
						clipped[a] = slices.Clone(seqs[i:j])
					}
				}
				held[ix] = clipped
			}
		}
		t.mu.RUnlock()
	}
	if from > top { // nothing held
		if err := scan(mark+1, head); err != nil {
			return 0, err
		}
	} else {
		if err := scan(mark+1, from-1); err != nil {
			return 0, err
		}
		for ix, m := range held {
			for a, seqs := range m {
				want[ix][a] = append(want[ix][a], seqs...)
			}
		}
		if err := scan(top+1, head); err != nil {
			return 0, err
		}
	}
	for ix, m := range want {
		b := tx.Bucket([]byte(ix))
		if b == nil {
			return 0, fmt.Errorf("the store has no %s bucket: restore it from a backup", ix)
		}
		b.FillPercent = 1 // see openTrail
		for _, a := range slices.Sorted(maps.Keys(m)) {
			for _, seq := range m[a] {
				if err := b.Put(concat([]byte(a), []byte{0}, u64(seq)), nil); err != nil {
					return 0, err
				}
			}
		}
	}
	return head, tx.Bucket(bMeta).Put(kIndexed, u64(head))
}

// load reads into the tail the entries after the mark, from the trail: at
// open, after a crash or a store written by an older tacit.
func (t *tail) load(tx *bolt.Tx) error {
	mark, head := indexMark(tx)
	audit := tx.Bucket(bAudit)
	var entries []tailEntry
	for seq := mark + 1; seq <= head; seq++ {
		v := audit.Get(u64(seq))
		if v == nil {
			continue
		}
		e := &tacitv1.AuditEvent{}
		if proto.Unmarshal(v, e) != nil {
			// Unreadable, it indexes nothing (as readers find it); the
			// store still opens, for VerifyAudit and Check to report it.
			continue
		}
		entries = append(entries, entryOf(seq, e))
	}
	t.mu.Lock()
	t.from, t.top = mark+1, mark
	clear(t.agency)
	clear(t.inbox)
	t.mu.Unlock()
	t.add(entries)
	return nil
}
