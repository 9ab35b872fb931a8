// Package consultation holds the rules of inter-agency consultation as pure
// functions of (state, request, now): opening with mandate and escalation
// checks, replies and revisions, extensions, withdrawal, conclusion, and the
// rule that silence past the deadline is agreement. No I/O: callers load and
// store records and pass the clock's time in.
package consultation

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/registry"
)

// SilenceRule is cited on every deemed approval.
const SilenceRule = "Quá thời hạn mà chưa trả lời được coi là đồng ý (Công điện 280/CĐ-TTg, 968/CĐ-TTg)"

// Limits on request content.
const (
	MaxTitle      = 500
	MaxText       = 10000 // summary, comment, proposal, conclusion summary
	MaxReason     = 2000  // legal basis, reasons
	MaxName       = 300   // signer name
	MaxFields     = 50
	MaxAddressees = 200
	MaxOptions    = 20
	MaxWorkingDay = 365
	MaxHorizon    = 2 * 366 * 24 * time.Hour
	MaxRequestID  = 128
)

// Config holds the server's settings the rules depend on.
type Config struct {
	Calendar           calendar.Calendar
	MinNotice          time.Duration // shortest deadline accepted
	DefaultWorkingDays int           // applied when no deadline is given
	Reminder           Reminder      // when to remind before a deadline
}

// DefaultConfig is the contract's default: 15 working days, 1h notice.
func DefaultConfig() Config {
	return Config{Calendar: calendar.Vietnam(), MinNotice: time.Hour, DefaultWorkingDays: 15, Reminder: DefaultReminder}
}

// Event is something the rules decided happened; callers append it to the
// audit trail (and later to inboxes).
type Event struct {
	Type    string
	Agency  string // agency concerned, when one
	Actor   string // principal, or "system"
	Rule    string // for automatic decisions
	Details string
	Time    time.Time
	// Deadline is the deadline concerned, when one (reminders, deemed
	// approvals, recomputed deadlines).
	Deadline time.Time
}

// Event types.
const (
	EventOpened            = "CONSULTATION_OPENED"
	EventReplied           = "REPLY"
	EventRevised           = "REPLY_REVISED"
	EventExtensionAsked    = "EXTENSION_REQUESTED"
	EventExtensionGranted  = "EXTENSION_GRANTED"
	EventExtensionRefused  = "EXTENSION_REFUSED"
	EventDeemedApproval    = "DEEMED_APPROVAL"
	EventWithdrawn         = "CONSULTATION_WITHDRAWN"
	EventConcluded         = "CONSULTATION_CONCLUDED"
	EventOpenRejected      = "OPEN_REJECTED"
	SystemActor            = "system"
	reasonDeadlinePassed   = "DEADLINE_PASSED"
	reasonNotOpen          = "CONSULTATION_NOT_OPEN"
	reasonInvalid          = "INVALID_REQUEST"
	reasonMandate          = "ADDRESSEE_NOT_ELIGIBLE"
	reasonRepliesPending   = "REPLIES_PENDING"
	reasonProposalRequired = "PROPOSAL_REQUIRED"
)

// HeadAt tells who headed an agency at an instant.
type HeadAt func(agency string, t time.Time) string

// clean normalises user text to NFC with surrounding space trimmed.
func clean(s string) string { return norm.NFC.String(strings.TrimSpace(s)) }

// checkText records a violation when s is invalid UTF-8, holds control
// characters other than newlines, carriage returns and tabs, or exceeds max runes. It returns
// the cleaned text.
func checkText(vs *fault.Violations, field, s string, max int, required bool, what string) string {
	if !utf8.ValidString(s) {
		vs.Add(field, "INVALID_UTF8", "%s is not valid UTF-8: send text encoded as UTF-8", what)
		return ""
	}
	s = clean(s)
	if required && s == "" {
		vs.Add(field, "REQUIRED", "%s is required", what)
		return s
	}
	if n := utf8.RuneCountInString(s); n > max {
		vs.Add(field, "TOO_LONG", "%s has %d characters; the limit is %d", what, n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			vs.Add(field, "CONTROL_CHARACTER", "%s contains the control character %U: remove it", what, r)
			break
		}
	}
	return s
}

