package server

// Retries and races (issue 7, item 4). Every test here runs goroutines
// against one in-process core on a real bbolt store, with the fake clock
// moved by a goroutine of its own while requests are in flight; nothing
// sleeps. Run with the race detector:
//
//	go test -race -run 'Race|Concurrent|Racing' ./pkg/server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/pki"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// raceClock is the fixture's fake clock with a probe. While a race is
// armed, every read of the time first announces itself on the probe (and
// every other time yields the processor), so the goroutine that moves the
// clock can be released at the very moment a transaction is about to read
// the time: the read and the advance then race for real, and over the
// rounds both orders occur.
type raceClock struct {
	*clockwork.FakeClock
	probe atomic.Pointer[chan struct{}]
}

func (c *raceClock) Now() time.Time {
	if p := c.probe.Load(); p != nil {
		select {
		case *p <- struct{}{}:
		default:
		}
		if rand.IntN(2) == 0 {
			runtime.Gosched()
		}
	}
	return c.FakeClock.Now()
}

// newRaceFixture is newFixture with the core reading the time through a
// raceClock (f.clock still moves it).
func newRaceFixture(t *testing.T) (*fixture, *raceClock) {
	t.Helper()
	f := newFixture(t)
	rc := &raceClock{FakeClock: f.clock}
	f.core.clock = rc // before any goroutine reads it
	return f, rc
}

// race runs fns at once. When step > 0, one more goroutine advances the
// clock by step: at once when k is 0, otherwise when the k-th read of the
// clock during the race is about to happen (or once every fn returned, if
// fewer reads happen).
func (c *raceClock) race(k int, step time.Duration, fns ...func()) {
	c.raceWatched(k, step, nil, fns...)
}

// raceWatched is race with an observer: watch runs in its own goroutine
// and is told when the clock has moved (ticked) and when every fn has
// returned (finished); the race ends when it returns.
func (c *raceClock) raceWatched(k int, step time.Duration, watch func(ticked, finished <-chan struct{}), fns ...func()) {
	probe := make(chan struct{}, 64)
	c.probe.Store(&probe)
	defer c.probe.Store(nil)
	start, finished, ticked := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn()
		}()
	}
	go func() {
		defer close(ticked)
		<-start
		if step <= 0 {
			return
		}
	wait:
		for range k {
			select {
			case <-probe:
			case <-finished:
				break wait
			}
		}
		c.FakeClock.Advance(step)
	}()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		if watch != nil {
			<-start
			watch(ticked, finished)
		}
	}()
	close(start)
	wg.Wait()
	close(finished)
	<-ticked
	<-watched
}

var raceAuditor = pki.Auditor("auditor")

func raceOpen(f *fixture, requestID, title string, within time.Duration) (*tacitv1.Consultation, error) {
	res, err := f.consult.OpenConsultation(as(lead), &tacitv1.OpenConsultationRequest{
		RequestId: requestID, Title: title, LegalBasis: "Luật Đất đai 2024", Fields: []string{"land.planning"},
		Addressees:   []string{"so-xay-dung", "so-tai-chinh"},
		DeadlineSpec: &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(within)},
	})
	return res.GetConsultation(), err
}

func raceReply(f *fixture, p pki.Principal, id, requestID string, pos tacitv1.Position, comment string) (*tacitv1.Consultation, error) {
	res, err := f.consult.Reply(as(p), &tacitv1.ReplyRequest{RequestId: requestID, ConsultationId: id, Position: pos, Comment: comment,
		Signer: &tacitv1.Signer{Name: "Trần Văn Bình", Role: tacitv1.SignerRole_SIGNER_ROLE_DEPUTY}})
	return res.GetConsultation(), err
}

func raceAskExtension(f *fixture, p pki.Principal, id, requestID string, until time.Time) (*tacitv1.Consultation, error) {
	res, err := f.consult.RequestExtension(as(p), &tacitv1.RequestExtensionRequest{RequestId: requestID, ConsultationId: id,
		Reason: "Cần lấy thêm ý kiến các phòng chuyên môn", UntilSpec: &tacitv1.RequestExtensionRequest_Until{Until: timestamppb.New(until)}})
	return res.GetConsultation(), err
}

func raceDecide(f *fixture, id, agency, requestID string, grant bool) (*tacitv1.Consultation, error) {
	d := tacitv1.ExtensionDecision_EXTENSION_DECISION_REFUSE
	if grant {
		d = tacitv1.ExtensionDecision_EXTENSION_DECISION_GRANT
	}
	res, err := f.consult.DecideExtension(as(lead), &tacitv1.DecideExtensionRequest{RequestId: requestID, ConsultationId: id, Agency: agency, Decision: d})
	return res.GetConsultation(), err
}

const raceProposal = "Giữ nguyên phương án quy hoạch, bổ sung đánh giá tác động"

func raceConclude(f *fixture, id, requestID, proposal string) (*tacitv1.Consultation, error) {
	res, err := f.consult.ConcludeConsultation(as(lead), &tacitv1.ConcludeConsultationRequest{RequestId: requestID, ConsultationId: id,
		Summary: "Tổng hợp ý kiến các sở", Proposal: proposal})
	return res.GetConsultation(), err
}

// racePrepare opens n consultations at once (they share commits), the
// i-th due (i+1)·spacing from now, and runs then(i, c) on each, also at
// once, so that the rounds of a test only pay for their race.
func racePrepare(t *testing.T, f *fixture, n int, spacing time.Duration, title string, then func(i int, c *tacitv1.Consultation) error) []*tacitv1.Consultation {
	t.Helper()
	out, errs := make([]*tacitv1.Consultation, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out[i], errs[i] = raceOpen(f, fmt.Sprintf("%s-%d", title, i), fmt.Sprintf("%s, vòng %d", title, i), time.Duration(i+1)*spacing); errs[i] == nil && then != nil {
				errs[i] = then(i, out[i])
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("preparing round %d: %v", i, err)
		}
	}
	return out
}

