package consultation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/fault"
)

func TestOpenRecordsTheConsultation(t *testing.T) {
	req := request(func(r *tacitv1.OpenConsultationRequest) {
		r.Options = []string{"Phương án 1: giữ nguyên", "Phương án 2: tăng 10%"}
	})
	got, err := consultation.Open(consultation.DefaultConfig(), testRegistry(t), lead, leadP, req, now)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	// The reminder falls at the start of the last working day, Monday 9 March.
	remind := time.Date(2026, 3, 9, 0, 0, 0, 0, calendar.Location())
	want := &tacitv1.Consultation{
		Title:        "Dự thảo Quyết định ban hành Bảng giá đất năm 2026",
		Summary:      "Xin ý kiến về bảng giá đất áp dụng từ 01/01/2026.",
		LegalBasis:   "Luật Đất đai 2024, Điều 159",
		Fields:       []string{"land"},
		Lead:         lead,
		LeadName:     "Sở Nông nghiệp và Môi trường",
		State:        tacitv1.ConsultationState_CONSULTATION_STATE_OPEN,
		CreateTime:   ts(now),
		UpdateTime:   ts(now),
		Deadline:     ts(deadline5wd),
		DeadlineRule: &tacitv1.DeadlineRule{From: ts(now), WorkingDays: 5, CalendarVersion: wdVersion},
		Options:      []string{"Phương án 1: giữ nguyên", "Phương án 2: tăng 10%"},
		OpenedBy:     leadP,
		Addressees: []*tacitv1.Addressee{
			{Agency: xayDung, AgencyName: "Sở Xây dựng", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL,
				State: tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING, Deadline: ts(deadline5wd), ReminderTime: ts(remind)},
			{Agency: phuong, AgencyName: "UBND phường Bến Nghé", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_LOCAL,
				State: tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING, Deadline: ts(deadline5wd), ReminderTime: ts(remind)},
		},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("Open (-want +got):\n%s", diff)
	}
}