// CheckRequestID validates an idempotency key.
func CheckRequestID(id string) error {
	var vs fault.Violations
	if len(id) > MaxRequestID {
		vs.Add("request_id", "TOO_LONG", "request_id has %d bytes; the limit is %d", len(id), MaxRequestID)
	} else if id != "" {
		checkText(&vs, "request_id", id, MaxRequestID, false, "request_id")
	}
	return vs.Err(fault.Invalid, reasonInvalid, "the request_id is invalid: use a short unique string such as a UUID")
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func fmtTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04:05 -07:00")
}

// Open validates a request to open a consultation led by lead at now and
// builds the record (without id). Malformed input is Invalid with one
// violation per problem; addressees that may not be consulted make it a
// FailedPrecondition naming each one with its mandate and the matter's
// fields.
func Open(cfg Config, reg *registry.Registry, lead, principal string, req *tacitv1.OpenConsultationRequest, now time.Time) (*tacitv1.Consultation, error) {
	var vs fault.Violations
	title := checkText(&vs, "title", req.GetTitle(), MaxTitle, true, "title")
	summary := checkText(&vs, "summary", req.GetSummary(), MaxText, false, "summary")
	basis := checkText(&vs, "legal_basis", req.GetLegalBasis(), MaxReason, true, "legal_basis (căn cứ pháp lý)")
	escalation := checkText(&vs, "escalation_reason", req.GetEscalationReason(), MaxReason, false, "escalation_reason")

	var fields []string
	switch n := len(req.GetFields()); {
	case n == 0:
		vs.Add("fields", "REQUIRED", "at least one field of the matter is required: see `tacit field list`")
	case n > MaxFields:
		vs.Add("fields", "TOO_MANY", "%d fields given; the limit is %d", n, MaxFields)
	default:
		seen := map[string]bool{}
		for i, f := range req.GetFields() {
			f = strings.TrimSpace(f)
			path := fmt.Sprintf("fields[%d]", i)
			if _, ok := reg.Field(f); !ok {
				vs.Add(path, "UNKNOWN_FIELD", "field %q is not in the taxonomy: see `tacit field list`", f)
				continue
			}
			if !seen[f] {
				seen[f] = true
				fields = append(fields, f)
			}
		}
	}

	var addrs []string
	switch n := len(req.GetAddressees()); {
	case n == 0:
		vs.Add("addressees", "REQUIRED", "at least one agency to consult is required")
	case n > MaxAddressees:
		vs.Add("addressees", "TOO_MANY", "%d addressees given; the limit is %d", n, MaxAddressees)
	default:
		seen := map[string]bool{}
		for i, a := range req.GetAddressees() {
			a = strings.TrimPrefix(strings.TrimSpace(a), "agency:")
			path := fmt.Sprintf("addressees[%d]", i)
			switch {
			case !registry.ValidAgencyCode(a):
				vs.Add(path, "INVALID_CODE", "addressee %q is not an agency code: codes are lowercase letters, digits, '-' or '_' (see `tacit agency list`)", a)
			case a == lead:
				vs.Add(path, "SELF_ADDRESSED", "agency %q leads this consultation and cannot consult itself", a)
			case seen[a]:
				vs.Add(path, "DUPLICATE", "agency %q is listed twice", a)
			default:
				seen[a] = true
				addrs = append(addrs, a)
			}
		}
	}

	var options []string
	if len(req.GetOptions()) > MaxOptions {
		vs.Add("options", "TOO_MANY", "%d options given; the limit is %d", len(req.GetOptions()), MaxOptions)
	}
	for i, o := range req.GetOptions() {
		options = append(options, checkText(&vs, fmt.Sprintf("options[%d]", i), o, MaxReason, true, fmt.Sprintf("option %d", i+1)))
	}

	deadline, rule := openDeadline(&vs, cfg, req, now)

	if err := vs.Err(fault.Invalid, reasonInvalid, "the consultation was not opened and nothing was stored: correct the listed fields and send it again"); err != nil {
		return nil, err
	}

	leadAgency, ok := reg.Agency(lead)
	if !ok || !leadAgency.GetActive() {
		return nil, fault.New(fault.FailedPrecondition, "LEAD_NOT_ACTIVE", "agency %q is not an active agency of the registry and cannot lead a consultation: ask the administrator to import or reactivate it", lead)
	}

	// Mandate and escalation: every addressee must be eligible.
	var pre fault.Violations
	c := &tacitv1.Consultation{
		Title: title, Summary: summary, LegalBasis: basis, Fields: fields,
		Lead: lead, LeadName: leadAgency.GetName(),
		State:      tacitv1.ConsultationState_CONSULTATION_STATE_OPEN,
		CreateTime: ts(now), UpdateTime: ts(now),
		Deadline: ts(deadline), DeadlineRule: rule,
		EscalationReason: escalation, Options: options, OpenedBy: principal,
	}
	matter := strings.Join(fields, ", ")
	for _, code := range addrs {
		a, ok := reg.Agency(code)
		switch {
		case !ok:
			pre.Add(code, "UNKNOWN_AGENCY", "%q is not an agency of the registry: check the code with `tacit agency list`", code)
			continue
		case !a.GetActive():
			pre.Add(code, "INACTIVE_AGENCY", "%s (%s) is deactivated in the registry and cannot be consulted", a.GetName(), code)
			continue
		case !Covers(a.GetMandate(), fields):
			pre.Add(code, "OUTSIDE_MANDATE", "%s (%s) has no mandate over the matter: its mandate is [%s], the matter's fields are [%s]; consult only agencies whose functions cover the matter",
				a.GetName(), code, strings.Join(a.GetMandate(), ", "), matter)
			continue
		}
		escalated := registry.Rank(a.GetLevel()) > registry.Rank(leadAgency.GetLevel())
		if escalated && escalation == "" {
			pre.Add(code, "ESCALATION_WITHOUT_REASON", "%s (%s) is of a higher level (%s) than the lead (%s): state why it must be consulted with escalation_reason (--reason)",
				a.GetName(), code, registry.LevelName(a.GetLevel()), registry.LevelName(leadAgency.GetLevel()))
			continue
		}
		ad := &tacitv1.Addressee{
			Agency: code, AgencyName: a.GetName(), Level: a.GetLevel(), Escalated: escalated,
			State: tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING, Deadline: ts(deadline),
		}
		scheduleReminder(cfg, ad, now)
		c.Addressees = append(c.Addressees, ad)
	}
	if err := pre.Err(fault.FailedPrecondition, reasonMandate, "the consultation was not opened and nothing was stored: the listed addressees may not be consulted on this matter"); err != nil {
		return nil, err
	}
	return c, nil
}