// raceRefusal returns the gRPC code of err and its machine reason.
func raceRefusal(err error) (codes.Code, string) {
	reason := ""
	if fe, ok := fault.As(err); ok {
		reason = fe.Reason
	}
	return status.Code(toStatus(err)), reason
}

func raceEvents(t *testing.T, f *fixture, id string) []*tacitv1.AuditEvent {
	t.Helper()
	evs, err := f.store.ListEvents(context.Background(), storage.EventQuery{Consultation: id, Limit: 1000})
	if err != nil {
		t.Fatalf("audit of %s: %v", id, err)
	}
	return evs
}

// raceCount counts events of one type about one agency ("" for any).
func raceCount(evs []*tacitv1.AuditEvent, typ, agency string) int {
	n := 0
	for _, e := range evs {
		if e.GetType() == typ && (agency == "" || e.GetAgency() == agency) {
			n++
		}
	}
	return n
}

// raceSeq is the sequence of the first event of a type about an agency, 0
// when there is none.
func raceSeq(evs []*tacitv1.AuditEvent, typ, agency string) uint64 {
	for _, e := range evs {
		if e.GetType() == typ && (agency == "" || e.GetAgency() == agency) {
			return e.GetSequence()
		}
	}
	return 0
}

// raceCheckStore verifies the audit chain and that every index agrees with
// the records.
func raceCheckStore(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	v, err := f.store.VerifyAudit(ctx)
	if err != nil || !v.Intact {
		t.Errorf("audit chain: %+v, %v", v, err)
	}
	problems, err := f.store.Check(ctx)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	for _, p := range problems {
		t.Errorf("store check: %s", p)
	}
}

func raceTimes(a *tacitv1.Addressee) []time.Time {
	var out []time.Time
	for _, r := range a.GetRevisions() {
		out = append(out, r.GetReplyTime().AsTime())
	}
	return out
}

const (
	statePending  = tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING
	stateReplied  = tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED
	stateDeemed   = tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED
	consOpen      = tacitv1.ConsultationState_CONSULTATION_STATE_OPEN
	consConcluded = tacitv1.ConsultationState_CONSULTATION_STATE_CONCLUDED
)

// 1. The same request_id retried concurrently is one request: one stored
// consultation, one id returned to every caller, one CONSULTATION_OPENED
// entry; and one revision for a retried reply.
func TestConcurrentRetriesStoreOneRecord(t *testing.T) {
	t.Parallel() // each test has its own store and clock
	f := newFixture(t)
	ctx := context.Background()
	const callers, rounds = 50, 4
	for r := range rounds {
		openID := fmt.Sprintf("open-%d", r)
		ids, errs := make([]string, callers), make([]error, callers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c, err := raceOpen(f, openID, fmt.Sprintf("Quy hoạch phân khu %d", r), time.Hour)
				ids[i], errs[i] = c.GetId(), err
			}()
		}
		close(start)
		wg.Wait()
		for i := range callers {
			if errs[i] != nil || ids[i] == "" || ids[i] != ids[0] {
				t.Fatalf("round %d: caller %d got id %q, %v; caller 0 got %q", r, i, ids[i], errs[i], ids[0])
			}
		}
		id := ids[0]

		list, err := f.consult.ListConsultations(as(raceAuditor), &tacitv1.ListConsultationsRequest{PageSize: 500})
		if err != nil {
			t.Fatal(err)
		}
		if cs := list.GetConsultations(); len(cs) != r+1 || cs[0].GetId() != id {
			t.Fatalf("round %d: the auditor lists %d consultations, want %d with %q newest", r, len(cs), r+1, id)
		}
		opened, err := f.store.ListEvents(ctx, storage.EventQuery{Limit: 1000, Keep: func(e *tacitv1.AuditEvent) bool {
			return e.GetType() == consultation.EventOpened && e.GetConsultationId() == id
		}})
		if err != nil || len(opened) != 1 {
			t.Fatalf("round %d: %d CONSULTATION_OPENED entries for %s (%v), want 1", r, len(opened), id, err)
		}

		// The reply: 50 retries from so-xay-dung, and the same request_id
		// from so-tai-chinh, which is another principal's request.
		replyID := fmt.Sprintf("reply-%d", r)
		const others = 5
		got, rerrs := make([]*tacitv1.Consultation, callers+others), make([]error, callers+others)
		start = make(chan struct{})
		for i := range callers + others {
			p := xd
			if i >= callers {
				p = tc
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got[i], rerrs[i] = raceReply(f, p, id, replyID, tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, "Đề nghị bổ sung số liệu")
			}()
		}
		close(start)
		wg.Wait()
		for i := range callers + others {
			agency := "so-xay-dung"
			if i >= callers {
				agency = "so-tai-chinh"
			}
			if rerrs[i] != nil {
				t.Fatalf("round %d: retried reply %d (%s): %v", r, i, agency, rerrs[i])
			}
			a := addressee(got[i], agency)
			first := addressee(got[0], "so-xay-dung")
			if i >= callers {
				first = addressee(got[callers], agency)
			}
			if len(a.GetRevisions()) != 1 || a.GetReply().GetRevision() != 1 || !proto.Equal(a.GetReply(), first.GetReply()) {
				t.Fatalf("round %d: retried reply %d (%s) returned %d revisions, reply %v; want the first result, revision 1 (%v)", r, i, agency, len(a.GetRevisions()), a.GetReply(), first.GetReply())
			}
		}
		stored, err := f.store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		evs := raceEvents(t, f, id)
		for _, agency := range []string{"so-xay-dung", "so-tai-chinh"} {
			if n := len(addressee(stored, agency).GetRevisions()); n != 1 {
				t.Errorf("round %d: %s has %d stored revisions after concurrent retries, want 1", r, agency, n)
			}
			if n, m := raceCount(evs, consultation.EventReplied, agency), raceCount(evs, consultation.EventRevised, agency); n != 1 || m != 0 {
				t.Errorf("round %d: %s has %d REPLY and %d REPLY_REVISED entries, want 1 and 0", r, agency, n, m)
			}
		}
	}
	raceCheckStore(t, f)
}

