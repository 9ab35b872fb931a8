package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/storage"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
	"github.com/tacit-gov/tacit/pkg/storage/storagetest"
)

// calDayOff3Mar makes Tuesday 3 March 2026 a day off. From t0 (Monday
// 2 March 09:00), 5 working days end on 10 March 00:00 under the built-in
// calendar and on 11 March 00:00 under this one; 1 working day ends on
// 4 March 00:00, and would end on 5 March 00:00.
const calDayOff3Mar = `{
  "version": "srv-3-mar/1",
  "years": {"2026": {"days_off": [
    {"date": "2026-03-03", "reason": "nghỉ thử nghiệm", "reason_en": "test day off"}
  ]}}
}`

func calWithOverrides(t *testing.T, file string) *calendar.Full {
	t.Helper()
	o, err := calendar.ParseOverrides([]byte(file))
	if err != nil {
		t.Fatalf("ParseOverrides: %v", err)
	}
	return calendar.New(calendar.Location(), o)
}

// calFixture opens the data folder dir with a core whose rules count with
// cal, as `tacit serve --calendar` does.
func calFixture(t *testing.T, dir string, clock *clockwork.FakeClock, cal calendar.Calendar, importRegistry bool) *fixture {
	t.Helper()
	st, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rules := consultation.Config{Calendar: cal, MinNotice: 0, DefaultWorkingDays: 15}
	core, err := NewCore(context.Background(), st, rules, clock, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if importRegistry {
		importAgencies(t, core, "Nguyễn Văn An")
	}
	return &fixture{core: core, clock: clock, consult: ConsultationServer{Core: core}, store: st, dir: dir}
}

// calOpenWD opens a consultation of n working days to so-xay-dung and
// so-tai-chinh.
func calOpenWD(t *testing.T, f *fixture, n int32) *tacitv1.Consultation {
	t.Helper()
	res, err := f.consult.OpenConsultation(as(lead), &tacitv1.OpenConsultationRequest{
		Title: "Kế hoạch sử dụng đất", LegalBasis: "Luật Đất đai 2024", Fields: []string{"land.planning"},
		Addressees:   []string{"so-xay-dung", "so-tai-chinh"},
		DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: n},
	})
	if err != nil {
		t.Fatalf("open %d working days: %v", n, err)
	}
	return res.GetConsultation()
}

func calStored(t *testing.T, f *fixture, id string) *tacitv1.Consultation {
	t.Helper()
	rec, err := f.store.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("store.Get(%s): %v", id, err)
	}
	return rec
}

