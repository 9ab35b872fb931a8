package main

// Crash safety: the real binary is killed with SIGKILL at random moments
// while clients open consultations and reply, then restarted on the same
// data folder. Everything it acknowledged must be there, as acknowledged;
// whatever it did not acknowledge is either absent or complete; deadlines
// that passed while it was down are deemed at their deadline; the audit
// chain is intact and every index agrees with the records (bolt Check).

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/storage"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

const (
	crashCycles      = 20 // SIGKILLs
	crashVerifyEvery = 5  // cycles between full verifications
	crashOpeners     = 3  // goroutines opening consultations
	crashRepliers    = 3  // goroutines replying
)

// crashLeads are the leading agencies, each with a matter whose fields the
// three agencies of its pool cover (demo registry, all provincial).
var crashLeads = []struct {
	lead   string
	fields []string
	pool   []string
}{
	{"so-nnmt", []string{"land.prices", "urban-planning", "justice"}, []string{"so-tai-chinh", "so-xay-dung", "so-tu-phap"}},
	{"so-tai-chinh", []string{"land", "urban-planning", "justice"}, []string{"so-nnmt", "so-xay-dung", "so-tu-phap"}},
}

// crashWithin are the deadlines asked for: the short ones pass during a
// cycle or while the server is down, the long ones stay pending.
var crashWithin = []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Hour}

// sentOpen is one OpenConsultation request and, once acknowledged, its
// result. Titles are unique, so a stored consultation names its request.
type sentOpen struct {
	lead    string
	req     *tacitv1.OpenConsultationRequest
	acked   bool
	res     *tacitv1.Consultation // the acknowledged consultation
	retried bool                  // retried after a restart though not acknowledged
}

// sentReply is one Reply request; signer names are unique, so a stored
// revision names its request.
type sentReply struct {
	agency  string
	req     *tacitv1.ReplyRequest
	acked   bool
	rev     *tacitv1.Reply // the acknowledged revision
	retried bool
}

// downtime is a window during which no server ran.
type downtime struct{ from, to time.Time }

// crashLedger is what the clients sent and what was acknowledged.
type crashLedger struct {
	mu      sync.Mutex
	opens   map[string]*sentOpen  // by title
	replies map[string]*sentReply // by signer name
	acked   []*sentOpen           // acknowledged opens, in order
	downs   []downtime

	seq                  atomic.Int64
	kills                int
	unexpected           []string
	refusedReplies       int
	verifiedOpens        int // acked opens already retried
	verifiedReplies      int
	ackedRepliesInOrder  []*sentReply
	ackedOpensLive       int // acknowledged during the crash cycles (not on a later retry)
	ackedRepliesLive     int
	deemedWhileDown      int
	deemedWhileUp        int
	unavailableOrAborted int
	replayedUnackOpens   int // unacknowledged opens whose retry replayed the stored result
	replayedUnackReplies int
}

func (l *crashLedger) next() int64 { return l.seq.Add(1) }

