package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/registry"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// AuditServer implements tacit.v1.AuditService: reads only.
type AuditServer struct {
	tacitv1.UnimplementedAuditServiceServer
	*Core
}

func invalid(field, format string, args ...any) error {
	return (fault.Violations{{Type: "INVALID", Subject: field, Description: fmt.Sprintf(format, args...)}}).
		Err(fault.Invalid, "INVALID_REQUEST", "the request is invalid: correct the listed fields")
}

func timeRange(since, until *timestamppb.Timestamp) (s, u timeBounds, err error) {
	if since != nil {
		if err := since.CheckValid(); err != nil {
			return s, u, invalid("since", "not a valid instant: %v", err)
		}
		s = timeBounds{since.AsTime(), true}
	}
	if until != nil {
		if err := until.CheckValid(); err != nil {
			return s, u, invalid("until", "not a valid instant: %v", err)
		}
		u = timeBounds{until.AsTime(), true}
	}
	if s.set && u.set && !s.t.Before(u.t) {
		return s, u, invalid("until", "until must be after since")
	}
	return s, u, nil
}

// ListDeemedApprovals implements the RPC. Auditors and the administrator see
// every agency; an agency sees the deemed approvals it owes or that were
// owed to it as lead.
func (s AuditServer) ListDeemedApprovals(ctx context.Context, req *tacitv1.ListDeemedApprovalsRequest) (*tacitv1.ListDeemedApprovalsResponse, error) {
	p := principalOf(ctx)
	q := storage.DeemedQuery{Agency: req.GetAgency(), Lead: req.GetLead()}
	var err error
	if q.Agency, err = consultation.DeemedScope(p, q.Agency, q.Lead); err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize(), 100, 1000)
	if err != nil {
		return nil, err
	}
	since, until, err := timeRange(req.GetSince(), req.GetUntil())
	if err != nil {
		return nil, err
	}
	q.Since, q.Until, q.Limit = since.t, until.t, size
	if tok := req.GetPageToken(); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(b) < 16 {
			return nil, invalid("page_token", "not a token this list returned: start again without it")
		}
		q.After = b
	}
	lead, field := req.GetLead(), strings.TrimSpace(req.GetField())
	if field != "" {
		if _, ok := s.reg.Load().Field(field); !ok {
			return nil, invalid("field", "field %q is not in the taxonomy: see `tacit field list`", field)
		}
	}
	if (q.Agency != "" && lead != "") || field != "" {
		q.Keep = func(r *tacitv1.DeemedApprovalRecord) bool {
			if q.Agency != "" && lead != "" && r.GetLead() != lead {
				return false
			}
			if field == "" {
				return true
			}
			for _, f := range r.GetFields() {
				if registry.Related(f, field) {
					return true
				}
			}
			return false
		}
	}
	if q.Agency != "" {
		q.Lead = ""
	}
	rows, next, err := s.store.ListDeemedEncoded(ctx, q)
	if err != nil {
		return nil, err
	}
	res := &tacitv1.ListDeemedApprovalsResponse{}
	// The records go out as stored, not decoded and encoded again (that
	// was most of a page's cost): in their wire form, as the message's
	// unknown fields, which are encoded as they are. On the wire this is
	// the deemed_approvals field, which every reader decodes; in this
	// process res.DeemedApprovals stays empty.
	res.ProtoReflect().SetUnknown(wireMessages(deemedApprovalsField, rows))
	if next != nil {
		res.NextPageToken = base64.RawURLEncoding.EncodeToString(next)
	}
	return res, nil
}

var deemedApprovalsField = (&tacitv1.ListDeemedApprovalsResponse{}).ProtoReflect().Descriptor().Fields().ByName("deemed_approvals").Number()

// wireMessages is the wire form of a repeated message field numbered num
// holding the encoded messages ms.
func wireMessages(num protowire.Number, ms [][]byte) []byte {
	n := 0
	for _, m := range ms {
		n += protowire.SizeTag(num) + protowire.SizeBytes(len(m))
	}
	b := make([]byte, 0, n)
	for _, m := range ms {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	return b
}

// ListAgencyStats implements the RPC.
func (s AuditServer) ListAgencyStats(ctx context.Context, req *tacitv1.ListAgencyStatsRequest) (*tacitv1.ListAgencyStatsResponse, error) {
	p := principalOf(ctx)
	only, err := consultation.StatsScope(p, req.GetAgency())
	if err != nil {
		return nil, err
	}
	th := req.GetThreshold()
	if th < 0 || th >= 1 || math.IsNaN(th) {
		return nil, invalid("threshold", "threshold is a fraction between 0 and 1 (0.05 for 5%%), got %v", th)
	}
	since, until, err := timeRange(req.GetSince(), req.GetUntil())
	if err != nil {
		return nil, err
	}
	figs, err := s.store.AgencyFigures(ctx, storage.StatsQuery{Since: since.t, Until: until.t})
	if err != nil {
		return nil, err
	}
	reg := s.reg.Load()
	var rows []*tacitv1.AgencyStats
	for _, a := range reg.Agencies() {
		if only != "" && a.GetCode() != only {
			continue
		}
		row := statsRow(a, figs[a.GetCode()])
		row.OverThreshold = th > 0 && row.GetSilenceRate() > th
		if th > 0 && !row.OverThreshold {
			continue
		}
		rows = append(rows, row)
	}
	if only != "" && len(rows) == 0 && th == 0 {
		return nil, fault.New(fault.NotFound, "AGENCY_NOT_FOUND", "agency %q is not in the registry", only)
	}
	if th > 0 {
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].GetSilenceRate() > rows[j].GetSilenceRate() })
	} else {
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].GetAgency() < rows[j].GetAgency() })
	}
	return &tacitv1.ListAgencyStatsResponse{Stats: rows, Threshold: th}, nil
}

