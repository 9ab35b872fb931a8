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
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/pki"
	"github.com/tacit-gov/tacit/pkg/storage"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

// t0 is a Monday morning in Hà Nội.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, calendar.Location())

type fixture struct {
	core    *Core
	clock   *clockwork.FakeClock
	consult ConsultationServer
	store   *bolt.Store
	dir     string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	return openFixture(t, dir, clockwork.NewFakeClockAt(t0), true)
}

func openFixture(t *testing.T, dir string, clock *clockwork.FakeClock, importRegistry bool) *fixture {
	t.Helper()
	st, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rules := consultation.Config{Calendar: calendar.Vietnam(), MinNotice: 0, DefaultWorkingDays: 15}
	core, err := NewCore(context.Background(), st, rules, clock, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if importRegistry {
		importAgencies(t, core, "Nguyễn Văn An")
	}
	return &fixture{core: core, clock: clock, consult: ConsultationServer{Core: core}, store: st, dir: dir}
}

func importAgencies(t *testing.T, core *Core, xdHead string) {
	t.Helper()
	req := &tacitv1.ImportRegistryRequest{
		Fields: []*tacitv1.Field{{Code: "land", Name: "Đất đai"}, {Code: "land.planning", Name: "Quy hoạch sử dụng đất"}, {Code: "construction", Name: "Xây dựng"}},
		Agencies: []*tacitv1.AgencyInput{
			{Code: "so-nnmt", Name: "Sở Nông nghiệp và Môi trường", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, Head: "Lê Thị Hoa", Mandate: []string{"land"}},
			{Code: "so-xay-dung", Name: "Sở Xây dựng", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, Head: xdHead, Mandate: []string{"construction", "land.planning"}},
			{Code: "so-tai-chinh", Name: "Sở Tài chính", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, Head: "Phạm Minh Khoa", Mandate: []string{"land"}},
		},
	}
	if _, err := core.ImportRegistry(context.Background(), "admin:admin", req); err != nil {
		t.Fatal(err)
	}
}

func as(p pki.Principal) context.Context {
	return context.WithValue(context.Background(), principalKey{}, p)
}

var (
	lead = pki.Agency("so-nnmt")
	xd   = pki.Agency("so-xay-dung")
	tc   = pki.Agency("so-tai-chinh")
)

func (f *fixture) open(t *testing.T, within time.Duration) *tacitv1.Consultation {
	t.Helper()
	res, err := f.consult.OpenConsultation(as(lead), &tacitv1.OpenConsultationRequest{
		Title: "Quy hoạch sử dụng đất", LegalBasis: "Luật Đất đai 2024", Fields: []string{"land.planning"},
		Addressees:   []string{"so-xay-dung", "so-tai-chinh"},
		DeadlineSpec: &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(within)},
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return res.GetConsultation()
}

func (f *fixture) get(t *testing.T, id string) *tacitv1.Consultation {
	t.Helper()
	res, err := f.consult.GetConsultation(as(pki.Auditor("auditor")), &tacitv1.GetConsultationRequest{Id: id})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	return res.GetConsultation()
}

func reply(f *fixture, p pki.Principal, id string) error {
	_, err := f.consult.Reply(as(p), &tacitv1.ReplyRequest{ConsultationId: id, Position: tacitv1.Position_POSITION_AGREE,
		Signer: &tacitv1.Signer{Name: "Trần Văn Bình", Role: tacitv1.SignerRole_SIGNER_ROLE_DEPUTY}})
	return toStatus(err)
}

func addressee(c *tacitv1.Consultation, agency string) *tacitv1.Addressee {
	return consultation.Addressee(c, agency)
}

// The moment of silence is decided by time: a read after the deadline shows
// the deemed approval, dated at the deadline, before anything is written.
func TestReadShowsDeemedApprovalBeforeSweeper(t *testing.T) {
	f := newFixture(t)
	c := f.open(t, time.Hour)
	deadline := c.GetDeadline().AsTime()
	f.clock.Advance(3 * time.Hour)

	got := addressee(f.get(t, c.GetId()), "so-xay-dung")
	if got.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
		t.Fatalf("state = %v, want DEEMED_APPROVED", got.GetState())
	}
	if eff := got.GetDeemedApproval().GetEffectiveTime().AsTime(); !eff.Equal(deadline) {
		t.Errorf("effective time = %v, want the deadline %v", eff, deadline)
	}
	if got.GetDeemedApproval().GetRecorded() {
		t.Error("recorded = true before any sweep")
	}
	if head := got.GetDeemedApproval().GetResponsibleHead(); head != "Nguyễn Văn An" {
		t.Errorf("responsible head = %q", head)
	}
}

// A reply counts strictly before the deadline; from the deadline on it is
// refused with a message saying when the deadline passed.
func TestReplyAtTheDeadline(t *testing.T) {
	f := newFixture(t)
	c := f.open(t, time.Hour)
	f.clock.Advance(time.Hour - time.Nanosecond)
	if err := reply(f, xd, c.GetId()); err != nil {
		t.Fatalf("reply one nanosecond before the deadline: %v", err)
	}
	f.clock.Advance(time.Nanosecond)
	err := reply(f, tc, c.GetId())
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("reply at the deadline: code %v, want FailedPrecondition (%v)", status.Code(err), err)
	}
	got := f.get(t, c.GetId())
	if s := addressee(got, "so-tai-chinh").GetState(); s != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
		t.Errorf("so-tai-chinh = %v, want DEEMED_APPROVED", s)
	}
	if s := addressee(got, "so-xay-dung").GetState(); s != tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED {
		t.Errorf("so-xay-dung = %v, want REPLIED", s)
	}
}

