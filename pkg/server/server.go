// Package server is tacit's gRPC transport: identity from the client
// certificate, thin handlers (check the request, apply the rules inside a
// storage transaction, translate the error), the deadline sweeper, and the
// process that serves it all.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/pki"
	"github.com/tacit-gov/tacit/pkg/registry"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// Core holds what the handlers share.
type Core struct {
	store storage.Store
	rules consultation.Config
	clock clockwork.Clock
	log   zerolog.Logger

	reg      atomic.Pointer[registry.Registry]
	importMu sync.Mutex
	// OnNewAgencies is called after an import created agencies (the
	// development PKI issues their certificates).
	OnNewAgencies func(codes []string)

	clientCAs *x509.CertPool // verifies client certificates
	certs     certCache      // chains already verified

	kick chan struct{} // wakes the sweeper when an earlier deadline may exist
	hub  *hub          // tells inbox watchers that something was written

	started  time.Time
	watchers atomic.Int32 // inbox streams open now
	metrics  *metrics     // nil when not exported
	limiter  *limiter     // nil: no limits (tests)

	// onSweep, when set, is told after each sweep (tests wait on it
	// instead of sleeping).
	onSweep func(n int, asOf time.Time)
}

// NewCore loads the registry from the store.
func NewCore(ctx context.Context, st storage.Store, rules consultation.Config, clock clockwork.Clock, log zerolog.Logger) (*Core, error) {
	fields, agencies, err := st.LoadRegistry(ctx)
	if err != nil {
		return nil, fmt.Errorf("load registry: %w", err)
	}
	c := &Core{store: st, rules: rules, clock: clock, log: log, kick: make(chan struct{}, 1), hub: newHub(), started: clock.Now()}
	c.reg.Store(registry.New(fields, agencies))
	return c, nil
}

// Registry returns the current registry snapshot.
func (c *Core) Registry() *registry.Registry { return c.reg.Load() }

func (c *Core) headAt(agency string, t time.Time) string { return c.reg.Load().HeadAt(agency, t) }

func (c *Core) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// ImportRegistry validates and applies an import as actor, durably, and
// swaps the in-memory snapshot.
func (c *Core) ImportRegistry(ctx context.Context, actor string, req *tacitv1.ImportRegistryRequest) (*registry.Result, error) {
	c.importMu.Lock()
	defer c.importMu.Unlock()
	now := c.clock.Now()
	next, res, err := c.reg.Load().Apply(req, now)
	if err != nil {
		return nil, err
	}
	if len(res.ChangedFields)+len(res.ChangedAgencies) > 0 {
		ev := &tacitv1.AuditEvent{EventTime: timestamppb.New(now), Actor: actor, Type: "REGISTRY_IMPORTED",
			Details: fmt.Sprintf("fields created %d, updated %d; agencies created %d, updated %d; unchanged %d",
				res.FieldsCreated, res.FieldsUpdated, res.AgenciesCreated, res.AgenciesUpdated, res.Unchanged)}
		if err := c.store.SaveRegistry(ctx, res.ChangedFields, res.ChangedAgencies, []*tacitv1.AuditEvent{ev}); err != nil {
			return nil, err
		}
		c.reg.Store(next)
	}
	if len(res.NewAgencies) > 0 && c.OnNewAgencies != nil {
		c.OnNewAgencies(res.NewAgencies)
	}
	return res, nil
}

// update applies fn, with the silence rule materialized first, to a stored
// consultation inside one write transaction. The time is read inside the
// transaction, so writes and the sweeper agree on what came first.
func (c *Core) update(ctx context.Context, p pki.Principal, method string, req request, id string, fn func(*tacitv1.Consultation, time.Time) ([]consultation.Event, error)) (*tacitv1.Consultation, error) {
	key, err := idempotencyKey(p, method, req)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil { // the caller gave up: do not write
		return nil, err
	}
	var notified notices
	out, replayed, err := c.store.Update(ctx, id, key, func(rec *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		events, err := consultation.Change(rec, c.clock.Now(), c.headAt, fn)
		return notified.keep(events), err
	})
	if err != nil {
		return nil, err
	}
	if replayed {
		return consultation.Effective(out, c.clock.Now(), c.headAt), nil
	}
	c.hub.signal(&notified)
	return out, nil
}

// request is a request that may be retried.
type request interface {
	proto.Message
	GetRequestId() string
}

