package server

// A seeded simulation of several weeks of consultations through the real
// handlers, on a fake clock, after which every auditor's figure is checked
// against a brute-force recount of the records and the audit trail. The
// figures are those of the records as stored: a deemed approval counts
// (and stops counting as pending) once it is recorded, by the sweeper or a
// later write, even though reads show it from the deadline on. Everything
// is reproducible from the seed except a final burst of concurrent writes
// (one goroutine per agency), whose interleaving is left to the scheduler.

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/pki"
	"github.com/tacit-gov/tacit/pkg/registry"
	"github.com/tacit-gov/tacit/pkg/storage"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

// --- the registry of the simulation (and of the benchmarks) ---

var simFields = []*tacitv1.Field{
	{Code: "land", Name: "Đất đai"},
	{Code: "land.planning", Name: "Quy hoạch sử dụng đất"},
	{Code: "land.use-rights", Name: "Giao đất, cho thuê đất"},
	{Code: "construction", Name: "Xây dựng"},
	{Code: "construction.permits", Name: "Cấp giấy phép xây dựng"},
	{Code: "finance", Name: "Tài chính"},
	{Code: "finance.budget", Name: "Ngân sách nhà nước"},
	{Code: "environment", Name: "Môi trường"},
	{Code: "justice", Name: "Tư pháp"},
	{Code: "health", Name: "Y tế"},
}

type simAgency struct {
	code, name, head string
	level            tacitv1.AgencyLevel
	mandate          []string
	diligence        float64 // how readily it replies when it looks at its inbox
}

const (
	levelCentral    = tacitv1.AgencyLevel_AGENCY_LEVEL_CENTRAL
	levelProvincial = tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL
	levelLocal      = tacitv1.AgencyLevel_AGENCY_LEVEL_LOCAL
)

var simAgencies = []simAgency{
	{"bo-tai-chinh", "Bộ Tài chính", "Nguyễn Hữu Quang", levelCentral, []string{"finance", "land"}, 0.7},
	{"bo-xay-dung", "Bộ Xây dựng", "Trần Đình Nghĩa", levelCentral, []string{"construction", "land.planning"}, 0.35},
	{"so-tai-chinh", "Sở Tài chính", "Phạm Minh Khoa", levelProvincial, []string{"finance", "land"}, 0.9},
	{"so-xay-dung", "Sở Xây dựng", "Trần Quốc Hưng", levelProvincial, []string{"construction", "land.planning"}, 0.8},
	{"so-nnmt", "Sở Nông nghiệp và Môi trường", "Nguyễn Văn Thiện", levelProvincial, []string{"land", "environment"}, 0.85},
	{"so-tu-phap", "Sở Tư pháp", "Lê Thị Kim Oanh", levelProvincial, []string{"justice", "finance.budget", "land.use-rights", "construction.permits"}, 0.08}, // chronically silent
	{"ubnd-phuong-ha-long", "Ủy ban nhân dân phường Hạ Long", "Lê Văn Phong", levelLocal, []string{"land.use-rights", "construction.permits", "environment"}, 0.6},
	{"ubnd-phuong-bai-chay", "Ủy ban nhân dân phường Bãi Cháy", "Hoàng Văn Dũng", levelLocal, []string{"land.use-rights", "construction.permits", "health"}, 0.5},
}

func simAgencyByCode(code string) simAgency {
	for _, a := range simAgencies {
		if a.code == code {
			return a
		}
	}
	panic("no simulated agency " + code)
}

// importSimRegistry imports the eight agencies and ten fields above.
func importSimRegistry(tb testing.TB, core *Core) {
	tb.Helper()
	req := &tacitv1.ImportRegistryRequest{Fields: simFields}
	for _, a := range simAgencies {
		req.Agencies = append(req.Agencies, &tacitv1.AgencyInput{Code: a.code, Name: a.name, Level: a.level, Head: a.head, Mandate: a.mandate})
	}
	if _, err := core.ImportRegistry(context.Background(), "admin:admin", req); err != nil {
		tb.Fatal(err)
	}
}

// openSimStore opens a store tuned for many sequential writes in tests: no
// fsync (durability is tested elsewhere).
func openSimStore(tb testing.TB, dir string) *bolt.Store {
	tb.Helper()
	st, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	st.DB().NoSync = true
	return st
}

func simRules() consultation.Config {
	return consultation.Config{Calendar: calendar.Vietnam(), MinNotice: 0, DefaultWorkingDays: 15}
}

func newSimFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st := openSimStore(t, dir)
	t.Cleanup(func() { st.Close() })
	clock := clockwork.NewFakeClockAt(t0)
	core, err := NewCore(context.Background(), st, simRules(), clock, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	importSimRegistry(t, core)
	return &fixture{core: core, clock: clock, consult: ConsultationServer{Core: core}, store: st, dir: dir}
}

func simCovers(mandate, fields []string) bool {
	for _, m := range mandate {
		for _, f := range fields {
			if registry.Related(m, f) {
				return true
			}
		}
	}
	return false
}

// --- the simulation ---

var simAuditor = pki.Auditor("auditor")

type simulation struct {
	t      *testing.T
	f      *fixture
	rng    *rand.Rand
	ctx    context.Context
	active []string

	// What the simulation did, to cross-check the records.
	opened, rejected                     map[string]int // per lead
	total, invalidOpenings               int
	replies, revisions                   int
	extAsked, extGranted, extRefused     int
	withdrawn, concluded                 int
	refusedLate, refusedConclude, sweeps int
}

func (s *simulation) code(err error) codes.Code { return status.Code(toStatus(err)) }

func (s *simulation) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("at %s: "+format, append([]any{s.f.clock.Now().Format(time.RFC3339)}, args...)...)
}

