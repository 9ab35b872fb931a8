// Package fault is the vocabulary of errors shared by the rules, the
// registry and storage: a kind (which becomes a gRPC code in exactly one
// place, pkg/server), a stable reason, a sentence for people, and the list of
// offending fields or agencies.
package fault

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error the way a caller must react to it.
type Kind int

const (
	// Internal is a bug or an unexpected storage failure.
	Internal Kind = iota
	// Invalid is malformed input: fix the request.
	Invalid
	// FailedPrecondition is well-formed input the current state refuses.
	FailedPrecondition
	// NotFound is a missing resource.
	NotFound
	// PermissionDenied is a principal acting outside its role.
	PermissionDenied
	// Unauthenticated is a missing or unknown identity.
	Unauthenticated
	// Unavailable is a temporary failure: retry later.
	Unavailable
)

// Violation names one offending field (for Invalid) or subject such as an
// agency (for FailedPrecondition).
type Violation struct {
	// Type is a short UPPER_SNAKE category, used for preconditions.
	Type string
	// Subject is the field path (`addressees[2]`) or the agency code.
	Subject string
	// Description says what is wrong and what to do.
	Description string
}

// Error is a classified error.
type Error struct {
	Kind       Kind
	Reason     string // stable UPPER_SNAKE reason for machines
	Message    string // a sentence for people, ending in what to do next
	Violations []Violation
}

func (e *Error) Error() string {
	if len(e.Violations) == 0 {
		return e.Message
	}
	parts := make([]string, 0, len(e.Violations))
	for _, v := range e.Violations {
		parts = append(parts, v.Subject+": "+v.Description)
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// New makes an error without violations.
func New(kind Kind, reason, format string, args ...any) *Error {
	return &Error{Kind: kind, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// KindOf returns the kind of err, Internal for unclassified errors.
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return Internal
}

// Violations collects input problems and turns them into one error.
type Violations []Violation

// Add records a problem with a field or subject.
func (vs *Violations) Add(subject, typ, format string, args ...any) {
	*vs = append(*vs, Violation{Type: typ, Subject: subject, Description: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was recorded, otherwise an error of the given
// kind carrying every violation.
func (vs Violations) Err(kind Kind, reason, message string) error {
	if len(vs) == 0 {
		return nil
	}
	return &Error{Kind: kind, Reason: reason, Message: message, Violations: vs}
}
