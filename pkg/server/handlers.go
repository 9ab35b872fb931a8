package server

import (
	"context"
	"slices"
	"strconv"
	"time"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/pki"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// ConsultationServer implements tacit.v1.ConsultationService.
type ConsultationServer struct {
	tacitv1.UnimplementedConsultationServiceServer
	*Core
}

// OpenConsultation implements the RPC.
func (s ConsultationServer) OpenConsultation(ctx context.Context, req *tacitv1.OpenConsultationRequest) (*tacitv1.OpenConsultationResponse, error) {
	p := principalOf(ctx)
	if err := consultation.MayOpen(p); err != nil {
		return nil, err
	}
	key, err := idempotencyKey(p, "OpenConsultation", req)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil { // the caller gave up: do not write
		return nil, err
	}
	var notified notices
	c, replayed, err := s.store.Create(ctx, key, func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
		now := s.clock.Now()
		c, err := consultation.Open(s.rules, s.reg.Load(), p.Name, p.String(), req, now)
		if err != nil {
			return nil, nil, err
		}
		return c, notified.keep(consultation.Opened(c, id, p.String(), now)), nil
	})
	if err != nil {
		if f, ok := fault.As(err); ok && f.Kind == fault.FailedPrecondition {
			s.recordRejection(ctx, p, f)
		}
		return nil, err
	}
	if replayed {
		c = consultation.Effective(c, s.clock.Now(), s.headAt)
	} else {
		s.wake()
		s.hub.signal(&notified)
	}
	return &tacitv1.OpenConsultationResponse{Consultation: c}, nil
}

