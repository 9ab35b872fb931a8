package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
)

// parseWithin reads `5wd` (working days) or a Go duration (`90s`, `36h`).
func parseWithin(s string) (wd int32, d time.Duration, err error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "wd"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v < 1 {
			return 0, 0, usageError{fmt.Sprintf("%q: working days are written as a positive number followed by wd, e.g. 5wd", s)}
		}
		return int32(v), 0, nil
	}
	d, err = time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, 0, usageError{fmt.Sprintf("%q is neither working days (5wd) nor a positive duration (90s, 36h)", s)}
	}
	return 0, d, nil
}

func parseTime(flag, s string) (*timestamppb.Timestamp, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, usageError{fmt.Sprintf("--%s %q is not an RFC 3339 instant such as 2026-12-01T17:00:00+07:00", flag, s)}
	}
	return timestamppb.New(t), nil
}

// splitList accepts repeated flags and comma-separated values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func newOpenCommand(e *env) *cobra.Command {
	var (
		title, legal, within, deadline, reason, summary, requestID string
		fields, to, options                                        []string
	)
	cmd := &cobra.Command{
		Use:   "open --title T --field F... --to CODE... --legal-basis TEXT [--within 5wd|36h] [--deadline RFC3339]",
		Short: "Open a consultation as the lead agency; prints its id",
		Long: `Open a consultation (lấy ý kiến) led by the agency you act as (--as).

Every addressee must hold a mandate over at least one of the matter's fields;
otherwise nothing is stored and the error names each agency that may not be
consulted and why. Consulting a body of a higher level needs --reason.

The deadline is counted in Vietnamese working days (--within 5wd: the end of
the 5th working day after today), or is a duration (--within 36h) or an
instant (--deadline). With neither, the server's default of 15 working days
applies. The id is printed on standard output; a summary on standard error.`,
		Example: `  tacit --as so-nnmt open --title "Dự thảo quy hoạch sử dụng đất 2026" \
    --field land.planning --to so-xay-dung --to so-tai-chinh \
    --legal-basis "Luật Đất đai 2024, Điều 72" --within 10wd`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := e.checkOutput("table", "json"); err != nil {
				return err
			}
			req := &tacitv1.OpenConsultationRequest{
				RequestId: requestID, Title: title, Summary: summary, LegalBasis: legal,
				Fields: splitList(fields), Addressees: splitList(to), EscalationReason: reason, Options: options,
			}
			if within != "" && deadline != "" {
				return usageError{"give --within or --deadline, not both"}
			}
			if within != "" {
				wd, d, err := parseWithin(within)
				if err != nil {
					return err
				}
				if wd > 0 {
					req.DeadlineSpec = &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: wd}
				} else {
					req.DeadlineSpec = &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(d)}
				}
			}
			if deadline != "" {
				t, err := parseTime("deadline", deadline)
				if err != nil {
					return err
				}
				req.DeadlineSpec = &tacitv1.OpenConsultationRequest_Deadline{Deadline: t}
			}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				res, err := c.consult.OpenConsultation(ctx, req)
				if err != nil {
					return err
				}
				if e.output == "json" {
					return printJSON(e.stdout, res)
				}
				k := res.GetConsultation()
				fmt.Fprintln(e.stdout, k.GetId())
				fmt.Fprintln(e.stderr, e.tf("Opened consultation %s %q; %d addressee(s), deadline %s.", k.GetId(), k.GetTitle(), len(k.GetAddressees()), fmtDeadline(k.GetDeadline())))
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&title, "title", "", "title of the draft, project or dossier (required)")
	f.StringSliceVar(&fields, "field", nil, "field code of the matter; repeat or separate with commas (required; see `tacit field list`)")
	f.StringSliceVar(&to, "to", nil, "agency code to consult; repeat or separate with commas (required)")
	f.StringVar(&legal, "legal-basis", "", "legal basis for the consultation (required)")
	f.StringVar(&within, "within", "", "deadline as working days (5wd) or a duration (36h)")
	f.StringVar(&deadline, "deadline", "", "deadline as an RFC 3339 instant")
	f.StringVar(&reason, "reason", "", "why a body of a higher level must be consulted")
	f.StringVar(&summary, "summary", "", "summary of what is asked")
	f.StringArrayVar(&options, "option", nil, "an option put forward; repeat for each")
	f.StringVar(&requestID, "request-id", "", "idempotency key: a retry with the same id returns the first result")
	return cmd
}

func newShowCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show a consultation in its effective state",
		Long:    "Show a consultation as it stands now: addressees whose deadline passed without a reply are shown as deemed to agree, dated at their deadline, even before the server has recorded it.",
		Example: "  tacit --as so-xay-dung show 1\n  tacit --as auditor:auditor show 1 -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput("table", "json"); err != nil {
				return err
			}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				res, err := c.consult.GetConsultation(ctx, &tacitv1.GetConsultationRequest{Id: args[0]})
				if err != nil {
					return err
				}
				if e.output == "json" {
					return printJSON(e.stdout, res)
				}
				return printConsultation(e, res.GetConsultation())
			})
		},
	}
}

func stateName(s tacitv1.ConsultationState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "CONSULTATION_STATE_"))
}

func addresseeStateName(s tacitv1.AddresseeState) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.String(), "ADDRESSEE_STATE_")), "_", "-")
}

func printConsultation(e *env, c *tacitv1.Consultation) error {
	w := e.stdout
	t := newTable(w)
	t.row(e.t("Consultation:"), c.GetId())
	t.row(e.t("Title:"), c.GetTitle())
	t.row(e.t("State:"), e.t(stateName(c.GetState())))
	t.row(e.t("Lead:"), c.GetLeadName()+" ("+c.GetLead()+")")
	t.row(e.t("Fields:"), strings.Join(c.GetFields(), ", "))
	t.row(e.t("Legal basis:"), c.GetLegalBasis())
	if c.GetSummary() != "" {
		t.row(e.t("Summary:"), c.GetSummary())
	}
	t.row(e.t("Opened:"), fmtTS(c.GetCreateTime())+" "+e.t("by")+" "+c.GetOpenedBy())
	rule := c.GetDeadlineRule()
	how := e.t("explicit instant")
	switch {
	case rule.GetWorkingDays() > 0:
		how = fmt.Sprintf("%d %s (%s)", rule.GetWorkingDays(), e.t("working days"), rule.GetCalendarVersion())
		if rule.GetServerDefault() {
			how += ", " + e.t("server default")
		}
	case rule.GetDuration() != nil:
		how = rule.GetDuration().AsDuration().String() + " " + e.t("after opening")
	}
	t.row(e.t("Deadline:"), fmtDeadline(c.GetDeadline())+" — "+how)
	if c.GetEscalationReason() != "" {
		t.row(e.t("Escalation reason:"), c.GetEscalationReason())
	}
	for i, o := range c.GetOptions() {
		t.row(e.tf("Option %d:", i+1), o)
	}
	if wd := c.GetWithdrawal(); wd != nil {
		t.row(e.t("Withdrawn:"), fmtTS(wd.GetWithdrawTime())+" by "+wd.GetWithdrawnBy()+": "+wd.GetReason())
	}
	if cc := c.GetConclusion(); cc != nil {
		t.row(e.t("Concluded:"), fmtTS(cc.GetConcludeTime())+" by "+cc.GetConcludedBy())
		t.row(e.t("Conclusion:"), cc.GetSummary())
		if cc.GetProposal() != "" {
			t.row(e.t("Lead's proposal:"), cc.GetProposal())
		}
		if cc.GetChosenOption() > 0 {
			t.row(e.t("Chosen option:"), strconv.Itoa(int(cc.GetChosenOption())))
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	at := newTable(w, e.t("AGENCY"), e.t("STATE"), e.t("DEADLINE"), e.t("POSITION"), e.t("SIGNED / RESPONSIBLE"), e.t("AT"))
	for _, a := range c.GetAddressees() {
		pos, who, at2 := "-", "-", "-"
		switch a.GetState() {
		case tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED:
			r := a.GetReply()
			pos = e.t(consultation.PositionName(r.GetPosition()))
			if r.GetRevision() > 1 {
				pos += fmt.Sprintf(" (rev %d)", r.GetRevision())
			}
			who = r.GetSigner().GetName() + " (" + e.t(consultation.RoleName(r.GetSigner().GetRole())) + ")"
			at2 = fmtTS(r.GetReplyTime())
		case tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED:
			d := a.GetDeemedApproval()
			pos = e.t("agree (deemed: silence)")
			who = d.GetResponsibleHead() + " (" + e.t("head") + ")"
			at2 = fmtTS(d.GetEffectiveTime())
		}
		name := a.GetAgency()
		if a.GetEscalated() {
			name += " ↑"
		}
		at.row(name, e.t(addresseeStateName(a.GetState())), fmtDeadline(a.GetDeadline()), pos, who, at2)
	}
	if err := at.flush(); err != nil {
		return err
	}
	for _, a := range c.GetAddressees() {
		if r := a.GetReply(); r != nil && r.GetComment() != "" {
			fmt.Fprintf(w, "\n%s — %s:\n  %s\n", a.GetAgency(), consultation.PositionName(r.GetPosition()), r.GetComment())
		}
		for _, x := range a.GetExtensions() {
			fmt.Fprintf(w, "\n%s asked for an extension to %s (%s): %s — %s\n", a.GetAgency(), fmtDeadline(x.GetRequestedDeadline()), fmtTS(x.GetRequestTime()), x.GetReason(),
				strings.ToLower(strings.TrimPrefix(x.GetState().String(), "EXTENSION_STATE_")))
		}
	}
	return nil
}

func newListCommand(e *env) *cobra.Command {
	var inbox, outbox bool
	var state string
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--inbox|--outbox] [--state open|concluded|withdrawn]",
		Short: "List consultations you may see, newest first",
		Long: `List consultations, newest first. An agency sees those it leads (--outbox)
and those addressed to it (--inbox), or both; auditors and the administrator
see all. Output: table, json, csv (UTF-8 with BOM) or jsonl.`,
		Example: "  tacit --as so-xay-dung list --inbox --state open\n  tacit --as auditor:auditor list -o csv > consultations.csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := e.checkOutput("table", "json", "csv", "jsonl"); err != nil {
				return err
			}
			req := &tacitv1.ListConsultationsRequest{}
			switch {
			case inbox && outbox:
				return usageError{"--inbox and --outbox exclude each other; give neither for both"}
			case inbox:
				req.Mailbox = tacitv1.Mailbox_MAILBOX_INBOX
			case outbox:
				req.Mailbox = tacitv1.Mailbox_MAILBOX_OUTBOX
			}
			if state != "" {
				v, ok := tacitv1.ConsultationState_value["CONSULTATION_STATE_"+strings.ToUpper(state)]
				if !ok || v == 0 {
					return usageError{fmt.Sprintf("--state %q: use open, concluded or withdrawn", state)}
				}
				req.State = tacitv1.ConsultationState(v)
			}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				var all []*tacitv1.Consultation
				for {
					req.PageSize = int32(min(500, limit-len(all)))
					res, err := c.consult.ListConsultations(ctx, req)
					if err != nil {
						return err
					}
					all = append(all, res.GetConsultations()...)
					if res.GetNextPageToken() == "" || len(all) >= limit {
						break
					}
					req.PageToken = res.GetNextPageToken()
				}
				return printConsultations(e, all)
			})
		},
	}
	cmd.Flags().BoolVar(&inbox, "inbox", false, "only consultations addressed to you")
	cmd.Flags().BoolVar(&outbox, "outbox", false, "only consultations you lead")
	cmd.Flags().StringVar(&state, "state", "", "only this state: open, concluded or withdrawn")
	cmd.Flags().IntVar(&limit, "limit", 1000, "at most this many rows")
	return cmd
}