// Covers reports whether a mandate covers at least one of the fields: the
// rule an addressee must satisfy to be consulted.
func Covers(mandate, fields []string) bool {
	for _, m := range mandate {
		for _, f := range fields {
			if registry.Related(m, f) {
				return true
			}
		}
	}
	return false
}

func openDeadline(vs *fault.Violations, cfg Config, req *tacitv1.OpenConsultationRequest, now time.Time) (time.Time, *tacitv1.DeadlineRule) {
	rule := &tacitv1.DeadlineRule{From: ts(now)}
	var deadline time.Time
	var field string
	switch spec := req.GetDeadlineSpec().(type) {
	case *tacitv1.OpenConsultationRequest_WithinWorkingDays:
		field = "within_working_days"
		n := spec.WithinWorkingDays
		if n < 1 || n > MaxWorkingDay {
			vs.Add(field, "OUT_OF_RANGE", "within_working_days must be between 1 and %d, got %d", MaxWorkingDay, n)
			return time.Time{}, rule
		}
		deadline = cfg.Calendar.Deadline(now, int(n))
		rule.WorkingDays, rule.CalendarVersion = n, cfg.Calendar.Version()
	case *tacitv1.OpenConsultationRequest_Within:
		field = "within"
		if err := spec.Within.CheckValid(); err != nil {
			vs.Add(field, "INVALID_DURATION", "within is not a valid duration: %v", err)
			return time.Time{}, rule
		}
		d := spec.Within.AsDuration()
		if d <= 0 || d > MaxHorizon {
			vs.Add(field, "OUT_OF_RANGE", "within must be positive and at most %s, got %s", MaxHorizon, d)
			return time.Time{}, rule
		}
		deadline = now.Add(d)
		rule.Duration = durationpb.New(d)
	case *tacitv1.OpenConsultationRequest_Deadline:
		field = "deadline"
		if err := spec.Deadline.CheckValid(); err != nil {
			vs.Add(field, "INVALID_TIME", "deadline is not a valid instant: %v", err)
			return time.Time{}, rule
		}
		deadline = spec.Deadline.AsTime()
		rule.Explicit = true
		if deadline.Sub(now) > MaxHorizon {
			vs.Add(field, "OUT_OF_RANGE", "deadline %s is more than %s away", fmtTime(deadline, cfg.Calendar.Location()), MaxHorizon)
		}
	default:
		field = "within_working_days"
		deadline = cfg.Calendar.Deadline(now, cfg.DefaultWorkingDays)
		rule.WorkingDays, rule.CalendarVersion, rule.ServerDefault = int32(cfg.DefaultWorkingDays), cfg.Calendar.Version(), true
	}
	loc := cfg.Calendar.Location()
	switch {
	case !deadline.After(now):
		vs.Add(field, "DEADLINE_IN_PAST", "the deadline %s is not in the future (now is %s): give a later deadline", fmtTime(deadline, loc), fmtTime(now, loc))
	case deadline.Sub(now) < cfg.MinNotice:
		vs.Add(field, "UNDER_MIN_NOTICE", "the deadline %s is only %s away; this server requires at least %s of notice: give a later deadline",
			fmtTime(deadline, loc), deadline.Sub(now).Round(time.Second), cfg.MinNotice)
	}
	return deadline, rule
}

