package bench

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/pki"
)

// errNoWork ends a worker's phase early: nothing left for it to do.
var errNoWork = errors.New("no work left")

// Addressees of every consultation the tool opens.
const addressees = 5

// A worker is one client: an agency's document system with its own
// connection, and an auditor's connection for the deemed pages.
type worker struct {
	i       int
	agency  *tacitv1.Agency
	tls     *tls.Config
	conn    *grpc.ClientConn
	consult tacitv1.ConsultationServiceClient
	aconn   *grpc.ClientConn
	audit   tacitv1.AuditServiceClient
	rng     *rand.Rand
	next    *tacitv1.ListDeemedApprovalsRequest // the deemed page to continue with
	n       int
}

func (w *worker) close() {
	if w.conn != nil {
		w.conn.Close()
	}
	if w.aconn != nil {
		w.aconn.Close()
	}
}

// combo is a lead and a field with at least five other agencies whose
// mandate covers it.
type combo struct {
	field      string
	candidates []string
}

// openedSet is what the open phase made: consultations addressed to each
// agency (replied to in turn, then revised), and every id.
type openedSet struct {
	mu       sync.Mutex
	ids      []string
	byAgency map[string]*queue
}

type queue struct {
	mu   sync.Mutex
	ids  []string
	next int
}

func (s *openedSet) add(c *tacitv1.Consultation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byAgency == nil {
		s.byAgency = map[string]*queue{}
	}
	s.ids = append(s.ids, c.GetId())
	for _, a := range c.GetAddressees() {
		q := s.byAgency[a.GetAgency()]
		if q == nil {
			q = &queue{}
			s.byAgency[a.GetAgency()] = q
		}
		q.mu.Lock()
		q.ids = append(q.ids, c.GetId())
		q.mu.Unlock()
	}
}

func (s *openedSet) queue(agency string) *queue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byAgency[agency]
}

func (s *openedSet) random(rng *rand.Rand) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ids) == 0 {
		return "", false
	}
	return s.ids[rng.IntN(len(s.ids))], true
}

// pop returns the next consultation to answer: each once in the order they
// were opened, then again (a revision) round and round.
func (q *queue) pop() (string, bool) {
	if q == nil {
		return "", false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.ids) == 0 {
		return "", false
	}
	id := q.ids[q.next%len(q.ids)]
	q.next++
	return id, true
}

