package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// Figures are derived from the difference between a record before and after
// each write, in the same transaction, so they always agree with the
// records: stats: day(4) agency -> counters; stats_pending: agency -> n.
//
// The day comes first: the figures a write changes are nearly all of the
// day it is made, so every agency's figures of today share a few pages,
// which a commit writes once for all its writes, where keys by agency
// first cost a page per agency a commit touches (with a thousand agencies,
// most of a commit's writes).

// dayOf numbers days in Vietnam's time zone.
func dayOf(t time.Time) uint32 {
	_, off := t.In(calendar.Location()).Zone()
	return uint32((t.Unix() + int64(off)) / 86400)
}

// counter positions in an encoded day record.
const (
	fReceived = iota
	fReplied
	fDeemed
	fRevisions
	fExtRequested
	fExtGranted
	fOpened
	fRejected
	fEscalations
	nCounters
)

type dayDelta struct {
	c    [nCounters]int64
	hist map[int]int64
}

// statsDelta accumulates changes per (agency, day) and per agency pending.
type statsDelta struct {
	days    map[string]map[uint32]*dayDelta
	pending map[string]int64
	// store-wide totals: open consultations, deemed approvals
	open, deemed int64
}

func newStatsDelta() *statsDelta {
	return &statsDelta{days: map[string]map[uint32]*dayDelta{}, pending: map[string]int64{}}
}

func (d *statsDelta) at(agency string, t time.Time) *dayDelta {
	m := d.days[agency]
	if m == nil {
		m = map[uint32]*dayDelta{}
		d.days[agency] = m
	}
	day := dayOf(t)
	dd := m[day]
	if dd == nil {
		dd = &dayDelta{hist: map[int]int64{}}
		m[day] = dd
	}
	return dd
}

func (d *statsDelta) add(agency string, t time.Time, field int, n int64) {
	if n != 0 {
		d.at(agency, t).c[field] += n
	}
}

func pendingNow(c *tacitv1.Consultation, a *tacitv1.Addressee) int64 {
	if a != nil && c.GetState() == tacitv1.ConsultationState_CONSULTATION_STATE_OPEN && a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
		return 1
	}
	return 0
}

// diff records what changed from old (nil when new) to c.
func (d *statsDelta) diff(old, c *tacitv1.Consultation) {
	created := c.GetCreateTime().AsTime()
	isOpen := func(x *tacitv1.Consultation) int64 {
		if x != nil && x.GetState() == tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
			return 1
		}
		return 0
	}
	d.open += isOpen(c) - isOpen(old)
	if old == nil {
		d.add(c.GetLead(), created, fOpened, 1)
		for _, a := range c.GetAddressees() {
			if a.GetEscalated() { // a consultation addressed to a higher level counts once
				d.add(c.GetLead(), created, fEscalations, 1)
				break
			}
		}
	}
	olds := map[string]*tacitv1.Addressee{}
	for _, a := range old.GetAddressees() {
		olds[a.GetAgency()] = a
	}
	for _, a := range c.GetAddressees() {
		code := a.GetAgency()
		oa := olds[code]
		if oa == nil {
			d.add(code, created, fReceived, 1)
		}
		if n := pendingNow(c, a) - pendingNow(old, oa); n != 0 {
			d.pending[code] += n
		}
		replied := tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED
		if a.GetState() == replied && oa.GetState() != replied && len(a.GetRevisions()) > 0 {
			first := a.GetRevisions()[0]
			dd := d.at(code, first.GetReplyTime().AsTime())
			dd.c[fReplied]++
			dd.hist[min(int(first.GetWorkingDaysTaken()), storage.ReplyDayBuckets-1)]++
		}
		for _, r := range a.GetRevisions()[len(oa.GetRevisions()):] {
			if r.GetRevision() > 1 {
				d.add(code, r.GetReplyTime().AsTime(), fRevisions, 1)
			}
		}
		deemed := tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED
		if a.GetState() == deemed && oa.GetState() != deemed {
			d.add(code, a.GetDeemedApproval().GetEffectiveTime().AsTime(), fDeemed, 1)
			d.deemed++
		}
		for i, x := range a.GetExtensions() {
			var ox *tacitv1.Extension
			if i < len(oa.GetExtensions()) {
				ox = oa.GetExtensions()[i]
			} else {
				d.add(code, x.GetRequestTime().AsTime(), fExtRequested, 1)
			}
			granted := tacitv1.ExtensionState_EXTENSION_STATE_GRANTED
			if x.GetState() == granted && ox.GetState() != granted {
				d.add(code, x.GetDecideTime().AsTime(), fExtGranted, 1)
			}
		}
	}
}

func statsKey(agency string, day uint32) []byte {
	return append(binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(agency)), day), agency...)
}

// parseStatsKey returns the agency and day of a figures key.
func parseStatsKey(k []byte) (agency string, day uint32, ok bool) {
	if len(k) <= 4 {
		return "", 0, false
	}
	return string(k[4:]), binary.BigEndian.Uint32(k[:4]), true
}

// encodeDay: nCounters varints, then pairs (bucket, count) of the histogram.
func encodeDay(c [nCounters]int64, hist map[int]int64) []byte {
	var b []byte
	for _, v := range c {
		b = binary.AppendVarint(b, v)
	}
	for k := 0; k < storage.ReplyDayBuckets; k++ {
		if v := hist[k]; v != 0 {
			b = binary.AppendVarint(b, int64(k))
			b = binary.AppendVarint(b, v)
		}
	}
	return b
}