func TestOpenDeadline(t *testing.T) {
	fri := time.Date(2026, 3, 6, 16, 0, 0, 0, loc)
	tests := []struct {
		name   string
		cfg    func(*consultation.Config)
		at     time.Time
		mod    func(*tacitv1.OpenConsultationRequest)
		want   time.Time
		rule   *tacitv1.DeadlineRule
		margin string
	}{
		{
			name: "5 working days from Monday 09:00 end at the close of the next Monday",
			at:   now, mod: withWorkingDays(5), want: deadline5wd,
			rule: &tacitv1.DeadlineRule{From: ts(now), WorkingDays: 5, CalendarVersion: wdVersion},
		},
		{
			name: "1 working day: the opening day itself never counts",
			at:   now, mod: withWorkingDays(1), want: time.Date(2026, 3, 4, 0, 0, 0, 0, loc),
			rule: &tacitv1.DeadlineRule{From: ts(now), WorkingDays: 1, CalendarVersion: wdVersion},
		},
		{
			name: "opened late on Friday, the weekend is skipped",
			at:   fri, mod: withWorkingDays(1), want: time.Date(2026, 3, 10, 0, 0, 0, 0, loc),
			rule: &tacitv1.DeadlineRule{From: ts(fri), WorkingDays: 1, CalendarVersion: wdVersion},
		},
		{
			name: "30 April and 1 May are not working days",
			at:   time.Date(2026, 4, 28, 10, 0, 0, 0, loc), mod: withWorkingDays(3),
			// Wed 29 Apr (1), Thu 30 Apr and Fri 1 May off, weekend, Mon 4 (2), Tue 5 (3).
			want: time.Date(2026, 5, 6, 0, 0, 0, 0, loc),
			rule: &tacitv1.DeadlineRule{From: ts(time.Date(2026, 4, 28, 10, 0, 0, 0, loc)), WorkingDays: 3, CalendarVersion: wdVersion},
		},
		{
			name: "the opening day is the local day, not the UTC day",
			// 17:30 UTC on Monday is 00:30 on Tuesday in Hà Nội.
			at: time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC), mod: withWorkingDays(1),
			want: time.Date(2026, 3, 5, 0, 0, 0, 0, loc),
			rule: &tacitv1.DeadlineRule{From: ts(time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)), WorkingDays: 1, CalendarVersion: wdVersion},
		},
		{
			name: "a duration is added to now",
			at:   now, mod: withDuration(36 * time.Hour), want: now.Add(36 * time.Hour),
			rule: &tacitv1.DeadlineRule{From: ts(now), Duration: durationpb.New(36 * time.Hour)},
		},
		{
			name: "a duration of exactly the minimum notice is accepted",
			at:   now, mod: withDuration(time.Hour), want: now.Add(time.Hour),
			rule: &tacitv1.DeadlineRule{From: ts(now), Duration: durationpb.New(time.Hour)},
		},
		{
			name: "with no minimum notice a one-second deadline is accepted",
			cfg:  func(c *consultation.Config) { c.MinNotice = 0 },
			at:   now, mod: withDuration(time.Second), want: now.Add(time.Second),
			rule: &tacitv1.DeadlineRule{From: ts(now), Duration: durationpb.New(time.Second)},
		},
		{
			name: "an explicit instant is kept as given",
			at:   now, mod: withDeadline(time.Date(2026, 3, 20, 17, 0, 0, 0, loc)),
			want: time.Date(2026, 3, 20, 17, 0, 0, 0, loc),
			rule: &tacitv1.DeadlineRule{From: ts(now), Explicit: true},
		},
		{
			name: "no deadline: the server default of 15 working days applies",
			at:   now, mod: func(r *tacitv1.OpenConsultationRequest) { r.DeadlineSpec = nil },
			// 3,4,5,6, 9..13, 16..20, 23 March: the 15th working day is Monday 23 March.
			want: time.Date(2026, 3, 24, 0, 0, 0, 0, loc),
			rule: &tacitv1.DeadlineRule{From: ts(now), WorkingDays: 15, ServerDefault: true, CalendarVersion: wdVersion},
		},
		{
			name: "no deadline: a configured server default applies",
			cfg:  func(c *consultation.Config) { c.DefaultWorkingDays = 3 },
			at:   now, mod: func(r *tacitv1.OpenConsultationRequest) { r.DeadlineSpec = nil },
			want: time.Date(2026, 3, 6, 0, 0, 0, 0, loc),
			rule: &tacitv1.DeadlineRule{From: ts(now), WorkingDays: 3, ServerDefault: true, CalendarVersion: wdVersion},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := consultation.DefaultConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			c, err := consultation.Open(cfg, testRegistry(t), lead, leadP, request(tt.mod), tt.at)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got := c.GetDeadline().AsTime(); !got.Equal(tt.want) {
				t.Errorf("deadline = %s, want %s", got.In(loc), tt.want.In(loc))
			}
			for _, a := range c.GetAddressees() {
				if got := a.GetDeadline().AsTime(); !got.Equal(tt.want) {
					t.Errorf("deadline of %s = %s, want %s", a.GetAgency(), got.In(loc), tt.want.In(loc))
				}
			}
			if diff := cmp.Diff(tt.rule, c.GetDeadlineRule(), protocmp.Transform()); diff != "" {
				t.Errorf("deadline rule (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOpenNormalisesInput covers input that is accepted after cleaning.
func TestOpenNormalisesInput(t *testing.T) {
	nfd := "D\u01b0\u0323 tha\u0309o" // "Dự thảo" decomposed: ư + combining dot below, a + combining hook
	tests := []struct {
		name  string
		mod   func(*tacitv1.OpenConsultationRequest)
		check func(t *testing.T, c *tacitv1.Consultation)
	}{
		{
			name: "text is trimmed and stored in NFC",
			mod: func(r *tacitv1.OpenConsultationRequest) {
				r.Title = "  " + nfd + "\n"
				r.LegalBasis = "\tLuật Đất đai 2024 "
			},
			check: func(t *testing.T, c *tacitv1.Consultation) {
				if c.GetTitle() != "Dự thảo" {
					t.Errorf("title = %q (% x), want NFC %q", c.GetTitle(), c.GetTitle(), "Dự thảo")
				}
				if c.GetLegalBasis() != "Luật Đất đai 2024" {
					t.Errorf("legal basis = %q", c.GetLegalBasis())
				}
			},
		},
		{
			name: "a 500-character Vietnamese title is within the limit (characters, not bytes)",
			mod:  func(r *tacitv1.OpenConsultationRequest) { r.Title = strings.Repeat("ệ", consultation.MaxTitle) },
			check: func(t *testing.T, c *tacitv1.Consultation) {
				if c.GetTitle() != strings.Repeat("ệ", consultation.MaxTitle) {
					t.Errorf("title changed")
				}
			},
		},
		{
			name: "newlines and tabs are allowed in the summary",
			mod:  func(r *tacitv1.OpenConsultationRequest) { r.Summary = "Điều 1.\n\tKhoản 2." },
			check: func(t *testing.T, c *tacitv1.Consultation) {
				if c.GetSummary() != "Điều 1.\n\tKhoản 2." {
					t.Errorf("summary = %q", c.GetSummary())
				}
			},
		},
		{
			name: "field codes are trimmed and repeated fields kept once",
			mod:  func(r *tacitv1.OpenConsultationRequest) { r.Fields = []string{" land ", "land", "environment"} },
			check: func(t *testing.T, c *tacitv1.Consultation) {
				if diff := cmp.Diff([]string{"land", "environment"}, c.GetFields()); diff != "" {
					t.Errorf("fields (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "addressees may be given as agency:CODE principals",
			mod:  func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{"agency:" + xayDung, " " + phuong} },
			check: func(t *testing.T, c *tacitv1.Consultation) {
				if consultation.Addressee(c, xayDung) == nil || consultation.Addressee(c, phuong) == nil {
					t.Errorf("addressees = %v", c.GetAddressees())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := consultation.Open(consultation.DefaultConfig(), testRegistry(t), lead, leadP, request(tt.mod), now)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestOpenInvalid(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*tacitv1.OpenConsultationRequest)
		want []sv
	}{
		{"missing title", func(r *tacitv1.OpenConsultationRequest) { r.Title = "" }, []sv{{"title", "REQUIRED"}}},
		{"blank title", func(r *tacitv1.OpenConsultationRequest) { r.Title = " \t\n " }, []sv{{"title", "REQUIRED"}}},
		{"missing legal basis", func(r *tacitv1.OpenConsultationRequest) { r.LegalBasis = "" }, []sv{{"legal_basis", "REQUIRED"}}},
		{"missing fields", func(r *tacitv1.OpenConsultationRequest) { r.Fields = nil }, []sv{{"fields", "REQUIRED"}}},
		{"unknown field code", func(r *tacitv1.OpenConsultationRequest) { r.Fields = []string{"land", "agriculture"} }, []sv{{"fields[1]", "UNKNOWN_FIELD"}}},
		{"empty field code", func(r *tacitv1.OpenConsultationRequest) { r.Fields = []string{""} }, []sv{{"fields[0]", "UNKNOWN_FIELD"}}},
		{"field code differing in case", func(r *tacitv1.OpenConsultationRequest) { r.Fields = []string{"Land"} }, []sv{{"fields[0]", "UNKNOWN_FIELD"}}},
		{"too many fields", func(r *tacitv1.OpenConsultationRequest) {
			r.Fields = make([]string, consultation.MaxFields+1)
			for i := range r.Fields {
				r.Fields[i] = "land"
			}
		}, []sv{{"fields", "TOO_MANY"}}},
		{"missing addressees", func(r *tacitv1.OpenConsultationRequest) { r.Addressees = nil }, []sv{{"addressees", "REQUIRED"}}},
		{"empty addressee code", func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{xayDung, " "} }, []sv{{"addressees[1]", "INVALID_CODE"}}},
		{"duplicate addressee", func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{xayDung, phuong, xayDung} }, []sv{{"addressees[2]", "DUPLICATE"}}},
		{"duplicate addressee, once as a principal", func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{xayDung, "agency:" + xayDung} }, []sv{{"addressees[1]", "DUPLICATE"}}},
		{"self addressee", func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{xayDung, lead} }, []sv{{"addressees[1]", "SELF_ADDRESSED"}}},
		{"self addressee as a principal", func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{leadP} }, []sv{{"addressees[0]", "SELF_ADDRESSED"}}},
		{"too many addressees", func(r *tacitv1.OpenConsultationRequest) {
			r.Addressees = make([]string, consultation.MaxAddressees+1)
			for i := range r.Addressees {
				r.Addressees[i] = xayDung
			}
		}, []sv{{"addressees", "TOO_MANY"}}},
		{"explicit deadline in the past", withDeadline(now.Add(-time.Hour)), []sv{{"deadline", "DEADLINE_IN_PAST"}}},
		{"explicit deadline equal to now", withDeadline(now), []sv{{"deadline", "DEADLINE_IN_PAST"}}},
		{"explicit deadline under the minimum notice", withDeadline(now.Add(59 * time.Minute)), []sv{{"deadline", "UNDER_MIN_NOTICE"}}},
		{"explicit deadline beyond the horizon", withDeadline(now.Add(consultation.MaxHorizon + time.Second)), []sv{{"deadline", "OUT_OF_RANGE"}}},
		{"duration under the minimum notice", withDuration(30 * time.Minute), []sv{{"within", "UNDER_MIN_NOTICE"}}},
		{"zero duration", withDuration(0), []sv{{"within", "OUT_OF_RANGE"}}},
		{"negative duration", withDuration(-time.Hour), []sv{{"within", "OUT_OF_RANGE"}}},
		{"duration beyond the horizon", withDuration(consultation.MaxHorizon + time.Second), []sv{{"within", "OUT_OF_RANGE"}}},
		{"malformed duration", func(r *tacitv1.OpenConsultationRequest) {
			r.DeadlineSpec = &tacitv1.OpenConsultationRequest_Within{Within: &durationpb.Duration{Seconds: 7200, Nanos: -1}}
		}, []sv{{"within", "INVALID_DURATION"}}},
		{"malformed explicit deadline", func(r *tacitv1.OpenConsultationRequest) {
			r.DeadlineSpec = &tacitv1.OpenConsultationRequest_Deadline{Deadline: &timestamppb.Timestamp{Seconds: now.Unix() + 86400, Nanos: 2e9}}
		}, []sv{{"deadline", "INVALID_TIME"}}},
		{"zero working days", withWorkingDays(0), []sv{{"within_working_days", "OUT_OF_RANGE"}}},
		{"negative working days", withWorkingDays(-3), []sv{{"within_working_days", "OUT_OF_RANGE"}}},
		{"too many working days", withWorkingDays(consultation.MaxWorkingDay + 1), []sv{{"within_working_days", "OUT_OF_RANGE"}}},
		{"oversize title", func(r *tacitv1.OpenConsultationRequest) { r.Title = strings.Repeat("ệ", consultation.MaxTitle+1) }, []sv{{"title", "TOO_LONG"}}},
		{"oversize summary", func(r *tacitv1.OpenConsultationRequest) { r.Summary = strings.Repeat("a", consultation.MaxText+1) }, []sv{{"summary", "TOO_LONG"}}},
		{"oversize legal basis", func(r *tacitv1.OpenConsultationRequest) {
			r.LegalBasis = strings.Repeat("đ", consultation.MaxReason+1)
		}, []sv{{"legal_basis", "TOO_LONG"}}},
		{"oversize escalation reason", func(r *tacitv1.OpenConsultationRequest) {
			r.EscalationReason = strings.Repeat("x", consultation.MaxReason+1)
		}, []sv{{"escalation_reason", "TOO_LONG"}}},
		{"invalid UTF-8 in the title", func(r *tacitv1.OpenConsultationRequest) { r.Title = "Dự th\xffo" }, []sv{{"title", "INVALID_UTF8"}}},
		{"invalid UTF-8 in the summary", func(r *tacitv1.OpenConsultationRequest) { r.Summary = "\xc3\x28" }, []sv{{"summary", "INVALID_UTF8"}}},
		{"invalid UTF-8 in the legal basis", func(r *tacitv1.OpenConsultationRequest) { r.LegalBasis = "Luật \xed\xa0\x80" }, []sv{{"legal_basis", "INVALID_UTF8"}}},
		{"invalid UTF-8 in an addressee code", func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{"so-\xff"} }, []sv{{"addressees[0]", "INVALID_CODE"}}},
		{"NUL in the title", func(r *tacitv1.OpenConsultationRequest) { r.Title = "Dự\x00thảo" }, []sv{{"title", "CONTROL_CHARACTER"}}},
		{"escape sequence in the summary", func(r *tacitv1.OpenConsultationRequest) { r.Summary = "\x1b[31mđỏ" }, []sv{{"summary", "CONTROL_CHARACTER"}}},
		{"C1 control in the legal basis", func(r *tacitv1.OpenConsultationRequest) { r.LegalBasis = "Luật\u0085Đất đai" }, []sv{{"legal_basis", "CONTROL_CHARACTER"}}},
		{"empty option", func(r *tacitv1.OpenConsultationRequest) { r.Options = []string{"Phương án 1", " "} }, []sv{{"options[1]", "REQUIRED"}}},
		{"too many options", func(r *tacitv1.OpenConsultationRequest) {
			r.Options = make([]string, consultation.MaxOptions+1)
			for i := range r.Options {
				r.Options[i] = "Phương án"
			}
		}, []sv{{"options", "TOO_MANY"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := consultation.Open(consultation.DefaultConfig(), testRegistry(t), lead, leadP, request(tt.mod), now)
			wantFault(t, err, fault.Invalid, tt.want)
			if c != nil {
				t.Errorf("a rejected request returned a consultation: %v", c)
			}
		})
	}
}

func TestOpenInvalidReportsEveryProblem(t *testing.T) {
	req := &tacitv1.OpenConsultationRequest{
		Title:        "",
		LegalBasis:   " ",
		Summary:      "a\x07b",
		Fields:       []string{"land", "agriculture"},
		Addressees:   []string{lead, xayDung, xayDung, yTe}, // yTe is ineligible: Invalid is reported first
		DeadlineSpec: &tacitv1.OpenConsultationRequest_Deadline{Deadline: ts(now.Add(-time.Minute))},
	}
	c, err := consultation.Open(consultation.DefaultConfig(), testRegistry(t), lead, leadP, req, now)
	fe := wantFault(t, err, fault.Invalid, []sv{
		{"title", "REQUIRED"},
		{"summary", "CONTROL_CHARACTER"},
		{"legal_basis", "REQUIRED"},
		{"fields[1]", "UNKNOWN_FIELD"},
		{"addressees[0]", "SELF_ADDRESSED"},
		{"addressees[2]", "DUPLICATE"},
		{"deadline", "DEADLINE_IN_PAST"},
	})
	if c != nil {
		t.Errorf("a rejected request returned a consultation")
	}
	wantContains(t, "message", fe.Message, "nothing was stored")
	wantContains(t, "fields[1] description", fe.Violations[3].Description, `"agriculture"`)
}

func TestOpenIneligibleAddressees(t *testing.T) {
	tests := []struct {
		name       string
		leadCode   string
		mod        func(*tacitv1.OpenConsultationRequest)
		want       []sv
		wantInDesc [][]string // per violation
	}{
		{
			name: "unknown agency",
			mod:  func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{xayDung, "so-khong-co"} },
			want: []sv{{"so-khong-co", "UNKNOWN_AGENCY"}}, wantInDesc: [][]string{{`"so-khong-co"`}},
		},
		{
			name: "inactive agency",
			mod:  func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{soCu} },
			want: []sv{{soCu, "INACTIVE_AGENCY"}}, wantInDesc: [][]string{{"Sở Tài nguyên và Môi trường (cũ)", soCu}},
		},
		{
			name: "outside mandate: the message names the agency, its mandate and the matter's fields",
			mod: func(r *tacitv1.OpenConsultationRequest) {
				r.Fields = []string{"land", "environment"}
				r.Addressees = []string{xayDung, yTe}
			},
			want:       []sv{{yTe, "OUTSIDE_MANDATE"}},
			wantInDesc: [][]string{{"Sở Y tế", yTe, "[health]", "[land, environment]"}},
		},
		{
			name: "land does not cover landscape",
			mod:  func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{canhQuan} },
			want: []sv{{canhQuan, "OUTSIDE_MANDATE"}}, wantInDesc: [][]string{{"[landscape]", "[land]"}},
		},
		{
			name: "central body without an escalation reason",
			mod:  func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{xayDung, boNNMT} },
			want: []sv{{boNNMT, "ESCALATION_WITHOUT_REASON"}}, wantInDesc: [][]string{{"Bộ Nông nghiệp và Môi trường", boNNMT, "central", "provincial"}},
		},
		{
			name:     "local lead consulting a provincial body without a reason",
			leadCode: phuong,
			mod:      func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{lead} },
			want:     []sv{{lead, "ESCALATION_WITHOUT_REASON"}}, wantInDesc: [][]string{{"provincial", "local"}},
		},
		{
			name: "a blank escalation reason is no reason",
			mod: func(r *tacitv1.OpenConsultationRequest) {
				r.Addressees = []string{boNNMT}
				r.EscalationReason = "   "
			},
			want: []sv{{boNNMT, "ESCALATION_WITHOUT_REASON"}}, wantInDesc: [][]string{{boNNMT}},
		},
		{
			name: "one violation per ineligible addressee, in request order",
			mod: func(r *tacitv1.OpenConsultationRequest) {
				r.Addressees = []string{"so-khong-co", xayDung, soCu, tuPhap, phuong, boNNMT}
			},
			want: []sv{
				{"so-khong-co", "UNKNOWN_AGENCY"}, {soCu, "INACTIVE_AGENCY"},
				{tuPhap, "OUTSIDE_MANDATE"}, {boNNMT, "ESCALATION_WITHOUT_REASON"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := lead
			if tt.leadCode != "" {
				l = tt.leadCode
			}
			c, err := consultation.Open(consultation.DefaultConfig(), testRegistry(t), l, "agency:"+l, request(tt.mod), now)
			fe := wantFault(t, err, fault.FailedPrecondition, tt.want)
			if c != nil {
				t.Errorf("the whole request must be rejected, got a consultation with %d addressees", len(c.GetAddressees()))
			}
			wantContains(t, "message", fe.Message, "nothing was stored")
			for i, parts := range tt.wantInDesc {
				wantContains(t, "description of "+fe.Violations[i].Subject, fe.Violations[i].Description, parts...)
				wantContains(t, "error text", err.Error(), parts...)
			}
		})
	}
}

