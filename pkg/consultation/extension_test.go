package consultation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/fault"
)

const needTime = "Cần lấy ý kiến các phòng chuyên môn"

func TestRequestExtensionRecorded(t *testing.T) {
	at := now.Add(48 * time.Hour)
	until := time.Date(2026, 3, 16, 17, 0, 0, 0, loc)
	tests := []struct {
		name string
		in   consultation.ExtensionInput
		want *tacitv1.Extension
	}{
		{
			name: "until an explicit instant",
			in:   consultation.ExtensionInput{Until: until, Reason: "  " + needTime + " "},
			want: &tacitv1.Extension{
				Reason: needTime, RequestedDeadline: ts(until),
				RequestedRule: &tacitv1.DeadlineRule{From: ts(deadline5wd), Explicit: true},
				State:         tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED, RequestTime: ts(at), PreviousDeadline: ts(deadline5wd),
			},
		},
		{
			name: "by working days: the rule counts from the current deadline",
			in:   consultation.ExtensionInput{ByWorkingDays: 3, Reason: needTime},
			want: &tacitv1.Extension{
				Reason:        needTime,
				RequestedRule: &tacitv1.DeadlineRule{From: ts(deadline5wd), WorkingDays: 3, CalendarVersion: wdVersion},
				State:         tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED, RequestTime: ts(at), PreviousDeadline: ts(deadline5wd),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := opened(t)
			evs, err := consultation.RequestExtension(consultation.DefaultConfig(), c, xayDung, xayDungP, tt.in, at)
			if err != nil {
				t.Fatalf("RequestExtension: %v", err)
			}
			a := consultation.Addressee(c, xayDung)
			if len(a.GetExtensions()) != 1 {
				t.Fatalf("extensions = %v", a.GetExtensions())
			}
			got := a.GetExtensions()[0]
			if !got.GetRequestedDeadline().AsTime().After(deadline5wd) {
				t.Errorf("requested deadline %v is not after the current deadline", got.GetRequestedDeadline().AsTime())
			}
			if tt.want.RequestedDeadline == nil { // the exact working-day date is checked in TestRequestExtensionByWorkingDays
				tt.want.RequestedDeadline = got.GetRequestedDeadline()
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("extension (-want +got):\n%s", diff)
			}
			if !a.GetDeadline().AsTime().Equal(deadline5wd) {
				t.Errorf("asking moved the deadline to %v", a.GetDeadline().AsTime())
			}
			if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
				t.Errorf("state = %v", a.GetState())
			}
			if len(evs) != 1 || evs[0].Type != consultation.EventExtensionAsked || evs[0].Actor != xayDungP || evs[0].Agency != xayDung {
				t.Errorf("events = %+v", evs)
			}
		})
	}
}

// Working days asked for are added to the current deadline: 5 working days
// and then 3 more must end where 8 working days from the opening end.
func TestRequestExtensionByWorkingDays(t *testing.T) {
	tests := []struct {
		name    string
		current func(*tacitv1.OpenConsultationRequest)
		by      int32
		want    time.Time
	}{
		{
			name:    "current deadline mid-day Wednesday 11 March, +2 working days ends with Friday 13 March",
			current: withDeadline(time.Date(2026, 3, 11, 15, 0, 0, 0, loc)),
			by:      2, want: time.Date(2026, 3, 14, 0, 0, 0, 0, loc),
		},
		{
			name:    "current deadline at the end of Friday 6 March, +1 working day ends with Monday 9 March",
			current: withWorkingDays(4), // 3,4,5,6 March: 2026-03-07 00:00
			by:      1, want: time.Date(2026, 3, 10, 0, 0, 0, 0, loc),
		},
		{
			// Same as opening with 8 working days: 3,4,5,6,9,10,11,12 March.
			name:    "current deadline at the end of Monday 9 March (5wd), +3 working days ends with Thursday 12 March",
			current: withWorkingDays(5),
			by:      3, want: time.Date(2026, 3, 13, 0, 0, 0, 0, loc),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := opened(t, tt.current)
			_, err := consultation.RequestExtension(consultation.DefaultConfig(), c, xayDung, xayDungP,
				consultation.ExtensionInput{ByWorkingDays: tt.by, Reason: needTime}, now.Add(time.Hour))
			if err != nil {
				t.Fatalf("RequestExtension: %v", err)
			}
			got := consultation.Addressee(c, xayDung).GetExtensions()[0].GetRequestedDeadline().AsTime()
			if !got.Equal(tt.want) {
				t.Errorf("BUG: requested deadline = %s, want %s (current deadline %s + %d working days)",
					got.In(loc), tt.want.In(loc), consultation.Addressee(c, xayDung).GetDeadline().AsTime().In(loc), tt.by)
			}
		})
	}
}

