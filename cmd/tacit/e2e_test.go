package main

// End-to-end tests of the real tacit binary: a `tacit serve` subprocess
// per test, driven through the CLI and through a Go gRPC client, asserting
// what lead agencies, consulted agencies and auditors rely on.

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/pki"
)

// 1. The life of a consultation, entirely through the CLI.
func TestConsultationLifecycleCLI(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	const (
		lead   = "so-nnmt"
		xd     = "so-xay-dung"
		tc     = "so-tai-chinh"
		title  = "Dự thảo Kế hoạch sử dụng đất năm 2027 của tỉnh"
		first  = "Không thống nhất chỉ tiêu đất giao thông"
		second = "Không thống nhất chỉ tiêu đất giao thông; đề nghị bổ sung đất cây xanh đô thị"
	)

	id := openCLI(t, srv, lead, "--title", title, "--field", "land,urban-planning", "--to", xd, "--to", tc,
		"--legal-basis", "Luật Đất đai 2024, Điều 72", "--within", "5wd")
	c := show(t, srv, lead, id)
	if c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN || c.GetTitle() != title || !slices.Equal(c.GetFields(), []string{"land", "urban-planning"}) {
		t.Fatalf("opened consultation reads %v", c)
	}
	if len(c.GetAddressees()) != 2 {
		t.Fatalf("want 2 addressees, got %v", c.GetAddressees())
	}
	for _, a := range c.GetAddressees() {
		if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
			t.Errorf("%s starts %s, want PENDING", a.GetAgency(), a.GetState())
		}
	}
	xdDeadline := addressee(t, c, xd).GetDeadline().AsTime()
	tcDeadline := addressee(t, c, tc).GetDeadline().AsTime()
	openDeadline := c.GetDeadline().AsTime()

	// so-xay-dung disagrees, signed by its head, then revises.
	mustRun(t, srv, xd, "reply", id, "--position", "disagree", "--comment", first, "--signer", "Trần Quốc Hưng", "--signer-role", "head")
	mustRun(t, srv, xd, "reply", id, "--position", "disagree", "--comment", second, "--signer", "Trần Quốc Hưng", "--signer-role", "head")
	c = show(t, srv, lead, id)
	a := addressee(t, c, xd)
	if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED {
		t.Fatalf("%s is %s after replying, want REPLIED", xd, a.GetState())
	}
	if r := a.GetReply(); r.GetRevision() != 2 || r.GetComment() != second || r.GetPosition() != tacitv1.Position_POSITION_DISAGREE {
		t.Errorf("reply in force = %v, want revision 2 disagreeing with %q", r, second)
	}
	if n := len(a.GetRevisions()); n != 2 {
		t.Fatalf("%d revisions kept, want both", n)
	}
	for i, want := range []string{first, second} {
		r := a.GetRevisions()[i]
		if r.GetRevision() != int32(i+1) || r.GetComment() != want || r.GetPosition() != tacitv1.Position_POSITION_DISAGREE ||
			r.GetSigner().GetName() != "Trần Quốc Hưng" || r.GetSigner().GetRole() != tacitv1.SignerRole_SIGNER_ROLE_HEAD ||
			r.GetRepliedBy() != "agency:"+xd || r.GetReplyTime() == nil {
			t.Errorf("revision %d = %v", i+1, r)
		}
	}

	// so-tai-chinh asks for two more working days; the lead grants them.
	mustRun(t, srv, tc, "extend", id, "--by", "2wd", "--reason", "Cần lấy ý kiến Kho bạc Nhà nước")
	c = show(t, srv, lead, id)
	a = addressee(t, c, tc)
	if len(a.GetExtensions()) != 1 || a.GetExtensions()[0].GetState() != tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED {
		t.Fatalf("after extend, extensions = %v", a.GetExtensions())
	}
	if !a.GetDeadline().AsTime().Equal(tcDeadline) {
		t.Errorf("asking for an extension moved the deadline to %s", a.GetDeadline().AsTime())
	}
	mustRun(t, srv, lead, "extension", "grant", id, "--agency", tc, "--reason", "Đồng ý gia hạn")
	c = show(t, srv, lead, id)
	a = addressee(t, c, tc)
	x := a.GetExtensions()[0]
	if x.GetState() != tacitv1.ExtensionState_EXTENSION_STATE_GRANTED {
		t.Errorf("extension state %s, want GRANTED", x.GetState())
	}
	if got := a.GetDeadline().AsTime(); !got.After(tcDeadline) || !got.Equal(x.GetRequestedDeadline().AsTime()) {
		t.Errorf("%s deadline after grant = %s; want the requested %s, later than %s", tc, got, x.GetRequestedDeadline().AsTime(), tcDeadline)
	}
	if got := addressee(t, c, xd).GetDeadline().AsTime(); !got.Equal(xdDeadline) {
		t.Errorf("granting %s's extension moved %s's deadline from %s to %s", tc, xd, xdDeadline, got)
	}
	if !c.GetDeadline().AsTime().Equal(openDeadline) {
		t.Errorf("granting an extension moved the consultation's deadline from %s to %s", openDeadline, c.GetDeadline().AsTime())
	}

	// Conclusion is refused while so-tai-chinh has not replied.
	mustFail(t, srv, lead, []string{"conclude", id, "--summary", "Tổng hợp ý kiến"}, exitPrecondition, "FAILED_PRECONDITION", tc)
	if c2 := show(t, srv, lead, id); c2.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
		t.Fatalf("a refused conclusion left the consultation %s", c2.GetState())
	}

	mustRun(t, srv, tc, "reply", id, "--position", "agree", "--signer", "Đỗ Thị Hồng Nhung", "--signer-role", "deputy")

	// so-xay-dung disagreed: the lead must state its own proposal.
	mustFail(t, srv, lead, []string{"conclude", id, "--summary", "Tổng hợp ý kiến"}, exitPrecondition, "FAILED_PRECONDITION", "proposal", xd)
	if c2 := show(t, srv, lead, id); c2.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN || c2.GetConclusion() != nil {
		t.Fatalf("a refused conclusion changed the consultation: %v", c2)
	}
	const proposal = "Trình UBND tỉnh giữ chỉ tiêu đất giao thông, bổ sung 12 ha đất cây xanh"
	mustRun(t, srv, lead, "conclude", id, "--summary", "Sở Tài chính đồng ý; Sở Xây dựng không đồng ý", "--proposal", proposal)
	c = show(t, srv, "auditor:auditor", id)
	if c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_CONCLUDED {
		t.Fatalf("state %s after conclude, want CONCLUDED", c.GetState())
	}
	if cc := c.GetConclusion(); cc.GetProposal() != proposal || cc.GetConcludedBy() != "agency:"+lead || cc.GetConcludeTime() == nil {
		t.Errorf("conclusion = %v", cc)
	}

	// Nothing more is accepted once concluded.
	mustFail(t, srv, tc, []string{"reply", id, "--position", "disagree", "--comment", "Đổi ý", "--signer", "Phạm Minh Khoa", "--signer-role", "head"},
		exitPrecondition, "FAILED_PRECONDITION", "concluded")
	sameRecord(t, "a reply after conclusion", c, show(t, srv, "auditor:auditor", id))
}

