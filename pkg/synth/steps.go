package synth

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/registry"
)

// open has a lead open a consultation at t, as OpenConsultation does; when
// refuse is set the request names an agency without a mandate over the
// matter and the rules refuse it, which is recorded as the server does.
func (g *gen) open(t time.Time, refuse bool) error {
	lead := g.pickLead()
	principal := "agency:" + lead.code
	req := g.request(lead, t, refuse)
	c, err := consultation.Open(g.cfg, g.core.Registry(), lead.code, principal, req, t)
	if f, ok := fault.As(err); ok && f.Kind == fault.FailedPrecondition && refuse {
		g.sum.Rejected++
		g.sum.AuditEntries++
		return g.out.add(write{lead: lead.code, events: []*tacitv1.AuditEvent{consultation.RejectedEvent(principal, f, t)}})
	}
	if err != nil {
		return fmt.Errorf("generate: an opening by %s at %s was refused: %w", lead.code, t, err)
	}
	if refuse {
		return fmt.Errorf("generate: an opening by %s at %s addressed to someone without a mandate was accepted", lead.code, t)
	}
	g.lastID++
	id := strconv.FormatUint(g.lastID, 10)
	opened := consultation.Opened(c, id, principal, t)
	s := &sim{id: g.lastID, c: c, decision: make([]int, len(c.GetAddressees()))}
	g.sum.Consultations++
	g.sum.Addressees += len(c.GetAddressees())
	if err := g.events(opened); err != nil {
		return err
	}
	deadline := c.GetDeadline().AsTime()
	for i, a := range c.GetAddressees() {
		switch {
		case g.rnd.Float64() < 0.05: // asks for more time; the lead will grant, refuse or not decide
			switch r := g.rnd.Float64(); {
			case r < 0.65:
				s.decision[i] = 1
			case r < 0.85:
				s.decision[i] = 2
			}
			if at, ok := g.between(t, deadline, 0.2+0.6*g.rnd.Float64()); ok {
				g.push(s, ask, at, i)
			}
		case g.rnd.Float64() < g.byCode[a.GetAgency()].silence:
			// lets its deadline pass: the sweeper will record its agreement
		default:
			g.replyBy(s, i, t, deadline)
		}
	}
	if g.rnd.Float64() < 0.025 {
		if at, ok := g.between(t, deadline, 0.1+0.8*g.rnd.Float64()); ok {
			g.push(s, withdraw, at, 0)
		}
	}
	if g.o.Progress != nil && g.sum.Consultations%20000 == 0 {
		g.sum.Clock = t
		g.o.Progress(g.sum)
	}
	return g.after(s, t)
}

// replyBy schedules addressee i's reply between t and its deadline, later
// rather than sooner.
func (g *gen) replyBy(s *sim, i int, t, deadline time.Time) {
	if at, ok := g.between(t, deadline, math.Pow(g.rnd.Float64(), 0.6)); ok {
		g.push(s, reply, at, i)
	}
}

