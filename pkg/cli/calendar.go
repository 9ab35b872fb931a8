package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/server"
)

func newCalendarCommand(e *env) *cobra.Command {
	var file string
	var remote bool
	cmd := &cobra.Command{
		Use:   "calendar",
		Short: "Vietnamese working days: a year's days off, and how a deadline is counted",
		Long: `Show the working-day calendar deadlines are counted with: weekends, the
Labour Code's public holidays (1/1, Tết, Hùng Kings' day, 30/4, 1/5, 2/9 and an
adjacent day), compensatory days, and the operator's yearly schedule
(--calendar FILE, the file 'tacit serve --calendar' takes). Works without a
server; --remote asks the running server for its effective calendar instead.
Dates are ISO (2026-02-26) so scripts can read them.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&file, "calendar", "", "operator's calendar file (days off, working Saturdays) on top of the built-in rules")
	pf.BoolVar(&remote, "remote", false, "ask the running server (--server) for its effective calendar")

	lang := func() string { return e.lang }
	local := func() (calendar.Explainer, calendar.Lang, error) {
		l, err := calendar.ParseLang(lang())
		if err != nil {
			return nil, "", usageError{fmt.Sprintf("--lang %q: use vi or en", lang())}
		}
		var o *calendar.Overrides
		if file != "" {
			if o, err = calendar.LoadOverrides(file); err != nil {
				return nil, "", usageError{err.Error()}
			}
		}
		return calendar.New(calendar.Location(), o), l, nil
	}

	show := &cobra.Command{
		Use:     "show YEAR",
		Short:   "A year's days off and working Saturdays, with reasons",
		Example: "  tacit calendar show 2026 --lang vi\n  tacit calendar show 2026 --calendar pkg/calendar/testdata/vn-2026-2027.json\n  tacit --as so-nnmt calendar show 2026 --remote",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput("table", "json", "csv"); err != nil {
				return err
			}
			year, err := strconv.Atoi(args[0])
			if err != nil || year < 1900 || year > 2100 {
				return usageError{fmt.Sprintf("%q: give a year between 1900 and 2100", args[0])}
			}
			var res *tacitv1.GetCalendarResponse
			if remote {
				err = e.call(cmd, func(ctx context.Context, c *client) error {
					res, err = c.calendar.GetCalendar(ctx, &tacitv1.GetCalendarRequest{Year: int32(year), Language: lang()})
					return err
				})
				if err != nil {
					return err
				}
			} else {
				cal, l, err := local()
				if err != nil {
					return err
				}
				res = &tacitv1.GetCalendarResponse{Version: cal.Version(), TimeZone: cal.Location().String(), Year: int32(year), Days: server.CalendarDays(cal, year, l)}
			}
			if e.output == "json" {
				return printJSON(e.stdout, res)
			}
			header := []string{"DATE", "WEEKDAY", "KIND", "REASON"}
			var rows [][]string
			for _, d := range res.GetDays() {
				rows = append(rows, []string{d.GetDate(), weekdayOf(d.GetDate(), lang()), d.GetKind(), d.GetReason()})
			}
			if e.output == "table" {
				fmt.Fprintf(e.stderr, "Calendar %s (%s), %d.\n", res.GetVersion(), res.GetTimeZone(), res.GetYear())
			}
			return printRows(e, header, rows, nil)
		},
	}

	var from string
	var days int
	deadline := &cobra.Command{
		Use:   "deadline --from DATE --days N",
		Short: "The deadline of N working days from an opening date, and the days skipped",
		Long: `Count N working days the way consultation deadlines are counted: the
opening day is not counted, and the deadline falls at 24:00 of the Nth working
day. Prints the deadline and every day skipped with the reason.`,
		Example: "  tacit calendar deadline --from 2026-02-12 --days 5\n  tacit calendar deadline --from 2026-04-29T10:00:00+07:00 --days 3 --lang vi",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := e.checkOutput("table", "json"); err != nil {
				return err
			}
			if days < 1 || days > 365 {
				return usageError{"--days: give a number of working days from 1 to 365"}
			}
			start, err := parseDateOrTime(from)
			if err != nil {
				return err
			}
			var res *tacitv1.ComputeDeadlineResponse
			if remote {
				err = e.call(cmd, func(ctx context.Context, c *client) error {
					res, err = c.calendar.ComputeDeadline(ctx, &tacitv1.ComputeDeadlineRequest{From: timestamppb.New(start), WorkingDays: int32(days), Language: lang()})
					return err
				})
				if err != nil {
					return err
				}
			} else {
				cal, l, err := local()
				if err != nil {
					return err
				}
				res = server.ExplainDeadline(cal, start, days, l)
			}
			if e.output == "json" {
				return printJSON(e.stdout, res)
			}
			dl := res.GetDeadline().AsTime().In(calendar.Location())
			fmt.Fprintf(e.stdout, "Deadline: %s 24:00 (%s) — end of the %d%s working day after %s\n", res.GetLastWorkingDay(), dl.Format(time.RFC3339), days, ordinal(days), calendar.DateOf(start, calendar.Location()))
			fmt.Fprintf(e.stdout, "Calendar: %s\n", res.GetVersion())
			if len(res.GetSkipped()) == 0 {
				fmt.Fprintln(e.stdout, "No days skipped.")
				return nil
			}
			fmt.Fprintf(e.stdout, "Skipped %d day(s):\n", len(res.GetSkipped()))
			t := newTable(e.stdout)
			for _, d := range res.GetSkipped() {
				t.row("  "+d.GetDate(), weekdayOf(d.GetDate(), lang()), d.GetReason())
			}
			return t.flush()
		},
	}
	deadline.Flags().StringVar(&from, "from", "", "opening date (2026-02-12) or instant (RFC 3339) (required)")
	deadline.Flags().IntVar(&days, "days", 0, "working days (required)")
	_ = deadline.MarkFlagRequired("from")
	_ = deadline.MarkFlagRequired("days")
	cmd.AddCommand(show, deadline)
	return cmd
}

func ordinal(n int) string {
	if n%100 >= 11 && n%100 <= 13 {
		return "th"
	}
	switch n % 10 {
	case 1:
		return "st"
	case 2:
		return "nd"
	case 3:
		return "rd"
	}
	return "th"
}

// parseDateOrTime reads an ISO date (taken at noon, Vietnam time) or an
// RFC 3339 instant.
func parseDateOrTime(s string) (time.Time, error) {
	if d, err := calendar.ParseDate(s); err == nil {
		return d.Start(calendar.Location()).Add(12 * time.Hour), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usageError{fmt.Sprintf("--from %q: give a date (2026-02-12) or an RFC 3339 instant", s)}
	}
	return t, nil
}

func weekdayOf(date, lang string) string {
	d, err := calendar.ParseDate(date)
	if err != nil {
		return ""
	}
	if lang == "vi" {
		return [...]string{"Chủ nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy"}[d.Weekday()]
	}
	return d.Weekday().String()[:3]
}
