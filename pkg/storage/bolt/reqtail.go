package bolt

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// The index of remembered requests (bRequests) is keyed by principal,
// method and the caller's request id, keys that come in no order: written
// at once, every request rewrites a page of the index of its own, with the
// branch pages above it (1.6 of the 4.2 pages a reply wrote, measured).
// Instead the store holds the newest in memory, in the request tail, and
// once foldEvery are held every commit also writes a short run of them,
// in key order, going round the key space: the run falls in a slice of the
// index, whose pages each take several of its entries at once.
//
// The results log, written at once as ever, is what the tail is derived
// from: each of its entries names the request whose first result it is
// (resultEntry), and at open the store reads those after the requests
// mark (kRequestsIndexed) back into the tail. The writer looks a request
// up in its own batch, the tail and the bucket, in that order, and a read
// outside the writer (the retry's fast path, see Store.write) that misses
// one, as it may while the tail and its transaction disagree, only sends
// the request on to the writer, which finds it.

// kRequestsIndexed is the meta key of the requests mark: seq(8), a place
// in the results log up to which every result's request is in bRequests.
// Later ones may be in the bucket or in the tail.
var kRequestsIndexed = []byte("requests_indexed")

// requestsMark reads the requests mark as tx sees it (0: none yet).
func requestsMark(tx *bolt.Tx) uint64 {
	if v := tx.Bucket(bMeta).Get(kRequestsIndexed); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// requestRecordLen is the length of a requests index entry (requestRecord).
const requestRecordLen = 1 + 8 + 32 + 8

// minRun is the fewest held requests a commit writes once it writes any:
// enough that a run's entries share pages, few enough to cost a commit
// little.
const minRun = 64

// resultEntry is an entry of the results log, since schema 5: 0, the
// request's key (its length as a uvarint, then the key), its entry in the
// requests index (requestRecord), then the first result, encoded. Older
// entries are the result alone: no encoded consultation starts with 0, as
// a protobuf field tag is at least 8.
func resultEntry(key, request, rec []byte) []byte {
	v := make([]byte, 0, 1+binary.MaxVarintLen64+len(key)+len(request)+len(rec))
	v = append(v, 0)
	v = binary.AppendUvarint(v, uint64(len(key)))
	v = append(v, key...)
	v = append(v, request...)
	return append(v, rec...)
}

// parseResultEntry splits an entry of the results log (resultEntry) into
// the key and index entry of its request (nil in entries of before schema
// 5) and its result; ok is false for an entry that is neither form.
func parseResultEntry(v []byte) (key, request, rec []byte, ok bool) {
	if len(v) == 0 || v[0] != 0 {
		return nil, nil, v, len(v) > 0
	}
	n, w := binary.Uvarint(v[1:])
	if w <= 0 || n > uint64(len(v)) || uint64(len(v)-1-w) < n+requestRecordLen {
		return nil, nil, nil, false
	}
	at := 1 + w + int(n)
	return v[1+w : at], v[at : at+requestRecordLen], v[at+requestRecordLen:], true
}

// heldRequest is one remembered request not (known to be) in the bucket.
type heldRequest struct {
	key    string
	value  []byte // its requests index entry (requestRecord)
	result uint64 // the place of its first result in the results log
}

// requestTail holds remembered requests that may not be in the bucket.
// Only the committer's goroutine changes it.
type requestTail struct {
	mu     sync.RWMutex
	held   map[string]heldRequest
	sorted []string // the keys of held, ascending
	spare  []string // sorted's next backing array
	cursor string   // the last key written by a run; the next starts after it
	// order is every request taken since the oldest held one, in the
	// order of their results: its first is the oldest held, whose result
	// bounds the mark. Those written since are dropped as they come first.
	order []heldRequest
}

func newRequestTail() *requestTail {
	return &requestTail{held: map[string]heldRequest{}}
}

// get returns the held request with key.
func (t *requestTail) get(key []byte) (heldRequest, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	h, ok := t.held[string(key)]
	return h, ok
}

// run is what one commit writes of the tail and of its own new requests.
type run struct {
	keys    []string        // ascending but for the wrap around the key space
	written map[string]bool // keys, as a set
	cursor  string
	// after and wrapped are the parts of sorted the run took: after the
	// cursor, sorted[after[0]:after[1]], and from the start,
	// sorted[:wrapped].
	after   [2]int
	wrapped int
}

// write writes into b's transaction a run of the requests held and those
// b remembers, once foldEvery or more are held with b's (all of them when
// all is set), and moves the mark past every result whose request is then
// in the bucket. It returns what it wrote, for take once the transaction
// has committed.
func (t *requestTail) write(b *txBatch, foldEvery int, all bool) (run, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := len(t.held) + len(b.fresh)
	if n == 0 || (!all && n < foldEvery) {
		return run{}, nil
	}
	fresh := make([]string, len(b.fresh))
	for i, h := range b.fresh {
		fresh[i] = h.key
	}
	slices.Sort(fresh)
	k := n
	if !all {
		k = min(n, max(2*len(b.fresh), minRun))
	}
	i := upper(t.sorted, t.cursor)
	j := upper(fresh, t.cursor)
	keys, na := mergeTake(t.sorted[i:], fresh[j:], k)
	r := run{after: [2]int{i, i + na}}
	if len(keys) < k { // round the key space, to the start
		more, ma := mergeTake(t.sorted[:i], fresh[:j], k-len(keys))
		keys, r.wrapped = append(keys, more...), ma
	}
	written := make(map[string]bool, len(keys))
	bucket := b.tx.Bucket(bRequests)
	for _, key := range keys {
		written[key] = true
		h, ok := t.held[key]
		if f, isNew := b.freshAt[key]; isNew {
			h, ok = b.fresh[f], true
		}
		if !ok {
			return run{}, fmt.Errorf("remembered request %q is neither held nor new", key)
		}
		if err := bucket.Put([]byte(key), h.value); err != nil {
			return run{}, err
		}
	}
	// The mark: just before the first result whose request is still only
	// in memory.
	lo := b.tx.Bucket(bResults).Sequence() + 1
	for _, h := range t.order {
		if cur, ok := t.held[h.key]; ok && cur.result == h.result && !written[h.key] {
			lo = h.result
			break
		}
	}
	for _, h := range b.fresh {
		if !written[h.key] {
			lo = min(lo, h.result)
			break
		}
	}
	if err := b.tx.Bucket(bMeta).Put(kRequestsIndexed, u64(lo-1)); err != nil {
		return run{}, err
	}
	r.keys, r.written, r.cursor = keys, written, keys[len(keys)-1]
	return r, nil
}

// take applies a commit to the tail: it holds the commit's new requests
// (fresh) but those its run wrote, and forgets those of the run it held.
func (t *requestTail) take(fresh []heldRequest, r run) {
	if len(fresh) == 0 && len(r.keys) == 0 {
		return
	}
	written := r.written
	var added []string // fresh but not written, ascending
	for _, h := range fresh {
		if !written[h.key] {
			added = append(added, h.key)
		}
	}
	slices.Sort(added)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, key := range r.keys {
		delete(t.held, key)
	}
	for _, h := range fresh {
		if !written[h.key] {
			t.held[h.key] = h
			t.order = append(t.order, h)
		}
	}
	// What stays of sorted (all but the run's parts), with added merged
	// in block by block, into the spare array.
	next := t.spare[:0]
	for _, seg := range [][]string{t.sorted[r.wrapped:r.after[0]], t.sorted[r.after[1]:]} {
		for len(added) > 0 {
			p, _ := slices.BinarySearch(seg, added[0])
			if p == len(seg) {
				break // after this part
			}
			next = append(append(next, seg[:p]...), added[0])
			seg, added = seg[p:], added[1:]
		}
		next = append(next, seg...)
	}
	next = append(next, added...)
	t.sorted, t.spare = next, t.sorted
	// Drop from the front of order the requests no longer held.
	drop := 0
	for _, h := range t.order {
		if cur, ok := t.held[h.key]; ok && cur.result == h.result {
			break
		}
		drop++
	}
	t.order = slices.Delete(t.order, 0, drop)
	if len(r.keys) > 0 {
		t.cursor = r.cursor
	}
}

// load reads into the tail the requests of the results after the mark
// whose entry the bucket lacks: at open, after a crash or a copy of a live
// store. An unreadable entry holds nothing (Check reports it).
func (t *requestTail) load(tx *bolt.Tx) {
	mark := requestsMark(tx)
	held := map[string]heldRequest{}
	bucket := tx.Bucket(bRequests)
	c := tx.Bucket(bResults).Cursor()
	for k, v := c.Seek(u64(mark + 1)); k != nil; k, v = c.Next() {
		key, request, _, ok := parseResultEntry(v)
		if !ok || key == nil || len(k) != 8 || bytes.Equal(bucket.Get(key), request) {
			continue
		}
		held[string(key)] = heldRequest{key: string(key), value: bytes.Clone(request), result: binary.BigEndian.Uint64(k)}
	}
	sorted := make([]string, 0, len(held))
	for key := range held {
		sorted = append(sorted, key)
	}
	slices.Sort(sorted)
	t.mu.Lock()
	defer t.mu.Unlock()
	order := make([]heldRequest, 0, len(held))
	for _, h := range held {
		order = append(order, h)
	}
	slices.SortFunc(order, func(a, b heldRequest) int { return cmp.Compare(a.result, b.result) })
	t.held, t.sorted, t.spare, t.cursor, t.order = held, sorted, nil, "", order
}

// upper is the index of the first key of ascending keys after k.
func upper(keys []string, k string) int {
	i, found := slices.BinarySearch(keys, k)
	if found {
		i++
	}
	return i
}

// mergeTake merges ascending a and b, up to n keys, and says how many it
// took of a.
func mergeTake(a, b []string, n int) (out []string, na int) {
	out = make([]string, 0, min(n, len(a)+len(b)))
	nb := 0
	for len(out) < n && (na < len(a) || nb < len(b)) {
		if nb == len(b) || (na < len(a) && strings.Compare(a[na], b[nb]) < 0) {
			out = append(out, a[na])
			na++
		} else {
			out = append(out, b[nb])
			nb++
		}
	}
	return out, na
}
