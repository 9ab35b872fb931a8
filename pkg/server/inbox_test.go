package server

// Tests of the inbox stream (WatchInbox), reminders and who is notified of
// what. The clock is fake and nothing sleeps: streams are served in-process
// by a real gRPC server on bufconn, and the tests wait on what the streams
// deliver or on the sweeper's hook.

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/durationpb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/pki"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
	"github.com/tacit-gov/tacit/pkg/storage/storagetest"
)

// outsider is an agency no consultation of the scenarios concerns.
var outsider = pki.Agency("so-tu-phap")

// inboxWait bounds every wait for a streamed event. It is a safety net for
// a broken build, not a timing assumption: events arrive in microseconds.
const inboxWait = 20 * time.Second

// newInboxFixture is newFixture with reminders one working day before each
// deadline (the server's default) and one more agency, the outsider.
func newInboxFixture(t testing.TB) *fixture {
	t.Helper()
	return openInboxFixture(t, t.TempDir(), clockwork.NewFakeClockAt(t0), true)
}

func openInboxFixture(t testing.TB, dir string, clock *clockwork.FakeClock, importRegistry bool) *fixture {
	t.Helper()
	st, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rules := consultation.Config{Calendar: calendar.Vietnam(), MinNotice: 0, DefaultWorkingDays: 15, Reminder: consultation.DefaultReminder}
	core, err := NewCore(context.Background(), st, rules, clock, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if importRegistry {
		importInboxAgencies(t, core)
		req := &tacitv1.ImportRegistryRequest{Agencies: []*tacitv1.AgencyInput{
			{Code: outsider.Name, Name: "Sở Tư pháp", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, Head: "Đỗ Văn Nam", Mandate: []string{"construction"}},
		}}
		if _, err := core.ImportRegistry(context.Background(), "admin:admin", req); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{core: core, clock: clock, consult: ConsultationServer{Core: core}, store: st, dir: dir}
}

// importInboxAgencies is importAgencies of server_test.go, for tests and
// benchmarks alike.
func importInboxAgencies(tb testing.TB, core *Core) {
	tb.Helper()
	req := &tacitv1.ImportRegistryRequest{
		Fields: []*tacitv1.Field{{Code: "land", Name: "Đất đai"}, {Code: "land.planning", Name: "Quy hoạch sử dụng đất"}, {Code: "construction", Name: "Xây dựng"}},
		Agencies: []*tacitv1.AgencyInput{
			{Code: "so-nnmt", Name: "Sở Nông nghiệp và Môi trường", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, Head: "Lê Thị Hoa", Mandate: []string{"land"}},
			{Code: "so-xay-dung", Name: "Sở Xây dựng", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, Head: "Nguyễn Văn An", Mandate: []string{"construction", "land.planning"}},
			{Code: "so-tai-chinh", Name: "Sở Tài chính", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, Head: "Phạm Minh Khoa", Mandate: []string{"land"}},
		},
	}
	if _, err := core.ImportRegistry(context.Background(), "admin:admin", req); err != nil {
		tb.Fatal(err)
	}
}

// --- an in-process gRPC server on bufconn ---

// principalHeader carries the caller in these tests; the interceptor puts
// it in the context the way the certificate check does in production.
const principalHeader = "x-test-principal"

type inboxServer struct {
	lis  *bufconn.Listener
	gs   *grpc.Server
	done chan struct{}
}

// serveInbox serves core's ConsultationService on a bufconn listener until
// the test ends.
func serveInbox(tb testing.TB, core *Core) *inboxServer {
	tb.Helper()
	s := &inboxServer{lis: bufconn.Listen(256 << 10), done: make(chan struct{})}
	principal := func(ctx context.Context) (context.Context, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		v := md.Get(principalHeader)
		if len(v) != 1 {
			return nil, status.Error(codes.Unauthenticated, "no test principal")
		}
		p, err := pki.ParsePrincipal(v[0])
		if err != nil {
			return nil, status.Error(codes.Unauthenticated, err.Error())
		}
		return context.WithValue(ctx, principalKey{}, p), nil
	}
	s.gs = grpc.NewServer(
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			ctx, err := principal(ctx)
			if err != nil {
				return nil, err
			}
			res, err := h(ctx, req)
			return res, toStatus(err)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			ctx, err := principal(ss.Context())
			if err != nil {
				return err
			}
			return toStatus(h(srv, wrappedStream{ss, ctx}))
		}),
	)
	tacitv1.RegisterConsultationServiceServer(s.gs, ConsultationServer{Core: core})
	go func() { defer close(s.done); _ = s.gs.Serve(s.lis) }()
	tb.Cleanup(func() {
		core.StopWatchers()
		s.gs.Stop()
		<-s.done
	})
	return s
}

// dial opens a client connection to the bufconn server.
func (s *inboxServer) dial(tb testing.TB) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return s.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