func decodeDay(b []byte) (c [nCounters]int64, hist map[int]int64) {
	hist = map[int]int64{}
	for i := 0; i < nCounters && len(b) > 0; i++ {
		v, n := binary.Varint(b)
		if n <= 0 {
			return
		}
		c[i], b = v, b[n:]
	}
	for len(b) > 0 {
		k, n := binary.Varint(b)
		if n <= 0 {
			return
		}
		v, m := binary.Varint(b[n:])
		if m <= 0 {
			return
		}
		hist[int(k)] += v
		b = b[n+m:]
	}
	return
}

func (d *statsDelta) apply(tx *bolt.Tx) error {
	st, pend := tx.Bucket(bStats), tx.Bucket(bStatsPending)
	for agency, days := range d.days {
		for day, dd := range days {
			k := statsKey(agency, day)
			c, hist := decodeDay(st.Get(k))
			for i := range c {
				c[i] += dd.c[i]
			}
			for b, n := range dd.hist {
				hist[b] += n
			}
			if err := st.Put(k, encodeDay(c, hist)); err != nil {
				return err
			}
		}
	}
	for agency, n := range d.pending {
		v, _ := binary.Varint(pend.Get([]byte(agency)))
		if err := pend.Put([]byte(agency), binary.AppendVarint(nil, v+n)); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bMeta)
	for _, t := range []struct {
		key []byte
		n   int64
	}{{kOpenTotal, d.open}, {kDeemedTotal, d.deemed}} {
		if t.n == 0 {
			continue
		}
		v, _ := binary.Varint(meta.Get(t.key))
		if err := meta.Put(t.key, binary.AppendVarint(nil, v+t.n)); err != nil {
			return err
		}
	}
	return nil
}

var (
	kOpenTotal   = []byte("open_consultations")
	kDeemedTotal = []byte("deemed_approvals")
)

// Counts implements storage.Store.
func (s *Store) Counts(ctx context.Context) (storage.Counts, error) {
	var c storage.Counts
	err := s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		c.Consultations = int64(tx.Bucket(bConsultations).Sequence())
		c.OpenConsultations, _ = binary.Varint(meta.Get(kOpenTotal))
		c.DeemedApprovals, _ = binary.Varint(meta.Get(kDeemedTotal))
		if v := meta.Get(kAuditHead); v != nil {
			c.AuditEntries = binary.BigEndian.Uint64(v[:8])
		}
		c.DataBytes = tx.Size()
		return tx.Bucket(bStatsPending).ForEach(func(_, v []byte) error {
			n, _ := binary.Varint(v)
			c.PendingAddressees += n
			return nil
		})
	})
	st := s.db.Stats().TxStats
	c.PageWrites, c.WriteTime = st.GetWrite(), st.GetWriteTime()
	c.Commits, c.CommittedWrites = s.group.commits.Load(), s.group.writes.Load()
	c.WriterBusy = time.Duration(s.group.busy.Load())
	return c, err
}

// Backup implements storage.Store: one read transaction sees a consistent
// snapshot, and bbolt copies it page by page while writers go on.
func (s *Store) Backup(ctx context.Context, w io.Writer) (n int64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// RecordRejection implements storage.Store.
func (s *Store) RecordRejection(ctx context.Context, lead string, events []*tacitv1.AuditEvent) error {
	return s.group.do(func(b *txBatch) error {
		b.stats.rejected(lead, events)
		return b.appendEvents(events)
	})
}

// rejected counts refused openings against their lead.
func (d *statsDelta) rejected(lead string, events []*tacitv1.AuditEvent) {
	for _, e := range events {
		d.add(lead, e.GetEventTime().AsTime(), fRejected, 1)
	}
}

// AgencyFigures implements storage.Store.
func (s *Store) AgencyFigures(ctx context.Context, q storage.StatsQuery) (map[string]*storage.Figures, error) {
	out := map[string]*storage.Figures{}
	get := func(agency string) *storage.Figures {
		f := out[agency]
		if f == nil {
			f = &storage.Figures{ReplyDays: make([]int64, storage.ReplyDayBuckets)}
			out[agency] = f
		}
		return f
	}
	var since, until uint32 = 0, ^uint32(0)
	if !q.Since.IsZero() {
		since = dayOf(q.Since)
	}
	if !q.Until.IsZero() {
		until = dayOf(q.Until)
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bStats).Cursor()
		for k, v := cur.Seek(binary.BigEndian.AppendUint32(nil, since)); k != nil; k, v = cur.Next() {
			agency, day, ok := parseStatsKey(k)
			if !ok {
				return fmt.Errorf("figures: key %q is not day, agency: the data file is damaged; restore it from a backup", k)
			}
			if day >= until {
				break
			}
			c, hist := decodeDay(v)
			f := get(agency)
			f.Received += c[fReceived]
			f.RepliedOnTime += c[fReplied]
			f.Deemed += c[fDeemed]
			f.Revisions += c[fRevisions]
			f.ExtensionsRequested += c[fExtRequested]
			f.ExtensionsGranted += c[fExtGranted]
			f.Opened += c[fOpened]
			f.Rejected += c[fRejected]
			f.Escalations += c[fEscalations]
			for b, n := range hist {
				if b >= 0 && b < storage.ReplyDayBuckets {
					f.ReplyDays[b] += n
				}
			}
		}
		return tx.Bucket(bStatsPending).ForEach(func(k, v []byte) error {
			n, _ := binary.Varint(v)
			if n != 0 {
				get(string(k)).Pending = n
			}
			return nil
		})
	})
	return out, err
}
