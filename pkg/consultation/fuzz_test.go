package consultation_test

// Fuzz tests of request validation: whatever a client sends, Open and Reply
// never panic, and either build a record that obeys every rule of the
// contract or refuse with a classified error that names what is wrong and
// leaves the record as it was. Seeds live in testdata/fuzz/<FuzzName>/ as
// well as in the f.Add calls below.

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/registry"
)

// fuzzLeads are the active agencies a fuzzed request may be opened by: two
// provincial, a central and a local one, so that escalation is exercised.
var fuzzLeads = []string{lead, xayDung, boNNMT, phuong}

// splitList turns a fuzzed string into a repeated field: "" is no element,
// otherwise the parts between sep.
func splitList(s, sep string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

// Deadline specifications of a fuzzed opening.
const (
	specDefault     = iota // none: the server's default
	specWorkingDays        // within_working_days = wd
	specNanos              // within = a time.Duration of secs nanoseconds
	specDuration           // within = {seconds: secs, nanos: nanos}, possibly invalid
	specInstant            // deadline = {seconds: now+secs, nanos: nanos}, possibly invalid
	specCount
)

func fuzzOpenRequest(title, summary, basis, escalation, fields, addressees, options string, spec uint8, wd int32, secs int64, nanos int32) *tacitv1.OpenConsultationRequest {
	req := &tacitv1.OpenConsultationRequest{
		Title: title, Summary: summary, LegalBasis: basis, EscalationReason: escalation,
		Fields: splitList(fields, ","), Addressees: splitList(addressees, ","), Options: splitList(options, "|"),
	}
	switch spec % specCount {
	case specWorkingDays:
		req.DeadlineSpec = &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: wd}
	case specNanos:
		req.DeadlineSpec = &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(time.Duration(secs))}
	case specDuration:
		req.DeadlineSpec = &tacitv1.OpenConsultationRequest_Within{Within: &durationpb.Duration{Seconds: secs, Nanos: nanos}}
	case specInstant:
		req.DeadlineSpec = &tacitv1.OpenConsultationRequest_Deadline{Deadline: &timestamppb.Timestamp{Seconds: now.Unix() + secs, Nanos: nanos}}
	}
	return req
}

