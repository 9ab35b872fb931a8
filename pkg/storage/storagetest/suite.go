// Package storagetest is the conformance suite of storage.Store. It is
// written against the interface only, so that every backend (bbolt today, a
// replicated one later) runs exactly the same tests:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store { return openMyStore(t) })
//	}
//
// Every record is built with fixed instants; nothing reads the wall clock.
package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// Run runs the suite. open must return a new, empty store each time it is
// called; the suite closes it when the sub-test ends.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	h := harness{open: open}
	t.Run("Consultations", func(t *testing.T) {
		t.Run("CreateAssignsIncreasingIDs", h.createAssignsIncreasingIDs)
		t.Run("GetUnknownOrMalformedIDIsNotFound", h.getUnknownIsNotFound)
		t.Run("UpdateUnknownOrMalformedIDIsNotFound", h.updateUnknownIsNotFound)
		t.Run("UpdateStoresMutation", h.updateStoresMutation)
		t.Run("BuilderErrorStoresNothing", h.builderErrorStoresNothing)
		t.Run("MutationErrorLeavesRecordUnchanged", h.mutationErrorLeavesRecordUnchanged)
		t.Run("ReturnedRecordsAreCopies", h.returnedRecordsAreCopies)
	})
	t.Run("Idempotency", func(t *testing.T) {
		t.Run("CreateReplays", h.createReplays)
		t.Run("CreateKeyNotTakenByFailedBuild", h.createKeyNotTakenByFailure)
		t.Run("UpdateReplays", h.updateReplays)
		t.Run("UpdateKeyNotTakenByFailedMutation", h.updateKeyNotTakenByFailure)
		t.Run("ReusedKeyIsRefused", h.reusedKeyIsRefused)
		t.Run("ConcurrentCreatesWithOneKey", h.concurrentCreatesOneKey)
	})
	t.Run("Concurrency", func(t *testing.T) {
		t.Run("ConcurrentCreates", h.concurrentCreates)
		t.Run("ConcurrentUpdatesLoseNothing", h.concurrentUpdates)
	})
	t.Run("List", func(t *testing.T) {
		t.Run("NewestFirst", h.listNewestFirst)
		t.Run("Paging", h.listPaging)
		t.Run("ByAgencyAndRole", h.listByAgencyAndRole)
		t.Run("ByState", h.listByState)
	})
	t.Run("Deadlines", func(t *testing.T) {
		t.Run("EmptyStoreHasNoDeadline", h.nextDeadlineEmpty)
		t.Run("IndexFollowsRecords", h.deadlineIndexFollowsRecords)
	})
	t.Run("Sweep", func(t *testing.T) {
		t.Run("DeemsOnlyDueAddressees", h.sweepDeemsOnlyDue)
		t.Run("RespectsLimit", h.sweepRespectsLimit)
		t.Run("PassesDeadlinesTakenAway", h.sweepPassesDeadlinesTakenAway)
		t.Run("MutationErrorChangesNothing", h.sweepMutationError)
	})
	t.Run("Deemed", func(t *testing.T) {
		t.Run("PerAgencyAndAcross", h.deemedPerAgencyAndAcross)
		t.Run("SinceUntil", h.deemedSinceUntil)
		t.Run("Paging", h.deemedPaging)
	})
	t.Run("Audit", func(t *testing.T) {
		t.Run("EmptyTrailIsIntact", h.auditEmpty)
		t.Run("SequenceChainAndPaging", h.auditTrail)
		t.Run("RefusedAndReplayedWritesAddNothing", h.auditNothingOnRefusal)
		t.Run("ListEventsAfterLastPossibleSequence", h.auditAfterMaxSequence)
	})
	t.Run("Registry", func(t *testing.T) {
		t.Run("SaveLoadUpsert", h.registrySaveLoad)
	})
}

type harness struct {
	open func(t *testing.T) storage.Store
}

// store opens a fresh store and closes it when t ends.
func (h harness) store(t *testing.T) storage.Store {
	t.Helper()
	st := h.open(t)
	if st == nil {
		t.Fatal("open returned a nil store")
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// --- fixed instants and records ---

var (
	// opened is Monday 2 March 2026, 09:00 UTC: when every test
	// consultation is opened.
	opened = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	// registryTime is when the test registry is saved.
	registryTime = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
)

// at is an instant in March 2026, UTC.
func at(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

var cmpProto = protocmp.Transform()

type addr struct {
	agency   string
	deadline time.Time
}

// newRecord is an open consultation led by lead, without id, each addressee
// pending until its deadline.
func newRecord(lead, title string, addrs ...addr) *tacitv1.Consultation {
	c := &tacitv1.Consultation{
		Title: title, Summary: "Summary of " + title, LegalBasis: "Luật Đất đai 2024, Điều 61",
		Fields: []string{"land", "land.planning"}, Lead: lead, LeadName: "Name of " + lead,
		State:      tacitv1.ConsultationState_CONSULTATION_STATE_OPEN,
		CreateTime: ts(opened), UpdateTime: ts(opened), OpenedBy: "agency:" + lead,
		DeadlineRule: &tacitv1.DeadlineRule{From: ts(opened), Explicit: true},
	}
	for i, a := range addrs {
		if i == 0 || a.deadline.Before(c.GetDeadline().AsTime()) {
			c.Deadline = ts(a.deadline)
		}
		c.Addressees = append(c.Addressees, &tacitv1.Addressee{
			Agency: a.agency, AgencyName: "Name of " + a.agency,
			Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL,
			State: tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING, Deadline: ts(a.deadline),
		})
	}
	return c
}

func event(typ, actor, consultationID, agency string, when time.Time, details string) *tacitv1.AuditEvent {
	return &tacitv1.AuditEvent{
		EventTime: ts(when), Actor: actor, Type: typ,
		ConsultationId: consultationID, Agency: agency, Details: details,
	}
}

// builder returns a Builder that stores a copy of tmpl under the id it is
// given, with one CONSULTATION_OPENED event.
func builder(tmpl *tacitv1.Consultation) storage.Builder {
	return func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
		c := proto.Clone(tmpl).(*tacitv1.Consultation)
		c.Id, c.Name = id, "consultations/"+id
		return c, []*tacitv1.AuditEvent{event(consultation.EventOpened, c.GetOpenedBy(), id, "", opened, "opened "+c.GetTitle())}, nil
	}
}

func mustCreate(t *testing.T, st storage.Store, tmpl *tacitv1.Consultation) *tacitv1.Consultation {
	t.Helper()
	c, replayed, err := st.Create(t.Context(), storage.IdempotencyKey{}, builder(tmpl))
	if err != nil {
		t.Fatalf("Create(%q): %v", tmpl.GetTitle(), err)
	}
	if replayed {
		t.Fatalf("Create(%q) without a request id replayed", tmpl.GetTitle())
	}
	if c == nil || c.GetId() == "" {
		t.Fatalf("Create(%q) returned %v, want a record with an id", tmpl.GetTitle(), c)
	}
	return c
}

func mustUpdate(t *testing.T, st storage.Store, id string, m storage.Mutation) *tacitv1.Consultation {
	t.Helper()
	c, replayed, err := st.Update(t.Context(), id, storage.IdempotencyKey{}, m)
	if err != nil {
		t.Fatalf("Update(%s): %v", id, err)
	}
	if replayed {
		t.Fatalf("Update(%s) without a request id replayed", id)
	}
	return c
}

func mustGet(t *testing.T, st storage.Store, id string) *tacitv1.Consultation {
	t.Helper()
	c, err := st.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%q): %v", id, err)
	}
	return c
}

// wantStored fails unless the stored record equals want.
func wantStored(t *testing.T, st storage.Store, want *tacitv1.Consultation) {
	t.Helper()
	got := mustGet(t, st, want.GetId())
	if d := cmp.Diff(want, got, cmpProto); d != "" {
		t.Errorf("Get(%s) differs from the expected record (-want +got):\n%s", want.GetId(), d)
	}
}

func addressee(t *testing.T, c *tacitv1.Consultation, agency string) *tacitv1.Addressee {
	t.Helper()
	a := consultation.Addressee(c, agency)
	if a == nil {
		t.Fatalf("consultation %s has no addressee %s", c.GetId(), agency)
	}
	return a
}

// --- mutations ---

// reply records agency's reply (or a further revision) at when.
func reply(agency, comment string, when time.Time) storage.Mutation {
	return func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		a := consultation.Addressee(c, agency)
		if a == nil {
			return nil, fmt.Errorf("consultation %s has no addressee %s", c.GetId(), agency)
		}
		r := &tacitv1.Reply{
			Revision: int32(len(a.GetRevisions()) + 1), Position: tacitv1.Position_POSITION_AGREE_WITH_COMMENTS,
			Comment: comment, Signer: &tacitv1.Signer{Name: "Head of " + agency, Role: tacitv1.SignerRole_SIGNER_ROLE_HEAD},
			ReplyTime: ts(when), RepliedBy: "agency:" + agency,
		}
		a.Revisions = append(a.Revisions, r)
		a.Reply = r
		a.State = tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED
		c.UpdateTime = ts(when)
		return []*tacitv1.AuditEvent{event(consultation.EventReplied, "agency:"+agency, c.GetId(), agency, when, comment)}, nil
	}
}

// withdraw withdraws the consultation at when.
func withdraw(when time.Time) storage.Mutation {
	return func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		c.State = tacitv1.ConsultationState_CONSULTATION_STATE_WITHDRAWN
		c.Withdrawal = &tacitv1.Withdrawal{Reason: "no longer needed", WithdrawTime: ts(when), WithdrawnBy: "agency:" + c.GetLead()}
		c.UpdateTime = ts(when)
		return []*tacitv1.AuditEvent{event(consultation.EventWithdrawn, "agency:"+c.GetLead(), c.GetId(), "", when, "withdrawn")}, nil
	}
}

