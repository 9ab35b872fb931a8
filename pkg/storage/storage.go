// Package storage defines where tacit keeps its records, in domain terms, so
// that a replicated backend can replace bbolt without touching the rules.
// Implementations keep their indexes consistent with the records they store
// and never decide a rule: callers pass functions that apply the rules
// inside the store's transaction.
package storage

import (
	"context"
	"io"
	"time"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

// IdempotencyKey identifies a retried request: the same principal, method
// and request id return the first result. An empty ID disables it.
//
// A request id names one request: reused for another consultation (Update)
// or with another Fingerprint, it is refused with an error of kind
// fault.Invalid and reason REQUEST_ID_REUSED, and nothing is written.
type IdempotencyKey struct {
	Principal string
	Method    string
	ID        string
	// Fingerprint is a digest of the request's content (empty: not
	// compared).
	Fingerprint []byte
}

// ReasonRequestIDReused is the fault reason of a request id reused for a
// different request.
const ReasonRequestIDReused = "REQUEST_ID_REUSED"

// Mutation is applied to a consultation inside a write transaction. It
// returns the audit events of the change; returning an error aborts the
// change with nothing written. It may be called more than once (when a
// shared commit is retried), so it must depend only on its arguments and
// the time it reads. SweepDue and RecountDeadlines apply it to different
// consultations concurrently, so whatever else it touches must be safe for
// concurrent use.
type Mutation func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error)

// Builder builds a new consultation given its allocated id.
type Builder func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error)

// Role filters consultations by an agency's part in them.
type Role int

const (
	// AnyRole is lead or addressee.
	AnyRole Role = iota
	// LeadRole is the lead agency.
	LeadRole
	// AddresseeRole is a consulted agency.
	AddresseeRole
)

// ListQuery selects consultations, newest first.
type ListQuery struct {
	Agency string // empty: every consultation (auditors)
	Role   Role
	State  tacitv1.ConsultationState // UNSPECIFIED: any
	After  string                    // continue after this id (exclusive)
	Limit  int
}

// DeemedQuery selects deemed approvals in effective-time order. Agency or
// Lead (at most one) picks an index; with neither, all agencies.
type DeemedQuery struct {
	Agency       string
	Lead         string
	Since, Until time.Time // zero: open
	After        []byte    // opaque cursor from a previous page
	Limit        int
	Keep         func(*tacitv1.DeemedApprovalRecord) bool // extra filter
}

// EventQuery selects audit events in sequence order. Consultation or Agency
// (at most one) picks an index.
type EventQuery struct {
	AfterSeq     uint64
	Limit        int
	Consultation string
	Agency       string    // events concerning it, or done by it
	Since, Until time.Time // zero: open
	Keep         func(*tacitv1.AuditEvent) bool
}

// ReplyDayBuckets is the size of the reply-time histogram: bucket n counts
// replies that took n working days, the last one that many or more.
const ReplyDayBuckets = 64

// Figures are one agency's counts, kept up to date with every write.
type Figures struct {
	// As a consulted agency.
	Received, RepliedOnTime, Deemed, Revisions int64
	ExtensionsRequested, ExtensionsGranted     int64
	Pending                                    int64 // now, whatever the period
	ReplyDays                                  []int64
	// As a lead.
	Opened, Rejected, Escalations int64
}

// StatsQuery picks a period; figures are kept per day in Vietnam's time
// zone, so the bounds are rounded to whole days (Since's day included,
// Until's day excluded). Zero bounds are open.
type StatsQuery struct {
	Since, Until time.Time
}

// Verification is the result of recomputing the audit chain.
type Verification struct {
	Intact      bool
	Checked     uint64
	FirstBroken uint64
	Problem     string
	HeadHash    []byte
}

// Counts are the store's running totals, for operators.
type Counts struct {
	Consultations, OpenConsultations, PendingAddressees, DeemedApprovals int64
	AuditEntries                                                         uint64
	DataBytes                                                            int64
	PageWrites                                                           int64         // pages written to disk since the store was opened
	WriteTime                                                            time.Duration // time spent writing them (and syncing)
	// Commits are the durable commits (one sync each) since the store was
	// opened, and CommittedWrites the writes they carried: many writes
	// arriving together share one commit.
	Commits, CommittedWrites int64
	// WriterBusy is the time the store's one writer spent committing since
	// the store was opened: near the wall-clock time, writes queue for it.
	WriterBusy time.Duration
}

