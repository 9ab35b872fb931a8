package consultation

import (
	"fmt"
	"time"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
)

// Inbox event types besides the audit types they share.
const (
	EventReminder   = "REMINDER"
	EventAllSettled = "ALL_SETTLED"
)

// Notify returns the agencies whose inbox receives an event: a consulted
// agency learns of requests, reminders, decisions on its extensions, the end
// of a consultation and its own deemed approval; a lead learns of replies,
// extension requests, deemed approvals and when every addressee is settled.
func Notify(c *tacitv1.Consultation, e Event) []string {
	addressees := func() []string {
		out := make([]string, 0, len(c.GetAddressees()))
		for _, a := range c.GetAddressees() {
			out = append(out, a.GetAgency())
		}
		return out
	}
	switch e.Type {
	case EventOpened, EventWithdrawn, EventConcluded:
		return addressees()
	case EventReminder, EventExtensionGranted, EventExtensionRefused, EventDeadlineRecomputed:
		return []string{e.Agency}
	case EventDeemedApproval:
		return []string{e.Agency, c.GetLead()}
	case EventReplied, EventRevised, EventExtensionAsked, EventAllSettled:
		return []string{c.GetLead()}
	}
	return nil
}

// Settled reports whether no addressee is pending.
func Settled(c *tacitv1.Consultation) bool {
	for _, a := range c.GetAddressees() {
		if a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
			return false
		}
	}
	return true
}

// SettledEvent is the lead's notice that every addressee has replied or is
// deemed to agree.
func SettledEvent(c *tacitv1.Consultation, now time.Time) Event {
	return Event{Type: EventAllSettled, Actor: SystemActor, Time: now,
		Details: fmt.Sprintf("every addressee of consultation %s has replied or is deemed to agree: it can be concluded", c.GetId())}
}

// Reminder is when to remind an addressee before its deadline: a number of
// working days (the reminder falls at the start of the Nth-last working day
// up to the deadline) or a duration before it.
type Reminder struct {
	WorkingDays int
	Before      time.Duration
}

// DefaultReminder is one working day before the deadline.
var DefaultReminder = Reminder{WorkingDays: 1}

// ReminderTime returns when to remind for deadline, or false when the
// reminder would not fall after now (too short a deadline for one).
func ReminderTime(cfg Config, deadline, now time.Time) (time.Time, bool) {
	r := cfg.Reminder
	var at time.Time
	switch {
	case r.Before > 0:
		at = deadline.Add(-r.Before)
	case r.WorkingDays > 0:
		cal := cfg.Calendar
		loc := cal.Location()
		d := calendar.DateOf(deadline.Add(-time.Nanosecond), loc)
		for n := 0; ; d = d.AddDays(-1) {
			if cal.IsWorkingDay(d) {
				if n++; n == r.WorkingDays {
					break
				}
			}
			if d.Year < 1900 {
				return time.Time{}, false
			}
		}
		at = d.Start(loc)
	default:
		return time.Time{}, false
	}
	if !at.After(now) || !at.Before(deadline) {
		return time.Time{}, false
	}
	return at, true
}

// scheduleReminder sets an addressee's reminder for its current deadline.
func scheduleReminder(cfg Config, a *tacitv1.Addressee, now time.Time) {
	a.ReminderTime, a.ReminderSentTime = nil, nil
	if at, ok := ReminderTime(cfg, a.GetDeadline().AsTime(), now); ok {
		a.ReminderTime = ts(at)
	}
}

// SendReminders marks the reminders due at now of c's pending addressees as
// sent and returns one event per reminder, addressed to the agency.
func SendReminders(cfg Config, c *tacitv1.Consultation, now time.Time) []Event {
	if c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
		return nil
	}
	var evs []Event
	loc := cfg.Calendar.Location()
	for _, a := range c.GetAddressees() {
		if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING || a.GetReminderTime() == nil || a.GetReminderSentTime() != nil {
			continue
		}
		at, dl := a.GetReminderTime().AsTime(), a.GetDeadline().AsTime()
		if at.After(now) || !dl.After(now) {
			continue // not yet; or too late for a reminder: the deadline has passed
		}
		a.ReminderSentTime = ts(now)
		evs = append(evs, Event{Type: EventReminder, Agency: a.GetAgency(), Actor: SystemActor, Time: at, Deadline: dl,
			Details: fmt.Sprintf("reminder (văn bản nhắc nhở): %s has not replied to consultation %s %q; its deadline is %s, after which it is deemed to agree",
				a.GetAgency(), c.GetId(), c.GetTitle(), fmtTime(a.GetDeadline().AsTime(), loc))})
	}
	return evs
}