// extend grants agency an extension to until.
func extend(agency string, until, when time.Time) storage.Mutation {
	return func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		a := consultation.Addressee(c, agency)
		if a == nil {
			return nil, fmt.Errorf("consultation %s has no addressee %s", c.GetId(), agency)
		}
		a.Extensions = append(a.Extensions, &tacitv1.Extension{
			Reason: "more time", RequestedDeadline: ts(until), State: tacitv1.ExtensionState_EXTENSION_STATE_GRANTED,
			RequestTime: ts(when), PreviousDeadline: a.GetDeadline(), DecideTime: ts(when),
		})
		a.Deadline = ts(until)
		c.UpdateTime = ts(when)
		return []*tacitv1.AuditEvent{event(consultation.EventExtensionGranted, "agency:"+c.GetLead(), c.GetId(), agency, when, "extended")}, nil
	}
}

// retitle changes the title without touching addressees.
func retitle(title string) storage.Mutation {
	return func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		c.Title = title
		return nil, nil
	}
}

// headOf is the test registry's head of every agency at any instant.
func headOf(agency string, _ time.Time) string { return "Head of " + agency }

// materializeAt is the sweeper's mutation: the silence rule applied at now.
func materializeAt(now time.Time) storage.Mutation {
	return func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		var out []*tacitv1.AuditEvent
		for _, e := range consultation.Materialize(c, now, headOf, true) {
			out = append(out, &tacitv1.AuditEvent{
				EventTime: ts(now), Actor: e.Actor, Type: e.Type, ConsultationId: c.GetId(),
				Agency: e.Agency, Rule: e.Rule, Details: e.Details,
			})
		}
		return out, nil
	}
}

// calls records which consultations a mutation was applied to. A mutation
// may run more than once per change, so it records a set.
type calls struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (r *calls) wrap(m storage.Mutation) storage.Mutation {
	return func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		r.mu.Lock()
		if r.ids == nil {
			r.ids = map[string]bool{}
		}
		r.ids[c.GetId()] = true
		r.mu.Unlock()
		return m(c)
	}
}

func (r *calls) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id := range r.ids {
		out = append(out, id)
	}
	sortIDs(out)
	return out
}

func (r *calls) reset() {
	r.mu.Lock()
	r.ids = nil
	r.mu.Unlock()
}

func sortIDs(ids []string) {
	sort.Slice(ids, func(i, j int) bool {
		a, _ := strconv.Atoi(ids[i])
		b, _ := strconv.Atoi(ids[j])
		return a < b
	})
}

func idsOf(cs []*tacitv1.Consultation) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.GetId())
	}
	return out
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want NotFound", what)
		return
	}
	if k := fault.KindOf(err); k != fault.NotFound {
		t.Errorf("%s: error %q has kind %d, want fault.NotFound (%d)", what, err, k, fault.NotFound)
	}
}

func wantNextDeadline(t *testing.T, st storage.Store, want time.Time, wantOK bool) {
	t.Helper()
	got, ok := NextWork(t, st)
	switch {
	case ok != wantOK:
		t.Errorf("next deadline with work = %v, ok=%v; want %v, ok=%v", got, ok, want, wantOK)
	case ok && !got.Equal(want):
		t.Errorf("next deadline with work = %v; want %v", got.UTC(), want)
	}
}

// errHasWork stops NextWork's probing sweep at an instant with work.
var errHasWork = errors.New("the sweep has work here")

// NextWork returns the earliest deadline or reminder at which the sweep
// applies the rules. A store may keep the entries of deadlines taken away
// (see NextDeadline), and those before it are swept away on the way: at
// each instant NextDeadline names, a sweep that refuses to apply the rules
// either drops everything due (the instant had no work) or is refused (it
// had). NextDeadline must never name an instant later than NextWork's.
func NextWork(t testing.TB, st storage.Store) (time.Time, bool) {
	t.Helper()
	for range 1000 {
		next, ok, err := st.NextDeadline(t.Context())
		if err != nil {
			t.Fatalf("NextDeadline: %v", err)
		}
		if !ok {
			return time.Time{}, false
		}
		_, err = st.SweepDue(t.Context(), next, math.MaxInt32, func(*tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
			return nil, errHasWork
		}, nil)
		if errors.Is(err, errHasWork) {
			return next, true
		}
		if err != nil {
			t.Fatalf("SweepDue(%v): %v", next, err)
		}
		if again, ok2, _ := st.NextDeadline(t.Context()); ok2 && !again.After(next) {
			t.Fatalf("SweepDue(%v) applied no rule and left NextDeadline at %v: the entries due there are neither work nor dropped", next, again)
		}
	}
	t.Fatal("NextWork: NextDeadline did not move on after 1000 sweeps")
	return time.Time{}, false
}

func allEvents(t *testing.T, st storage.Store) []*tacitv1.AuditEvent {
	t.Helper()
	var out []*tacitv1.AuditEvent
	after := uint64(0)
	for page := 0; ; page++ {
		if page > 10000 {
			t.Fatal("ListEvents does not end")
		}
		evs, err := st.ListEvents(t.Context(), storage.EventQuery{AfterSeq: after, Limit: 1000})
		if err != nil {
			t.Fatalf("ListEvents: %v", err)
		}
		if len(evs) == 0 {
			return out
		}
		out = append(out, evs...)
		after = evs[len(evs)-1].GetSequence()
	}
}

// --- consultations ---

func (h harness) createAssignsIncreasingIDs(t *testing.T) {
	st := h.store(t)
	var created []*tacitv1.Consultation
	for i := 1; i <= 3; i++ {
		tmpl := newRecord("so-nnmt", fmt.Sprintf("Consultation %d", i), addr{"so-xay-dung", at(10, 0)})
		var given []string
		c, replayed, err := st.Create(t.Context(), storage.IdempotencyKey{}, func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
			given = append(given, id)
			return builder(tmpl)(id)
		})
		if err != nil || replayed {
			t.Fatalf("Create %d: replayed=%v err=%v", i, replayed, err)
		}
		want := strconv.Itoa(i)
		if len(given) == 0 || given[len(given)-1] != want {
			t.Errorf("Create %d: builder was given ids %q, want %q", i, given, want)
		}
		if c.GetId() != want {
			t.Errorf("Create %d returned id %q, want %q", i, c.GetId(), want)
		}
		wantRec := proto.Clone(tmpl).(*tacitv1.Consultation)
		wantRec.Id, wantRec.Name = want, "consultations/"+want
		if d := cmp.Diff(wantRec, c, cmpProto); d != "" {
			t.Errorf("Create %d returned a different record (-want +got):\n%s", i, d)
		}
		created = append(created, wantRec)
	}
	for _, want := range created {
		wantStored(t, st, want)
		got := mustGet(t, st, "consultations/"+want.GetId())
		if d := cmp.Diff(want, got, cmpProto); d != "" {
			t.Errorf("Get(consultations/%s) differs (-want +got):\n%s", want.GetId(), d)
		}
	}
}

func (h harness) getUnknownIsNotFound(t *testing.T) {
	st := h.store(t)
	mustCreate(t, st, newRecord("so-nnmt", "Only one", addr{"so-xay-dung", at(10, 0)}))
	for _, id := range []string{"999", "2", "0", "-1", "abc", "", "consultations/999", "consultations/abc", "1abc", "18446744073709551616"} {
		c, err := st.Get(t.Context(), id)
		wantNotFound(t, fmt.Sprintf("Get(%q)", id), err)
		if err == nil && c != nil {
			t.Errorf("Get(%q) returned record %q", id, c.GetId())
		}
	}
}

func (h harness) updateUnknownIsNotFound(t *testing.T) {
	st := h.store(t)
	mustCreate(t, st, newRecord("so-nnmt", "Only one", addr{"so-xay-dung", at(10, 0)}))
	var rec calls
	for _, id := range []string{"999", "2", "0", "abc", "", "consultations/999"} {
		_, replayed, err := st.Update(t.Context(), id, storage.IdempotencyKey{}, rec.wrap(retitle("changed")))
		wantNotFound(t, fmt.Sprintf("Update(%q)", id), err)
		if replayed {
			t.Errorf("Update(%q) replayed", id)
		}
	}
	if got := rec.list(); len(got) != 0 {
		t.Errorf("the mutation was called for unknown ids: %q", got)
	}
}

func (h harness) updateStoresMutation(t *testing.T) {
	st := h.store(t)
	c := mustCreate(t, st, newRecord("so-nnmt", "Before", addr{"so-xay-dung", at(10, 0)}, addr{"so-y-te", at(11, 0)}))

	var seen *tacitv1.Consultation
	got, replayed, err := st.Update(t.Context(), "consultations/"+c.GetId(), storage.IdempotencyKey{}, func(rec *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		seen = proto.Clone(rec).(*tacitv1.Consultation)
		return reply("so-xay-dung", "agreed", at(5, 10))(rec)
	})
	if err != nil || replayed {
		t.Fatalf("Update: replayed=%v err=%v", replayed, err)
	}
	if d := cmp.Diff(c, seen, cmpProto); d != "" {
		t.Errorf("the mutation was not given the stored record (-stored +given):\n%s", d)
	}
	want := proto.Clone(c).(*tacitv1.Consultation)
	if _, err := reply("so-xay-dung", "agreed", at(5, 10))(want); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got, cmpProto); d != "" {
		t.Errorf("Update returned (-want +got):\n%s", d)
	}
	wantStored(t, st, want)
}

func (h harness) builderErrorStoresNothing(t *testing.T) {
	st := h.store(t)
	first := mustCreate(t, st, newRecord("so-nnmt", "First", addr{"so-xay-dung", at(10, 0)}))
	refused := fault.New(fault.FailedPrecondition, "ADDRESSEE_NOT_ELIGIBLE", "refused")
	var given []string
	c, replayed, err := st.Create(t.Context(), storage.IdempotencyKey{}, func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
		given = append(given, id)
		return nil, nil, refused
	})
	if !errors.Is(err, refused) {
		t.Errorf("Create with a failing builder returned error %v, want the builder's error", err)
	}
	if c != nil || replayed {
		t.Errorf("Create with a failing builder returned record %v, replayed=%v", c, replayed)
	}
	if len(given) == 0 || given[0] != "2" {
		t.Errorf("failing builder was given ids %q, want \"2\"", given)
	}
	if _, err := st.Get(t.Context(), "2"); err == nil {
		t.Error("Get(2) found a record although its builder failed")
	}
	list, _, err := st.List(t.Context(), storage.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{first.GetId()}, idsOf(list)); d != "" {
		t.Errorf("List after a failed create (-want +got):\n%s", d)
	}
	wantNextDeadline(t, st, at(10, 0), true)
	next := mustCreate(t, st, newRecord("so-nnmt", "Second", addr{"so-xay-dung", at(12, 0)}))
	if next.GetId() != "2" {
		t.Errorf("the create after a failed one got id %q, want \"2\" (a refused create must not consume an id)", next.GetId())
	}
}