// transient reports whether err is what a client sees when the server
// dies under it or is not there.
func transient(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded:
		return true
	}
	return false
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the server many times")
	}
	start := time.Now()
	data := t.TempDir()
	l := &crashLedger{opens: map[string]*sentOpen{}, replies: map[string]*sentReply{}}

	var lastStop time.Time
	startSrv := func() *tacitServer {
		t.Helper()
		// No rate limit: the clients deliberately push as hard as they can.
		srv := startServerOn(t, data, "", "--rate-limit", "0")
		if !lastStop.IsZero() {
			l.downs = append(l.downs, downtime{lastStop, time.Now()})
		}
		return srv
	}
	verifications := 0
	for cycle := 1; cycle <= crashCycles; cycle++ {
		srv := startSrv()
		crashCycle(t, srv, l, cycle)
		lastStop = time.Now()
		if t.Failed() {
			t.Logf("server log:\n%s", tail(srv.Log(), 40))
			return
		}
		if cycle%crashVerifyEvery == 0 || cycle == crashCycles {
			srv := startSrv()
			verifications++
			crashVerify(t, srv, data, l, cycle == crashCycles)
			lastStop = time.Now()
			if t.Failed() {
				t.Logf("server log:\n%s", tail(srv.Log(), 40))
				return
			}
		}
	}
	t.Logf("crash safety: %d cycles, %d SIGKILLs, %d verifications in %s", crashCycles, l.kills, verifications, time.Since(start).Round(time.Millisecond))
	t.Logf("opens: %d sent, %d acknowledged; of the %d cut by a kill, %d had been committed (their retry replayed it), %d were stored by their retry",
		len(l.opens), l.ackedOpensLive, len(l.opens)-l.ackedOpensLive, l.replayedUnackOpens, len(l.opens)-l.ackedOpensLive-l.replayedUnackOpens)
	t.Logf("replies: %d sent, %d acknowledged, %d refused after the deadline; of the rest, %d had been committed (their retry replayed it)",
		len(l.replies), l.ackedRepliesLive, l.refusedReplies, l.replayedUnackReplies)
	t.Logf("deemed approvals: %d of deadlines that passed while the server was down, %d while it ran; %d calls cut by a kill or made while down",
		l.deemedWhileDown, l.deemedWhileUp, l.unavailableOrAborted)
	if l.ackedOpensLive == 0 || l.ackedRepliesLive == 0 || l.deemedWhileDown == 0 {
		t.Errorf("the test exercised too little: %d acknowledged opens, %d acknowledged replies, %d deadlines passed while down", l.ackedOpensLive, l.ackedRepliesLive, l.deemedWhileDown)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// crashCycle runs openers and repliers against srv and kills it with
// SIGKILL after a random delay.
func crashCycle(t *testing.T, srv *tacitServer, l *crashLedger, cycle int) {
	t.Helper()
	clients := map[string]*grpcClients{}
	for _, p := range []string{"so-nnmt", "so-tai-chinh", "so-xay-dung", "so-tu-phap"} {
		clients[p] = grpcClient(t, srv, p)
	}
	defer func() {
		for _, c := range clients {
			c.conn.Close()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for g := range crashOpeners {
		wg.Go(func() { crashOpener(ctx, l, clients, cycle, g) })
	}
	for g := range crashRepliers {
		wg.Go(func() { crashReplier(ctx, l, clients, cycle, g) })
	}
	time.Sleep(time.Duration(50+rand.IntN(451)) * time.Millisecond)
	if err := srv.cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	<-srv.done
	l.kills++
	cancel()
	wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, u := range l.unexpected {
		t.Errorf("cycle %d: %s", cycle, u)
	}
	l.unexpected = nil
}

func crashOpener(ctx context.Context, l *crashLedger, clients map[string]*grpcClients, cycle, g int) {
	for ctx.Err() == nil {
		n := l.next()
		lc := crashLeads[int(n)%len(crashLeads)]
		pool := slices.Clone(lc.pool)
		rand.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
		req := &tacitv1.OpenConsultationRequest{
			RequestId:    fmt.Sprintf("crash-open-%d", n),
			Title:        fmt.Sprintf("Thử nghiệm sự cố %d (chu kỳ %d, luồng %d)", n, cycle, g),
			LegalBasis:   "Luật Đất đai 2024",
			Fields:       lc.fields,
			Addressees:   pool[:1+rand.IntN(len(pool))],
			DeadlineSpec: &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(crashWithin[rand.IntN(len(crashWithin))])},
		}
		so := &sentOpen{lead: lc.lead, req: req}
		l.mu.Lock()
		l.opens[req.Title] = so
		l.mu.Unlock()
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := clients[lc.lead].consult.OpenConsultation(rctx, req)
		cancel()
		l.mu.Lock()
		switch {
		case err == nil:
			so.acked, so.res = true, res.GetConsultation()
			l.acked = append(l.acked, so)
			l.ackedOpensLive++
		case transient(err):
			l.unavailableOrAborted++
		default:
			l.unexpected = append(l.unexpected, fmt.Sprintf("OpenConsultation %s: %v", req.GetRequestId(), err))
		}
		l.mu.Unlock()
		if err != nil {
			pause(ctx)
		}
	}
}

// pause backs off after a failed call (the server is gone or going).
func pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(20 * time.Millisecond):
	}
}