// Addressee returns the addressee entry for an agency, or nil.
func Addressee(c *tacitv1.Consultation, agency string) *tacitv1.Addressee {
	for _, a := range c.GetAddressees() {
		if a.GetAgency() == agency {
			return a
		}
	}
	return nil
}

// Materialize applies the silence rule at now: every pending addressee of an
// open consultation whose deadline is at or before now becomes
// DEEMED_APPROVED, dated at its deadline, with the head of the agency at that
// moment as the person responsible. An extension request still undecided
// lapses. It modifies c and returns one event per deemed approval.
// recorded says whether the caller is about to persist the change.
func Materialize(c *tacitv1.Consultation, now time.Time, headAt HeadAt, recorded bool) []Event {
	if c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
		return nil
	}
	var evs []Event
	for _, a := range c.GetAddressees() {
		if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
			continue
		}
		dl := a.GetDeadline().AsTime()
		if dl.After(now) {
			continue
		}
		head := headAt(a.GetAgency(), dl)
		a.State = tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED
		a.DeemedApproval = &tacitv1.DeemedApproval{EffectiveTime: ts(dl), ResponsibleHead: head, Rule: SilenceRule, Recorded: recorded}
		for _, x := range a.GetExtensions() {
			if x.GetState() == tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED {
				x.State = tacitv1.ExtensionState_EXTENSION_STATE_LAPSED
			}
		}
		evs = append(evs, Event{
			Type: EventDeemedApproval, Agency: a.GetAgency(), Actor: SystemActor, Rule: SilenceRule, Time: dl, Deadline: dl,
			Details: fmt.Sprintf("%s did not reply by its deadline %s and is deemed to agree; responsible head: %s", a.GetAgency(), dl.UTC().Format(time.RFC3339), head),
		})
	}
	return evs
}

// Effective returns a copy of c as it stands at now: deemed approvals that
// time has decided are shown even if nothing has been written yet.
func Effective(c *tacitv1.Consultation, now time.Time, headAt HeadAt) *tacitv1.Consultation {
	out := proto.Clone(c).(*tacitv1.Consultation)
	Materialize(out, now, headAt, false)
	return out
}

// Due reports whether the silence rule has something to decide on c at
// now: an addressee of an open consultation still pending at or after its
// deadline.
func Due(c *tacitv1.Consultation, now time.Time) bool {
	d, ok := NextDeadline(c)
	return ok && !d.After(now)
}

// NextDeadline returns the earliest deadline among the pending addressees of
// an open consultation.
func NextDeadline(c *tacitv1.Consultation) (time.Time, bool) {
	var best time.Time
	found := false
	if c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
		return best, false
	}
	for _, a := range c.GetAddressees() {
		if a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
			if d := a.GetDeadline().AsTime(); !found || d.Before(best) {
				best, found = d, true
			}
		}
	}
	return best, found
}

func requireOpen(c *tacitv1.Consultation, action string) error {
	switch c.GetState() {
	case tacitv1.ConsultationState_CONSULTATION_STATE_OPEN:
		return nil
	case tacitv1.ConsultationState_CONSULTATION_STATE_WITHDRAWN:
		return fault.New(fault.FailedPrecondition, reasonNotOpen, "consultation %s was withdrawn by its lead on %s and accepts no %s", c.GetId(), c.GetWithdrawal().GetWithdrawTime().AsTime().UTC().Format(time.RFC3339), action)
	case tacitv1.ConsultationState_CONSULTATION_STATE_CONCLUDED:
		return fault.New(fault.FailedPrecondition, reasonNotOpen, "consultation %s was concluded on %s and accepts no %s", c.GetId(), c.GetConclusion().GetConcludeTime().AsTime().UTC().Format(time.RFC3339), action)
	}
	return fault.New(fault.Internal, "BAD_STATE", "consultation %s is in an unknown state", c.GetId())
}

