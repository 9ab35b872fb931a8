package consultation_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
)

func TestMaterializeSilenceIsConsent(t *testing.T) {
	tests := []struct {
		name   string
		at     time.Time
		deemed bool
	}{
		{"one nanosecond before the deadline: still pending", deadline5wd.Add(-time.Nanosecond), false},
		{"exactly at the deadline: deemed", deadline5wd, true},
		{"one nanosecond after the deadline: deemed", deadline5wd.Add(time.Nanosecond), true},
		{"days later (service down, sweeper late): deemed, dated at the deadline", deadline5wd.Add(96 * time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := opened(t)
			heads := &fakeHeads{}
			evs := consultation.Materialize(c, tt.at, heads.headAt, true)
			if !tt.deemed {
				if len(evs) != 0 {
					t.Errorf("events = %v, want none", evs)
				}
				for _, a := range c.GetAddressees() {
					if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING || a.GetDeemedApproval() != nil {
						t.Errorf("%s: state %v, deemed %v; want pending", a.GetAgency(), a.GetState(), a.GetDeemedApproval())
					}
				}
				if len(heads.asked) != 0 {
					t.Errorf("HeadAt asked %v", heads.asked)
				}
				return
			}
			if len(evs) != 2 {
				t.Fatalf("got %d events, want one per addressee: %v", len(evs), evs)
			}
			for i, a := range c.GetAddressees() {
				if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
					t.Errorf("%s: state %v, want DEEMED_APPROVED", a.GetAgency(), a.GetState())
				}
				want := &tacitv1.DeemedApproval{
					EffectiveTime:   ts(deadline5wd),
					ResponsibleHead: "head of " + a.GetAgency() + " at 2026-03-10T00:00:00+07:00",
					Rule:            consultation.SilenceRule,
					Recorded:        true,
				}
				if diff := cmp.Diff(want, a.GetDeemedApproval(), protocmp.Transform()); diff != "" {
					t.Errorf("%s deemed approval (-want +got):\n%s", a.GetAgency(), diff)
				}
				wantEv := consultation.Event{
					Type: consultation.EventDeemedApproval, Agency: a.GetAgency(), Actor: consultation.SystemActor,
					Rule: consultation.SilenceRule, Time: deadline5wd, Deadline: deadline5wd,
				}
				got := evs[i]
				wantContains(t, "event details", got.Details, a.GetAgency(), "deemed to agree", want.ResponsibleHead)
				got.Details = ""
				if diff := cmp.Diff(wantEv, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
					t.Errorf("event (-want +got):\n%s", diff)
				}
			}
			if consultation.SystemActor != "system" {
				t.Errorf("SystemActor = %q, want \"system\"", consultation.SystemActor)
			}
			if c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
				t.Errorf("consultation state = %v; deemed approvals do not close it", c.GetState())
			}
			// A second pass at a later instant finds nothing more to do.
			before := clone(c)
			if evs := consultation.Materialize(c, tt.at.Add(time.Hour), heads.headAt, true); len(evs) != 0 {
				t.Errorf("second Materialize events = %v", evs)
			}
			unchanged(t, before, c)
		})
	}
}