// 2. Silence past the deadline is agreement, dated at the deadline, with
// the head responsible.
func TestDeemedApprovalFromSilence(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	const title = "Quy hoạch phân khu đô thị Hạ Long — lấy ý kiến lần 2 (điều chỉnh)"
	id := openCLI(t, srv, "so-nnmt", "--title", title, "--field", "urban-planning", "--to", "so-xay-dung",
		"--legal-basis", "Luật Quy hoạch đô thị và nông thôn 2024", "--within", "1s")

	var ag tacitv1.GetAgencyResponse
	decodeJSON(t, mustRun(t, srv, "so-nnmt", "agency", "show", "so-xay-dung", "-o", "json"), &ag)
	head := ag.GetAgency().GetHead()
	if head == "" {
		t.Fatal("agency show so-xay-dung gives no head")
	}

	c := waitDeemed(t, srv, "so-nnmt", id, "so-xay-dung")
	a := addressee(t, c, "so-xay-dung")
	deadline := a.GetDeadline().AsTime()
	if want := c.GetCreateTime().AsTime().Add(time.Second); !deadline.Equal(want) {
		t.Errorf("deadline %s, want opening + 1s = %s", deadline, want)
	}
	d := a.GetDeemedApproval()
	if d == nil {
		t.Fatal("DEEMED_APPROVED without deemedApproval")
	}
	if got := d.GetEffectiveTime().AsTime(); !got.Equal(deadline) {
		t.Errorf("deemed approval effective %s, want the deadline %s", got, deadline)
	}
	if d.GetResponsibleHead() != head {
		t.Errorf("responsible head %q, want so-xay-dung's head %q", d.GetResponsibleHead(), head)
	}
	if d.GetRule() == "" {
		t.Error("deemed approval cites no rule")
	}

	// A late reply is refused and says when the deadline passed.
	stderr := mustFail(t, srv, "so-xay-dung", []string{"reply", id, "--position", "disagree", "--comment", "Trả lời muộn", "--signer", head, "--signer-role", "head"},
		exitPrecondition, "FAILED_PRECONDITION", "deadline", "passed", "deemed to agree")
	if when := deadline.In(vnZone).Format("2006-01-02 15:04:05"); !strings.Contains(stderr, when) {
		t.Errorf("the refusal does not say when the deadline passed (%s):\n%s", when, stderr)
	}
	after := show(t, srv, "so-nnmt", id)
	if a := addressee(t, after, "so-xay-dung"); a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED || a.GetReply() != nil || len(a.GetRevisions()) != 0 {
		t.Errorf("after the refused late reply: %v", a)
	}

	// The auditor's CSV keeps the Vietnamese title, with a BOM for spreadsheets.
	out := mustRun(t, srv, "auditor:auditor", "list", "-o", "csv")
	if !strings.HasPrefix(out, "\xef\xbb\xbf") {
		t.Fatalf("CSV does not start with a UTF-8 BOM: %q", out[:min(len(out), 20)])
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, out)
	}
	found := false
	for _, r := range rows[1:] {
		if len(r) > 3 && r[0] == id {
			found = true
			if r[3] != title {
				t.Errorf("CSV title %q, want %q", r[3], title)
			}
		}
	}
	if !found {
		t.Errorf("consultation %s missing from CSV:\n%s", id, out)
	}

	// The responsible head is whoever headed the agency at the deadline:
	// a later change of head does not move the responsibility.
	const newHead = "Nguyễn Thành Công"
	regFile := filepath.Join(t.TempDir(), "registry.json")
	if err := os.WriteFile(regFile, []byte(`{"agencies": [{"code": "so-xay-dung", "name": "Sở Xây dựng", "level": "provincial",
		"head": "`+newHead+`", "deputies": ["Bùi Văn Tùng", "Lê Thị Mai Hương"], "mandate": ["construction", "urban-planning", "housing", "transport"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, srv, "admin:admin", "agency", "import", regFile)
	decodeJSON(t, mustRun(t, srv, "so-nnmt", "agency", "show", "so-xay-dung", "-o", "json"), &ag)
	if ag.GetAgency().GetHead() != newHead {
		t.Fatalf("after the import so-xay-dung's head is %q, want %q", ag.GetAgency().GetHead(), newHead)
	}
	if got := addressee(t, show(t, srv, "auditor:auditor", id), "so-xay-dung").GetDeemedApproval().GetResponsibleHead(); got != head {
		t.Errorf("after a change of head the deemed approval names %q, want %q who was head at the deadline", got, head)
	}
	id2 := openCLI(t, srv, "so-nnmt", "--title", "Lấy ý kiến sau khi thay đổi thủ trưởng", "--field", "housing", "--to", "so-xay-dung",
		"--legal-basis", "Luật Nhà ở 2023", "--within", "1s")
	c2 := waitDeemed(t, srv, "so-nnmt", id2, "so-xay-dung")
	if got := addressee(t, c2, "so-xay-dung").GetDeemedApproval().GetResponsibleHead(); got != newHead {
		t.Errorf("a deadline passed under the new head names %q, want %q", got, newHead)
	}
}

// 3a. Malformed requests to open are INVALID_ARGUMENT with one violation per
// problem, and store nothing.
func TestOpenRejectsMalformedInput(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	lead := grpcClient(t, srv, "so-nnmt")
	valid := func(edit func(r *tacitv1.OpenConsultationRequest)) *tacitv1.OpenConsultationRequest {
		r := &tacitv1.OpenConsultationRequest{
			Title: "Dự thảo Quyết định ban hành bảng giá đất", LegalBasis: "Luật Đất đai 2024, Điều 159",
			Fields: []string{"land", "urban-planning"}, Addressees: []string{"so-xay-dung", "so-tai-chinh"},
			DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: 5},
		}
		edit(r)
		return r
	}
	cases := []struct {
		name  string
		req   *tacitv1.OpenConsultationRequest
		want  []string // BadRequest field paths
		words []string // in the CLI's error text besides the paths
	}{
		{"missing title", valid(func(r *tacitv1.OpenConsultationRequest) { r.Title = "" }), []string{"title"}, []string{"required"}},
		{"blank title", valid(func(r *tacitv1.OpenConsultationRequest) { r.Title = "   " }), []string{"title"}, []string{"required"}},
		{"missing legal basis", valid(func(r *tacitv1.OpenConsultationRequest) { r.LegalBasis = "" }), []string{"legal_basis"}, []string{"required"}},
		{"missing addressees", valid(func(r *tacitv1.OpenConsultationRequest) { r.Addressees = nil }), []string{"addressees"}, []string{"required"}},
		{"missing fields", valid(func(r *tacitv1.OpenConsultationRequest) { r.Fields = nil }), []string{"fields"}, []string{"required"}},
		{"everything missing", &tacitv1.OpenConsultationRequest{}, []string{"title", "legal_basis", "fields", "addressees"}, nil},
		{"unknown field code", valid(func(r *tacitv1.OpenConsultationRequest) { r.Fields = []string{"land", "dat-dai"} }), []string{"fields[1]"}, []string{"dat-dai"}},
		{"duplicate addressee", valid(func(r *tacitv1.OpenConsultationRequest) {
			r.Addressees = []string{"so-xay-dung", "so-tai-chinh", "so-xay-dung"}
		}), []string{"addressees[2]"}, []string{"twice"}},
		{"self addressee", valid(func(r *tacitv1.OpenConsultationRequest) { r.Addressees = []string{"so-xay-dung", "so-nnmt"} }), []string{"addressees[1]"}, []string{"so-nnmt"}},
		{"deadline in the past", valid(func(r *tacitv1.OpenConsultationRequest) {
			r.DeadlineSpec = &tacitv1.OpenConsultationRequest_Deadline{Deadline: timestamppb.New(time.Now().Add(-48 * time.Hour).Truncate(time.Second))}
		}), []string{"deadline"}, []string{"not in the future"}},
		{"oversize title", valid(func(r *tacitv1.OpenConsultationRequest) { r.Title = strings.Repeat("đ", 501) }), []string{"title"}, []string{"501", "500"}},
		{"two problems at once", valid(func(r *tacitv1.OpenConsultationRequest) {
			r.Title, r.Fields = "", []string{"khong-co"}
		}), []string{"title", "fields[0]"}, nil},
	}

	before := len(listAll(t, srv))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			words := append([]string{"INVALID_ARGUMENT"}, tc.words...)
			for _, f := range tc.want {
				words = append(words, "- "+f+":")
			}
			mustFail(t, srv, "so-nnmt", openArgs(tc.req), exitInvalid, words...)

			_, err := lead.consult.OpenConsultation(rpcCtx(t), tc.req)
			st := wantCode(t, err, codes.InvalidArgument)
			if got := fieldViolations(st); !sameSet(got, tc.want) {
				t.Errorf("BadRequest field violations %q, want %q", got, tc.want)
			}
		})
	}
	if after := len(listAll(t, srv)); after != before {
		t.Errorf("rejected requests stored consultations: %d before, %d after", before, after)
	}
}

// 3a'. Text that is not UTF-8 is INVALID_ARGUMENT naming the field (not
// INTERNAL), and stores nothing. The Go protobuf library refuses to send
// such a request, so the wire bytes are patched by hand.
func TestOpenRejectsInvalidUTF8(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	const placeholder = "TITLE-PLACEHOLDER"
	wire, err := proto.Marshal(&tacitv1.OpenConsultationRequest{
		Title: placeholder, LegalBasis: "Luật Đất đai 2024", Fields: []string{"land.prices"}, Addressees: []string{"so-tai-chinh"},
		DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	bad := []byte("Gi\xe1 \xc4\x91\xff\xfe\x80 ch\xfanh!!")
	if len(bad) != len(placeholder) || utf8.Valid(bad) {
		t.Fatalf("bad title: %d bytes, want %d, and not UTF-8", len(bad), len(placeholder))
	}
	wire = bytes.Replace(wire, []byte(placeholder), bad, 1)

	before := len(listAll(t, srv))
	lead := grpcClient(t, srv, "so-nnmt")
	var out []byte
	err = lead.conn.Invoke(rpcCtx(t), tacitv1.ConsultationService_OpenConsultation_FullMethodName, wire, &out, grpc.ForceCodec(rawCodec{}))
	st := wantCode(t, err, codes.InvalidArgument)
	if got := fieldViolations(st); !slices.Equal(got, []string{"title"}) {
		t.Errorf("field violations %q, want [title]", got)
	}
	if after := len(listAll(t, srv)); after != before {
		t.Errorf("a request with invalid UTF-8 stored a consultation: %d before, %d after", before, after)
	}
}

// rawCodec sends and receives already-encoded protobuf bytes.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) ([]byte, error) { return v.([]byte), nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}

// 3b. A deadline under the server's minimum notice is refused.
func TestOpenRejectsDeadlineUnderMinimumNotice(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "--min-notice", "1h")
	req := &tacitv1.OpenConsultationRequest{
		Title: "Dự thảo gấp", LegalBasis: "Luật Đất đai 2024", Fields: []string{"urban-planning"}, Addressees: []string{"so-xay-dung"},
		DeadlineSpec: &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(30 * time.Minute)},
	}
	before := len(listAll(t, srv))
	mustFail(t, srv, "so-nnmt", openArgs(req), exitInvalid, "INVALID_ARGUMENT", "- within:", "notice")
	_, err := grpcClient(t, srv, "so-nnmt").consult.OpenConsultation(rpcCtx(t), req)
	st := wantCode(t, err, codes.InvalidArgument)
	if got := fieldViolations(st); !slices.Equal(got, []string{"within"}) {
		t.Errorf("field violations %q, want [within]", got)
	}
	if after := len(listAll(t, srv)); after != before {
		t.Errorf("a rejected request stored a consultation: %d before, %d after", before, after)
	}
	// Two hours is enough notice.
	req.DeadlineSpec = &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(2 * time.Hour)}
	openCLI(t, srv, "so-nnmt", openArgs(req)[1:]...)
}

// 3c. Addressees that may not be consulted are FAILED_PRECONDITION, one
// violation per addressee, and the whole request is rejected.
func TestOpenRejectsIneligibleAddressees(t *testing.T) {
	t.Parallel()
	srv := startServer(t)

	// Deactivate so-gddt through an administrator's import.
	regFile := filepath.Join(t.TempDir(), "registry.json")
	if err := os.WriteFile(regFile, []byte(`{"agencies": [{"code": "so-gddt", "name": "Sở Giáo dục và Đào tạo", "level": "provincial",
		"head": "Đinh Thị Thanh Hà", "mandate": ["education"], "active": false}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, srv, "admin:admin", "agency", "import", regFile)

	lead := grpcClient(t, srv, "so-nnmt")
	req := func(fields []string, to ...string) *tacitv1.OpenConsultationRequest {
		return &tacitv1.OpenConsultationRequest{
			Title: "Đề án điều chỉnh quy hoạch khu đô thị ven biển", LegalBasis: "Nghị quyết HĐND tỉnh số 12/NQ-HĐND",
			Fields: fields, Addressees: to, DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: 10},
		}
	}
	landUrban := []string{"land", "urban-planning"}
	cases := []struct {
		name string
		req  *tacitv1.OpenConsultationRequest
		want []string // violation subjects
	}{
		{"unknown agency", req(landUrban, "so-xay-dung", "so-khong-ton-tai"), []string{"so-khong-ton-tai"}},
		{"inactive agency", req([]string{"education", "land"}, "so-gddt"), []string{"so-gddt"}},
		{"outside mandate", req([]string{"land"}, "so-y-te"), []string{"so-y-te"}},
		{"higher level without reason", req([]string{"urban-planning"}, "bo-xay-dung"), []string{"bo-xay-dung"}},
		{"mixed with eligible addressees", req(landUrban, "so-xay-dung", "so-khong-ton-tai", "so-y-te", "bo-xay-dung", "so-tai-chinh"),
			[]string{"so-khong-ton-tai", "so-y-te", "bo-xay-dung"}},
	}
	before := len(listAll(t, srv))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mustFail(t, srv, "so-nnmt", openArgs(tc.req), exitPrecondition, append([]string{"FAILED_PRECONDITION"}, tc.want...)...)
			_, err := lead.consult.OpenConsultation(rpcCtx(t), tc.req)
			st := wantCode(t, err, codes.FailedPrecondition)
			vs := preconditionViolations(st)
			if got := subjects(vs); !slices.Equal(got, tc.want) {
				t.Errorf("violation subjects %q, want exactly %q (one per ineligible addressee)", got, tc.want)
			}
			for _, v := range vs {
				if !strings.Contains(v.GetDescription(), v.GetSubject()) {
					t.Errorf("violation for %s does not name it: %q", v.GetSubject(), v.GetDescription())
				}
				if v.GetSubject() == "so-y-te" {
					for _, f := range append([]string{"health"}, tc.req.GetFields()...) {
						if !strings.Contains(v.GetDescription(), f) {
							t.Errorf("outside-mandate violation does not name %q: %q", f, v.GetDescription())
						}
					}
				}
				if v.GetSubject() == "bo-xay-dung" && !strings.Contains(v.GetDescription(), "reason") {
					t.Errorf("escalation violation does not ask for a reason: %q", v.GetDescription())
				}
			}
		})
	}
	if after := len(listAll(t, srv)); after != before {
		t.Errorf("rejected requests stored consultations: %d before, %d after", before, after)
	}

	// With a stated reason the escalation passes and the reason is kept.
	const reason = "Dự án liên vùng, thuộc thẩm quyền hướng dẫn của Bộ Xây dựng"
	r := req([]string{"urban-planning"}, "bo-xay-dung")
	r.EscalationReason = reason
	id := openCLI(t, srv, "so-nnmt", openArgs(r)[1:]...)
	c := show(t, srv, "auditor:auditor", id)
	if c.GetEscalationReason() != reason {
		t.Errorf("escalation reason %q, want %q", c.GetEscalationReason(), reason)
	}
	if !addressee(t, c, "bo-xay-dung").GetEscalated() {
		t.Error("bo-xay-dung is not marked as an escalation")
	}
	if after := len(listAll(t, srv)); after != before+1 {
		t.Errorf("%d consultations after one successful open, want %d", after, before+1)
	}
}

