package consultation_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
)

// Operator's calendar files used by the recount tests, on top of the
// built-in rules. Every consultation below is opened at `now` (Monday
// 2 March 2026, 09:00) under the built-in calendar.
const (
	// rcDayOff5Mar makes Thursday 5 March 2026 a day off: it lies inside the
	// window of a 5-working-day deadline opened on 2 March (3, 4, 5, 6, 9
	// March → 10 March 00:00), which becomes 3, 4, 6, 9, 10 → 11 March.
	rcDayOff5Mar = `{
  "version": "rc-5-mar/1",
  "years": {"2026": {"days_off": [
    {"date": "2026-03-05", "reason": "nghỉ thử nghiệm", "reason_en": "test day off"}
  ]}}
}`
	// rcDayOff11Mar makes Wednesday 11 March 2026 a day off: after the
	// 5-working-day deadline (10 March 00:00), inside a 3-working-day
	// extension of it (10, 11, 12 → 13 March 00:00, becoming 10, 12, 13 →
	// 14 March 00:00).
	rcDayOff11Mar = `{
  "version": "rc-11-mar/1",
  "years": {"2026": {"days_off": [
    {"date": "2026-03-11", "reason": "nghỉ thử nghiệm", "reason_en": "test day off"}
  ]}}
}`
	// rcWorkSat7Mar makes Saturday 7 March 2026 a working day: the
	// 5-working-day deadline becomes 3, 4, 5, 6, 7 → 8 March 00:00, earlier.
	rcWorkSat7Mar = `{
  "version": "rc-sat-7-mar/1",
  "years": {"2026": {"working_days": [
    {"date": "2026-03-07", "reason": "làm bù thử nghiệm", "reason_en": "test make-up day"}
  ]}}
}`
)

// Instants of the recount tests (Hà Nội time).
var (
	rcMar4  = time.Date(2026, 3, 4, 0, 0, 0, 0, loc)
	rcMar8  = time.Date(2026, 3, 8, 0, 0, 0, 0, loc)
	rcMar10 = deadline5wd // 5 working days from now, built-in calendar
	rcMar11 = time.Date(2026, 3, 11, 0, 0, 0, 0, loc)
	rcMar12 = time.Date(2026, 3, 12, 0, 0, 0, 0, loc)
	rcMar13 = time.Date(2026, 3, 13, 0, 0, 0, 0, loc)
	rcMar14 = time.Date(2026, 3, 14, 0, 0, 0, 0, loc)
	rcMar20 = time.Date(2026, 3, 20, 0, 0, 0, 0, loc)
	rcMar24 = time.Date(2026, 3, 24, 0, 0, 0, 0, loc) // 15 working days from now
	rcMar25 = time.Date(2026, 3, 25, 0, 0, 0, 0, loc)
	// rcAt is the usual recount instant: Tuesday 3 March 10:00, before the
	// day off of rcDayOff5Mar.
	rcAt = time.Date(2026, 3, 3, 10, 0, 0, 0, loc)
)

// rcCalendar is the built-in calendar with the overrides of a file, parsed
// with ParseOverrides; "" is the built-in calendar itself.
func rcCalendar(t testing.TB, file string) *calendar.Full {
	t.Helper()
	if file == "" {
		return calendar.Vietnam()
	}
	o, err := calendar.ParseOverrides([]byte(file))
	if err != nil {
		t.Fatalf("ParseOverrides: %v", err)
	}
	return calendar.New(loc, o)
}

// rcConfig is the default configuration with another calendar.
func rcConfig(cal calendar.Calendar) consultation.Config {
	cfg := consultation.DefaultConfig()
	cfg.Calendar = cal
	return cfg
}

// rcAsk records an extension request of agency at `at`, under the built-in
// calendar.
func rcAsk(t testing.TB, c *tacitv1.Consultation, agency string, in consultation.ExtensionInput, at time.Time) {
	t.Helper()
	in.Reason = needTime
	if _, err := consultation.RequestExtension(consultation.DefaultConfig(), c, agency, "agency:"+agency, in, at); err != nil {
		t.Fatalf("RequestExtension(%s) at %s: %v", agency, at, err)
	}
}

// rcGrant grants agency's pending request at `at`.
func rcGrant(t testing.TB, c *tacitv1.Consultation, agency string, at time.Time) {
	t.Helper()
	if _, err := consultation.DecideExtension(consultation.DefaultConfig(), c, agency, leadP, true, "Đồng ý", at); err != nil {
		t.Fatalf("DecideExtension(%s) at %s: %v", agency, at, err)
	}
}

