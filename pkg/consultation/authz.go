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

// MayOperate: only the administrator reads the service's status and takes
// backups.
func MayOperate(p pki.Principal) error {
	if p.Kind == pki.KindAdmin {
		return nil
	}
	return denied("%s cannot do this: it is for the administrator (--as admin:NAME)", p)
}

// MayWatch: only agencies have an inbox.
func MayWatch(p pki.Principal) error {
	if p.Kind == pki.KindAgency {
		return nil
	}
	return denied("%s has no inbox: only agencies watch their inbox (--as CODE)", p)
}

// DeemedScope decides which deemed approvals p may list: auditors and the
// administrator any; an agency those it owes (agency) or is owed as lead.
// It returns the agency filter to apply.
func DeemedScope(p pki.Principal, agency, lead string) (string, error) {
	if p.Kind != pki.KindAgency {
		return agency, nil
	}
	switch {
	case agency == "" && lead == "":
		return p.Name, nil
	case agency != p.Name && lead != p.Name:
		return "", denied("%s may list only its own deemed approvals (--agency %s) or those owed to it as lead (--lead %s)", p, p.Name, p.Name)
	}
	return agency, nil
}

// StatsScope decides whose figures p may read: auditors and the
// administrator any agency's; an agency only its own. It returns the agency
// to restrict to ("" for all).
func StatsScope(p pki.Principal, agency string) (string, error) {
	if p.Kind != pki.KindAgency {
		return agency, nil
	}
	if agency != "" && agency != p.Name {
		return "", denied("%s may read only its own figures", p)
	}
	return p.Name, nil
}