// The sweeper sleeps until the next deadline (no polling), then records the
// deemed approval dated at the deadline.
func TestSweeperWakesAtTheDeadline(t *testing.T) {
	f := newFixture(t)
	swept := make(chan int, 16)
	f.core.onSweep = func(n int, _ time.Time) { swept <- n }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); f.core.RunSweeper(ctx) }()
	defer func() { cancel(); <-done }()
	if n := <-swept; n != 0 {
		t.Fatalf("first sweep changed %d consultations, want 0", n)
	}

	c := f.open(t, 2*time.Hour) // wakes the sweeper, which then waits on a timer
	if n := <-swept; n != 0 {
		t.Fatalf("sweep after open changed %d", n)
	}
	if err := f.clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2*time.Hour - time.Second)
	// Not yet: the timer has not fired; the stored record is still pending.
	if rec, _ := f.store.Get(ctx, c.GetId()); addressee(rec, "so-xay-dung").GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
		t.Fatal("recorded before the deadline")
	}
	f.clock.Advance(time.Second)
	if n := <-swept; n != 1 {
		t.Fatalf("sweep at the deadline changed %d consultations, want 1", n)
	}
	rec, err := f.store.Get(ctx, c.GetId())
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"so-xay-dung", "so-tai-chinh"} {
		a := addressee(rec, code)
		if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED || !a.GetDeemedApproval().GetRecorded() {
			t.Errorf("%s stored as %v (recorded %v), want a recorded deemed approval", code, a.GetState(), a.GetDeemedApproval().GetRecorded())
		}
		if !a.GetDeemedApproval().GetEffectiveTime().AsTime().Equal(c.GetDeadline().AsTime()) {
			t.Errorf("%s effective %v, want %v", code, a.GetDeemedApproval().GetEffectiveTime().AsTime(), c.GetDeadline().AsTime())
		}
	}
	if _, ok, _ := f.store.NextDeadline(ctx); ok {
		t.Error("the deadline index still holds entries after the sweep")
	}
}