// step applies a scheduled change with the rules, as the server's
// handlers and sweeper do. A change the rules refuse (a reply to a
// consultation withdrawn meanwhile) is not recorded, as on the server.
func (g *gen) step(it item) error {
	s, t := it.s, time.Unix(0, it.at)
	s.refs--
	c := s.c
	var a *tacitv1.Addressee
	var principal string
	if it.kind != sweep && it.kind != withdraw && it.kind != conclude {
		a = c.GetAddressees()[it.i]
		principal = "agency:" + a.GetAgency()
	}
	lead := "agency:" + c.GetLead()
	change := func(fn func(*tacitv1.Consultation, time.Time) ([]consultation.Event, error)) error {
		evs, err := consultation.Change(c, t, g.headAt, fn)
		if err != nil {
			return err
		}
		return g.events(evs)
	}
	var err error
	switch it.kind {
	case sweep:
		if it.at != s.due { // the deadline moved since
			return g.after(s, t)
		}
		s.due = 0
		err = g.events(consultation.Sweep(g.cfg, c, t, g.headAt))
	case reply, revise:
		err = change(func(c *tacitv1.Consultation, now time.Time) ([]consultation.Event, error) {
			return consultation.Reply(g.cfg, c, a.GetAgency(), principal, g.replyInput(a.GetAgency(), now), now)
		})
		if err == nil && it.kind == reply && g.rnd.Float64() < 0.04 {
			if at, ok := g.between(t, a.GetDeadline().AsTime(), g.rnd.Float64()); ok {
				g.push(s, revise, at, it.i)
			}
		}
	case ask:
		in := consultation.ExtensionInput{Reason: pick(g.rnd, extensionReasons)}
		if g.rnd.Float64() < 0.8 {
			in.ByWorkingDays = []int32{3, 5, 5, 7, 10}[g.rnd.IntN(5)]
		} else {
			in.Until = g.cfg.Calendar.Deadline(a.GetDeadline().AsTime(), 3+g.rnd.IntN(8)).Add(-7 * time.Hour) // 17:00
		}
		err = change(func(c *tacitv1.Consultation, now time.Time) ([]consultation.Event, error) {
			return consultation.RequestExtension(g.cfg, c, a.GetAgency(), principal, in, now)
		})
		if err == nil {
			dl := a.GetDeadline().AsTime()
			if s.decision[it.i] != 0 {
				if at, ok := g.between(t, dl, 0.1+0.6*g.rnd.Float64()); ok {
					g.push(s, decide, at, it.i)
				}
			} else if g.rnd.Float64() < 0.5 { // no decision: it replies anyway, or lets it lapse
				g.replyBy(s, it.i, t, dl)
			}
		}
	case decide:
		grant := s.decision[it.i] == 1
		err = change(func(c *tacitv1.Consultation, now time.Time) ([]consultation.Event, error) {
			return consultation.DecideExtension(g.cfg, c, a.GetAgency(), lead, grant, pick(g.rnd, decisionReasons), now)
		})
		replies := 0.6 // after a refusal; 0.9 after a grant
		if grant {
			replies = 0.9
		}
		if err == nil && g.rnd.Float64() < replies {
			g.replyBy(s, it.i, t, a.GetDeadline().AsTime())
		}
	case withdraw:
		err = change(func(c *tacitv1.Consultation, now time.Time) ([]consultation.Event, error) {
			return consultation.Withdraw(c, lead, pick(g.rnd, withdrawReasons), now)
		})
	case conclude:
		err = change(func(c *tacitv1.Consultation, now time.Time) ([]consultation.Event, error) {
			return consultation.Conclude(g.cfg, c, lead, g.conclusion(c), now)
		})
	}
	if f, ok := fault.As(err); ok && f.Kind == fault.FailedPrecondition {
		g.sum.Declined++
	} else if err != nil {
		return fmt.Errorf("generate: consultation %s at %s: %w", c.GetId(), t, err)
	}
	return g.after(s, t)
}

func (g *gen) replyInput(agency string, now time.Time) consultation.ReplyInput {
	var in consultation.ReplyInput
	switch r := g.rnd.Float64(); {
	case r < 0.6:
		in.Position = tacitv1.Position_POSITION_AGREE
		if g.rnd.Float64() < 0.3 {
			in.Comment = pick(g.rnd, agreeComments)
		}
	case r < 0.88:
		in.Position, in.Comment = tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, pick(g.rnd, commentsWith)
	default:
		in.Position, in.Comment = tacitv1.Position_POSITION_DISAGREE, pick(g.rnd, disagreeComments)
	}
	in.SignerName, in.SignerRole = g.headAt(agency, now), tacitv1.SignerRole_SIGNER_ROLE_HEAD
	if a, ok := g.core.Registry().Agency(agency); ok && len(a.GetDeputies()) > 0 && g.rnd.Float64() < 0.55 {
		in.SignerName, in.SignerRole = pick(g.rnd, a.GetDeputies()), tacitv1.SignerRole_SIGNER_ROLE_DEPUTY
	}
	return in
}

// conclusion is the lead's: with its own proposal, and the option it
// chose, when an addressee disagreed (and sometimes when none did).
func (g *gen) conclusion(c *tacitv1.Consultation) consultation.ConcludeInput {
	in := consultation.ConcludeInput{Summary: pick(g.rnd, conclusions)}
	differ := slices.ContainsFunc(c.GetAddressees(), func(a *tacitv1.Addressee) bool {
		return a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED && a.GetReply().GetPosition() == tacitv1.Position_POSITION_DISAGREE
	})
	if differ || g.rnd.Float64() < 0.3 {
		in.Proposal = pick(g.rnd, proposals)
		if n := len(c.GetOptions()); n >= 2 {
			in.ChosenOption = int32(1 + g.rnd.IntN(n))
		}
	}
	return in
}

// --- the request ---

func (g *gen) pickLead() *agency {
	return g.all[sort.SearchFloat64s(g.leads, g.rnd.Float64()*g.leads[len(g.leads)-1])]
}

