package consultation

import (
	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/pki"
)

// Who may do what. The principal always comes from the verified client
// certificate; these functions only decide.

func denied(format string, args ...any) error {
	return fault.New(fault.PermissionDenied, "PERMISSION_DENIED", format, args...)
}

// MayOpen: only agencies lead consultations.
func MayOpen(p pki.Principal) error {
	if p.Kind != pki.KindAgency {
		return denied("%s cannot open consultations: only an agency leads a consultation; use that agency's certificate (--as CODE)", p)
	}
	return nil
}

// MayRead: the lead, the addressees, auditors and the administrator.
func MayRead(p pki.Principal, c *tacitv1.Consultation) error {
	switch p.Kind {
	case pki.KindAuditor, pki.KindAdmin:
		return nil
	case pki.KindAgency:
		if c.GetLead() == p.Name || Addressee(c, p.Name) != nil {
			return nil
		}
	}
	return denied("%s is not a party to consultation %s: only its lead, the agencies it consults, auditors and the administrator can read it", p, c.GetId())
}

// MayAnswer: only an addressee, for itself (reply, extension request).
func MayAnswer(p pki.Principal, c *tacitv1.Consultation) error {
	if p.Kind == pki.KindAgency && Addressee(c, p.Name) != nil {
		return nil
	}
	if p.Kind == pki.KindAgency && c.GetLead() == p.Name {
		return denied("%s leads consultation %s and is not consulted on it: only the agencies it is addressed to reply or ask for extensions", p, c.GetId())
	}
	return denied("%s is not consulted on consultation %s: only the agencies it is addressed to reply or ask for extensions, each for itself", p, c.GetId())
}

// MayLead: only the lead decides extensions, withdraws and concludes.
func MayLead(p pki.Principal, c *tacitv1.Consultation) error {
	if p.Kind == pki.KindAgency && c.GetLead() == p.Name {
		return nil
	}
	return denied("%s is not the lead of consultation %s: only its lead (%s) can do this", p, c.GetId(), c.GetLead())
}

// MayAdminister: only the administrator changes the registry.
func MayAdminister(p pki.Principal) error {
	if p.Kind == pki.KindAdmin {
		return nil
	}
	return denied("%s cannot change the registry: only an administrator (admin:NAME) imports agencies and fields", p)
}

// MayAudit: auditors and the administrator read across all agencies.
func MayAudit(p pki.Principal) error {
	if p.Kind == pki.KindAuditor || p.Kind == pki.KindAdmin {
		return nil
	}
	return denied("%s cannot read the audit service: it is for auditors (auditor:NAME) and the administrator", p)
}
