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

func TestReplyRecorded(t *testing.T) {
	at := now.Add(26 * time.Hour) // Tuesday 11:00: one working day after the opening day
	tests := []struct {
		name string
		in   consultation.ReplyInput
		want *tacitv1.Reply
	}{
		{
			name: "plain agreement needs no comment",
			in:   consultation.ReplyInput{Position: tacitv1.Position_POSITION_AGREE, SignerName: "Trần Thị Bình", SignerRole: tacitv1.SignerRole_SIGNER_ROLE_HEAD},
			want: &tacitv1.Reply{Revision: 1, Position: tacitv1.Position_POSITION_AGREE,
				Signer: &tacitv1.Signer{Name: "Trần Thị Bình", Role: tacitv1.SignerRole_SIGNER_ROLE_HEAD}, ReplyTime: ts(at), RepliedBy: xayDungP, WorkingDaysTaken: 1},
		},
		{
			name: "agreement with comments, signed by a deputy",
			in: consultation.ReplyInput{Position: tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, Comment: "Đề nghị bổ sung khoản 3",
				SignerName: "Lê Văn Cường", SignerRole: tacitv1.SignerRole_SIGNER_ROLE_DEPUTY},
			want: &tacitv1.Reply{Revision: 1, Position: tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, Comment: "Đề nghị bổ sung khoản 3",
				Signer: &tacitv1.Signer{Name: "Lê Văn Cường", Role: tacitv1.SignerRole_SIGNER_ROLE_DEPUTY}, ReplyTime: ts(at), RepliedBy: xayDungP, WorkingDaysTaken: 1},
		},
		{
			name: "disagreement with reasons; text trimmed and in NFC",
			in: consultation.ReplyInput{Position: tacitv1.Position_POSITION_DISAGREE, Comment: "  Tra\u0301i quy hoạch\n",
				SignerName: " Trần Thị Bình ", SignerRole: tacitv1.SignerRole_SIGNER_ROLE_HEAD},
			want: &tacitv1.Reply{Revision: 1, Position: tacitv1.Position_POSITION_DISAGREE, Comment: "Trái quy hoạch",
				Signer: &tacitv1.Signer{Name: "Trần Thị Bình", Role: tacitv1.SignerRole_SIGNER_ROLE_HEAD}, ReplyTime: ts(at), RepliedBy: xayDungP, WorkingDaysTaken: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := opened(t)
			evs, err := consultation.Reply(consultation.DefaultConfig(), c, xayDung, xayDungP, tt.in, at)
			if err != nil {
				t.Fatalf("Reply: %v", err)
			}
			a := consultation.Addressee(c, xayDung)
			if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED {
				t.Errorf("state = %v, want REPLIED", a.GetState())
			}
			if diff := cmp.Diff(tt.want, a.GetReply(), protocmp.Transform()); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]*tacitv1.Reply{tt.want}, a.GetRevisions(), protocmp.Transform()); diff != "" {
				t.Errorf("revisions (-want +got):\n%s", diff)
			}
			if !c.GetUpdateTime().AsTime().Equal(at) {
				t.Errorf("update time = %v, want %v", c.GetUpdateTime().AsTime(), at)
			}
			if got := consultation.Addressee(c, phuong).GetState(); got != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
				t.Errorf("the other addressee became %v", got)
			}
			if len(evs) != 1 || evs[0].Type != consultation.EventReplied || evs[0].Actor != xayDungP || evs[0].Agency != xayDung || !evs[0].Time.Equal(at) {
				t.Errorf("events = %+v", evs)
			}
		})
	}
}