func crashReplier(ctx context.Context, l *crashLedger, clients map[string]*grpcClients, cycle, g int) {
	positions := []tacitv1.Position{tacitv1.Position_POSITION_AGREE, tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, tacitv1.Position_POSITION_DISAGREE}
	for ctx.Err() == nil {
		// A consultation acknowledged so far, mostly one still open to
		// replies; an addressee of it that has a client here.
		l.mu.Lock()
		var target *sentOpen
		for range 8 {
			if len(l.acked) == 0 {
				break
			}
			target = l.acked[rand.IntN(len(l.acked))]
			if target.res.GetDeadline().AsTime().After(time.Now()) {
				break
			}
		}
		l.mu.Unlock()
		if target == nil {
			pause(ctx)
			continue
		}
		var agency string
		var deadline time.Time
		for _, a := range target.res.GetAddressees() {
			if clients[a.GetAgency()] != nil && (agency == "" || rand.IntN(2) == 0) {
				agency, deadline = a.GetAgency(), a.GetDeadline().AsTime()
			}
		}
		if agency == "" {
			pause(ctx)
			continue
		}
		n := l.next()
		pos := positions[rand.IntN(len(positions))]
		req := &tacitv1.ReplyRequest{
			RequestId: fmt.Sprintf("crash-reply-%d", n), ConsultationId: target.res.GetId(), Position: pos,
			Signer: &tacitv1.Signer{Name: fmt.Sprintf("Người ký %d", n), Role: tacitv1.SignerRole_SIGNER_ROLE_DEPUTY},
		}
		if pos != tacitv1.Position_POSITION_AGREE {
			req.Comment = fmt.Sprintf("Ý kiến số %d (chu kỳ %d, luồng %d)", n, cycle, g)
		}
		sr := &sentReply{agency: agency, req: req}
		l.mu.Lock()
		l.replies[req.Signer.Name] = sr
		l.mu.Unlock()
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := clients[agency].consult.Reply(rctx, req)
		cancel()
		failedAt := time.Now()
		l.mu.Lock()
		switch {
		case err == nil:
			sr.acked = true
			for _, a := range res.GetConsultation().GetAddressees() {
				if a.GetAgency() == agency && len(a.GetRevisions()) > 0 {
					sr.rev = a.GetRevisions()[len(a.GetRevisions())-1]
				}
			}
			if sr.rev.GetSigner().GetName() != req.Signer.Name {
				l.unexpected = append(l.unexpected, fmt.Sprintf("Reply %s acknowledged with last revision %v, not the one sent", req.GetRequestId(), sr.rev))
			}
			l.ackedRepliesInOrder = append(l.ackedRepliesInOrder, sr)
			l.ackedRepliesLive++
		case status.Code(err) == codes.FailedPrecondition && !failedAt.Before(deadline):
			l.refusedReplies++
		case transient(err):
			l.unavailableOrAborted++
		default:
			l.unexpected = append(l.unexpected, fmt.Sprintf("Reply %s by %s to %s (deadline %s): %v", req.GetRequestId(), agency, req.GetConsultationId(), deadline.Format(time.RFC3339Nano), err))
		}
		l.mu.Unlock()
		if err != nil {
			pause(ctx)
		}
	}
}

