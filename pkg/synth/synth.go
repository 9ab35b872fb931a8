// Package synth writes a realistic history of consultations into an empty
// store, for performance measurements and auditors' demos: years of
// openings by many agencies, replies and revisions, reminders, extensions
// asked, granted and refused, deemed approvals at their deadlines,
// withdrawals and conclusions, and heads of agencies changing over time.
//
// Every change is made by the rules of package consultation, at the time a
// simulated clock shows, and turned into audit entries the way the server
// does; the registry and the calendar are recorded by the server's own
// Core. Records and audit entries then go to the store through its bulk
// Loader: same records, indexes and figures as the write path, in large
// transactions. The same seed gives the same history.
package synth

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/registry"
	"github.com/tacit-gov/tacit/pkg/server"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

// Options say what to generate.
type Options struct {
	Consultations int       // how many consultations are opened
	Seed          uint64    // the same seed gives the same history
	Since, Until  time.Time // the period; consultations opened near Until are still open
	// Agencies in the registry: 0 for the demo registry (25); more adds
	// synthesized provinces (departments and communes).
	Agencies int
	// Rules are the server's settings the history is made with (zero:
	// consultation.DefaultConfig, as `tacit serve` without flags).
	Rules consultation.Config
	// Batch is the number of records and audit entries per transaction
	// (0: bolt.DefaultLoadBatch).
	Batch int
	// Progress, when set, is called now and then with the counts so far.
	Progress func(Summary)
}

// Summary counts what was generated.
type Summary struct {
	Agencies                                              int
	Consultations, Addressees                             int // opened
	Replies, Revisions, Reminders, Deemed                 int
	ExtensionsAsked, ExtensionsGranted, ExtensionsRefused int
	Withdrawn, Concluded, StillOpen                       int
	Rejected                                              int // openings refused by the rules (recorded)
	Declined                                              int // other attempts the rules refused (nothing recorded)
	AuditEntries                                          int // written by the generator (besides the registry's and calendar's)
	Clock                                                 time.Time
}

// Generate fills st, which must be empty, with a history.
func Generate(ctx context.Context, st *bolt.Store, o Options) (Summary, error) {
	if o.Rules.Calendar == nil {
		o.Rules = consultation.DefaultConfig()
	}
	if o.Consultations < 0 || !o.Until.After(o.Since) {
		return Summary{}, fmt.Errorf("generate: want a number of consultations >= 0 and a period whose end (%s) is after its start (%s)", o.Until, o.Since)
	}
	if counts, err := st.Counts(ctx); err != nil {
		return Summary{}, err
	} else if counts.Consultations > 0 || counts.AuditEntries > 0 {
		return Summary{}, fmt.Errorf("generate: the store already holds %d consultations and %d audit entries: give an empty data folder", counts.Consultations, counts.AuditEntries)
	}
	g := &gen{o: o, cfg: o.Rules, rnd: rand.New(rand.NewPCG(o.Seed, 0x7ac17)), loc: o.Rules.Calendar.Location()}
	g.clock = clockwork.NewFakeClockAt(o.Since)
	core, err := server.NewCore(ctx, st, o.Rules, g.clock, zerolog.Nop())
	if err != nil {
		return Summary{}, err
	}
	g.core = core
	// As `tacit serve --demo` does on an empty folder: the registry, then
	// the calendar in force.
	req, province, err := registryImport(o.Agencies, g.rnd)
	if err != nil {
		return Summary{}, err
	}
	if _, err := core.ImportRegistry(ctx, consultation.SystemActor, req); err != nil {
		return Summary{}, fmt.Errorf("generate: registry: %w", err)
	}
	if _, err := core.ApplyCalendar(ctx); err != nil {
		return Summary{}, err
	}
	g.agencies(province)
	ld, err := st.NewLoader(o.Batch)
	if err != nil {
		return Summary{}, err
	}
	g.out = newSink(ld)
	err = g.run(ctx)
	if cerr := g.out.close(); err == nil {
		err = cerr
	}
	if err != nil {
		ld.Abort()
		return g.sum, err
	}
	return g.sum, ld.Close()
}

