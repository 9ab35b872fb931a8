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

func TestWithdraw(t *testing.T) {
	at := now.Add(3 * time.Hour)
	tests := []struct {
		name     string
		setup    func(t *testing.T, c *tacitv1.Consultation)
		reason   string
		wantKind fault.Kind // Internal means success
		want     []sv
		wantMsg  string
	}{
		{name: "withdrawn with a reason", reason: "  Dự thảo cần chỉnh sửa lớn "},
		{name: "withdrawn after some replies and a deemed approval", reason: "Không còn cần thiết",
			setup: func(t *testing.T, c *tacitv1.Consultation) {
				mustReply(t, c, xayDung, agree(), now.Add(time.Hour))
				consultation.Materialize(c, deadline5wd, noHeads, true)
			}},
		{name: "reason required", reason: "", wantKind: fault.Invalid, want: []sv{{"reason", "REQUIRED"}}},
		{name: "blank reason", reason: " \n ", wantKind: fault.Invalid, want: []sv{{"reason", "REQUIRED"}}},
		{name: "invalid UTF-8 reason", reason: "\xfe", wantKind: fault.Invalid, want: []sv{{"reason", "INVALID_UTF8"}}},
		{name: "not twice", reason: "Lần hai", wantKind: fault.FailedPrecondition, wantMsg: "withdrawn",
			setup: func(t *testing.T, c *tacitv1.Consultation) {
				if _, err := consultation.Withdraw(c, leadP, "Lần một", now.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "not once concluded", reason: "Muộn", wantKind: fault.FailedPrecondition, wantMsg: "concluded",
			setup: func(t *testing.T, c *tacitv1.Consultation) {
				mustReply(t, c, xayDung, agree(), now.Add(time.Hour))
				mustReply(t, c, phuong, agree(), now.Add(time.Hour))
				if _, err := consultation.Conclude(consultation.DefaultConfig(), c, leadP, consultation.ConcludeInput{Summary: "Thống nhất"}, now.Add(2*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := opened(t)
			if tt.setup != nil {
				tt.setup(t, c)
			}
			before := clone(c)
			evs, err := consultation.Withdraw(c, leadP, tt.reason, at)
			if tt.wantKind != fault.Internal {
				fe := wantFault(t, err, tt.wantKind, tt.want)
				if tt.wantMsg != "" {
					wantContains(t, "message", fe.Message, tt.wantMsg)
				}
				unchanged(t, before, c)
				return
			}
			if err != nil {
				t.Fatalf("Withdraw: %v", err)
			}
			if c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_WITHDRAWN {
				t.Errorf("state = %v", c.GetState())
			}
			want := &tacitv1.Withdrawal{Reason: strings.TrimSpace(tt.reason), WithdrawTime: ts(at), WithdrawnBy: leadP}
			if diff := cmp.Diff(want, c.GetWithdrawal(), protocmp.Transform()); diff != "" {
				t.Errorf("withdrawal (-want +got):\n%s", diff)
			}
			if len(evs) != 1 || evs[0].Type != consultation.EventWithdrawn || evs[0].Actor != leadP || !evs[0].Time.Equal(at) {
				t.Errorf("events = %+v", evs)
			}
			// Replies already given stay as they were.
			for _, a := range before.GetAddressees() {
				if got := consultation.Addressee(c, a.GetAgency()); got.GetState() != a.GetState() {
					t.Errorf("%s went from %v to %v", a.GetAgency(), a.GetState(), got.GetState())
				}
			}
		})
	}
}

func TestConclude(t *testing.T) {
	cfg := consultation.DefaultConfig()
	twoOptions := func(r *tacitv1.OpenConsultationRequest) {
		r.Options = []string{"Phương án 1: giữ nguyên", "Phương án 2: điều chỉnh"}
	}
	oneOption := func(r *tacitv1.OpenConsultationRequest) { r.Options = []string{"Phương án duy nhất"} }
	comments := consultation.ReplyInput{Position: tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, Comment: "Bổ sung số liệu", SignerName: "Phạm Văn Dũng", SignerRole: tacitv1.SignerRole_SIGNER_ROLE_HEAD}
	type replies map[string]consultation.ReplyInput
	tests := []struct {
		name     string
		mod      func(*tacitv1.OpenConsultationRequest)
		replies  replies
		at       time.Time // when the lead concludes; materialized first
		in       consultation.ConcludeInput
		wantKind fault.Kind // Internal means success
		want     []sv
		wantWhy  string
		wantMsg  []string
	}{
		{name: "refused while every addressee is pending", in: consultation.ConcludeInput{Summary: "Kết luận"},
			wantKind: fault.FailedPrecondition, wantWhy: "REPLIES_PENDING",
			want:    []sv{{xayDung, "REPLY_PENDING"}, {phuong, "REPLY_PENDING"}},
			wantMsg: []string{"pending"}},
		{name: "refused while one addressee is pending", replies: replies{xayDung: agree()}, in: consultation.ConcludeInput{Summary: "Kết luận"},
			wantKind: fault.FailedPrecondition, wantWhy: "REPLIES_PENDING", want: []sv{{phuong, "REPLY_PENDING"}}},
		{name: "refused one nanosecond before the last deadline", replies: replies{xayDung: agree()}, at: deadline5wd.Add(-time.Nanosecond),
			in: consultation.ConcludeInput{Summary: "Kết luận"}, wantKind: fault.FailedPrecondition, want: []sv{{phuong, "REPLY_PENDING"}}},
		{name: "all replied", replies: replies{xayDung: agree(), phuong: comments}, in: consultation.ConcludeInput{Summary: "Thống nhất ban hành"}},
		{name: "one replied, the other deemed at its deadline", replies: replies{xayDung: agree()}, at: deadline5wd,
			in: consultation.ConcludeInput{Summary: "Thống nhất ban hành"}},
		{name: "all deemed", at: deadline5wd.Add(24 * time.Hour), in: consultation.ConcludeInput{Summary: "Thống nhất ban hành"}},
		{name: "agreement with comments needs no proposal", mod: twoOptions, replies: replies{xayDung: comments, phuong: comments},
			in: consultation.ConcludeInput{Summary: "Tiếp thu ý kiến"}},
		{name: "disagreement requires a proposal", replies: replies{xayDung: disagree("Trái quy hoạch"), phuong: agree()},
			in: consultation.ConcludeInput{Summary: "Còn ý kiến khác nhau"}, wantKind: fault.FailedPrecondition, wantWhy: "PROPOSAL_REQUIRED",
			want: []sv{{"proposal", "PROPOSAL_REQUIRED"}}, wantMsg: []string{"differ"}},
		{name: "disagreement with a proposal", replies: replies{xayDung: disagree("Trái quy hoạch"), phuong: agree()},
			in: consultation.ConcludeInput{Summary: "Còn ý kiến khác nhau", Proposal: "Trình UBND tỉnh theo phương án của Sở"}},
		{name: "disagreement and a deemed approval", replies: replies{xayDung: disagree("Trái quy hoạch")}, at: deadline5wd,
			in:       consultation.ConcludeInput{Summary: "Còn ý kiến khác nhau"},
			wantKind: fault.FailedPrecondition, want: []sv{{"proposal", "PROPOSAL_REQUIRED"}}},
		{name: "two options and disagreement require the chosen option", mod: twoOptions,
			replies:  replies{xayDung: disagree("Trái quy hoạch"), phuong: agree()},
			in:       consultation.ConcludeInput{Summary: "Còn ý kiến khác nhau", Proposal: "Trình phương án 2"},
			wantKind: fault.FailedPrecondition, wantWhy: "PROPOSAL_REQUIRED", want: []sv{{"chosen_option", "OPTION_REQUIRED"}}},
		{name: "two options and disagreement, neither proposal nor option", mod: twoOptions,
			replies:  replies{xayDung: disagree("Trái quy hoạch"), phuong: agree()},
			in:       consultation.ConcludeInput{Summary: "Còn ý kiến khác nhau"},
			wantKind: fault.FailedPrecondition, want: []sv{{"proposal", "PROPOSAL_REQUIRED"}, {"chosen_option", "OPTION_REQUIRED"}}},
		{name: "two options and disagreement, with proposal and chosen option", mod: twoOptions,
			replies: replies{xayDung: disagree("Trái quy hoạch"), phuong: agree()},
			in:      consultation.ConcludeInput{Summary: "Còn ý kiến khác nhau", Proposal: "Trình phương án 2", ChosenOption: 2}},
		{name: "two options without disagreement need no chosen option", mod: twoOptions, replies: replies{xayDung: agree(), phuong: agree()},
			in: consultation.ConcludeInput{Summary: "Thống nhất"}},
		{name: "a single option needs no choice", mod: oneOption, replies: replies{xayDung: disagree("Không đồng ý"), phuong: agree()},
			in: consultation.ConcludeInput{Summary: "Còn ý kiến", Proposal: "Giữ phương án"}},
		{name: "chosen option beyond the options", mod: twoOptions, replies: replies{xayDung: agree(), phuong: agree()},
			in: consultation.ConcludeInput{Summary: "Thống nhất", ChosenOption: 3}, wantKind: fault.Invalid, want: []sv{{"chosen_option", "OUT_OF_RANGE"}}},
		{name: "chosen option without options", replies: replies{xayDung: agree(), phuong: agree()},
			in: consultation.ConcludeInput{Summary: "Thống nhất", ChosenOption: 1}, wantKind: fault.Invalid, want: []sv{{"chosen_option", "OUT_OF_RANGE"}}},
		{name: "negative chosen option", mod: twoOptions, replies: replies{xayDung: agree(), phuong: agree()},
			in: consultation.ConcludeInput{Summary: "Thống nhất", ChosenOption: -1}, wantKind: fault.Invalid, want: []sv{{"chosen_option", "OUT_OF_RANGE"}}},
		{name: "summary required", replies: replies{xayDung: agree(), phuong: agree()},
			in: consultation.ConcludeInput{Summary: "  "}, wantKind: fault.Invalid, want: []sv{{"summary", "REQUIRED"}}},
		{name: "input problems are reported before pending replies", mod: twoOptions,
			in: consultation.ConcludeInput{ChosenOption: 5}, wantKind: fault.Invalid, want: []sv{{"summary", "REQUIRED"}, {"chosen_option", "OUT_OF_RANGE"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mods []func(*tacitv1.OpenConsultationRequest)
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			c := opened(t, mods...)
			for _, code := range []string{xayDung, phuong} {
				if in, ok := tt.replies[code]; ok {
					mustReply(t, c, code, in, now.Add(time.Hour))
				}
			}
			at := now.Add(2 * time.Hour)
			if !tt.at.IsZero() {
				at = tt.at
			}
			consultation.Materialize(c, at, noHeads, true)
			before := clone(c)
			evs, err := consultation.Conclude(cfg, c, leadP, tt.in, at)
			if tt.wantKind != fault.Internal {
				fe := wantFault(t, err, tt.wantKind, tt.want)
				if tt.wantWhy != "" && fe.Reason != tt.wantWhy {
					t.Errorf("reason = %q, want %q", fe.Reason, tt.wantWhy)
				}
				wantContains(t, "message", fe.Message, tt.wantMsg...)
				unchanged(t, before, c)
				return
			}
			if err != nil {
				t.Fatalf("Conclude: %v", err)
			}
			if c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_CONCLUDED {
				t.Errorf("state = %v", c.GetState())
			}
			want := &tacitv1.Conclusion{Summary: tt.in.Summary, Proposal: tt.in.Proposal, ChosenOption: tt.in.ChosenOption, ConcludeTime: ts(at), ConcludedBy: leadP}
			if diff := cmp.Diff(want, c.GetConclusion(), protocmp.Transform()); diff != "" {
				t.Errorf("conclusion (-want +got):\n%s", diff)
			}
			if len(evs) != 1 || evs[0].Type != consultation.EventConcluded || evs[0].Actor != leadP {
				t.Errorf("events = %+v", evs)
			}
		})
	}
}

func TestConcludePendingNamesEachAgency(t *testing.T) {
	c := opened(t)
	_, err := consultation.Conclude(consultation.DefaultConfig(), c, leadP, consultation.ConcludeInput{Summary: "Kết luận"}, now.Add(time.Hour))
	fe := wantFault(t, err, fault.FailedPrecondition, nil)
	for _, v := range fe.Violations {
		wantContains(t, "description", v.Description, v.Subject, "2026-03-10 00:00:00 +07:00")
	}
	wantContains(t, "error text", err.Error(), xayDung, phuong)
}

func TestConcludeClosed(t *testing.T) {
	tests := []struct {
		name    string
		close   func(t *testing.T, c *tacitv1.Consultation)
		wantMsg string
	}{
		{"withdrawn", func(t *testing.T, c *tacitv1.Consultation) {
			if _, err := consultation.Withdraw(c, leadP, "Rút", now.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}, "withdrawn"},
		{"already concluded", func(t *testing.T, c *tacitv1.Consultation) {
			if _, err := consultation.Conclude(consultation.DefaultConfig(), c, leadP, consultation.ConcludeInput{Summary: "Lần một"}, now.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}, "concluded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := opened(t)
			mustReply(t, c, xayDung, agree(), now.Add(time.Hour))
			mustReply(t, c, phuong, agree(), now.Add(time.Hour))
			tt.close(t, c)
			before := clone(c)
			_, err := consultation.Conclude(consultation.DefaultConfig(), c, leadP, consultation.ConcludeInput{Summary: "Lần hai"}, now.Add(3*time.Hour))
			fe := wantFault(t, err, fault.FailedPrecondition, nil)
			wantContains(t, "message", fe.Message, tt.wantMsg)
			unchanged(t, before, c)
		})
	}
}