func asCaller(ctx context.Context, p pki.Principal) context.Context {
	return metadata.AppendToOutgoingContext(ctx, principalHeader, p.String())
}

// inboxStream is one WatchInbox stream read by a goroutine.
type inboxStream struct {
	who    pki.Principal
	events chan *tacitv1.InboxEvent // closed when the stream ends
	err    error                    // why it ended; valid once events is closed
	cancel context.CancelFunc
	done   chan struct{}
}

// watchInbox opens a stream as p after a sequence. The stream is cancelled
// when the test ends.
func watchInbox(tb testing.TB, conn *grpc.ClientConn, p pki.Principal, after uint64) *inboxStream {
	tb.Helper()
	ctx, cancel := context.WithCancel(asCaller(context.Background(), p))
	stream, err := tacitv1.NewConsultationServiceClient(conn).WatchInbox(ctx, &tacitv1.WatchInboxRequest{AfterSequence: after})
	if err != nil {
		cancel()
		tb.Fatalf("WatchInbox as %s: %v", p, err)
	}
	s := &inboxStream{who: p, events: make(chan *tacitv1.InboxEvent, 4096), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(s.events)
		for {
			res, err := stream.Recv()
			if err != nil {
				s.err = err
				return
			}
			s.events <- res.GetEvent()
		}
	}()
	tb.Cleanup(func() { cancel(); <-s.done })
	return s
}

// next is the next event of the stream.
func (s *inboxStream) next(tb testing.TB) *tacitv1.InboxEvent {
	tb.Helper()
	select {
	case e, ok := <-s.events:
		if !ok {
			tb.Fatalf("the stream of %s ended: %v", s.who, s.err)
		}
		return e
	case <-time.After(inboxWait):
		tb.Fatalf("no event for %s within %s", s.who, inboxWait)
	}
	return nil
}

// take is the next n events.
func (s *inboxStream) take(tb testing.TB, n int) []*tacitv1.InboxEvent {
	tb.Helper()
	out := make([]*tacitv1.InboxEvent, 0, n)
	for range n {
		out = append(out, s.next(tb))
	}
	return out
}

// end waits for the stream to end and returns why.
func (s *inboxStream) end(tb testing.TB) error {
	tb.Helper()
	select {
	case <-s.done:
		return s.err
	case <-time.After(inboxWait):
		tb.Fatalf("the stream of %s did not end within %s", s.who, inboxWait)
	}
	return nil
}

// --- what an inbox should hold ---

// want is an expected inbox event: its type, consultation and agency.
type want struct{ typ, id, agency string }

func (w want) String() string { return w.typ + " " + w.id + " " + w.agency }

func describe(evs []*tacitv1.InboxEvent) []want {
	out := make([]want, len(evs))
	for i, e := range evs {
		out[i] = want{e.GetType(), e.GetConsultationId(), e.GetAgency()}
	}
	return out
}

func sequences(evs []*tacitv1.InboxEvent) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.GetSequence()
	}
	return out
}

func checkIncreasing(t testing.TB, who string, evs []*tacitv1.InboxEvent) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].GetSequence() <= evs[i-1].GetSequence() {
			t.Errorf("%s: sequence %d follows %d: sequences must grow strictly (%v)", who, evs[i].GetSequence(), evs[i-1].GetSequence(), sequences(evs))
			return
		}
	}
}

func checkInbox(t *testing.T, who string, got []*tacitv1.InboxEvent, wants []want) {
	t.Helper()
	if !slices.Equal(describe(got), wants) {
		t.Errorf("%s's inbox:\n got  %v\n want %v", who, describe(got), wants)
	}
	checkIncreasing(t, who, got)
}

// storedInbox is the whole inbox of an agency as the store has it.
func storedInbox(t testing.TB, f *fixture, agency string, after uint64) []*tacitv1.InboxEvent {
	t.Helper()
	evs, err := f.store.ListInbox(context.Background(), agency, after, 100000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*tacitv1.InboxEvent, len(evs))
	for i, e := range evs {
		out[i] = inboxEvent(e)
	}
	return out
}

// --- actions ---

func (f *fixture) openTo(t testing.TB, addressees []string, fields []string, spec *tacitv1.OpenConsultationRequest) *tacitv1.Consultation {
	t.Helper()
	req := &tacitv1.OpenConsultationRequest{Title: "Điều chỉnh quy hoạch", LegalBasis: "Luật Đất đai 2024", Fields: fields, Addressees: addressees}
	if spec != nil {
		req.DeadlineSpec = spec.DeadlineSpec
	}
	res, err := f.consult.OpenConsultation(as(lead), req)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return res.GetConsultation()
}

func withinWorkingDays(n int32) *tacitv1.OpenConsultationRequest {
	return &tacitv1.OpenConsultationRequest{DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: n}}
}

func within(d time.Duration) *tacitv1.OpenConsultationRequest {
	return &tacitv1.OpenConsultationRequest{DeadlineSpec: &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(d)}}
}

