package server

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/fault"
)

// ApplyCalendar brings stored deadlines in line with the calendar in force:
// when it differs from the one last recorded, every working-day deadline not
// yet passed is recomputed and each change is recorded with the old and new
// deadline; deadlines already passed never move.
func (c *Core) ApplyCalendar(ctx context.Context) (int, error) {
	version := c.rules.Calendar.Version()
	prev, err := c.store.CalendarVersion(ctx)
	if err != nil || prev == version {
		return 0, err
	}
	now := c.clock.Now()
	var moved atomic.Int64 // consultations whose deadlines moved; the store mutates them concurrently
	_, err = c.store.RecountDeadlines(ctx, now, version, func(rec *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		evs := consultation.Materialize(rec, now, c.headAt, true)
		recounted := consultation.Recount(c.rules, rec, now)
		if len(recounted) > 0 {
			moved.Add(1)
		}
		return consultation.AuditEvents(append(evs, recounted...), rec, now), nil
	}, func(int) []*tacitv1.AuditEvent {
		changed := moved.Load()
		from := prev
		if from == "" {
			from = "(none recorded)"
		}
		return []*tacitv1.AuditEvent{{EventTime: timestamppb.New(now), Actor: consultation.SystemActor, Type: consultation.EventCalendarChanged,
			Details: fmt.Sprintf("calendar %s -> %s; deadlines of %d open consultation(s) recomputed", from, version, changed)}}
	})
	if err != nil {
		return 0, err
	}
	c.wake()
	c.hub.signalAll()
	return int(moved.Load()), nil
}

// CalendarServer implements tacit.v1.CalendarService.
type CalendarServer struct {
	tacitv1.UnimplementedCalendarServiceServer
	*Core
}

func (s CalendarServer) explainer() (calendar.Explainer, error) {
	if e, ok := s.rules.Calendar.(calendar.Explainer); ok {
		return e, nil
	}
	return nil, fault.New(fault.Internal, "NO_CALENDAR", "this server's calendar cannot explain its days")
}

func lang(s string) (calendar.Lang, error) {
	if s == "" {
		return calendar.English, nil
	}
	l, err := calendar.ParseLang(s)
	if err != nil {
		return "", invalid("language", "language must be vi or en")
	}
	return l, nil
}

// CalendarDays renders a year's special days.
func CalendarDays(cal calendar.Explainer, year int, l calendar.Lang) []*tacitv1.CalendarDay {
	var out []*tacitv1.CalendarDay
	for _, e := range cal.DaysOff(year) {
		out = append(out, &tacitv1.CalendarDay{Date: e.Date.String(), Kind: kindName(e.Reason.Kind), Reason: e.Reason.Label(l)})
	}
	return out
}

func kindName(k calendar.Kind) string {
	switch k {
	case calendar.KindWeekend:
		return "weekend"
	case calendar.KindHoliday:
		return "holiday"
	case calendar.KindCompensatory:
		return "compensatory"
	case calendar.KindExtraDayOff:
		return "day_off"
	case calendar.KindMakeUpDay, calendar.KindRemovedDayOff:
		return "working_day"
	}
	return k.String()
}

// ExplainDeadline counts n working days from `from` and lists what it
// skipped.
func ExplainDeadline(cal calendar.Explainer, from time.Time, n int, l calendar.Lang) *tacitv1.ComputeDeadlineResponse {
	dl := cal.Deadline(from, n)
	res := &tacitv1.ComputeDeadlineResponse{Deadline: timestamppb.New(dl), LastWorkingDay: calendar.DateOf(dl.Add(-time.Nanosecond), cal.Location()).String(), Version: cal.Version()}
	for _, sk := range cal.Explain(from, n) {
		res.Skipped = append(res.Skipped, &tacitv1.CalendarDay{Date: sk.Date.String(), Kind: kindName(sk.Reason.Kind), Reason: sk.Reason.Label(l)})
	}
	return res
}

// GetCalendar implements the RPC.
func (s CalendarServer) GetCalendar(ctx context.Context, req *tacitv1.GetCalendarRequest) (*tacitv1.GetCalendarResponse, error) {
	cal, err := s.explainer()
	if err != nil {
		return nil, err
	}
	l, err := lang(req.GetLanguage())
	if err != nil {
		return nil, err
	}
	y := int(req.GetYear())
	if y < 1900 || y > 2100 {
		return nil, invalid("year", "year must be between 1900 and 2100, got %d", y)
	}
	return &tacitv1.GetCalendarResponse{Version: cal.Version(), TimeZone: cal.Location().String(), Year: int32(y), Days: CalendarDays(cal, y, l)}, nil
}

// ComputeDeadline implements the RPC.
func (s CalendarServer) ComputeDeadline(ctx context.Context, req *tacitv1.ComputeDeadlineRequest) (*tacitv1.ComputeDeadlineResponse, error) {
	cal, err := s.explainer()
	if err != nil {
		return nil, err
	}
	l, err := lang(req.GetLanguage())
	if err != nil {
		return nil, err
	}
	if err := req.GetFrom().CheckValid(); err != nil {
		return nil, invalid("from", "from must be a valid instant")
	}
	from := req.GetFrom().AsTime()
	if from.Year() < 1900 || from.Year() > 2100 {
		return nil, invalid("from", "from must fall between 1900 and 2100")
	}
	n := int(req.GetWorkingDays())
	if n < 1 || n > consultation.MaxWorkingDay {
		return nil, invalid("working_days", "working_days must be between 1 and %d", consultation.MaxWorkingDay)
	}
	return ExplainDeadline(cal, from, n, l), nil
}