// 2. Two replies from one agency race the instant its deadline passes. Each
// is accepted strictly before the deadline or refused as late, and the
// record holds exactly one outcome: the accepted replies, or a deemed
// approval at the deadline.
func TestRepliesRacingTheDeadline(t *testing.T) {
	t.Parallel() // each test has its own store and clock
	f, rc := newRaceFixture(t)
	ctx := context.Background()
	const rounds = 200
	var accepted [3]int // rounds by number of replies accepted
	prepared := racePrepare(t, f, rounds, time.Hour, "Trả lời", nil)
	for r, c := range prepared {
		id, d := c.GetId(), c.GetDeadline().AsTime()
		f.clock.Advance(d.Sub(f.clock.Now()) - time.Nanosecond)

		var got [2]*tacitv1.Consultation
		var errs [2]error
		comments := [2]string{fmt.Sprintf("ý kiến A, vòng %d", r), fmt.Sprintf("ý kiến B, vòng %d", r)}
		answer := func(i int) func() {
			return func() {
				got[i], errs[i] = raceReply(f, xd, id, fmt.Sprintf("r%d-%d", r, i), tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, comments[i])
			}
		}
		rc.race(r%3, time.Nanosecond, answer(0), answer(1))
		if now := f.clock.Now(); !now.Equal(d) {
			t.Fatalf("round %d: clock at %v after the race, want the deadline %v", r, now, d)
		}

		n := 0
		for i := range 2 {
			if errs[i] == nil {
				n++
				rep := addressee(got[i], "so-xay-dung").GetReply()
				if rep.GetComment() != comments[i] {
					t.Errorf("round %d: reply %d answered with another reply: %q", r, i, rep.GetComment())
				}
				if !rep.GetReplyTime().AsTime().Before(d) {
					t.Errorf("round %d: reply %d accepted at %v, not strictly before the deadline %v", r, i, rep.GetReplyTime().AsTime(), d)
				}
				continue
			}
			code, reason := raceRefusal(errs[i])
			if code != codes.FailedPrecondition || reason != "DEADLINE_PASSED" || !strings.Contains(errs[i].Error(), "deadline") || !strings.Contains(errs[i].Error(), "passed") {
				t.Errorf("round %d: reply %d refused with %v %s %q, want FailedPrecondition DEADLINE_PASSED saying the deadline passed", r, i, code, reason, errs[i])
			}
		}
		accepted[n]++

		a := addressee(f.get(t, id), "so-xay-dung")
		if n > 0 {
			if a.GetState() != stateReplied || len(a.GetRevisions()) != n || a.GetDeemedApproval() != nil {
				t.Errorf("round %d: %d replies accepted but the record shows %v with %d revisions, deemed approval %v", r, n, a.GetState(), len(a.GetRevisions()), a.GetDeemedApproval())
			}
		} else if a.GetState() != stateDeemed || len(a.GetRevisions()) != 0 || a.GetReply() != nil || !a.GetDeemedApproval().GetEffectiveTime().AsTime().Equal(d) {
			t.Errorf("round %d: no reply accepted but the record shows %v, %d revisions, deemed approval %v; want DEEMED_APPROVED at %v", r, a.GetState(), len(a.GetRevisions()), a.GetDeemedApproval(), d)
		}
		for _, rt := range raceTimes(a) {
			if !rt.Before(d) {
				t.Errorf("round %d: a revision at %v, at or after the deadline %v", r, rt, d)
			}
		}

		before, err := f.store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.core.Sweep(ctx, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		after, err := f.store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		sa := addressee(after, "so-xay-dung")
		if n > 0 {
			if !proto.Equal(addressee(before, "so-xay-dung"), sa) {
				t.Errorf("round %d: the sweep changed a replied addressee:\n%v\n->\n%v", r, addressee(before, "so-xay-dung"), sa)
			}
		} else if sa.GetState() != stateDeemed || !sa.GetDeemedApproval().GetRecorded() || !sa.GetDeemedApproval().GetEffectiveTime().AsTime().Equal(d) || len(sa.GetRevisions()) != 0 {
			t.Errorf("round %d: after the sweep so-xay-dung is stored as %v (deemed %v), want a recorded deemed approval at %v", r, sa.GetState(), sa.GetDeemedApproval(), d)
		}
		evs := raceEvents(t, f, id)
		replies := raceCount(evs, consultation.EventReplied, "so-xay-dung") + raceCount(evs, consultation.EventRevised, "so-xay-dung")
		deemed := raceCount(evs, consultation.EventDeemedApproval, "so-xay-dung")
		if replies != n || deemed != map[bool]int{true: 1, false: 0}[n == 0] {
			t.Errorf("round %d: %d replies accepted; the audit has %d reply entries and %d deemed approvals", r, n, replies, deemed)
		}
		if t.Failed() {
			break
		}
	}
	t.Logf("%d rounds: both replies refused %d, one accepted %d, both accepted %d", rounds, accepted[0], accepted[1], accepted[2])
	raceCheckStore(t, f)
}

// 2b. What a reader is shown while a reply races the deadline is an outcome
// too: from the moment the clock reaches the deadline, a read may show the
// addressee pending (before the reply commits) or replied, or deemed to
// agree if no reply was accepted — but never DEEMED_APPROVED when a reply
// accepted before the deadline stands, for later reads then show REPLIED and
// the record appears to change its mind.
func TestReadsRacingTheDeadline(t *testing.T) {
	t.Parallel()
	f, rc := newRaceFixture(t)
	const rounds = 100
	accepted, flipped, flippedReads, reads := 0, 0, 0, 0
	var first string
	prepared := racePrepare(t, f, rounds, time.Hour, "Đọc", nil)
	for r, c := range prepared {
		id, d := c.GetId(), c.GetDeadline().AsTime()
		f.clock.Advance(d.Sub(f.clock.Now()) - time.Nanosecond)

		var got *tacitv1.Consultation
		var rerr error
		var seen []*tacitv1.Addressee
		reader := func(ticked, finished <-chan struct{}) {
			<-ticked // the clock is at the deadline
			for {
				res, err := f.consult.GetConsultation(as(raceAuditor), &tacitv1.GetConsultationRequest{Id: id})
				if err != nil {
					t.Errorf("round %d: read during the race: %v", r, err)
					return
				}
				seen = append(seen, addressee(res.GetConsultation(), "so-xay-dung"))
				select {
				case <-finished:
					return
				default:
				}
			}
		}
		rc.raceWatched(1, time.Nanosecond, reader, func() {
			got, rerr = raceReply(f, xd, id, "", tacitv1.Position_POSITION_AGREE, "")
		})
		reads += len(seen)
		if rerr != nil {
			for _, sa := range seen {
				if sa.GetState() == stateReplied {
					t.Errorf("round %d: a read showed a reply, but the reply was refused (%v)", r, rerr)
				}
			}
			continue
		}
		accepted++
		at := addressee(got, "so-xay-dung").GetReply().GetReplyTime().AsTime()
		if s := addressee(f.get(t, id), "so-xay-dung").GetState(); s != stateReplied {
			t.Fatalf("round %d: reply accepted at %v, but a read after the race shows %v", r, at, s)
		}
		n := 0
		for _, sa := range seen {
			if sa.GetState() == stateDeemed {
				n++
			}
		}
		if n > 0 {
			flipped++
			flippedReads += n
			if first == "" {
				first = fmt.Sprintf("round %d: %d of %d reads made at the deadline %v showed so-xay-dung DEEMED_APPROVED (effective %v), yet its reply accepted at %v stands and every later read shows REPLIED",
					r, n, len(seen), d, d, at)
			}
		}
	}
	t.Logf("%d rounds: reply accepted in %d; %d reads during the races; in %d rounds (%d reads) a read showed a deemed approval that a reply accepted before the deadline then replaced", rounds, accepted, reads, flipped, flippedReads)
	if flipped > 0 {
		t.Errorf("%s.\nThe reply's transaction read the clock before the deadline but had not committed when GetConsultation took its snapshot; GetConsultation then read the clock (now at the deadline) and applied the silence rule to the stale snapshot (consultation.Effective). Reads that materialize a deemed approval are not ordered with writes the way the sweeper is.", first)
	}
	raceCheckStore(t, f)
}

// 3. The lead grants an extension while the addressee's deadline passes:
// either the grant came strictly before the deadline and moved it (the
// addressee is pending), or it is refused and the addressee is deemed to
// agree at the old deadline. Never both.
func TestExtensionGrantRacingTheDeadline(t *testing.T) {
	t.Parallel() // each test has its own store and clock
	f, rc := newRaceFixture(t)
	ctx := context.Background()
	const rounds = 150
	granted, refused := 0, 0
	const more = 2 * time.Hour // asked by so-tai-chinh in every round
	prepared := racePrepare(t, f, rounds, time.Hour, "Gia hạn", func(_ int, c *tacitv1.Consultation) error {
		_, err := raceAskExtension(f, tc, c.GetId(), "", c.GetDeadline().AsTime().Add(more))
		return err
	})
	for r, c := range prepared {
		id, d := c.GetId(), c.GetDeadline().AsTime()
		until := d.Add(more)
		f.clock.Advance(d.Sub(f.clock.Now()) - time.Nanosecond)

		var got *tacitv1.Consultation
		var derr error
		rc.race(r%2, time.Nanosecond, func() { got, derr = raceDecide(f, id, "so-tai-chinh", fmt.Sprintf("grant%d", r), true) })

		a := addressee(f.get(t, id), "so-tai-chinh")
		if derr == nil {
			granted++
			ga := addressee(got, "so-tai-chinh")
			x := ga.GetExtensions()[len(ga.GetExtensions())-1]
			if !ga.GetDeadline().AsTime().Equal(until) || x.GetState() != tacitv1.ExtensionState_EXTENSION_STATE_GRANTED {
				t.Errorf("round %d: grant accepted but the deadline is %v (extension %v), want %v", r, ga.GetDeadline().AsTime(), x.GetState(), until)
			}
			if !x.GetDecideTime().AsTime().Before(d) {
				t.Errorf("round %d: grant accepted at %v, not strictly before the old deadline %v", r, x.GetDecideTime().AsTime(), d)
			}
			if a.GetState() != statePending || !a.GetDeadline().AsTime().Equal(until) || a.GetDeemedApproval() != nil {
				t.Errorf("round %d: after the grant so-tai-chinh reads %v, deadline %v, deemed %v; want PENDING until %v", r, a.GetState(), a.GetDeadline().AsTime(), a.GetDeemedApproval(), until)
			}
		} else {
			refused++
			code, reason := raceRefusal(derr)
			if code != codes.FailedPrecondition || reason != "DEADLINE_PASSED" {
				t.Errorf("round %d: grant refused with %v %s (%v), want FailedPrecondition DEADLINE_PASSED", r, code, reason, derr)
			}
			if a.GetState() != stateDeemed || !a.GetDeemedApproval().GetEffectiveTime().AsTime().Equal(d) || !a.GetDeadline().AsTime().Equal(d) {
				t.Errorf("round %d: after the refusal so-tai-chinh reads %v, deadline %v, deemed %v; want DEEMED_APPROVED at the old deadline %v", r, a.GetState(), a.GetDeadline().AsTime(), a.GetDeemedApproval(), d)
			}
			for _, x := range a.GetExtensions() {
				if x.GetState() == tacitv1.ExtensionState_EXTENSION_STATE_GRANTED {
					t.Errorf("round %d: refused grant shows a granted extension %v", r, x)
				}
			}
		}
		if a.GetState() == stateDeemed && !a.GetDeadline().AsTime().Equal(d) {
			t.Errorf("round %d: a moved deadline (%v) together with a deemed approval", r, a.GetDeadline().AsTime())
		}
		if s := addressee(f.get(t, id), "so-xay-dung").GetState(); s != stateDeemed {
			t.Errorf("round %d: so-xay-dung, silent and not extended, reads %v", r, s)
		}

		if _, err := f.core.Sweep(ctx, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		stored, err := f.store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		sa := addressee(stored, "so-tai-chinh")
		x := sa.GetExtensions()[len(sa.GetExtensions())-1]
		evs := raceEvents(t, f, id)
		if derr == nil {
			if sa.GetState() != statePending || !sa.GetDeadline().AsTime().Equal(until) || x.GetState() != tacitv1.ExtensionState_EXTENSION_STATE_GRANTED {
				t.Errorf("round %d: stored after the sweep: %v, deadline %v, extension %v; want PENDING until %v, GRANTED", r, sa.GetState(), sa.GetDeadline().AsTime(), x.GetState(), until)
			}
		} else if sa.GetState() != stateDeemed || !sa.GetDeemedApproval().GetRecorded() || !sa.GetDeemedApproval().GetEffectiveTime().AsTime().Equal(d) || x.GetState() != tacitv1.ExtensionState_EXTENSION_STATE_LAPSED {
			t.Errorf("round %d: stored after the sweep: %v, deemed %v, extension %v; want a recorded deemed approval at %v and the request LAPSED", r, sa.GetState(), sa.GetDeemedApproval(), x.GetState(), d)
		}
		if g, dm := raceCount(evs, consultation.EventExtensionGranted, "so-tai-chinh"), raceCount(evs, consultation.EventDeemedApproval, "so-tai-chinh"); (derr == nil) != (g == 1 && dm == 0) || g+dm != 1 {
			t.Errorf("round %d: grant error %v; the audit has %d grants and %d deemed approvals for so-tai-chinh", r, derr, g, dm)
		}
		if t.Failed() {
			break
		}
	}
	t.Logf("%d rounds: grant accepted before the deadline %d, refused as the deadline passed %d", rounds, granted, refused)
	raceCheckStore(t, f)
}

// 4. The lead concludes while the last pending addressee replies, in rounds
// where the deadline stays far and rounds where it passes during the race.
// A conclusion is refused while a reply is pending; a concluded
// consultation has no pending addressee and accepts no reply afterwards.
func TestConclusionRacingLastReply(t *testing.T) {
	t.Parallel() // each test has its own store and clock
	f, rc := newRaceFixture(t)
	ctx := context.Background()

	// so-xay-dung disagrees in every round: the conclusion needs the
	// lead's proposal.
	pre, err := raceOpen(f, "", "Bất đồng", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raceReply(f, xd, pre.GetId(), "", tacitv1.Position_POSITION_DISAGREE, "Không phù hợp quy hoạch chung"); err != nil {
		t.Fatal(err)
	}
	if _, err := raceReply(f, tc, pre.GetId(), "", tacitv1.Position_POSITION_AGREE, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := raceConclude(f, pre.GetId(), "", ""); !strings.Contains(fmt.Sprint(raceRefusal(err)), "PROPOSAL_REQUIRED") {
		t.Fatalf("conclusion without a proposal after a disagreement: %v, want FailedPrecondition PROPOSAL_REQUIRED", err)
	}
	if _, err := raceConclude(f, pre.GetId(), "", raceProposal); err != nil {
		t.Fatalf("conclusion with a proposal: %v", err)
	}

	const rounds = 150
	outcomes := map[string]int{}
	prepared := racePrepare(t, f, rounds, time.Hour, "Kết luận", func(_ int, c *tacitv1.Consultation) error {
		_, err := raceReply(f, xd, c.GetId(), "", tacitv1.Position_POSITION_DISAGREE, "Không phù hợp quy hoạch chung")
		return err
	})
	for r, c := range prepared {
		id, d := c.GetId(), c.GetDeadline().AsTime()
		crossing := r%3 != 0
		if crossing {
			f.clock.Advance(d.Sub(f.clock.Now()) - time.Nanosecond)
		} else {
			f.clock.Advance(d.Sub(f.clock.Now()) - 30*time.Minute)
		}

		var concluded, replied *tacitv1.Consultation
		var cerr, rerr error
		conclude := func() { concluded, cerr = raceConclude(f, id, fmt.Sprintf("c%d", r), raceProposal) }
		answer := func() {
			replied, rerr = raceReply(f, tc, id, fmt.Sprintf("t%d", r), tacitv1.Position_POSITION_AGREE, "")
		}
		if crossing {
			rc.race(r%3, time.Nanosecond, conclude, answer)
		} else {
			rc.race(0, 0, conclude, answer)
		}

		var replyReason string
		if rerr == nil {
			if rt := addressee(replied, "so-tai-chinh").GetReply().GetReplyTime().AsTime(); !rt.Before(d) {
				t.Errorf("round %d: last reply accepted at %v, not before the deadline %v", r, rt, d)
			}
		} else {
			var code codes.Code
			code, replyReason = raceRefusal(rerr)
			if code != codes.FailedPrecondition || (replyReason != "DEADLINE_PASSED" && replyReason != "CONSULTATION_NOT_OPEN") {
				t.Errorf("round %d: last reply refused with %v %s (%v)", r, code, replyReason, rerr)
			}
			if !crossing {
				t.Errorf("round %d: last reply refused though its deadline is 30 minutes away: %v", r, rerr)
			}
		}

		stored, err := f.store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		evs := raceEvents(t, f, id)
		var outcome string
		if cerr == nil {
			if stored.GetState() != consConcluded || concluded.GetConclusion().GetProposal() != raceProposal {
				t.Errorf("round %d: conclusion accepted but stored as %v with %v", r, stored.GetState(), stored.GetConclusion())
			}
			at := stored.GetConclusion().GetConcludeTime().AsTime()
			tcA := addressee(stored, "so-tai-chinh")
			switch {
			case rerr == nil:
				outcome = "reply, then conclusion"
				if rs, cs := raceSeq(evs, consultation.EventReplied, "so-tai-chinh"), raceSeq(evs, consultation.EventConcluded, ""); rs == 0 || rs > cs {
					t.Errorf("round %d: both accepted, but the reply is audit entry %d and the conclusion %d", r, rs, cs)
				}
			case tcA.GetState() != stateDeemed || !tcA.GetDeemedApproval().GetRecorded() || !tcA.GetDeemedApproval().GetEffectiveTime().AsTime().Equal(d) || at.Before(d):
				t.Errorf("round %d: concluded at %v without so-tai-chinh's reply, which is stored as %v (deemed %v)", r, at, tcA.GetState(), tcA.GetDeemedApproval())
			case replyReason == "CONSULTATION_NOT_OPEN":
				outcome = "deadline passed, conclusion, then the late reply found it concluded"
			default:
				outcome = "deadline passed (reply refused as late), conclusion"
			}
		} else {
			code, reason := raceRefusal(cerr)
			if code != codes.FailedPrecondition || reason != "REPLIES_PENDING" {
				t.Errorf("round %d: conclusion refused with %v %s (%v), want FailedPrecondition REPLIES_PENDING", r, code, reason, cerr)
			}
			if stored.GetState() != consOpen {
				t.Errorf("round %d: conclusion refused but the consultation is stored as %v", r, stored.GetState())
			}
			if rerr == nil {
				outcome = "conclusion refused (reply pending), then reply"
			} else {
				outcome = "conclusion refused (reply pending), then reply refused as late"
				if s := addressee(f.get(t, id), "so-tai-chinh").GetState(); s != stateDeemed {
					t.Errorf("round %d: the last reply came too late but so-tai-chinh reads %v", r, s)
				}
			}
			// Nothing is pending any more: the lead's second attempt succeeds.
			if _, err := raceConclude(f, id, fmt.Sprintf("c%d-again", r), raceProposal); err != nil {
				t.Errorf("round %d: conclusion after the race: %v", r, err)
			}
			if stored, err = f.store.Get(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		outcomes[outcome]++

		if stored.GetState() != consConcluded {
			t.Fatalf("round %d: not concluded: %v", r, stored.GetState())
		}
		for _, a := range stored.GetAddressees() {
			if a.GetState() == statePending {
				t.Errorf("round %d: concluded with %s still PENDING", r, a.GetAgency())
			}
		}
		var late [2]error
		lateReply := func(i int, p pki.Principal) func() {
			return func() {
				_, late[i] = raceReply(f, p, id, fmt.Sprintf("late%d", r), tacitv1.Position_POSITION_AGREE, "")
			}
		}
		rc.race(0, 0, lateReply(0, tc), lateReply(1, xd))
		for i, err := range late {
			if code, reason := raceRefusal(err); code != codes.FailedPrecondition || reason != "CONSULTATION_NOT_OPEN" {
				t.Errorf("round %d: reply %d after the conclusion: %v %s (%v), want FailedPrecondition CONSULTATION_NOT_OPEN", r, i, code, reason, err)
			}
		}
		if after, err := f.store.Get(ctx, id); err != nil || !proto.Equal(stored, after) {
			t.Errorf("round %d: a refused reply changed the concluded record (%v)", r, err)
		}
		if t.Failed() {
			break
		}
	}
	t.Logf("%d rounds (%d with the deadline passing during the race): %s", rounds, rounds-(rounds+2)/3, raceSummary(outcomes))
	raceCheckStore(t, f)
}

func raceSummary(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, "; ")
}

// raceTally counts outcomes from many goroutines.
type raceTally struct {
	mu sync.Mutex
	m  map[string]int
}

func (t *raceTally) add(op string, err error) {
	k := op + " ok"
	if err != nil {
		code, reason := raceRefusal(err)
		k = fmt.Sprintf("%s %v %s", op, code, reason)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]int{}
	}
	t.m[k]++
}

// 5. The sweeper runs while 20 goroutines open, reply, ask for and decide
// extensions and conclude, some requests sent twice at once, and the clock
// moves in steps. In the end every silent addressee past its deadline is a
// recorded deemed approval at its deadline, every reply came before its
// deadline, nothing was applied twice, and the store agrees with itself.
func TestSweeperRacingWrites(t *testing.T) {
	t.Parallel() // each test has its own store and clock
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	f.core.rules.Reminder = consultation.Reminder{Before: 20 * time.Minute} // the sweeper writes reminders too

	var sw struct {
		sync.Mutex
		last          time.Time
		runs, changed int
	}
	swept := make(chan struct{}, 1)
	f.core.onSweep = func(n int, asOf time.Time) {
		sw.Lock()
		sw.last, sw.runs, sw.changed = asOf, sw.runs+1, sw.changed+n
		sw.Unlock()
		select {
		case swept <- struct{}{}:
		default:
		}
	}
	done := make(chan struct{})
	go func() { defer close(done); f.core.RunSweeper(ctx) }()
	defer func() { cancel(); <-done }()

	var (
		idsMu  sync.Mutex
		ids    []string
		opened = map[string]string{} // request id -> consultation id
		asked  [][2]string           // extension requests accepted: consultation id, agency
		tally  raceTally
	)
	for i := range 5 {
		c, err := raceOpen(f, fmt.Sprintf("seed-%d", i), fmt.Sprintf("Hồ sơ seed-%d", i), time.Duration(30+30*i)*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		ids, opened[fmt.Sprintf("seed-%d", i)] = append(ids, c.GetId()), c.GetId()
	}
	pick := func(rng *rand.Rand) string {
		idsMu.Lock()
		defer idsMu.Unlock()
		return ids[rng.IntN(len(ids))]
	}
	agencyOf := func(rng *rand.Rand) pki.Principal {
		if rng.IntN(2) == 0 {
			return xd
		}
		return tc
	}
	positions := []tacitv1.Position{tacitv1.Position_POSITION_AGREE, tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, tacitv1.Position_POSITION_DISAGREE}
	allowed := func(op string, err error, extra ...codes.Code) {
		tally.add(op, err)
		if err == nil {
			return
		}
		code, _ := raceRefusal(err)
		if code == codes.FailedPrecondition {
			return
		}
		for _, c := range extra {
			if code == c {
				return
			}
		}
		t.Errorf("%s: unexpected %v: %v", op, code, err)
	}

	const workers, opsEach = 20, 20
	progress := make(chan struct{}, workers*opsEach)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range opsEach {
				rid := fmt.Sprintf("w%d-%d", w, i)
				// twice sends the same request from two goroutines at once.
				twice := rng.IntN(4) == 0
				send := func(fn func(j int) error) []error {
					if !twice {
						return []error{fn(0)}
					}
					errs := make([]error, 2)
					var both sync.WaitGroup
					for j := range 2 {
						both.Add(1)
						go func() { defer both.Done(); errs[j] = fn(j) }()
					}
					both.Wait()
					return errs
				}
				switch n := rng.IntN(20); {
				case n < 5:
					within := time.Duration(15+rng.IntN(225)) * time.Minute
					var got [2]string
					errs := send(func(j int) error {
						c, err := raceOpen(f, rid, "Hồ sơ "+rid, within)
						got[j] = c.GetId()
						return err
					})
					first := ""
					for j, err := range errs {
						allowed("open", err)
						if err != nil {
							continue
						}
						if first == "" {
							first = got[j]
						} else if got[j] != first {
							t.Errorf("open %s sent twice stored two consultations: %s and %s", rid, first, got[j])
						}
					}
					if first != "" {
						idsMu.Lock()
						ids, opened[rid] = append(ids, first), first
						idsMu.Unlock()
					}
				case n < 11:
					id, p, pos := pick(rng), agencyOf(rng), positions[rng.IntN(len(positions))]
					for _, err := range send(func(int) error {
						_, err := raceReply(f, p, id, rid, pos, "ý kiến "+rid)
						return err
					}) {
						allowed("reply", err)
					}
				case n < 14:
					id, p := pick(rng), agencyOf(rng)
					cur, err := f.consult.GetConsultation(as(raceAuditor), &tacitv1.GetConsultationRequest{Id: id})
					if err != nil {
						t.Errorf("get %s: %v", id, err)
						break
					}
					until := addressee(cur.GetConsultation(), p.Name).GetDeadline().AsTime().Add(time.Duration(1+rng.IntN(3)) * time.Hour)
					errs := send(func(int) error {
						_, err := raceAskExtension(f, p, id, rid, until)
						return err
					})
					for _, err := range errs {
						allowed("request extension", err, codes.InvalidArgument) // stale: the deadline moved meanwhile
					}
					if errs[0] == nil {
						idsMu.Lock()
						asked = append(asked, [2]string{id, p.Name})
						idsMu.Unlock()
						if rng.IntN(2) == 0 { // the lead answers at once, while the clock moves on
							grant := rng.IntN(4) > 0
							_, err := raceDecide(f, id, p.Name, rid+"-decide", grant)
							allowed(map[bool]string{true: "grant extension", false: "refuse extension"}[grant], err)
						}
					}
				case n < 17:
					// Mostly a request that was made, possibly decided already.
					id, agency, grant := pick(rng), agencyOf(rng).Name, rng.IntN(3) > 0
					idsMu.Lock()
					if len(asked) > 0 && rng.IntN(4) > 0 {
						x := asked[rng.IntN(len(asked))]
						id, agency = x[0], x[1]
					}
					idsMu.Unlock()
					for _, err := range send(func(int) error {
						_, err := raceDecide(f, id, agency, rid, grant)
						return err
					}) {
						allowed(map[bool]string{true: "grant extension", false: "refuse extension"}[grant], err)
					}
				case n < 18:
					id := pick(rng)
					for _, err := range send(func(int) error {
						_, err := raceConclude(f, id, rid, raceProposal)
						return err
					}) {
						allowed("conclude", err)
					}
				default:
					// A read shows the effective state: nothing pending past its
					// deadline, deemed approvals dated at the deadline.
					id := pick(rng)
					before := f.clock.Now()
					res, err := f.consult.GetConsultation(as(raceAuditor), &tacitv1.GetConsultationRequest{Id: id})
					after := f.clock.Now()
					tally.add("read", err)
					if err != nil {
						t.Errorf("get %s: %v", id, err)
						break
					}
					c := res.GetConsultation()
					for _, a := range c.GetAddressees() {
						dl := a.GetDeadline().AsTime()
						switch a.GetState() {
						case statePending:
							if c.GetState() == consOpen && !dl.After(before) {
								t.Errorf("read of %s at %v shows %s pending past its deadline %v", id, before, a.GetAgency(), dl)
							}
						case stateDeemed:
							if eff := a.GetDeemedApproval().GetEffectiveTime().AsTime(); !eff.Equal(dl) || dl.After(after) {
								t.Errorf("read of %s at %v shows %s deemed at %v, deadline %v", id, after, a.GetAgency(), eff, dl)
							}
						}
					}
				}
				progress <- struct{}{}
			}
		}()
	}
	// The clock moves 7 minutes after every 8 operations, while they run.
	steps := make(chan struct{})
	go func() {
		defer close(steps)
		for i := range workers * opsEach {
			<-progress
			if i%8 == 7 {
				f.clock.Advance(7 * time.Minute)
			}
		}
	}()
	wg.Wait()
	<-steps

	// Wait for a sweep that read the clock after every write returned.
	f.clock.Advance(time.Minute)
	final := f.clock.Now()
	f.core.wake()
	timeout := time.After(30 * time.Second)
	for {
		sw.Lock()
		caught := !sw.last.Before(final)
		sw.Unlock()
		if caught {
			break
		}
		select {
		case <-swept:
		case <-timeout:
			t.Fatalf("the sweeper did not sweep at %v", final)
		}
	}
	cancel()
	<-done

	bg := context.Background()
	var all []*tacitv1.Consultation
	for after := ""; ; {
		cs, next, err := f.store.List(bg, storage.ListQuery{Limit: 500, After: after})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, cs...)
		if next == "" {
			break
		}
		after = next
	}
	var evs []*tacitv1.AuditEvent
	for seq := uint64(0); ; {
		page, err := f.store.ListEvents(bg, storage.EventQuery{AfterSeq: seq, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		evs = append(evs, page...)
		seq = page[len(page)-1].GetSequence()
	}
	type key struct{ id, agency, typ string }
	count := map[key]int{}
	for _, e := range evs {
		count[key{e.GetConsultationId(), e.GetAgency(), e.GetType()}]++
	}

	if len(all) != len(opened) {
		t.Errorf("%d consultations stored, %d distinct openings acknowledged", len(all), len(opened))
	}
	titles, comments := map[string]bool{}, map[string]bool{}
	deemed, replied, pending := 0, 0, 0
	for _, c := range all {
		id := c.GetId()
		if titles[c.GetTitle()] {
			t.Errorf("two consultations titled %q: a retried opening was stored twice", c.GetTitle())
		}
		titles[c.GetTitle()] = true
		for _, a := range c.GetAddressees() {
			ag, dl := a.GetAgency(), a.GetDeadline().AsTime()
			for _, rv := range a.GetRevisions() {
				if comments[rv.GetComment()] {
					t.Errorf("consultation %s: reply %q applied twice", id, rv.GetComment())
				}
				comments[rv.GetComment()] = true
				if !rv.GetReplyTime().AsTime().Before(dl) {
					t.Errorf("consultation %s: %s revision %d at %v, not before its deadline %v", id, ag, rv.GetRevision(), rv.GetReplyTime().AsTime(), dl)
				}
			}
			if n := count[key{id, ag, consultation.EventReplied}] + count[key{id, ag, consultation.EventRevised}]; n != len(a.GetRevisions()) {
				t.Errorf("consultation %s: %s has %d revisions and %d reply entries", id, ag, len(a.GetRevisions()), n)
			}
			// Deadlines move only by a grant strictly before them, to the
			// deadline asked for.
			want := c.GetDeadline().AsTime()
			for _, x := range a.GetExtensions() {
				switch x.GetState() {
				case tacitv1.ExtensionState_EXTENSION_STATE_GRANTED:
					if !x.GetDecideTime().AsTime().Before(x.GetPreviousDeadline().AsTime()) || !x.GetPreviousDeadline().AsTime().Equal(want) {
						t.Errorf("consultation %s: %s extension granted at %v, deadline then %v (expected %v)", id, ag, x.GetDecideTime().AsTime(), x.GetPreviousDeadline().AsTime(), want)
					}
					want = x.GetRequestedDeadline().AsTime()
				case tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED:
					if c.GetState() != consOpen || a.GetState() != statePending {
						t.Errorf("consultation %s (%v): %s is %v with an undecided extension request", id, c.GetState(), ag, a.GetState())
					}
				}
			}
			if !dl.Equal(want) {
				t.Errorf("consultation %s: %s deadline %v, but its granted extensions give %v", id, ag, dl, want)
			}
			if g := count[key{id, ag, consultation.EventExtensionGranted}]; g != countGranted(a) {
				t.Errorf("consultation %s: %s has %d granted extensions and %d grant entries", id, ag, countGranted(a), g)
			}
			nd := count[key{id, ag, consultation.EventDeemedApproval}]
			switch a.GetState() {
			case statePending:
				pending++
				if c.GetState() == consConcluded {
					t.Errorf("consultation %s concluded with %s pending", id, ag)
				}
				if c.GetState() == consOpen && !dl.After(final) {
					t.Errorf("consultation %s: %s still stored PENDING after the sweep at %v; its deadline %v passed", id, ag, final, dl)
				}
				if rt := a.GetReminderTime(); c.GetState() == consOpen && rt != nil && a.GetReminderSentTime() == nil && !rt.AsTime().After(final) {
					t.Errorf("consultation %s: %s reminder due %v not sent by the sweep at %v", id, ag, rt.AsTime(), final)
				}
				if nd != 0 {
					t.Errorf("consultation %s: %s pending with %d deemed approval entries", id, ag, nd)
				}
			case stateReplied:
				replied++
				if a.GetDeemedApproval() != nil || nd != 0 {
					t.Errorf("consultation %s: %s replied and deemed (%v, %d entries)", id, ag, a.GetDeemedApproval(), nd)
				}
			case stateDeemed:
				deemed++
				da := a.GetDeemedApproval()
				if !da.GetRecorded() || !da.GetEffectiveTime().AsTime().Equal(dl) || dl.After(final) || len(a.GetRevisions()) != 0 {
					t.Errorf("consultation %s: %s deemed %v (deadline %v, %d revisions), want recorded at its deadline", id, ag, da, dl, len(a.GetRevisions()))
				}
				if nd != 1 {
					t.Errorf("consultation %s: %s deemed with %d DEEMED_APPROVAL entries, want 1", id, ag, nd)
				}
			}
		}
	}
	if next, ok, err := f.store.NextDeadline(bg); err != nil || (ok && !next.After(final)) {
		t.Errorf("after the sweep at %v the index still has %v due (%v)", final, next, err)
	}
	raceCheckStore(t, f)

	sw.Lock()
	runs, changed := sw.runs, sw.changed
	sw.Unlock()
	tally.mu.Lock()
	defer tally.mu.Unlock()
	t.Logf("%d consultations; addressees: %d replied, %d deemed, %d pending; %d sweeps changed %d records; %d audit entries; operations: %s",
		len(all), replied, deemed, pending, runs, changed, len(evs), raceSummary(tally.m))
}

func countGranted(a *tacitv1.Addressee) int {
	n := 0
	for _, x := range a.GetExtensions() {
		if x.GetState() == tacitv1.ExtensionState_EXTENSION_STATE_GRANTED {
			n++
		}
	}
	return n
}