// deadlinePassed explains a refusal at or after an addressee's deadline.
func deadlinePassed(c *tacitv1.Consultation, a *tacitv1.Addressee, action string, loc *time.Location) error {
	dl := a.GetDeadline().AsTime()
	if a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED {
		return fault.New(fault.FailedPrecondition, reasonDeadlinePassed,
			"%s refused: the deadline of %s on consultation %s passed at %s; its reply (revision %d) stands and can no longer be changed",
			action, a.GetAgency(), c.GetId(), fmtTime(dl, loc), a.GetReply().GetRevision())
	}
	return fault.New(fault.FailedPrecondition, reasonDeadlinePassed,
		"%s refused: the deadline of %s on consultation %s passed at %s without a reply, so the agency is deemed to agree (responsible: its head)",
		action, a.GetAgency(), c.GetId(), fmtTime(dl, loc))
}

// ReplyInput is a reply after transport decoding.
type ReplyInput struct {
	Position   tacitv1.Position
	Comment    string
	SignerName string
	SignerRole tacitv1.SignerRole
}

// Reply records agency's reply (or a revision) at now. c must already be
// materialized at now.
func Reply(cfg Config, c *tacitv1.Consultation, agency, principal string, in ReplyInput, now time.Time) ([]Event, error) {
	var vs fault.Violations
	switch in.Position {
	case tacitv1.Position_POSITION_AGREE, tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, tacitv1.Position_POSITION_DISAGREE:
	default:
		vs.Add("position", "REQUIRED", "position is required: agree, agree-with-comments or disagree")
	}
	comment := checkText(&vs, "comment", in.Comment, MaxText, in.Position == tacitv1.Position_POSITION_AGREE_WITH_COMMENTS || in.Position == tacitv1.Position_POSITION_DISAGREE,
		"comment (the comments or reasons behind a position other than plain agreement)")
	name := checkText(&vs, "signer.name", in.SignerName, MaxName, true, "signer.name (the head or deputy head who signs)")
	switch in.SignerRole {
	case tacitv1.SignerRole_SIGNER_ROLE_HEAD, tacitv1.SignerRole_SIGNER_ROLE_DEPUTY:
	default:
		vs.Add("signer.role", "REQUIRED", "signer.role must be head or deputy: a reply is signed by the head of the agency or a deputy head")
	}
	if err := vs.Err(fault.Invalid, reasonInvalid, "the reply was not recorded: correct the listed fields and send it again"); err != nil {
		return nil, err
	}
	if err := requireOpen(c, "reply"); err != nil {
		return nil, err
	}
	a := Addressee(c, agency)
	if a == nil {
		return nil, notAddressed(c, agency)
	}
	if !now.Before(a.GetDeadline().AsTime()) {
		return nil, deadlinePassed(c, a, "reply", cfg.Calendar.Location())
	}
	r := &tacitv1.Reply{
		Revision: int32(len(a.GetRevisions()) + 1), Position: in.Position, Comment: comment,
		Signer: &tacitv1.Signer{Name: name, Role: in.SignerRole}, ReplyTime: ts(now), RepliedBy: principal,
		WorkingDaysTaken: int32(WorkingDaysBetween(cfg.Calendar, c.GetCreateTime().AsTime(), now)),
	}
	a.Revisions = append(a.Revisions, r)
	a.Reply = r
	for _, x := range a.GetExtensions() {
		if x.GetState() == tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED {
			x.State = tacitv1.ExtensionState_EXTENSION_STATE_WITHDRAWN // the reply made it moot
		}
	}
	a.State = tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED
	c.UpdateTime = ts(now)
	typ := EventReplied
	if r.Revision > 1 {
		typ = EventRevised
	}
	return []Event{{Type: typ, Agency: agency, Actor: principal, Time: now,
		Details: fmt.Sprintf("%s replied %s (revision %d), signed by %s (%s)", agency, PositionName(in.Position), r.Revision, name, RoleName(in.SignerRole))}}, nil
}