// The head responsible for a deemed approval is the head at the deadline,
// not at opening and not at the moment the service notices.
func TestMaterializeResponsibleHeadAtTheDeadline(t *testing.T) {
	tests := []struct {
		name     string
		changeAt time.Time
		want     string
	}{
		{"head replaced before the deadline", deadline5wd.Add(-12 * time.Hour), "Nguyễn Thị Mới"},
		{"head replaced exactly at the deadline", deadline5wd, "Nguyễn Thị Mới"},
		{"head replaced after the deadline, before the sweep", deadline5wd.Add(time.Nanosecond), "Trần Thị Bình"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := testRegistry(t)
			reg, _, err := reg.Apply(&tacitv1.ImportRegistryRequest{Agencies: []*tacitv1.AgencyInput{{
				Code: xayDung, Name: "Sở Xây dựng", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL,
				Head: "Nguyễn Thị Mới", Mandate: []string{"land.planning"},
			}}}, tt.changeAt)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			c := opened(t)
			consultation.Materialize(c, deadline5wd.Add(72*time.Hour), reg.HeadAt, true)
			if got := consultation.Addressee(c, xayDung).GetDeemedApproval().GetResponsibleHead(); got != tt.want {
				t.Errorf("responsible head = %q, want %q", got, tt.want)
			}
			if got := consultation.Addressee(c, phuong).GetDeemedApproval().GetResponsibleHead(); got != "Phạm Văn Dũng" {
				t.Errorf("responsible head of %s = %q", phuong, got)
			}
		})
	}
}

func TestMaterializeLeavesRepliedAddresseesAlone(t *testing.T) {
	tests := []struct {
		name string
		in   consultation.ReplyInput
	}{
		{"agreed", agree()},
		{"disagreed", disagree("Trái quy hoạch phân khu 1/2000")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := opened(t)
			mustReply(t, c, xayDung, tt.in, now.Add(time.Hour))
			replied := proto.Clone(consultation.Addressee(c, xayDung)).(*tacitv1.Addressee)
			evs := consultation.Materialize(c, deadline5wd.Add(time.Hour), noHeads, true)
			if len(evs) != 1 || evs[0].Agency != phuong {
				t.Errorf("events = %v, want one deemed approval for %s", evs, phuong)
			}
			if diff := cmp.Diff(replied, consultation.Addressee(c, xayDung), protocmp.Transform()); diff != "" {
				t.Errorf("replied addressee changed (-before +after):\n%s", diff)
			}
			if consultation.Addressee(c, phuong).GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
				t.Errorf("silent addressee not deemed")
			}
		})
	}
}

func TestMaterializeLeavesClosedConsultationsAlone(t *testing.T) {
	tests := []struct {
		name  string
		close func(t *testing.T, c *tacitv1.Consultation)
	}{
		{"withdrawn", func(t *testing.T, c *tacitv1.Consultation) {
			if _, err := consultation.Withdraw(c, leadP, "Dự thảo được rút lại để chỉnh sửa", now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}},
		{"concluded", func(t *testing.T, c *tacitv1.Consultation) {
			// A concluded record never has pending addressees through the
			// rules; one read back from storage in that shape must still
			// not be touched.
			c.State = tacitv1.ConsultationState_CONSULTATION_STATE_CONCLUDED
			c.Conclusion = &tacitv1.Conclusion{Summary: "Kết luận", ConcludeTime: ts(now.Add(time.Hour)), ConcludedBy: leadP}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := opened(t)
			tt.close(t, c)
			before := clone(c)
			if evs := consultation.Materialize(c, deadline5wd.Add(time.Hour), noHeads, true); len(evs) != 0 {
				t.Errorf("events = %v, want none", evs)
			}
			unchanged(t, before, c)
			if eff := consultation.Effective(c, deadline5wd.Add(time.Hour), noHeads); !proto.Equal(eff, before) {
				t.Errorf("Effective changed a %s consultation", tt.name)
			}
		})
	}
}

func TestEffective(t *testing.T) {
	c := opened(t)
	mustReply(t, c, xayDung, agree(), now.Add(time.Hour))
	before := clone(c)
	heads := &fakeHeads{}

	eff := consultation.Effective(c, deadline5wd.Add(48*time.Hour), heads.headAt)

	unchanged(t, before, c)
	if eff == c {
		t.Fatal("Effective returned its input, not a copy")
	}
	a := consultation.Addressee(eff, phuong)
	if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
		t.Fatalf("effective state of %s = %v, want DEEMED_APPROVED", phuong, a.GetState())
	}
	if got := a.GetDeemedApproval().GetEffectiveTime().AsTime(); !got.Equal(deadline5wd) {
		t.Errorf("effective time = %s, want the deadline %s", got, deadline5wd)
	}
	if a.GetDeemedApproval().GetRecorded() {
		t.Errorf("recorded = true on a read that stored nothing")
	}
	if got := consultation.Addressee(eff, xayDung).GetState(); got != tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED {
		t.Errorf("replied addressee shows %v", got)
	}
	// Before the deadline the effective view is the record itself.
	if early := consultation.Effective(c, deadline5wd.Add(-time.Nanosecond), heads.headAt); !proto.Equal(early, c) {
		t.Errorf("Effective before the deadline differs from the record")
	}
}