// FuzzOpen feeds Open arbitrary text, lists and deadline specifications
// against the small test registry at a fixed instant.
func FuzzOpen(f *testing.F) {
	// title, summary, legal basis, escalation reason, fields (comma
	// separated), addressees (comma separated), options ('|' separated),
	// lead selector, deadline spec, working days, seconds or nanoseconds,
	// nanos.
	f.Add("Dự thảo Quyết định ban hành Bảng giá đất năm 2026", "Xin ý kiến về bảng giá đất.", "Luật Đất đai 2024, Điều 159", "",
		"land", "so-xay-dung,ubnd-phuong-bn", "", uint8(0), uint8(specWorkingDays), int32(5), int64(0), int32(0))
	f.Add("Quy hoạch", "", "Luật Quy hoạch 2017", "Vượt thẩm quyền của Sở", "land,environment", "bo-nnmt,agency:so-xay-dung",
		"Phương án 1|Phương án 2", uint8(0), uint8(specNanos), int32(0), int64(2*time.Hour), int32(0))
	f.Add("  Tra\u0301i  ", "a\tb\r\nc", " căn cứ ", "", " land.planning ", "so-xay-dung", "", uint8(0), uint8(specDuration), int32(0), int64(3600), int32(999999999))
	f.Add("Tiêu đề\x00ẩn", "tóm tắt\x1b[31m", "Căn cứ\u0085", "", "health", "so-y-te", "", uint8(1), uint8(specInstant), int32(0), int64(86400), int32(0))
	f.Add("Gi\xe1 \xff\xfe", "", "Luật", "", "land", "so-xay-dung", "\xc3", uint8(0), uint8(specDefault), int32(0), int64(0), int32(0))
	f.Add(strings.Repeat("đ", 501), strings.Repeat("x", 10001), strings.Repeat("y", 2001), "", "land", "so-xay-dung", "", uint8(0), uint8(specWorkingDays), int32(366), int64(0), int32(0))
	f.Add("Tự hỏi mình", "", "Luật", "", "land,land,dat-dai", "so-nnmt,so-xay-dung,so-xay-dung,,agency:", "", uint8(0), uint8(specWorkingDays), int32(0), int64(0), int32(0))
	f.Add("Sai thẩm quyền", "", "Luật", "", "justice", "so-tai-nguyen-cu,so-khong-co,so-y-te,bo-tu-phap", "", uint8(0), uint8(specInstant), int32(0), int64(-3600), int32(-1))
	f.Add("Hạn quá xa", "", "Luật", "", "land", "so-xay-dung", "", uint8(0), uint8(specDuration), int32(0), int64(315576000001), int32(0))
	f.Add("Hạn quá gần", "", "Luật", "", "landscape", "so-canh-quan", "|", uint8(3), uint8(specNanos), int32(0), int64(1), int32(0))
	f.Add("Timestamp ngoài phạm vi", "", "Luật", "", "land", "so-xay-dung", "", uint8(0), uint8(specInstant), int32(0), int64(1<<62), int32(1e9))
	f.Add("Nhiều lĩnh vực", "", "Luật", "", strings.Repeat("land,", 51), strings.Repeat("x,", 201), strings.Repeat("o|", 21), uint8(2), uint8(specWorkingDays), int32(365), int64(0), int32(0))

	reg := testRegistry(f)
	cfg := consultation.DefaultConfig()
	f.Fuzz(func(t *testing.T, title, summary, basis, escalation, fields, addressees, options string, leadSel, spec uint8, wd int32, secs int64, nanos int32) {
		req := fuzzOpenRequest(title, summary, basis, escalation, fields, addressees, options, spec, wd, secs, nanos)
		leadCode := fuzzLeads[int(leadSel)%len(fuzzLeads)]
		sent := proto.Clone(req)

		c, err := consultation.Open(cfg, reg, leadCode, "agency:"+leadCode, req, now)
		if !proto.Equal(sent, req) {
			t.Fatalf("Open modified the request:\nbefore %v\nafter  %v", sent, req)
		}
		// The rules are pure: the same request at the same instant gives
		// the same answer.
		c2, err2 := consultation.Open(cfg, reg, leadCode, "agency:"+leadCode, req, now)
		if (err == nil) != (err2 == nil) || !proto.Equal(c, c2) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("Open is not deterministic:\n%v / %v\n%v / %v", c, err, c2, err2)
		}
		if err != nil {
			checkOpenRefusal(t, req, err)
			return
		}
		checkOpened(t, cfg, reg, leadCode, req, c)
	})
}

var invalidOpenSubject = regexp.MustCompile(`^(title|summary|legal_basis|escalation_reason|fields(\[\d+\])?|addressees(\[\d+\])?|options(\[\d+\])?|within_working_days|within|deadline)$`)

// checkOpenRefusal: Invalid naming request fields, or FailedPrecondition
// naming addressees of the request; at least one violation either way.
func checkOpenRefusal(t *testing.T, req *tacitv1.OpenConsultationRequest, err error) {
	t.Helper()
	fe, ok := fault.As(err)
	if !ok {
		t.Fatalf("Open returned an unclassified error %T: %v", err, err)
	}
	if len(fe.Violations) == 0 {
		t.Fatalf("Open refused (%s) without naming any violation: %v", kindNames[fe.Kind], err)
	}
	checkViolations(t, fe)
	switch fe.Kind {
	case fault.Invalid:
		for _, v := range fe.Violations {
			if !invalidOpenSubject.MatchString(v.Subject) {
				t.Fatalf("Invalid violation names %q, which is not a field of the request: %v", v.Subject, err)
			}
		}
	case fault.FailedPrecondition:
		var sent []string
		for _, a := range req.GetAddressees() {
			sent = append(sent, strings.TrimPrefix(strings.TrimSpace(a), "agency:"))
		}
		for _, v := range fe.Violations {
			if !slices.Contains(sent, v.Subject) {
				t.Fatalf("FailedPrecondition violation names %q, which is not an addressee of the request %q: %v", v.Subject, sent, err)
			}
		}
	default:
		t.Fatalf("Open refused with kind %s, want Invalid or FailedPrecondition: %v", kindNames[fe.Kind], err)
	}
}