func TestRequestExtensionRefused(t *testing.T) {
	cfg := consultation.DefaultConfig()
	ask := consultation.ExtensionInput{ByWorkingDays: 2, Reason: needTime}
	tests := []struct {
		name     string
		setup    func(t *testing.T, c *tacitv1.Consultation)
		agency   string
		in       consultation.ExtensionInput
		at       time.Time
		wantKind fault.Kind
		want     []sv
		reason   string
		wantMsg  []string
	}{
		{name: "reason required", in: consultation.ExtensionInput{ByWorkingDays: 2, Reason: " "},
			wantKind: fault.Invalid, want: []sv{{"reason", "REQUIRED"}}},
		{name: "neither until nor working days", in: consultation.ExtensionInput{Reason: needTime},
			wantKind: fault.Invalid, want: []sv{{"until", "REQUIRED"}}},
		{name: "both until and working days", in: consultation.ExtensionInput{Until: deadline5wd.Add(24 * time.Hour), ByWorkingDays: 1, Reason: needTime},
			wantKind: fault.Invalid, want: []sv{{"until", "REQUIRED"}}},
		{name: "negative working days", in: consultation.ExtensionInput{ByWorkingDays: -1, Reason: needTime},
			wantKind: fault.Invalid, want: []sv{{"by_working_days", "OUT_OF_RANGE"}}},
		{name: "too many working days", in: consultation.ExtensionInput{ByWorkingDays: consultation.MaxWorkingDay + 1, Reason: needTime},
			wantKind: fault.Invalid, want: []sv{{"by_working_days", "OUT_OF_RANGE"}}},
		{name: "until equal to the current deadline", in: consultation.ExtensionInput{Until: deadline5wd, Reason: needTime},
			wantKind: fault.Invalid, wantMsg: []string{"2026-03-10 00:00:00 +07:00", "not after the current deadline"}},
		{name: "until before the current deadline", in: consultation.ExtensionInput{Until: deadline5wd.Add(-time.Hour), Reason: needTime},
			wantKind: fault.Invalid, wantMsg: []string{"not after the current deadline"}},
		{name: "until beyond the horizon", in: consultation.ExtensionInput{Until: now.Add(time.Hour + consultation.MaxHorizon + time.Second), Reason: needTime},
			wantKind: fault.Invalid, wantMsg: []string{"more than"}},
		{name: "exactly at the deadline", in: ask, at: deadline5wd,
			wantKind: fault.FailedPrecondition, reason: "DEADLINE_PASSED", wantMsg: []string{"2026-03-10 00:00:00 +07:00", "deemed to agree"}},
		{name: "after the deadline, materialized", in: ask, at: deadline5wd.Add(time.Hour),
			setup: func(t *testing.T, c *tacitv1.Consultation) {
				consultation.Materialize(c, deadline5wd.Add(time.Hour), noHeads, true)
			},
			wantKind: fault.FailedPrecondition, reason: "DEADLINE_PASSED", wantMsg: []string{"deemed to agree"}},
		{name: "a second request while one awaits a decision", in: consultation.ExtensionInput{ByWorkingDays: 5, Reason: needTime},
			setup: func(t *testing.T, c *tacitv1.Consultation) {
				if _, err := consultation.RequestExtension(cfg, c, xayDung, xayDungP, ask, now); err != nil {
					t.Fatal(err)
				}
			},
			wantKind: fault.FailedPrecondition, reason: "EXTENSION_PENDING"},
		{name: "after replying", in: ask,
			setup:    func(t *testing.T, c *tacitv1.Consultation) { mustReply(t, c, xayDung, agree(), now) },
			wantKind: fault.FailedPrecondition, reason: "ALREADY_REPLIED"},
		{name: "not an addressee", agency: unrelated, in: ask, wantKind: fault.PermissionDenied},
		{name: "the lead", agency: lead, in: ask, wantKind: fault.PermissionDenied},
		{name: "withdrawn consultation", in: ask,
			setup: func(t *testing.T, c *tacitv1.Consultation) {
				if _, err := consultation.Withdraw(c, leadP, "Rút", now); err != nil {
					t.Fatal(err)
				}
			},
			wantKind: fault.FailedPrecondition, reason: "CONSULTATION_NOT_OPEN", wantMsg: []string{"withdrawn"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := opened(t)
			if tt.setup != nil {
				tt.setup(t, c)
			}
			agency, at := xayDung, now.Add(time.Hour)
			if tt.agency != "" {
				agency = tt.agency
			}
			if !tt.at.IsZero() {
				at = tt.at
			}
			before := clone(c)
			evs, err := consultation.RequestExtension(cfg, c, agency, "agency:"+agency, tt.in, at)
			fe := wantFault(t, err, tt.wantKind, tt.want)
			if tt.reason != "" && fe.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", fe.Reason, tt.reason)
			}
			wantContains(t, "message", fe.Message, tt.wantMsg...)
			if evs != nil {
				t.Errorf("events on a refused request: %v", evs)
			}
			unchanged(t, before, c)
		})
	}
}

