package consultation

import (
	"fmt"
	"time"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

// Event types of a calendar change.
const (
	EventCalendarChanged    = "CALENDAR_CHANGED"
	EventDeadlineRecomputed = "DEADLINE_RECOMPUTED"
)

// Recount recomputes, with cfg's calendar, the deadlines of c that were
// counted in working days and have not passed at now: the opening deadline,
// each pending addressee's deadline (replaying its granted extensions), and
// undecided extension requests. Deadlines already passed never move, and a
// deadline is never moved to a moment already past. It returns one event
// per addressee whose deadline moved, with the old and new deadline. c must
// already be materialized at now.
func Recount(cfg Config, c *tacitv1.Consultation, now time.Time) []Event {
	if c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
		return nil
	}
	cal, loc := cfg.Calendar, cfg.Calendar.Location()
	moves := func(old, next time.Time) bool { return !next.Equal(old) && old.After(now) && next.After(now) }

	base := c.GetDeadline().AsTime()
	rule := c.GetDeadlineRule()
	if rule.GetWorkingDays() > 0 && rule.GetCalendarVersion() != cal.Version() {
		next := cal.Deadline(rule.GetFrom().AsTime(), int(rule.GetWorkingDays()))
		if moves(base, next) {
			c.Deadline = ts(next)
			base = next
		}
		// The rule names the calendar that gives the stored deadline; a
		// passed deadline keeps the calendar it was counted with.
		if next.Equal(base) && base.After(now) {
			rule.CalendarVersion = cal.Version()
		}
	}
	var evs []Event
	for _, a := range c.GetAddressees() {
		if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
			continue
		}
		old := a.GetDeadline().AsTime()
		d := base
		for _, x := range a.GetExtensions() { // replay granted extensions in order
			if x.GetState() != tacitv1.ExtensionState_EXTENSION_STATE_GRANTED {
				continue
			}
			if wd := x.GetRequestedRule().GetWorkingDays(); wd > 0 {
				d = cal.Deadline(d.Add(-time.Nanosecond), int(wd))
			} else {
				d = x.GetRequestedDeadline().AsTime()
			}
		}
		if moves(old, d) {
			a.Deadline = ts(d)
			scheduleReminder(cfg, a, now)
			evs = append(evs, Event{Type: EventDeadlineRecomputed, Agency: a.GetAgency(), Actor: SystemActor, Time: now, Deadline: d,
				Rule:    "calendar " + cal.Version(),
				Details: fmt.Sprintf("deadline of %s recomputed with calendar %s: %s -> %s", a.GetAgency(), cal.Version(), fmtTime(old, loc), fmtTime(d, loc))})
		}
		// An undecided request counted in working days follows the deadline.
		for _, x := range a.GetExtensions() {
			if x.GetState() == tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED && x.GetRequestedRule().GetWorkingDays() > 0 {
				cur := a.GetDeadline().AsTime()
				x.PreviousDeadline = ts(cur)
				x.RequestedRule.From = ts(cur)
				x.RequestedDeadline = ts(cal.Deadline(cur.Add(-time.Nanosecond), int(x.GetRequestedRule().GetWorkingDays())))
				x.RequestedRule.CalendarVersion = cal.Version()
			}
		}
	}
	return evs
}