func TestReplyRevisionsKeptInOrder(t *testing.T) {
	c := opened(t)
	cfg := consultation.DefaultConfig()
	inputs := []consultation.ReplyInput{
		agree(),
		disagree("Chưa phù hợp quy hoạch"),
		{Position: tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, Comment: "Đồng ý, đề nghị sửa Điều 2", SignerName: "Trần Thị Bình", SignerRole: tacitv1.SignerRole_SIGNER_ROLE_HEAD},
	}
	wantTypes := []string{consultation.EventReplied, consultation.EventRevised, consultation.EventRevised}
	for i, in := range inputs {
		at := now.Add(time.Duration(i+1) * time.Hour)
		evs, err := consultation.Reply(cfg, c, xayDung, xayDungP, in, at)
		if err != nil {
			t.Fatalf("reply %d: %v", i+1, err)
		}
		if len(evs) != 1 || evs[0].Type != wantTypes[i] {
			t.Errorf("reply %d events = %+v, want type %s", i+1, evs, wantTypes[i])
		}
	}
	a := consultation.Addressee(c, xayDung)
	if len(a.GetRevisions()) != len(inputs) {
		t.Fatalf("%d revisions kept, want %d", len(a.GetRevisions()), len(inputs))
	}
	for i, r := range a.GetRevisions() {
		if r.GetRevision() != int32(i+1) || r.GetPosition() != inputs[i].Position || !r.GetReplyTime().AsTime().Equal(now.Add(time.Duration(i+1)*time.Hour)) {
			t.Errorf("revision %d = %v", i+1, r)
		}
	}
	if diff := cmp.Diff(a.GetRevisions()[2], a.GetReply(), protocmp.Transform()); diff != "" {
		t.Errorf("reply in force is not the latest revision (-latest +reply):\n%s", diff)
	}
}

