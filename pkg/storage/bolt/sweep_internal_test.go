package bolt

import (
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// silentUntil builds an open consultation whose one addressee, so-y-te,
// has not replied and is due at deadline.
func silentUntil(title string, deadline time.Time) storage.Builder {
	return func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
		return &tacitv1.Consultation{
			Id: id, Name: "consultations/" + id, Title: title, Lead: "so-nnmt", State: tacitv1.ConsultationState_CONSULTATION_STATE_OPEN,
			Deadline: timestamppb.New(deadline),
			Addressees: []*tacitv1.Addressee{{
				Agency: "so-y-te", State: tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING, Deadline: timestamppb.New(deadline),
			}},
		}, []*tacitv1.AuditEvent{{Actor: "agency:so-nnmt", Type: consultation.EventOpened, ConsultationId: id}}, nil
	}
}

// A sweep prepares its next transaction's changes while the one before
// commits. A write between the two that changes a consultation so
// prepared must not be lost: the next transaction prepares that one again
// from the record as it now is, and keeps what it prepared ahead for the
// others.
func TestSweepPreparesAgainWhatAWriteChangedMeanwhile(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	base := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	now := base.Add(time.Hour)
	var ids []string
	for i, title := range []string{"A", "B", "C"} {
		c, _, err := s.Create(ctx, storage.IdempotencyKey{}, silentUntil(title, base.Add(time.Duration(i)*time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.GetId())
	}
	a, b, c := ids[0], ids[1], ids[2]

	var mu sync.Mutex
	calls := map[string]int{}
	bPrepared := make(chan struct{}, 2)
	mutate := func(cs *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		mu.Lock()
		calls[cs.GetId()]++
		mu.Unlock()
		if cs.GetId() == b {
			bPrepared <- struct{}{}
		}
		var out []*tacitv1.AuditEvent
		for _, e := range consultation.Materialize(cs, now, func(agency string, _ time.Time) string { return "Head of " + agency }, true) {
			out = append(out, &tacitv1.AuditEvent{EventTime: timestamppb.New(now), Actor: e.Actor, Type: e.Type, ConsultationId: cs.GetId(), Agency: e.Agency, Rule: e.Rule})
		}
		return out, nil
	}
	var commits []int
	committed := func(n int) {
		commits = append(commits, n)
		if len(commits) != 1 {
			return
		}
		// A's transaction is durable and B's change is being prepared
		// ahead, from B as it is: change B now.
		select {
		case <-bPrepared:
		case <-time.After(10 * time.Second):
			t.Fatal("the sweep did not prepare B while A's transaction committed")
		}
		_, _, err := s.Update(ctx, b, storage.IdempotencyKey{}, func(cs *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
			cs.Title = "B, retitled"
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.SweepDue(ctx, now, 1, mutate, committed)
	if err != nil || n != 3 {
		t.Fatalf("SweepDue = %d, %v; want 3", n, err)
	}
	if want := []int{1, 1, 1}; !slices.Equal(commits, want) {
		t.Errorf("the sweep committed %v consultations per transaction, want %v", commits, want)
	}

	got, err := s.Get(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetTitle() != "B, retitled" {
		t.Errorf("B's title is %q after the sweep, want the one written while it went on: the change prepared ahead overwrote it", got.GetTitle())
	}
	if st := got.GetAddressees()[0].GetState(); st != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
		t.Errorf("B's addressee is %v after the sweep, want deemed approved", st)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{a: 1, b: 2, c: 1}
	for id, n := range want {
		if calls[id] != n {
			t.Errorf("mutate was applied %d times to %s, want %d (calls %v)", calls[id], id, n, calls)
		}
	}
	for _, id := range ids {
		events, err := s.ListEvents(ctx, storage.EventQuery{Consultation: id, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		deemed := 0
		for _, e := range events {
			if e.GetType() == consultation.EventDeemedApproval {
				deemed++
			}
		}
		if deemed != 1 {
			t.Errorf("consultation %s has %d deemed approvals in its trail, want 1", id, deemed)
		}
	}
	if r, err := s.Check(ctx); err != nil || len(r) > 0 {
		t.Errorf("Check: %v %v", err, r)
	}
}