// 3d. Replies, revisions and extension requests at or after the deadline
// are refused and change nothing.
func TestRefusedAfterDeadline(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	id := openCLI(t, srv, "so-nnmt", "--title", "Phương án bồi thường, hỗ trợ, tái định cư", "--field", "land,urban-planning",
		"--to", "so-xay-dung,so-tai-chinh", "--legal-basis", "Luật Đất đai 2024, Điều 87", "--within", "3s")
	mustRun(t, srv, "so-xay-dung", "reply", id, "--position", "agree", "--signer", "Bùi Văn Tùng", "--signer-role", "deputy")
	c := waitDeemed(t, srv, "so-nnmt", id, "so-tai-chinh")
	// Wait for the sweeper to persist, so reads before and after compare.
	waitFor(t, 10*time.Second, "the deemed approval to be recorded", func() bool {
		c = show(t, srv, "so-nnmt", id)
		return addressee(t, c, "so-tai-chinh").GetDeemedApproval().GetRecorded()
	})

	mustFail(t, srv, "so-xay-dung", []string{"reply", id, "--position", "disagree", "--comment", "Sửa ý kiến", "--signer", "Bùi Văn Tùng", "--signer-role", "deputy"},
		exitPrecondition, "FAILED_PRECONDITION", "passed", "revision 1")
	mustFail(t, srv, "so-tai-chinh", []string{"reply", id, "--position", "agree", "--signer", "Phạm Minh Khoa", "--signer-role", "head"},
		exitPrecondition, "FAILED_PRECONDITION", "passed", "deemed to agree")
	mustFail(t, srv, "so-tai-chinh", []string{"extend", id, "--by", "3wd", "--reason", "Xin thêm thời gian"},
		exitPrecondition, "FAILED_PRECONDITION", "passed", "deemed to agree")
	sameRecord(t, "refused late actions", c, show(t, srv, "so-nnmt", id))
}