type gen struct {
	o     Options
	cfg   consultation.Config
	rnd   *rand.Rand
	loc   *time.Location
	clock *clockwork.FakeClock
	core  *server.Core
	out   *sink

	all     []*agency
	leads   []float64 // cumulative weights of all as leads
	byProv  map[int][]*agency
	byCode  map[string]*agency
	under   map[string][]string // field code -> itself and its descendants
	q       queue
	seq     uint64
	lastID  uint64
	changes []time.Time // head changes to come
	sum     Summary
}

// agency is what the simulation knows of an agency.
type agency struct {
	code     string
	level    tacitv1.AgencyLevel
	province int
	mandate  []string
	silence  float64 // how often it lets a deadline pass
}

func (g *gen) agencies(province map[string]int) {
	reg := g.core.Registry()
	g.byProv, g.byCode = map[int][]*agency{}, map[string]*agency{}
	g.under = map[string][]string{}
	for _, f := range reg.Fields() {
		for _, m := range reg.Fields() {
			if registry.Related(m.GetCode(), f.GetCode()) && len(m.GetCode()) <= len(f.GetCode()) {
				g.under[m.GetCode()] = append(g.under[m.GetCode()], f.GetCode())
			}
		}
	}
	total := 0.0
	for _, a := range reg.Agencies() {
		ag := &agency{code: a.GetCode(), level: a.GetLevel(), province: province[a.GetCode()], mandate: a.GetMandate()}
		// Most agencies answer; a few are silent often enough for the
		// auditors' 5% threshold to find them.
		switch r := g.rnd.Float64(); {
		case r < 0.7:
			ag.silence = 0.01 + 0.03*g.rnd.Float64()
		case r < 0.9:
			ag.silence = 0.05 + 0.05*g.rnd.Float64()
		default:
			ag.silence = 0.12 + 0.13*g.rnd.Float64()
		}
		weight := map[tacitv1.AgencyLevel]float64{tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL: 3, tacitv1.AgencyLevel_AGENCY_LEVEL_LOCAL: 1.5}[a.GetLevel()]
		if weight == 0 {
			weight = 1
		}
		total += weight
		g.all = append(g.all, ag)
		g.leads = append(g.leads, total)
		g.byProv[ag.province] = append(g.byProv[ag.province], ag)
		g.byCode[ag.code] = ag
	}
	g.sum.Agencies = len(g.all)
	// Heads change at the start of each half year.
	for t := time.Date(g.o.Since.Year(), 1, 2, 0, 0, 0, 0, g.loc); t.Before(g.o.Until); t = t.AddDate(0, 6, 0) {
		if at := g.office(t); at.After(g.o.Since) && at.Before(g.o.Until) {
			g.changes = append(g.changes, at)
		}
	}
}

// --- the simulated clock ---

type kind uint8

const (
	sweep kind = iota // first at an instant: the sweeper runs at the deadline
	reply
	revise
	ask
	decide
	withdraw
	conclude
)

type item struct {
	at   int64 // unix nanoseconds
	kind kind
	seq  uint64
	s    *sim
	i    int // addressee
}

type queue []item

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	a, b := &q[i], &q[j]
	if a.at != b.at {
		return a.at < b.at
	}
	if (a.kind == sweep) != (b.kind == sweep) {
		return a.kind == sweep
	}
	return a.seq < b.seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(item)) }
func (q *queue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// sim is a consultation being simulated.
type sim struct {
	id       uint64
	c        *tacitv1.Consultation
	decision []int // the lead's on each addressee's extension request: 0 none, 1 grant, 2 refuse
	due      int64 // the sweep scheduled (0: none)
	refs     int   // items in the queue for it
	ended    bool  // the lead's last step is decided
}

func (g *gen) push(s *sim, k kind, t time.Time, i int) {
	g.seq++
	s.refs++
	heap.Push(&g.q, item{at: t.UnixNano(), kind: k, seq: g.seq, s: s, i: i})
}

func (g *gen) run(ctx context.Context) error {
	opens := newOpenings(g, g.o.Consultations)
	until := g.o.Until.UnixNano()
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		next, ok := opens.peek()
		if len(g.q) > 0 && g.q[0].at <= until && (!ok || g.q[0].at <= next.at.UnixNano()) {
			if err := g.headChanges(ctx, time.Unix(0, g.q[0].at)); err != nil {
				return err
			}
			if err := g.step(heap.Pop(&g.q).(item)); err != nil {
				return err
			}
			continue
		}
		if !ok {
			break
		}
		opens.next()
		if err := g.headChanges(ctx, next.at); err != nil {
			return err
		}
		if err := g.open(next.at, next.refuse); err != nil {
			return err
		}
	}
	// What is still going on at the end is stored as it stands.
	var left []*sim
	for _, it := range g.q {
		if it.s.refs > 0 {
			it.s.refs = 0
			left = append(left, it.s)
		}
	}
	slices.SortFunc(left, func(a, b *sim) int { return cmp.Compare(a.id, b.id) })
	for _, s := range left {
		if err := g.store(s); err != nil {
			return err
		}
	}
	g.sum.Clock = g.o.Until
	return nil
}