// checkViolations: every violation has a type and a subject, and its text
// can travel in a protobuf message (valid UTF-8).
func checkViolations(t *testing.T, fe *fault.Error) {
	t.Helper()
	if !utf8.ValidString(fe.Message) || !utf8.ValidString(fe.Reason) || fe.Reason == "" {
		t.Fatalf("error reason %q / message %q is empty or not UTF-8", fe.Reason, fe.Message)
	}
	for _, v := range fe.Violations {
		if v.Type == "" || v.Subject == "" || v.Description == "" {
			t.Fatalf("incomplete violation %+v", v)
		}
		if !utf8.ValidString(v.Subject) || !utf8.ValidString(v.Description) || !utf8.ValidString(v.Type) {
			t.Fatalf("violation %q is not valid UTF-8 and cannot be sent in google.rpc details", v)
		}
	}
}

// checkText: what the rules store is valid UTF-8, trimmed, in NFC, within
// max characters and free of control characters other than \n \r \t.
func checkStoredText(t *testing.T, what, s string, max int, required bool) {
	t.Helper()
	switch {
	case !utf8.ValidString(s):
		t.Fatalf("%s %q is not valid UTF-8", what, s)
	case required && s == "":
		t.Fatalf("%s is empty", what)
	case strings.TrimSpace(s) != s:
		t.Fatalf("%s %q is not trimmed", what, s)
	case !norm.NFC.IsNormalString(s):
		t.Fatalf("%s %q is not in NFC", what, s)
	case utf8.RuneCountInString(s) > max:
		t.Fatalf("%s has %d characters, over the limit %d", what, utf8.RuneCountInString(s), max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			t.Fatalf("%s %q holds the control character %U", what, s, r)
		}
	}
}