func TestOpenLeadMustBeActive(t *testing.T) {
	for _, l := range []string{soCu, "so-khong-co"} {
		t.Run(l, func(t *testing.T) {
			req := request(func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{phuong} })
			c, err := consultation.Open(consultation.DefaultConfig(), testRegistry(t), l, "agency:"+l, req, now)
			fe := wantFault(t, err, fault.FailedPrecondition, nil)
			if fe.Reason != "LEAD_NOT_ACTIVE" || c != nil {
				t.Errorf("reason = %q, consultation = %v", fe.Reason, c)
			}
			wantContains(t, "message", fe.Message, l)
		})
	}
}

func TestOpenEscalation(t *testing.T) {
	tests := []struct {
		name       string
		leadCode   string
		addressees []string
		reason     string
		escalated  map[string]bool
	}{
		{"central body with a reason", lead, []string{xayDung, boNNMT, phuong}, "  Vượt thẩm quyền cấp tỉnh ",
			map[string]bool{xayDung: false, boNNMT: true, phuong: false}},
		{"provincial body consulted by a local lead, with a reason", phuong, []string{lead}, "Liên quan quy hoạch toàn tỉnh",
			map[string]bool{lead: true}},
		{"same and lower levels need no reason", lead, []string{xayDung, phuong}, "",
			map[string]bool{xayDung: false, phuong: false}},
		{"a central lead needs no reason for anyone", boNNMT, []string{lead, phuong}, "",
			map[string]bool{lead: false, phuong: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request(func(r *tacitv1.OpenConsultationRequest) {
				r.Addressees, r.EscalationReason = tt.addressees, tt.reason
			})
			c, err := consultation.Open(consultation.DefaultConfig(), testRegistry(t), tt.leadCode, "agency:"+tt.leadCode, req, now)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			got := map[string]bool{}
			for _, a := range c.GetAddressees() {
				got[a.GetAgency()] = a.GetEscalated()
			}
			if diff := cmp.Diff(tt.escalated, got); diff != "" {
				t.Errorf("escalated (-want +got):\n%s", diff)
			}
			if want := strings.TrimSpace(tt.reason); c.GetEscalationReason() != want {
				t.Errorf("escalation reason = %q, want %q kept for auditors", c.GetEscalationReason(), want)
			}
		})
	}
}