// openBoth opens, as the lead, a consultation addressed to so-xay-dung and
// so-tai-chinh, due in n working days.
func (f *fixture) openBoth(t testing.TB, n int32) *tacitv1.Consultation {
	t.Helper()
	return f.openTo(t, []string{"so-xay-dung", "so-tai-chinh"}, []string{"land.planning"}, withinWorkingDays(n))
}

// openForOutsider opens a consultation addressed to the outsider only.
func (f *fixture) openForOutsider(t testing.TB) *tacitv1.Consultation {
	t.Helper()
	return f.openTo(t, []string{outsider.Name}, []string{"construction"}, within(time.Hour))
}

func must[T any](t testing.TB, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func (f *fixture) askExtension(t testing.TB, p pki.Principal, id string, days int32) {
	t.Helper()
	must[*tacitv1.RequestExtensionResponse](t, p.String()+" asks for an extension")(f.consult.RequestExtension(as(p), &tacitv1.RequestExtensionRequest{
		ConsultationId: id, Reason: "Cần thêm thời gian thẩm định", UntilSpec: &tacitv1.RequestExtensionRequest_ByWorkingDays{ByWorkingDays: days}}))
}

func (f *fixture) decide(t testing.TB, id, agency string, grant bool) {
	t.Helper()
	d := tacitv1.ExtensionDecision_EXTENSION_DECISION_REFUSE
	if grant {
		d = tacitv1.ExtensionDecision_EXTENSION_DECISION_GRANT
	}
	must[*tacitv1.DecideExtensionResponse](t, "the lead decides")(f.consult.DecideExtension(as(lead), &tacitv1.DecideExtensionRequest{ConsultationId: id, Agency: agency, Decision: d}))
}

func (f *fixture) sweep(t testing.TB) int {
	t.Helper()
	n, err := f.core.Sweep(context.Background(), f.clock.Now())
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	return n
}

// --- the tests ---

// Who receives what: a consulted agency learns of requests, reminders,
// decisions on its extensions, the end of a consultation and its own
// deemed approval; the lead learns of replies, revisions, extension
// requests, each addressee's deemed approval and, once, that all are
// settled; an agency concerned by nothing receives nothing. Events arrive
// live on open streams, in strictly increasing sequence, exactly as stored.
func TestInboxEventsReachTheRightAgencies(t *testing.T) {
	f := newInboxFixture(t)
	conn := serveInbox(t, f.core).dial(t)
	wx, wt, wl, wo := watchInbox(t, conn, xd, 0), watchInbox(t, conn, tc, 0), watchInbox(t, conn, lead, 0), watchInbox(t, conn, outsider, 0)

	// Monday 09:00: two consultations due in three working days (end of
	// Thursday); reminders at the start of Thursday.
	c1 := f.openBoth(t, 3)
	c2 := f.openBoth(t, 3)
	id1, id2 := c1.GetId(), c2.GetId()
	remindAt := time.Date(2026, 3, 5, 0, 0, 0, 0, calendar.Location())
	for _, a := range c1.GetAddressees() {
		if got := a.GetReminderTime().AsTime(); !got.Equal(remindAt) {
			t.Fatalf("%s: reminder at %v, want the start of the last working day, %v", a.GetAgency(), got, remindAt)
		}
	}
	// Consultation 2: extensions asked, one refused and one granted; a reply
	// and its revision; then the lead withdraws it.
	f.askExtension(t, xd, id2, 2)
	f.decide(t, id2, "so-xay-dung", false)
	f.askExtension(t, tc, id2, 2)
	f.decide(t, id2, "so-tai-chinh", true)
	if err := reply(f, xd, id2); err != nil {
		t.Fatal(err)
	}
	if err := reply(f, xd, id2); err != nil {
		t.Fatal(err)
	}
	must[*tacitv1.WithdrawConsultationResponse](t, "withdraw")(f.consult.WithdrawConsultation(as(lead), &tacitv1.WithdrawConsultationRequest{ConsultationId: id2, Reason: "Dự án tạm dừng"}))

	// Consultation 1: the reminders, then silence past the deadline.
	f.clock.Advance(remindAt.Sub(f.clock.Now()) + time.Minute)
	if n := f.sweep(t); n != 1 {
		t.Fatalf("reminder sweep changed %d consultations, want 1", n)
	}
	if n := f.sweep(t); n != 0 {
		t.Fatalf("a second sweep changed %d consultations, want 0", n)
	}
	f.clock.Advance(24 * time.Hour)
	if n := f.sweep(t); n != 1 {
		t.Fatalf("deadline sweep changed %d consultations, want 1", n)
	}
	if n := f.sweep(t); n != 0 {
		t.Fatalf("a second sweep changed %d consultations, want 0", n)
	}
	must[*tacitv1.ConcludeConsultationResponse](t, "conclude")(f.consult.ConcludeConsultation(as(lead), &tacitv1.ConcludeConsultationRequest{ConsultationId: id1, Summary: "Thống nhất"}))
	// A last request for the outsider: the first thing its stream delivers
	// must be this one, so nothing reached it before.
	c3 := f.openForOutsider(t)

	wantXD := []want{
		{"CONSULTATION_OPENED", id1, ""}, {"CONSULTATION_OPENED", id2, ""},
		{"EXTENSION_REFUSED", id2, "so-xay-dung"}, {"CONSULTATION_WITHDRAWN", id2, ""},
		{"REMINDER", id1, "so-xay-dung"}, {"DEEMED_APPROVAL", id1, "so-xay-dung"}, {"CONSULTATION_CONCLUDED", id1, ""},
	}
	wantTC := []want{
		{"CONSULTATION_OPENED", id1, ""}, {"CONSULTATION_OPENED", id2, ""},
		{"EXTENSION_GRANTED", id2, "so-tai-chinh"}, {"CONSULTATION_WITHDRAWN", id2, ""},
		{"REMINDER", id1, "so-tai-chinh"}, {"DEEMED_APPROVAL", id1, "so-tai-chinh"}, {"CONSULTATION_CONCLUDED", id1, ""},
	}
	wantLead := []want{
		{"EXTENSION_REQUESTED", id2, "so-xay-dung"}, {"EXTENSION_REQUESTED", id2, "so-tai-chinh"},
		{"REPLY", id2, "so-xay-dung"}, {"REPLY_REVISED", id2, "so-xay-dung"},
		{"DEEMED_APPROVAL", id1, "so-xay-dung"}, {"DEEMED_APPROVAL", id1, "so-tai-chinh"}, {"ALL_SETTLED", id1, ""},
	}
	for _, c := range []struct {
		s     *inboxStream
		wants []want
	}{{wx, wantXD}, {wt, wantTC}, {wl, wantLead}} {
		got := c.s.take(t, len(c.wants))
		checkInbox(t, c.s.who.Name, got, c.wants)
		// The stream and the store agree, event for event.
		if stored := storedInbox(t, f, c.s.who.Name, 0); !slices.Equal(sequences(stored), sequences(got)) || !slices.Equal(describe(stored), describe(got)) {
			t.Errorf("%s: streamed %v %v, stored %v %v", c.s.who, sequences(got), describe(got), sequences(stored), describe(stored))
		}
		for _, e := range got {
			if e.GetEventTime() == nil || e.GetMessage() == "" {
				t.Errorf("%s: event %d has no time or message: %v", c.s.who, e.GetSequence(), e)
			}
		}
	}
	if e := wo.next(t); e.GetType() != "CONSULTATION_OPENED" || e.GetConsultationId() != c3.GetId() {
		t.Errorf("the outsider's first event is %v, want the opening of %s: an unrelated agency received an event", e, c3.GetId())
	}
	if got := storedInbox(t, f, outsider.Name, 0); len(got) != 1 {
		t.Errorf("the outsider's stored inbox holds %d events, want 1: %v", len(got), describe(got))
	}
	// Nobody else learns of the outsider's request.
	f.openForOutsider(t)
	for _, s := range []*inboxStream{wx, wt, wl} {
		if n := len(storedInbox(t, f, s.who.Name, 0)); n != 7 {
			t.Errorf("%s: %d events stored, want 7", s.who, n)
		}
	}
}

// Reconnecting with after_sequence=N yields exactly the events after N, in
// order, then the stream stays open for new ones.
func TestInboxResumeAfterSequence(t *testing.T) {
	f := newInboxFixture(t)
	conn := serveInbox(t, f.core).dial(t)
	for range 5 {
		f.openBoth(t, 3)
	}
	all := storedInbox(t, f, "so-xay-dung", 0)
	if len(all) != 5 {
		t.Fatalf("%d stored events, want 5", len(all))
	}
	for _, n := range []int{0, 1, 3, 5} {
		after := uint64(0)
		if n > 0 {
			after = all[n-1].GetSequence()
		}
		s := watchInbox(t, conn, xd, after)
		got := s.take(t, len(all)-n)
		if !slices.Equal(sequences(got), sequences(all[n:])) {
			t.Errorf("after %d: got sequences %v, want %v", after, sequences(got), sequences(all[n:]))
		}
		// Whatever comes next is new: no repeat of the backlog.
		c := f.openBoth(t, 3)
		if e := s.next(t); e.GetConsultationId() != c.GetId() || e.GetType() != "CONSULTATION_OPENED" {
			t.Errorf("after %d: after the backlog came %v, want the opening of %s", after, e, c.GetId())
		}
		all = storedInbox(t, f, "so-xay-dung", 0)
		s.cancel()
	}
}

// A backlog longer than one read batch (watchBatch) is delivered whole and
// in order, from the start and from any point, including the batch
// boundary.
func TestInboxResumeAcrossBatchBoundary(t *testing.T) {
	f := newInboxFixture(t)
	conn := serveInbox(t, f.core).dial(t)
	n := watchBatch + 4
	for range n {
		f.openTo(t, []string{"so-xay-dung"}, []string{"construction"}, within(time.Hour))
	}
	all := storedInbox(t, f, "so-xay-dung", 0)
	if len(all) != n {
		t.Fatalf("%d stored events, want %d", len(all), n)
	}
	for _, k := range []int{0, 3, watchBatch - 1, watchBatch, n - 1} {
		after := uint64(0)
		if k > 0 {
			after = all[k-1].GetSequence()
		}
		s := watchInbox(t, conn, xd, after)
		if got := s.take(t, n-k); !slices.Equal(sequences(got), sequences(all[k:])) {
			t.Errorf("after %d: %d events, sequences differ from the stored %d after it", after, len(got), n-k)
		}
		s.cancel()
		if err := s.end(t); status.Code(err) != codes.Canceled {
			t.Fatalf("stream ended with %v", err)
		}
		for e := range s.events {
			t.Errorf("after %d: extra event %v", after, e)
		}
	}
}

// Only agencies have an inbox.
func TestInboxAuditorIsDenied(t *testing.T) {
	f := newInboxFixture(t)
	conn := serveInbox(t, f.core).dial(t)
	for _, p := range []pki.Principal{pki.Auditor("auditor"), pki.Admin("admin")} {
		s := watchInbox(t, conn, p, 0)
		err := s.end(t)
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("WatchInbox as %s: %v, want PERMISSION_DENIED", p, err)
		}
		if !strings.Contains(status.Convert(err).Message(), "agenc") {
			t.Errorf("WatchInbox as %s: message %q does not say only agencies have an inbox", p, status.Convert(err).Message())
		}
	}
}