// crashVerify checks a restarted server against the ledger, stops it
// gracefully and checks the data folder with bolt Check.
func crashVerify(t *testing.T, srv *tacitServer, data string, l *crashLedger, final bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients := map[string]*grpcClients{}
	for _, p := range []string{"so-nnmt", "so-tai-chinh", "so-xay-dung", "so-tu-phap", "auditor:auditor"} {
		clients[p] = grpcClient(t, srv, p)
	}
	defer func() {
		for _, c := range clients {
			c.conn.Close()
		}
	}()

	// 1. Idempotency survived: retried acknowledged requests return their
	// first result (the new ones since the last verification; all of them
	// at the end).
	from := l.verifiedOpens
	if final {
		from = 0
	}
	retryOpens := l.acked[from:]
	retryReplies := l.ackedRepliesInOrder[l.verifiedReplies:]
	var jobs []func() string
	for _, so := range retryOpens {
		jobs = append(jobs, func() string {
			res, err := clients[so.lead].consult.OpenConsultation(ctx, so.req)
			if err != nil {
				return fmt.Sprintf("retrying acknowledged OpenConsultation %s: %v", so.req.GetRequestId(), err)
			}
			if got, want := res.GetConsultation().GetId(), so.res.GetId(); got != want {
				return fmt.Sprintf("retrying acknowledged OpenConsultation %s returned consultation %s, want %s", so.req.GetRequestId(), got, want)
			}
			return ""
		})
	}
	for _, sr := range retryReplies {
		jobs = append(jobs, func() string {
			if _, err := clients[sr.agency].consult.Reply(ctx, sr.req); err != nil {
				return fmt.Sprintf("retrying acknowledged Reply %s: %v", sr.req.GetRequestId(), err)
			}
			return ""
		})
	}
	parallel(t, jobs)

	// Requests that were never acknowledged, retried as a client would:
	// one that was committed before the kill must replay its stored result
	// (its idempotency record was written with it), one that was not is
	// applied now, once.
	before := listEvery(t, ctx, clients["auditor:auditor"])
	storedTitles, storedSigners := map[string]string{}, map[string]bool{}
	for _, c := range before {
		storedTitles[c.GetTitle()] = c.GetId()
		for _, a := range c.GetAddressees() {
			for _, r := range a.GetRevisions() {
				storedSigners[r.GetSigner().GetName()] = true
			}
		}
	}
	var mu sync.Mutex // guards l below
	jobs = nil
	for _, so := range l.opens {
		if so.acked || so.retried {
			continue
		}
		so.retried = true
		jobs = append(jobs, func() string {
			res, err := clients[so.lead].consult.OpenConsultation(ctx, so.req)
			if err != nil {
				return fmt.Sprintf("retrying unacknowledged OpenConsultation %s: %v", so.req.GetRequestId(), err)
			}
			mu.Lock()
			defer mu.Unlock()
			so.acked, so.res = true, res.GetConsultation()
			l.acked = append(l.acked, so)
			id, was := storedTitles[so.req.GetTitle()]
			if was {
				l.replayedUnackOpens++
				if id != so.res.GetId() {
					return fmt.Sprintf("retrying OpenConsultation %s, stored as consultation %s before the kill, returned %s", so.req.GetRequestId(), id, so.res.GetId())
				}
			}
			return ""
		})
	}
	for _, sr := range l.replies {
		if sr.acked || sr.retried {
			continue
		}
		sr.retried = true
		jobs = append(jobs, func() string {
			res, err := clients[sr.agency].consult.Reply(ctx, sr.req)
			mu.Lock()
			defer mu.Unlock()
			was := storedSigners[sr.req.GetSigner().GetName()]
			if err != nil {
				if status.Code(err) == codes.FailedPrecondition && !was {
					return "" // its deadline passed meanwhile
				}
				return fmt.Sprintf("retrying unacknowledged Reply %s (stored before: %v): %v", sr.req.GetRequestId(), was, err)
			}
			sr.acked = true
			for _, a := range res.GetConsultation().GetAddressees() {
				if a.GetAgency() == sr.agency && len(a.GetRevisions()) > 0 {
					sr.rev = a.GetRevisions()[len(a.GetRevisions())-1]
				}
			}
			l.ackedRepliesInOrder = append(l.ackedRepliesInOrder, sr)
			if was {
				l.replayedUnackReplies++
			}
			if sr.rev.GetSigner().GetName() != sr.req.GetSigner().GetName() {
				return fmt.Sprintf("retrying Reply %s (stored before: %v) returned last revision %v, not its own", sr.req.GetRequestId(), was, sr.rev)
			}
			return ""
		})
	}
	parallel(t, jobs)
	l.verifiedOpens, l.verifiedReplies = len(l.acked), len(l.ackedRepliesInOrder)

	// 2. Every acknowledged opening and reply, as acknowledged; deadlines
	// that passed are deemed at their deadline, and recorded by the
	// sweeper that caught up on restart.
	repliesTo := map[string][]*sentReply{} // consultation id + agency -> acked replies
	for _, sr := range l.ackedRepliesInOrder {
		k := sr.req.GetConsultationId() + "/" + sr.agency
		repliesTo[k] = append(repliesTo[k], sr)
	}
	var stored map[string]*tacitv1.Consultation
	var problems []string
	deadlineLine := time.Now()
	for attempt := 0; ; attempt++ {
		stored = listEvery(t, ctx, clients["auditor:auditor"])
		var whileDown, whileUp int
		problems, whileDown, whileUp = crashCompare(l, stored, repliesTo, deadlineLine)
		if len(problems) == 0 || attempt == 100 {
			l.deemedWhileDown, l.deemedWhileUp = whileDown, whileUp
			break
		}
		time.Sleep(100 * time.Millisecond) // the sweeper may still be recording
	}
	for _, p := range problems {
		t.Error(p)
	}

	// 3. The audit chain.
	v, err := clients["auditor:auditor"].audit.VerifyAuditLog(ctx, &tacitv1.VerifyAuditLogRequest{})
	if err != nil {
		t.Fatalf("VerifyAuditLog: %v", err)
	}
	if !v.GetIntact() || v.GetEntriesChecked() == 0 {
		t.Errorf("VerifyAuditLog = %v, want intact", v)
	}

	// The trail by agency, as each agency's systems read it: the entries
	// of the last commits before a kill are indexed by agency in memory
	// only, rebuilt from the trail at the restart.
	crashEventsByAgency(t, ctx, clients["auditor:auditor"])

	// 4. A graceful stop, then the indexes against the records, and what
	// was stored without acknowledgement.
	if code := srv.Stop(); code != 0 {
		t.Errorf("tacit serve exited %d after SIGTERM, want 0", code)
	}
	st, err := bolt.Open(data, bolt.Options{})
	if err != nil {
		t.Fatalf("opening the data folder after the server stopped: %v", err)
	}
	defer st.Close()
	found, err := st.Check(ctx)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	for _, p := range found {
		t.Errorf("bolt Check: %s", p)
	}
	crashUnacknowledged(t, ctx, st, l)
}