// headChanges applies the changes of heads due by t, through the server's
// own registry import.
func (g *gen) headChanges(ctx context.Context, t time.Time) error {
	for len(g.changes) > 0 && !g.changes[0].After(t) {
		at := g.changes[0]
		g.changes = g.changes[1:]
		req := headChange(g.core.Registry(), g.rnd)
		if err := g.out.call(func() error { // a transaction of its own
			g.clock.Advance(at.Sub(g.clock.Now()))
			_, err := g.core.ImportRegistry(ctx, "admin:admin", req)
			return err
		}); err != nil {
			return fmt.Errorf("generate: change of heads: %w", err)
		}
	}
	return nil
}

func (g *gen) headAt(agency string, t time.Time) string { return g.core.Registry().HeadAt(agency, t) }

// events appends audit entries and counts them.
func (g *gen) events(evs []*tacitv1.AuditEvent) error {
	for _, e := range evs {
		switch e.GetType() {
		case consultation.EventReplied:
			g.sum.Replies++
		case consultation.EventRevised:
			g.sum.Revisions++
		case consultation.EventReminder:
			g.sum.Reminders++
		case consultation.EventDeemedApproval:
			g.sum.Deemed++
		case consultation.EventExtensionAsked:
			g.sum.ExtensionsAsked++
		case consultation.EventExtensionGranted:
			g.sum.ExtensionsGranted++
		case consultation.EventExtensionRefused:
			g.sum.ExtensionsRefused++
		case consultation.EventWithdrawn:
			g.sum.Withdrawn++
		case consultation.EventConcluded:
			g.sum.Concluded++
		}
	}
	g.sum.AuditEntries += len(evs)
	return g.out.add(write{events: evs})
}

// store writes a consultation that will not change any more.
func (g *gen) store(s *sim) error {
	if s.c.GetState() == tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
		g.sum.StillOpen++
	}
	return g.out.add(write{c: s.c})
}

// after reschedules s's sweep after a change at t, decides the lead's last
// step once nobody is pending, and stores s when nothing is left to do.
func (g *gen) after(s *sim, t time.Time) error {
	c := s.c
	open := c.GetState() == tacitv1.ConsultationState_CONSULTATION_STATE_OPEN
	if open && !s.ended && consultation.Settled(c) {
		s.ended = true
		if g.rnd.Float64() < 0.97 { // a few leads never conclude
			g.push(s, conclude, g.workTime(t, 1+g.rnd.IntN(10)), 0)
		}
	}
	if due := nextDue(c); due != 0 && due != s.due {
		s.due = due
		g.push(s, sweep, time.Unix(0, due), 0)
	} else if due == 0 {
		s.due = 0
	}
	if s.refs == 0 {
		return g.store(s)
	}
	return nil
}

// nextDue is when the sweeper has work on c: the earliest deadline or
// unsent reminder of a pending addressee (0: none).
func nextDue(c *tacitv1.Consultation) int64 {
	if c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
		return 0
	}
	var due int64
	for _, a := range c.GetAddressees() {
		if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
			continue
		}
		at := a.GetDeadline().AsTime().UnixNano()
		if a.GetReminderTime() != nil && a.GetReminderSentTime() == nil {
			at = min(at, a.GetReminderTime().AsTime().UnixNano())
		}
		if due == 0 || at < due {
			due = at
		}
	}
	return due
}

// --- time of day ---