func checkOpened(t *testing.T, cfg consultation.Config, reg *registry.Registry, leadCode string, req *tacitv1.OpenConsultationRequest, c *tacitv1.Consultation) {
	t.Helper()
	checkStoredText(t, "title", c.GetTitle(), consultation.MaxTitle, true)
	checkStoredText(t, "summary", c.GetSummary(), consultation.MaxText, false)
	checkStoredText(t, "legal_basis", c.GetLegalBasis(), consultation.MaxReason, true)
	checkStoredText(t, "escalation_reason", c.GetEscalationReason(), consultation.MaxReason, false)
	if len(c.GetOptions()) != len(req.GetOptions()) || len(c.GetOptions()) > consultation.MaxOptions {
		t.Fatalf("%d options stored for %d sent (limit %d)", len(c.GetOptions()), len(req.GetOptions()), consultation.MaxOptions)
	}
	for _, o := range c.GetOptions() {
		checkStoredText(t, "option", o, consultation.MaxReason, true)
	}
	if c.GetLead() != leadCode || c.GetOpenedBy() != "agency:"+leadCode || c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
		t.Fatalf("lead %q opened by %q state %v, want %q, agency:%[4]s, OPEN", c.GetLead(), c.GetOpenedBy(), c.GetState(), leadCode)
	}
	if !c.GetCreateTime().AsTime().Equal(now) || !c.GetUpdateTime().AsTime().Equal(now) {
		t.Fatalf("create %v update %v, want %v", c.GetCreateTime().AsTime(), c.GetUpdateTime().AsTime(), now)
	}

	// Fields: at least one, all in the taxonomy, no duplicates, within the
	// limit.
	if n := len(c.GetFields()); n == 0 || n > consultation.MaxFields {
		t.Fatalf("%d fields stored", n)
	}
	for i, fc := range c.GetFields() {
		if _, ok := reg.Field(fc); !ok {
			t.Fatalf("stored field %q is not in the taxonomy", fc)
		}
		if slices.Contains(c.GetFields()[:i], fc) {
			t.Fatalf("field %q stored twice: %q", fc, c.GetFields())
		}
	}

	// Deadline: after now, at least the minimum notice, within the horizon.
	dl := c.GetDeadline().AsTime()
	if err := c.GetDeadline().CheckValid(); err != nil || !dl.After(now) || dl.Sub(now) < cfg.MinNotice || dl.Sub(now) > consultation.MaxHorizon {
		t.Fatalf("deadline %v (%v) for now %v: want valid, after now, ≥ %s and ≤ %s away", dl, err, now, cfg.MinNotice, consultation.MaxHorizon)
	}

	// Addressees: at least one, no duplicates, not the lead, active, with
	// a mandate related to a field of the matter, escalations justified.
	leadAgency, _ := reg.Agency(leadCode)
	if n := len(c.GetAddressees()); n == 0 || n > consultation.MaxAddressees {
		t.Fatalf("%d addressees stored", n)
	}
	seen := map[string]bool{}
	for _, a := range c.GetAddressees() {
		code := a.GetAgency()
		if seen[code] {
			t.Fatalf("addressee %q stored twice", code)
		}
		seen[code] = true
		if code == leadCode {
			t.Fatalf("the lead %q is its own addressee", code)
		}
		ag, ok := reg.Agency(code)
		if !ok || !ag.GetActive() {
			t.Fatalf("addressee %q is not an active agency of the registry", code)
		}
		related := false
		for _, m := range ag.GetMandate() {
			for _, fc := range c.GetFields() {
				related = related || registry.Related(m, fc)
			}
		}
		if !related {
			t.Fatalf("addressee %q (mandate %q) has no mandate over %q", code, ag.GetMandate(), c.GetFields())
		}
		escalated := registry.Rank(ag.GetLevel()) > registry.Rank(leadAgency.GetLevel())
		if a.GetEscalated() != escalated || (escalated && c.GetEscalationReason() == "") {
			t.Fatalf("addressee %q escalated=%v (levels %v over %v) with reason %q", code, a.GetEscalated(), ag.GetLevel(), leadAgency.GetLevel(), c.GetEscalationReason())
		}
		if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING || !a.GetDeadline().AsTime().Equal(dl) || a.GetReply() != nil {
			t.Fatalf("addressee %v: want PENDING with the consultation's deadline and no reply", a)
		}
	}
	// Everyone addressed was asked for, and everyone asked for was
	// addressed (a request that names an ineligible agency is refused, not
	// trimmed).
	var sent []string
	for _, a := range req.GetAddressees() {
		sent = append(sent, strings.TrimPrefix(strings.TrimSpace(a), "agency:"))
	}
	for _, code := range sent {
		if !seen[code] {
			t.Fatalf("addressee %q of the request was dropped silently; stored %v", code, c.GetAddressees())
		}
	}
}