// crashEventsByAgency compares, for each agency of the test, the audit
// entries listed by agency with those the whole trail names it in.
func crashEventsByAgency(t *testing.T, ctx context.Context, auditor *grpcClients) {
	t.Helper()
	// The sweeper may append meanwhile: compare up to the trail's head as
	// first listed.
	var head uint64
	list := func(agency string) []uint64 {
		var out []uint64
		tok := ""
		for {
			res, err := auditor.audit.ListEvents(ctx, &tacitv1.ListEventsRequest{Agency: agency, PageSize: 1000, PageToken: tok})
			if err != nil {
				t.Fatalf("ListEvents (agency %q): %v", agency, err)
			}
			for _, e := range res.GetEvents() {
				if e.GetSequence() <= head {
					out = append(out, e.GetSequence())
				}
			}
			if tok = res.GetNextPageToken(); tok == "" {
				return out
			}
		}
	}
	var trail []*tacitv1.AuditEvent
	for tok := ""; ; {
		res, err := auditor.audit.ListEvents(ctx, &tacitv1.ListEventsRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			t.Fatalf("ListEvents: %v", err)
		}
		trail = append(trail, res.GetEvents()...)
		if tok = res.GetNextPageToken(); tok == "" {
			break
		}
	}
	if len(trail) == 0 {
		t.Fatal("the audit trail is empty")
	}
	head = trail[len(trail)-1].GetSequence()
	for _, a := range []string{"so-nnmt", "so-tai-chinh", "so-xay-dung", "so-tu-phap"} {
		var want []uint64
		for _, e := range trail {
			if e.GetAgency() == a || e.GetActor() == "agency:"+a {
				want = append(want, e.GetSequence())
			}
		}
		if got := list(a); !slices.Equal(got, want) {
			t.Errorf("audit entries listed for %s: %d, the trail names it in %d (first differing at %d)", a, len(got), len(want), firstDiff(got, want))
		}
	}
}

func firstDiff(a, b []uint64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// parallel runs jobs on 8 goroutines and reports the messages they return.
func parallel(t *testing.T, jobs []func() string) {
	t.Helper()
	work := make(chan func() string)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for f := range work {
				if msg := f(); msg != "" {
					mu.Lock()
					t.Error(msg)
					mu.Unlock()
				}
			}
		})
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
}