// idempotencyKey checks a request's request_id and returns its key: the
// principal, the method, the id and a digest of everything else the request
// says, so that a request id reused for a different request is refused
// rather than answered with the first request's result.
func idempotencyKey(p pki.Principal, method string, req request) (storage.IdempotencyKey, error) {
	if err := consultation.CheckRequestID(req.GetRequestId()); err != nil {
		return storage.IdempotencyKey{}, err
	}
	k := storage.IdempotencyKey{Principal: p.String(), Method: method, ID: req.GetRequestId()}
	if k.ID == "" {
		return k, nil
	}
	m := proto.Clone(req)
	fields := m.ProtoReflect().Descriptor().Fields()
	if f := fields.ByName("request_id"); f != nil {
		m.ProtoReflect().Clear(f)
	}
	// The same consultation named two ways is the same request.
	if f := fields.ByName("consultation_id"); f != nil && f.Kind() == protoreflect.StringKind {
		id := strings.TrimPrefix(strings.TrimSpace(m.ProtoReflect().Get(f).String()), "consultations/")
		m.ProtoReflect().Set(f, protoreflect.ValueOfString(id))
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return k, err
	}
	sum := sha256.Sum256(b)
	k.Fingerprint = sum[:]
	return k, nil
}

// errOrderOnly aborts the write transaction orderedNow borrows.
var errOrderOnly = errors.New("ordering only: nothing to write")

// orderedNow reads the time inside a write transaction on consultation id,
// writing nothing, and returns it. Every write that read the time before it
// has committed when it returns, and every later write reads a later time.
//
// A read that shows a deemed approval not yet recorded needs it: the
// record it read may be stale, for a reply whose transaction read the time
// just before the deadline may not have committed yet. Read again after
// orderedNow and judged at the time it returns, the record shows that reply
// or no reply at all, never a deemed approval that a later read takes
// back. This costs one write transaction per read, and only between a
// deadline and the moment the sweeper records it.
func (c *Core) orderedNow(ctx context.Context, id string) (time.Time, error) {
	var now time.Time
	_, _, err := c.store.Update(ctx, id, storage.IdempotencyKey{}, func(*tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		now = c.clock.Now()
		return nil, errOrderOnly
	})
	if errors.Is(err, errOrderOnly) {
		return now, nil
	}
	return time.Time{}, err
}

// sweepEntries is how many due deadlines and reminders one sweep
// transaction takes: enough to share commits among thousands of deemed
// approvals, few enough that replies queued behind the writer wait tens of
// milliseconds, not seconds.
const sweepEntries = 5000

// Sweep persists every deemed approval due at now; it returns how many
// consultations it changed. After each of its transactions is durable it
// wakes the watchers of the agencies notified so far: some of them may be
// of the next transaction, prepared while this one committed, and a
// watcher woken early reads nothing new and waits again.
func (c *Core) Sweep(ctx context.Context, now time.Time) (int, error) {
	var notified notices
	return c.store.SweepDue(ctx, now, sweepEntries, func(rec *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		return notified.keep(consultation.Sweep(c.rules, rec, now, c.headAt)), nil
	}, func(n int) {
		if n > 0 {
			c.hub.signal(&notified)
		}
	})
}

// RunSweeper persists deemed approvals as their deadlines pass. It first
// catches up on every deadline that passed while the service was down, then
// sleeps until the next deadline in the index (or until woken by a write
// that may have added an earlier one). Reads never depend on it: they show
// the effective state by themselves.
func (c *Core) RunSweeper(ctx context.Context) {
	for {
		now := c.clock.Now()
		n, err := c.Sweep(ctx, now)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Error().Err(err).Msg("sweeper: persisting deemed approvals failed; retrying in 1s")
			select {
			case <-ctx.Done():
				return
			case <-c.clock.After(time.Second):
			}
			continue
		}
		if n > 0 {
			c.log.Info().Int("consultations", n).Time("as_of", now).Msg("sweeper: deemed approvals recorded")
		}
		if c.onSweep != nil {
			c.onSweep(n, now)
		}
		next, ok, err := c.store.NextDeadline(ctx)
		if err != nil {
			c.log.Error().Err(err).Msg("sweeper: reading the deadline index failed")
		}
		var timer clockwork.Timer
		var fire <-chan time.Time
		if ok {
			d := next.Sub(c.clock.Now())
			if d <= 0 {
				continue
			}
			timer = c.clock.NewTimer(d)
			fire = timer.Chan()
		}
		select {
		case <-ctx.Done():
		case <-c.kick:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// --- page tokens ---

func encodeToken(kind, v string) string {
	if v == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + v))
}

func decodeToken(kind, tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(b), kind+":") {
		return "", fault.New(fault.Invalid, "INVALID_PAGE_TOKEN", "page_token is not a token this list returned: start again without it")
	}
	return strings.TrimPrefix(string(b), kind+":"), nil
}

func pageSize(n int32, def, max int) (int, error) {
	switch {
	case n < 0:
		return 0, (fault.Violations{{Type: "OUT_OF_RANGE", Subject: "page_size", Description: "page_size cannot be negative"}}).Err(fault.Invalid, "INVALID_REQUEST", "invalid page size")
	case n == 0:
		return def, nil
	case int(n) > max:
		return max, nil
	}
	return int(n), nil
}

func itoa(n int) string { return strconv.Itoa(n) }