func counts(c *tacitv1.Consultation) (pending, replied, deemed int) {
	for _, a := range c.GetAddressees() {
		switch a.GetState() {
		case tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING:
			pending++
		case tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED:
			replied++
		case tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED:
			deemed++
		}
	}
	return
}

func printConsultations(e *env, cs []*tacitv1.Consultation) error {
	switch e.output {
	case "json":
		return printJSON(e.stdout, &tacitv1.ListConsultationsResponse{Consultations: cs})
	case "jsonl":
		return printJSONL(e.stdout, cs)
	}
	header := []string{"ID", "STATE", "LEAD", "TITLE", "DEADLINE", "PENDING", "REPLIED", "DEEMED"}
	if e.output == "table" {
		for i, h := range header {
			header[i] = e.t(h)
		}
	}
	var rows [][]string
	for _, c := range cs {
		p, r, d := counts(c)
		state := stateName(c.GetState())
		if e.output == "table" {
			state = e.t(state)
		}
		rows = append(rows, []string{c.GetId(), state, c.GetLead(), c.GetTitle(), fmtDeadline(c.GetDeadline()), strconv.Itoa(p), strconv.Itoa(r), strconv.Itoa(d)})
	}
	if len(rows) == 0 && e.output == "table" {
		fmt.Fprintln(e.stderr, e.t("No consultations."))
	}
	return printRows(e, header, rows, map[int]int{3: 60})
}