func (h harness) mutationErrorLeavesRecordUnchanged(t *testing.T) {
	st := h.store(t)
	c := mustCreate(t, st, newRecord("so-nnmt", "Stays", addr{"so-xay-dung", at(10, 0)}))
	events := len(allEvents(t, st))
	refused := fault.New(fault.FailedPrecondition, "DEADLINE_PASSED", "refused")
	got, replayed, err := st.Update(t.Context(), c.GetId(), storage.IdempotencyKey{}, func(rec *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		// Change everything, then refuse: nothing may be written.
		rec.Title = "changed"
		if _, err := withdraw(at(5, 0))(rec); err != nil {
			return nil, err
		}
		if a := consultation.Addressee(rec, "so-xay-dung"); a != nil {
			a.Deadline = ts(at(1, 0))
		}
		return []*tacitv1.AuditEvent{event("SHOULD_NOT_BE_WRITTEN", "x", rec.GetId(), "", at(5, 0), "")}, refused
	})
	if !errors.Is(err, refused) {
		t.Errorf("Update with a failing mutation returned error %v, want the mutation's error", err)
	}
	if got != nil || replayed {
		t.Errorf("Update with a failing mutation returned record %v, replayed=%v", got, replayed)
	}
	wantStored(t, st, c)
	wantNextDeadline(t, st, at(10, 0), true)
	if n := len(allEvents(t, st)); n != events {
		t.Errorf("audit trail has %d events after a refused update, want %d", n, events)
	}
	list, _, err := st.List(t.Context(), storage.ListQuery{State: tacitv1.ConsultationState_CONSULTATION_STATE_WITHDRAWN, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("List(WITHDRAWN) after a refused withdrawal = %q, want none", idsOf(list))
	}
}

func (h harness) returnedRecordsAreCopies(t *testing.T) {
	st := h.store(t)
	c := mustCreate(t, st, newRecord("so-nnmt", "Original", addr{"so-xay-dung", at(10, 0)}))
	want := proto.Clone(c).(*tacitv1.Consultation)
	got := mustGet(t, st, c.GetId())
	got.Title = "scribbled"
	got.Addressees[0].State = tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED
	list, _, err := st.List(t.Context(), storage.ListQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list {
		l.Title = "scribbled"
	}
	wantStored(t, st, want)
}

// --- idempotency ---

func (h harness) createReplays(t *testing.T) {
	st := h.store(t)
	tmpl := newRecord("so-nnmt", "Retried", addr{"so-xay-dung", at(10, 0)})
	key := storage.IdempotencyKey{Principal: "agency:so-nnmt", Method: "OpenConsultation", ID: "req-1"}
	builds := 0
	build := func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
		builds++
		return builder(tmpl)(id)
	}
	first, replayed, err := st.Create(t.Context(), key, build)
	if err != nil || replayed {
		t.Fatalf("first Create: replayed=%v err=%v", replayed, err)
	}
	// The record changes afterwards; the replay still returns the first result.
	mustUpdate(t, st, first.GetId(), reply("so-xay-dung", "agreed", at(5, 0)))

	builds = 0
	again, replayed, err := st.Create(t.Context(), key, build)
	if err != nil {
		t.Fatalf("retried Create: %v", err)
	}
	if !replayed {
		t.Error("retried Create: replayed=false, want true")
	}
	if builds != 0 {
		t.Errorf("retried Create called the builder %d times, want 0", builds)
	}
	if d := cmp.Diff(first, again, cmpProto); d != "" {
		t.Errorf("retried Create did not return the first result (-first +replay):\n%s", d)
	}

	for _, other := range []storage.IdempotencyKey{
		{Principal: "agency:so-y-te", Method: key.Method, ID: key.ID},
		{Principal: key.Principal, Method: "OtherMethod", ID: key.ID},
		{Principal: key.Principal, Method: key.Method, ID: "req-2"},
	} {
		c, replayed, err := st.Create(t.Context(), other, builder(tmpl))
		if err != nil || replayed {
			t.Errorf("Create with key %+v: replayed=%v err=%v, want a new record", other, replayed, err)
			continue
		}
		if c.GetId() == first.GetId() {
			t.Errorf("Create with key %+v returned the first record's id %s", other, c.GetId())
		}
	}

	empty := storage.IdempotencyKey{Principal: key.Principal, Method: key.Method}
	a, ra, err := st.Create(t.Context(), empty, builder(tmpl))
	if err != nil {
		t.Fatal(err)
	}
	b, rb, err := st.Create(t.Context(), empty, builder(tmpl))
	if err != nil {
		t.Fatal(err)
	}
	if ra || rb || a.GetId() == b.GetId() {
		t.Errorf("two Creates with an empty request id: ids %s,%s replayed %v,%v; want two new records", a.GetId(), b.GetId(), ra, rb)
	}
	list, _, err := st.List(t.Context(), storage.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"6", "5", "4", "3", "2", "1"}, idsOf(list)); d != "" {
		t.Errorf("List (-want +got):\n%s", d)
	}
}