// A reminder is sent once: repeated sweeps and a reopened store do not send
// it again (the sent flag is stored with the record and the reminder leaves
// the index).
func TestInboxReminderSentOnceAcrossSweepsAndRestart(t *testing.T) {
	f := newInboxFixture(t)
	ctx := context.Background()
	c := f.openBoth(t, 3)
	remindAt := time.Date(2026, 3, 5, 0, 0, 0, 0, calendar.Location())
	if next, ok, _ := f.store.NextDeadline(ctx); !ok || !next.Equal(remindAt) {
		t.Fatalf("next instant in the deadline index = %v %v, want the reminder %v", next, ok, remindAt)
	}
	// Not due a nanosecond before.
	f.clock.Advance(remindAt.Sub(f.clock.Now()) - time.Nanosecond)
	if n := f.sweep(t); n != 0 {
		t.Fatalf("sweep before the reminder changed %d", n)
	}
	f.clock.Advance(time.Nanosecond)
	if n := f.sweep(t); n != 1 {
		t.Fatalf("sweep at the reminder changed %d, want 1", n)
	}
	for range 3 {
		if n := f.sweep(t); n != 0 {
			t.Fatalf("repeated sweep changed %d, want 0", n)
		}
	}
	rec, err := f.store.Get(ctx, c.GetId())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rec.GetAddressees() {
		if got := a.GetReminderSentTime(); got == nil || !got.AsTime().Equal(remindAt) {
			t.Errorf("%s: reminder sent time %v, want %v", a.GetAgency(), got, remindAt)
		}
	}
	if next, ok, _ := f.store.NextDeadline(ctx); !ok || !next.Equal(c.GetDeadline().AsTime()) {
		t.Errorf("after the reminder the next instant is %v %v, want the deadline %v", next, ok, c.GetDeadline().AsTime())
	}

	// Restart: the reminder is not sent again.
	f.store.Close()
	g := openInboxFixture(t, f.dir, clockwork.NewFakeClockAt(f.clock.Now().Add(time.Hour)), false)
	if n := g.sweep(t); n != 0 {
		t.Fatalf("sweep after a restart changed %d, want 0", n)
	}
	for _, agency := range []string{"so-xay-dung", "so-tai-chinh"} {
		n := 0
		for _, e := range storedInbox(t, g, agency, 0) {
			if e.GetType() == "REMINDER" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s received %d reminders, want 1", agency, n)
		}
	}
	// The deadline still comes: deemed approvals, then ALL_SETTLED once.
	g.clock.Advance(24 * time.Hour)
	if n := g.sweep(t); n != 1 {
		t.Fatalf("deadline sweep changed %d, want 1", n)
	}
	if n := g.sweep(t); n != 0 {
		t.Fatalf("repeated sweep changed %d, want 0", n)
	}
	checkInbox(t, "so-nnmt", storedInbox(t, g, "so-nnmt", 0), []want{
		{"DEEMED_APPROVAL", c.GetId(), "so-xay-dung"}, {"DEEMED_APPROVAL", c.GetId(), "so-tai-chinh"}, {"ALL_SETTLED", c.GetId(), ""},
	})
	v, err := g.store.VerifyAudit(ctx)
	if err != nil || !v.Intact {
		t.Fatalf("audit chain: %+v, %v", v, err)
	}
}