// Deadlines that passed while the service was down are recorded at start-up,
// dated at each deadline, not at start-up.
func TestCatchUpAfterDowntime(t *testing.T) {
	f := newFixture(t)
	first := f.open(t, time.Hour)
	second := f.open(t, 5*time.Hour)
	f.core.store.Close()

	clock := clockwork.NewFakeClockAt(t0.Add(48 * time.Hour)) // two days later
	g := openFixture(t, f.dir, clock, false)
	n, err := g.core.Sweep(context.Background(), clock.Now())
	if err != nil || n != 2 {
		t.Fatalf("catch-up sweep = %d, %v; want 2 consultations", n, err)
	}
	for _, c := range []*tacitv1.Consultation{first, second} {
		rec, _ := g.store.Get(context.Background(), c.GetId())
		for _, a := range rec.GetAddressees() {
			if !a.GetDeemedApproval().GetEffectiveTime().AsTime().Equal(c.GetDeadline().AsTime()) {
				t.Errorf("consultation %s %s dated %v, want its deadline %v", c.GetId(), a.GetAgency(), a.GetDeemedApproval().GetEffectiveTime().AsTime(), c.GetDeadline().AsTime())
			}
		}
	}
	v, err := g.store.VerifyAudit(context.Background())
	if err != nil || !v.Intact {
		t.Fatalf("audit chain after catch-up: %+v, %v", v, err)
	}
}

// The head responsible is the one in office at the deadline, even when the
// registry changes before anyone reads or sweeps.
func TestResponsibleHeadIsTheHeadAtTheDeadline(t *testing.T) {
	f := newFixture(t)
	c := f.open(t, time.Hour)
	f.clock.Advance(2 * time.Hour)
	importAgencies(t, f.core, "Hoàng Thị Mai") // a new head takes office after the deadline
	a := addressee(f.get(t, c.GetId()), "so-xay-dung")
	if got := a.GetDeemedApproval().GetResponsibleHead(); got != "Nguyễn Văn An" {
		t.Errorf("responsible head = %q, want the head at the deadline, Nguyễn Văn An", got)
	}
}

// A grant moves only that addressee's deadline and the sweeper follows it.
func TestExtensionMovesOnlyThatDeadline(t *testing.T) {
	f := newFixture(t)
	c := f.open(t, 2*time.Hour)
	_, err := f.consult.RequestExtension(as(tc), &tacitv1.RequestExtensionRequest{ConsultationId: c.GetId(), Reason: "Cần thêm thời gian", UntilSpec: &tacitv1.RequestExtensionRequest_ByWorkingDays{ByWorkingDays: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.consult.DecideExtension(as(lead), &tacitv1.DecideExtensionRequest{ConsultationId: c.GetId(), Agency: "so-tai-chinh", Decision: tacitv1.ExtensionDecision_EXTENSION_DECISION_GRANT}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(3 * time.Hour)
	if _, err := f.core.Sweep(context.Background(), f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	got := f.get(t, c.GetId())
	if s := addressee(got, "so-xay-dung").GetState(); s != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
		t.Errorf("so-xay-dung = %v, want DEEMED_APPROVED at the original deadline", s)
	}
	if s := addressee(got, "so-tai-chinh").GetState(); s != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
		t.Errorf("so-tai-chinh = %v, want PENDING until its extended deadline", s)
	}
	// Opened Monday 09:00, +2h deadline Monday 11:00; +2 working days = end of Wednesday.
	want := time.Date(2026, 3, 5, 0, 0, 0, 0, calendar.Location())
	if d := addressee(got, "so-tai-chinh").GetDeadline().AsTime(); !d.Equal(want) {
		t.Errorf("extended deadline = %v, want %v", d, want)
	}
	if next, ok, _ := f.store.NextDeadline(context.Background()); !ok || !next.Equal(want) {
		t.Errorf("next deadline in the index = %v %v, want %v", next, ok, want)
	}
}

// A rejected request stores nothing — no record, no id — but the attempt
// and its reasons stay on the audit trail and count against the lead.
func TestRejectedOpenStoresNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	before, _ := f.store.ListEvents(ctx, storageEvents())
	_, err := f.consult.OpenConsultation(as(lead), &tacitv1.OpenConsultationRequest{
		Title: "x", LegalBasis: "y", Fields: []string{"land.planning"}, Addressees: []string{"so-xay-dung", "nobody"},
	})
	if status.Code(toStatus(err)) != codes.FailedPrecondition {
		t.Fatalf("code = %v, want FailedPrecondition", status.Code(toStatus(err)))
	}
	after, _ := f.store.ListEvents(ctx, storageEvents())
	if len(after) != len(before)+1 {
		t.Fatalf("audit entries %d -> %d, want one more (the refused attempt)", len(before), len(after))
	}
	if e := after[len(after)-1]; e.GetType() != consultation.EventOpenRejected || e.GetActor() != "agency:so-nnmt" || !strings.Contains(e.GetDetails(), "nobody") {
		t.Errorf("refusal recorded as %v", e)
	}
	if cs, _, _ := f.store.List(ctx, storage.ListQuery{}); len(cs) != 0 {
		t.Errorf("%d consultations stored after a refusal", len(cs))
	}
	figs, _ := f.store.AgencyFigures(ctx, storage.StatsQuery{})
	if figs["so-nnmt"].Rejected != 1 || figs["so-nnmt"].Opened != 0 {
		t.Errorf("lead figures = %+v, want one rejected attempt and nothing opened", figs["so-nnmt"])
	}
	if c := f.open(t, time.Hour); c.GetId() != "1" {
		t.Errorf("first stored consultation got id %q, want 1: the rejected one consumed an id", c.GetId())
	}
}

func storageEvents() storage.EventQuery { return storage.EventQuery{Limit: 1000} }

// A retry long after the deadlines answers from the first result, as it
// did before they passed: it costs no write, and it neither opens another
// consultation nor records anything.
func TestReplayAfterTheDeadlineWritesNothing(t *testing.T) {
	f := newFixture(t)
	req := &tacitv1.OpenConsultationRequest{
		RequestId: "req-1", Title: "Quy hoạch sử dụng đất", LegalBasis: "Luật Đất đai 2024", Fields: []string{"land.planning"},
		Addressees:   []string{"so-xay-dung", "so-tai-chinh"},
		DeadlineSpec: &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(time.Hour)},
	}
	first, err := f.consult.OpenConsultation(as(lead), req)
	if err != nil {
		t.Fatal(err)
	}
	id := first.GetConsultation().GetId()
	if err := reply(f, xd, id); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Hour)
	if _, err := f.core.Sweep(context.Background(), f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	before, err := f.store.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := f.consult.OpenConsultation(as(lead), req)
		if err != nil {
			t.Fatal(err)
		}
		if again.GetConsultation().GetId() != id || len(addressee(again.GetConsultation(), "so-xay-dung").GetRevisions()) != 0 {
			t.Errorf("replay = consultation %s with so-xay-dung %v, want the first result of %s (before any reply)", again.GetConsultation().GetId(), addressee(again.GetConsultation(), "so-xay-dung"), id)
		}
	}
	after, err := f.store.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if after.Consultations != before.Consultations || after.AuditEntries != before.AuditEntries || after.PageWrites != before.PageWrites {
		t.Errorf("replays changed the store: %+v -> %+v", before, after)
	}
}

