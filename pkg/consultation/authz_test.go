package consultation_test

import (
	"testing"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/pki"
)

func TestAuthorization(t *testing.T) {
	c := opened(t) // led by so-nnmt, addressed to so-xay-dung and ubnd-phuong-bn
	type decisions struct{ open, read, answer, lead, administer, audit bool }
	tests := []struct {
		name string
		p    pki.Principal
		want decisions
	}{
		{"lead agency", pki.Agency(lead), decisions{open: true, read: true, lead: true}},
		{"addressee", pki.Agency(xayDung), decisions{open: true, read: true, answer: true}},
		{"another addressee", pki.Agency(phuong), decisions{open: true, read: true, answer: true}},
		{"unrelated agency", pki.Agency(unrelated), decisions{open: true}},
		{"auditor", pki.Auditor("auditor"), decisions{read: true, audit: true}},
		{"administrator", pki.Admin("admin"), decisions{read: true, administer: true, audit: true}},
		// Names are only meaningful within a kind: an auditor or an
		// administrator named like the lead is not the lead.
		{"auditor named like the lead", pki.Auditor(lead), decisions{read: true, audit: true}},
		{"administrator named like an addressee", pki.Admin(xayDung), decisions{read: true, administer: true, audit: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := []struct {
				what    string
				allowed bool
				err     error
			}{
				{"MayOpen", tt.want.open, consultation.MayOpen(tt.p)},
				{"MayRead", tt.want.read, consultation.MayRead(tt.p, c)},
				{"MayAnswer", tt.want.answer, consultation.MayAnswer(tt.p, c)},
				{"MayLead", tt.want.lead, consultation.MayLead(tt.p, c)},
				{"MayAdminister", tt.want.administer, consultation.MayAdminister(tt.p)},
				{"MayAudit", tt.want.audit, consultation.MayAudit(tt.p)},
			}
			for _, ch := range checks {
				switch {
				case ch.allowed && ch.err != nil:
					t.Errorf("%s(%s) = %v, want allowed", ch.what, tt.p, ch.err)
				case !ch.allowed && ch.err == nil:
					t.Errorf("%s(%s) allowed, want PermissionDenied", ch.what, tt.p)
				case !ch.allowed && fault.KindOf(ch.err) != fault.PermissionDenied:
					t.Errorf("%s(%s) kind = %s, want PermissionDenied", ch.what, tt.p, kindNames[fault.KindOf(ch.err)])
				case !ch.allowed:
					// The refusal names who was refused.
					wantContains(t, ch.what+" message", ch.err.Error(), tt.p.String())
				}
			}
		})
	}
}

func TestAuthorizationMessages(t *testing.T) {
	c := opened(t)
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"the lead is told it is not consulted", consultation.MayAnswer(pki.Agency(lead), c), []string{"leads consultation c-1"}},
		{"a stranger is told who may read", consultation.MayRead(pki.Agency(unrelated), c), []string{"not a party to consultation c-1"}},
		{"a non-lead is told who leads", consultation.MayLead(pki.Agency(xayDung), c), []string{"only its lead (" + lead + ")"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFault(t, tt.err, fault.PermissionDenied, nil)
			wantContains(t, "message", tt.err.Error(), tt.want...)
		})
	}
}

// After withdrawal or conclusion the parties can still read the record.
func TestAuthorizationOnClosedConsultation(t *testing.T) {
	c := opened(t)
	c.State = tacitv1.ConsultationState_CONSULTATION_STATE_WITHDRAWN
	for _, p := range []pki.Principal{pki.Agency(lead), pki.Agency(xayDung), pki.Auditor("auditor")} {
		if err := consultation.MayRead(p, c); err != nil {
			t.Errorf("MayRead(%s) on a withdrawn consultation: %v", p, err)
		}
	}
}