// printResult prints a mutated consultation: json, or a one-line summary and
// the consultation.
func printResult(e *env, line string, res proto.Message, c *tacitv1.Consultation) error {
	if e.output == "json" {
		return printJSON(e.stdout, res)
	}
	fmt.Fprintln(e.stdout, line)
	return nil
}

func newReplyCommand(e *env) *cobra.Command {
	var position, comment, signer, role, requestID string
	cmd := &cobra.Command{
		Use:   "reply ID --position agree|agree-with-comments|disagree [--comment TEXT] --signer NAME --signer-role head|deputy",
		Short: "Reply to a consultation addressed to you (revise it before your deadline)",
		Long: `Reply, as the consulted agency you act as, strictly before your deadline.
A reply states a clear position; anything but a plain agreement carries its
reasons (--comment). It is signed by the head or a deputy head. Replying again
before the deadline records a revision; every revision is kept. From the
deadline on, the agency is deemed to agree and replies are refused.`,
		Example: `  tacit --as so-xay-dung reply 1 --position agree-with-comments \
    --comment "Đề nghị bổ sung chỉ tiêu đất giao thông" --signer "Trần Văn Bình" --signer-role deputy`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput("table", "json"); err != nil {
				return err
			}
			req := &tacitv1.ReplyRequest{RequestId: requestID, ConsultationId: args[0], Comment: comment, Signer: &tacitv1.Signer{Name: signer}}
			switch position {
			case "agree":
				req.Position = tacitv1.Position_POSITION_AGREE
			case "agree-with-comments":
				req.Position = tacitv1.Position_POSITION_AGREE_WITH_COMMENTS
			case "disagree":
				req.Position = tacitv1.Position_POSITION_DISAGREE
			case "":
			default:
				return usageError{fmt.Sprintf("--position %q: use agree, agree-with-comments or disagree", position)}
			}
			switch role {
			case "head":
				req.Signer.Role = tacitv1.SignerRole_SIGNER_ROLE_HEAD
			case "deputy":
				req.Signer.Role = tacitv1.SignerRole_SIGNER_ROLE_DEPUTY
			case "":
			default:
				return usageError{fmt.Sprintf("--signer-role %q: a reply is signed by the head or a deputy head: use head or deputy", role)}
			}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				res, err := c.consult.Reply(ctx, req)
				if err != nil {
					return err
				}
				k := res.GetConsultation()
				var rev int32
				var dl *timestamppb.Timestamp
				for _, a := range k.GetAddressees() {
					if a.GetReply().GetRepliedBy() == c.principal || (c.principal == "" && a.GetReply() != nil) {
						rev, dl = a.GetReply().GetRevision(), a.GetDeadline()
					}
				}
				return printResult(e, e.tf("Reply recorded on consultation %s (revision %d); it can be revised until %s.", k.GetId(), rev, fmtDeadline(dl)), res, k)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&position, "position", "", "agree, agree-with-comments or disagree (required)")
	f.StringVar(&comment, "comment", "", "comments or reasons (required unless agree)")
	f.StringVar(&signer, "signer", "", "full name of the signer (required)")
	f.StringVar(&role, "signer-role", "", "head or deputy (required)")
	f.StringVar(&requestID, "request-id", "", "idempotency key")
	return cmd
}