// A granted extension reschedules the addressee's reminder for its new
// deadline — also after the first reminder was sent — and leaves the other
// addressee's alone.
func TestInboxReminderRescheduledByExtension(t *testing.T) {
	f := newInboxFixture(t)
	conn := serveInbox(t, f.core).dial(t)
	wt := watchInbox(t, conn, tc, 0)
	c := f.openBoth(t, 3) // due at the end of Thursday 5 March
	id := c.GetId()
	thursday := time.Date(2026, 3, 5, 0, 0, 0, 0, calendar.Location())
	// Before any reminder: so-xay-dung asks for two more working days and
	// gets them (end of Monday 9 March), so its reminder moves to Monday.
	f.askExtension(t, xd, id, 2)
	f.decide(t, id, "so-xay-dung", true)
	monday := time.Date(2026, 3, 9, 0, 0, 0, 0, calendar.Location())
	rec := f.get(t, id)
	if got := addressee(rec, "so-xay-dung").GetReminderTime().AsTime(); !got.Equal(monday) {
		t.Errorf("so-xay-dung: reminder at %v after the extension, want %v", got, monday)
	}
	if got := addressee(rec, "so-tai-chinh").GetReminderTime().AsTime(); !got.Equal(thursday) {
		t.Errorf("so-tai-chinh: reminder at %v, want it unchanged at %v", got, thursday)
	}

	// Thursday: only so-tai-chinh is reminded.
	f.clock.Advance(thursday.Sub(f.clock.Now()) + time.Hour)
	if n := f.sweep(t); n != 1 {
		t.Fatalf("Thursday sweep changed %d, want 1", n)
	}
	var reminders []string
	for _, a := range []string{"so-xay-dung", "so-tai-chinh"} {
		for _, e := range storedInbox(t, f, a, 0) {
			if e.GetType() == "REMINDER" {
				reminders = append(reminders, a)
			}
		}
	}
	if !slices.Equal(reminders, []string{"so-tai-chinh"}) {
		t.Errorf("reminders on Thursday went to %v, want [so-tai-chinh]", reminders)
	}
	// so-tai-chinh, reminded, asks for more time on Thursday and gets it:
	// a new reminder is due for the new deadline (end of Monday).
	f.askExtension(t, tc, id, 2)
	f.decide(t, id, "so-tai-chinh", true)
	a := addressee(f.get(t, id), "so-tai-chinh")
	if a.GetReminderSentTime() != nil || !a.GetReminderTime().AsTime().Equal(monday) {
		t.Errorf("so-tai-chinh after the extension: reminder at %v, sent %v; want a new one at %v, not sent", a.GetReminderTime().AsTime(), a.GetReminderSentTime(), monday)
	}
	if next, ok := storagetest.NextWork(t, f.store); !ok || !next.Equal(monday) {
		t.Errorf("next instant in the index = %v %v, want the reminders on %v", next, ok, monday)
	}
	// Friday: nothing due (the original deadline no longer applies).
	f.clock.Advance(24 * time.Hour)
	if n := f.sweep(t); n != 0 {
		t.Errorf("Friday sweep changed %d, want 0", n)
	}
	// Monday: both reminded for the new deadline.
	f.clock.Advance(monday.Sub(f.clock.Now()) + time.Hour)
	if n := f.sweep(t); n != 1 {
		t.Fatalf("Monday sweep changed %d, want 1", n)
	}
	checkInbox(t, "so-tai-chinh", wt.take(t, 4), []want{
		{"CONSULTATION_OPENED", id, ""}, {"REMINDER", id, "so-tai-chinh"}, {"EXTENSION_GRANTED", id, "so-tai-chinh"},
		{"REMINDER", id, "so-tai-chinh"}, // the reminder for the new deadline
	})
	checkInbox(t, "so-xay-dung", storedInbox(t, f, "so-xay-dung", 0), []want{
		{"CONSULTATION_OPENED", id, ""}, {"EXTENSION_GRANTED", id, "so-xay-dung"}, {"REMINDER", id, "so-xay-dung"},
	})
}