// listEvery lists every consultation as the auditor, by id.
func listEvery(t *testing.T, ctx context.Context, auditor *grpcClients) map[string]*tacitv1.Consultation {
	t.Helper()
	out := map[string]*tacitv1.Consultation{}
	tok := ""
	for {
		res, err := auditor.consult.ListConsultations(ctx, &tacitv1.ListConsultationsRequest{PageSize: 500, PageToken: tok})
		if err != nil {
			t.Fatalf("ListConsultations as auditor: %v", err)
		}
		for _, c := range res.GetConsultations() {
			out[c.GetId()] = c
		}
		if tok = res.GetNextPageToken(); tok == "" {
			return out
		}
	}
}

// crashCompare checks the acknowledged requests against the consultations
// a restarted server shows. Deadlines before deadlineLine must be deemed
// and recorded (unless a reply was stored).
func crashCompare(l *crashLedger, stored map[string]*tacitv1.Consultation, repliesTo map[string][]*sentReply, deadlineLine time.Time) (problems []string, whileDown, whileUp int) {
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, so := range l.acked {
		id := so.res.GetId()
		c := stored[id]
		if c == nil {
			add("acknowledged consultation %s (%s) is missing after the restart", id, so.req.GetRequestId())
			continue
		}
		if c.GetTitle() != so.req.GetTitle() || c.GetLead() != so.lead {
			add("consultation %s: title %q lead %s, acknowledged as %q lead %s", id, c.GetTitle(), c.GetLead(), so.req.GetTitle(), so.lead)
		}
		if !c.GetDeadline().AsTime().Equal(so.res.GetDeadline().AsTime()) {
			add("consultation %s: deadline %s, acknowledged %s", id, c.GetDeadline().AsTime(), so.res.GetDeadline().AsTime())
		}
		var agencies []string
		for _, a := range c.GetAddressees() {
			agencies = append(agencies, a.GetAgency())
		}
		if !sameSet(agencies, so.req.GetAddressees()) {
			add("consultation %s: addressees %v, acknowledged %v", id, agencies, so.req.GetAddressees())
		}
		for _, a := range c.GetAddressees() {
			var ackA *tacitv1.Addressee
			for _, x := range so.res.GetAddressees() {
				if x.GetAgency() == a.GetAgency() {
					ackA = x
				}
			}
			dl := a.GetDeadline().AsTime()
			if ackA != nil && !dl.Equal(ackA.GetDeadline().AsTime()) {
				add("consultation %s, %s: deadline %s, acknowledged %s", id, a.GetAgency(), dl, ackA.GetDeadline().AsTime())
			}
			acked := repliesTo[id+"/"+a.GetAgency()]
			for _, sr := range acked {
				var got []*tacitv1.Reply
				for _, r := range a.GetRevisions() {
					if r.GetSigner().GetName() == sr.req.GetSigner().GetName() {
						got = append(got, r)
					}
				}
				switch {
				case len(got) != 1:
					add("consultation %s, %s: acknowledged reply %s appears %d times", id, a.GetAgency(), sr.req.GetRequestId(), len(got))
				case got[0].GetPosition() != sr.req.GetPosition() || got[0].GetRevision() != sr.rev.GetRevision() || !got[0].GetReplyTime().AsTime().Equal(sr.rev.GetReplyTime().AsTime()) || got[0].GetComment() != sr.req.GetComment():
					add("consultation %s, %s: reply %s stored as %v, acknowledged as %v", id, a.GetAgency(), sr.req.GetRequestId(), got[0], sr.rev)
				}
			}
			switch a.GetState() {
			case tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED:
				for _, r := range a.GetRevisions() {
					if !r.GetReplyTime().AsTime().Before(dl) {
						add("consultation %s, %s: revision %d at %s, not before the deadline %s", id, a.GetAgency(), r.GetRevision(), r.GetReplyTime().AsTime(), dl)
					}
				}
			case tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED:
				d := a.GetDeemedApproval()
				switch {
				case len(acked) > 0:
					add("consultation %s, %s: deemed to agree although its reply was acknowledged", id, a.GetAgency())
				case !d.GetEffectiveTime().AsTime().Equal(dl):
					add("consultation %s, %s: deemed at %s, not at its deadline %s", id, a.GetAgency(), d.GetEffectiveTime().AsTime(), dl)
				case d.GetResponsibleHead() == "":
					add("consultation %s, %s: deemed approval names no responsible head", id, a.GetAgency())
				case !d.GetRecorded() && dl.Before(deadlineLine):
					add("consultation %s, %s: deemed approval at %s not recorded by the sweeper", id, a.GetAgency(), dl)
				}
				if l.passedWhileDown(dl) {
					whileDown++
				} else {
					whileUp++
				}
			case tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING:
				if len(acked) > 0 {
					add("consultation %s, %s: pending although its reply was acknowledged", id, a.GetAgency())
				}
				if dl.Before(deadlineLine) {
					add("consultation %s, %s: still pending after its deadline %s", id, a.GetAgency(), dl)
				}
			default:
				add("consultation %s, %s: state %s", id, a.GetAgency(), a.GetState())
			}
		}
	}
	return problems, whileDown, whileUp
}

