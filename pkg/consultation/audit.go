package consultation

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/fault"
)

// How a change becomes audit entries: the same for the server's handlers
// and sweeper and for tools that write a history without a server.

// AuditEvents turns the rules' events on rec into audit entries recorded
// at recorded, each with the agencies whose inbox receives it.
func AuditEvents(evs []Event, rec *tacitv1.Consultation, recorded time.Time) []*tacitv1.AuditEvent {
	out := make([]*tacitv1.AuditEvent, 0, len(evs))
	for _, e := range evs {
		ae := &tacitv1.AuditEvent{
			EventTime: timestamppb.New(recorded), Actor: e.Actor, Type: e.Type,
			ConsultationId: rec.GetId(), Agency: e.Agency, Rule: e.Rule, Details: e.Details,
			Notified: Notify(rec, e),
		}
		if !e.Deadline.IsZero() {
			ae.Deadline = timestamppb.New(e.Deadline)
		}
		out = append(out, ae)
	}
	return out
}

// settle adds the lead's notice when a change left no addressee pending.
func settle(rec *tacitv1.Consultation, wasSettled bool, evs []Event, now time.Time) []Event {
	if !wasSettled && rec.GetState() == tacitv1.ConsultationState_CONSULTATION_STATE_OPEN && Settled(rec) {
		evs = append(evs, SettledEvent(rec, now))
	}
	return evs
}

// Change applies fn to a stored consultation at now the way every write
// does: the silence rule first, then fn, then the lead's notice when nobody
// is pending any more. It returns the audit entries of the change; on an
// error the caller must discard rec.
func Change(rec *tacitv1.Consultation, now time.Time, headAt HeadAt, fn func(*tacitv1.Consultation, time.Time) ([]Event, error)) ([]*tacitv1.AuditEvent, error) {
	was := Settled(rec)
	deemed := Materialize(rec, now, headAt, true)
	evs, err := fn(rec, now)
	if err != nil {
		return nil, err
	}
	return AuditEvents(settle(rec, was, append(deemed, evs...), now), rec, now), nil
}

// Sweep is the sweeper's change at now: reminders due, then deemed
// approvals whose deadline has come. It returns the audit entries (none
// when nothing was due).
func Sweep(cfg Config, rec *tacitv1.Consultation, now time.Time, headAt HeadAt) []*tacitv1.AuditEvent {
	was := Settled(rec)
	evs := SendReminders(cfg, rec, now)
	evs = append(evs, Materialize(rec, now, headAt, true)...)
	return AuditEvents(settle(rec, was, evs, now), rec, now)
}

// RejectedEvent is the audit entry of an opening refused with f (a
// FailedPrecondition of Open) for principal at now, with its reasons.
func RejectedEvent(principal string, f *fault.Error, now time.Time) *tacitv1.AuditEvent {
	var reasons []string
	for _, v := range f.Violations {
		reasons = append(reasons, v.Subject+": "+v.Description)
	}
	return &tacitv1.AuditEvent{EventTime: timestamppb.New(now), Actor: principal, Type: EventOpenRejected,
		Details: f.Message + "; " + strings.Join(reasons, "; ")}
}

// Opened gives a consultation just opened its id and returns the audit
// entries of its opening.
func Opened(c *tacitv1.Consultation, id, principal string, now time.Time) []*tacitv1.AuditEvent {
	c.Id, c.Name = id, "consultations/"+id
	return AuditEvents([]Event{OpenedEvent(c, principal, now)}, c, now)
}