// GetConsultation implements the RPC.
func (s ConsultationServer) GetConsultation(ctx context.Context, req *tacitv1.GetConsultationRequest) (*tacitv1.GetConsultationResponse, error) {
	c, err := s.store.Get(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	if err := consultation.MayRead(principalOf(ctx), c); err != nil {
		return nil, err
	}
	if consultation.Due(c, s.clock.Now()) {
		now, err := s.orderedNow(ctx, c.GetId())
		if err != nil {
			return nil, err
		}
		if c, err = s.store.Get(ctx, c.GetId()); err != nil {
			return nil, err
		}
		c = consultation.Effective(c, now, s.headAt)
	}
	return &tacitv1.GetConsultationResponse{Consultation: c}, nil
}

// ListConsultations implements the RPC.
func (s ConsultationServer) ListConsultations(ctx context.Context, req *tacitv1.ListConsultationsRequest) (*tacitv1.ListConsultationsResponse, error) {
	p := principalOf(ctx)
	size, err := pageSize(req.GetPageSize(), 50, 500)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken("consultations", req.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := storage.ListQuery{State: req.GetState(), After: after, Limit: size}
	if p.Kind == pki.KindAgency {
		q.Agency = p.Name
		switch req.GetMailbox() {
		case tacitv1.Mailbox_MAILBOX_INBOX:
			q.Role = storage.AddresseeRole
		case tacitv1.Mailbox_MAILBOX_OUTBOX:
			q.Role = storage.LeadRole
		}
	}
	cs, next, err := s.store.List(ctx, q)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if i := slices.IndexFunc(cs, func(c *tacitv1.Consultation) bool { return consultation.Due(c, now) }); i >= 0 {
		// One ordered time for the whole page, then the page read again.
		if now, err = s.orderedNow(ctx, cs[i].GetId()); err != nil {
			return nil, err
		}
		if cs, next, err = s.store.List(ctx, q); err != nil {
			return nil, err
		}
	}
	for i, c := range cs {
		if consultation.Due(c, now) {
			cs[i] = consultation.Effective(c, now, s.headAt)
		}
	}
	return &tacitv1.ListConsultationsResponse{Consultations: cs, NextPageToken: encodeToken("consultations", next)}, nil
}

// Reply implements the RPC.
func (s ConsultationServer) Reply(ctx context.Context, req *tacitv1.ReplyRequest) (*tacitv1.ReplyResponse, error) {
	p := principalOf(ctx)
	in := consultation.ReplyInput{Position: req.GetPosition(), Comment: req.GetComment(), SignerName: req.GetSigner().GetName(), SignerRole: req.GetSigner().GetRole()}
	c, err := s.update(ctx, p, "Reply", req, req.GetConsultationId(), func(c *tacitv1.Consultation, now time.Time) ([]consultation.Event, error) {
		if err := consultation.MayAnswer(p, c); err != nil {
			return nil, err
		}
		return consultation.Reply(s.rules, c, p.Name, p.String(), in, now)
	})
	if err != nil {
		return nil, err
	}
	return &tacitv1.ReplyResponse{Consultation: c}, nil
}

// RequestExtension implements the RPC.
func (s ConsultationServer) RequestExtension(ctx context.Context, req *tacitv1.RequestExtensionRequest) (*tacitv1.RequestExtensionResponse, error) {
	p := principalOf(ctx)
	in := consultation.ExtensionInput{ByWorkingDays: req.GetByWorkingDays(), Reason: req.GetReason()}
	if u := req.GetUntil(); u != nil {
		if err := u.CheckValid(); err != nil {
			return nil, (fault.Violations{{Type: "INVALID_TIME", Subject: "until", Description: "until is not a valid instant: " + err.Error()}}).Err(fault.Invalid, "INVALID_REQUEST", "the extension request was not recorded")
		}
		in.Until = u.AsTime()
	}
	c, err := s.update(ctx, p, "RequestExtension", req, req.GetConsultationId(), func(c *tacitv1.Consultation, now time.Time) ([]consultation.Event, error) {
		if err := consultation.MayAnswer(p, c); err != nil {
			return nil, err
		}
		return consultation.RequestExtension(s.rules, c, p.Name, p.String(), in, now)
	})
	if err != nil {
		return nil, err
	}
	return &tacitv1.RequestExtensionResponse{Consultation: c}, nil
}

// DecideExtension implements the RPC.
func (s ConsultationServer) DecideExtension(ctx context.Context, req *tacitv1.DecideExtensionRequest) (*tacitv1.DecideExtensionResponse, error) {
	p := principalOf(ctx)
	var grant bool
	switch req.GetDecision() {
	case tacitv1.ExtensionDecision_EXTENSION_DECISION_GRANT:
		grant = true
	case tacitv1.ExtensionDecision_EXTENSION_DECISION_REFUSE:
	default:
		return nil, (fault.Violations{{Type: "REQUIRED", Subject: "decision", Description: "decision must be GRANT or REFUSE"}}).Err(fault.Invalid, "INVALID_REQUEST", "the decision was not recorded")
	}
	c, err := s.update(ctx, p, "DecideExtension", req, req.GetConsultationId(), func(c *tacitv1.Consultation, now time.Time) ([]consultation.Event, error) {
		if err := consultation.MayLead(p, c); err != nil {
			return nil, err
		}
		return consultation.DecideExtension(s.rules, c, req.GetAgency(), p.String(), grant, req.GetReason(), now)
	})
	if err != nil {
		return nil, err
	}
	s.wake()
	return &tacitv1.DecideExtensionResponse{Consultation: c}, nil
}

// WithdrawConsultation implements the RPC.
func (s ConsultationServer) WithdrawConsultation(ctx context.Context, req *tacitv1.WithdrawConsultationRequest) (*tacitv1.WithdrawConsultationResponse, error) {
	p := principalOf(ctx)
	c, err := s.update(ctx, p, "WithdrawConsultation", req, req.GetConsultationId(), func(c *tacitv1.Consultation, now time.Time) ([]consultation.Event, error) {
		if err := consultation.MayLead(p, c); err != nil {
			return nil, err
		}
		return consultation.Withdraw(c, p.String(), req.GetReason(), now)
	})
	if err != nil {
		return nil, err
	}
	return &tacitv1.WithdrawConsultationResponse{Consultation: c}, nil
}

// ConcludeConsultation implements the RPC.
func (s ConsultationServer) ConcludeConsultation(ctx context.Context, req *tacitv1.ConcludeConsultationRequest) (*tacitv1.ConcludeConsultationResponse, error) {
	p := principalOf(ctx)
	in := consultation.ConcludeInput{Summary: req.GetSummary(), Proposal: req.GetProposal(), ChosenOption: req.GetChosenOption()}
	c, err := s.update(ctx, p, "ConcludeConsultation", req, req.GetConsultationId(), func(c *tacitv1.Consultation, now time.Time) ([]consultation.Event, error) {
		if err := consultation.MayLead(p, c); err != nil {
			return nil, err
		}
		return consultation.Conclude(s.rules, c, p.String(), in, now)
	})
	if err != nil {
		return nil, err
	}
	return &tacitv1.ConcludeConsultationResponse{Consultation: c}, nil
}

// RegistryServer implements tacit.v1.RegistryService.
type RegistryServer struct {
	tacitv1.UnimplementedRegistryServiceServer
	*Core
}

// ImportRegistry implements the RPC.
func (s RegistryServer) ImportRegistry(ctx context.Context, req *tacitv1.ImportRegistryRequest) (*tacitv1.ImportRegistryResponse, error) {
	p := principalOf(ctx)
	if err := consultation.MayAdminister(p); err != nil {
		return nil, err
	}
	res, err := s.Core.ImportRegistry(ctx, p.String(), req)
	if err != nil {
		return nil, err
	}
	return &tacitv1.ImportRegistryResponse{
		FieldsCreated: int32(res.FieldsCreated), FieldsUpdated: int32(res.FieldsUpdated),
		AgenciesCreated: int32(res.AgenciesCreated), AgenciesUpdated: int32(res.AgenciesUpdated), Unchanged: int32(res.Unchanged),
	}, nil
}

// GetAgency implements the RPC.
func (s RegistryServer) GetAgency(ctx context.Context, req *tacitv1.GetAgencyRequest) (*tacitv1.GetAgencyResponse, error) {
	a, ok := s.reg.Load().Agency(req.GetCode())
	if !ok {
		return nil, fault.New(fault.NotFound, "AGENCY_NOT_FOUND", "agency %q is not in the registry: see `tacit agency list`", req.GetCode())
	}
	return &tacitv1.GetAgencyResponse{Agency: a}, nil
}

// ListAgencies implements the RPC.
func (s RegistryServer) ListAgencies(ctx context.Context, req *tacitv1.ListAgenciesRequest) (*tacitv1.ListAgenciesResponse, error) {
	size, err := pageSize(req.GetPageSize(), 100, 1000)
	if err != nil {
		return nil, err
	}
	tok, err := decodeToken("agencies", req.GetPageToken())
	if err != nil {
		return nil, err
	}
	offset := 0
	if tok != "" {
		if offset, err = strconv.Atoi(tok); err != nil || offset < 0 {
			return nil, invalid("page_token", "not a token this list returned: start again without it")
		}
	}
	var rows []*tacitv1.Agency
	for _, a := range s.reg.Load().Agencies() {
		if (!a.GetActive() && !req.GetIncludeInactive()) || (req.GetLevel() != tacitv1.AgencyLevel_AGENCY_LEVEL_UNSPECIFIED && a.GetLevel() != req.GetLevel()) {
			continue
		}
		rows = append(rows, a)
	}
	if offset > len(rows) {
		offset = len(rows)
	}
	rows = rows[offset:]
	next := ""
	if len(rows) > size {
		rows, next = rows[:size], itoa(offset+size)
	}
	return &tacitv1.ListAgenciesResponse{Agencies: rows, NextPageToken: encodeToken("agencies", next)}, nil
}

// ListFields implements the RPC.
func (s RegistryServer) ListFields(ctx context.Context, req *tacitv1.ListFieldsRequest) (*tacitv1.ListFieldsResponse, error) {
	return &tacitv1.ListFieldsResponse{Fields: s.reg.Load().Fields()}, nil
}

// recordRejection keeps a refused opening on the audit trail, with its
// reasons, and counts it against the lead. Nothing else is stored.
func (s ConsultationServer) recordRejection(ctx context.Context, p pki.Principal, f *fault.Error) {
	ev := consultation.RejectedEvent(p.String(), f, s.clock.Now())
	if err := s.store.RecordRejection(ctx, p.Name, []*tacitv1.AuditEvent{ev}); err != nil {
		s.log.Error().Err(err).Msg("could not record a refused opening on the audit trail")
	}
}