// A retry that names the consultation the other accepted way
// ("consultations/N" for "N") is the same request: it replays.
func TestRetryNamingTheConsultationOtherwiseReplays(t *testing.T) {
	f := newFixture(t)
	id := f.open(t, time.Hour).GetId()
	req := func(cid string) *tacitv1.ReplyRequest {
		return &tacitv1.ReplyRequest{RequestId: "reply-1", ConsultationId: cid, Position: tacitv1.Position_POSITION_AGREE,
			Signer: &tacitv1.Signer{Name: "Trần Văn Bình", Role: tacitv1.SignerRole_SIGNER_ROLE_DEPUTY}}
	}
	if _, err := f.consult.Reply(as(xd), req(id)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.consult.Reply(as(xd), req("consultations/"+id)); err != nil {
		t.Fatalf("retry naming consultations/%s: %v, want the first result", id, err)
	}
	if n := len(addressee(f.get(t, id), "so-xay-dung").GetRevisions()); n != 1 {
		t.Errorf("so-xay-dung has %d replies recorded, want 1", n)
	}
}

// onWire is res as a client receives it: ListDeemedApprovals sends its
// records in their stored wire form, which only decoding shows.
func onWire(t testing.TB, res *tacitv1.ListDeemedApprovalsResponse) *tacitv1.ListDeemedApprovalsResponse {
	t.Helper()
	if res == nil {
		return nil
	}
	b, err := proto.Marshal(res)
	if err != nil {
		t.Fatalf("encoding the response: %v", err)
	}
	out := &tacitv1.ListDeemedApprovalsResponse{}
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatalf("decoding the response: %v", err)
	}
	return out
}
