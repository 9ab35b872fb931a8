package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

func newAuditCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Auditors: deemed approvals, agencies' records, the audit trail and its integrity",
		Long: `Read-only views for auditors (auditor:NAME) and the administrator. An agency
may read its own deemed approvals and figures.`,
	}
	cmd.AddCommand(newAuditDeemedCommand(e), newAuditStatsCommand(e), newAuditLogCommand(e), newAuditVerifyCommand(e))
	return cmd
}

// timeFlags parses optional --since/--until instants.
func timeFlags(since, until string) (s, u *timestamppb.Timestamp, err error) {
	if since != "" {
		if s, err = parseTime("since", since); err != nil {
			return nil, nil, err
		}
	}
	if until != "" {
		if u, err = parseTime("until", until); err != nil {
			return nil, nil, err
		}
	}
	return s, u, nil
}

func newAuditDeemedCommand(e *env) *cobra.Command {
	var agency, lead, field, since, until string
	var limit int
	cmd := &cobra.Command{
		Use:   "deemed [--agency C] [--lead C] [--field F] [--since T] [--until T]",
		Short: "Which agreements were deemed from silence",
		Long: `List agreements deemed from silence, in the order they took effect: the
consultation, its lead, the agency that stayed silent, the moment it took
effect (its deadline), the head responsible, and whether it had asked for an
extension. -o csv writes UTF-8 with a BOM for spreadsheets.`,
		Example: "  tacit --as auditor:auditor audit deemed --agency so-tai-chinh --since 2026-01-01T00:00:00+07:00\n  tacit --as auditor:auditor audit deemed -o csv > deemed.csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := e.checkOutput("table", "json", "csv", "jsonl"); err != nil {
				return err
			}
			s, u, err := timeFlags(since, until)
			if err != nil {
				return err
			}
			req := &tacitv1.ListDeemedApprovalsRequest{Agency: strings.TrimPrefix(agency, "agency:"), Lead: strings.TrimPrefix(lead, "agency:"), Field: field, Since: s, Until: u}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				var all []*tacitv1.DeemedApprovalRecord
				for {
					req.PageSize = int32(min(1000, limit-len(all)))
					res, err := c.audit.ListDeemedApprovals(ctx, req)
					if err != nil {
						return err
					}
					all = append(all, res.GetDeemedApprovals()...)
					if res.GetNextPageToken() == "" || len(all) >= limit {
						break
					}
					req.PageToken = res.GetNextPageToken()
				}
				switch e.output {
				case "json":
					return printJSON(e.stdout, &tacitv1.ListDeemedApprovalsResponse{DeemedApprovals: all})
				case "jsonl":
					return printJSONL(e.stdout, all)
				}
				header := []string{"CONSULTATION", "TITLE", "LEAD", "AGENCY", "EFFECTIVE (DEADLINE)", "RESPONSIBLE HEAD", "EXTENSION ASKED"}
				var rows [][]string
				for _, r := range all {
					rows = append(rows, []string{r.GetConsultationId(), r.GetTitle(), r.GetLead(), r.GetAgency(), fmtDeadline(r.GetEffectiveTime()), r.GetResponsibleHead(), yesNo(r.GetExtensionRequested())})
				}
				if e.output == "table" {
					fmt.Fprintf(e.stderr, "%d deemed approval(s).\n", len(rows))
				}
				return printRows(e, header, rows, map[int]int{1: 50})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&agency, "agency", "", "only this consulted agency")
	f.StringVar(&lead, "lead", "", "only consultations led by this agency")
	f.StringVar(&field, "field", "", "only matters in this field (or a related one)")
	f.StringVar(&since, "since", "", "effective at or after this RFC 3339 instant")
	f.StringVar(&until, "until", "", "effective before this RFC 3339 instant")
	f.IntVar(&limit, "limit", 10000, "at most this many rows")
	return cmd
}

// parsePercent reads "5%", "5" (percent) or "0.05" (fraction).
func parsePercent(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || v < 0 {
		return 0, usageError{fmt.Sprintf("--threshold %q: give a percentage such as 5%%", s)}
	}
	if pct || v >= 1 {
		v /= 100
	}
	if v >= 1 {
		return 0, usageError{fmt.Sprintf("--threshold %q must be below 100%%", s)}
	}
	return v, nil
}