func (h harness) createKeyNotTakenByFailure(t *testing.T) {
	st := h.store(t)
	key := storage.IdempotencyKey{Principal: "agency:so-nnmt", Method: "OpenConsultation", ID: "req-1"}
	refused := fault.New(fault.Invalid, "INVALID_REQUEST", "refused")
	_, _, err := st.Create(t.Context(), key, func(string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
		return nil, nil, refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("Create with a failing builder: %v, want the builder's error", err)
	}
	c, replayed, err := st.Create(t.Context(), key, builder(newRecord("so-nnmt", "Corrected", addr{"so-xay-dung", at(10, 0)})))
	if err != nil || replayed {
		t.Fatalf("corrected Create with the same key: replayed=%v err=%v; a refused request must not take its key", replayed, err)
	}
	if c.GetId() != "1" || c.GetTitle() != "Corrected" {
		t.Errorf("corrected Create = id %q title %q, want id 1 title Corrected", c.GetId(), c.GetTitle())
	}
}

func (h harness) updateReplays(t *testing.T) {
	st := h.store(t)
	c := mustCreate(t, st, newRecord("so-nnmt", "Replies", addr{"so-xay-dung", at(10, 0)}))
	key := storage.IdempotencyKey{Principal: "agency:so-xay-dung", Method: "Reply", ID: "reply-1"}
	var rec calls
	first, replayed, err := st.Update(t.Context(), c.GetId(), key, rec.wrap(reply("so-xay-dung", "first", at(3, 0))))
	if err != nil || replayed {
		t.Fatalf("first Update: replayed=%v err=%v", replayed, err)
	}
	if n := len(addressee(t, first, "so-xay-dung").GetRevisions()); n != 1 {
		t.Fatalf("first Update left %d revisions, want 1", n)
	}

	rec.reset()
	again, replayed, err := st.Update(t.Context(), c.GetId(), key, rec.wrap(reply("so-xay-dung", "retried", at(3, 1))))
	if err != nil {
		t.Fatalf("retried Update: %v", err)
	}
	if !replayed {
		t.Error("retried Update: replayed=false, want true")
	}
	if got := rec.list(); len(got) != 0 {
		t.Errorf("retried Update called the mutation (on %q)", got)
	}
	if d := cmp.Diff(first, again, cmpProto); d != "" {
		t.Errorf("retried Update did not return the first result (-first +replay):\n%s", d)
	}
	wantStored(t, st, first)

	// Another principal with the same request id is another request.
	other := storage.IdempotencyKey{Principal: "agency:so-nnmt", Method: key.Method, ID: key.ID}
	second, replayed, err := st.Update(t.Context(), c.GetId(), other, reply("so-xay-dung", "second", at(3, 2)))
	if err != nil || replayed {
		t.Fatalf("Update by another principal: replayed=%v err=%v, want applied", replayed, err)
	}
	if n := len(addressee(t, second, "so-xay-dung").GetRevisions()); n != 2 {
		t.Errorf("Update by another principal left %d revisions, want 2", n)
	}

	// Replaying the first key still returns the first result.
	again, replayed, err = st.Update(t.Context(), c.GetId(), key, reply("so-xay-dung", "retried", at(3, 3)))
	if err != nil || !replayed {
		t.Errorf("retried Update after a later change: replayed=%v err=%v, want replayed", replayed, err)
	} else if d := cmp.Diff(first, again, cmpProto); d != "" {
		t.Errorf("retried Update after a later change did not return the first result (-first +replay):\n%s", d)
	}

	// An empty request id never replays.
	empty := storage.IdempotencyKey{Principal: key.Principal, Method: key.Method}
	for i := 3; i <= 4; i++ {
		got, replayed, err := st.Update(t.Context(), c.GetId(), empty, reply("so-xay-dung", "plain", at(3, i)))
		if err != nil || replayed {
			t.Fatalf("Update with an empty request id: replayed=%v err=%v", replayed, err)
		}
		if n := len(addressee(t, got, "so-xay-dung").GetRevisions()); n != i {
			t.Errorf("Update with an empty request id left %d revisions, want %d", n, i)
		}
	}
	if n := len(addressee(t, mustGet(t, st, c.GetId()), "so-xay-dung").GetRevisions()); n != 4 {
		t.Errorf("stored record has %d revisions, want 4", n)
	}
}

// A request id names one request: reused for another consultation or with
// other content, it is refused and nothing is written, where a replay would
// have told the caller its second request was done.
func (h harness) reusedKeyIsRefused(t *testing.T) {
	st := h.store(t)
	a := mustCreate(t, st, newRecord("so-nnmt", "A", addr{"so-xay-dung", at(10, 0)}))
	b := mustCreate(t, st, newRecord("so-nnmt", "B", addr{"so-xay-dung", at(10, 0)}))
	key := storage.IdempotencyKey{Principal: "agency:so-xay-dung", Method: "Reply", ID: "reply-1", Fingerprint: []byte("reply to A")}
	first, _, err := st.Update(t.Context(), a.GetId(), key, reply("so-xay-dung", "on A", at(3, 0)))
	if err != nil {
		t.Fatal(err)
	}
	refused := func(what string, err error) {
		t.Helper()
		f, ok := fault.As(err)
		if !ok || f.Kind != fault.Invalid || f.Reason != storage.ReasonRequestIDReused || len(f.Violations) != 1 || f.Violations[0].Subject != "request_id" {
			t.Errorf("%s: err = %v, want fault.Invalid %s naming request_id", what, err, storage.ReasonRequestIDReused)
		}
	}
	// The same key on another consultation.
	_, replayed, err := st.Update(t.Context(), b.GetId(), key, reply("so-xay-dung", "on B", at(3, 1)))
	refused("same request id on another consultation", err)
	if replayed {
		t.Error("same request id on another consultation replayed the first result")
	}
	wantStored(t, st, b)
	// The same key with other content on the same consultation.
	other := key
	other.Fingerprint = []byte("another reply to A")
	_, _, err = st.Update(t.Context(), a.GetId(), other, reply("so-xay-dung", "changed", at(3, 2)))
	refused("same request id with other content", err)
	wantStored(t, st, first)
	// The same content is a retry.
	again, replayed, err := st.Update(t.Context(), a.GetId(), key, reply("so-xay-dung", "on A", at(3, 3)))
	if err != nil || !replayed {
		t.Errorf("exact retry: replayed=%v err=%v, want replayed", replayed, err)
	} else if d := cmp.Diff(first, again, cmpProto); d != "" {
		t.Errorf("exact retry did not return the first result (-first +replay):\n%s", d)
	}
	// Create compares content the same way.
	okey := storage.IdempotencyKey{Principal: "agency:so-nnmt", Method: "OpenConsultation", ID: "open-1", Fingerprint: []byte("C")}
	c, _, err := st.Create(t.Context(), okey, builder(newRecord("so-nnmt", "C", addr{"so-xay-dung", at(10, 0)})))
	if err != nil {
		t.Fatal(err)
	}
	okey.Fingerprint = []byte("D")
	_, _, err = st.Create(t.Context(), okey, builder(newRecord("so-nnmt", "D", addr{"so-xay-dung", at(10, 0)})))
	refused("same request id opening something else", err)
	list, _, err := st.List(t.Context(), storage.ListQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{c.GetId(), b.GetId(), a.GetId()}, idsOf(list)); d != "" {
		t.Errorf("stored consultations (-want +got):\n%s", d)
	}
}

func (h harness) updateKeyNotTakenByFailure(t *testing.T) {
	st := h.store(t)
	c := mustCreate(t, st, newRecord("so-nnmt", "Replies", addr{"so-xay-dung", at(10, 0)}))
	key := storage.IdempotencyKey{Principal: "agency:so-xay-dung", Method: "Reply", ID: "reply-1"}
	refused := fault.New(fault.Invalid, "INVALID_REQUEST", "refused")
	_, _, err := st.Update(t.Context(), c.GetId(), key, func(*tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) { return nil, refused })
	if !errors.Is(err, refused) {
		t.Fatalf("Update with a failing mutation: %v, want the mutation's error", err)
	}
	got, replayed, err := st.Update(t.Context(), c.GetId(), key, reply("so-xay-dung", "corrected", at(3, 0)))
	if err != nil || replayed {
		t.Fatalf("corrected Update with the same key: replayed=%v err=%v; a refused request must not take its key", replayed, err)
	}
	if n := len(addressee(t, got, "so-xay-dung").GetRevisions()); n != 1 {
		t.Errorf("corrected Update left %d revisions, want 1", n)
	}
}

func (h harness) concurrentCreatesOneKey(t *testing.T) {
	st := h.store(t)
	tmpl := newRecord("so-nnmt", "Retried in parallel", addr{"so-xay-dung", at(10, 0)})
	key := storage.IdempotencyKey{Principal: "agency:so-nnmt", Method: "OpenConsultation", ID: "same"}
	const n = 10
	type result struct {
		id       string
		replayed bool
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, replayed, err := st.Create(t.Context(), key, builder(tmpl))
			if err != nil {
				t.Errorf("Create %d: %v", i, err)
				return
			}
			results[i] = result{c.GetId(), replayed}
		})
	}
	wg.Wait()
	fresh := 0
	for i, r := range results {
		if !r.replayed {
			fresh++
		}
		if r.id != "1" {
			t.Errorf("Create %d returned id %q, want \"1\"", i, r.id)
		}
	}
	if fresh != 1 {
		t.Errorf("%d of %d concurrent Creates with one key were not replays, want exactly 1", fresh, n)
	}
	list, _, err := st.List(t.Context(), storage.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"1"}, idsOf(list)); d != "" {
		t.Errorf("List (-want +got):\n%s", d)
	}
}

// --- concurrency ---

func (h harness) concurrentCreates(t *testing.T) {
	st := h.store(t)
	const n = 50
	got := make([]*tacitv1.Consultation, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tmpl := newRecord("so-nnmt", fmt.Sprintf("Parallel %d", i), addr{"so-xay-dung", at(10, 0).Add(time.Duration(i) * time.Minute)})
			c, replayed, err := st.Create(t.Context(), storage.IdempotencyKey{}, builder(tmpl))
			if err != nil || replayed {
				t.Errorf("Create %d: replayed=%v err=%v", i, replayed, err)
				return
			}
			got[i] = c
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	ids := map[string]int{}
	var all []string
	for i, c := range got {
		if c.GetTitle() != fmt.Sprintf("Parallel %d", i) {
			t.Errorf("Create %d returned title %q", i, c.GetTitle())
		}
		if j, dup := ids[c.GetId()]; dup {
			t.Errorf("Creates %d and %d both got id %s", j, i, c.GetId())
		}
		ids[c.GetId()] = i
		all = append(all, c.GetId())
		wantStored(t, st, c)
	}
	sortIDs(all)
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, strconv.Itoa(i))
	}
	if d := cmp.Diff(want, all); d != "" {
		t.Errorf("ids of %d concurrent creates (-want +got):\n%s", n, d)
	}
	list, _, err := st.List(t.Context(), storage.ListQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Errorf("List returned %d records, want %d", len(list), n)
	}
	wantNextDeadline(t, st, at(10, 0), true)
	v, err := st.VerifyAudit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact || v.Checked != n {
		t.Errorf("VerifyAudit = %+v, want intact with %d entries", v, n)
	}
}

func (h harness) concurrentUpdates(t *testing.T) {
	st := h.store(t)
	c := mustCreate(t, st, newRecord("so-nnmt", "Contended", addr{"so-xay-dung", at(20, 0)}))
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, replayed, err := st.Update(t.Context(), c.GetId(), storage.IdempotencyKey{}, reply("so-xay-dung", fmt.Sprintf("revision from goroutine %d", i), at(3, 0).Add(time.Duration(i)*time.Minute)))
			if err != nil || replayed {
				t.Errorf("Update %d: replayed=%v err=%v", i, replayed, err)
			}
		})
	}
	wg.Wait()
	a := addressee(t, mustGet(t, st, c.GetId()), "so-xay-dung")
	if len(a.GetRevisions()) != n {
		t.Fatalf("stored record has %d revisions after %d concurrent updates, want %d (lost update)", len(a.GetRevisions()), n, n)
	}
	comments := map[string]bool{}
	for i, r := range a.GetRevisions() {
		if r.GetRevision() != int32(i+1) {
			t.Errorf("revision %d is numbered %d", i+1, r.GetRevision())
		}
		comments[r.GetComment()] = true
	}
	for i := range n {
		if !comments[fmt.Sprintf("revision from goroutine %d", i)] {
			t.Errorf("the update of goroutine %d is missing", i)
		}
	}
	if d := cmp.Diff(a.GetRevisions()[n-1], a.GetReply(), cmpProto); d != "" {
		t.Errorf("reply in force is not the last revision (-last +reply):\n%s", d)
	}
	if evs := allEvents(t, st); len(evs) != n+1 {
		t.Errorf("audit trail has %d events, want %d", len(evs), n+1)
	}
}

// --- list ---

func (h harness) listNewestFirst(t *testing.T) {
	st := h.store(t)
	for i := 1; i <= 5; i++ {
		mustCreate(t, st, newRecord("so-nnmt", fmt.Sprintf("C%d", i), addr{"so-xay-dung", at(10, 0)}))
	}
	list, next, err := st.List(t.Context(), storage.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"5", "4", "3", "2", "1"}, idsOf(list)); d != "" {
		t.Errorf("List (-want +got):\n%s", d)
	}
	if next != "" {
		t.Errorf("List of everything returned next=%q, want empty", next)
	}
	for _, c := range list {
		wantStored(t, st, c)
	}
}

// listAll pages through q with q.Limit rows per page and returns the ids in
// order, failing on any page larger than the limit.
func listAll(t *testing.T, st storage.Store, q storage.ListQuery) []string {
	t.Helper()
	var out []string
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("List(%+v) does not end", q)
		}
		list, next, err := st.List(t.Context(), q)
		if err != nil {
			t.Fatalf("List(%+v): %v", q, err)
		}
		if len(list) > q.Limit {
			t.Errorf("List(%+v) returned %d rows, more than the limit", q, len(list))
		}
		out = append(out, idsOf(list)...)
		if next == "" {
			return out
		}
		if len(list) == 0 {
			t.Fatalf("List(%+v) returned an empty page with next=%q", q, next)
		}
		q.After = next
	}
}