// The sweeper sends reminders from the same deadline index, without
// polling: it sleeps until the reminder is due, and the reminder and then
// the deemed approval reach an open stream as they are written.
func TestInboxReminderFromTheSweeperReachesTheStream(t *testing.T) {
	f := newInboxFixture(t)
	conn := serveInbox(t, f.core).dial(t)
	wx := watchInbox(t, conn, xd, 0)
	swept := make(chan int, 16)
	f.core.onSweep = func(n int, _ time.Time) { swept <- n }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.core.RunSweeper(ctx) }()
	defer func() { cancel(); <-done }()
	if n := <-swept; n != 0 {
		t.Fatalf("first sweep changed %d", n)
	}

	c := f.openBoth(t, 3)
	if e := wx.next(t); e.GetType() != "CONSULTATION_OPENED" {
		t.Fatalf("first event %v, want CONSULTATION_OPENED", e)
	}
	if n := <-swept; n != 0 { // woken by the opening; now waits for the reminder
		t.Fatalf("sweep after the opening changed %d", n)
	}
	if err := f.clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	remindAt := addressee(c, "so-xay-dung").GetReminderTime().AsTime()
	f.clock.Advance(remindAt.Sub(f.clock.Now()))
	if n := <-swept; n != 1 {
		t.Fatalf("sweep at the reminder changed %d, want 1", n)
	}
	if e := wx.next(t); e.GetType() != "REMINDER" || e.GetAgency() != "so-xay-dung" || e.GetConsultationId() != c.GetId() {
		t.Fatalf("event after the reminder time: %v, want so-xay-dung's REMINDER", e)
	}
	if err := f.clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(c.GetDeadline().AsTime().Sub(f.clock.Now()))
	if n := <-swept; n != 1 {
		t.Fatalf("sweep at the deadline changed %d, want 1", n)
	}
	if e := wx.next(t); e.GetType() != "DEEMED_APPROVAL" || e.GetAgency() != "so-xay-dung" {
		t.Fatalf("event at the deadline: %v, want so-xay-dung's DEEMED_APPROVAL", e)
	}
}

