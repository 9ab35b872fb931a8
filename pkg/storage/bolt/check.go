package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// maxProblems bounds the report: a badly damaged file would otherwise
// yield one line per index entry.
const maxProblems = 200

// Check verifies that the store agrees with itself: every index is
// recomputed from the records it is derived from and compared, in both
// directions, with what the index buckets hold; the audit chain is
// verified; every audit index entry points to an existing audit entry.
// It returns human-readable problems, none when the store is consistent.
//
// What is compared:
//   - pending, reminders, deemed, deemed_time, deemed_lead and party against
//     keysOf of every stored consultation (keys and values);
//   - stats, stats_pending and the store-wide totals against the figures
//     replayed from every record, except refused openings (fRejected),
//     which leave no record to recount them from;
//   - audit_consultation, audit_agency and inbox against the audit entries;
//   - consultation ids run 1..N with the bucket's sequence at N, each
//     record carries its own id, has its CONSULTATION_OPENED audit entry,
//     and every remembered request names a stored consultation.
//
// The derived parts are read in one transaction, so Check may run on a
// live store; the audit chain is verified in a second one.
func (s *Store) Check(ctx context.Context) ([]string, error) {
	var p problems
	if err := s.db.View(func(tx *bolt.Tx) error { return check(ctx, tx, &p) }); err != nil {
		return nil, err
	}
	v, err := s.VerifyAudit(ctx)
	if err != nil {
		return nil, err
	}
	if !v.Intact {
		p.add("audit: the chain is broken at entry %d: %s", v.FirstBroken, v.Problem)
	}
	return p.list(), nil
}

type problems struct {
	out     []string
	dropped int
}

func (p *problems) add(format string, args ...any) {
	if len(p.out) >= maxProblems {
		p.dropped++
		return
	}
	p.out = append(p.out, fmt.Sprintf(format, args...))
}

func (p *problems) list() []string {
	out := p.out
	if p.dropped > 0 {
		out = append(out, fmt.Sprintf("... and %d more problems", p.dropped))
	}
	return out
}

// every is how often long loops look at ctx.
const every = 1024