func newExtendCommand(e *env) *cobra.Command {
	var until, by, reason, requestID string
	cmd := &cobra.Command{
		Use:   "extend ID --until RFC3339|--by 3wd --reason TEXT",
		Short: "Ask the lead for more time, before your deadline",
		Long: `Ask the lead for an extension (đề xuất gia hạn), strictly before your
deadline. --by counts working days from your current deadline. The lead grants
or refuses; until then your deadline stands, and if it passes first you are
deemed to agree.`,
		Example: `  tacit --as so-tai-chinh extend 1 --by 3wd --reason "Cần lấy ý kiến Kho bạc"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput("table", "json"); err != nil {
				return err
			}
			req := &tacitv1.RequestExtensionRequest{RequestId: requestID, ConsultationId: args[0], Reason: reason}
			switch {
			case until != "" && by != "":
				return usageError{"give --until or --by, not both"}
			case until != "":
				t, err := parseTime("until", until)
				if err != nil {
					return err
				}
				req.UntilSpec = &tacitv1.RequestExtensionRequest_Until{Until: t}
			case by != "":
				wd, _, err := parseWithin(by)
				if err != nil || wd == 0 {
					return usageError{fmt.Sprintf("--by %q: give working days such as 3wd", by)}
				}
				req.UntilSpec = &tacitv1.RequestExtensionRequest_ByWorkingDays{ByWorkingDays: wd}
			default:
				return usageError{"say how much time you need: --until RFC3339 or --by 3wd"}
			}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				res, err := c.consult.RequestExtension(ctx, req)
				if err != nil {
					return err
				}
				return printResult(e, e.tf("Extension requested on consultation %s; the lead decides (tacit extension grant|refuse).", res.GetConsultation().GetId()), res, res.GetConsultation())
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&until, "until", "", "the deadline asked for, RFC 3339")
	f.StringVar(&by, "by", "", "working days to add to the current deadline, e.g. 3wd")
	f.StringVar(&reason, "reason", "", "why more time is needed (required)")
	f.StringVar(&requestID, "request-id", "", "idempotency key")
	return cmd
}

func newExtensionCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "extension", Short: "Grant or refuse an addressee's extension request (lead)"}
	for _, verb := range []string{"grant", "refuse"} {
		var agency, reason, requestID string
		sub := &cobra.Command{
			Use:     verb + " ID --agency CODE [--reason TEXT]",
			Short:   strings.ToUpper(verb[:1]) + verb[1:] + " an extension request, as the lead",
			Example: fmt.Sprintf("  tacit --as so-nnmt extension %s 1 --agency so-tai-chinh --reason \"...\"", verb),
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := e.checkOutput("table", "json"); err != nil {
					return err
				}
				if agency == "" {
					return usageError{"--agency CODE names the addressee whose request you decide"}
				}
				req := &tacitv1.DecideExtensionRequest{RequestId: requestID, ConsultationId: args[0], Agency: strings.TrimPrefix(agency, "agency:"), Reason: reason, Decision: tacitv1.ExtensionDecision_EXTENSION_DECISION_REFUSE}
				if cmd.Name() == "grant" {
					req.Decision = tacitv1.ExtensionDecision_EXTENSION_DECISION_GRANT
				}
				return e.call(cmd, func(ctx context.Context, c *client) error {
					res, err := c.consult.DecideExtension(ctx, req)
					if err != nil {
						return err
					}
					k := res.GetConsultation()
					line := e.tf("Extension for %s refused; its deadline stays.", req.GetAgency())
					if req.Decision == tacitv1.ExtensionDecision_EXTENSION_DECISION_GRANT {
						for _, a := range k.GetAddressees() {
							if a.GetAgency() == req.GetAgency() {
								line = e.tf("Extension for %s granted; its deadline is now %s.", req.GetAgency(), fmtDeadline(a.GetDeadline()))
							}
						}
					}
					return printResult(e, line, res, k)
				})
			},
		}
		sub.Flags().StringVar(&agency, "agency", "", "the addressee whose request you decide (required)")
		sub.Flags().StringVar(&reason, "reason", "", "reason for the decision")
		sub.Flags().StringVar(&requestID, "request-id", "", "idempotency key")
		cmd.AddCommand(sub)
	}
	return cmd
}

func newWithdrawCommand(e *env) *cobra.Command {
	var reason, requestID string
	cmd := &cobra.Command{
		Use:     "withdraw ID --reason TEXT",
		Short:   "Withdraw an open consultation, as its lead",
		Example: `  tacit --as so-nnmt withdraw 1 --reason "Hồ sơ được thay thế"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput("table", "json"); err != nil {
				return err
			}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				res, err := c.consult.WithdrawConsultation(ctx, &tacitv1.WithdrawConsultationRequest{RequestId: requestID, ConsultationId: args[0], Reason: reason})
				if err != nil {
					return err
				}
				return printResult(e, e.tf("Consultation %s withdrawn.", res.GetConsultation().GetId()), res, res.GetConsultation())
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why it is withdrawn (required)")
	cmd.Flags().StringVar(&requestID, "request-id", "", "idempotency key")
	return cmd
}

func newConcludeCommand(e *env) *cobra.Command {
	var summary, proposal, requestID string
	var chosen int32
	cmd := &cobra.Command{
		Use:   "conclude ID --summary TEXT [--proposal TEXT] [--chosen-option N]",
		Short: "Conclude a consultation once no reply is pending, as its lead",
		Long: `Conclude a consultation. Every addressee must have replied or be deemed to
agree. When any addressee disagreed, the lead states its own clear proposal
(--proposal) and, where it put forward two or more options, the option it
chose (--chosen-option, counted from 1).`,
		Example: `  tacit --as so-nnmt conclude 1 --summary "Các sở thống nhất" \
    --proposal "Trình UBND tỉnh phương án 2" --chosen-option 2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput("table", "json"); err != nil {
				return err
			}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				res, err := c.consult.ConcludeConsultation(ctx, &tacitv1.ConcludeConsultationRequest{RequestId: requestID, ConsultationId: args[0], Summary: summary, Proposal: proposal, ChosenOption: chosen})
				if err != nil {
					return err
				}
				return printResult(e, e.tf("Consultation %s concluded.", res.GetConsultation().GetId()), res, res.GetConsultation())
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&summary, "summary", "", "the outcome (required)")
	f.StringVar(&proposal, "proposal", "", "the lead's own proposal (required when any addressee disagreed)")
	f.Int32Var(&chosen, "chosen-option", 0, "the option chosen, counted from 1")
	f.StringVar(&requestID, "request-id", "", "idempotency key")
	return cmd
}