func (s *simulation) pickFields() []string {
	n := 1 + s.rng.IntN(2)
	var out []string
	for len(out) < n {
		f := simFields[s.rng.IntN(len(simFields))].GetCode()
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// open tries to open a consultation: most are valid, some are refused for
// an addressee outside its mandate, unknown, or of a higher level with no
// reason given (each a rejected attempt of the lead), a few are malformed
// (self-addressed: INVALID_ARGUMENT, not a rejected attempt).
func (s *simulation) open() bool {
	s.t.Helper()
	lead := simAgencies[s.rng.IntN(len(simAgencies))]
	var fields []string
	var eligible []simAgency
	for len(eligible) == 0 {
		fields = s.pickFields()
		eligible = eligible[:0]
		for _, a := range simAgencies {
			if a.code != lead.code && simCovers(a.mandate, fields) {
				eligible = append(eligible, a)
			}
		}
	}
	s.rng.Shuffle(len(eligible), func(i, j int) { eligible[i], eligible[j] = eligible[j], eligible[i] })
	to := eligible[:1+s.rng.IntN(min(5, len(eligible)))]
	var addressees []string
	escalated := false
	for _, a := range to {
		addressees = append(addressees, a.code)
		escalated = escalated || registry.Rank(a.level) > registry.Rank(lead.level)
	}
	req := &tacitv1.OpenConsultationRequest{
		Title:      fmt.Sprintf("Lấy ý kiến về hồ sơ số %d — %s", s.rng.IntN(100000), strings.Join(fields, ", ")),
		LegalBasis: "Luật Tổ chức chính quyền địa phương 2025", Fields: fields, Addressees: addressees,
	}
	if escalated && s.rng.Float64() < 0.85 {
		req.EscalationReason = "Vượt thẩm quyền cấp dưới, cần ý kiến cấp trên"
	}
	switch u := s.rng.Float64(); {
	case u < 0.6:
		req.DeadlineSpec = &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: int32(1 + s.rng.IntN(5))}
	case u < 0.88:
		req.DeadlineSpec = &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(time.Duration(2+s.rng.IntN(94)) * time.Hour)}
	default: // the server's default, 15 working days
	}
	want := codes.OK
	if escalated && req.EscalationReason == "" {
		want = codes.FailedPrecondition
	}
	switch u := s.rng.Float64(); {
	case u < 0.05: // an agency outside its mandate
		var outside []string
		for _, a := range simAgencies {
			if a.code != lead.code && !simCovers(a.mandate, fields) {
				outside = append(outside, a.code)
			}
		}
		if len(outside) > 0 {
			req.Addressees = append(req.Addressees, outside[s.rng.IntN(len(outside))])
			want = codes.FailedPrecondition
		}
	case u < 0.065: // an agency that does not exist
		req.Addressees = append(req.Addressees, "so-khong-ton-tai")
		want = codes.FailedPrecondition
	case u < 0.075: // malformed: the lead consults itself
		req.Addressees = append(req.Addressees, lead.code)
		want = codes.InvalidArgument
	}
	res, err := s.f.consult.OpenConsultation(as(pki.Agency(lead.code)), req)
	if got := s.code(err); got != want {
		s.fatalf("open by %s to %v (escalation reason %q): code %v, want %v (%v)", lead.code, req.Addressees, req.EscalationReason, got, want, err)
	}
	switch want {
	case codes.OK:
		s.opened[lead.code]++
		s.total++
		s.active = append(s.active, res.GetConsultation().GetId())
		return true
	case codes.FailedPrecondition:
		s.rejected[lead.code]++
	default:
		s.invalidOpenings++
	}
	return false
}

func (s *simulation) get(id string) *tacitv1.Consultation {
	s.t.Helper()
	res, err := s.f.consult.GetConsultation(as(simAuditor), &tacitv1.GetConsultationRequest{Id: id})
	if err != nil {
		s.fatalf("get %s: %v", id, err)
	}
	return res.GetConsultation()
}

func (s *simulation) drop(i int) {
	s.active[i] = s.active[len(s.active)-1]
	s.active = s.active[:len(s.active)-1]
}

func requestedExtension(a *tacitv1.Addressee) *tacitv1.Extension {
	for _, x := range a.GetExtensions() {
		if x.GetState() == tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED {
			return x
		}
	}
	return nil
}

var simPositions = []tacitv1.Position{tacitv1.Position_POSITION_AGREE, tacitv1.Position_POSITION_AGREE, tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, tacitv1.Position_POSITION_DISAGREE}

func (s *simulation) reply(c *tacitv1.Consultation, a *tacitv1.Addressee, rng *rand.Rand) error {
	pos := simPositions[rng.IntN(len(simPositions))]
	req := &tacitv1.ReplyRequest{ConsultationId: c.GetId(), Position: pos,
		Signer: &tacitv1.Signer{Name: simAgencyByCode(a.GetAgency()).head, Role: tacitv1.SignerRole_SIGNER_ROLE_HEAD}}
	if pos != tacitv1.Position_POSITION_AGREE {
		req.Comment = "Đề nghị làm rõ căn cứ pháp lý và nguồn kinh phí."
	}
	_, err := s.f.consult.Reply(as(pki.Agency(a.GetAgency())), req)
	return err
}