func notAddressed(c *tacitv1.Consultation, agency string) error {
	return fault.New(fault.PermissionDenied, "NOT_ADDRESSED", "consultation %s is not addressed to %s: only a consulted agency can do this, for itself", c.GetId(), agency)
}

// ExtensionInput is an extension request after transport decoding.
type ExtensionInput struct {
	Until         time.Time // explicit instant, or zero
	ByWorkingDays int32     // working days added to the current deadline, or 0
	Reason        string
}

// RequestExtension records agency's request for more time, strictly before
// its deadline. c must already be materialized at now.
func RequestExtension(cfg Config, c *tacitv1.Consultation, agency, principal string, in ExtensionInput, now time.Time) ([]Event, error) {
	var vs fault.Violations
	reason := checkText(&vs, "reason", in.Reason, MaxReason, true, "reason (why more time is needed)")
	if in.Until.IsZero() == (in.ByWorkingDays == 0) {
		vs.Add("until", "REQUIRED", "give exactly one of until (an instant) or by_working_days")
	}
	if in.ByWorkingDays < 0 || in.ByWorkingDays > MaxWorkingDay {
		vs.Add("by_working_days", "OUT_OF_RANGE", "by_working_days must be between 1 and %d", MaxWorkingDay)
	}
	if err := vs.Err(fault.Invalid, reasonInvalid, "the extension request was not recorded: correct the listed fields and send it again"); err != nil {
		return nil, err
	}
	if err := requireOpen(c, "extension request"); err != nil {
		return nil, err
	}
	a := Addressee(c, agency)
	if a == nil {
		return nil, notAddressed(c, agency)
	}
	cur := a.GetDeadline().AsTime()
	if !now.Before(cur) {
		return nil, deadlinePassed(c, a, "extension request", cfg.Calendar.Location())
	}
	if a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED {
		return nil, fault.New(fault.FailedPrecondition, "ALREADY_REPLIED", "%s already replied to consultation %s; an extension is only for agencies that cannot answer in time", agency, c.GetId())
	}
	for _, x := range a.GetExtensions() {
		if x.GetState() == tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED {
			return nil, fault.New(fault.FailedPrecondition, "EXTENSION_PENDING", "%s already has an extension request awaiting the lead's decision (asked %s)", agency, x.GetRequestTime().AsTime().UTC().Format(time.RFC3339))
		}
	}
	rule := &tacitv1.DeadlineRule{From: ts(cur)}
	until := in.Until
	if in.ByWorkingDays > 0 {
		// A working-day deadline is stored as 24:00 of its last day, i.e.
		// 00:00 of the next; counting starts after the day that holds the
		// deadline's last instant.
		until = cfg.Calendar.Deadline(cur.Add(-time.Nanosecond), int(in.ByWorkingDays))
		rule.WorkingDays, rule.CalendarVersion = in.ByWorkingDays, cfg.Calendar.Version()
	} else {
		rule.Explicit = true
	}
	loc := cfg.Calendar.Location()
	if !until.After(cur) {
		return nil, fault.New(fault.Invalid, reasonInvalid, "the extension asks for %s, which is not after the current deadline %s: ask for a later instant", fmtTime(until, loc), fmtTime(cur, loc))
	}
	if until.Sub(now) > MaxHorizon {
		return nil, fault.New(fault.Invalid, reasonInvalid, "the extension asks for %s, more than %s away", fmtTime(until, loc), MaxHorizon)
	}
	a.Extensions = append(a.Extensions, &tacitv1.Extension{
		Reason: reason, RequestedDeadline: ts(until), RequestedRule: rule,
		State: tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED, RequestTime: ts(now), PreviousDeadline: ts(cur),
	})
	c.UpdateTime = ts(now)
	return []Event{{Type: EventExtensionAsked, Agency: agency, Actor: principal, Time: now,
		Details: fmt.Sprintf("%s asked to move its deadline from %s to %s: %s", agency, fmtTime(cur, loc), fmtTime(until, loc), reason)}}, nil
}