// 3e. A withdrawn consultation accepts nothing.
func TestRefusedOnWithdrawn(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	id := openCLI(t, srv, "so-nnmt", "--title", "Dự thảo bị thay thế", "--field", "land", "--to", "so-tai-chinh",
		"--legal-basis", "Luật Đất đai 2024", "--within", "5wd")
	mustRun(t, srv, "so-nnmt", "withdraw", id, "--reason", "Hồ sơ được thay thế bằng dự thảo mới")
	c := show(t, srv, "so-nnmt", id)
	if c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_WITHDRAWN || c.GetWithdrawal().GetReason() == "" {
		t.Fatalf("after withdraw: %v", c)
	}
	for _, tc := range []struct {
		as   string
		args []string
	}{
		{"so-tai-chinh", []string{"reply", id, "--position", "agree", "--signer", "Phạm Minh Khoa", "--signer-role", "head"}},
		{"so-tai-chinh", []string{"extend", id, "--by", "2wd", "--reason", "Xin thêm thời gian"}},
		{"so-nnmt", []string{"conclude", id, "--summary", "Kết luận"}},
		{"so-nnmt", []string{"withdraw", id, "--reason", "Lần nữa"}},
	} {
		mustFail(t, srv, tc.as, tc.args, exitPrecondition, "FAILED_PRECONDITION", "withdrawn")
	}
	sameRecord(t, "actions on a withdrawn consultation", c, show(t, srv, "so-nnmt", id))
}