func rcWorkingDays(n int32) consultation.ExtensionInput {
	return consultation.ExtensionInput{ByWorkingDays: n}
}

func rcUntil(t time.Time) consultation.ExtensionInput { return consultation.ExtensionInput{Until: t} }

// rcFmt is how event details write an instant.
func rcFmt(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05 -07:00") }

func rcExtension(t testing.TB, c *tacitv1.Consultation, agency string) *tacitv1.Extension {
	t.Helper()
	xs := consultation.Addressee(c, agency).GetExtensions()
	if len(xs) != 1 {
		t.Fatalf("%s has %d extensions, want 1", agency, len(xs))
	}
	return xs[0]
}

// keepVersion in a test case means the rule's calendar version is not
// checked by the table (see TestRecountDerivationStaysExplainable).
const keepVersion = "\x00unchecked"

func TestRecount(t *testing.T) {
	newVersion := func(file string) string { return rcCalendar(t, file).Version() }
	type move struct{ old, new time.Time }
	tests := []struct {
		name  string
		file  string // overrides of the new calendar
		build func(t *testing.T) *tacitv1.Consultation
		at    time.Time // recount instant
		// untouched: the record must come out exactly as it went in.
		untouched    bool
		wantDeadline time.Time            // the opening deadline after
		wantVersion  string               // DeadlineRule.CalendarVersion after
		wantAddr     map[string]time.Time // addressees' deadlines after
		wantMoves    map[string]move      // one DEADLINE_RECOMPUTED per moved addressee
		check        func(t *testing.T, before, after *tacitv1.Consultation)
	}{
		{
			name:         "a day off inside the window moves the opening deadline and every pending addressee one working day later",
			file:         rcDayOff5Mar,
			build:        func(t *testing.T) *tacitv1.Consultation { return opened(t) },
			at:           rcAt,
			wantDeadline: rcMar11,
			wantVersion:  newVersion(rcDayOff5Mar),
			wantAddr:     map[string]time.Time{xayDung: rcMar11, phuong: rcMar11},
			wantMoves:    map[string]move{xayDung: {rcMar10, rcMar11}, phuong: {rcMar10, rcMar11}},
		},
		{
			name: "the server's default of 15 working days is counted in working days too",
			file: rcDayOff5Mar,
			build: func(t *testing.T) *tacitv1.Consultation {
				return opened(t, func(r *tacitv1.OpenConsultationRequest) { r.DeadlineSpec = nil })
			},
			at:           rcAt,
			wantDeadline: rcMar25,
			wantVersion:  newVersion(rcDayOff5Mar),
			wantAddr:     map[string]time.Time{xayDung: rcMar25, phuong: rcMar25},
			wantMoves:    map[string]move{xayDung: {rcMar24, rcMar25}, phuong: {rcMar24, rcMar25}},
			check: func(t *testing.T, before, after *tacitv1.Consultation) {
				if !after.GetDeadlineRule().GetServerDefault() || after.GetDeadlineRule().GetWorkingDays() != 15 {
					t.Errorf("rule = %v, want still the server default of 15 working days", after.GetDeadlineRule())
				}
			},
		},
		{
			name:         "a deadline already passed at now never moves, even with the day off inside its window",
			file:         rcDayOff5Mar,
			build:        func(t *testing.T) *tacitv1.Consultation { return opened(t) },
			at:           time.Date(2026, 3, 10, 10, 0, 0, 0, loc),
			untouched:    true,
			wantDeadline: rcMar10,
			wantVersion:  wdVersion,
			wantAddr:     map[string]time.Time{xayDung: rcMar10, phuong: rcMar10},
		},
		{
			name: "a passed opening deadline stays when an addressee's explicit extension is still running",
			file: rcDayOff5Mar,
			build: func(t *testing.T) *tacitv1.Consultation {
				c := opened(t)
				rcAsk(t, c, xayDung, rcUntil(rcMar20), now.Add(24*time.Hour))
				rcGrant(t, c, xayDung, now.Add(25*time.Hour))
				return c
			},
			at:           time.Date(2026, 3, 10, 10, 0, 0, 0, loc),
			untouched:    true,
			wantDeadline: rcMar10,
			wantVersion:  wdVersion,
			wantAddr:     map[string]time.Time{xayDung: rcMar20, phuong: rcMar10},
		},
		{
			name:         "a deadline that would move to a moment already past is not moved",
			file:         rcWorkSat7Mar,
			build:        func(t *testing.T) *tacitv1.Consultation { return opened(t) },
			at:           time.Date(2026, 3, 8, 10, 0, 0, 0, loc), // Sunday: the new deadline, 8 March 00:00, has passed
			wantDeadline: rcMar10,
			wantVersion:  keepVersion,
			wantAddr:     map[string]time.Time{xayDung: rcMar10, phuong: rcMar10},
		},
		{
			name:         "a deadline moved earlier but still ahead moves",
			file:         rcWorkSat7Mar,
			build:        func(t *testing.T) *tacitv1.Consultation { return opened(t) },
			at:           time.Date(2026, 3, 6, 10, 0, 0, 0, loc),
			wantDeadline: rcMar8,
			wantVersion:  newVersion(rcWorkSat7Mar),
			wantAddr:     map[string]time.Time{xayDung: rcMar8, phuong: rcMar8},
			wantMoves:    map[string]move{xayDung: {rcMar10, rcMar8}, phuong: {rcMar10, rcMar8}},
		},
		{
			name:         "an explicit deadline never moves",
			file:         rcDayOff5Mar,
			build:        func(t *testing.T) *tacitv1.Consultation { return opened(t, withDeadline(rcMar12)) },
			at:           rcAt,
			untouched:    true,
			wantDeadline: rcMar12,
			wantVersion:  "",
			wantAddr:     map[string]time.Time{xayDung: rcMar12, phuong: rcMar12},
		},
		{
			name:         "a deadline given as a duration never moves",
			file:         rcDayOff5Mar,
			build:        func(t *testing.T) *tacitv1.Consultation { return opened(t, withDuration(10*24*time.Hour)) },
			at:           rcAt,
			untouched:    true,
			wantDeadline: now.Add(10 * 24 * time.Hour),
			wantVersion:  "",
			wantAddr:     map[string]time.Time{xayDung: now.Add(10 * 24 * time.Hour), phuong: now.Add(10 * 24 * time.Hour)},
		},
		{
			name: "a replied addressee is untouched; the pending one moves",
			file: rcDayOff5Mar,
			build: func(t *testing.T) *tacitv1.Consultation {
				c := opened(t)
				mustReply(t, c, xayDung, agree(), now.Add(30*time.Minute))
				return c
			},
			at:           rcAt,
			wantDeadline: rcMar11,
			wantVersion:  newVersion(rcDayOff5Mar),
			wantAddr:     map[string]time.Time{xayDung: rcMar10, phuong: rcMar11},
			wantMoves:    map[string]move{phuong: {rcMar10, rcMar11}},
		},
		{
			name: "a deemed addressee is untouched; a working-day extension running past the passed opening deadline is recounted",
			file: rcDayOff11Mar,
			build: func(t *testing.T) *tacitv1.Consultation {
				c := opened(t)
				rcAsk(t, c, xayDung, rcWorkingDays(3), now.Add(24*time.Hour)) // 10 March → 13 March
				rcGrant(t, c, xayDung, now.Add(25*time.Hour))
				return c
			},
			at:           time.Date(2026, 3, 10, 10, 0, 0, 0, loc), // phường deemed at 10 March 00:00
			wantDeadline: rcMar10,
			wantVersion:  wdVersion, // the opening deadline passed: it keeps the calendar it was counted with
			wantAddr:     map[string]time.Time{xayDung: rcMar14, phuong: rcMar10},
			wantMoves:    map[string]move{xayDung: {rcMar13, rcMar14}},
			check: func(t *testing.T, before, after *tacitv1.Consultation) {
				a := consultation.Addressee(after, phuong)
				if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED || !a.GetDeemedApproval().GetEffectiveTime().AsTime().Equal(rcMar10) {
					t.Errorf("phường = %v deemed at %v, want deemed to agree at its original deadline %v", a.GetState(), a.GetDeemedApproval().GetEffectiveTime().AsTime(), rcMar10)
				}
			},
		},
		{
			name: "a granted extension counted in working days is replayed from the new base",
			file: rcDayOff5Mar,
			build: func(t *testing.T) *tacitv1.Consultation {
				c := opened(t)
				rcAsk(t, c, xayDung, rcWorkingDays(3), now.Add(10*time.Minute)) // 10 March → 13 March
				rcGrant(t, c, xayDung, now.Add(20*time.Minute))
				return c
			},
			at:           rcAt,
			wantDeadline: rcMar11,
			wantVersion:  newVersion(rcDayOff5Mar),
			// 11 March + 3 working days (11, 12, 13) → 14 March 00:00.
			wantAddr:  map[string]time.Time{xayDung: rcMar14, phuong: rcMar11},
			wantMoves: map[string]move{xayDung: {rcMar13, rcMar14}, phuong: {rcMar10, rcMar11}},
			check: func(t *testing.T, before, after *tacitv1.Consultation) {
				if x := rcExtension(t, after, xayDung); x.GetState() != tacitv1.ExtensionState_EXTENSION_STATE_GRANTED {
					t.Errorf("the extension is %v, want still GRANTED", x.GetState())
				}
			},
		},
		{
			name: "a granted extension to an explicit instant stays",
			file: rcDayOff5Mar,
			build: func(t *testing.T) *tacitv1.Consultation {
				c := opened(t)
				rcAsk(t, c, xayDung, rcUntil(rcMar20), now.Add(10*time.Minute))
				rcGrant(t, c, xayDung, now.Add(20*time.Minute))
				return c
			},
			at:           rcAt,
			wantDeadline: rcMar11,
			wantVersion:  newVersion(rcDayOff5Mar),
			wantAddr:     map[string]time.Time{xayDung: rcMar20, phuong: rcMar11},
			wantMoves:    map[string]move{phuong: {rcMar10, rcMar11}},
			check: func(t *testing.T, before, after *tacitv1.Consultation) {
				if !proto.Equal(consultation.Addressee(before, xayDung), consultation.Addressee(after, xayDung)) {
					t.Errorf("Sở Xây dựng, with an explicit extension, changed:\nbefore %v\nafter  %v", consultation.Addressee(before, xayDung), consultation.Addressee(after, xayDung))
				}
			},
		},
		{
			name: "an undecided extension request in working days follows the new deadline",
			file: rcDayOff5Mar,
			build: func(t *testing.T) *tacitv1.Consultation {
				c := opened(t)
				rcAsk(t, c, xayDung, rcWorkingDays(3), now.Add(10*time.Minute)) // asks 10 March → 13 March
				return c
			},
			at:           rcAt,
			wantDeadline: rcMar11,
			wantVersion:  newVersion(rcDayOff5Mar),
			wantAddr:     map[string]time.Time{xayDung: rcMar11, phuong: rcMar11},
			wantMoves:    map[string]move{xayDung: {rcMar10, rcMar11}, phuong: {rcMar10, rcMar11}},
			check: func(t *testing.T, before, after *tacitv1.Consultation) {
				x := rcExtension(t, after, xayDung)
				if x.GetState() != tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED {
					t.Errorf("the request is %v, want still REQUESTED", x.GetState())
				}
				if got := x.GetPreviousDeadline().AsTime(); !got.Equal(rcMar11) {
					t.Errorf("request's previous deadline = %v, want the new deadline %v", got, rcMar11)
				}
				if got := x.GetRequestedDeadline().AsTime(); !got.Equal(rcMar14) {
					t.Errorf("requested deadline = %v, want 3 working days after the new deadline: %v", got, rcMar14)
				}
				if v := x.GetRequestedRule().GetCalendarVersion(); v != newVersion(rcDayOff5Mar) {
					t.Errorf("request's calendar version = %q, want %q", v, newVersion(rcDayOff5Mar))
				}
				if n := x.GetRequestedRule().GetWorkingDays(); n != 3 {
					t.Errorf("request's working days = %d, want 3", n)
				}
			},
		},
		{
			name: "an undecided extension request in working days is recounted when the day off falls in its own window",
			file: rcDayOff11Mar,
			build: func(t *testing.T) *tacitv1.Consultation {
				c := opened(t)
				rcAsk(t, c, xayDung, rcWorkingDays(3), now.Add(10*time.Minute)) // asks 10 March → 13 March
				return c
			},
			at:           rcAt,
			wantDeadline: rcMar10, // 11 March is after the opening deadline: nothing moves
			wantVersion:  newVersion(rcDayOff11Mar),
			wantAddr:     map[string]time.Time{xayDung: rcMar10, phuong: rcMar10},
			check: func(t *testing.T, before, after *tacitv1.Consultation) {
				x := rcExtension(t, after, xayDung)
				if got := x.GetRequestedDeadline().AsTime(); !got.Equal(rcMar14) {
					t.Errorf("requested deadline = %s, want %s (10, 12, 13 March)", rcFmt(got), rcFmt(rcMar14))
				}
				if got := x.GetPreviousDeadline().AsTime(); !got.Equal(rcMar10) {
					t.Errorf("request's previous deadline = %s, want %s", rcFmt(got), rcFmt(rcMar10))
				}
			},
		},
		{
			name: "an undecided extension request to an explicit instant keeps its instant",
			file: rcDayOff5Mar,
			build: func(t *testing.T) *tacitv1.Consultation {
				c := opened(t)
				rcAsk(t, c, xayDung, rcUntil(rcMar20), now.Add(10*time.Minute))
				return c
			},
			at:           rcAt,
			wantDeadline: rcMar11,
			wantVersion:  newVersion(rcDayOff5Mar),
			wantAddr:     map[string]time.Time{xayDung: rcMar11, phuong: rcMar11},
			wantMoves:    map[string]move{xayDung: {rcMar10, rcMar11}, phuong: {rcMar10, rcMar11}},
			check: func(t *testing.T, before, after *tacitv1.Consultation) {
				x := rcExtension(t, after, xayDung)
				if x.GetState() != tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED || !x.GetRequestedDeadline().AsTime().Equal(rcMar20) || !x.GetRequestedRule().GetExplicit() {
					t.Errorf("explicit request = %v, want still REQUESTED until %v", x, rcMar20)
				}
			},
		},
		{
			name: "a withdrawn consultation is untouched",
			file: rcDayOff5Mar,
			build: func(t *testing.T) *tacitv1.Consultation {
				c := opened(t)
				if _, err := consultation.Withdraw(c, leadP, "Dự thảo được thay thế", now.Add(30*time.Minute)); err != nil {
					t.Fatal(err)
				}
				return c
			},
			at:           rcAt,
			untouched:    true,
			wantDeadline: rcMar10,
			wantVersion:  wdVersion,
			wantAddr:     map[string]time.Time{xayDung: rcMar10, phuong: rcMar10},
		},
		{
			name: "a concluded consultation is untouched",
			file: rcDayOff5Mar,
			build: func(t *testing.T) *tacitv1.Consultation {
				c := opened(t)
				mustReply(t, c, xayDung, agree(), now.Add(10*time.Minute))
				mustReply(t, c, phuong, agree(), now.Add(20*time.Minute))
				if _, err := consultation.Conclude(consultation.DefaultConfig(), c, leadP, consultation.ConcludeInput{Summary: "Thống nhất"}, now.Add(30*time.Minute)); err != nil {
					t.Fatal(err)
				}
				return c
			},
			at:           rcAt,
			untouched:    true,
			wantDeadline: rcMar10,
			wantVersion:  wdVersion,
			wantAddr:     map[string]time.Time{xayDung: rcMar10, phuong: rcMar10},
		},
		{
			name:         "the same calendar changes nothing",
			file:         "",
			build:        func(t *testing.T) *tacitv1.Consultation { return opened(t) },
			at:           rcAt,
			untouched:    true,
			wantDeadline: rcMar10,
			wantVersion:  wdVersion,
			wantAddr:     map[string]time.Time{xayDung: rcMar10, phuong: rcMar10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal := rcCalendar(t, tt.file)
			c := tt.build(t)
			consultation.Materialize(c, tt.at, noHeads, true) // Recount's precondition
			before := clone(c)

			evs := consultation.Recount(rcConfig(cal), c, tt.at)

			if tt.untouched && !proto.Equal(before, c) {
				t.Errorf("the record changed:\nbefore %v\nafter  %v", before, c)
			}
			if got := c.GetDeadline().AsTime(); !got.Equal(tt.wantDeadline) {
				t.Errorf("opening deadline = %s, want %s", rcFmt(got), rcFmt(tt.wantDeadline))
			}
			rule, was := c.GetDeadlineRule(), before.GetDeadlineRule()
			if tt.wantVersion != keepVersion && rule.GetCalendarVersion() != tt.wantVersion {
				t.Errorf("DeadlineRule.CalendarVersion = %q, want %q", rule.GetCalendarVersion(), tt.wantVersion)
			}
			if !rule.GetFrom().AsTime().Equal(was.GetFrom().AsTime()) || rule.GetWorkingDays() != was.GetWorkingDays() ||
				rule.GetExplicit() != was.GetExplicit() || !proto.Equal(rule.GetDuration(), was.GetDuration()) {
				t.Errorf("the rule's derivation changed: %v -> %v", was, rule)
			}
			for agency, want := range tt.wantAddr {
				if got := consultation.Addressee(c, agency).GetDeadline().AsTime(); !got.Equal(want) {
					t.Errorf("%s deadline = %s, want %s", agency, rcFmt(got), rcFmt(want))
				}
			}
			for _, a := range before.GetAddressees() {
				if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING && !proto.Equal(a, consultation.Addressee(c, a.GetAgency())) {
					t.Errorf("%s (%v) changed:\nbefore %v\nafter  %v", a.GetAgency(), a.GetState(), a, consultation.Addressee(c, a.GetAgency()))
				}
				if got := consultation.Addressee(c, a.GetAgency()).GetState(); got != a.GetState() {
					t.Errorf("%s state %v -> %v", a.GetAgency(), a.GetState(), got)
				}
			}

			if len(evs) != len(tt.wantMoves) {
				t.Errorf("got %d events, want %d: %+v", len(evs), len(tt.wantMoves), evs)
			}
			seen := map[string]bool{}
			for _, e := range evs {
				m, ok := tt.wantMoves[e.Agency]
				if !ok || seen[e.Agency] {
					t.Errorf("unexpected event %+v", e)
					continue
				}
				seen[e.Agency] = true
				if e.Type != consultation.EventDeadlineRecomputed || e.Actor != consultation.SystemActor || !e.Time.Equal(tt.at) {
					t.Errorf("event %+v: want type %s by %s at %v", e, consultation.EventDeadlineRecomputed, consultation.SystemActor, tt.at)
				}
				wantContains(t, "event details", e.Details, e.Agency, rcFmt(m.old), rcFmt(m.new), cal.Version())
				if i, j := strings.Index(e.Details, rcFmt(m.old)), strings.LastIndex(e.Details, rcFmt(m.new)); i < 0 || j < i {
					t.Errorf("event details %q: want the old deadline %s before the new one %s", e.Details, rcFmt(m.old), rcFmt(m.new))
				}
				if !strings.Contains(e.Rule, cal.Version()) {
					t.Errorf("event rule %q does not name the calendar %s", e.Rule, cal.Version())
				}
			}
			if tt.check != nil {
				tt.check(t, before, c)
			}
		})
	}
}

// Recounting twice with the same calendar changes nothing the second time.
func TestRecountIsIdempotent(t *testing.T) {
	cal := rcCalendar(t, rcDayOff5Mar)
	c := opened(t)
	rcAsk(t, c, xayDung, rcWorkingDays(3), now.Add(10*time.Minute))
	rcGrant(t, c, xayDung, now.Add(20*time.Minute))
	if evs := consultation.Recount(rcConfig(cal), c, rcAt); len(evs) != 2 {
		t.Fatalf("first recount: %d events, want 2: %+v", len(evs), evs)
	}
	once := clone(c)
	if evs := consultation.Recount(rcConfig(cal), c, rcAt.Add(time.Hour)); len(evs) != 0 {
		t.Errorf("second recount with the same calendar: events %+v, want none", evs)
	}
	if !proto.Equal(once, c) {
		t.Errorf("second recount changed the record:\nbefore %v\nafter  %v", once, c)
	}
}

// rcDerived recomputes a working-day rule: the opening rule counts from the
// opening instant; an extension's rule counts from the deadline it extends
// (24:00 of its last day, i.e. the last instant before it).
func rcDerived(t testing.TB, rule *tacitv1.DeadlineRule, extension bool, cals map[string]*calendar.Full) time.Time {
	t.Helper()
	cal, ok := cals[rule.GetCalendarVersion()]
	if !ok {
		t.Fatalf("rule %v names an unknown calendar %q", rule, rule.GetCalendarVersion())
	}
	from := rule.GetFrom().AsTime()
	if extension {
		from = from.Add(-time.Nanosecond)
	}
	return cal.Deadline(from, int(rule.GetWorkingDays()))
}

// Every working-day deadline stores how it was derived (from, N, calendar
// version) so that an auditor can recompute it. After a recount, the stored
// rule must still explain the stored deadline.
func TestRecountDerivationStaysExplainable(t *testing.T) {
	cals := map[string]*calendar.Full{}
	for _, f := range []string{"", rcDayOff5Mar, rcWorkSat7Mar} {
		c := rcCalendar(t, f)
		cals[c.Version()] = c
	}

	t.Run("a moved opening deadline is explained by its rule", func(t *testing.T) {
		c := opened(t)
		consultation.Recount(rcConfig(cals[rcCalendar(t, rcDayOff5Mar).Version()]), c, rcAt)
		if got, want := rcDerived(t, c.GetDeadlineRule(), false, cals), c.GetDeadline().AsTime(); !got.Equal(want) {
			t.Errorf("rule %v gives %s, but the deadline is %s", c.GetDeadlineRule(), rcFmt(got), rcFmt(want))
		}
	})

	t.Run("an opening deadline kept because the new count has already passed still names the calendar it was counted with", func(t *testing.T) {
		c := opened(t)
		at := time.Date(2026, 3, 8, 10, 0, 0, 0, loc)
		consultation.Materialize(c, at, noHeads, true)
		consultation.Recount(rcConfig(rcCalendar(t, rcWorkSat7Mar)), c, at)
		if !c.GetDeadline().AsTime().Equal(rcMar10) {
			t.Fatalf("deadline = %s, want it kept at %s", rcFmt(c.GetDeadline().AsTime()), rcFmt(rcMar10))
		}
		if got := rcDerived(t, c.GetDeadlineRule(), false, cals); !got.Equal(rcMar10) {
			t.Errorf("the deadline stayed %s (the new count, %s, had passed), but its rule now says %q, which gives %s: "+
				"the rule should keep the calendar the deadline was counted with (%q)",
				rcFmt(rcMar10), rcFmt(rcMar8), c.GetDeadlineRule().GetCalendarVersion(), rcFmt(got), wdVersion)
		}
	})

	t.Run("an undecided working-day request that followed the new deadline is explained by its rule", func(t *testing.T) {
		c := opened(t)
		rcAsk(t, c, xayDung, rcWorkingDays(3), now.Add(10*time.Minute))
		consultation.Recount(rcConfig(rcCalendar(t, rcDayOff5Mar)), c, rcAt)
		x := rcExtension(t, c, xayDung)
		if got, want := x.GetRequestedRule().GetFrom().AsTime(), x.GetPreviousDeadline().AsTime(); !got.Equal(want) {
			t.Errorf("request's rule counts from %s, but the deadline it extends is now %s", rcFmt(got), rcFmt(want))
		}
		if got, want := rcDerived(t, x.GetRequestedRule(), true, cals), x.GetRequestedDeadline().AsTime(); !got.Equal(want) {
			t.Errorf("request's rule %v gives %s, but the requested deadline is %s", x.GetRequestedRule(), rcFmt(got), rcFmt(want))
		}
	})
}

// A one-working-day deadline with a day off added inside its window: moved
// while it is ahead, never once it has passed.
func TestRecountOneWorkingDay(t *testing.T) {
	c := opened(t, withWorkingDays(1))
	if !c.GetDeadline().AsTime().Equal(rcMar4) {
		t.Fatalf("1 working day from %s = %s, want %s", rcFmt(now), rcFmt(c.GetDeadline().AsTime()), rcFmt(rcMar4))
	}
	// A day off on Tuesday 3 March, added after the deadline passed, does
	// not move it.
	cal := rcCalendar(t, `{"version": "rc-3-mar/1", "years": {"2026": {"days_off": [{"date": "2026-03-03", "reason": "nghỉ"}]}}}`)
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, loc)
	consultation.Materialize(c, at, noHeads, true)
	before := clone(c)
	if evs := consultation.Recount(rcConfig(cal), c, at); len(evs) != 0 || !proto.Equal(before, c) {
		t.Errorf("recount after the deadline: events %+v, record changed %v", evs, !proto.Equal(before, c))
	}
	// Before the deadline passed, the same day off moves it to Thursday.
	c = opened(t, withWorkingDays(1))
	consultation.Recount(rcConfig(cal), c, now.Add(time.Hour))
	if want := time.Date(2026, 3, 5, 0, 0, 0, 0, loc); !c.GetDeadline().AsTime().Equal(want) {
		t.Errorf("deadline = %s, want %s", rcFmt(c.GetDeadline().AsTime()), rcFmt(want))
	}
}