// scope is whom a lead may think of consulting: the bodies of its
// province, and sometimes central ones; a ministry consults ministries and
// sometimes a province's bodies.
func (g *gen) scope(lead *agency) []*agency {
	var out []*agency
	add := func(p int) {
		for _, a := range g.byProv[p] {
			if a != lead {
				out = append(out, a)
			}
		}
	}
	if lead.province == central {
		add(central)
		if g.rnd.Float64() < 0.5 {
			add(g.rnd.IntN(len(g.byProv) - 1))
		}
	} else {
		add(lead.province)
		if g.rnd.Float64() < 0.15 || len(out) == 0 {
			add(central)
		}
	}
	return out
}

// field picks a field within one of a mandate's fields.
func (g *gen) field(mandate []string) string { return pick(g.rnd, g.under[pick(g.rnd, mandate)]) }

// request builds a lead's request at t: a matter in its own mandate and
// maybe neighbouring ones, 1 to 8 agencies whose mandate covers it, a
// deadline in working days (or an instant, or hours when urgent).
func (g *gen) request(lead *agency, t time.Time, refuse bool) *tacitv1.OpenConsultationRequest {
	scope := g.scope(lead)
	want := []int{1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6, 7, 8}[g.rnd.IntN(20)]
	fields := []string{g.field(lead.mandate)}
	var chosen []*agency
	eligible := func() {
		chosen = chosen[:0]
		for _, a := range scope {
			if consultation.Covers(a.mandate, fields) {
				chosen = append(chosen, a)
			}
		}
	}
	eligible()
	for try := 0; len(scope) > 0 && (len(chosen) < want && len(fields) < 3 && try < 10 || len(chosen) == 0); try++ {
		if a := pick(g.rnd, scope); !consultation.Covers(a.mandate, fields) {
			fields = append(fields, g.field(a.mandate))
			eligible()
		}
	}
	g.rnd.Shuffle(len(chosen), func(i, j int) { chosen[i], chosen[j] = chosen[j], chosen[i] })
	chosen = chosen[:min(want, len(chosen))]
	req := &tacitv1.OpenConsultationRequest{Fields: fields, LegalBasis: g.basis(fields)}
	reg := g.core.Registry()
	f, _ := reg.Field(fields[0])
	req.Title = fmt.Sprintf(pick(g.rnd, titleForms), lowerFirst(f.GetName()), t.In(g.loc).Year())
	if g.rnd.Float64() < 0.5 {
		req.Summary = pick(g.rnd, summaries)
	}
	for _, a := range chosen {
		req.Addressees = append(req.Addressees, a.code)
		if registry.Rank(a.level) > registry.Rank(lead.level) {
			req.EscalationReason = pick(g.rnd, escalationReasons)
		}
	}
	if refuse { // someone without a mandate over the matter
		for _, i := range g.rnd.Perm(len(g.all)) {
			if a := g.all[i]; a != lead && !consultation.Covers(a.mandate, fields) {
				req.Addressees = append(req.Addressees, a.code)
				break
			}
		}
	}
	if g.rnd.Float64() < 0.08 {
		for i := range 2 + g.rnd.IntN(2) {
			req.Options = append(req.Options, fmt.Sprintf("Phương án %d: %s", i+1, optionTexts[(i+g.rnd.IntN(2))%len(optionTexts)]))
		}
	}
	switch r := g.rnd.Float64(); {
	case r < 0.25: // the server's default, 15 working days
	case r < 0.85:
		n := []int32{10, 10, 10, 10, 7, 7, 7, 5, 5, 20, 20, 30, 3}[g.rnd.IntN(13)]
		req.DeadlineSpec = &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: n}
	case r < 0.95: // 17:00 on a working day
		at := g.cfg.Calendar.Deadline(t, 5+g.rnd.IntN(16)).Add(-7 * time.Hour)
		req.DeadlineSpec = &tacitv1.OpenConsultationRequest_Deadline{Deadline: timestamppb.New(at)}
	default: // urgent
		d := []time.Duration{48 * time.Hour, 72 * time.Hour, 120 * time.Hour}[g.rnd.IntN(3)]
		req.DeadlineSpec = &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(d)}
	}
	return req
}

func (g *gen) basis(fields []string) string {
	root, _, _ := strings.Cut(fields[0], ".")
	if b, ok := legalBasis[root]; ok {
		return b + "; " + commonBasis
	}
	return commonBasis
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}