// DecideExtension records the lead's decision on agency's pending request.
// c must already be materialized at now.
func DecideExtension(cfg Config, c *tacitv1.Consultation, agency, principal string, grant bool, reason string, now time.Time) ([]Event, error) {
	var vs fault.Violations
	reason = checkText(&vs, "reason", reason, MaxReason, false, "reason")
	if err := vs.Err(fault.Invalid, reasonInvalid, "the decision was not recorded: correct the listed fields"); err != nil {
		return nil, err
	}
	if err := requireOpen(c, "extension decision"); err != nil {
		return nil, err
	}
	a := Addressee(c, agency)
	if a == nil {
		return nil, (fault.Violations{{Type: "NOT_ADDRESSEE", Subject: "agency", Description: fmt.Sprintf("%q is not an addressee of consultation %s", agency, c.GetId())}}).
			Err(fault.Invalid, reasonInvalid, "no such addressee: name an agency the consultation is addressed to")
	}
	var x *tacitv1.Extension
	for _, e := range a.GetExtensions() {
		if e.GetState() == tacitv1.ExtensionState_EXTENSION_STATE_REQUESTED {
			x = e
		}
	}
	loc := cfg.Calendar.Location()
	if a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
		return nil, fault.New(fault.FailedPrecondition, reasonDeadlinePassed, "the deadline of %s passed at %s before any decision: the agency is deemed to agree and deadlines already passed never move", agency, fmtTime(a.GetDeadline().AsTime(), loc))
	}
	if !now.Before(a.GetDeadline().AsTime()) {
		return nil, fault.New(fault.FailedPrecondition, reasonDeadlinePassed, "the deadline of %s passed at %s: deadlines already passed never move", agency, fmtTime(a.GetDeadline().AsTime(), loc))
	}
	if x == nil {
		return nil, fault.New(fault.FailedPrecondition, "NO_EXTENSION_REQUEST", "%s has no extension request awaiting a decision on consultation %s", agency, c.GetId())
	}
	x.DecisionReason, x.DecideTime = reason, ts(now)
	c.UpdateTime = ts(now)
	if !grant {
		x.State = tacitv1.ExtensionState_EXTENSION_STATE_REFUSED
		return []Event{{Type: EventExtensionRefused, Agency: agency, Actor: principal, Time: now,
			Details: fmt.Sprintf("extension for %s refused; deadline stays %s", agency, fmtTime(a.GetDeadline().AsTime(), loc))}}, nil
	}
	x.State = tacitv1.ExtensionState_EXTENSION_STATE_GRANTED
	prev := a.GetDeadline().AsTime()
	a.Deadline = x.GetRequestedDeadline()
	scheduleReminder(cfg, a, now)
	return []Event{{Type: EventExtensionGranted, Agency: agency, Actor: principal, Time: now,
		Details: fmt.Sprintf("extension for %s granted: deadline moved from %s to %s", agency, fmtTime(prev, loc), fmtTime(a.GetDeadline().AsTime(), loc))}}, nil
}

// Withdraw ends an open consultation. c must already be materialized at now.
func Withdraw(c *tacitv1.Consultation, principal, reason string, now time.Time) ([]Event, error) {
	var vs fault.Violations
	reason = checkText(&vs, "reason", reason, MaxReason, true, "reason (why the consultation is withdrawn)")
	if err := vs.Err(fault.Invalid, reasonInvalid, "the consultation was not withdrawn: give a reason"); err != nil {
		return nil, err
	}
	if err := requireOpen(c, "withdrawal"); err != nil {
		return nil, err
	}
	c.State = tacitv1.ConsultationState_CONSULTATION_STATE_WITHDRAWN
	c.Withdrawal = &tacitv1.Withdrawal{Reason: reason, WithdrawTime: ts(now), WithdrawnBy: principal}
	c.UpdateTime = ts(now)
	return []Event{{Type: EventWithdrawn, Actor: principal, Time: now, Details: "withdrawn: " + reason}}, nil
}

// ConcludeInput is a conclusion after transport decoding.
type ConcludeInput struct {
	Summary      string
	Proposal     string
	ChosenOption int32
}

