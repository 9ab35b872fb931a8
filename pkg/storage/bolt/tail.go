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

// names are the agencies under which e goes in index ix.
func (e tailEntry) names(ix []byte) []string {
	if bytes.Equal(ix, bInbox) {
		return e.notified
	}
	return e.agencies
}

// readTrail reads the agency index entries of the audit entries lo..hi
// from the trail. An unreadable entry indexes nothing (as every reader
// finds it); VerifyAudit and Check report it.
func readTrail(tx *bolt.Tx, lo, hi uint64) []tailEntry {
	audit := tx.Bucket(bAudit)
	var out []tailEntry
	for seq := lo; seq <= hi; seq++ {
		e := &tacitv1.AuditEvent{}
		if v := audit.Get(u64(seq)); v != nil && proto.Unmarshal(v, e) == nil {
			out = append(out, entryOf(seq, e))
		}
	}
	return out
}

// index is one agency index: agency -> sequences, ascending.
type index map[string][]uint64

// add indexes entries, in sequence order, as ix does.
func (x index) add(ix []byte, entries []tailEntry) {
	for _, e := range entries {
		for _, a := range e.names(ix) {
			x[a] = append(x[a], e.seq)
		}
	}
}

// within is a copy of x with only the sequences lo..hi.
func (x index) within(lo, hi uint64) index {
	out := index{}
	for a, seqs := range x {
		if s := between(seqs, lo, hi); len(s) > 0 {
			out[a] = slices.Clone(s)
		}
	}
	return out
}

// between is the part lo..hi of ascending seqs.
func between(seqs []uint64, lo, hi uint64) []uint64 {
	i, _ := slices.BinarySearch(seqs, lo)
	j, _ := slices.BinarySearch(seqs, hi+1)
	return seqs[i:max(i, j)]
}

// tail holds the agency index entries of the audit entries from..top.
type tail struct {
	mu            sync.RWMutex
	from, top     uint64 // from == top+1: none held
	agency, inbox index
}

func newTail(mark uint64) *tail {
	return &tail{from: mark + 1, top: mark, agency: index{}, inbox: index{}}
}

func (t *tail) index(ix []byte) index {
	if bytes.Equal(ix, bInbox) {
		return t.inbox
	}
	return t.agency
}

// held is how many audit entries the tail covers.
func (t *tail) held() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.top + 1 - t.from
}

// covered is the part of lo..hi the tail covers: from > top when none
// (then from-1 = hi, so that lo..from-1 is all of lo..hi). The caller
// holds mu.
func (t *tail) covered(lo, hi uint64) (from, top uint64) {
	from, top = max(t.from, lo), min(t.top, hi)
	if from > top {
		return hi + 1, hi
	}
	return from, top
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
		t.from = entries[0].seq
		clear(t.agency)
		clear(t.inbox)
	}
	t.agency.add(bAuditAgency, entries)
	t.inbox.add(bInbox, entries)
	t.top = entries[len(entries)-1].seq
}

// trim forgets the entries up to mark, now in the buckets.
func (t *tail) trim(mark uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if mark < t.from {
		return
	}
	t.agency, t.inbox = t.agency.within(mark+1, t.top), t.inbox.within(mark+1, t.top)
	t.from = mark + 1
	t.top = max(t.top, mark)
}

// span is what the tail holds of one agency in one index, lo..hi.
type span struct {
	from, top uint64   // the part of lo..hi the tail covers (covered)
	seqs      []uint64 // the agency's sequences there
}

func (t *tail) span(ix []byte, agency string, lo, hi uint64) span {
	t.mu.RLock()
	defer t.mu.RUnlock()
	from, top := t.covered(lo, hi)
	return span{from: from, top: top, seqs: slices.Clone(between(t.index(ix)[agency], from, top))}
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
// for writers that index directly (the loader, migrations), and returns
// that mark.
func markIndexed(tx *bolt.Tx) (uint64, error) {
	_, head := indexMark(tx)
	return head, tx.Bucket(bMeta).Put(kIndexed, u64(head))
}

// seqs yields, in order, the sequences after `after` that index ix holds
// for agency as tx sees the store: first those in the bucket (up to the
// mark), then those after it, from the tail where it covers them and from
// the trail where it does not.
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
	sp := t.span(ix, agency, lo, hi)
	x := index{}
	x.add(ix, readTrail(tx, lo, sp.from-1))
	out := append(x[agency], sp.seqs...)
	x = index{}
	x.add(ix, readTrail(tx, sp.top+1, hi))
	return append(out, x[agency]...)
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
	t.mu.RLock()
	from, top := t.covered(mark+1, head)
	held := map[string]index{string(bAuditAgency): t.agency.within(from, top), string(bInbox): t.inbox.within(from, top)}
	t.mu.RUnlock()
	before, after := readTrail(tx, mark+1, from-1), readTrail(tx, top+1, head)
	for ix, x := range held {
		want := index{}
		want.add([]byte(ix), before)
		for a, seqs := range x {
			want[a] = append(want[a], seqs...)
		}
		want.add([]byte(ix), after)
		b := tx.Bucket([]byte(ix))
		if b == nil {
			return 0, fmt.Errorf("the store has no %s bucket: restore it from a backup", ix)
		}
		b.FillPercent = 1 // see openTrail
		for _, a := range slices.Sorted(maps.Keys(want)) {
			for _, seq := range want[a] {
				if err := b.Put(concat([]byte(a), []byte{0}, u64(seq)), nil); err != nil {
					return 0, err
				}
			}
		}
	}
	return head, tx.Bucket(bMeta).Put(kIndexed, u64(head))
}

// load reads into the tail the entries after the mark, from the trail: at
// open, after a crash or a copy of a live store.
func (t *tail) load(tx *bolt.Tx) {
	mark, head := indexMark(tx)
	entries := readTrail(tx, mark+1, head)
	t.mu.Lock()
	t.from, t.top = mark+1, mark
	clear(t.agency)
	clear(t.inbox)
	t.mu.Unlock()
	t.add(entries)
}