// 3f. Conclusion needs every reply (or deemed approval), and a proposal
// when opinions differ; the Go client sees who is missing.
func TestConcludeRefusedWhilePendingOrDisagreeing(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	id := openCLI(t, srv, "so-nnmt", "--title", "Đề án sắp xếp khu dân cư", "--field", "land,urban-planning",
		"--to", "so-xay-dung,so-tai-chinh", "--legal-basis", "Luật Đất đai 2024", "--within", "5wd")
	lead := grpcClient(t, srv, "so-nnmt")

	mustRun(t, srv, "so-xay-dung", "reply", id, "--position", "disagree", "--comment", "Chưa phù hợp quy hoạch chung", "--signer", "Trần Quốc Hưng", "--signer-role", "head")
	before := show(t, srv, "so-nnmt", id)
	_, err := lead.consult.ConcludeConsultation(rpcCtx(t), &tacitv1.ConcludeConsultationRequest{ConsultationId: id, Summary: "Kết luận", Proposal: "Đề xuất"})
	st := wantCode(t, err, codes.FailedPrecondition)
	if got := subjects(preconditionViolations(st)); !slices.Equal(got, []string{"so-tai-chinh"}) {
		t.Errorf("pending violation subjects %q, want [so-tai-chinh]", got)
	}
	sameRecord(t, "a conclusion while pending", before, show(t, srv, "so-nnmt", id))

	mustRun(t, srv, "so-tai-chinh", "reply", id, "--position", "agree", "--signer", "Phạm Minh Khoa", "--signer-role", "head")
	before = show(t, srv, "so-nnmt", id)
	_, err = lead.consult.ConcludeConsultation(rpcCtx(t), &tacitv1.ConcludeConsultationRequest{ConsultationId: id, Summary: "Kết luận"})
	st = wantCode(t, err, codes.FailedPrecondition)
	vs := preconditionViolations(st)
	if got := subjects(vs); !slices.Equal(got, []string{"proposal"}) {
		t.Errorf("disagreement violation subjects %q, want [proposal]", got)
	} else if !strings.Contains(vs[0].GetDescription(), "so-xay-dung") {
		t.Errorf("the violation does not say who disagreed: %q", vs[0].GetDescription())
	}
	mustFail(t, srv, "so-nnmt", []string{"conclude", id, "--summary", "Kết luận"}, exitPrecondition, "FAILED_PRECONDITION", "proposal")
	sameRecord(t, "a conclusion without proposal", before, show(t, srv, "so-nnmt", id))
}