// act does one plausible thing on a random active consultation.
func (s *simulation) act() {
	s.t.Helper()
	if len(s.active) == 0 {
		return
	}
	i := s.rng.IntN(len(s.active))
	c := s.get(s.active[i])
	if c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
		s.fatalf("consultation %s is %v but still on the simulation's active list", c.GetId(), c.GetState())
	}
	now := s.f.clock.Now()
	lead := as(pki.Agency(c.GetLead()))
	if s.rng.Float64() < 0.012 {
		if _, err := s.f.consult.WithdrawConsultation(lead, &tacitv1.WithdrawConsultationRequest{ConsultationId: c.GetId(), Reason: "Dự án đã dừng"}); err != nil {
			s.fatalf("withdraw %s: %v", c.GetId(), err)
		}
		s.withdrawn++
		s.drop(i)
		return
	}
	pending, disagreed := false, false
	for _, a := range c.GetAddressees() {
		pending = pending || a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING
		disagreed = disagreed || (a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED && a.GetReply().GetPosition() == tacitv1.Position_POSITION_DISAGREE)
	}
	if !pending && s.rng.Float64() < 0.5 {
		req := &tacitv1.ConcludeConsultationRequest{ConsultationId: c.GetId(), Summary: "Tổng hợp ý kiến, hoàn thiện hồ sơ"}
		want := codes.OK
		if disagreed {
			if s.rng.Float64() < 0.9 {
				req.Proposal = "Giữ nguyên phương án, bổ sung thuyết minh"
			} else {
				want = codes.FailedPrecondition
			}
		}
		_, err := s.f.consult.ConcludeConsultation(lead, req)
		if got := s.code(err); got != want {
			s.fatalf("conclude %s: code %v, want %v (%v)", c.GetId(), got, want, err)
		}
		if want == codes.OK {
			s.concluded++
			s.drop(i)
		} else {
			s.refusedConclude++
		}
		return
	}
	a := c.GetAddressees()[s.rng.IntN(len(c.GetAddressees()))]
	agency := as(pki.Agency(a.GetAgency()))
	switch a.GetState() {
	case tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING:
		if !now.Before(a.GetDeadline().AsTime()) {
			s.fatalf("%s on %s reads PENDING at or after its deadline %v", a.GetAgency(), c.GetId(), a.GetDeadline().AsTime())
		}
		if x := requestedExtension(a); x != nil && s.rng.Float64() < 0.6 {
			grant := s.rng.Float64() < 0.65
			d := tacitv1.ExtensionDecision_EXTENSION_DECISION_REFUSE
			if grant {
				d = tacitv1.ExtensionDecision_EXTENSION_DECISION_GRANT
			}
			if _, err := s.f.consult.DecideExtension(lead, &tacitv1.DecideExtensionRequest{ConsultationId: c.GetId(), Agency: a.GetAgency(), Decision: d, Reason: "Xem xét đề nghị"}); err != nil {
				s.fatalf("decide the extension of %s on %s: %v", a.GetAgency(), c.GetId(), err)
			}
			if grant {
				s.extGranted++
			} else {
				s.extRefused++
			}
			return
		}
		d := simAgencyByCode(a.GetAgency()).diligence
		switch u := s.rng.Float64(); {
		case u < d*0.7:
			if err := s.reply(c, a, s.rng); err != nil {
				s.fatalf("reply of %s on %s: %v", a.GetAgency(), c.GetId(), err)
			}
			s.replies++
		case u < d*0.7+0.12 && requestedExtension(a) == nil && len(a.GetExtensions()) < 2:
			req := &tacitv1.RequestExtensionRequest{ConsultationId: c.GetId(), Reason: "Cần thêm thời gian lấy ý kiến các phòng chuyên môn"}
			if s.rng.Float64() < 0.7 {
				req.UntilSpec = &tacitv1.RequestExtensionRequest_ByWorkingDays{ByWorkingDays: int32(1 + s.rng.IntN(3))}
			} else {
				req.UntilSpec = &tacitv1.RequestExtensionRequest_Until{Until: timestamppb.New(a.GetDeadline().AsTime().Add(time.Duration(1+s.rng.IntN(72)) * time.Hour))}
			}
			if _, err := s.f.consult.RequestExtension(agency, req); err != nil {
				s.fatalf("extension request of %s on %s: %v", a.GetAgency(), c.GetId(), err)
			}
			s.extAsked++
		}
	case tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED:
		if s.rng.Float64() < 0.2 {
			err := s.reply(c, a, s.rng)
			if now.Before(a.GetDeadline().AsTime()) {
				if err != nil {
					s.fatalf("revision of %s on %s: %v", a.GetAgency(), c.GetId(), err)
				}
				s.revisions++
			} else {
				if s.code(err) != codes.FailedPrecondition {
					s.fatalf("revision of %s on %s after its deadline: %v, want FAILED_PRECONDITION", a.GetAgency(), c.GetId(), err)
				}
				s.refusedLate++
			}
		}
	case tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED:
		if s.rng.Float64() < 0.1 {
			if err := s.reply(c, a, s.rng); s.code(err) != codes.FailedPrecondition {
				s.fatalf("late reply of %s on %s: %v, want FAILED_PRECONDITION", a.GetAgency(), c.GetId(), err)
			}
			s.refusedLate++
		}
	}
}

// burst has one goroutine per agency open consultations (a few refused
// for an unknown addressee) and reply to its own inbox, all at once, so
// that bbolt's Batch groups their writes into shared commits.
func (s *simulation) burst(each int) {
	s.t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, len(simAgencies))
	for w, me := range simAgencies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 4))
			ctx := as(pki.Agency(me.code))
			fail := func(format string, args ...any) { errs <- fmt.Errorf(me.code+": "+format, args...) }
			for range each {
				if rng.IntN(2) == 0 {
					field := me.mandate[rng.IntN(len(me.mandate))]
					var to []string
					for _, a := range simAgencies {
						if a.code != me.code && simCovers(a.mandate, []string{field}) && len(to) < 2 {
							to = append(to, a.code)
						}
					}
					if len(to) == 0 {
						continue
					}
					refused := rng.IntN(10) == 0
					if refused {
						to = append(to, "so-khong-ton-tai")
					}
					res, err := s.f.consult.OpenConsultation(ctx, &tacitv1.OpenConsultationRequest{Title: "Lấy ý kiến đồng thời", LegalBasis: "Luật Đất đai 2024",
						Fields: []string{field}, Addressees: to, EscalationReason: "Cần ý kiến cấp trên",
						DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: 3}})
					mu.Lock()
					switch code := status.Code(toStatus(err)); {
					case refused && code == codes.FailedPrecondition:
						s.rejected[me.code]++
					case !refused && code == codes.OK:
						s.opened[me.code]++
						s.total++
						s.active = append(s.active, res.GetConsultation().GetId())
					default:
						fail("open to %v: %v", to, err)
					}
					mu.Unlock()
					continue
				}
				res, err := s.f.consult.ListConsultations(ctx, &tacitv1.ListConsultationsRequest{Mailbox: tacitv1.Mailbox_MAILBOX_INBOX,
					State: tacitv1.ConsultationState_CONSULTATION_STATE_OPEN, PageSize: 20})
				if err != nil {
					fail("inbox: %v", err)
					return
				}
				for _, c := range res.GetConsultations() {
					if a := consultation.Addressee(c, me.code); a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
						if err := s.reply(c, a, rng); err != nil {
							fail("reply to %s: %v", c.GetId(), err)
							return
						}
						mu.Lock()
						s.replies++
						mu.Unlock()
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		s.t.Error(err)
	}
}

// --- brute force ---

// simTally is one agency's figures recounted from the records.
type simTally struct {
	received, replied, deemed, revisions, extAsked, extGranted, pending int64
	opened, rejected, escalations                                       int64
	escalatedAddressees                                                 int64 // as lead: addressees of a higher level
	replyDays                                                           []int64
}

// simPeriod says whether an instant counts; nil counts everything.
type simPeriod func(time.Time) bool

func (p simPeriod) in(ts *timestamppb.Timestamp) bool { return p == nil || p(ts.AsTime()) }