func TestReplyInvalid(t *testing.T) {
	ok := agree()
	with := func(f func(*consultation.ReplyInput)) consultation.ReplyInput {
		in := ok
		f(&in)
		return in
	}
	tests := []struct {
		name string
		in   consultation.ReplyInput
		want []sv
	}{
		{"position required", with(func(in *consultation.ReplyInput) { in.Position = tacitv1.Position_POSITION_UNSPECIFIED }), []sv{{"position", "REQUIRED"}}},
		{"unknown position", with(func(in *consultation.ReplyInput) { in.Position = 42 }), []sv{{"position", "REQUIRED"}}},
		{"agree with comments without a comment", with(func(in *consultation.ReplyInput) {
			in.Position = tacitv1.Position_POSITION_AGREE_WITH_COMMENTS
		}), []sv{{"comment", "REQUIRED"}}},
		{"disagree without reasons", with(func(in *consultation.ReplyInput) { in.Position = tacitv1.Position_POSITION_DISAGREE }), []sv{{"comment", "REQUIRED"}}},
		{"disagree with a blank comment", with(func(in *consultation.ReplyInput) {
			in.Position, in.Comment = tacitv1.Position_POSITION_DISAGREE, " \n\t"
		}), []sv{{"comment", "REQUIRED"}}},
		{"signer name required", with(func(in *consultation.ReplyInput) { in.SignerName = "" }), []sv{{"signer.name", "REQUIRED"}}},
		{"signer role required", with(func(in *consultation.ReplyInput) { in.SignerRole = tacitv1.SignerRole_SIGNER_ROLE_UNSPECIFIED }), []sv{{"signer.role", "REQUIRED"}}},
		{"unknown signer role", with(func(in *consultation.ReplyInput) { in.SignerRole = 7 }), []sv{{"signer.role", "REQUIRED"}}},
		{"oversize comment", with(func(in *consultation.ReplyInput) { in.Comment = strings.Repeat("ý", consultation.MaxText+1) }), []sv{{"comment", "TOO_LONG"}}},
		{"oversize signer name", with(func(in *consultation.ReplyInput) { in.SignerName = strings.Repeat("n", consultation.MaxName+1) }), []sv{{"signer.name", "TOO_LONG"}}},
		{"invalid UTF-8 comment", with(func(in *consultation.ReplyInput) { in.Comment = "\xff" }), []sv{{"comment", "INVALID_UTF8"}}},
		{"control character in the signer name", with(func(in *consultation.ReplyInput) { in.SignerName = "Trần\x08Bình" }), []sv{{"signer.name", "CONTROL_CHARACTER"}}},
		{"every problem at once", consultation.ReplyInput{Position: tacitv1.Position_POSITION_DISAGREE},
			[]sv{{"comment", "REQUIRED"}, {"signer.name", "REQUIRED"}, {"signer.role", "REQUIRED"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := opened(t)
			before := clone(c)
			evs, err := consultation.Reply(consultation.DefaultConfig(), c, xayDung, xayDungP, tt.in, now.Add(time.Hour))
			wantFault(t, err, fault.Invalid, tt.want)
			if evs != nil {
				t.Errorf("events on a rejected reply: %v", evs)
			}
			unchanged(t, before, c)
		})
	}
}

func TestReplyDeadline(t *testing.T) {
	cfg := consultation.DefaultConfig()
	const passedAt = "2026-03-10 00:00:00 +07:00"
	tests := []struct {
		name        string
		firstAt     time.Time // zero: no earlier reply
		at          time.Time
		materialize bool
		wantErr     bool
		wantInMsg   []string
	}{
		{name: "one nanosecond before the deadline counts", at: deadline5wd.Add(-time.Nanosecond)},
		{name: "exactly at the deadline is too late", at: deadline5wd, wantErr: true,
			wantInMsg: []string{passedAt, "deemed to agree", xayDung}},
		{name: "a day late", at: deadline5wd.Add(24 * time.Hour), wantErr: true,
			wantInMsg: []string{passedAt, "deemed to agree"}},
		{name: "late, after the sweeper recorded the deemed approval", at: deadline5wd.Add(time.Hour), materialize: true, wantErr: true,
			wantInMsg: []string{passedAt, "deemed to agree"}},
		{name: "a revision one nanosecond before the deadline counts", firstAt: now.Add(time.Hour), at: deadline5wd.Add(-time.Nanosecond)},
		{name: "a revision at the deadline is refused; the reply stands", firstAt: now.Add(time.Hour), at: deadline5wd, wantErr: true,
			wantInMsg: []string{passedAt, "revision 1", "can no longer be changed"}},
		{name: "a revision after the deadline, after materializing", firstAt: now.Add(time.Hour), at: deadline5wd.Add(time.Minute), materialize: true, wantErr: true,
			wantInMsg: []string{passedAt, "revision 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := opened(t)
			if !tt.firstAt.IsZero() {
				mustReply(t, c, xayDung, agree(), tt.firstAt)
			}
			if tt.materialize {
				consultation.Materialize(c, tt.at, noHeads, true)
			}
			before := clone(c)
			_, err := consultation.Reply(cfg, c, xayDung, xayDungP, disagree("Không đồng ý"), tt.at)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Reply: %v", err)
				}
				if got := consultation.Addressee(c, xayDung).GetReply().GetPosition(); got != tacitv1.Position_POSITION_DISAGREE {
					t.Errorf("reply in force = %v", got)
				}
				return
			}
			fe := wantFault(t, err, fault.FailedPrecondition, nil)
			if fe.Reason != "DEADLINE_PASSED" {
				t.Errorf("reason = %q, want DEADLINE_PASSED", fe.Reason)
			}
			wantContains(t, "message", fe.Message, tt.wantInMsg...)
			unchanged(t, before, c)
		})
	}
}

func TestReplyRefused(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, c *tacitv1.Consultation)
		agency   string
		wantKind fault.Kind
		wantMsg  string
	}{
		{name: "the lead is not consulted", agency: lead, wantKind: fault.PermissionDenied, wantMsg: lead},
		{name: "an unrelated agency", agency: unrelated, wantKind: fault.PermissionDenied, wantMsg: unrelated},
		{name: "withdrawn consultation", agency: xayDung, wantKind: fault.FailedPrecondition, wantMsg: "withdrawn",
			setup: func(t *testing.T, c *tacitv1.Consultation) {
				if _, err := consultation.Withdraw(c, leadP, "Rút để chỉnh sửa", now.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "concluded consultation", agency: xayDung, wantKind: fault.FailedPrecondition, wantMsg: "concluded",
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
			_, err := consultation.Reply(consultation.DefaultConfig(), c, tt.agency, "agency:"+tt.agency, agree(), now.Add(3*time.Hour))
			fe := wantFault(t, err, tt.wantKind, nil)
			wantContains(t, "message", fe.Message, tt.wantMsg)
			unchanged(t, before, c)
		})
	}
}