// 3g. Identity comes from a certificate of this server's CA, and nothing
// else.
func TestAuthentication(t *testing.T) {
	t.Parallel()
	srv := startServer(t)

	// No client certificate at all.
	conf, err := srv.serverOnlyTLS()
	if err != nil {
		t.Fatal(err)
	}
	anon := dialTLS(t, srv, conf)
	_, err = anon.consult.ListConsultations(rpcCtx(t), &tacitv1.ListConsultationsRequest{})
	wantCode(t, err, codes.Unauthenticated)
	_, err = anon.consult.OpenConsultation(rpcCtx(t), &tacitv1.OpenConsultationRequest{
		Title: "Không chứng thư", LegalBasis: "Không", Fields: []string{"land"}, Addressees: []string{"so-tai-chinh"},
	})
	wantCode(t, err, codes.Unauthenticated)

	// A certificate for so-nnmt from another CA.
	other := filepath.Join(t.TempDir(), "other-pki")
	if _, stderr, code := runBin(t, "pki", "init", "--dir", other); code != 0 {
		t.Fatalf("pki init: exit %d\n%s", code, stderr)
	}
	if _, stderr, code := runBin(t, "pki", "issue", "--dir", other, "--principal", "so-nnmt"); code != 0 {
		t.Fatalf("pki issue: exit %d\n%s", code, stderr)
	}
	certFile, keyFile := pki.ClientFiles(other, pki.Agency("so-nnmt"))
	caFile, _ := pki.CAFiles(srv.pki)
	fconf, err := pki.ClientTLSConfig(certFile, keyFile, caFile, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	foreign := dialTLS(t, srv, fconf)
	before := len(listAll(t, srv))
	_, err = foreign.consult.OpenConsultation(rpcCtx(t), &tacitv1.OpenConsultationRequest{
		Title: "Chứng thư lạ", LegalBasis: "Không", Fields: []string{"land"}, Addressees: []string{"so-tai-chinh"},
	})
	wantCode(t, err, codes.Unauthenticated)
	_, _, code := runBin(t, "--server", srv.addr, "--cert", certFile, "--key", keyFile, "--ca", caFile,
		"open", "--title", "Chứng thư lạ", "--field", "land", "--to", "so-tai-chinh", "--legal-basis", "Không")
	if code != exitDenied {
		t.Errorf("CLI with a foreign certificate: exit %d, want %d", code, exitDenied)
	}
	stdout, stderr, _ := runBin(t, "--server", srv.addr, "--cert", certFile, "--key", keyFile, "--ca", caFile, "list")
	if !strings.Contains(stderr, "UNAUTHENTICATED") {
		t.Errorf("CLI with a foreign certificate: stderr lacks UNAUTHENTICATED:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if after := len(listAll(t, srv)); after != before {
		t.Errorf("an unauthenticated open stored a consultation: %d before, %d after", before, after)
	}
}

// 3h. Principals acting outside their role, or on consultations they are
// not party to, are denied.
func TestPermissionDenied(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	open := []string{"open", "--title", "Kiểm toán mở hồ sơ", "--field", "land", "--to", "so-tai-chinh", "--legal-basis", "Luật Đất đai 2024", "--within", "5wd"}
	before := len(listAll(t, srv))
	mustFail(t, srv, "auditor:auditor", open, exitDenied, "PERMISSION_DENIED")
	mustFail(t, srv, "admin:admin", open, exitDenied, "PERMISSION_DENIED")
	if after := len(listAll(t, srv)); after != before {
		t.Errorf("denied opens stored consultations: %d before, %d after", before, after)
	}

	id := openCLI(t, srv, "so-nnmt", open[1:]...)
	c := show(t, srv, "so-nnmt", id)
	mustFail(t, srv, "so-y-te", []string{"show", id}, exitDenied, "PERMISSION_DENIED")
	mustFail(t, srv, "so-y-te", []string{"reply", id, "--position", "agree", "--signer", "Hồ Đức Thịnh", "--signer-role", "head"}, exitDenied, "PERMISSION_DENIED")
	mustFail(t, srv, "auditor:auditor", []string{"withdraw", id, "--reason", "Không"}, exitDenied, "PERMISSION_DENIED")
	_, err := grpcClient(t, srv, "so-y-te").consult.GetConsultation(rpcCtx(t), &tacitv1.GetConsultationRequest{Id: id})
	wantCode(t, err, codes.PermissionDenied)
	var list tacitv1.ListConsultationsResponse
	decodeJSON(t, mustRun(t, srv, "so-y-te", "list", "-o", "json"), &list)
	for _, k := range list.GetConsultations() {
		if k.GetId() == id {
			t.Errorf("so-y-te's list shows consultation %s it is not party to", id)
		}
	}
	mustFail(t, srv, "so-nnmt", []string{"show", "999999"}, exitNotFound, "NOT_FOUND")
	sameRecord(t, "denied actions", c, show(t, srv, "so-nnmt", id))
}

// 4. An agency cannot act for another.
func TestAgencyCannotActForAnother(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	id := openCLI(t, srv, "so-nnmt", "--title", "Dự thảo quy hoạch giao thông đô thị", "--field", "urban-planning,land",
		"--to", "so-xay-dung,so-tai-chinh", "--legal-basis", "Luật Quy hoạch 2017", "--within", "5wd")
	mustRun(t, srv, "so-xay-dung", "extend", id, "--by", "2wd", "--reason", "Cần khảo sát hiện trạng")
	before := show(t, srv, "auditor:auditor", id)

	// so-y-te cannot answer in so-xay-dung's place: there is no way to name
	// another agency, and its own certificate is not an addressee's.
	mustFail(t, srv, "so-y-te", []string{"reply", id, "--position", "agree", "--signer", "Trần Quốc Hưng", "--signer-role", "head"}, exitDenied, "PERMISSION_DENIED")
	mustFail(t, srv, "so-y-te", []string{"extend", id, "--by", "2wd", "--reason", "Thay mặt Sở Xây dựng"}, exitDenied, "PERMISSION_DENIED")
	yte := grpcClient(t, srv, "so-y-te")
	_, err := yte.consult.Reply(rpcCtx(t), &tacitv1.ReplyRequest{ConsultationId: id, Position: tacitv1.Position_POSITION_AGREE,
		Signer: &tacitv1.Signer{Name: "Trần Quốc Hưng", Role: tacitv1.SignerRole_SIGNER_ROLE_HEAD}})
	wantCode(t, err, codes.PermissionDenied)

	// so-xay-dung cannot withdraw so-nnmt's consultation, nor decide
	// extensions on it (not even its own request), nor conclude it.
	mustFail(t, srv, "so-xay-dung", []string{"withdraw", id, "--reason", "Không cần thiết"}, exitDenied, "PERMISSION_DENIED")
	mustFail(t, srv, "so-xay-dung", []string{"extension", "grant", id, "--agency", "so-xay-dung"}, exitDenied, "PERMISSION_DENIED")
	mustFail(t, srv, "so-xay-dung", []string{"extension", "refuse", id, "--agency", "so-xay-dung"}, exitDenied, "PERMISSION_DENIED")
	mustFail(t, srv, "so-tai-chinh", []string{"extension", "grant", id, "--agency", "so-xay-dung"}, exitDenied, "PERMISSION_DENIED")
	mustFail(t, srv, "so-xay-dung", []string{"conclude", id, "--summary", "Kết luận thay"}, exitDenied, "PERMISSION_DENIED")
	xd := grpcClient(t, srv, "so-xay-dung")
	_, err = xd.consult.DecideExtension(rpcCtx(t), &tacitv1.DecideExtensionRequest{ConsultationId: id, Agency: "so-xay-dung",
		Decision: tacitv1.ExtensionDecision_EXTENSION_DECISION_GRANT})
	wantCode(t, err, codes.PermissionDenied)
	_, err = xd.consult.WithdrawConsultation(rpcCtx(t), &tacitv1.WithdrawConsultationRequest{ConsultationId: id, Reason: "Không"})
	wantCode(t, err, codes.PermissionDenied)

	// The lead is not consulted on its own consultation either.
	mustFail(t, srv, "so-nnmt", []string{"reply", id, "--position", "agree", "--signer", "Nguyễn Văn Thiện", "--signer-role", "head"}, exitDenied, "PERMISSION_DENIED")

	sameRecord(t, "attempts to act for another agency", before, show(t, srv, "auditor:auditor", id))
}

// 5. A deadline that passes while the service is down is honoured at the
// deadline, and the sweeper records it at start-up.
func TestRestartAcrossDeadline(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	srv := startServerOn(t, data, "")
	id := openCLI(t, srv, "so-nnmt", "--title", "Dự thảo trong lúc bảo trì", "--field", "urban-planning", "--to", "so-xay-dung",
		"--legal-basis", "Luật Quy hoạch đô thị và nông thôn 2024", "--within", "3s")
	c := show(t, srv, "so-nnmt", id)
	deadline := addressee(t, c, "so-xay-dung").GetDeadline().AsTime()
	if code := srv.Stop(); code != 0 {
		t.Fatalf("tacit serve exited %d after SIGTERM, want 0\n%s", code, srv.Log())
	}
	stoppedBefore := time.Now().Before(deadline)
	if stoppedBefore && strings.Contains(srv.Log(), "sweeper: deemed approvals recorded") {
		t.Errorf("the first server recorded a deemed approval before the deadline:\n%s", srv.Log())
	}
	if !stoppedBefore {
		t.Logf("the server stopped only after the deadline; the restart still must show it")
	}
	sleepUntil(t, deadline)

	srv2 := startServerOn(t, data, srv.addr)
	c = show(t, srv2, "so-nnmt", id)
	a := addressee(t, c, "so-xay-dung")
	if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
		t.Fatalf("after the restart so-xay-dung is %s, want DEEMED_APPROVED", a.GetState())
	}
	if got := a.GetDeemedApproval().GetEffectiveTime().AsTime(); !got.Equal(deadline) {
		t.Errorf("deemed approval effective %s, want the deadline %s", got, deadline)
	}
	waitFor(t, 10*time.Second, "the deemed approval to be recorded after the restart", func() bool {
		return addressee(t, show(t, srv2, "so-nnmt", id), "so-xay-dung").GetDeemedApproval().GetRecorded()
	})
	if got := addressee(t, show(t, srv2, "so-nnmt", id), "so-xay-dung").GetDeemedApproval().GetEffectiveTime().AsTime(); !got.Equal(deadline) {
		t.Errorf("recorded deemed approval effective %s, want the deadline %s", got, deadline)
	}
	waitFor(t, 5*time.Second, "the sweeper's log line", func() bool {
		return strings.Contains(srv2.Log(), "sweeper: deemed approvals recorded")
	})
	if code := srv2.Stop(); code != 0 {
		t.Errorf("the restarted server exited %d after SIGTERM, want 0", code)
	}
}

// 6. Two servers cannot share a data folder.
func TestSecondServerOnSameDataFolderRefused(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	start := time.Now()
	stdout, stderr, code := runBin(t, "serve", "--data", srv.data, "--listen", freeAddr(t), "--demo", "--min-notice", "0s")
	elapsed := time.Since(start)
	if code == 0 {
		t.Errorf("a second tacit serve on %s exited 0", srv.data)
	}
	if elapsed > 5*time.Second {
		t.Errorf("the second tacit serve took %s to give up, want a few seconds at most", elapsed)
	}
	low := strings.ToLower(stderr)
	if !strings.Contains(low, "locked") && !strings.Contains(low, "in use") {
		t.Errorf("the second server does not say the folder is locked or in use:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if err := srv.healthOnce(); err != nil {
		t.Errorf("the first server is no longer healthy: %v", err)
	}
}

// 7. Retries with the same request_id return the first result.
func TestOpenIdempotentWithRequestID(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	lead := grpcClient(t, srv, "so-nnmt")
	req := func(rid string) *tacitv1.OpenConsultationRequest {
		return &tacitv1.OpenConsultationRequest{
			RequestId: rid, Title: "Dự thảo bảng giá đất điều chỉnh", LegalBasis: "Luật Đất đai 2024, Điều 159",
			Fields: []string{"land.prices"}, Addressees: []string{"so-tai-chinh"},
			DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: 7},
		}
	}
	first, err := lead.consult.OpenConsultation(rpcCtx(t), req("8d3b2c1e-0001"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := lead.consult.OpenConsultation(rpcCtx(t), req("8d3b2c1e-0001"))
	if err != nil {
		t.Fatal(err)
	}
	if again.GetConsultation().GetId() != first.GetConsultation().GetId() {
		t.Errorf("a retry with the same request_id opened %s, want the first %s", again.GetConsultation().GetId(), first.GetConsultation().GetId())
	}
	other, err := lead.consult.OpenConsultation(rpcCtx(t), req("8d3b2c1e-0002"))
	if err != nil {
		t.Fatal(err)
	}
	if other.GetConsultation().GetId() == first.GetConsultation().GetId() {
		t.Errorf("a different request_id returned the same consultation %s", other.GetConsultation().GetId())
	}
	// The same request_id from another principal is another request.
	fin, err := grpcClient(t, srv, "so-tai-chinh").consult.OpenConsultation(rpcCtx(t), &tacitv1.OpenConsultationRequest{
		RequestId: "8d3b2c1e-0001", Title: "Dự toán ngân sách cho công tác đo đạc", LegalBasis: "Luật Ngân sách nhà nước 2015",
		Fields: []string{"land.prices"}, Addressees: []string{"so-nnmt"},
		DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: 7},
	})
	if err != nil {
		t.Fatal(err)
	}
	if id := fin.GetConsultation().GetId(); id == first.GetConsultation().GetId() || id == other.GetConsultation().GetId() {
		t.Errorf("so-tai-chinh's request with so-nnmt's request_id returned so-nnmt's consultation %s", id)
	}
	if n := len(listAll(t, srv)); n != 3 {
		t.Errorf("%d consultations stored, want 3", n)
	}

	// A request_id names one request: reused for something else, it is
	// refused, naming the field, and nothing is done; a replay of the first
	// result would have told the caller a different request was done.
	_, err = lead.consult.OpenConsultation(rpcCtx(t), &tacitv1.OpenConsultationRequest{
		RequestId: "8d3b2c1e-0001", Title: "Một việc khác", LegalBasis: "Luật Đất đai 2024",
		Fields: []string{"land.prices"}, Addressees: []string{"so-tai-chinh"},
		DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: 7},
	})
	if st := wantCode(t, err, codes.InvalidArgument); !slices.Equal(fieldViolations(st), []string{"request_id"}) {
		t.Errorf("opening something else with a used request_id: violations %v, want [request_id]", fieldViolations(st))
	}
	fin2 := grpcClient(t, srv, "so-tai-chinh")
	signer := &tacitv1.Signer{Name: "Nguyễn Văn Tài", Role: tacitv1.SignerRole_SIGNER_ROLE_HEAD}
	if _, err := fin2.consult.Reply(rpcCtx(t), &tacitv1.ReplyRequest{RequestId: "reply-1", ConsultationId: first.GetConsultation().GetId(),
		Position: tacitv1.Position_POSITION_AGREE, Signer: signer}); err != nil {
		t.Fatal(err)
	}
	_, err = fin2.consult.Reply(rpcCtx(t), &tacitv1.ReplyRequest{RequestId: "reply-1", ConsultationId: other.GetConsultation().GetId(),
		Position: tacitv1.Position_POSITION_AGREE, Signer: signer})
	if st := wantCode(t, err, codes.InvalidArgument); !slices.Equal(fieldViolations(st), []string{"request_id"}) || !strings.Contains(st.Message(), "new request_id") {
		t.Errorf("a reply reusing a request_id on another consultation: violations %v, message %q; want [request_id] and what to do", fieldViolations(st), st.Message())
	}
	got, err := lead.consult.GetConsultation(rpcCtx(t), &tacitv1.GetConsultationRequest{Id: other.GetConsultation().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if s := got.GetConsultation().GetAddressees()[0].GetState(); s != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
		t.Errorf("after the refused reply, so-tai-chinh is %v on consultation %s, want PENDING", s, other.GetConsultation().GetId())
	}
}

// 8. Vietnamese text round-trips exactly and sorts properly.
func TestVietnameseRoundTripAndCollation(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	const (
		title = "Dự thảo Nghị quyết về giá đất — điều chỉnh"
		basis = "Luật Đất đai số 31/2024/QH15; Nghị định 71/2024/NĐ-CP"
		sum   = "Đề nghị các sở cho ý kiến về hệ số điều chỉnh giá đất (K) năm 2026: khu vực phường Hạ Long, Bãi Cháy"
	)
	if !norm.NFC.IsNormalString(title) {
		t.Fatal("the test title itself is not NFC")
	}
	id := openCLI(t, srv, "so-nnmt", "--title", title, "--legal-basis", basis, "--summary", sum, "--field", "land.prices", "--to", "so-tai-chinh", "--within", "5wd")
	for _, as := range []string{"so-nnmt", "so-tai-chinh", "auditor:auditor"} {
		c := show(t, srv, as, id)
		if !bytes.Equal([]byte(c.GetTitle()), []byte(title)) || c.GetLegalBasis() != basis || c.GetSummary() != sum {
			t.Errorf("as %s: title %q, legal basis %q, summary %q; want them byte-identical", as, c.GetTitle(), c.GetLegalBasis(), c.GetSummary())
		}
		if c.GetLeadName() != "Sở Nông nghiệp và Môi trường" {
			t.Errorf("lead name %q", c.GetLeadName())
		}
	}
	if out := mustRun(t, srv, "so-nnmt", "show", id); !strings.Contains(out, title) {
		t.Errorf("the table view does not show the title intact:\n%s", out)
	}

	var res tacitv1.ListAgenciesResponse
	decodeJSON(t, mustRun(t, srv, "so-nnmt", "agency", "list", "-o", "json"), &res)
	var names, codesJSON []string
	for _, a := range res.GetAgencies() {
		names = append(names, a.GetName())
		codesJSON = append(codesJSON, a.GetCode())
	}
	if len(names) < 20 {
		t.Fatalf("agency list has %d agencies", len(names))
	}
	col := collate.New(language.Vietnamese)
	for i := 1; i < len(names); i++ {
		if col.CompareString(names[i-1], names[i]) > 0 {
			t.Errorf("agency list not in Vietnamese order: %q before %q", names[i-1], names[i])
		}
	}
	firstWith := func(prefix string) int {
		return slices.IndexFunc(names, func(n string) bool { return strings.HasPrefix(n, prefix) })
	}
	order := []string{"Ban Quản lý", "Bộ ", "Công an tỉnh", "Sở ", "Thanh tra tỉnh", "Ủy ban nhân dân", "Văn phòng UBND"}
	for i := 1; i < len(order); i++ {
		a, b := firstWith(order[i-1]), firstWith(order[i])
		if a < 0 || b < 0 || a > b {
			t.Errorf("%q (at %d) should come before %q (at %d) in %q", order[i-1], a, order[i], b, names)
		}
	}
	// The table lists the same agencies in the same order.
	table := strings.Split(strings.TrimSpace(mustRun(t, srv, "so-nnmt", "agency", "list")), "\n")
	var codesTable []string
	for _, line := range table[1:] {
		codesTable = append(codesTable, strings.Fields(line)[0])
	}
	if !slices.Equal(codesTable, codesJSON) {
		t.Errorf("table order %q differs from json order %q", codesTable, codesJSON)
	}
}

// Client commands find the server's PKI by default (./tacit-data/pki) and
// take --server and --as from TACIT_SERVER and TACIT_AS.
func TestClientDefaultsAndEnvironment(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	srv := startServerOn(t, filepath.Join(work, "tacit-data"), "")
	env := []string{"TACIT_SERVER=" + srv.addr, "TACIT_AS=so-nnmt"}
	stdout, stderr, code := runIn(t, work, env, "open", "--title", "Mở bằng biến môi trường", "--field", "land.prices",
		"--to", "so-tai-chinh", "--legal-basis", "Luật Giá 2023", "--within", "5wd")
	if code != 0 {
		t.Fatalf("open with TACIT_SERVER/TACIT_AS and the default PKI: exit %d\n%s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	if c := show(t, srv, "so-tai-chinh", id); c.GetLead() != "so-nnmt" || c.GetOpenedBy() != "agency:so-nnmt" {
		t.Errorf("opened as lead %q by %q, want so-nnmt from TACIT_AS", c.GetLead(), c.GetOpenedBy())
	}
	// --as on the command line wins over TACIT_AS.
	if _, stderr, code := runIn(t, work, env, "--as", "so-tai-chinh", "reply", id, "--position", "agree", "--signer", "Phạm Minh Khoa", "--signer-role", "head"); code != 0 {
		t.Errorf("reply with --as over TACIT_AS: exit %d\n%s", code, stderr)
	}
	// TACIT_PKI points elsewhere.
	if _, stderr, code := runIn(t, t.TempDir(), append(env, "TACIT_PKI="+srv.pki), "show", id); code != 0 {
		t.Errorf("show with TACIT_PKI: exit %d\n%s", code, stderr)
	}
}

// 9. grpcurl-style tooling works: health and reflection, without a client
// certificate.
func TestHealthAndReflection(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	conf, err := srv.serverOnlyTLS()
	if err != nil {
		t.Fatal(err)
	}
	anon := dialTLS(t, srv, conf)
	health := healthpb.NewHealthClient(anon.conn)
	for _, svc := range []string{"", "tacit.v1.ConsultationService"} {
		res, err := health.Check(rpcCtx(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("health check %q: %v", svc, err)
		}
		if res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health %q = %s, want SERVING", svc, res.GetStatus())
		}
	}

	stream, err := reflectionpb.NewServerReflectionClient(anon.conn).ServerReflectionInfo(rpcCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	res, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var services []string
	for _, s := range res.GetListServicesResponse().GetService() {
		services = append(services, s.GetName())
	}
	for _, want := range []string{"tacit.v1.ConsultationService", "tacit.v1.RegistryService", "tacit.v1.AuditService", "grpc.health.v1.Health"} {
		if !slices.Contains(services, want) {
			t.Errorf("reflection lists %q, missing %s", services, want)
		}
	}
	// Reflection describes the service too.
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "tacit.v1.ConsultationService"}}); err != nil {
		t.Fatal(err)
	}
	res, err = stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
		t.Errorf("reflection gave no file descriptor for tacit.v1.ConsultationService: %v", res)
	}
	_ = stream.CloseSend()
}