// Conclude closes a consultation once no reply is pending. When any
// addressee disagreed, the lead's own proposal (and, where options were put
// forward, the chosen option) is required. c must already be materialized
// at now.
func Conclude(cfg Config, c *tacitv1.Consultation, principal string, in ConcludeInput, now time.Time) ([]Event, error) {
	var vs fault.Violations
	summary := checkText(&vs, "summary", in.Summary, MaxText, true, "summary (the outcome of the consultation)")
	proposal := checkText(&vs, "proposal", in.Proposal, MaxText, false, "proposal")
	if in.ChosenOption < 0 || (in.ChosenOption > 0 && int(in.ChosenOption) > len(c.GetOptions())) {
		vs.Add("chosen_option", "OUT_OF_RANGE", "chosen_option %d does not name one of the %d options put forward", in.ChosenOption, len(c.GetOptions()))
	}
	if err := vs.Err(fault.Invalid, reasonInvalid, "the consultation was not concluded: correct the listed fields"); err != nil {
		return nil, err
	}
	if err := requireOpen(c, "conclusion"); err != nil {
		return nil, err
	}
	var pending fault.Violations
	disagreed := []string{}
	loc := cfg.Calendar.Location()
	for _, a := range c.GetAddressees() {
		switch a.GetState() {
		case tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING:
			pending.Add(a.GetAgency(), "REPLY_PENDING", "%s has not replied; its deadline is %s", a.GetAgency(), fmtTime(a.GetDeadline().AsTime(), loc))
		case tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED:
			if a.GetReply().GetPosition() == tacitv1.Position_POSITION_DISAGREE {
				disagreed = append(disagreed, a.GetAgency())
			}
		}
	}
	if err := pending.Err(fault.FailedPrecondition, reasonRepliesPending, "the consultation cannot be concluded while replies are pending: wait for the replies or for the deadlines to pass"); err != nil {
		return nil, err
	}
	if len(disagreed) > 0 {
		var miss fault.Violations
		if proposal == "" {
			miss.Add("proposal", "PROPOSAL_REQUIRED", "%s disagreed: the lead must state its own clear proposal (--proposal)", strings.Join(disagreed, ", "))
		}
		if len(c.GetOptions()) >= 2 && in.ChosenOption == 0 {
			miss.Add("chosen_option", "OPTION_REQUIRED", "%d options were put forward and opinions differ: say which one the lead chose (--chosen-option N)", len(c.GetOptions()))
		}
		if err := miss.Err(fault.FailedPrecondition, reasonProposalRequired, "opinions still differ after consultation: the conclusion must carry the lead's proposal"); err != nil {
			return nil, err
		}
	}
	c.State = tacitv1.ConsultationState_CONSULTATION_STATE_CONCLUDED
	c.Conclusion = &tacitv1.Conclusion{Summary: summary, Proposal: proposal, ChosenOption: in.ChosenOption, ConcludeTime: ts(now), ConcludedBy: principal}
	c.UpdateTime = ts(now)
	return []Event{{Type: EventConcluded, Actor: principal, Time: now, Details: "concluded: " + summary}}, nil
}

// PositionName is the CLI form of a position.
func PositionName(p tacitv1.Position) string {
	switch p {
	case tacitv1.Position_POSITION_AGREE:
		return "agree"
	case tacitv1.Position_POSITION_AGREE_WITH_COMMENTS:
		return "agree-with-comments"
	case tacitv1.Position_POSITION_DISAGREE:
		return "disagree"
	}
	return "unspecified"
}

// RoleName is the CLI form of a signer role.
func RoleName(r tacitv1.SignerRole) string {
	switch r {
	case tacitv1.SignerRole_SIGNER_ROLE_HEAD:
		return "head"
	case tacitv1.SignerRole_SIGNER_ROLE_DEPUTY:
		return "deputy"
	}
	return "unspecified"
}

// OpenedEvent describes an opening for the audit trail.
func OpenedEvent(c *tacitv1.Consultation, principal string, now time.Time) Event {
	codes := make([]string, 0, len(c.GetAddressees()))
	for _, a := range c.GetAddressees() {
		codes = append(codes, a.GetAgency())
	}
	d := fmt.Sprintf("%s opened %q on [%s], consulting [%s], deadline %s", c.GetLead(), c.GetTitle(), strings.Join(c.GetFields(), ", "), strings.Join(codes, ", "), c.GetDeadline().AsTime().UTC().Format(time.RFC3339))
	if c.GetEscalationReason() != "" {
		d += "; escalation reason: " + c.GetEscalationReason()
	}
	return Event{Type: EventOpened, Actor: principal, Time: now, Details: d}
}

// WorkingDaysBetween counts the working days after the day of from up to and
// including the day of to (0 when both fall on the same day).
func WorkingDaysBetween(cal calendar.Calendar, from, to time.Time) int {
	loc := cal.Location()
	d, end := calendar.DateOf(from, loc), calendar.DateOf(to, loc)
	n := 0
	for d.Before(end) {
		d = d.AddDays(1)
		if cal.IsWorkingDay(d) {
			n++
		}
	}
	return n
}