// FuzzReply feeds Reply arbitrary positions, text, roles, agencies and
// instants on an open, already answered, withdrawn or concluded
// consultation.
func FuzzReply(f *testing.F) {
	// agency selector, consultation state, already replied, position,
	// comment, signer name, signer role, offset from the opening instant.
	f.Add(uint8(0), uint8(0), false, int32(tacitv1.Position_POSITION_AGREE), "", "Trần Thị Bình", int32(tacitv1.SignerRole_SIGNER_ROLE_HEAD), int64(26*time.Hour))
	f.Add(uint8(0), uint8(0), true, int32(tacitv1.Position_POSITION_DISAGREE), "  Tra\u0301i quy hoạch\n", " Lê Văn Cường ", int32(tacitv1.SignerRole_SIGNER_ROLE_DEPUTY), int64(48*time.Hour))
	f.Add(uint8(1), uint8(0), false, int32(tacitv1.Position_POSITION_AGREE_WITH_COMMENTS), "", "", int32(0), int64(time.Hour))
	f.Add(uint8(2), uint8(0), false, int32(tacitv1.Position_POSITION_AGREE), "", "Hoàng Thị Em", int32(tacitv1.SignerRole_SIGNER_ROLE_HEAD), int64(time.Hour))
	f.Add(uint8(0), uint8(0), false, int32(tacitv1.Position_POSITION_AGREE), "", "Trần Thị Bình", int32(tacitv1.SignerRole_SIGNER_ROLE_HEAD), int64(deadline5wd.Sub(now)))
	f.Add(uint8(0), uint8(0), false, int32(tacitv1.Position_POSITION_AGREE), "", "Trần Thị Bình", int32(tacitv1.SignerRole_SIGNER_ROLE_HEAD), int64(deadline5wd.Sub(now)-1))
	f.Add(uint8(0), uint8(1), false, int32(tacitv1.Position_POSITION_AGREE), "", "Trần Thị Bình", int32(tacitv1.SignerRole_SIGNER_ROLE_HEAD), int64(time.Hour))
	f.Add(uint8(1), uint8(2), true, int32(tacitv1.Position_POSITION_AGREE), "", "Phạm Văn Dũng", int32(tacitv1.SignerRole_SIGNER_ROLE_HEAD), int64(time.Hour))
	f.Add(uint8(0), uint8(0), false, int32(99), "\xff\xfe", "Tên\x07", int32(-1), int64(-1<<63))
	f.Add(uint8(3), uint8(0), false, int32(tacitv1.Position_POSITION_DISAGREE), strings.Repeat("ý", 10001), strings.Repeat("n", 301), int32(tacitv1.SignerRole_SIGNER_ROLE_DEPUTY), int64(1<<63-1))

	base := opened(f)
	agencies := []string{xayDung, phuong, yTe, lead, ""}
	cfg := consultation.DefaultConfig()
	f.Fuzz(func(t *testing.T, agencySel, state uint8, replied bool, position int32, comment, signer string, role int32, offset int64) {
		c := clone(base)
		if replied {
			mustReply(t, c, xayDung, agree(), now.Add(time.Hour))
		}
		switch state % 3 {
		case 1:
			if _, err := consultation.Withdraw(c, leadP, "Rút để sửa", now.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
		case 2:
			// A concluded record, as storage would hold it.
			c.State = tacitv1.ConsultationState_CONSULTATION_STATE_CONCLUDED
			c.Conclusion = &tacitv1.Conclusion{Summary: "Thống nhất", ConcludeTime: ts(now.Add(2 * time.Hour)), ConcludedBy: leadP}
		}
		at := now.Add(time.Duration(offset))
		consultation.Materialize(c, at, noHeads, true)
		agency := agencies[int(agencySel)%len(agencies)]
		in := consultation.ReplyInput{Position: tacitv1.Position(position), Comment: comment, SignerName: signer, SignerRole: tacitv1.SignerRole(role)}
		before := clone(c)

		evs, err := consultation.Reply(cfg, c, agency, "agency:"+agency, in, at)
		if err != nil {
			if !proto.Equal(before, c) {
				t.Fatalf("a refused reply changed the record:\nbefore %v\nafter  %v\nerr: %v", before, c, err)
			}
			if evs != nil {
				t.Fatalf("a refused reply returned events %v", evs)
			}
			checkReplyRefusal(t, before, agency, at, err)
			return
		}
		checkReplied(t, before, c, agency, in, at, evs)
	})
}

var invalidReplySubject = regexp.MustCompile(`^(position|comment|signer\.name|signer\.role)$`)

func checkReplyRefusal(t *testing.T, c *tacitv1.Consultation, agency string, at time.Time, err error) {
	t.Helper()
	fe, ok := fault.As(err)
	if !ok {
		t.Fatalf("Reply returned an unclassified error %T: %v", err, err)
	}
	checkViolations(t, fe)
	a := consultation.Addressee(c, agency)
	switch fe.Kind {
	case fault.Invalid:
		if len(fe.Violations) == 0 {
			t.Fatalf("Invalid without violations: %v", err)
		}
		for _, v := range fe.Violations {
			if !invalidReplySubject.MatchString(v.Subject) {
				t.Fatalf("Invalid violation names %q, not a field of the reply: %v", v.Subject, err)
			}
		}
	case fault.FailedPrecondition:
		switch fe.Reason {
		case "CONSULTATION_NOT_OPEN":
			if c.GetState() == tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
				t.Fatalf("refused as not open, but the consultation is open: %v", err)
			}
		case "DEADLINE_PASSED":
			if a == nil || at.Before(a.GetDeadline().AsTime()) {
				t.Fatalf("refused as late at %v, but the deadline of %q is %v: %v", at, agency, a.GetDeadline().AsTime(), err)
			}
		default:
			t.Fatalf("FailedPrecondition with reason %q: %v", fe.Reason, err)
		}
	case fault.PermissionDenied:
		if a != nil || fe.Reason != "NOT_ADDRESSED" {
			t.Fatalf("%q is an addressee but was refused as not addressed: %v", agency, err)
		}
	default:
		t.Fatalf("Reply refused with kind %s: %v", kindNames[fe.Kind], err)
	}
}

