package consultation_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/registry"
)

// Fixed instants. Nothing in these tests reads the wall clock.
var (
	loc = calendar.Location()
	// now is Monday 2 March 2026, 09:00 in Hà Nội: the opening instant.
	now = time.Date(2026, 3, 2, 9, 0, 0, 0, loc)
	// deadline5wd is the end of Monday 9 March, the 5th working day after
	// the opening day: 2026-03-10 00:00 +07.
	deadline5wd = time.Date(2026, 3, 10, 0, 0, 0, 0, loc)
	// registryTime is when the test registry was imported.
	registryTime = time.Date(2026, 1, 5, 8, 0, 0, 0, loc)
)

// Agency codes of the test registry.
const (
	lead      = "so-nnmt"          // provincial, mandate land + environment: the usual lead
	leadP     = "agency:so-nnmt"   // its principal
	xayDung   = "so-xay-dung"      // provincial, land.planning
	phuong    = "ubnd-phuong-bn"   // local, land
	yTe       = "so-y-te"          // provincial, health
	tuPhap    = "so-tu-phap"       // provincial, justice
	canhQuan  = "so-canh-quan"     // provincial, landscape
	boNNMT    = "bo-nnmt"          // central, land + environment
	boTuPhap  = "bo-tu-phap"       // central, justice
	soCu      = "so-tai-nguyen-cu" // provincial, land, INACTIVE
	xayDungP  = "agency:so-xay-dung"
	phuongP   = "agency:ubnd-phuong-bn"
	unrelated = yTe
)

var wdVersion = calendar.Vietnam().Version()

func boolp(b bool) *bool { return &b }

// testRegistry builds a small registry of fields and agencies at provincial,
// local and central levels, one of them inactive.
func testRegistry(t testing.TB) *registry.Registry {
	t.Helper()
	prov, local, central := tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, tacitv1.AgencyLevel_AGENCY_LEVEL_LOCAL, tacitv1.AgencyLevel_AGENCY_LEVEL_CENTRAL
	reg, _, err := registry.Empty().Apply(&tacitv1.ImportRegistryRequest{
		Fields: []*tacitv1.Field{
			{Code: "land", Name: "Đất đai"},
			{Code: "land.planning", Name: "Quy hoạch sử dụng đất"},
			{Code: "landscape", Name: "Cảnh quan"},
			{Code: "environment", Name: "Môi trường"},
			{Code: "health", Name: "Y tế"},
			{Code: "justice", Name: "Tư pháp"},
		},
		Agencies: []*tacitv1.AgencyInput{
			{Code: lead, Name: "Sở Nông nghiệp và Môi trường", Level: prov, Head: "Nguyễn Văn An", Mandate: []string{"land", "environment"}},
			{Code: xayDung, Name: "Sở Xây dựng", Level: prov, Head: "Trần Thị Bình", Deputies: []string{"Lê Văn Cường"}, Mandate: []string{"land.planning"}},
			{Code: phuong, Name: "UBND phường Bến Nghé", Level: local, Head: "Phạm Văn Dũng", Mandate: []string{"land"}},
			{Code: yTe, Name: "Sở Y tế", Level: prov, Head: "Hoàng Thị Em", Mandate: []string{"health"}},
			{Code: tuPhap, Name: "Sở Tư pháp", Level: prov, Head: "Vũ Văn Giang", Mandate: []string{"justice"}},
			{Code: canhQuan, Name: "Sở Cảnh quan", Level: prov, Head: "Đỗ Thị Hà", Mandate: []string{"landscape"}},
			{Code: boNNMT, Name: "Bộ Nông nghiệp và Môi trường", Level: central, Head: "Đặng Văn Khoa", Mandate: []string{"land", "environment"}},
			{Code: boTuPhap, Name: "Bộ Tư pháp", Level: central, Head: "Bùi Thị Lan", Mandate: []string{"justice"}},
			{Code: soCu, Name: "Sở Tài nguyên và Môi trường (cũ)", Level: prov, Head: "Ngô Văn Minh", Mandate: []string{"land"}, Active: boolp(false)},
		},
	}, registryTime)
	if err != nil {
		t.Fatalf("building the test registry: %v", err)
	}
	return reg
}

// baseRequest is a valid request: land matter, two eligible addressees of
// the same and of a lower level, 5 working days.
func baseRequest() *tacitv1.OpenConsultationRequest {
	return &tacitv1.OpenConsultationRequest{
		Title:        "Dự thảo Quyết định ban hành Bảng giá đất năm 2026",
		Summary:      "Xin ý kiến về bảng giá đất áp dụng từ 01/01/2026.",
		LegalBasis:   "Luật Đất đai 2024, Điều 159",
		Fields:       []string{"land"},
		Addressees:   []string{xayDung, phuong},
		DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: 5},
	}
}