// simRecount derives every agency's figures from the consultations (as
// stored, or as read) and the OPEN_REJECTED entries of the audit trail,
// attributing each count to the instant it happened.
func simRecount(cs []*tacitv1.Consultation, rejections []*tacitv1.AuditEvent, p simPeriod) map[string]*simTally {
	out := map[string]*simTally{}
	get := func(code string) *simTally {
		if out[code] == nil {
			out[code] = &simTally{}
		}
		return out[code]
	}
	for _, c := range cs {
		created := p.in(c.GetCreateTime())
		escalated := false
		if created {
			get(c.GetLead()).opened++
		}
		for _, a := range c.GetAddressees() {
			t := get(a.GetAgency())
			escalated = escalated || a.GetEscalated()
			if created {
				t.received++
				if a.GetEscalated() {
					get(c.GetLead()).escalatedAddressees++
				}
			}
			switch a.GetState() {
			case tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED:
				if first := a.GetRevisions()[0]; p.in(first.GetReplyTime()) {
					t.replied++
					t.replyDays = append(t.replyDays, int64(first.GetWorkingDaysTaken()))
				}
			case tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED:
				if p.in(a.GetDeemedApproval().GetEffectiveTime()) {
					t.deemed++
				}
			case tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING:
				if c.GetState() == tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
					t.pending++ // now, whatever the period
				}
			}
			for _, r := range a.GetRevisions()[min(1, len(a.GetRevisions())):] {
				if p.in(r.GetReplyTime()) {
					t.revisions++
				}
			}
			for _, x := range a.GetExtensions() {
				if p.in(x.GetRequestTime()) {
					t.extAsked++
				}
				if x.GetState() == tacitv1.ExtensionState_EXTENSION_STATE_GRANTED && p.in(x.GetDecideTime()) {
					t.extGranted++
				}
			}
		}
		// AgencyStats.escalations: "Consultations addressed to higher
		// levels" — one per consultation with an escalated addressee.
		if escalated && created {
			get(c.GetLead()).escalations++
		}
	}
	for _, e := range rejections {
		if p.in(e.GetEventTime()) {
			get(strings.TrimPrefix(e.GetActor(), "agency:")).rejected++
		}
	}
	return out
}

// nearestRank is the q-quantile of values by the nearest-rank method.
func nearestRank(values []int64, q float64) float64 {
	if len(values) == 0 {
		return 0
	}
	v := slices.Clone(values)
	slices.Sort(v)
	rank := int(math.Ceil(q * float64(len(v))))
	return float64(min(v[max(rank, 1)-1], storage.ReplyDayBuckets-1))
}

func (t *simTally) stats(code string) *tacitv1.AgencyStats {
	if t == nil {
		t = &simTally{}
	}
	row := &tacitv1.AgencyStats{
		Agency: code, RequestsReceived: t.received, RepliedOnTime: t.replied, DeemedApprovals: t.deemed,
		ExtensionsRequested: t.extAsked, ExtensionsGranted: t.extGranted, Pending: t.pending, Revisions: t.revisions,
		ConsultationsOpened: t.opened, RejectedAttempts: t.rejected, Escalations: t.escalations,
		MedianReplyWorkingDays: nearestRank(t.replyDays, 0.5), P90ReplyWorkingDays: nearestRank(t.replyDays, 0.9),
	}
	if settled := t.replied + t.deemed; settled > 0 {
		row.SilenceRate = float64(t.deemed) / float64(settled)
	}
	return row
}

// allConsultations reads every consultation as the auditor does: all pages
// of ListConsultations, each checked against GetConsultation.
func allConsultations(t *testing.T, f *fixture) []*tacitv1.Consultation {
	t.Helper()
	var out []*tacitv1.Consultation
	seen := map[string]bool{}
	req := &tacitv1.ListConsultationsRequest{PageSize: 500}
	for {
		res, err := f.consult.ListConsultations(as(simAuditor), req)
		if err != nil {
			t.Fatalf("list consultations: %v", err)
		}
		for _, c := range res.GetConsultations() {
			if seen[c.GetId()] {
				t.Fatalf("consultation %s listed twice", c.GetId())
			}
			seen[c.GetId()] = true
			g, err := f.consult.GetConsultation(as(simAuditor), &tacitv1.GetConsultationRequest{Id: c.GetId()})
			if err != nil {
				t.Fatalf("get %s: %v", c.GetId(), err)
			}
			if !proto.Equal(c, g.GetConsultation()) {
				t.Fatalf("consultation %s: the list and Get disagree:\nlist: %v\nget:  %v", c.GetId(), c, g.GetConsultation())
			}
			out = append(out, c)
		}
		if res.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = res.GetNextPageToken()
	}
}

// storedConsultations reads the records as stored, before any effective
// deemed approval is applied.
func storedConsultations(t *testing.T, f *fixture) []*tacitv1.Consultation {
	t.Helper()
	var out []*tacitv1.Consultation
	q := storage.ListQuery{Limit: 1000}
	for {
		cs, next, err := f.store.List(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cs...)
		if next == "" {
			return out
		}
		q.After = next
	}
}

// rejectionEvents pages through the audit trail for refused openings.
func rejectionEvents(t *testing.T, f *fixture) []*tacitv1.AuditEvent {
	t.Helper()
	audit := AuditServer{Core: f.core}
	var out []*tacitv1.AuditEvent
	req := &tacitv1.ListEventsRequest{Type: consultation.EventOpenRejected, PageSize: 250}
	for {
		res, err := audit.ListEvents(as(simAuditor), req)
		if err != nil {
			t.Fatalf("list events: %v", err)
		}
		out = append(out, res.GetEvents()...)
		if res.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = res.GetNextPageToken()
	}
}