// InboxEvent.deadline is documented as "the deadline concerned, for
// reminders and deemed approvals".
func TestInboxEventsCarryTheDeadline(t *testing.T) {
	f := newInboxFixture(t)
	c := f.openBoth(t, 3)
	deadline := c.GetDeadline().AsTime()
	f.clock.Advance(deadline.Sub(f.clock.Now()) - time.Hour) // past the reminder
	f.sweep(t)
	f.clock.Advance(time.Hour) // the deadline
	f.sweep(t)
	for _, agency := range []string{"so-xay-dung", "so-nnmt"} {
		for _, e := range storedInbox(t, f, agency, 0) {
			if e.GetType() != "REMINDER" && e.GetType() != "DEEMED_APPROVAL" {
				continue
			}
			if e.GetDeadline() == nil || !e.GetDeadline().AsTime().Equal(deadline) {
				t.Errorf("%s's %s event (sequence %d, about %s) has deadline %v, want %v", agency, e.GetType(), e.GetSequence(), e.GetAgency(), e.GetDeadline(), deadline)
			}
		}
	}
}

// A reminder warns that a deadline is coming. When the service was down
// from before the reminder time until after the deadline, the catch-up
// sweep records the deemed approval (the notice that the deadline passed)
// and must not send a reminder about a deadline that has already passed.
func TestInboxNoReminderForAPassedDeadline(t *testing.T) {
	f := newInboxFixture(t)
	c := f.openBoth(t, 3)
	f.store.Close()
	// Back on Friday, after the deadline (end of Thursday).
	g := openInboxFixture(t, f.dir, clockwork.NewFakeClockAt(c.GetDeadline().AsTime().Add(2*time.Hour)), false)
	if n := g.sweep(t); n != 1 {
		t.Fatalf("catch-up sweep changed %d, want 1", n)
	}
	checkInbox(t, "so-xay-dung", storedInbox(t, g, "so-xay-dung", 0), []want{
		{"CONSULTATION_OPENED", c.GetId(), ""}, {"DEEMED_APPROVAL", c.GetId(), "so-xay-dung"},
	})
}

// A watcher that stops reading blocks neither writers nor other watchers,
// and loses nothing: when it reads again it gets every event, in order.
func TestInboxStalledWatcherBlocksNobody(t *testing.T) {
	f := newInboxFixture(t)
	srv := serveInbox(t, f.core)
	// A small fixed flow-control window (no dynamic growth): the server's
	// sends to the stalled stream block after 64 KiB.
	stalledConn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return srv.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(1<<16), grpc.WithInitialConnWindowSize(1<<16))
	if err != nil {
		t.Fatal(err)
	}
	defer stalledConn.Close()
	ctx, cancel := context.WithCancel(asCaller(context.Background(), xd))
	defer cancel()
	stalled, err := tacitv1.NewConsultationServiceClient(stalledConn).WatchInbox(ctx, &tacitv1.WatchInboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	live := watchInbox(t, srv.dial(t), xd, 0)

	title := strings.TrimSpace(strings.Repeat("Quy hoạch phân khu đô thị ", 19)) // ~650 bytes in every event
	const n = 200                                                                // ~150 KiB, well over the window
	var ids []string
	for i := range n {
		res, err := f.consult.OpenConsultation(as(lead), &tacitv1.OpenConsultationRequest{
			Title: fmt.Sprintf("%s %d", title, i), LegalBasis: "Luật Quy hoạch", Fields: []string{"construction"},
			Addressees: []string{"so-xay-dung"}, DeadlineSpec: &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(time.Hour)}})
		if err != nil {
			t.Fatalf("open %d while a watcher is stalled: %v", i, err)
		}
		ids = append(ids, res.GetConsultation().GetId())
		if e := live.next(t); e.GetConsultationId() != ids[i] {
			t.Fatalf("live watcher got %v, want the opening of %s", e, ids[i])
		}
	}
	var prev uint64
	for i := range n {
		res, err := stalled.Recv()
		if err != nil {
			t.Fatalf("stalled watcher, event %d: %v", i, err)
		}
		e := res.GetEvent()
		if e.GetConsultationId() != ids[i] || e.GetSequence() <= prev {
			t.Fatalf("stalled watcher, event %d: %v (after sequence %d), want the opening of %s", i, e, prev, ids[i])
		}
		prev = e.GetSequence()
	}
}