func check(ctx context.Context, tx *bolt.Tx, p *problems) error {
	for _, b := range allBuckets {
		if tx.Bucket(b) == nil {
			p.add("bucket %s is missing", b)
			return nil
		}
	}

	// --- consultations and the indexes derived from them ---
	want := map[string]map[string][]byte{}
	// Entries of the agency's and the lead's deemed-approval indexes are
	// keys only; stores written before hold the record in them too.
	legacy := map[string][]byte{}
	for _, b := range [][]byte{bPending, bReminders, bDeemed, bDeemedTime, bDeemedLead, bParty} {
		want[string(b)] = map[string][]byte{}
	}
	stats := newStatsDelta()
	ids := map[uint64]bool{}
	var maxID uint64
	cons := tx.Bucket(bConsultations)
	n := 0
	err := cons.ForEach(func(k, v []byte) error {
		if n++; n%every == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if len(k) != 8 {
			p.add("consultations: key %q is not an 8-byte id", k)
			return nil
		}
		id := binary.BigEndian.Uint64(k)
		c := &tacitv1.Consultation{}
		if err := decodeRecord(v, c); err != nil {
			p.add("consultation %d: %v", id, err)
			return nil
		}
		ids[id] = true
		maxID = max(maxID, id)
		idStr := strconv.FormatUint(id, 10)
		if c.GetId() != idStr || c.GetName() != "consultations/"+idStr {
			p.add("consultation %d: the record calls itself id %q, name %q", id, c.GetId(), c.GetName())
		}
		ks := keysOf(id, c)
		for _, k := range ks.pending {
			want[string(bPending)][string(k)] = nil
		}
		for _, k := range ks.reminders {
			want[string(bReminders)][string(k)] = nil
		}
		for _, d := range ks.deemed {
			b, err := marshal(d.rec)
			if err != nil {
				return err
			}
			want[string(bDeemed)][string(d.byAgency)] = nil
			want[string(bDeemedTime)][string(d.byTime)] = b
			want[string(bDeemedLead)][string(d.byLead)] = nil
			legacy[string(d.byAgency)], legacy[string(d.byLead)] = b, b
		}
		for agency, role := range ks.party {
			want[string(bParty)][string(concat([]byte(agency), []byte{0}, u64(id)))] = []byte{role}
		}
		stats.diff(nil, c)
		return nil
	})
	if err != nil {
		return err
	}
	if seq := cons.Sequence(); seq != maxID || uint64(len(ids)) != maxID {
		var missing []string
		for id := uint64(1); id <= max(maxID, seq) && len(missing) < 10; id++ {
			if !ids[id] {
				missing = append(missing, strconv.FormatUint(id, 10))
			}
		}
		p.add("consultations: %d records, highest id %d, sequence %d; want ids 1..N with the sequence at N (missing: %s)",
			len(ids), maxID, seq, strings.Join(missing, ", "))
	}
	// The deadline and reminder indexes keep the entries of deadlines and
	// reminders taken away until the sweep drops them (addKeys): those of
	// a stored consultation are not strays.
	leftBehind := func(k []byte) string {
		if len(k) >= 16 && ids[binary.BigEndian.Uint64(k[8:16])] {
			return ""
		}
		return "no record implies it"
	}
	for _, b := range [][]byte{bPending, bReminders, bDeemed, bDeemedTime, bDeemedLead, bParty} {
		stray := noRecord
		if bytes.Equal(b, bPending) || bytes.Equal(b, bReminders) {
			stray = leftBehind
		}
		if err := compareIndex(ctx, tx.Bucket(b), string(b), want[string(b)], legacy, describers[string(b)], p, stray); err != nil {
			return err
		}
	}

	checkStats(tx, stats, p)

	// --- audit entries and their indexes ---
	audit := tx.Bucket(bAudit)
	// The agency indexes hold the entries up to the mark; later ones are
	// held in memory by the store that wrote them (tail.go).
	mark, _ := indexMark(tx)
	wantCons, wantAgency, wantInbox := map[string][]byte{}, map[string][]byte{}, map[string][]byte{}
	opened := map[uint64]bool{}
	n = 0
	err = audit.ForEach(func(k, v []byte) error {
		if n++; n%every == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if len(k) != 8 {
			p.add("audit: key %q is not an 8-byte sequence number", k)
			return nil
		}
		seq := binary.BigEndian.Uint64(k)
		e := &tacitv1.AuditEvent{}
		if err := unmarshal(v, e); err != nil {
			return nil // VerifyAudit reports it
		}
		if id, ok := ParseID(e.GetConsultationId()); ok {
			wantCons[string(concat(u64(id), u64(seq)))] = nil
			if !ids[id] {
				p.add("audit entry %d (%s) concerns consultation %d, which is not stored", seq, e.GetType(), id)
			}
			if e.GetType() == consultation.EventOpened {
				opened[id] = true
			}
		}
		if seq > mark {
			return nil
		}
		for _, a := range eventAgencies(e) {
			wantAgency[string(concat([]byte(a), []byte{0}, u64(seq)))] = nil
		}
		for _, a := range e.GetNotified() {
			wantInbox[string(concat([]byte(a), []byte{0}, u64(seq)))] = nil
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		if !opened[id] {
			p.add("consultation %d has no %s audit entry", id, consultation.EventOpened)
		}
	}
	// seqOf extracts the audit sequence an index key points to.
	seqOf := func(k []byte) ([]byte, bool) {
		if len(k) < 8 {
			return nil, false
		}
		return k[len(k)-8:], true
	}
	dangling := func(k []byte) string {
		if s, ok := seqOf(k); !ok || audit.Get(s) == nil {
			return "points to an audit entry that does not exist"
		}
		return "no record implies it"
	}
	early := func(k []byte) string {
		if s, ok := seqOf(k); ok && audit.Get(s) != nil && binary.BigEndian.Uint64(s) > mark {
			return fmt.Sprintf("is after audit entry %d, up to which the index is written (later ones are held in memory)", mark)
		}
		return dangling(k)
	}
	for _, ix := range []struct {
		b     []byte
		want  map[string][]byte
		stray func([]byte) string
	}{{bAuditCons, wantCons, dangling}, {bAuditAgency, wantAgency, early}, {bInbox, wantInbox, early}} {
		if err := compareIndex(ctx, tx.Bucket(ix.b), string(ix.b), ix.want, nil, describers[string(ix.b)], p, ix.stray); err != nil {
			return err
		}
	}

	// --- remembered requests ---
	// Those of the results after the rmark may be held in memory by the
	// store that wrote them (reqtail.go): each such entry must name a
	// request of a stored consultation.
	rmark := requestsMark(tx)
	rc := tx.Bucket(bResults).Cursor()
	for k, v := rc.Seek(u64(rmark + 1)); k != nil; k, v = rc.Next() {
		seq := binary.BigEndian.Uint64(k)
		key, request, _, ok := parseResultEntry(v)
		if !ok || key == nil {
			p.add("results: entry %d, after the requests mark %d, names no request", seq, rmark)
			continue
		}
		name := strings.ReplaceAll(string(key), "\x00", " ")
		if r, ok := parseRequestRecord(request); !ok || r.result != seq {
			p.add("results: entry %d names request %q with an index entry that does not point back to it", seq, name)
		} else if !ids[r.id] {
			p.add("requests: %q (result %d) remembers consultation %d, which is not stored", name, seq, r.id)
		}
	}
	requests := tx.Bucket(bRequests)
	return requests.ForEach(func(k, v []byte) error {
		name := strings.ReplaceAll(string(k), "\x00", " ")
		r, ok := parseRequestRecord(v)
		if !ok {
			p.add("requests: %q holds no consultation id", name)
			return nil
		}
		if rec := r.firstResult(tx); rec == nil {
			p.add("requests: %q points to result %d, which the results log lacks", name, r.result)
		} else if err := decodeRecord(rec, &tacitv1.Consultation{}); err != nil {
			p.add("requests: %q holds a result that does not decode: %v", name, err)
		}
		if !ids[r.id] {
			p.add("requests: %q remembers consultation %d, which is not stored", name, r.id)
		}
		return nil
	})
}

// noRecord says what is wrong with an index entry that no record implies.
func noRecord([]byte) string { return "no record implies it" }

// compareIndex reports keys of b that want lacks (strays, of which stray
// says what is wrong, "" for nothing), keys of want that b lacks (missing)
// and keys whose value differs from the derived one. An entry whose record
// implies no value may hold legacy[key] instead.
func compareIndex(ctx context.Context, b *bolt.Bucket, name string, want, legacy map[string][]byte, describe func([]byte) string, p *problems, stray func([]byte) string) error {
	seen := make(map[string]bool, len(want))
	n := 0
	err := b.ForEach(func(k, v []byte) error {
		if n++; n%every == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		w, ok := want[string(k)]
		switch {
		case !ok:
			if why := stray(k); why != "" {
				p.add("%s: stray entry %s: %s", name, describe(k), why)
			}
		case !bytes.Equal(v, w) && !(w == nil && bytes.Equal(v, legacy[string(k)])):
			p.add("%s: entry %s holds %s, its record implies %s", name, describe(k), shortBytes(v), shortBytes(w))
		}
		if ok {
			seen[string(k)] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	var missing []string
	for k := range want {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	for _, k := range missing {
		p.add("%s: missing entry %s", name, describe([]byte(k)))
	}
	return nil
}

func shortBytes(b []byte) string {
	if len(b) > 24 {
		return fmt.Sprintf("%x... (%d bytes)", b[:24], len(b))
	}
	return fmt.Sprintf("%x", b)
}

// --- stats ---

var counterNames = [nCounters]string{
	fReceived: "received", fReplied: "replied", fDeemed: "deemed", fRevisions: "revisions",
	fExtRequested: "extensions requested", fExtGranted: "extensions granted",
	fOpened: "opened", fRejected: "rejected", fEscalations: "escalations",
}

// dayFigures is one decoded stats record without the refused openings.
type dayFigures struct {
	c    [nCounters]int64
	hist map[int]int64
}

func (f dayFigures) zero() bool {
	for _, v := range f.c {
		if v != 0 {
			return false
		}
	}
	for _, v := range f.hist {
		if v != 0 {
			return false
		}
	}
	return true
}

func checkStats(tx *bolt.Tx, d *statsDelta, p *problems) {
	want := map[string]dayFigures{}
	for agency, days := range d.days {
		for day, dd := range days {
			want[string(statsKey(agency, day))] = dayFigures{dd.c, dd.hist}
		}
	}
	have := map[string]dayFigures{}
	_ = tx.Bucket(bStats).ForEach(func(k, v []byte) error {
		if _, _, ok := parseStatsKey(k); !ok {
			p.add("stats: key %q is not day, agency", k)
			return nil
		}
		c, hist := decodeDay(v)
		c[fRejected] = 0 // refused openings leave no record to recount
		have[string(k)] = dayFigures{c, hist}
		return nil
	})
	keys := slices.Collect(maps.Keys(want))
	for k := range have {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		h, w := have[k], want[k]
		if h.zero() && w.zero() {
			continue
		}
		var diffs []string
		for i := range nCounters {
			if h.c[i] != w.c[i] {
				diffs = append(diffs, fmt.Sprintf("%s %d, records say %d", counterNames[i], h.c[i], w.c[i]))
			}
		}
		for b := range storage.ReplyDayBuckets {
			if h.hist[b] != w.hist[b] {
				diffs = append(diffs, fmt.Sprintf("replies after %d working days %d, records say %d", b, h.hist[b], w.hist[b]))
			}
		}
		if len(diffs) > 0 {
			p.add("stats: %s: %s", describeStats([]byte(k)), strings.Join(diffs, "; "))
		}
	}

	havePending := map[string]int64{}
	_ = tx.Bucket(bStatsPending).ForEach(func(k, v []byte) error {
		n, _ := binary.Varint(v)
		havePending[string(k)] = n
		return nil
	})
	agencies := slices.Collect(maps.Keys(d.pending))
	for a := range havePending {
		if _, ok := d.pending[a]; !ok {
			agencies = append(agencies, a)
		}
	}
	slices.Sort(agencies)
	for _, a := range agencies {
		if havePending[a] != d.pending[a] {
			p.add("stats_pending: %s has %d pending, records say %d", a, havePending[a], d.pending[a])
		}
	}

	meta := tx.Bucket(bMeta)
	for _, t := range []struct {
		key  []byte
		want int64
	}{{kOpenTotal, d.open}, {kDeemedTotal, d.deemed}} {
		have, _ := binary.Varint(meta.Get(t.key))
		if have != t.want {
			p.add("meta: %s is %d, records say %d", t.key, have, t.want)
		}
	}
}

// --- describing keys ---

func instant(b []byte) string {
	return time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC().Format(time.RFC3339Nano)
}

func idOf(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// timeIDAgency: time(8) id(8) agency.
func timeIDAgency(what string) func([]byte) string {
	return func(k []byte) string {
		if len(k) < 16 {
			return fmt.Sprintf("%q", k)
		}
		return fmt.Sprintf("[%s %s, consultation %d, agency %s]", what, instant(k[:8]), idOf(k[8:16]), k[16:])
	}
}

// splitAgency cuts "agency 0 rest".
func splitAgency(k []byte) (string, []byte, bool) {
	i := bytes.IndexByte(k, 0)
	if i < 0 {
		return "", nil, false
	}
	return string(k[:i]), k[i+1:], true
}

var describers = map[string]func([]byte) string{
	string(bPending):    timeIDAgency("deadline"),
	string(bReminders):  timeIDAgency("reminder"),
	string(bDeemedTime): timeIDAgency("effective"),
	string(bDeemed): func(k []byte) string {
		a, rest, ok := splitAgency(k)
		if !ok || len(rest) != 16 {
			return fmt.Sprintf("%q", k)
		}
		return fmt.Sprintf("[agency %s, effective %s, consultation %d]", a, instant(rest[:8]), idOf(rest[8:]))
	},
	string(bDeemedLead): func(k []byte) string {
		lead, rest, ok := splitAgency(k)
		if !ok || len(rest) < 16 {
			return fmt.Sprintf("%q", k)
		}
		return fmt.Sprintf("[lead %s, effective %s, consultation %d, agency %s]", lead, instant(rest[:8]), idOf(rest[8:16]), rest[16:])
	},
	string(bParty): func(k []byte) string {
		a, rest, ok := splitAgency(k)
		if !ok || len(rest) != 8 {
			return fmt.Sprintf("%q", k)
		}
		return fmt.Sprintf("[agency %s, consultation %d]", a, idOf(rest))
	},
	string(bAuditCons): func(k []byte) string {
		if len(k) != 16 {
			return fmt.Sprintf("%q", k)
		}
		return fmt.Sprintf("[consultation %d, audit entry %d]", idOf(k[:8]), idOf(k[8:]))
	},
	string(bAuditAgency): agencySeq,
	string(bInbox):       agencySeq,
}

func agencySeq(k []byte) string {
	a, rest, ok := splitAgency(k)
	if !ok || len(rest) != 8 {
		return fmt.Sprintf("%q", k)
	}
	return fmt.Sprintf("[agency %s, audit entry %d]", a, idOf(rest))
}

func describeStats(k []byte) string {
	a, rest, ok := splitAgency(k)
	if !ok || len(rest) != 4 {
		return fmt.Sprintf("%q", k)
	}
	day := time.Unix(int64(binary.BigEndian.Uint32(rest))*86400, 0).UTC()
	return fmt.Sprintf("agency %s, day %s", a, day.Format(time.DateOnly))
}