// compareStats checks ListAgencyStats (optionally over a period) for every
// agency against the recount.
func compareStats(t *testing.T, f *fixture, what string, want map[string]*simTally, since, until time.Time) {
	t.Helper()
	req := &tacitv1.ListAgencyStatsRequest{}
	if !since.IsZero() {
		req.Since, req.Until = timestamppb.New(since), timestamppb.New(until)
	}
	res, err := AuditServer{Core: f.core}.ListAgencyStats(as(simAuditor), req)
	if err != nil {
		t.Fatalf("%s: ListAgencyStats: %v", what, err)
	}
	got := map[string]*tacitv1.AgencyStats{}
	var order []string
	for _, r := range res.GetStats() {
		got[r.GetAgency()] = r
		order = append(order, r.GetAgency())
	}
	if !sort.StringsAreSorted(order) || len(order) != len(simAgencies) {
		t.Errorf("%s: rows %v, want every agency once, by code", what, order)
	}
	for _, a := range simAgencies {
		if got[a.code].GetAgencyName() != a.name {
			t.Errorf("%s: %s named %q, want %q", what, a.code, got[a.code].GetAgencyName(), a.name)
		}
		if d := cmp.Diff(want[a.code].stats(a.code), got[a.code], statsCmp...); d != "" {
			t.Errorf("%s: figures of %s differ from the recount (-recount +ListAgencyStats):\n%s", what, a.code, d)
		}
		checkEscalations(t, what, a.code, want[a.code], got[a.code])
	}
}

// statsCmp compares AgencyStats rows; escalations are checked apart by
// checkEscalations, to tell exactly what they count.
var statsCmp = []cmp.Option{protocmp.Transform(), protocmp.IgnoreFields(&tacitv1.AgencyStats{}, "agency_name", "over_threshold", "escalations")}

// checkEscalations: AgencyStats.escalations is documented in audit.proto
// as "Consultations addressed to higher levels": one per consultation the
// agency opened with at least one addressee of a higher level, however
// many such addressees it has.
func checkEscalations(t *testing.T, what, code string, want *simTally, got *tacitv1.AgencyStats) {
	t.Helper()
	if want == nil {
		want = &simTally{}
	}
	if got.GetEscalations() != want.escalations {
		t.Errorf("%s: %s escalations = %d, want %d consultations addressed to higher levels (audit.proto: AgencyStats.escalations); those consultations have %d escalated addressees",
			what, code, got.GetEscalations(), want.escalations, want.escalatedAddressees)
	}
}

// --- deemed approvals ---

func deemedRowKey(r *tacitv1.DeemedApprovalRecord) string {
	return r.GetConsultationId() + "/" + r.GetAgency()
}

func expectedDeemed(cs []*tacitv1.Consultation) []*tacitv1.DeemedApprovalRecord {
	var out []*tacitv1.DeemedApprovalRecord
	for _, c := range cs {
		for _, a := range c.GetAddressees() {
			if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
				continue
			}
			out = append(out, &tacitv1.DeemedApprovalRecord{
				ConsultationId: c.GetId(), Title: c.GetTitle(), Lead: c.GetLead(), LeadName: c.GetLeadName(),
				Agency: a.GetAgency(), AgencyName: a.GetAgencyName(), EffectiveTime: a.GetDeemedApproval().GetEffectiveTime(),
				ResponsibleHead: a.GetDeemedApproval().GetResponsibleHead(), ExtensionRequested: len(a.GetExtensions()) > 0,
				Fields: c.GetFields(),
			})
		}
	}
	return out
}

// listDeemed pages through ListDeemedApprovals seven rows at a time.
func listDeemed(t *testing.T, f *fixture, p pki.Principal, req *tacitv1.ListDeemedApprovalsRequest) []*tacitv1.DeemedApprovalRecord {
	t.Helper()
	req = proto.Clone(req).(*tacitv1.ListDeemedApprovalsRequest)
	req.PageSize = 7
	var out []*tacitv1.DeemedApprovalRecord
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("ListDeemedApprovals %v: no end after %d pages", req, pages)
		}
		res, err := AuditServer{Core: f.core}.ListDeemedApprovals(as(p), req)
		if err != nil {
			t.Fatalf("ListDeemedApprovals %v: %v", req, err)
		}
		res = onWire(t, res)
		if n := len(res.GetDeemedApprovals()); n > 7 || (n < 7 && res.GetNextPageToken() != "") {
			t.Errorf("ListDeemedApprovals %v: a page of %d rows with next_page_token %q", req, n, res.GetNextPageToken())
		}
		out = append(out, res.GetDeemedApprovals()...)
		if res.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = res.GetNextPageToken()
	}
}

func checkDeemed(t *testing.T, f *fixture, all []*tacitv1.DeemedApprovalRecord, req *tacitv1.ListDeemedApprovalsRequest) int {
	t.Helper()
	since, until := req.GetSince(), req.GetUntil()
	want := map[string]*tacitv1.DeemedApprovalRecord{}
	for _, r := range all {
		eff := r.GetEffectiveTime().AsTime()
		switch {
		case req.GetAgency() != "" && r.GetAgency() != req.GetAgency(),
			req.GetLead() != "" && r.GetLead() != req.GetLead(),
			since != nil && eff.Before(since.AsTime()),
			until != nil && !eff.Before(until.AsTime()):
			continue
		}
		if fld := req.GetField(); fld != "" && !slices.ContainsFunc(r.GetFields(), func(x string) bool { return registry.Related(x, fld) }) {
			continue
		}
		want[deemedRowKey(r)] = r
	}
	got := listDeemed(t, f, simAuditor, req)
	seen := map[string]bool{}
	for i, r := range got {
		k := deemedRowKey(r)
		if seen[k] {
			t.Errorf("ListDeemedApprovals %v: %s listed twice", req, k)
		}
		seen[k] = true
		if w, ok := want[k]; !ok {
			t.Errorf("ListDeemedApprovals %v: %s listed but not in the recount", req, k)
		} else if !proto.Equal(w, r) {
			t.Errorf("ListDeemedApprovals %v: row %s differs from the record (-record +row):\n%s", req, k, cmp.Diff(w, r, protocmp.Transform()))
		}
		if i > 0 && r.GetEffectiveTime().AsTime().Before(got[i-1].GetEffectiveTime().AsTime()) {
			t.Errorf("ListDeemedApprovals %v: row %d (%s) is out of effective-time order", req, i, k)
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("ListDeemedApprovals %v: %s missing", req, k)
		}
	}
	return len(want)
}

// --- the test ---

// builtWithRace reports whether the test binary was built with -race.
func builtWithRace() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// simDayStart is 00:00 in Hà Nội of the day t+days.
func simDayStart(t time.Time, days int) time.Time {
	l := t.In(calendar.Location())
	return time.Date(l.Year(), l.Month(), l.Day()+days, 0, 0, 0, 0, calendar.Location())
}