func (h harness) listPaging(t *testing.T) {
	st := h.store(t)
	for i := 1; i <= 7; i++ {
		mustCreate(t, st, newRecord("so-nnmt", fmt.Sprintf("C%d", i), addr{"so-xay-dung", at(10, 0)}))
	}
	all := []string{"7", "6", "5", "4", "3", "2", "1"}
	for _, limit := range []int{1, 2, 3, 7, 8} {
		got := listAll(t, st, storage.ListQuery{Limit: limit})
		if d := cmp.Diff(all, got); d != "" {
			t.Errorf("paging with Limit %d (-want +got):\n%s", limit, d)
		}
	}
	first, next, err := st.List(t.Context(), storage.ListQuery{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(all[:3], idsOf(first)); d != "" || next == "" {
		t.Errorf("first page = %q next=%q, want %q and a next token", idsOf(first), next, all[:3])
	}
	// A page token stays valid while newer records are added.
	mustCreate(t, st, newRecord("so-nnmt", "C8", addr{"so-xay-dung", at(10, 0)}))
	rest := listAll(t, st, storage.ListQuery{Limit: 3, After: next})
	if d := cmp.Diff(all[3:], rest); d != "" {
		t.Errorf("pages after the first, with a newer record added (-want +got):\n%s", d)
	}
}

func (h harness) listByAgencyAndRole(t *testing.T) {
	st := h.store(t)
	// 1: A leads, consults B and C. 2: B leads, consults A. 3: C leads,
	// consults B. 4: D leads, consults C.
	const a, b, c, d = "agency-a", "agency-b", "agency-c", "agency-d"
	mustCreate(t, st, newRecord(a, "one", addr{b, at(10, 0)}, addr{c, at(10, 0)}))
	mustCreate(t, st, newRecord(b, "two", addr{a, at(10, 0)}))
	mustCreate(t, st, newRecord(c, "three", addr{b, at(10, 0)}))
	mustCreate(t, st, newRecord(d, "four", addr{c, at(10, 0)}))
	for _, tc := range []struct {
		agency string
		role   storage.Role
		want   []string
	}{
		{a, storage.LeadRole, []string{"1"}},
		{a, storage.AddresseeRole, []string{"2"}},
		{a, storage.AnyRole, []string{"2", "1"}},
		{b, storage.LeadRole, []string{"2"}},
		{b, storage.AddresseeRole, []string{"3", "1"}},
		{b, storage.AnyRole, []string{"3", "2", "1"}},
		{c, storage.LeadRole, []string{"3"}},
		{c, storage.AddresseeRole, []string{"4", "1"}},
		{c, storage.AnyRole, []string{"4", "3", "1"}},
		{d, storage.AddresseeRole, nil},
		{"agency", storage.AnyRole, nil},
		{"agency-e", storage.AnyRole, nil},
		{"", storage.AnyRole, []string{"4", "3", "2", "1"}},
	} {
		for _, limit := range []int{1, 2, 100} {
			got := listAll(t, st, storage.ListQuery{Agency: tc.agency, Role: tc.role, Limit: limit})
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("List(agency %q, role %d, limit %d) (-want +got):\n%s", tc.agency, tc.role, limit, d)
			}
		}
	}
}

func (h harness) listByState(t *testing.T) {
	st := h.store(t)
	const a, b = "agency-a", "agency-b"
	mustCreate(t, st, newRecord(a, "open", addr{b, at(10, 0)}))
	w := mustCreate(t, st, newRecord(a, "withdrawn", addr{b, at(10, 0)}))
	mustCreate(t, st, newRecord(b, "open too", addr{a, at(10, 0)}))
	mustUpdate(t, st, w.GetId(), withdraw(at(4, 0)))
	open, withdrawn := tacitv1.ConsultationState_CONSULTATION_STATE_OPEN, tacitv1.ConsultationState_CONSULTATION_STATE_WITHDRAWN
	for _, tc := range []struct {
		agency string
		role   storage.Role
		state  tacitv1.ConsultationState
		want   []string
	}{
		{"", storage.AnyRole, open, []string{"3", "1"}},
		{"", storage.AnyRole, withdrawn, []string{"2"}},
		{"", storage.AnyRole, tacitv1.ConsultationState_CONSULTATION_STATE_CONCLUDED, nil},
		{"", storage.AnyRole, tacitv1.ConsultationState_CONSULTATION_STATE_UNSPECIFIED, []string{"3", "2", "1"}},
		{a, storage.LeadRole, open, []string{"1"}},
		{a, storage.LeadRole, withdrawn, []string{"2"}},
		{a, storage.AnyRole, open, []string{"3", "1"}},
		{b, storage.AddresseeRole, open, []string{"1"}},
		{b, storage.AddresseeRole, withdrawn, []string{"2"}},
	} {
		for _, limit := range []int{1, 100} {
			got := listAll(t, st, storage.ListQuery{Agency: tc.agency, Role: tc.role, State: tc.state, Limit: limit})
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("List(agency %q, role %d, state %s, limit %d) (-want +got):\n%s", tc.agency, tc.role, tc.state, limit, d)
			}
		}
	}
}

// --- deadlines ---

func (h harness) nextDeadlineEmpty(t *testing.T) {
	st := h.store(t)
	wantNextDeadline(t, st, time.Time{}, false)
}