func withWorkingDays(n int32) func(*tacitv1.OpenConsultationRequest) {
	return func(r *tacitv1.OpenConsultationRequest) {
		r.DeadlineSpec = &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: n}
	}
}

func withDuration(d time.Duration) func(*tacitv1.OpenConsultationRequest) {
	return func(r *tacitv1.OpenConsultationRequest) {
		r.DeadlineSpec = &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(d)}
	}
}

func withDeadline(t time.Time) func(*tacitv1.OpenConsultationRequest) {
	return func(r *tacitv1.OpenConsultationRequest) {
		r.DeadlineSpec = &tacitv1.OpenConsultationRequest_Deadline{Deadline: timestamppb.New(t)}
	}
}

func request(mods ...func(*tacitv1.OpenConsultationRequest)) *tacitv1.OpenConsultationRequest {
	r := baseRequest()
	for _, m := range mods {
		m(r)
	}
	return r
}

// opened opens a consultation led by `lead` at now and gives it an id, as
// storage would.
func opened(t testing.TB, mods ...func(*tacitv1.OpenConsultationRequest)) *tacitv1.Consultation {
	t.Helper()
	c, err := consultation.Open(consultation.DefaultConfig(), testRegistry(t), lead, leadP, request(mods...), now)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	c.Id, c.Name = "c-1", "consultations/c-1"
	return c
}

func agree() consultation.ReplyInput {
	return consultation.ReplyInput{Position: tacitv1.Position_POSITION_AGREE, SignerName: "Trần Thị Bình", SignerRole: tacitv1.SignerRole_SIGNER_ROLE_HEAD}
}

func disagree(why string) consultation.ReplyInput {
	return consultation.ReplyInput{Position: tacitv1.Position_POSITION_DISAGREE, Comment: why, SignerName: "Lê Văn Cường", SignerRole: tacitv1.SignerRole_SIGNER_ROLE_DEPUTY}
}

func mustReply(t testing.TB, c *tacitv1.Consultation, agency string, in consultation.ReplyInput, at time.Time) {
	t.Helper()
	if _, err := consultation.Reply(consultation.DefaultConfig(), c, agency, "agency:"+agency, in, at); err != nil {
		t.Fatalf("Reply(%s) at %s: %v", agency, at, err)
	}
}

// fakeHeads answers HeadAt with "<head of agency at instant>" and records
// the instants it was asked about.
type fakeHeads struct{ asked []string }

func (f *fakeHeads) headAt(agency string, t time.Time) string {
	s := fmt.Sprintf("head of %s at %s", agency, t.In(loc).Format(time.RFC3339Nano))
	f.asked = append(f.asked, s)
	return s
}

func noHeads(agency string, t time.Time) string { return "" }

// sv is a violation reduced to what callers match on.
type sv struct{ Subject, Type string }

var kindNames = map[fault.Kind]string{
	fault.Internal: "Internal", fault.Invalid: "Invalid", fault.FailedPrecondition: "FailedPrecondition",
	fault.NotFound: "NotFound", fault.PermissionDenied: "PermissionDenied", fault.Unauthenticated: "Unauthenticated",
	fault.Unavailable: "Unavailable",
}

// wantFault asserts err is a fault of kind with exactly the violations want
// (in order; nil means none are checked) and returns it.
func wantFault(t testing.TB, err error, kind fault.Kind, want []sv) *fault.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", kindNames[kind])
	}
	if got := fault.KindOf(err); got != kind {
		t.Fatalf("kind = %s, want %s (err: %v)", kindNames[got], kindNames[kind], err)
	}
	fe, ok := fault.As(err)
	if !ok {
		t.Fatalf("error %v is not a *fault.Error", err)
	}
	if want != nil {
		var got []sv
		for _, v := range fe.Violations {
			got = append(got, sv{v.Subject, v.Type})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("violations (-want +got):\n%s\nerr: %v", diff, err)
		}
	}
	return fe
}

// wantContains asserts s holds every part.
func wantContains(t testing.TB, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s = %q\nwant it to contain %q", what, s, p)
		}
	}
}

// unchanged fails when a rejected call changed the record.
func unchanged(t testing.TB, before, after *tacitv1.Consultation) {
	t.Helper()
	if !proto.Equal(before, after) {
		t.Errorf("a rejected request changed the consultation:\nbefore %v\nafter  %v", before, after)
	}
}

func clone(c *tacitv1.Consultation) *tacitv1.Consultation {
	return proto.Clone(c).(*tacitv1.Consultation)
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