// Thousands of consultations over six simulated weeks: every figure of
// ListAgencyStats, over all time and over a period, and every deemed
// approval of ListDeemedApprovals, must equal a brute-force recount of the
// records and the audit trail.
func TestAgencyStatsMatchBruteForceRecount(t *testing.T) {
	consultations := 3000
	switch {
	case testing.Short():
		consultations = 600
	case builtWithRace():
		consultations = 1200 // the race detector slows bbolt tenfold
	}
	f := newSimFixture(t)
	s := &simulation{t: t, f: f, rng: rand.New(rand.NewPCG(20260302, 4)), ctx: context.Background(),
		opened: map[string]int{}, rejected: map[string]int{}}

	// checkStored compares the figures with the records as stored: a deemed
	// approval counts once the sweeper (or a later write) has recorded it;
	// until then the addressee still counts as pending, although every read
	// already shows it deemed. It returns how many such approvals were
	// effective but not yet recorded.
	checkStored := func(what string) int {
		stored := storedConsultations(t, f)
		compareStats(t, f, what, simRecount(stored, rejectionEvents(t, f), nil), time.Time{}, time.Time{})
		read := allConsultations(t, f)
		unrecorded := 0
		for _, c := range read {
			for _, a := range c.GetAddressees() {
				if a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED && !a.GetDeemedApproval().GetRecorded() {
					unrecorded++
				}
			}
		}
		return unrecorded
	}

	unrecordedSeen := 0
	for s.total < consultations {
		f.clock.Advance(time.Duration(1+s.rng.IntN(36)) * time.Minute)
		// The sweeper runs now and then, not at every deadline.
		if s.rng.Float64() < 0.03 {
			if _, err := f.core.Sweep(s.ctx, f.clock.Now()); err != nil {
				t.Fatal(err)
			}
			s.sweeps++
		}
		opened := s.open()
		for range 8 {
			s.act()
		}
		if opened && s.total == consultations/2 {
			unrecordedSeen += checkStored("halfway, as stored")
		}
	}
	// Every agency at once, at the same instant.
	s.burst(12)
	// A day passes with nobody acting and no sweep: more deadlines pass.
	f.clock.Advance(24 * time.Hour)
	end := f.clock.Now()
	unrecordedSeen += checkStored("at the end, before the last sweep")
	t.Logf("simulated %s: opened %d, refused %v, malformed %d; replies %d, revisions %d; extensions asked %d, granted %d, refused %d; withdrawn %d, concluded %d; late replies refused %d, conclusions refused %d; %d sweeps; %d deemed approvals effective but unrecorded at the checks",
		end.Sub(t0).Round(time.Hour), s.total, s.rejected, s.invalidOpenings, s.replies, s.revisions, s.extAsked, s.extGranted, s.extRefused,
		s.withdrawn, s.concluded, s.refusedLate, s.refusedConclude, s.sweeps, unrecordedSeen)
	if unrecordedSeen == 0 {
		t.Error("the simulation never left a deemed approval unrecorded: sweep less often")
	}

	// The last sweep records every deemed approval; from then on the
	// stored records and what every read shows are the same.
	if _, err := f.core.Sweep(s.ctx, end); err != nil {
		t.Fatal(err)
	}
	cs := allConsultations(t, f)
	stored := storedConsultations(t, f)
	if len(cs) != s.total || len(stored) != s.total {
		t.Fatalf("%d consultations listed, %d stored; the simulation opened %d", len(cs), len(stored), s.total)
	}
	byID := map[string]*tacitv1.Consultation{}
	for _, c := range stored {
		byID[c.GetId()] = c
	}
	for _, c := range cs {
		if !proto.Equal(c, byID[c.GetId()]) {
			t.Fatalf("after the last sweep, consultation %s reads differently from its stored record", c.GetId())
		}
	}
	rejections := rejectionEvents(t, f)
	all := simRecount(cs, rejections, nil)

	// The records tell the same story as the simulation.
	var sum simTally
	var states = map[tacitv1.ConsultationState]int{}
	escalatedAddressees := 0
	for code, tl := range all {
		sum.replied += tl.replied
		sum.revisions += tl.revisions
		sum.extAsked += tl.extAsked
		sum.extGranted += tl.extGranted
		sum.deemed += tl.deemed
		sum.pending += tl.pending
		sum.escalations += tl.escalations
		if int(tl.opened) != s.opened[code] || int(tl.rejected) != s.rejected[code] {
			t.Errorf("%s: %d opened and %d refused in the records, the simulation made %d and %d", code, tl.opened, tl.rejected, s.opened[code], s.rejected[code])
		}
	}
	for _, c := range cs {
		states[c.GetState()]++
		for _, a := range c.GetAddressees() {
			if a.GetEscalated() {
				escalatedAddressees++
			}
		}
	}
	if int(sum.replied) != s.replies || int(sum.revisions) != s.revisions || int(sum.extAsked) != s.extAsked || int(sum.extGranted) != s.extGranted {
		t.Errorf("records hold %d replies, %d revisions, %d extensions asked, %d granted; the simulation made %d, %d, %d, %d",
			sum.replied, sum.revisions, sum.extAsked, sum.extGranted, s.replies, s.revisions, s.extAsked, s.extGranted)
	}
	if states[tacitv1.ConsultationState_CONSULTATION_STATE_WITHDRAWN] != s.withdrawn || states[tacitv1.ConsultationState_CONSULTATION_STATE_CONCLUDED] != s.concluded {
		t.Errorf("records: %v; the simulation withdrew %d and concluded %d", states, s.withdrawn, s.concluded)
	}
	t.Logf("recount: %d deemed approvals, %d first replies, %d pending now, %d escalated consultations (%d escalated addressees), %d refused openings",
		sum.deemed, sum.replied, sum.pending, sum.escalations, escalatedAddressees, len(rejections))
	// Every kind of figure must have been exercised.
	if sum.deemed == 0 || sum.replied == 0 || sum.revisions == 0 || sum.extGranted == 0 || s.extRefused == 0 || sum.pending == 0 ||
		sum.escalations == 0 || len(rejections) == 0 || s.withdrawn == 0 || s.concluded == 0 || int(sum.escalations) == escalatedAddressees {
		t.Fatalf("the simulation did not exercise every figure: %+v", sum)
	}

	t.Run("all time", func(t *testing.T) {
		compareStats(t, f, "all time", all, time.Time{}, time.Time{})
	})

	t.Run("period", func(t *testing.T) {
		since, until := simDayStart(t0, 12), simDayStart(t0, 26)
		p := simPeriod(func(x time.Time) bool { return !x.Before(since) && x.Before(until) })
		want := simRecount(cs, rejections, p)
		var n int64
		for _, tl := range want {
			n += tl.received + tl.deemed
		}
		if n == 0 {
			t.Fatal("nothing happened in the period")
		}
		compareStats(t, f, fmt.Sprintf("period [%s, %s)", since.Format(time.DateOnly), until.Format(time.DateOnly)), want, since, until)
	})

	t.Run("threshold", func(t *testing.T) {
		const th = 0.3
		res, err := AuditServer{Core: f.core}.ListAgencyStats(as(simAuditor), &tacitv1.ListAgencyStatsRequest{Threshold: th})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, a := range simAgencies {
			if all[a.code].stats(a.code).GetSilenceRate() > th {
				want = append(want, a.code)
			}
		}
		sort.SliceStable(want, func(i, j int) bool {
			return all[want[i]].stats(want[i]).GetSilenceRate() > all[want[j]].stats(want[j]).GetSilenceRate()
		})
		var got []string
		for _, r := range res.GetStats() {
			got = append(got, r.GetAgency())
			if !r.GetOverThreshold() {
				t.Errorf("%s listed over the threshold without over_threshold", r.GetAgency())
			}
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("agencies over %g%%: %v, want %v (worst first)", 100*th, got, want)
		}
		if len(got) == 0 || got[0] != "so-tu-phap" {
			t.Errorf("worst agency %s, want the silent so-tu-phap", got[0])
		}
	})

	t.Run("deemed approvals", func(t *testing.T) {
		deemed := expectedDeemed(cs)
		mid, late := simDayStart(t0, 14), simDayStart(t0, 28).Add(13*time.Hour+30*time.Minute)
		n := checkDeemed(t, f, deemed, &tacitv1.ListDeemedApprovalsRequest{})
		if n != int(sum.deemed) {
			t.Errorf("unfiltered: %d, want %d", n, sum.deemed)
		}
		for _, a := range simAgencies {
			checkDeemed(t, f, deemed, &tacitv1.ListDeemedApprovalsRequest{Agency: a.code})
			checkDeemed(t, f, deemed, &tacitv1.ListDeemedApprovalsRequest{Lead: a.code})
		}
		for _, fl := range []string{"land", "land.planning", "construction.permits", "justice", "health"} {
			checkDeemed(t, f, deemed, &tacitv1.ListDeemedApprovalsRequest{Field: fl})
		}
		reqs := []*tacitv1.ListDeemedApprovalsRequest{
			{Since: timestamppb.New(mid)},
			{Until: timestamppb.New(mid)},
			{Since: timestamppb.New(mid), Until: timestamppb.New(late)},
			{Agency: "so-tu-phap", Lead: "so-tai-chinh"},
			{Agency: "so-tu-phap", Field: "land", Since: timestamppb.New(mid), Until: timestamppb.New(late)},
			{Lead: "ubnd-phuong-ha-long", Field: "construction", Since: timestamppb.New(mid)},
			{Agency: "bo-xay-dung", Lead: "ubnd-phuong-bai-chay", Until: timestamppb.New(late)},
		}
		for _, r := range reqs {
			if checkDeemed(t, f, deemed, r) == 0 {
				t.Errorf("filter %v selects nothing: choose another", r)
			}
		}
	})

	t.Run("audit trail", func(t *testing.T) {
		audit := AuditServer{Core: f.core}
		list := func(req *tacitv1.ListEventsRequest) []*tacitv1.AuditEvent {
			t.Helper()
			var out []*tacitv1.AuditEvent
			for {
				res, err := audit.ListEvents(as(simAuditor), req)
				if err != nil {
					t.Fatalf("ListEvents %v: %v", req, err)
				}
				out = append(out, res.GetEvents()...)
				if res.GetNextPageToken() == "" {
					return out
				}
				req.PageToken = res.GetNextPageToken()
			}
		}
		trail := list(&tacitv1.ListEventsRequest{PageSize: 1000})
		types := map[string]int{}
		for i, e := range trail {
			if e.GetSequence() != uint64(i+1) {
				t.Fatalf("entry %d has sequence %d", i+1, e.GetSequence())
			}
			if i > 0 && e.GetEventTime().AsTime().Before(trail[i-1].GetEventTime().AsTime()) {
				t.Errorf("entry %d is dated before entry %d", e.GetSequence(), i)
			}
			types[e.GetType()]++
		}
		v, err := audit.VerifyAuditLog(as(simAuditor), &tacitv1.VerifyAuditLogRequest{})
		if err != nil || !v.GetIntact() || v.GetEntriesChecked() != uint64(len(trail)) {
			t.Errorf("verify: %v, %v; want intact, %d entries", v, err, len(trail))
		}
		// Every change of state is on the trail, once.
		want := map[string]int{
			consultation.EventOpened: s.total, consultation.EventOpenRejected: len(rejections),
			consultation.EventReplied: s.replies, consultation.EventRevised: s.revisions,
			consultation.EventExtensionAsked: s.extAsked, consultation.EventExtensionGranted: s.extGranted, consultation.EventExtensionRefused: s.extRefused,
			consultation.EventDeemedApproval: int(sum.deemed), consultation.EventWithdrawn: s.withdrawn, consultation.EventConcluded: s.concluded,
		}
		for typ, n := range want {
			if types[typ] != n {
				t.Errorf("%d %s entries on the trail, want %d", types[typ], typ, n)
			}
		}
		for _, e := range trail {
			if e.GetType() == consultation.EventDeemedApproval && (e.GetActor() != consultation.SystemActor || e.GetRule() != consultation.SilenceRule) {
				t.Errorf("deemed approval entry %d: actor %q, rule %q", e.GetSequence(), e.GetActor(), e.GetRule())
			}
		}
		mid, late := timestamppb.New(simDayStart(t0, 14).Add(7*time.Hour)), timestamppb.New(simDayStart(t0, 20).Add(15*time.Hour))
		concerns := func(agency string) func(*tacitv1.AuditEvent) bool {
			return func(e *tacitv1.AuditEvent) bool { return e.GetAgency() == agency || e.GetActor() == "agency:"+agency }
		}
		inTime := func(e *tacitv1.AuditEvent) bool {
			x := e.GetEventTime().AsTime()
			return !x.Before(mid.AsTime()) && x.Before(late.AsTime())
		}
		for _, c := range []struct {
			req  *tacitv1.ListEventsRequest
			keep func(*tacitv1.AuditEvent) bool
		}{
			{&tacitv1.ListEventsRequest{Since: mid}, func(e *tacitv1.AuditEvent) bool { return !e.GetEventTime().AsTime().Before(mid.AsTime()) }},
			{&tacitv1.ListEventsRequest{Until: mid}, func(e *tacitv1.AuditEvent) bool { return e.GetEventTime().AsTime().Before(mid.AsTime()) }},
			{&tacitv1.ListEventsRequest{Since: mid, Until: late}, inTime},
			{&tacitv1.ListEventsRequest{Agency: "so-tu-phap"}, concerns("so-tu-phap")},
			{&tacitv1.ListEventsRequest{Agency: "ubnd-phuong-ha-long", Since: mid, Until: late}, func(e *tacitv1.AuditEvent) bool { return concerns("ubnd-phuong-ha-long")(e) && inTime(e) }},
			{&tacitv1.ListEventsRequest{ConsultationId: "17"}, func(e *tacitv1.AuditEvent) bool { return e.GetConsultationId() == "17" }},
			{&tacitv1.ListEventsRequest{ConsultationId: "17", Agency: cs[len(cs)-17].GetAddressees()[0].GetAgency()}, func(e *tacitv1.AuditEvent) bool {
				return e.GetConsultationId() == "17" && concerns(cs[len(cs)-17].GetAddressees()[0].GetAgency())(e)
			}},
			{&tacitv1.ListEventsRequest{Type: "deemed_approval", Agency: "bo-xay-dung"}, func(e *tacitv1.AuditEvent) bool {
				return e.GetType() == consultation.EventDeemedApproval && concerns("bo-xay-dung")(e)
			}},
			{&tacitv1.ListEventsRequest{Type: consultation.EventOpenRejected, Since: mid}, func(e *tacitv1.AuditEvent) bool {
				return e.GetType() == consultation.EventOpenRejected && !e.GetEventTime().AsTime().Before(mid.AsTime())
			}},
		} {
			var want []uint64
			for _, e := range trail {
				if c.keep(e) {
					want = append(want, e.GetSequence())
				}
			}
			req := proto.Clone(c.req).(*tacitv1.ListEventsRequest)
			req.PageSize = 97
			var got []uint64
			for _, e := range list(req) {
				got = append(got, e.GetSequence())
			}
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("ListEvents %v: %d entries, want %d (first difference at %d)", c.req, len(got), len(want),
					func() int {
						for i := range min(len(got), len(want)) {
							if got[i] != want[i] {
								return i
							}
						}
						return min(len(got), len(want))
					}())
			}
		}
	})

	t.Run("authorization", func(t *testing.T) {
		audit := AuditServer{Core: f.core}
		for _, a := range simAgencies {
			me := pki.Agency(a.code)
			res, err := audit.ListAgencyStats(as(me), &tacitv1.ListAgencyStatsRequest{})
			if err != nil {
				t.Fatalf("%s reading its own figures: %v", a.code, err)
			}
			if len(res.GetStats()) != 1 || res.GetStats()[0].GetAgency() != a.code {
				t.Errorf("%s sees rows %v, want only its own", a.code, res.GetStats())
			} else if d := cmp.Diff(all[a.code].stats(a.code), res.GetStats()[0], statsCmp...); d != "" {
				t.Errorf("%s's own figures differ from the recount:\n%s", a.code, d)
			}
			if res, err := audit.ListAgencyStats(as(me), &tacitv1.ListAgencyStatsRequest{Agency: a.code}); err != nil || len(res.GetStats()) != 1 {
				t.Errorf("%s naming itself: %v, %v", a.code, res, err)
			}
			other := simAgencies[(slices.IndexFunc(simAgencies, func(x simAgency) bool { return x.code == a.code })+1)%len(simAgencies)].code
			if _, err := audit.ListAgencyStats(as(me), &tacitv1.ListAgencyStatsRequest{Agency: other}); status.Code(toStatus(err)) != codes.PermissionDenied {
				t.Errorf("%s reading %s's figures: %v, want PERMISSION_DENIED", a.code, other, err)
			}
			if _, err := audit.ListEvents(as(me), &tacitv1.ListEventsRequest{}); status.Code(toStatus(err)) != codes.PermissionDenied {
				t.Errorf("%s listing the audit trail: %v, want PERMISSION_DENIED", a.code, err)
			}
			if _, err := audit.ListEvents(as(me), &tacitv1.ListEventsRequest{Agency: a.code}); status.Code(toStatus(err)) != codes.PermissionDenied {
				t.Errorf("%s listing its own audit entries: %v, want PERMISSION_DENIED", a.code, err)
			}
			if _, err := audit.VerifyAuditLog(as(me), &tacitv1.VerifyAuditLogRequest{}); status.Code(toStatus(err)) != codes.PermissionDenied {
				t.Errorf("%s verifying the audit trail: %v, want PERMISSION_DENIED", a.code, err)
			}
			// Deemed approvals: its own by default, never another's.
			own := listDeemed(t, f, me, &tacitv1.ListDeemedApprovalsRequest{})
			if int64(len(own)) != all[a.code].deemed || slices.ContainsFunc(own, func(r *tacitv1.DeemedApprovalRecord) bool { return r.GetAgency() != a.code }) {
				t.Errorf("%s's own deemed approvals: %d rows, want %d, all its own", a.code, len(own), all[a.code].deemed)
			}
			if _, err := audit.ListDeemedApprovals(as(me), &tacitv1.ListDeemedApprovalsRequest{Agency: other}); status.Code(toStatus(err)) != codes.PermissionDenied {
				t.Errorf("%s listing %s's deemed approvals: %v, want PERMISSION_DENIED", a.code, other, err)
			}
		}
		for _, p := range []pki.Principal{simAuditor, pki.Admin("admin")} {
			if res, err := audit.VerifyAuditLog(as(p), &tacitv1.VerifyAuditLogRequest{}); err != nil || !res.GetIntact() {
				t.Errorf("%s verifying the trail: %v, %v", p, res, err)
			}
			if res, err := audit.ListAgencyStats(as(p), &tacitv1.ListAgencyStatsRequest{}); err != nil || len(res.GetStats()) != len(simAgencies) {
				t.Errorf("%s reading every agency's figures: %d rows, %v", p, len(res.GetStats()), err)
			}
		}
	})
}