func (h harness) deadlineIndexFollowsRecords(t *testing.T) {
	st := h.store(t)
	d1, d2, d3, d4, d5 := at(9, 0), at(10, 0), at(11, 0), at(12, 0), at(13, 0)

	// A closed consultation with a pending addressee never counts.
	closed := newRecord("so-nnmt", "concluded", addr{"so-tu-phap", at(3, 0)})
	closed.State = tacitv1.ConsultationState_CONSULTATION_STATE_CONCLUDED
	mustCreate(t, st, closed)
	wantNextDeadline(t, st, time.Time{}, false)

	c1 := mustCreate(t, st, newRecord("so-nnmt", "two addressees", addr{"so-xay-dung", d2}, addr{"so-y-te", d3}))
	wantNextDeadline(t, st, d2, true)
	c2 := mustCreate(t, st, newRecord("so-nnmt", "earliest", addr{"so-xay-dung", d1}))
	wantNextDeadline(t, st, d1, true)

	// Withdrawing the consultation removes its addressees from the index.
	mustUpdate(t, st, c2.GetId(), withdraw(at(4, 0)))
	wantNextDeadline(t, st, d2, true)

	// An update that does not touch addressees keeps them in the index.
	mustUpdate(t, st, c1.GetId(), retitle("renamed"))
	wantNextDeadline(t, st, d2, true)

	// A reply takes the addressee out.
	mustUpdate(t, st, c1.GetId(), reply("so-xay-dung", "agreed", at(5, 0)))
	wantNextDeadline(t, st, d3, true)

	// An extension moves the entry.
	mustUpdate(t, st, c1.GetId(), extend("so-y-te", d5, at(6, 0)))
	wantNextDeadline(t, st, d5, true)
	var rec calls
	n, err := st.SweepDue(t.Context(), d4, 100, rec.wrap(materializeAt(d4)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || len(rec.list()) != 0 {
		t.Errorf("SweepDue at %v after the extension to %v changed %d (mutated %q), want 0: the old deadline is still indexed", d4, d5, n, rec.list())
	}
	mustUpdate(t, st, c1.GetId(), extend("so-y-te", d4, at(6, 1)))
	wantNextDeadline(t, st, d4, true)

	mustUpdate(t, st, c1.GetId(), reply("so-y-te", "agreed", at(7, 0)))
	wantNextDeadline(t, st, time.Time{}, false)

	// Two addressees sharing a deadline have an entry each.
	c3 := mustCreate(t, st, newRecord("so-nnmt", "shared deadline", addr{"so-xay-dung", d3}, addr{"so-y-te", d3}))
	wantNextDeadline(t, st, d3, true)
	mustUpdate(t, st, c3.GetId(), reply("so-y-te", "agreed", at(7, 0)))
	wantNextDeadline(t, st, d3, true)
	mustUpdate(t, st, c3.GetId(), reply("so-xay-dung", "agreed", at(7, 1)))
	wantNextDeadline(t, st, time.Time{}, false)
}

// --- sweep ---

func (h harness) sweepDeemsOnlyDue(t *testing.T) {
	st := h.store(t)
	now := at(10, 0)
	later := at(12, 0)
	c1 := mustCreate(t, st, newRecord("so-nnmt", "past", addr{"agency-a", at(9, 0)}))
	c2 := mustCreate(t, st, newRecord("so-nnmt", "exactly now", addr{"agency-b", now}, addr{"agency-c", later}))
	c3 := mustCreate(t, st, newRecord("so-nnmt", "later", addr{"agency-d", later}))
	// Past deadlines that must not be swept: a replied addressee and a
	// withdrawn consultation.
	c4 := mustCreate(t, st, newRecord("so-nnmt", "replied", addr{"agency-e", at(8, 0)}))
	c4 = mustUpdate(t, st, c4.GetId(), reply("agency-e", "agreed", at(7, 0)))
	c5 := mustCreate(t, st, newRecord("so-nnmt", "withdrawn", addr{"agency-f", at(8, 0)}))
	c5 = mustUpdate(t, st, c5.GetId(), withdraw(at(7, 0)))

	var rec calls
	check := materializeAt(now)
	n, err := st.SweepDue(t.Context(), now, 100, rec.wrap(func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		due := false
		for _, a := range c.GetAddressees() {
			if a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING && !a.GetDeadline().AsTime().After(now) {
				due = true
			}
		}
		if !due || c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
			t.Errorf("SweepDue called the mutation for consultation %s, which has no pending addressee due at %v", c.GetId(), now)
		}
		return check(c)
	}), nil)
	if err != nil {
		t.Fatalf("SweepDue: %v", err)
	}
	if n != 2 {
		t.Errorf("SweepDue = %d, want 2", n)
	}
	if d := cmp.Diff([]string{c1.GetId(), c2.GetId()}, rec.list()); d != "" {
		t.Errorf("SweepDue mutated (-want +got):\n%s", d)
	}

	want1 := proto.Clone(c1).(*tacitv1.Consultation)
	consultation.Materialize(want1, now, headOf, true)
	wantStored(t, st, want1)
	a := addressee(t, mustGet(t, st, c1.GetId()), "agency-a")
	if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED ||
		!a.GetDeemedApproval().GetEffectiveTime().AsTime().Equal(at(9, 0)) ||
		a.GetDeemedApproval().GetResponsibleHead() != "Head of agency-a" {
		t.Errorf("after the sweep agency-a = %v, want deemed approved at its deadline with its head", a)
	}
	want2 := proto.Clone(c2).(*tacitv1.Consultation)
	consultation.Materialize(want2, now, headOf, true)
	wantStored(t, st, want2)
	if s := addressee(t, want2, "agency-c").GetState(); s != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
		t.Fatalf("test setup: agency-c is %s", s)
	}
	wantStored(t, st, c3)
	wantStored(t, st, c4)
	wantStored(t, st, c5)
	wantNextDeadline(t, st, later, true)

	// Swept addressees left the index: a second sweep at the same instant
	// finds nothing.
	rec.reset()
	n, err = st.SweepDue(t.Context(), now, 100, rec.wrap(materializeAt(now)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || len(rec.list()) != 0 {
		t.Errorf("second SweepDue at the same instant = %d (mutated %q), want 0", n, rec.list())
	}
	// Just before the later deadline nothing is due either.
	n, err = st.SweepDue(t.Context(), later.Add(-time.Nanosecond), 100, rec.wrap(materializeAt(later.Add(-time.Nanosecond))), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || len(rec.list()) != 0 {
		t.Errorf("SweepDue one nanosecond before %v = %d (mutated %q), want 0", later, n, rec.list())
	}
	n, err = st.SweepDue(t.Context(), later, 100, rec.wrap(materializeAt(later)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("SweepDue at %v = %d, want 2", later, n)
	}
	if d := cmp.Diff([]string{c2.GetId(), c3.GetId()}, rec.list()); d != "" {
		t.Errorf("SweepDue at %v mutated (-want +got):\n%s", later, d)
	}
	wantNextDeadline(t, st, time.Time{}, false)
}

func (h harness) sweepRespectsLimit(t *testing.T) {
	st := h.store(t)
	now := at(20, 0)
	// The limit counts due entries: consultation 1's two due addressees
	// fill a sweep of 2 by themselves; 2 and 3 make the next.
	mustCreate(t, st, newRecord("so-nnmt", "one", addr{"agency-a", at(9, 0)}, addr{"agency-b", at(9, 0)}))
	mustCreate(t, st, newRecord("so-nnmt", "two", addr{"agency-a", at(10, 0)}))
	mustCreate(t, st, newRecord("so-nnmt", "three", addr{"agency-a", at(11, 0)}))
	mustCreate(t, st, newRecord("so-nnmt", "not due", addr{"agency-a", at(21, 0)}))

	var rec calls
	var commits []int
	n, err := st.SweepDue(t.Context(), now, 2, rec.wrap(materializeAt(now)), func(n int) { commits = append(commits, n) })
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || !slices.Equal(commits, []int{1, 2}) {
		t.Errorf("SweepDue with limit 2 changed %d consultations in transactions changing %v; want 3 in [1 2]", n, commits)
	}
	seen := map[string]bool{}
	for _, id := range rec.list() {
		seen[id] = true
	}
	if d := cmp.Diff(map[string]bool{"1": true, "2": true, "3": true}, seen); d != "" {
		t.Errorf("consultations swept (-want +got):\n%s", d)
	}
	for _, id := range []string{"1", "2", "3"} {
		for _, a := range mustGet(t, st, id).GetAddressees() {
			if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
				t.Errorf("consultation %s addressee %s is %s after the sweeps, want deemed approved", id, a.GetAgency(), a.GetState())
			}
		}
	}
	wantNextDeadline(t, st, at(21, 0), true)
}

// A sweep taking, one at a time, the entries of a reply and a withdrawal
// (which a store may keep until their time, see NextDeadline) goes on to
// the deadline due after them, and never applies the rules to the others.
func (h harness) sweepPassesDeadlinesTakenAway(t *testing.T) {
	st := h.store(t)
	now := at(20, 0)
	replied := mustCreate(t, st, newRecord("so-nnmt", "replied", addr{"agency-a", at(9, 0)}))
	mustUpdate(t, st, replied.GetId(), reply("agency-a", "agreed", at(8, 0)))
	withdrawn := mustCreate(t, st, newRecord("so-nnmt", "withdrawn", addr{"agency-a", at(10, 0)}))
	mustUpdate(t, st, withdrawn.GetId(), withdraw(at(8, 0)))
	due := mustCreate(t, st, newRecord("so-nnmt", "due", addr{"agency-a", at(11, 0)}))

	var rec calls
	var commits []int
	if _, err := st.SweepDue(t.Context(), now, 1, rec.wrap(materializeAt(now)), func(n int) { commits = append(commits, n) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(commits, []int{0, 0, 1}) {
		t.Errorf("SweepDue with limit 1 over 3 entries made transactions changing %v, want [0 0 1]", commits)
	}
	if got := rec.list(); !slices.Equal(got, []string{due.GetId()}) {
		t.Errorf("sweeping until no more mutated %q, want only %s", got, due.GetId())
	}
	if a := mustGet(t, st, due.GetId()).GetAddressees()[0]; a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
		t.Errorf("the due addressee is %s after the sweep, want deemed approved", a.GetState())
	}
	wantNextDeadline(t, st, time.Time{}, false)
}

func (h harness) sweepMutationError(t *testing.T) {
	st := h.store(t)
	now := at(20, 0)
	c := mustCreate(t, st, newRecord("so-nnmt", "refused", addr{"agency-a", at(9, 0)}))
	events := len(allEvents(t, st))
	boom := errors.New("boom")
	_, err := st.SweepDue(t.Context(), now, 100, func(rec *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		if _, err := materializeAt(now)(rec); err != nil {
			return nil, err
		}
		return nil, boom
	}, nil)
	if !errors.Is(err, boom) {
		t.Errorf("SweepDue with a failing mutation returned %v, want the mutation's error", err)
	}
	wantStored(t, st, c)
	wantNextDeadline(t, st, at(9, 0), true)
	if n := len(allEvents(t, st)); n != events {
		t.Errorf("audit trail has %d events after a failed sweep, want %d", n, events)
	}
}

// --- deemed approvals ---

// deemedRow is what an auditor reads of a deemed approval.
type deemedRow struct {
	ID, Title, Lead, Agency, AgencyName, Head string
	Effective                                 time.Time
	Extension                                 bool
	Fields                                    []string
}

func rowOf(r *tacitv1.DeemedApprovalRecord) deemedRow {
	return deemedRow{
		ID: r.GetConsultationId(), Title: r.GetTitle(), Lead: r.GetLead(), Agency: r.GetAgency(),
		AgencyName: r.GetAgencyName(), Head: r.GetResponsibleHead(), Effective: r.GetEffectiveTime().AsTime(),
		Extension: r.GetExtensionRequested(), Fields: r.GetFields(),
	}
}

// deemedFixture stores four consultations and sweeps them at 20 March:
//
//	1 "Alpha" led by lead-1: agency-a deemed 9 March, agency-b deemed 12 March
//	2 "Beta"  led by lead-2: agency-a deemed 10 March (after an extension)
//	3 "Gamma" led by lead-1: agency-b deemed 11 March; agency-c replied
//	4 "Delta" led by lead-2: agency-a due 25 March (not deemed)
//
// It returns every row in effective-time order.
func deemedFixture(t *testing.T, st storage.Store) []deemedRow {
	t.Helper()
	mustCreate(t, st, newRecord("lead-1", "Alpha", addr{"agency-a", at(9, 0)}, addr{"agency-b", at(12, 0)}))
	mustCreate(t, st, newRecord("lead-2", "Beta", addr{"agency-a", at(8, 0)}))
	mustUpdate(t, st, "2", extend("agency-a", at(10, 0), at(5, 0)))
	mustCreate(t, st, newRecord("lead-1", "Gamma", addr{"agency-b", at(11, 0)}, addr{"agency-c", at(11, 0)}))
	mustUpdate(t, st, "3", reply("agency-c", "agreed", at(6, 0)))
	mustCreate(t, st, newRecord("lead-2", "Delta", addr{"agency-a", at(25, 0)}))
	now := at(20, 0)
	n, err := st.SweepDue(t.Context(), now, 100, materializeAt(now), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("SweepDue = %d, want 3", n)
	}
	fields := []string{"land", "land.planning"}
	row := func(id, title, lead, agency string, eff time.Time, ext bool) deemedRow {
		return deemedRow{ID: id, Title: title, Lead: lead, Agency: agency, AgencyName: "Name of " + agency,
			Head: "Head of " + agency, Effective: eff, Extension: ext, Fields: fields}
	}
	return []deemedRow{
		row("1", "Alpha", "lead-1", "agency-a", at(9, 0), false),
		row("2", "Beta", "lead-2", "agency-a", at(10, 0), true),
		row("3", "Gamma", "lead-1", "agency-b", at(11, 0), false),
		row("1", "Alpha", "lead-1", "agency-b", at(12, 0), false),
	}
}

func filterRows(rows []deemedRow, keep func(deemedRow) bool) []deemedRow {
	var out []deemedRow
	for _, r := range rows {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// deemedAll pages through q and returns every row in order.
func deemedAll(t *testing.T, st storage.Store, q storage.DeemedQuery) []deemedRow {
	t.Helper()
	var out []deemedRow
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("ListDeemed(%+v) does not end", q)
		}
		recs, next, err := st.ListDeemed(t.Context(), q)
		if err != nil {
			t.Fatalf("ListDeemed(%+v): %v", q, err)
		}
		if q.Limit > 0 && len(recs) > q.Limit {
			t.Errorf("ListDeemed(%+v) returned %d rows, more than the limit", q, len(recs))
		}
		// The same page in wire form (as the server sends it) decodes to
		// the same records, with the same cursor.
		encoded, encNext, err := st.ListDeemedEncoded(t.Context(), q)
		if err != nil {
			t.Fatalf("ListDeemedEncoded(%+v): %v", q, err)
		}
		decoded := make([]*tacitv1.DeemedApprovalRecord, len(encoded))
		for i, b := range encoded {
			decoded[i] = &tacitv1.DeemedApprovalRecord{}
			if err := proto.Unmarshal(b, decoded[i]); err != nil {
				t.Fatalf("ListDeemedEncoded(%+v): record %d: %v", q, i, err)
			}
		}
		if d := cmp.Diff(recs, decoded, protocmp.Transform(), cmpopts.EquateEmpty()); d != "" || !bytes.Equal(next, encNext) {
			t.Errorf("ListDeemedEncoded(%+v) differs from ListDeemed (-decoded +encoded):\n%s\ncursors %x and %x", q, d, next, encNext)
		}
		for _, r := range recs {
			out = append(out, rowOf(r))
		}
		if len(next) == 0 {
			return out
		}
		if len(recs) == 0 {
			t.Fatalf("ListDeemed(%+v) returned an empty page with a cursor", q)
		}
		q.After = next
	}
}

var cmpRows = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

func (h harness) deemedPerAgencyAndAcross(t *testing.T) {
	st := h.store(t)
	all := deemedFixture(t, st)
	byAgency := func(agency string) []deemedRow {
		return filterRows(all, func(r deemedRow) bool { return r.Agency == agency })
	}
	for _, tc := range []struct {
		agency string
		want   []deemedRow
	}{
		{"", all},
		{"agency-a", byAgency("agency-a")},
		{"agency-b", byAgency("agency-b")},
		{"agency-c", nil},
		{"agency", nil},
		{"lead-1", nil},
	} {
		got := deemedAll(t, st, storage.DeemedQuery{Agency: tc.agency, Limit: 100})
		if d := cmp.Diff(tc.want, got, cmpRows); d != "" {
			t.Errorf("ListDeemed(agency %q) (-want +got):\n%s", tc.agency, d)
		}
	}
	// Keep is an extra filter.
	got := deemedAll(t, st, storage.DeemedQuery{Limit: 100, Keep: func(r *tacitv1.DeemedApprovalRecord) bool { return r.GetLead() == "lead-1" }})
	if d := cmp.Diff(filterRows(all, func(r deemedRow) bool { return r.Lead == "lead-1" }), got, cmpRows); d != "" {
		t.Errorf("ListDeemed(lead-1 kept) (-want +got):\n%s", d)
	}
	// A later change to the consultation does not lose its deemed approvals.
	mustUpdate(t, st, "1", retitle("Alpha renamed"))
	got = deemedAll(t, st, storage.DeemedQuery{Agency: "agency-a", Limit: 100})
	if len(got) != 2 || got[0].ID != "1" || got[0].Title != "Alpha renamed" {
		t.Errorf("ListDeemed(agency-a) after renaming consultation 1 = %+v, want it first under its new title", got)
	}
}

func (h harness) deemedSinceUntil(t *testing.T) {
	st := h.store(t)
	all := deemedFixture(t, st)
	for _, tc := range []struct {
		agency       string
		since, until time.Time
	}{
		{"", at(10, 0), time.Time{}},
		{"", time.Time{}, at(11, 0)},
		{"", at(10, 0), at(12, 0)},
		{"", at(9, 1), at(11, 1)},
		{"", at(12, 1), time.Time{}},
		{"", time.Time{}, at(9, 0)},
		{"agency-a", at(10, 0), time.Time{}},
		{"agency-a", time.Time{}, at(10, 0)},
		{"agency-b", at(11, 0), at(12, 0)},
		{"agency-b", at(10, 0), at(13, 0)},
	} {
		// Since is inclusive, Until exclusive.
		want := filterRows(all, func(r deemedRow) bool {
			return (tc.agency == "" || r.Agency == tc.agency) &&
				(tc.since.IsZero() || !r.Effective.Before(tc.since)) &&
				(tc.until.IsZero() || r.Effective.Before(tc.until))
		})
		for _, limit := range []int{1, 100} {
			got := deemedAll(t, st, storage.DeemedQuery{Agency: tc.agency, Since: tc.since, Until: tc.until, Limit: limit})
			if d := cmp.Diff(want, got, cmpRows); d != "" {
				t.Errorf("ListDeemed(agency %q, since %v, until %v, limit %d) (-want +got):\n%s", tc.agency, tc.since, tc.until, limit, d)
			}
		}
	}
}

func (h harness) deemedPaging(t *testing.T) {
	st := h.store(t)
	all := deemedFixture(t, st)
	for _, agency := range []string{"", "agency-a", "agency-b"} {
		want := filterRows(all, func(r deemedRow) bool { return agency == "" || r.Agency == agency })
		for _, limit := range []int{1, 2, 3, 4, 5} {
			got := deemedAll(t, st, storage.DeemedQuery{Agency: agency, Limit: limit})
			if d := cmp.Diff(want, got, cmpRows); d != "" {
				t.Errorf("ListDeemed(agency %q) in pages of %d (-want +got):\n%s", agency, limit, d)
			}
		}
	}
	// The first page of two, then the rest.
	recs, next, err := st.ListDeemed(t.Context(), storage.DeemedQuery{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || len(next) == 0 {
		t.Fatalf("first page: %d rows, cursor %x; want 2 rows and a cursor", len(recs), next)
	}
	rest := deemedAll(t, st, storage.DeemedQuery{Limit: 100, After: next})
	if d := cmp.Diff(all[2:], rest, cmpRows); d != "" {
		t.Errorf("rows after the first page (-want +got):\n%s", d)
	}
}

// --- audit ---

func (h harness) auditEmpty(t *testing.T) {
	st := h.store(t)
	v, err := st.VerifyAudit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact || v.Checked != 0 {
		t.Errorf("VerifyAudit of an empty store = %+v, want intact with 0 entries", v)
	}
	evs, err := st.ListEvents(t.Context(), storage.EventQuery{Limit: 10})
	if err != nil || len(evs) != 0 {
		t.Errorf("ListEvents of an empty store = %d events, err %v", len(evs), err)
	}
}

var cmpEventContent = protocmp.IgnoreFields(&tacitv1.AuditEvent{}, "sequence", "prev_hash", "hash")

func (h harness) auditTrail(t *testing.T) {
	st := h.store(t)
	var want []*tacitv1.AuditEvent
	// A builder or mutation may run more than once: remember what its last
	// run returned and add it to want once the call has returned.
	var last []*tacitv1.AuditEvent
	keep := func(evs ...*tacitv1.AuditEvent) []*tacitv1.AuditEvent {
		last = nil
		for _, e := range evs {
			last = append(last, proto.Clone(e).(*tacitv1.AuditEvent))
		}
		return evs
	}
	kept := func() {
		want = append(want, last...)
		last = nil
	}

	// 1: registry import.
	if err := st.SaveRegistry(t.Context(), testFields(), testAgencies(), keep(event("REGISTRY_IMPORTED", "admin", "", "", registryTime, "imported"))); err != nil {
		t.Fatal(err)
	}
	kept()
	// 2: an opening.
	c, _, err := st.Create(t.Context(), storage.IdempotencyKey{}, func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
		rec, _, _ := builder(newRecord("so-nnmt", "Audited", addr{"agency-a", at(9, 0)}, addr{"agency-b", at(12, 0)}))(id)
		return rec, keep(event(consultation.EventOpened, "agency:so-nnmt", id, "", opened, "opened")), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	kept()
	// 3, 4: one update with two events.
	mustUpdate(t, st, c.GetId(), func(rec *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		if _, err := reply("agency-b", "agreed", at(5, 0))(rec); err != nil {
			return nil, err
		}
		return keep(
			event(consultation.EventReplied, "agency:agency-b", rec.GetId(), "agency-b", at(5, 0), "first of two"),
			event(consultation.EventRevised, "agency:agency-b", rec.GetId(), "agency-b", at(5, 0), "second of two"),
		), nil
	})
	kept()
	// No event: nothing appended.
	mustUpdate(t, st, c.GetId(), retitle("Audited again"))
	// 5: a deemed approval from the sweep.
	now := at(10, 0)
	if _, err := st.SweepDue(t.Context(), now, 100, func(rec *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		evs, err := materializeAt(now)(rec)
		if len(evs) != 1 {
			t.Errorf("sweep produced %d events, want 1", len(evs))
		}
		return keep(evs...), err
	}, nil); err != nil {
		t.Fatal(err)
	}
	kept()
	// 6: another registry save.
	if err := st.SaveRegistry(t.Context(), nil, nil, keep(event("REGISTRY_IMPORTED", "admin", "", "", registryTime.Add(time.Hour), "nothing changed"))); err != nil {
		t.Fatal(err)
	}
	kept()
	n := uint64(len(want))

	got := allEvents(t, st)
	if d := cmp.Diff(want, got, cmpProto, cmpEventContent); d != "" {
		t.Errorf("audit trail content (-want +got):\n%s", d)
	}
	if uint64(len(got)) != n {
		t.Fatalf("audit trail has %d events, want %d", len(got), n)
	}
	var prev []byte
	for i, e := range got {
		if e.GetSequence() != uint64(i+1) {
			t.Errorf("event %d has sequence %d", i+1, e.GetSequence())
		}
		if string(e.GetPrevHash()) != string(prev) {
			t.Errorf("event %d prev_hash %x, want the previous event's hash %x", e.GetSequence(), e.GetPrevHash(), prev)
		}
		if len(e.GetHash()) == 0 {
			t.Errorf("event %d has no hash", e.GetSequence())
		}
		prev = e.GetHash()
	}

	// Paging.
	for _, limit := range []int{1, 2, 4, 6, 7} {
		var seqs []uint64
		after := uint64(0)
		for page := 0; page < 100; page++ {
			evs, err := st.ListEvents(t.Context(), storage.EventQuery{AfterSeq: after, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) > limit {
				t.Errorf("ListEvents(limit %d) returned %d", limit, len(evs))
			}
			if len(evs) == 0 {
				break
			}
			for _, e := range evs {
				seqs = append(seqs, e.GetSequence())
			}
			after = evs[len(evs)-1].GetSequence()
		}
		var wantSeqs []uint64
		for i := uint64(1); i <= n; i++ {
			wantSeqs = append(wantSeqs, i)
		}
		if d := cmp.Diff(wantSeqs, seqs); d != "" {
			t.Errorf("ListEvents in pages of %d (-want +got):\n%s", limit, d)
		}
	}
	evs, err := st.ListEvents(t.Context(), storage.EventQuery{AfterSeq: 2, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got[2:4], evs, cmpProto); d != "" {
		t.Errorf("ListEvents(after 2, limit 2) (-want +got):\n%s", d)
	}
	evs, err = st.ListEvents(t.Context(), storage.EventQuery{AfterSeq: n, Limit: 10})
	if err != nil || len(evs) != 0 {
		t.Errorf("ListEvents after the last = %d events, err %v; want none", len(evs), err)
	}
	evs, err = st.ListEvents(t.Context(), storage.EventQuery{Limit: 100, Keep: func(e *tacitv1.AuditEvent) bool { return e.GetType() == "REGISTRY_IMPORTED" }})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, e := range evs {
		seqs = append(seqs, e.GetSequence())
	}
	if d := cmp.Diff([]uint64{1, n}, seqs); d != "" {
		t.Errorf("ListEvents(REGISTRY_IMPORTED) sequences (-want +got):\n%s", d)
	}

	v, err := st.VerifyAudit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact || v.Checked != n || v.FirstBroken != 0 {
		t.Errorf("VerifyAudit = %+v, want intact with %d entries", v, n)
	}
	if string(v.HeadHash) != string(got[len(got)-1].GetHash()) {
		t.Errorf("VerifyAudit head hash %x, want the last event's hash %x", v.HeadHash, got[len(got)-1].GetHash())
	}
}

func (h harness) auditNothingOnRefusal(t *testing.T) {
	st := h.store(t)
	key := storage.IdempotencyKey{Principal: "agency:so-nnmt", Method: "OpenConsultation", ID: "r"}
	c, _, err := st.Create(t.Context(), key, builder(newRecord("so-nnmt", "Once", addr{"agency-a", at(9, 0)})))
	if err != nil {
		t.Fatal(err)
	}
	ukey := storage.IdempotencyKey{Principal: "agency:agency-a", Method: "Reply", ID: "r"}
	mustUpdateKey := func() {
		if _, _, err := st.Update(t.Context(), c.GetId(), ukey, reply("agency-a", "once", at(3, 0))); err != nil {
			t.Fatal(err)
		}
	}
	mustUpdateKey()
	before := allEvents(t, st)
	if len(before) != 2 {
		t.Fatalf("audit trail has %d events, want 2", len(before))
	}
	// Replays.
	if _, _, err := st.Create(t.Context(), key, builder(newRecord("so-nnmt", "Once", addr{"agency-a", at(9, 0)}))); err != nil {
		t.Fatal(err)
	}
	mustUpdateKey()
	// Refusals.
	refused := errors.New("refused")
	withEvent := []*tacitv1.AuditEvent{event("REFUSED", "x", "", "", opened, "must not be written")}
	if _, _, err := st.Create(t.Context(), storage.IdempotencyKey{}, func(string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
		return nil, withEvent, refused
	}); !errors.Is(err, refused) {
		t.Errorf("refused Create returned %v", err)
	}
	if _, _, err := st.Update(t.Context(), c.GetId(), storage.IdempotencyKey{}, func(*tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		return withEvent, refused
	}); !errors.Is(err, refused) {
		t.Errorf("refused Update returned %v", err)
	}
	_, _, err = st.Update(t.Context(), "999", storage.IdempotencyKey{}, func(*tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		return withEvent, nil
	})
	wantNotFound(t, "Update(999)", err)

	after := allEvents(t, st)
	if d := cmp.Diff(before, after, cmpProto); d != "" {
		t.Errorf("replayed and refused writes changed the audit trail (-before +after):\n%s", d)
	}
	v, err := st.VerifyAudit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact || v.Checked != 2 {
		t.Errorf("VerifyAudit = %+v, want intact with 2 entries", v)
	}
}

func (h harness) auditAfterMaxSequence(t *testing.T) {
	st := h.store(t)
	mustCreate(t, st, newRecord("so-nnmt", "One event", addr{"agency-a", at(9, 0)}))
	// No sequence is greater than the largest one: nothing follows it.
	evs, err := st.ListEvents(t.Context(), storage.EventQuery{AfterSeq: math.MaxUint64, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 0 {
		var seqs []uint64
		for _, e := range evs {
			seqs = append(seqs, e.GetSequence())
		}
		t.Errorf("ListEvents(AfterSeq: MaxUint64) = sequences %v, want none", seqs)
	}
}

// --- registry ---

func testFields() []*tacitv1.Field {
	return []*tacitv1.Field{
		{Code: "land", Name: "Đất đai"},
		{Code: "land.planning", Name: "Quy hoạch sử dụng đất"},
		{Code: "health", Name: "Y tế"},
	}
}

func testAgencies() []*tacitv1.Agency {
	return []*tacitv1.Agency{
		{
			Code: "so-nnmt", Name: "Sở Nông nghiệp và Môi trường", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL,
			Head: "Nguyễn Văn An", Deputies: []string{"Lê Thị Bình"}, Mandate: []string{"land"}, Active: true,
			HeadHistory: []*tacitv1.HeadTerm{{Head: "Nguyễn Văn An", Since: ts(registryTime)}}, UpdateTime: ts(registryTime),
		},
		{
			Code: "so-y-te", Name: "Sở Y tế", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL,
			Head: "Hoàng Thị Em", Mandate: []string{"health"}, Active: true,
			HeadHistory: []*tacitv1.HeadTerm{{Head: "Hoàng Thị Em", Since: ts(registryTime)}}, UpdateTime: ts(registryTime),
		},
	}
}

func loadSorted(t *testing.T, st storage.Store) ([]*tacitv1.Field, []*tacitv1.Agency) {
	t.Helper()
	fields, agencies, err := st.LoadRegistry(t.Context())
	if err != nil {
		t.Fatalf("LoadRegistry: %v", err)
	}
	slices.SortFunc(fields, func(a, b *tacitv1.Field) int { return compareStrings(a.GetCode(), b.GetCode()) })
	slices.SortFunc(agencies, func(a, b *tacitv1.Agency) int { return compareStrings(a.GetCode(), b.GetCode()) })
	return fields, agencies
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sortedCopy[T proto.Message](in []T, code func(T) string) []T {
	out := make([]T, 0, len(in))
	for _, m := range in {
		out = append(out, proto.Clone(m).(T))
	}
	slices.SortFunc(out, func(a, b T) int { return compareStrings(code(a), code(b)) })
	return out
}

func (h harness) registrySaveLoad(t *testing.T) {
	st := h.store(t)
	fields, agencies := loadSorted(t, st)
	if len(fields)+len(agencies) != 0 {
		t.Errorf("an empty store has %d fields and %d agencies", len(fields), len(agencies))
	}
	fieldCode := func(f *tacitv1.Field) string { return f.GetCode() }
	agencyCode := func(a *tacitv1.Agency) string { return a.GetCode() }

	wantF, wantA := sortedCopy(testFields(), fieldCode), sortedCopy(testAgencies(), agencyCode)
	if err := st.SaveRegistry(t.Context(), testFields(), testAgencies(), []*tacitv1.AuditEvent{event("REGISTRY_IMPORTED", "admin", "", "", registryTime, "first import")}); err != nil {
		t.Fatal(err)
	}
	fields, agencies = loadSorted(t, st)
	if d := cmp.Diff(wantF, fields, cmpProto); d != "" {
		t.Errorf("fields after the first save (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantA, agencies, cmpProto); d != "" {
		t.Errorf("agencies after the first save (-want +got):\n%s", d)
	}

	// Upsert: one field renamed, one new; one agency changed, one new; the
	// others are not passed and must stay.
	later := registryTime.Add(24 * time.Hour)
	renamed := &tacitv1.Field{Code: "health", Name: "Y tế và dân số"}
	added := &tacitv1.Field{Code: "justice", Name: "Tư pháp"}
	changed := proto.Clone(testAgencies()[1]).(*tacitv1.Agency)
	changed.Head, changed.Active, changed.UpdateTime = "Trần Văn Mới", false, ts(later)
	changed.HeadHistory = append(changed.HeadHistory, &tacitv1.HeadTerm{Head: "Trần Văn Mới", Since: ts(later)})
	newAgency := &tacitv1.Agency{Code: "so-tu-phap", Name: "Sở Tư pháp", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL,
		Head: "Vũ Văn Giang", Mandate: []string{"justice"}, Active: true, UpdateTime: ts(later)}
	if err := st.SaveRegistry(t.Context(), []*tacitv1.Field{renamed, added}, []*tacitv1.Agency{changed, newAgency}, []*tacitv1.AuditEvent{event("REGISTRY_IMPORTED", "admin", "", "", later, "second import")}); err != nil {
		t.Fatal(err)
	}
	wantF = sortedCopy([]*tacitv1.Field{testFields()[0], testFields()[1], renamed, added}, fieldCode)
	wantA = sortedCopy([]*tacitv1.Agency{testAgencies()[0], changed, newAgency}, agencyCode)
	fields, agencies = loadSorted(t, st)
	if d := cmp.Diff(wantF, fields, cmpProto); d != "" {
		t.Errorf("fields after the upsert (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantA, agencies, cmpProto); d != "" {
		t.Errorf("agencies after the upsert (-want +got):\n%s", d)
	}

	// Saving the same again changes nothing.
	if err := st.SaveRegistry(t.Context(), []*tacitv1.Field{renamed}, []*tacitv1.Agency{changed}, nil); err != nil {
		t.Fatal(err)
	}
	fields, agencies = loadSorted(t, st)
	if d := cmp.Diff(wantF, fields, cmpProto); d != "" {
		t.Errorf("fields after saving the same again (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantA, agencies, cmpProto); d != "" {
		t.Errorf("agencies after saving the same again (-want +got):\n%s", d)
	}
	if n := len(allEvents(t, st)); n != 2 {
		t.Errorf("audit trail has %d events after two imports with events and one without, want 2", n)
	}
}