func checkReplied(t *testing.T, before, c *tacitv1.Consultation, agency string, in consultation.ReplyInput, at time.Time, evs []consultation.Event) {
	t.Helper()
	if before.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN || c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
		t.Fatalf("a reply was recorded on a consultation in state %v", before.GetState())
	}
	prev, a := consultation.Addressee(before, agency), consultation.Addressee(c, agency)
	if prev == nil || a == nil {
		t.Fatalf("a reply was recorded for %q, which is not an addressee", agency)
	}
	if !at.Before(prev.GetDeadline().AsTime()) {
		t.Fatalf("a reply at %v was recorded at or after the deadline %v", at, prev.GetDeadline().AsTime())
	}
	if prev.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
		t.Fatalf("a reply overwrote a deemed approval")
	}
	r := a.GetReply()
	switch r.GetPosition() {
	case tacitv1.Position_POSITION_AGREE, tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, tacitv1.Position_POSITION_DISAGREE:
	default:
		t.Fatalf("reply recorded with position %v", r.GetPosition())
	}
	switch r.GetSigner().GetRole() {
	case tacitv1.SignerRole_SIGNER_ROLE_HEAD, tacitv1.SignerRole_SIGNER_ROLE_DEPUTY:
	default:
		t.Fatalf("reply recorded with signer role %v", r.GetSigner().GetRole())
	}
	checkStoredText(t, "comment", r.GetComment(), consultation.MaxText, r.GetPosition() != tacitv1.Position_POSITION_AGREE)
	checkStoredText(t, "signer.name", r.GetSigner().GetName(), consultation.MaxName, true)
	if r.GetPosition() != in.Position || r.GetSigner().GetRole() != in.SignerRole {
		t.Fatalf("reply %v does not record the input %+v", r, in)
	}
	n := len(prev.GetRevisions()) + 1
	if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED || len(a.GetRevisions()) != n || int(r.GetRevision()) != n ||
		!proto.Equal(r, a.GetRevisions()[n-1]) || !r.GetReplyTime().AsTime().Equal(at) || r.GetRepliedBy() != "agency:"+agency || r.GetWorkingDaysTaken() < 0 {
		t.Fatalf("addressee after reply %d: %v", n, a)
	}
	for i, old := range prev.GetRevisions() {
		if !proto.Equal(old, a.GetRevisions()[i]) {
			t.Fatalf("revision %d was rewritten: %v -> %v", i+1, old, a.GetRevisions()[i])
		}
	}
	typ := consultation.EventReplied
	if n > 1 {
		typ = consultation.EventRevised
	}
	if len(evs) != 1 || evs[0].Type != typ || evs[0].Agency != agency || !evs[0].Time.Equal(at) || !utf8.ValidString(evs[0].Details) {
		t.Fatalf("events %+v, want one %s for %s", evs, typ, agency)
	}
	// Nothing but this addressee and the update time changed.
	b, after := clone(before), clone(c)
	for _, x := range []*tacitv1.Consultation{b, after} {
		x.UpdateTime = nil
		for i, ad := range x.GetAddressees() {
			if ad.GetAgency() == agency {
				x.Addressees = slices.Delete(x.Addressees, i, i+1)
				break
			}
		}
	}
	if !proto.Equal(b, after) {
		t.Fatalf("a reply from %s changed other parts of the record:\nbefore %v\nafter  %v", agency, b, after)
	}
	if !c.GetUpdateTime().AsTime().Equal(at) {
		t.Fatalf("update time %v, want %v", c.GetUpdateTime().AsTime(), at)
	}
}