// On shutdown open streams end with UNAVAILABLE and the sequence to resume
// from.
func TestInboxShutdownEndsStreamsWithResumePoint(t *testing.T) {
	f := newInboxFixture(t)
	conn := serveInbox(t, f.core).dial(t)
	s := watchInbox(t, conn, xd, 0)
	f.openBoth(t, 3)
	e := s.next(t)
	f.core.StopWatchers()
	err := s.end(t)
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("stream ended with %v, want UNAVAILABLE", err)
	}
	if want := fmt.Sprintf("after_sequence=%d", e.GetSequence()); !strings.Contains(status.Convert(err).Message(), want) {
		t.Errorf("message %q does not give the resume point %s", status.Convert(err).Message(), want)
	}
}

// ALL_SETTLED reaches the lead once, when the last pending addressee is
// settled — by a reply or by a deemed approval — and never again after
// (a revision, a later sweep).
func TestInboxAllSettledOnce(t *testing.T) {
	f := newInboxFixture(t)
	// Settled by replies, then revised.
	c := f.openBoth(t, 3)
	id := c.GetId()
	for _, p := range []pki.Principal{xd, tc, xd} {
		if err := reply(f, p, id); err != nil {
			t.Fatal(err)
		}
	}
	// Settled by a reply after the other addressee was deemed to agree.
	c2 := f.openBoth(t, 3)
	id2 := c2.GetId()
	f.askExtension(t, xd, id2, 2)
	f.decide(t, id2, "so-xay-dung", true)
	f.clock.Advance(c2.GetDeadline().AsTime().Sub(f.clock.Now()))
	if n := f.sweep(t); n != 1 {
		t.Fatalf("deadline sweep changed %d, want 1", n)
	}
	if err := reply(f, xd, id2); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(7 * 24 * time.Hour)
	if n := f.sweep(t); n != 0 {
		t.Fatalf("a later sweep changed %d, want 0", n)
	}
	checkInbox(t, "so-nnmt", storedInbox(t, f, "so-nnmt", 0), []want{
		{"REPLY", id, "so-xay-dung"}, {"REPLY", id, "so-tai-chinh"}, {"ALL_SETTLED", id, ""}, {"REPLY_REVISED", id, "so-xay-dung"},
		{"EXTENSION_REQUESTED", id2, "so-xay-dung"}, {"DEEMED_APPROVAL", id2, "so-tai-chinh"}, {"REPLY", id2, "so-xay-dung"}, {"ALL_SETTLED", id2, ""},
	})
}

// A write wakes the watchers of the agencies its events notify, and no
// others: with thousands of agency systems watching, each would otherwise
// read its inbox for every write made anywhere. A write whose notices are
// not at hand (a calendar recount) wakes them all.
func TestInboxWriteWakesOnlyTheWatchersItNotifies(t *testing.T) {
	h := newHub()
	lead, other := h.wait("so-nnmt"), h.wait("so-y-te")
	if h.wait("so-nnmt") != lead {
		t.Fatal("two watchers of one agency wait on different channels")
	}
	var n notices
	n.keep([]*tacitv1.AuditEvent{{Type: consultation.EventReplied, Notified: []string{"so-nnmt"}}})
	n.keep([]*tacitv1.AuditEvent{{Type: consultation.EventReplied, Notified: []string{"so-nnmt"}}}) // the same write made again
	h.signal(&n)
	select {
	case <-lead:
	default:
		t.Error("the notified agency's watcher was not woken")
	}
	select {
	case <-other:
		t.Error("a watcher the write did not notify was woken")
	default:
	}
	again := h.wait("so-nnmt")
	if again == lead {
		t.Error("a woken agency's next wait returns the closed channel")
	}
	h.signalAll()
	for name, ch := range map[string]<-chan struct{}{"so-y-te": other, "so-nnmt": again} {
		select {
		case <-ch:
		default:
			t.Errorf("signalAll left %s's watcher waiting", name)
		}
	}
}