func (l *crashLedger) passedWhileDown(t time.Time) bool {
	for _, d := range l.downs {
		if !t.Before(d.from) && t.Before(d.to) {
			return true
		}
	}
	return false
}

// crashUnacknowledged checks, in the stopped store, that whatever is
// stored came from a request that was sent, once, whole: every
// consultation matches its request and every revision a reply sent by
// that agency to that consultation. (Check already proved each one has its
// opening on the audit trail and its index entries.)
func crashUnacknowledged(t *testing.T, ctx context.Context, st *bolt.Store, l *crashLedger) {
	t.Helper()
	byTitle := map[string]string{}
	after := ""
	for {
		page, next, err := st.List(ctx, storage.ListQuery{After: after, Limit: 500})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, c := range page {
			so := l.opens[c.GetTitle()]
			if so == nil {
				t.Errorf("consultation %s (%q) matches no request sent", c.GetId(), c.GetTitle())
				continue
			}
			if prev, dup := byTitle[c.GetTitle()]; dup {
				t.Errorf("request %s stored twice: consultations %s and %s", so.req.GetRequestId(), prev, c.GetId())
			}
			byTitle[c.GetTitle()] = c.GetId()
			var agencies []string
			for _, a := range c.GetAddressees() {
				agencies = append(agencies, a.GetAgency())
			}
			if c.GetLead() != so.lead || !sameSet(agencies, so.req.GetAddressees()) || c.GetLegalBasis() != so.req.GetLegalBasis() {
				t.Errorf("consultation %s: lead %s addressees %v, but its request %s was from %s to %v", c.GetId(), c.GetLead(), agencies, so.req.GetRequestId(), so.lead, so.req.GetAddressees())
			}
			if !so.acked {
				t.Errorf("consultation %s is stored, but its request %s was never acknowledged, even on retry", c.GetId(), so.req.GetRequestId())
			}
			for _, a := range c.GetAddressees() {
				seen := map[string]bool{}
				for _, r := range a.GetRevisions() {
					name := r.GetSigner().GetName()
					sr := l.replies[name]
					switch {
					case sr == nil:
						t.Errorf("consultation %s, %s: revision %d by %q matches no reply sent", c.GetId(), a.GetAgency(), r.GetRevision(), name)
					case sr.agency != a.GetAgency() || sr.req.GetConsultationId() != c.GetId() || sr.req.GetPosition() != r.GetPosition():
						t.Errorf("consultation %s, %s: revision %d is reply %s, sent by %s to %s", c.GetId(), a.GetAgency(), r.GetRevision(), sr.req.GetRequestId(), sr.agency, sr.req.GetConsultationId())
					case seen[name]:
						t.Errorf("consultation %s, %s: reply %s stored twice", c.GetId(), a.GetAgency(), sr.req.GetRequestId())
					case !sr.acked:
						t.Errorf("consultation %s, %s: reply %s is stored, but was never acknowledged, even on retry", c.GetId(), a.GetAgency(), sr.req.GetRequestId())
					}
					seen[name] = true
				}
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("verification took longer than 30s")
	}
}
