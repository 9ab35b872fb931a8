package bolt_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/storage"
	"github.com/tacit-gov/tacit/pkg/synth"
)

// A history written by the bulk loader is a store like any other: the
// consistency checker finds nothing, the audit chain verifies, and the
// running totals, figures and deemed-approval listings agree with a count
// made here from the records and the audit trail.
func TestBulkLoadedHistoryIsConsistent(t *testing.T) {
	ctx := t.Context()
	loc := calendar.Location()
	since, until := time.Date(2024, 1, 1, 0, 0, 0, 0, loc), time.Date(2026, 6, 3, 10, 30, 0, 0, loc)
	s := open(t, t.TempDir())
	// A small batch, so that the history spans many transactions.
	sum, err := synth.Generate(ctx, s, synth.Options{Consultations: 3000, Seed: 42, Since: since, Until: until, Batch: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if problems := mustCheck(t, s); len(problems) > 0 {
		t.Fatalf("Check found %d problems in a bulk-loaded store, first: %v", len(problems), problems[:min(5, len(problems))])
	}
	counts, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.VerifyAudit(ctx)
	if err != nil || !v.Intact || v.Checked != counts.AuditEntries {
		t.Fatalf("VerifyAudit = %+v, %v; want intact with %d entries", v, err, counts.AuditEntries)
	}

	// --- the records, read back through the Store ---
	var all []*tacitv1.Consultation
	for after := ""; ; {
		page, next, err := s.List(ctx, storage.ListQuery{After: after, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if after = next; next == "" {
			break
		}
	}
	if len(all) != 3000 || sum.Consultations != 3000 || counts.Consultations != 3000 {
		t.Fatalf("%d records listed, %d generated, Counts says %d; want 3000", len(all), sum.Consultations, counts.Consultations)
	}
	type deemedRow struct {
		ID, Agency, Head string
		At               time.Time
	}
	want := map[string]*storage.Figures{}
	fig := func(a string) *storage.Figures {
		if want[a] == nil {
			want[a] = &storage.Figures{}
		}
		return want[a]
	}
	var deemed []deemedRow
	open, pending, addressees := 0, 0, 0
	y2025, y2026 := time.Date(2025, 1, 1, 0, 0, 0, 0, loc), time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
	var deemed2025, received2025 int64
	for _, c := range all {
		isOpen := c.GetState() == tacitv1.ConsultationState_CONSULTATION_STATE_OPEN
		if isOpen {
			open++
		}
		created := c.GetCreateTime().AsTime()
		if created.Before(since) || !created.Before(until) {
			t.Errorf("consultation %s opened at %s, outside the period", c.GetId(), created)
		}
		fig(c.GetLead()).Opened++
		for _, a := range c.GetAddressees() {
			if a.GetEscalated() {
				fig(c.GetLead()).Escalations++
				break
			}
		}
		for _, a := range c.GetAddressees() {
			addressees++
			f := fig(a.GetAgency())
			f.Received++
			if !created.Before(y2025) && created.Before(y2026) {
				received2025++
			}
			dl := a.GetDeadline().AsTime()
			switch a.GetState() {
			case tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING:
				if isOpen {
					f.Pending++
					pending++
					if dl.Before(until) { // the sweeper would have recorded it
						t.Errorf("consultation %s: %s still pending after its deadline %s", c.GetId(), a.GetAgency(), dl)
					}
				}
			case tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED:
				f.RepliedOnTime++
				if r := a.GetRevisions()[0].GetReplyTime().AsTime(); !r.Before(dl) {
					t.Errorf("consultation %s: %s replied at %s, not before its deadline %s", c.GetId(), a.GetAgency(), r, dl)
				}
			case tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED:
				f.Deemed++
				d := a.GetDeemedApproval()
				if at := d.GetEffectiveTime().AsTime(); !at.Equal(dl) || !at.Before(until) || d.GetResponsibleHead() == "" || !d.GetRecorded() {
					t.Errorf("consultation %s: deemed approval of %s %v does not take effect, recorded, at its deadline %s with a head", c.GetId(), a.GetAgency(), d, dl)
				}
				deemed = append(deemed, deemedRow{c.GetId(), a.GetAgency(), d.GetResponsibleHead(), dl.UTC()})
				if !dl.Before(y2025) && dl.Before(y2026) {
					deemed2025++
				}
			}
			f.Revisions += int64(max(0, len(a.GetRevisions())-1))
			for _, x := range a.GetExtensions() {
				f.ExtensionsRequested++
				if x.GetState() == tacitv1.ExtensionState_EXTENSION_STATE_GRANTED {
					f.ExtensionsGranted++
				}
			}
		}
	}
	if int64(open) != counts.OpenConsultations || open != sum.StillOpen || int64(pending) != counts.PendingAddressees ||
		int64(len(deemed)) != counts.DeemedApprovals || len(deemed) != sum.Deemed || addressees != sum.Addressees {
		t.Errorf("records: %d open, %d pending, %d deemed, %d addressees; Counts %+v; generator %+v", open, pending, len(deemed), addressees, counts, sum)
	}
	if open == 0 || pending == 0 || len(deemed) == 0 || sum.ExtensionsGranted == 0 || sum.ExtensionsRefused == 0 || sum.Withdrawn == 0 || sum.Rejected == 0 || sum.Revisions == 0 {
		t.Errorf("the history lacks some kind of change: %+v", sum)
	}

	// --- the audit trail ---
	types := map[string]int{}
	rejectedBy := map[string]int64{}
	var last time.Time
	for after := uint64(0); ; {
		evs, err := s.ListEvents(ctx, storage.EventQuery{AfterSeq: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			types[e.GetType()]++
			at := e.GetEventTime().AsTime()
			if at.Before(last) || !at.Before(until) {
				t.Fatalf("audit entry %d at %s: after %s, or not before the end of the period", e.GetSequence(), at, last)
			}
			last = at
			if e.GetType() == consultation.EventOpenRejected {
				rejectedBy[e.GetActor()[len("agency:"):]]++
			}
		}
		after = evs[len(evs)-1].GetSequence()
	}
	for typ, n := range map[string]int{
		consultation.EventOpened: 3000, consultation.EventReplied: sum.Replies, consultation.EventRevised: sum.Revisions,
		consultation.EventDeemedApproval: len(deemed), consultation.EventReminder: sum.Reminders, consultation.EventOpenRejected: sum.Rejected,
		consultation.EventExtensionAsked: sum.ExtensionsAsked, consultation.EventExtensionGranted: sum.ExtensionsGranted,
		consultation.EventWithdrawn: sum.Withdrawn, consultation.EventConcluded: sum.Concluded,
	} {
		if types[typ] != n {
			t.Errorf("%d %s audit entries, want %d", types[typ], typ, n)
		}
	}
	for a, n := range rejectedBy {
		fig(a).Rejected = n
	}

	// --- figures: every agency, all time, and one year ---
	figs, err := s.AgencyFigures(ctx, storage.StatsQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range figs {
		f.ReplyDays = nil
	}
	if d := cmp.Diff(want, figs); d != "" {
		t.Errorf("AgencyFigures differ from the records (-records +figures):\n%s", d)
	}
	year, err := s.AgencyFigures(ctx, storage.StatsQuery{Since: y2025, Until: y2026})
	if err != nil {
		t.Fatal(err)
	}
	var gotDeemed, gotReceived int64
	for _, f := range year {
		gotDeemed += f.Deemed
		gotReceived += f.Received
	}
	if gotDeemed != deemed2025 || gotReceived != received2025 || deemed2025 == 0 {
		t.Errorf("2025: figures say %d deemed, %d received; the records %d, %d", gotDeemed, gotReceived, deemed2025, received2025)
	}

	// --- deemed approvals: the whole listing, and by agency ---
	var listed []deemedRow
	var cursor []byte
	for {
		page, next, err := s.ListDeemed(ctx, storage.DeemedQuery{After: cursor, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			listed = append(listed, deemedRow{r.GetConsultationId(), r.GetAgency(), r.GetResponsibleHead(), r.GetEffectiveTime().AsTime()})
		}
		if cursor = next; next == nil {
			break
		}
	}
	byKey := func(rows []deemedRow) map[string]deemedRow {
		m := map[string]deemedRow{}
		for _, r := range rows {
			m[r.ID+" "+r.Agency] = r
		}
		return m
	}
	if d := cmp.Diff(byKey(deemed), byKey(listed)); d != "" || len(listed) != len(deemed) {
		t.Errorf("ListDeemed lists %d rows, the records have %d deemed approvals (-records +listed):\n%s", len(listed), len(deemed), d)
	}
	for i := 1; i < len(listed); i++ {
		if listed[i].At.Before(listed[i-1].At) {
			t.Fatalf("ListDeemed row %d at %s comes after one at %s", i, listed[i].At, listed[i-1].At)
		}
	}
	for agency, f := range want {
		rows, _, err := s.ListDeemed(ctx, storage.DeemedQuery{Agency: agency, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(rows)) != f.Deemed {
			t.Errorf("ListDeemed(agency %s) lists %d, the records have %d", agency, len(rows), f.Deemed)
		}
	}
}

// The loader refuses consultation ids that leave a gap.
func TestBulkLoadNeedsConsecutiveIDs(t *testing.T) {
	s := open(t, t.TempDir())
	l, err := s.NewLoader(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{1, 3} {
		c, events, _ := build("x", map[string]time.Time{"so-y-te": later})(strconv.Itoa(id))
		if err := l.Events(events); err != nil {
			t.Fatal(err)
		}
		if err := l.Consultation(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err == nil {
		t.Fatal("Close accepted ids 1 and 3")
	}
}

// The loader refuses a consultation id given twice, even when a later gap
// would make the count come out right (ids 1, 1, 3).
func TestBulkLoadRefusesARepeatedID(t *testing.T) {
	s := open(t, t.TempDir())
	l, err := s.NewLoader(0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Abort()
	for i, id := range []int{1, 1} {
		c, events, _ := build("x", map[string]time.Time{"so-y-te": later})(strconv.Itoa(id))
		if err := l.Events(events); err != nil {
			t.Fatal(err)
		}
		err := l.Consultation(c)
		if i == 0 && err != nil {
			t.Fatal(err)
		}
		if i == 1 && err == nil {
			t.Fatal("the loader accepted consultation 1 twice")
		}
	}
}