// calEventsAfter returns the audit events after seq, and the last sequence.
func calEventsAfter(t *testing.T, f *fixture, seq uint64) ([]*tacitv1.AuditEvent, uint64) {
	t.Helper()
	evs, err := f.store.ListEvents(context.Background(), storage.EventQuery{AfterSeq: seq, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	last := seq
	if len(evs) > 0 {
		last = evs[len(evs)-1].GetSequence()
	}
	return evs, last
}

func calOfType(evs []*tacitv1.AuditEvent, typ string) []*tacitv1.AuditEvent {
	var out []*tacitv1.AuditEvent
	for _, e := range evs {
		if e.GetType() == typ {
			out = append(out, e)
		}
	}
	return out
}

func calFmt(t time.Time) string {
	return t.In(calendar.Location()).Format("2006-01-02 15:04:05 -07:00")
}

// calWantDeadlines checks a stored record's opening deadline and every
// addressee's.
func calWantDeadlines(t *testing.T, what string, c *tacitv1.Consultation, want time.Time) {
	t.Helper()
	if got := c.GetDeadline().AsTime(); !got.Equal(want) {
		t.Errorf("%s: deadline = %s, want %s", what, calFmt(got), calFmt(want))
	}
	for _, a := range c.GetAddressees() {
		if got := a.GetDeadline().AsTime(); !got.Equal(want) {
			t.Errorf("%s: %s deadline = %s, want %s", what, a.GetAgency(), calFmt(got), calFmt(want))
		}
	}
}

// A server restarted with a calendar that adds a day off recounts the open
// working-day deadlines that have not passed, records each change, and
// leaves alone what passed while it was down.
func TestApplyCalendarRecountsOpenDeadlines(t *testing.T) {
	ctx := context.Background()
	loc := calendar.Location()
	var (
		mar4  = time.Date(2026, 3, 4, 0, 0, 0, 0, loc)
		mar10 = time.Date(2026, 3, 10, 0, 0, 0, 0, loc)
		mar11 = time.Date(2026, 3, 11, 0, 0, 0, 0, loc)
	)
	builtin := calendar.Vietnam()
	withDayOff := calWithOverrides(t, calDayOff3Mar)

	// First run: the built-in calendar, recorded at start as Run does.
	dir := t.TempDir()
	f := calFixture(t, dir, clockwork.NewFakeClockAt(t0), builtin, true)
	if n, err := f.core.ApplyCalendar(ctx); err != nil || n != 0 {
		t.Fatalf("ApplyCalendar on an empty store = %d, %v; want 0", n, err)
	}
	if v, _ := f.store.CalendarVersion(ctx); v != builtin.Version() {
		t.Fatalf("recorded calendar %q, want %q", v, builtin.Version())
	}
	live := calOpenWD(t, f, 5)          // 10 March → 11 March
	passing := calOpenWD(t, f, 1)       // 4 March: passes while the server is down
	fixed := f.open(t, 10*24*time.Hour) // 12 March 09:00, a duration: never moves
	calWantDeadlines(t, "opened 5wd", live, mar10)
	calWantDeadlines(t, "opened 1wd", passing, mar4)
	f.store.Close()

	// Second run, on Wednesday 4 March 10:00, with 3 March made a day off.
	clock := clockwork.NewFakeClockAt(time.Date(2026, 3, 4, 10, 0, 0, 0, loc))
	g := calFixture(t, dir, clock, withDayOff, false)
	_, mark := calEventsAfter(t, g, 0)
	n, err := g.core.ApplyCalendar(ctx)
	if err != nil {
		t.Fatalf("ApplyCalendar: %v", err)
	}
	if n != 1 {
		t.Errorf("ApplyCalendar changed %d consultations, want 1 (only %s)", n, live.GetId())
	}
	if v, _ := g.store.CalendarVersion(ctx); v != withDayOff.Version() {
		t.Errorf("recorded calendar %q, want %q", v, withDayOff.Version())
	}

	rec := calStored(t, g, live.GetId())
	calWantDeadlines(t, "the live consultation after the recount", rec, mar11)
	if r := rec.GetDeadlineRule(); r.GetCalendarVersion() != withDayOff.Version() || r.GetWorkingDays() != 5 || !r.GetFrom().AsTime().Equal(t0) {
		t.Errorf("deadline rule = %v, want 5 working days from %v with %s", r, t0, withDayOff.Version())
	}
	if got := g.get(t, live.GetId()); !got.GetDeadline().AsTime().Equal(mar11) {
		t.Errorf("GetConsultation shows the deadline %s, want %s", calFmt(got.GetDeadline().AsTime()), calFmt(mar11))
	}
	recPassing := calStored(t, g, passing.GetId())
	calWantDeadlines(t, "the consultation whose deadline passed while down", recPassing, mar4)
	if v := recPassing.GetDeadlineRule().GetCalendarVersion(); v != builtin.Version() {
		t.Errorf("passed deadline's rule names %q, want the calendar it was counted with, %q", v, builtin.Version())
	}
	calWantDeadlines(t, "the consultation with a duration", calStored(t, g, fixed.GetId()), fixed.GetDeadline().AsTime())

	evs, mark2 := calEventsAfter(t, g, mark)
	changed := calOfType(evs, consultation.EventCalendarChanged)
	if len(changed) != 1 {
		t.Errorf("%d %s events, want 1: %v", len(changed), consultation.EventCalendarChanged, changed)
	} else {
		e := changed[0]
		if e.GetActor() != consultation.SystemActor || !e.GetEventTime().AsTime().Equal(clock.Now()) {
			t.Errorf("calendar change recorded as %v", e)
		}
		for _, s := range []string{builtin.Version(), withDayOff.Version(), "1 open consultation"} {
			if !strings.Contains(e.GetDetails(), s) {
				t.Errorf("calendar change details %q lack %q", e.GetDetails(), s)
			}
		}
	}
	moved := calOfType(evs, consultation.EventDeadlineRecomputed)
	if len(moved) != 2 {
		t.Errorf("%d %s events, want 2 (one per addressee of %s): %v", len(moved), consultation.EventDeadlineRecomputed, live.GetId(), moved)
	}
	agencies := map[string]bool{}
	for _, e := range moved {
		agencies[e.GetAgency()] = true
		if e.GetConsultationId() != live.GetId() || e.GetActor() != consultation.SystemActor {
			t.Errorf("recount event %v: want consultation %s by %s", e, live.GetId(), consultation.SystemActor)
		}
		for _, s := range []string{calFmt(mar10), calFmt(mar11), withDayOff.Version()} {
			if !strings.Contains(e.GetDetails(), s) {
				t.Errorf("recount event details %q lack %q", e.GetDetails(), s)
			}
		}
	}
	if !agencies["so-xay-dung"] || !agencies["so-tai-chinh"] {
		t.Errorf("recount events for %v, want so-xay-dung and so-tai-chinh", agencies)
	}
	for _, e := range evs {
		if e.GetConsultationId() == passing.GetId() && e.GetType() == consultation.EventDeadlineRecomputed {
			t.Errorf("a deadline that had passed was recomputed: %v", e)
		}
	}

	// The passed deadline is honoured at its original instant.
	got := g.get(t, passing.GetId())
	for _, a := range got.GetAddressees() {
		if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED || !a.GetDeemedApproval().GetEffectiveTime().AsTime().Equal(mar4) {
			t.Errorf("%s on %s = %v effective %v, want deemed to agree at %s", a.GetAgency(), passing.GetId(), a.GetState(), a.GetDeemedApproval().GetEffectiveTime().AsTime(), calFmt(mar4))
		}
	}
	if n, err := g.core.Sweep(ctx, clock.Now()); err != nil || n != 1 {
		t.Errorf("catch-up sweep = %d, %v; want 1 (%s)", n, err, passing.GetId())
	}
	for _, a := range calStored(t, g, passing.GetId()).GetAddressees() {
		if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED || !a.GetDeemedApproval().GetRecorded() || !a.GetDeemedApproval().GetEffectiveTime().AsTime().Equal(mar4) {
			t.Errorf("%s stored as %v (recorded %v, effective %v), want a recorded deemed approval at %s", a.GetAgency(), a.GetState(), a.GetDeemedApproval().GetRecorded(), a.GetDeemedApproval().GetEffectiveTime().AsTime(), calFmt(mar4))
		}
	}
	// The deadline index follows: the earliest pending deadline is now the
	// recounted one (not the stale 10 March).
	if next, ok := storagetest.NextWork(t, g.store); !ok || !next.Equal(mar11) {
		t.Errorf("next deadline with work = %v, %v; want %s", next, ok, calFmt(mar11))
	}
	_, mark2 = calEventsAfter(t, g, mark2)

	// The same calendar again changes nothing.
	clock.Advance(time.Hour)
	if n, err := g.core.ApplyCalendar(ctx); err != nil || n != 0 {
		t.Errorf("ApplyCalendar with the same calendar = %d, %v; want 0", n, err)
	}
	if evs, _ := calEventsAfter(t, g, mark2); len(evs) != 0 {
		t.Errorf("ApplyCalendar with the same calendar recorded %v", evs)
	}
	calWantDeadlines(t, "after a second ApplyCalendar", calStored(t, g, live.GetId()), mar11)
	g.store.Close()

	// Third run, on Thursday 5 March, back to the built-in calendar: the
	// deadline still ahead moves back.
	clock3 := clockwork.NewFakeClockAt(time.Date(2026, 3, 5, 10, 0, 0, 0, loc))
	h := calFixture(t, dir, clock3, builtin, false)
	if n, err := h.core.ApplyCalendar(ctx); err != nil || n != 1 {
		t.Errorf("ApplyCalendar back to the built-in calendar = %d, %v; want 1", n, err)
	}
	calWantDeadlines(t, "back to the built-in calendar", calStored(t, h, live.GetId()), mar10)
	if next, ok := storagetest.NextWork(t, h.store); !ok || !next.Equal(mar10) {
		t.Errorf("next deadline with work = %v %v, want %s", next, ok, calFmt(mar10))
	}
	if v, err := h.store.VerifyAudit(ctx); err != nil || !v.Intact {
		t.Errorf("audit chain after the recounts: %+v, %v", v, err)
	}
}

// A reply stays a reply when the calendar changes; only pending addressees
// move.
func TestApplyCalendarLeavesRepliesAlone(t *testing.T) {
	ctx := context.Background()
	loc := calendar.Location()
	dir := t.TempDir()
	f := calFixture(t, dir, clockwork.NewFakeClockAt(t0), calendar.Vietnam(), true)
	if _, err := f.core.ApplyCalendar(ctx); err != nil {
		t.Fatal(err)
	}
	c := calOpenWD(t, f, 5)
	if err := reply(f, xd, c.GetId()); err != nil {
		t.Fatal(err)
	}
	f.store.Close()

	g := calFixture(t, dir, clockwork.NewFakeClockAt(t0.Add(30*time.Minute)), calWithOverrides(t, calDayOff3Mar), false)
	if n, err := g.core.ApplyCalendar(ctx); err != nil || n != 1 {
		t.Fatalf("ApplyCalendar = %d, %v; want 1", n, err)
	}
	rec := calStored(t, g, c.GetId())
	if a := addressee(rec, "so-xay-dung"); a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED || !a.GetDeadline().AsTime().Equal(time.Date(2026, 3, 10, 0, 0, 0, 0, loc)) {
		t.Errorf("the replied addressee = %v, deadline %v; want REPLIED with its deadline unchanged", a.GetState(), a.GetDeadline().AsTime())
	}
	if a := addressee(rec, "so-tai-chinh"); !a.GetDeadline().AsTime().Equal(time.Date(2026, 3, 11, 0, 0, 0, 0, loc)) {
		t.Errorf("the pending addressee's deadline = %v, want 11 March", a.GetDeadline().AsTime())
	}
	evs, _ := calEventsAfter(t, g, 0)
	for _, e := range calOfType(evs, consultation.EventDeadlineRecomputed) {
		if e.GetAgency() != "so-tai-chinh" {
			t.Errorf("recount event for %s, which had replied: %v", e.GetAgency(), e)
		}
	}
}

func TestGetCalendar(t *testing.T) {
	f := newFixture(t)
	s := CalendarServer{Core: f.core}
	res, err := s.GetCalendar(as(lead), &tacitv1.GetCalendarRequest{Year: 2026})
	if err != nil {
		t.Fatalf("GetCalendar: %v", toStatus(err))
	}
	if res.GetVersion() != calendar.BuiltinVersion || res.GetTimeZone() != calendar.ZoneName || res.GetYear() != 2026 {
		t.Errorf("GetCalendar = version %q, zone %q, year %d", res.GetVersion(), res.GetTimeZone(), res.GetYear())
	}
	days := map[string]*tacitv1.CalendarDay{}
	for _, d := range res.GetDays() {
		days[d.GetDate()] = d
	}
	for _, date := range []string{"2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20"} {
		d := days[date]
		if d.GetKind() != "holiday" || !strings.Contains(d.GetReason(), "Tết") {
			t.Errorf("%s = %v, want a Tết holiday", date, d)
		}
	}
	for date, kind := range map[string]string{"2026-01-01": "holiday", "2026-04-26": "holiday", "2026-04-27": "compensatory", "2026-04-30": "holiday", "2026-05-01": "holiday", "2026-09-02": "holiday"} {
		if days[date].GetKind() != kind {
			t.Errorf("%s = %v, want kind %s", date, days[date], kind)
		}
	}

	vi, err := s.GetCalendar(as(lead), &tacitv1.GetCalendarRequest{Year: 2026, Language: "vi"})
	if err != nil {
		t.Fatalf("GetCalendar vi: %v", toStatus(err))
	}
	for _, d := range vi.GetDays() {
		if d.GetDate() == "2026-02-17" && !strings.Contains(d.GetReason(), "Tết Nguyên đán") {
			t.Errorf("Vietnamese reason for 2026-02-17 = %q, want Tết Nguyên đán", d.GetReason())
		}
	}

	// A server with an operator's file shows its days.
	g := calFixture(t, t.TempDir(), clockwork.NewFakeClockAt(t0), calWithOverrides(t, calDayOff3Mar), false)
	res, err = CalendarServer{Core: g.core}.GetCalendar(as(lead), &tacitv1.GetCalendarRequest{Year: 2026})
	if err != nil {
		t.Fatalf("GetCalendar with a file: %v", toStatus(err))
	}
	if res.GetVersion() != calendar.BuiltinVersion+"+srv-3-mar/1" {
		t.Errorf("version = %q", res.GetVersion())
	}
	found := false
	for _, d := range res.GetDays() {
		if d.GetDate() == "2026-03-03" {
			found = d.GetKind() == "day_off" && strings.Contains(d.GetReason(), "test day off")
		}
	}
	if !found {
		t.Errorf("the operator's day off 2026-03-03 is missing or wrong in %v", res.GetDays())
	}
}

func TestComputeDeadline(t *testing.T) {
	f := newFixture(t)
	s := CalendarServer{Core: f.core}
	loc := calendar.Location()
	from := time.Date(2026, 2, 12, 9, 0, 0, 0, loc)
	res, err := s.ComputeDeadline(as(lead), &tacitv1.ComputeDeadlineRequest{From: timestamppb.New(from), WorkingDays: 5})
	if err != nil {
		t.Fatalf("ComputeDeadline: %v", toStatus(err))
	}
	want := time.Date(2026, 2, 27, 0, 0, 0, 0, loc)
	if got := res.GetDeadline().AsTime(); !got.Equal(want) || got.In(loc).Format(time.RFC3339) != "2026-02-27T00:00:00+07:00" {
		t.Errorf("deadline = %s, want 2026-02-27T00:00:00+07:00", got.In(loc).Format(time.RFC3339))
	}
	if res.GetLastWorkingDay() != "2026-02-26" || res.GetVersion() != calendar.BuiltinVersion {
		t.Errorf("last working day %q, version %q; want 2026-02-26, %s", res.GetLastWorkingDay(), res.GetVersion(), calendar.BuiltinVersion)
	}
	wantSkipped := []struct{ date, kind string }{
		{"2026-02-14", "weekend"}, {"2026-02-15", "weekend"},
		{"2026-02-16", "holiday"}, {"2026-02-17", "holiday"}, {"2026-02-18", "holiday"}, {"2026-02-19", "holiday"}, {"2026-02-20", "holiday"},
		{"2026-02-21", "weekend"}, {"2026-02-22", "weekend"},
	}
	if len(res.GetSkipped()) != len(wantSkipped) {
		t.Fatalf("skipped %d days, want %d: %v", len(res.GetSkipped()), len(wantSkipped), res.GetSkipped())
	}
	for i, w := range wantSkipped {
		d := res.GetSkipped()[i]
		if d.GetDate() != w.date || d.GetKind() != w.kind || d.GetReason() == "" {
			t.Errorf("skipped[%d] = %v, want %s %s with a reason", i, d, w.date, w.kind)
		}
	}
	if r := res.GetSkipped()[3].GetReason(); !strings.Contains(r, "Tết") {
		t.Errorf("reason for 2026-02-17 = %q, want Tết", r)
	}
}

func TestCalendarServiceRejectsInvalidInput(t *testing.T) {
	f := newFixture(t)
	s := CalendarServer{Core: f.core}
	from := timestamppb.New(time.Date(2026, 2, 12, 9, 0, 0, 0, calendar.Location()))
	tests := []struct {
		name string
		call func() error
	}{
		{"year 0", func() error { _, err := s.GetCalendar(as(lead), &tacitv1.GetCalendarRequest{}); return err }},
		{"year 1899", func() error { _, err := s.GetCalendar(as(lead), &tacitv1.GetCalendarRequest{Year: 1899}); return err }},
		{"year 2101", func() error { _, err := s.GetCalendar(as(lead), &tacitv1.GetCalendarRequest{Year: 2101}); return err }},
		{"year -2026", func() error { _, err := s.GetCalendar(as(lead), &tacitv1.GetCalendarRequest{Year: -2026}); return err }},
		{"calendar language fr", func() error {
			_, err := s.GetCalendar(as(lead), &tacitv1.GetCalendarRequest{Year: 2026, Language: "fr"})
			return err
		}},
		{"working_days 0", func() error {
			_, err := s.ComputeDeadline(as(lead), &tacitv1.ComputeDeadlineRequest{From: from})
			return err
		}},
		{"working_days -1", func() error {
			_, err := s.ComputeDeadline(as(lead), &tacitv1.ComputeDeadlineRequest{From: from, WorkingDays: -1})
			return err
		}},
		{"working_days 366", func() error {
			_, err := s.ComputeDeadline(as(lead), &tacitv1.ComputeDeadlineRequest{From: from, WorkingDays: 366})
			return err
		}},
		{"no from", func() error {
			_, err := s.ComputeDeadline(as(lead), &tacitv1.ComputeDeadlineRequest{WorkingDays: 5})
			return err
		}},
		{"from out of range", func() error {
			_, err := s.ComputeDeadline(as(lead), &tacitv1.ComputeDeadlineRequest{From: timestamppb.New(time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC)), WorkingDays: 5})
			return err
		}},
		{"invalid from", func() error {
			_, err := s.ComputeDeadline(as(lead), &tacitv1.ComputeDeadlineRequest{From: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}, WorkingDays: 5})
			return err
		}},
		{"deadline language de", func() error {
			_, err := s.ComputeDeadline(as(lead), &tacitv1.ComputeDeadlineRequest{From: from, WorkingDays: 5, Language: "de"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := toStatus(tt.call())
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("code = %v (%v), want InvalidArgument", status.Code(err), err)
			}
		})
	}
	// The limits themselves are accepted.
	if _, err := s.GetCalendar(as(lead), &tacitv1.GetCalendarRequest{Year: 1900}); err != nil {
		t.Errorf("year 1900: %v", toStatus(err))
	}
	if _, err := s.GetCalendar(as(lead), &tacitv1.GetCalendarRequest{Year: 2100}); err != nil {
		t.Errorf("year 2100: %v", toStatus(err))
	}
	if _, err := s.ComputeDeadline(as(lead), &tacitv1.ComputeDeadlineRequest{From: from, WorkingDays: 365}); err != nil {
		t.Errorf("365 working days: %v", toStatus(err))
	}
}