func newAuditStatsCommand(e *env) *cobra.Command {
	var threshold, since, until, agency string
	cmd := &cobra.Command{
		Use:   "stats [--threshold 5%] [--since T] [--until T] [--agency C]",
		Short: "Each agency's record; the agencies over a silence threshold",
		Long: `Per agency over a period: requests received, replied on time, deemed
approvals (silence), silence rate (deemed / settled), extensions asked and
granted, pending now, median and 90th-percentile reply time in working days;
as lead: consultations opened, attempts refused for lack of mandate,
escalations to higher levels. --threshold lists only the agencies whose
silence rate exceeds it, worst first. Figures are kept per day (Vietnam time).`,
		Example: "  tacit --as auditor:auditor audit stats --threshold 5%\n  tacit --as auditor:auditor audit stats --since 2026-01-01T00:00:00+07:00 -o csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := e.checkOutput("table", "json", "csv", "jsonl"); err != nil {
				return err
			}
			th, err := parsePercent(threshold)
			if err != nil {
				return err
			}
			s, u, err := timeFlags(since, until)
			if err != nil {
				return err
			}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				res, err := c.audit.ListAgencyStats(ctx, &tacitv1.ListAgencyStatsRequest{Threshold: th, Since: s, Until: u, Agency: strings.TrimPrefix(agency, "agency:")})
				if err != nil {
					return err
				}
				switch e.output {
				case "json":
					return printJSON(e.stdout, res)
				case "jsonl":
					return printJSONL(e.stdout, res.GetStats())
				}
				header := []string{"AGENCY", "RECEIVED", "ON TIME", "DEEMED", "SILENCE", "EXT ASKED", "EXT GRANTED", "PENDING", "MEDIAN WD", "P90 WD", "OPENED", "REFUSED", "ESCALATED"}
				var rows [][]string
				for _, r := range res.GetStats() {
					rows = append(rows, []string{r.GetAgency(), i64(r.GetRequestsReceived()), i64(r.GetRepliedOnTime()), i64(r.GetDeemedApprovals()),
						fmt.Sprintf("%.1f%%", 100*r.GetSilenceRate()), i64(r.GetExtensionsRequested()), i64(r.GetExtensionsGranted()), i64(r.GetPending()),
						fmt.Sprintf("%g", r.GetMedianReplyWorkingDays()), fmt.Sprintf("%g", r.GetP90ReplyWorkingDays()),
						i64(r.GetConsultationsOpened()), i64(r.GetRejectedAttempts()), i64(r.GetEscalations())})
				}
				if th > 0 && e.output == "table" {
					fmt.Fprintf(e.stderr, "%d agency(ies) with a silence rate over %g%%.\n", len(rows), 100*th)
				}
				return printRows(e, header, rows, nil)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&threshold, "threshold", "", "list only agencies whose silence rate exceeds this, e.g. 5%")
	f.StringVar(&since, "since", "", "start of the period, RFC 3339")
	f.StringVar(&until, "until", "", "end of the period, RFC 3339")
	f.StringVar(&agency, "agency", "", "only this agency")
	return cmd
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func newAuditLogCommand(e *env) *cobra.Command {
	var consultationID, agency, typ, since, until string
	var limit int
	cmd := &cobra.Command{
		Use:   "log [--consultation ID] [--agency C] [--type T] [--since T] [--until T]",
		Short: "The audit trail: every change, its actor and time, hash-chained",
		Example: "  tacit --as auditor:auditor audit log --consultation 1\n" +
			"  tacit --as auditor:auditor audit log --type DEEMED_APPROVAL -o jsonl",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := e.checkOutput("table", "json", "jsonl", "csv"); err != nil {
				return err
			}
			s, u, err := timeFlags(since, until)
			if err != nil {
				return err
			}
			req := &tacitv1.ListEventsRequest{ConsultationId: consultationID, Agency: strings.TrimPrefix(agency, "agency:"), Type: typ, Since: s, Until: u}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				var all []*tacitv1.AuditEvent
				for {
					req.PageSize = int32(min(1000, limit-len(all)))
					res, err := c.audit.ListEvents(ctx, req)
					if err != nil {
						return err
					}
					all = append(all, res.GetEvents()...)
					if res.GetNextPageToken() == "" || len(all) >= limit {
						break
					}
					req.PageToken = res.GetNextPageToken()
				}
				switch e.output {
				case "json":
					return printJSON(e.stdout, &tacitv1.ListEventsResponse{Events: all})
				case "jsonl":
					return printJSONL(e.stdout, all)
				}
				header := []string{"SEQ", "TIME", "ACTOR", "TYPE", "CONSULTATION", "AGENCY", "DETAILS"}
				var rows [][]string
				for _, ev := range all {
					rows = append(rows, []string{strconv.FormatUint(ev.GetSequence(), 10), fmtTS(ev.GetEventTime()), ev.GetActor(), ev.GetType(), ev.GetConsultationId(), ev.GetAgency(), ev.GetDetails()})
				}
				return printRows(e, header, rows, map[int]int{6: 90})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&consultationID, "consultation", "", "only this consultation")
	f.StringVar(&agency, "agency", "", "only events concerning or done by this agency")
	f.StringVar(&typ, "type", "", "only this type, e.g. DEEMED_APPROVAL, REPLY, OPEN_REJECTED")
	f.StringVar(&since, "since", "", "at or after this RFC 3339 instant")
	f.StringVar(&until, "until", "", "before this RFC 3339 instant")
	f.IntVar(&limit, "limit", 10000, "at most this many entries")
	return cmd
}

func newAuditVerifyCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit trail's hash chain and report the first broken entry",
		Long: `Recompute every entry's SHA-256 and its link to the previous entry. Exit
status 0 when the trail is intact; 8 when it was altered, naming the first
broken entry.`,
		Example: "  tacit --as auditor:auditor audit verify",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := e.checkOutput("table", "json"); err != nil {
				return err
			}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				res, err := c.audit.VerifyAuditLog(ctx, &tacitv1.VerifyAuditLogRequest{})
				if err != nil {
					return err
				}
				if e.output == "json" {
					if err := printJSON(e.stdout, res); err != nil {
						return err
					}
				} else if res.GetIntact() {
					fmt.Fprintf(e.stdout, "Audit trail intact: %d entries checked; head hash %x.\n", res.GetEntriesChecked(), res.GetHeadHash())
				} else {
					fmt.Fprintf(e.stdout, "AUDIT TRAIL BROKEN at entry %d: %s (%d entries verified before it).\n", res.GetFirstBrokenSequence(), res.GetProblem(), res.GetEntriesChecked())
				}
				if !res.GetIntact() {
					return exitError{ExitTampered}
				}
				return nil
			})
		},
	}
}

// exitError ends the command with a code and no further message.
type exitError struct{ code int }

func (x exitError) Error() string { return "exit " + strconv.Itoa(x.code) }