func TestMaterializeExtensions(t *testing.T) {
	ask := consultation.ExtensionInput{ByWorkingDays: 2, Reason: "Cần lấy ý kiến các phòng chuyên môn"}
	tests := []struct {
		name       string
		decide     *bool // nil: undecided
		at         time.Time
		wantState  tacitv1.AddresseeState
		wantExt    tacitv1.ExtensionState
		wantEvents int
	}{
		{"undecided request lapses when the deadline passes", nil, deadline5wd,
			tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED, tacitv1.ExtensionState_EXTENSION_STATE_LAPSED, 1},
		{"undecided request stands before the deadline", nil, deadline5wd.Add(-time.Nanosecond),
			tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING, tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED, 0},
		{"granted extension: the original deadline no longer applies", boolp(true), deadline5wd.Add(time.Hour),
			tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING, tacitv1.ExtensionState_EXTENSION_STATE_GRANTED, 0},
		{"refused extension: the original deadline applies", boolp(false), deadline5wd,
			tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED, tacitv1.ExtensionState_EXTENSION_STATE_REFUSED, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := consultation.DefaultConfig()
			c := opened(t, func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{xayDung} })
			if _, err := consultation.RequestExtension(cfg, c, xayDung, xayDungP, ask, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if tt.decide != nil {
				if _, err := consultation.DecideExtension(cfg, c, xayDung, leadP, *tt.decide, "", now.Add(2*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			evs := consultation.Materialize(c, tt.at, noHeads, true)
			a := consultation.Addressee(c, xayDung)
			if a.GetState() != tt.wantState || a.GetExtensions()[0].GetState() != tt.wantExt || len(evs) != tt.wantEvents {
				t.Errorf("state %v, extension %v, %d events; want %v, %v, %d",
					a.GetState(), a.GetExtensions()[0].GetState(), len(evs), tt.wantState, tt.wantExt, tt.wantEvents)
			}
		})
	}
}

func TestNextDeadline(t *testing.T) {
	cfg := consultation.DefaultConfig()
	c := opened(t)
	if got, ok := consultation.NextDeadline(c); !ok || !got.Equal(deadline5wd) {
		t.Errorf("NextDeadline = %v, %v; want %v", got, ok, deadline5wd)
	}
	if _, err := consultation.RequestExtension(cfg, c, xayDung, xayDungP, consultation.ExtensionInput{ByWorkingDays: 2, Reason: "Cần thêm thời gian"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := consultation.DecideExtension(cfg, c, xayDung, leadP, true, "", now); err != nil {
		t.Fatal(err)
	}
	mustReply(t, c, phuong, agree(), now.Add(time.Hour))
	// Only xayDung is pending, with its extended deadline.
	want := consultation.Addressee(c, xayDung).GetDeadline().AsTime()
	if got, ok := consultation.NextDeadline(c); !ok || !got.Equal(want) || !got.After(deadline5wd) {
		t.Errorf("NextDeadline = %v, %v; want %v", got, ok, want)
	}
	mustReply(t, c, xayDung, agree(), now.Add(time.Hour))
	if got, ok := consultation.NextDeadline(c); ok {
		t.Errorf("NextDeadline with nothing pending = %v, true", got)
	}
}