// Store keeps consultations, the registry and the audit trail.
type Store interface {
	// LoadRegistry returns every stored field and agency.
	LoadRegistry(ctx context.Context) ([]*tacitv1.Field, []*tacitv1.Agency, error)
	// SaveRegistry writes changed fields and agencies with their audit
	// events in one durable transaction.
	SaveRegistry(ctx context.Context, fields []*tacitv1.Field, agencies []*tacitv1.Agency, events []*tacitv1.AuditEvent) error

	// Create allocates an id and stores what build returns. When key was
	// used before, the first result is returned with replayed=true and
	// build is not called.
	Create(ctx context.Context, key IdempotencyKey, build Builder) (c *tacitv1.Consultation, replayed bool, err error)
	// Update applies mutate to the stored consultation and stores the
	// result, atomically and durably. An unknown id is an error of kind
	// fault.NotFound.
	Update(ctx context.Context, id string, key IdempotencyKey, mutate Mutation) (c *tacitv1.Consultation, replayed bool, err error)
	// Get returns the stored consultation.
	Get(ctx context.Context, id string) (*tacitv1.Consultation, error)
	// List returns one page of consultations and the id to continue after
	// (empty at the end).
	List(ctx context.Context, q ListQuery) ([]*tacitv1.Consultation, string, error)

	// NextDeadline returns the earliest instant at which the sweeper may
	// have work: a deadline of a pending addressee of an open consultation,
	// or a reminder not yet sent. It is never later than the first such
	// instant, but it may be earlier: a store may keep the entry of a
	// deadline or reminder that a reply, an extension or a withdrawal took
	// away until its time comes, when SweepDue drops it and changes nothing.
	NextDeadline(ctx context.Context) (time.Time, bool, error)
	// SweepDue applies mutate to the consultations with a pending addressee
	// whose deadline or unsent reminder is at or before now, in
	// transactions one after another. Each takes due entries (deadlines and
	// reminders) in time order until limit of them are taken, and every
	// consultation they belong to; entries left of deadlines and reminders
	// since taken away are dropped and count as taken. Once a transaction
	// is durable, SweepDue calls committed (when not nil) with how many
	// consultations it changed. It goes on until no due entry is left, or a
	// transaction changed and dropped nothing (so that it cannot loop on
	// entries it cannot take), and returns how many it changed in all; on
	// an error, the transactions committed before it stay.
	//
	// A store may apply mutate to one transaction's consultations while
	// the one before commits, keeping a result only if the record is still
	// the one it was computed from: mutate must depend on the record and
	// now alone.
	SweepDue(ctx context.Context, now time.Time, limit int, mutate Mutation, committed func(changed int)) (changed int, err error)

	// RecordRejection appends the audit events of a refused opening and
	// counts it against the lead; no consultation is stored.
	RecordRejection(ctx context.Context, lead string, events []*tacitv1.AuditEvent) error
	// AgencyFigures returns every agency's figures over a period.
	AgencyFigures(ctx context.Context, q StatsQuery) (map[string]*Figures, error)

	// CalendarVersion returns the version of the calendar the stored
	// deadlines were last counted with ("" when never recorded).
	CalendarVersion(ctx context.Context) (string, error)
	// RecountDeadlines applies mutate, in one transaction, to every
	// consultation with a pending addressee whose deadline is after now,
	// appends the events summary returns for the number of consultations
	// changed, and records version as the calendar in force.
	RecountDeadlines(ctx context.Context, now time.Time, version string, mutate Mutation, summary func(changed int) []*tacitv1.AuditEvent) (int, error)

	// ListDeemed returns deemed approvals and a cursor for the next page. A
	// page may be short (even empty) with a cursor when Keep rejects many
	// rows: each call reads a bounded number of index entries.
	ListDeemed(ctx context.Context, q DeemedQuery) ([]*tacitv1.DeemedApprovalRecord, []byte, error)
	// ListDeemedEncoded is ListDeemed with each record in its wire form, as
	// stored: a page is sent on without being decoded and encoded again.
	ListDeemedEncoded(ctx context.Context, q DeemedQuery) ([][]byte, []byte, error)
	// ListInbox returns the audit events notified to an agency, after a
	// sequence number, in order.
	ListInbox(ctx context.Context, agency string, afterSeq uint64, limit int) ([]*tacitv1.AuditEvent, error)
	// ListEvents returns audit events after a sequence number.
	ListEvents(ctx context.Context, q EventQuery) ([]*tacitv1.AuditEvent, error)
	// VerifyAudit recomputes the hash chain.
	VerifyAudit(ctx context.Context) (Verification, error)

	// Counts returns running totals without scanning records.
	Counts(ctx context.Context) (Counts, error)
	// Backup writes a consistent copy of the whole store to w while
	// writes go on, and returns its size.
	Backup(ctx context.Context, w io.Writer) (int64, error)

	Close() error
}