// connect reads the registry, works out who may be consulted on what, and
// gives every worker an agency (round robin over the agencies that can
// lead a consultation of five) and its connections.
func (r *runner) connect(ctx context.Context) error {
	conn, err := r.dialAs(pki.Admin("admin"))
	if err != nil {
		return err
	}
	defer conn.Close()
	reg := tacitv1.NewRegistryServiceClient(conn)
	var agencies []*tacitv1.Agency
	for token := ""; ; {
		res, err := reg.ListAgencies(ctx, &tacitv1.ListAgenciesRequest{PageSize: 500, PageToken: token})
		if err != nil {
			return fmt.Errorf("list agencies: %w", err)
		}
		agencies = append(agencies, res.GetAgencies()...)
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	fres, err := reg.ListFields(ctx, &tacitv1.ListFieldsRequest{})
	if err != nil {
		return fmt.Errorf("list fields: %w", err)
	}
	combos := map[string][]combo{}
	consulted := map[string]bool{} // may be an addressee of some combo
	for _, lead := range agencies {
		for _, f := range fres.GetFields() {
			var cands []string
			for _, a := range agencies {
				if a.GetCode() != lead.GetCode() && a.GetActive() && consultation.Covers(a.GetMandate(), []string{f.GetCode()}) {
					cands = append(cands, a.GetCode())
				}
			}
			if len(cands) >= addressees {
				combos[lead.GetCode()] = append(combos[lead.GetCode()], combo{f.GetCode(), cands})
				for _, c := range cands {
					consulted[c] = true
				}
			}
		}
	}
	// Clients are agencies that both lead and are consulted, so that each
	// has replies to make in the reply phase.
	var leads []*tacitv1.Agency
	for _, a := range agencies {
		if len(combos[a.GetCode()]) > 0 && consulted[a.GetCode()] {
			leads = append(leads, a)
		}
	}
	if len(leads) == 0 {
		return errors.New("the registry has no field that five agencies besides a lead may be consulted on: load a larger registry (--demo has one)")
	}
	r.combosByLead = combos
	for _, a := range agencies {
		r.agencies = append(r.agencies, a.GetCode())
	}
	auditConf, err := clientTLS(r.pkiDir, pki.Auditor("auditor"))
	if err != nil {
		return err
	}
	for i := range r.o.Concurrency {
		a := leads[i%len(leads)]
		conf, err := clientTLS(r.pkiDir, pki.Agency(a.GetCode()))
		if err != nil {
			return fmt.Errorf("client certificate of %s: %w", a.GetCode(), err)
		}
		w := &worker{i: i, agency: a, tls: conf, rng: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
		r.workers = append(r.workers, w)
		if w.conn, err = dial(r.addr, conf); err != nil {
			return err
		}
		if w.aconn, err = dial(r.addr, auditConf); err != nil {
			return err
		}
		w.consult = tacitv1.NewConsultationServiceClient(w.conn)
		w.audit = tacitv1.NewAuditServiceClient(w.aconn)
	}
	return nil
}

func requestID(rng *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return hex.EncodeToString(b[:])
}

// openRequest is a consultation led by the worker's agency on one of its
// combos, with five addressees drawn from those whose mandate covers it.
func (r *runner) openRequest(w *worker) *tacitv1.OpenConsultationRequest {
	cs := r.combosByLead[w.agency.GetCode()]
	c := cs[w.rng.IntN(len(cs))]
	to := make([]string, 0, addressees)
	for _, k := range w.rng.Perm(len(c.candidates))[:addressees] {
		to = append(to, c.candidates[k])
	}
	w.n++
	return &tacitv1.OpenConsultationRequest{
		RequestId:        requestID(w.rng),
		Title:            fmt.Sprintf("Dự thảo văn bản số %d/%d của %s", w.n, w.i, w.agency.GetName()),
		LegalBasis:       "Luật Ban hành văn bản quy phạm pháp luật 2025, Điều 36",
		Summary:          "Đề nghị các cơ quan cho ý kiến về dự thảo trong phạm vi chức năng, nhiệm vụ được giao.",
		Fields:           []string{c.field},
		Addressees:       to,
		EscalationReason: "Vấn đề liên quan đến thẩm quyền của cơ quan cấp trên",
		DeadlineSpec:     &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: 20},
	}
}

func (r *runner) open(ctx context.Context, w *worker) error {
	res, err := w.consult.OpenConsultation(ctx, r.openRequest(w))
	if err != nil {
		return err
	}
	r.opened.add(res.GetConsultation())
	return nil
}

var positions = []tacitv1.Position{tacitv1.Position_POSITION_AGREE, tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, tacitv1.Position_POSITION_DISAGREE}

func (r *runner) reply(ctx context.Context, w *worker) error {
	id, ok := r.opened.queue(w.agency.GetCode()).pop()
	if !ok {
		return errNoWork
	}
	_, err := w.consult.Reply(ctx, &tacitv1.ReplyRequest{
		RequestId: requestID(w.rng), ConsultationId: id, Position: positions[w.rng.IntN(len(positions))],
		Comment: "Thống nhất với nội dung dự thảo; đề nghị làm rõ phạm vi điều chỉnh tại Điều 3.",
		Signer:  &tacitv1.Signer{Name: w.agency.GetHead(), Role: tacitv1.SignerRole_SIGNER_ROLE_HEAD},
	})
	return err
}

// get reads a consultation the worker's agency is party to, or when it has
// none, any (as the auditor).
func (r *runner) get(ctx context.Context, w *worker) error {
	if q := r.opened.queue(w.agency.GetCode()); q != nil {
		q.mu.Lock()
		id := q.ids[w.rng.IntN(len(q.ids))]
		q.mu.Unlock()
		_, err := w.consult.GetConsultation(ctx, &tacitv1.GetConsultationRequest{Id: id})
		return err
	}
	id, ok := r.opened.random(w.rng)
	if !ok {
		return errNoWork
	}
	_, err := tacitv1.NewConsultationServiceClient(w.aconn).GetConsultation(ctx, &tacitv1.GetConsultationRequest{Id: id})
	return err
}

// deemed reads one page of 100 deemed approvals as the auditor: a third of
// the time the newest page of all agencies, a third of one agency's, a
// third the next page of the worker's previous query.
func (r *runner) deemed(ctx context.Context, w *worker) error {
	req := &tacitv1.ListDeemedApprovalsRequest{PageSize: 100}
	switch k := w.rng.IntN(3); {
	case k == 1:
		req.Agency = r.agencies[w.rng.IntN(len(r.agencies))]
	case k == 2 && w.next != nil:
		req = w.next
	}
	res, err := w.audit.ListDeemedApprovals(ctx, req)
	if err != nil {
		return err
	}
	w.next = nil
	if t := res.GetNextPageToken(); t != "" {
		w.next = &tacitv1.ListDeemedApprovalsRequest{PageSize: 100, Agency: req.GetAgency(), PageToken: t}
	}
	return nil
}

// ensureDeemed makes deemed approvals when the store has fewer than
// MinDeemed: consultations whose deadline passes two seconds after they
// are opened, then waits for the sweeper to record them.
func (r *runner) ensureDeemed(ctx context.Context) error {
	conn, err := r.dialAs(pki.Admin("admin"))
	if err != nil {
		return err
	}
	defer conn.Close()
	admin := tacitv1.NewAdminServiceClient(conn)
	st, err := admin.GetStatus(ctx, &tacitv1.GetStatusRequest{})
	if err != nil {
		return err
	}
	have := st.GetDeemedApprovals()
	if have >= int64(r.o.MinDeemed) {
		return nil
	}
	if r.server == nil {
		r.logf("deemed: the target holds %d deemed approvals (fewer than %d); measuring anyway", have, r.o.MinDeemed)
		return nil
	}
	n := (int64(r.o.MinDeemed) - have + addressees - 1) / addressees
	r.logf("deemed: the store holds %d deemed approvals; opening %d consultations, each due 2s after it is opened", have, n)
	var (
		wg    sync.WaitGroup
		left  = n
		mu    sync.Mutex
		first error
	)
	for _, w := range r.workers {
		wg.Go(func() {
			for {
				mu.Lock()
				if left == 0 || first != nil {
					mu.Unlock()
					return
				}
				left--
				mu.Unlock()
				req := r.openRequest(w)
				req.DeadlineSpec = &tacitv1.OpenConsultationRequest_Deadline{Deadline: timestamppb.New(time.Now().Add(2 * time.Second))}
				if _, err := w.consult.OpenConsultation(ctx, req); err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return fmt.Errorf("opening consultations to be deemed approved: %w", first)
	}
	start := time.Now()
	for {
		st, err := admin.GetStatus(ctx, &tacitv1.GetStatusRequest{})
		if err != nil {
			return err
		}
		if st.GetDeemedApprovals() >= int64(r.o.MinDeemed) {
			r.logf("deemed: %d deemed approvals recorded", st.GetDeemedApprovals())
			return nil
		}
		if time.Since(start) > 2*time.Minute {
			return fmt.Errorf("the sweeper recorded %d deemed approvals of %d within 2 minutes", st.GetDeemedApprovals(), r.o.MinDeemed)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// watchers are agency systems holding WatchInbox streams open through the
// run, as every agency's document system does in a deployment: they cost
// the server whatever a write's wake-up costs them.
type watchers struct {
	conns     []*grpc.ClientConn
	delivered atomic.Int64
	failed    atomic.Pointer[error]
	cancel    context.CancelFunc
	done      sync.WaitGroup
}

// startWatchers opens n inbox streams, one connection each, spread over
// the registry's agencies, each from the audit trail's head (new events
// only).
func (r *runner) startWatchers(ctx context.Context, n int) (*watchers, error) {
	admin, err := r.dialAs(pki.Admin("admin"))
	if err != nil {
		return nil, err
	}
	st, err := tacitv1.NewAdminServiceClient(admin).GetStatus(ctx, &tacitv1.GetStatusRequest{})
	admin.Close()
	if err != nil {
		return nil, fmt.Errorf("status (for the audit trail's head): %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	ws := &watchers{cancel: cancel}
	for i := range n {
		conn, err := r.dialAs(pki.Agency(r.agencies[i%len(r.agencies)]))
		if err != nil {
			ws.stop()
			return nil, err
		}
		ws.conns = append(ws.conns, conn)
		stream, err := tacitv1.NewConsultationServiceClient(conn).WatchInbox(ctx, &tacitv1.WatchInboxRequest{AfterSequence: st.GetAuditEntries()})
		if err != nil {
			ws.stop()
			return nil, fmt.Errorf("watcher %d: %w", i, err)
		}
		ws.done.Go(func() {
			for {
				if _, err := stream.Recv(); err != nil {
					if ctx.Err() == nil {
						ws.failed.CompareAndSwap(nil, &err)
					}
					return
				}
				ws.delivered.Add(1)
			}
		})
	}
	return ws, nil
}

// stop closes the streams; err is the first a stream ended with before.
func (ws *watchers) stop() (err error) {
	ws.cancel()
	for _, c := range ws.conns {
		c.Close()
	}
	ws.done.Wait()
	if p := ws.failed.Load(); p != nil {
		err = *p
	}
	return err
}