func TestOpenMandateRelation(t *testing.T) {
	tests := []struct {
		name    string
		fields  []string
		agency  string
		allowed bool
	}{
		{"land covers land.planning", []string{"land.planning"}, phuong, true},
		{"land.planning covers land", []string{"land"}, xayDung, true},
		{"equal codes", []string{"land"}, phuong, true},
		{"land does not cover landscape", []string{"landscape"}, phuong, false},
		{"landscape does not cover land", []string{"land"}, canhQuan, false},
		{"land.planning does not cover landscape", []string{"landscape"}, xayDung, false},
		{"landscape covers landscape", []string{"landscape"}, canhQuan, true},
		{"one covered field of several is enough", []string{"land", "health"}, yTe, true},
		{"unrelated field", []string{"justice"}, phuong, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request(func(r *tacitv1.OpenConsultationRequest) { r.Fields, r.Addressees = tt.fields, []string{tt.agency} })
			c, err := consultation.Open(consultation.DefaultConfig(), testRegistry(t), lead, leadP, req, now)
			if tt.allowed {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if consultation.Addressee(c, tt.agency) == nil {
					t.Fatalf("%s is not an addressee", tt.agency)
				}
				return
			}
			wantFault(t, err, fault.FailedPrecondition, []sv{{tt.agency, "OUTSIDE_MANDATE"}})
		})
	}
}

func TestCheckRequestID(t *testing.T) {
	tests := []struct {
		id   string
		want []sv
	}{
		{"", nil},
		{"3f6c1e9a-7d0b-4c55-9a55-0e1f2a3b4c5d", nil},
		{strings.Repeat("a", consultation.MaxRequestID), nil},
		{strings.Repeat("a", consultation.MaxRequestID+1), []sv{{"request_id", "TOO_LONG"}}},
		{"id\xff", []sv{{"request_id", "INVALID_UTF8"}}},
		{"id\x00", []sv{{"request_id", "CONTROL_CHARACTER"}}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			err := consultation.CheckRequestID(tt.id)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckRequestID: %v", err)
				}
				return
			}
			wantFault(t, err, fault.Invalid, tt.want)
		})
	}
}