func statsRow(a *tacitv1.Agency, f *storage.Figures) *tacitv1.AgencyStats {
	row := &tacitv1.AgencyStats{Agency: a.GetCode(), AgencyName: a.GetName()}
	if f == nil {
		return row
	}
	row.RequestsReceived, row.RepliedOnTime, row.DeemedApprovals = f.Received, f.RepliedOnTime, f.Deemed
	row.ExtensionsRequested, row.ExtensionsGranted, row.Pending, row.Revisions = f.ExtensionsRequested, f.ExtensionsGranted, f.Pending, f.Revisions
	row.ConsultationsOpened, row.RejectedAttempts, row.Escalations = f.Opened, f.Rejected, f.Escalations
	if settled := f.RepliedOnTime + f.Deemed; settled > 0 {
		row.SilenceRate = float64(f.Deemed) / float64(settled)
	}
	row.MedianReplyWorkingDays = quantile(f.ReplyDays, 0.5)
	row.P90ReplyWorkingDays = quantile(f.ReplyDays, 0.9)
	return row
}

// quantile of a histogram whose bucket i counts values equal to i
// (nearest-rank).
func quantile(hist []int64, q float64) float64 {
	var total int64
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i, n := range hist {
		if seen += n; seen >= rank {
			return float64(i)
		}
	}
	return float64(len(hist) - 1)
}

// ListEvents implements the RPC.
func (s AuditServer) ListEvents(ctx context.Context, req *tacitv1.ListEventsRequest) (*tacitv1.ListEventsResponse, error) {
	if err := consultation.MayAudit(principalOf(ctx)); err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize(), 100, 1000)
	if err != nil {
		return nil, err
	}
	since, until, err := timeRange(req.GetSince(), req.GetUntil())
	if err != nil {
		return nil, err
	}
	tok, err := decodeToken("events", req.GetPageToken())
	if err != nil {
		return nil, err
	}
	var after uint64
	if tok != "" {
		if after, err = strconv.ParseUint(tok, 10, 64); err != nil {
			return nil, invalid("page_token", "not a token this list returned: start again without it")
		}
	}
	q := storage.EventQuery{AfterSeq: after, Limit: size + 1, Consultation: req.GetConsultationId(), Agency: req.GetAgency(), Since: since.t, Until: until.t}
	if q.Consultation != "" && q.Agency != "" {
		agency := q.Agency
		q.Agency = ""
		q.Keep = func(e *tacitv1.AuditEvent) bool {
			return e.GetAgency() == agency || e.GetActor() == "agency:"+agency
		}
	}
	if typ := strings.ToUpper(strings.TrimSpace(req.GetType())); typ != "" {
		prev := q.Keep
		q.Keep = func(e *tacitv1.AuditEvent) bool { return e.GetType() == typ && (prev == nil || prev(e)) }
	}
	evs, err := s.store.ListEvents(ctx, q)
	if err != nil {
		return nil, err
	}
	res := &tacitv1.ListEventsResponse{Events: evs}
	if len(evs) > size {
		res.Events = evs[:size]
		res.NextPageToken = encodeToken("events", strconv.FormatUint(evs[size-1].GetSequence(), 10))
	}
	return res, nil
}

// VerifyAuditLog implements the RPC.
func (s AuditServer) VerifyAuditLog(ctx context.Context, req *tacitv1.VerifyAuditLogRequest) (*tacitv1.VerifyAuditLogResponse, error) {
	if err := consultation.MayAudit(principalOf(ctx)); err != nil {
		return nil, err
	}
	v, err := s.store.VerifyAudit(ctx)
	if err != nil {
		return nil, err
	}
	if !v.Intact {
		s.log.Warn().Uint64("first_broken", v.FirstBroken).Str("problem", v.Problem).Msg("audit trail verification failed")
	}
	return &tacitv1.VerifyAuditLogResponse{Intact: v.Intact, EntriesChecked: v.Checked, FirstBrokenSequence: v.FirstBroken, Problem: v.Problem, HeadHash: v.HeadHash}, nil
}

type timeBounds struct {
	t   time.Time
	set bool
}