// After a refusal nothing is pending, so the agency may ask again.
func TestRequestExtensionAgainAfterRefusal(t *testing.T) {
	cfg := consultation.DefaultConfig()
	c := opened(t)
	ask := consultation.ExtensionInput{ByWorkingDays: 2, Reason: needTime}
	if _, err := consultation.RequestExtension(cfg, c, xayDung, xayDungP, ask, now); err != nil {
		t.Fatal(err)
	}
	if _, err := consultation.DecideExtension(cfg, c, xayDung, leadP, false, "Không có căn cứ", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := consultation.RequestExtension(cfg, c, xayDung, xayDungP, ask, now.Add(2*time.Hour)); err != nil {
		t.Fatalf("second request after a refusal: %v", err)
	}
	if n := len(consultation.Addressee(c, xayDung).GetExtensions()); n != 2 {
		t.Errorf("%d extensions kept, want both", n)
	}
}

func TestDecideExtension(t *testing.T) {
	cfg := consultation.DefaultConfig()
	until := time.Date(2026, 3, 17, 0, 0, 0, 0, loc)
	decideAt := now.Add(5 * time.Hour)
	tests := []struct {
		name         string
		grant        bool
		reason       string
		wantDeadline time.Time
		wantState    tacitv1.ExtensionState
		wantEvent    string
	}{
		{"grant moves that addressee's deadline", true, "Đồng ý gia hạn", until, tacitv1.ExtensionState_EXTENSION_STATE_GRANTED, consultation.EventExtensionGranted},
		{"refuse keeps the deadline", false, " Đã đủ thời gian ", deadline5wd, tacitv1.ExtensionState_EXTENSION_STATE_REFUSED, consultation.EventExtensionRefused},
		{"a decision needs no reason", true, "", until, tacitv1.ExtensionState_EXTENSION_STATE_GRANTED, consultation.EventExtensionGranted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := opened(t)
			if _, err := consultation.RequestExtension(cfg, c, xayDung, xayDungP, consultation.ExtensionInput{Until: until, Reason: needTime}, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			evs, err := consultation.DecideExtension(cfg, c, xayDung, leadP, tt.grant, tt.reason, decideAt)
			if err != nil {
				t.Fatalf("DecideExtension: %v", err)
			}
			a := consultation.Addressee(c, xayDung)
			if got := a.GetDeadline().AsTime(); !got.Equal(tt.wantDeadline) {
				t.Errorf("deadline of %s = %s, want %s", xayDung, got.In(loc), tt.wantDeadline.In(loc))
			}
			if got := consultation.Addressee(c, phuong).GetDeadline().AsTime(); !got.Equal(deadline5wd) {
				t.Errorf("deadline of the other addressee moved to %s", got.In(loc))
			}
			if got := c.GetDeadline().AsTime(); !got.Equal(deadline5wd) {
				t.Errorf("consultation's opening deadline moved to %s", got.In(loc))
			}
			x := a.GetExtensions()[0]
			if x.GetState() != tt.wantState || x.GetDecisionReason() != strings.TrimSpace(tt.reason) || !x.GetDecideTime().AsTime().Equal(decideAt) {
				t.Errorf("extension = %v", x)
			}
			if !x.GetPreviousDeadline().AsTime().Equal(deadline5wd) {
				t.Errorf("previous deadline = %v", x.GetPreviousDeadline().AsTime())
			}
			if len(evs) != 1 || evs[0].Type != tt.wantEvent || evs[0].Actor != leadP || evs[0].Agency != xayDung {
				t.Errorf("events = %+v", evs)
			}
			// The moved (or kept) deadline is the one the silence rule and
			// replies now follow.
			probe := clone(c)
			consultation.Materialize(probe, deadline5wd, noHeads, false)
			if deemed := consultation.Addressee(probe, xayDung).GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED; deemed == tt.grant {
				t.Errorf("at the original deadline deemed = %v with grant = %v", deemed, tt.grant)
			}
			_, err = consultation.Reply(cfg, clone(c), xayDung, xayDungP, agree(), deadline5wd.Add(time.Hour))
			if (err == nil) != tt.grant {
				t.Errorf("reply after the original deadline: err = %v with grant = %v", err, tt.grant)
			}
		})
	}
}

func TestDecideExtensionRefused(t *testing.T) {
	cfg := consultation.DefaultConfig()
	ask := func(t *testing.T, c *tacitv1.Consultation) {
		t.Helper()
		if _, err := consultation.RequestExtension(cfg, c, xayDung, xayDungP, consultation.ExtensionInput{ByWorkingDays: 2, Reason: needTime}, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		setup    func(t *testing.T, c *tacitv1.Consultation)
		agency   string
		reason   string
		at       time.Time
		wantKind fault.Kind
		wantWhy  string
		wantMsg  []string
	}{
		{name: "no request at all", wantKind: fault.FailedPrecondition, wantWhy: "NO_EXTENSION_REQUEST"},
		{name: "the request was already decided",
			setup: func(t *testing.T, c *tacitv1.Consultation) {
				ask(t, c)
				if _, err := consultation.DecideExtension(cfg, c, xayDung, leadP, false, "", now.Add(2*time.Hour)); err != nil {
					t.Fatal(err)
				}
			},
			wantKind: fault.FailedPrecondition, wantWhy: "NO_EXTENSION_REQUEST"},
		{name: "the deadline passed before the decision (materialized first)", at: deadline5wd,
			setup: func(t *testing.T, c *tacitv1.Consultation) {
				ask(t, c)
				consultation.Materialize(c, deadline5wd, noHeads, true)
			},
			wantKind: fault.FailedPrecondition, wantWhy: "DEADLINE_PASSED", wantMsg: []string{"2026-03-10 00:00:00 +07:00", "deemed to agree"}},
		{name: "not an addressee", agency: unrelated, setup: ask, wantKind: fault.Invalid},
		{name: "withdrawn consultation", wantKind: fault.FailedPrecondition, wantWhy: "CONSULTATION_NOT_OPEN",
			setup: func(t *testing.T, c *tacitv1.Consultation) {
				ask(t, c)
				if _, err := consultation.Withdraw(c, leadP, "Rút", now.Add(2*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "control character in the reason", setup: ask, reason: "ok\x1b", wantKind: fault.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := opened(t)
			if tt.setup != nil {
				tt.setup(t, c)
			}
			agency, at := xayDung, now.Add(3*time.Hour)
			if tt.agency != "" {
				agency = tt.agency
			}
			if !tt.at.IsZero() {
				at = tt.at
			}
			before := clone(c)
			_, err := consultation.DecideExtension(cfg, c, agency, leadP, true, tt.reason, at)
			fe := wantFault(t, err, tt.wantKind, nil)
			if tt.wantWhy != "" && fe.Reason != tt.wantWhy {
				t.Errorf("reason = %q, want %q", fe.Reason, tt.wantWhy)
			}
			wantContains(t, "message", fe.Message, tt.wantMsg...)
			unchanged(t, before, c)
		})
	}
}

// An agency asks for more time, then replies anyway. Its request is never
// decided and, because it replied, never lapses. Once its deadline has
// passed, a grant must not move it: deadlines already passed never move, and
// a revision after the deadline must stay impossible.
func TestDecideExtensionAfterDeadlineOfRepliedAgency(t *testing.T) {
	cfg := consultation.DefaultConfig()
	c := opened(t)
	if _, err := consultation.RequestExtension(cfg, c, xayDung, xayDungP, consultation.ExtensionInput{ByWorkingDays: 5, Reason: needTime}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	mustReply(t, c, xayDung, agree(), now.Add(2*time.Hour))
	late := deadline5wd.Add(time.Hour)
	consultation.Materialize(c, late, noHeads, true)
	if st := consultation.Addressee(c, xayDung).GetExtensions()[0].GetState(); st == tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED {
		t.Errorf("BUG: after the deadline passed the undecided request is still %v (want it no longer awaiting a decision, e.g. LAPSED)", st)
	}

	_, err := consultation.DecideExtension(cfg, c, xayDung, leadP, true, "", late)

	if err == nil || fault.KindOf(err) != fault.FailedPrecondition {
		t.Errorf("BUG: DecideExtension(grant) at %s, after %s's deadline %s passed: err = %v, want FailedPrecondition; its deadline is now %s",
			late.In(loc), xayDung, deadline5wd.In(loc), err, consultation.Addressee(c, xayDung).GetDeadline().AsTime().In(loc))
	}
	if got := consultation.Addressee(c, xayDung).GetDeadline().AsTime(); !got.Equal(deadline5wd) {
		t.Errorf("BUG: a passed deadline moved from %s to %s", deadline5wd.In(loc), got.In(loc))
	}
	if _, err := consultation.Reply(cfg, c, xayDung, xayDungP, disagree("Đổi ý"), late.Add(time.Minute)); err == nil {
		t.Errorf("BUG: a revision at %s, after the deadline %s, was accepted", late.Add(time.Minute).In(loc), deadline5wd.In(loc))
	}
}