// office returns t when it falls in office hours of a working day, else a
// random time in the office hours of the next working day.
func (g *gen) office(t time.Time) time.Time {
	cal := g.cfg.Calendar
	d := calendar.DateOf(t, g.loc)
	tod := t.Sub(d.Start(g.loc))
	if cal.IsWorkingDay(d) && tod >= 7*time.Hour+30*time.Minute && tod < 17*time.Hour {
		return t
	}
	if tod >= 7*time.Hour+30*time.Minute {
		d = d.AddDays(1)
	}
	for !cal.IsWorkingDay(d) {
		d = d.AddDays(1)
	}
	return d.Start(g.loc).Add(7*time.Hour + 30*time.Minute + time.Duration(g.rnd.Int64N(int64(9*time.Hour+30*time.Minute))))
}

// between returns a time in office hours at fraction u of the way from
// from to to, strictly between them, or false when there is no room.
func (g *gen) between(from, to time.Time, u float64) (time.Time, bool) {
	span := to.Sub(from)
	if span < 2*time.Minute {
		return time.Time{}, false
	}
	t := from.Add(time.Duration(u * float64(span)))
	if o := g.office(t); o.Before(to) {
		t = o
	}
	if !t.After(from) {
		t = from.Add(time.Minute)
	}
	if !t.Before(to) {
		t = to.Add(-time.Minute)
	}
	return t, true
}

// workTime is a time in office hours of the n-th working day after t.
func (g *gen) workTime(t time.Time, n int) time.Time {
	return g.cfg.Calendar.Deadline(t, n).Add(-16*time.Hour - 30*time.Minute + time.Duration(g.rnd.Int64N(int64(9*time.Hour+30*time.Minute))))
}

// --- openings ---

// openings yields the opening instants in order, on working days of the
// period, at office hours, busier as the years go by (twice as busy at the
// end as at the start); a few of them, chosen by selection sampling so that
// exactly the wanted number of consultations is opened, are attempts the
// rules refuse.
type openings struct {
	g         *gen
	days      []calendar.Date
	cum       []float64 // cumulative weight of days
	day, made int       // days and instants done
	total     int       // instants: consultations and refused attempts
	deny      int       // refused attempts still to place
	today     []opening
}

type opening struct {
	at     time.Time
	refuse bool
}

func newOpenings(g *gen, n int) *openings {
	o := &openings{g: g, deny: int(math.Round(float64(n) * 0.015))}
	o.total = n + o.deny
	first, last := calendar.DateOf(g.o.Since, g.loc), calendar.DateOf(g.o.Until, g.loc)
	for d := first; !d.After(last); d = d.AddDays(1) {
		if lo, hi := o.window(d); g.cfg.Calendar.IsWorkingDay(d) && hi.After(lo) {
			o.days = append(o.days, d)
		}
	}
	w := 0.0
	for i := range o.days {
		w += 1 + float64(i)/float64(len(o.days))
		o.cum = append(o.cum, w)
	}
	return o
}

// window is the office hours of d within the period.
func (o *openings) window(d calendar.Date) (time.Time, time.Time) {
	start := d.Start(o.g.loc)
	lo, hi := start.Add(7*time.Hour+30*time.Minute), start.Add(17*time.Hour)
	if lo.Before(o.g.o.Since) {
		lo = o.g.o.Since
	}
	if hi.After(o.g.o.Until) {
		hi = o.g.o.Until
	}
	return lo, hi
}

// peek returns the next instant (false at the end).
func (o *openings) peek() (opening, bool) {
	for len(o.today) == 0 {
		if o.day >= len(o.days) {
			return opening{}, false
		}
		d := o.days[o.day]
		o.day++
		want := int(math.Round(float64(o.total) * o.cum[o.day-1] / o.cum[len(o.cum)-1]))
		lo, hi := o.window(d)
		for ; o.made < want; o.made++ {
			refuse := o.g.rnd.IntN(o.total-o.made) < o.deny
			if refuse {
				o.deny--
			}
			o.today = append(o.today, opening{lo.Add(time.Duration(o.g.rnd.Int64N(int64(hi.Sub(lo))))), refuse})
		}
		slices.SortFunc(o.today, func(a, b opening) int { return a.at.Compare(b.at) })
	}
	return o.today[0], true
}

func (o *openings) next() { o.today = o.today[1:] }
