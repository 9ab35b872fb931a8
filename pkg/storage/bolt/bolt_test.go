package bolt_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bbolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/storage"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
	"github.com/tacit-gov/tacit/pkg/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := bolt.Open(t.TempDir(), bolt.Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// open opens dir and closes the store when t ends (closing twice is
// harmless).
func open(t *testing.T, dir string) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var (
	opened   = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	deadline = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	later    = time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)
)

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func build(title string, deadlines map[string]time.Time) storage.Builder {
	return func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
		c := &tacitv1.Consultation{
			Id: id, Name: "consultations/" + id, Title: title, Lead: "so-nnmt", LeadName: "Sở Nông nghiệp và Môi trường",
			Fields: []string{"land"}, State: tacitv1.ConsultationState_CONSULTATION_STATE_OPEN,
			CreateTime: ts(opened), UpdateTime: ts(opened), Deadline: ts(deadline), OpenedBy: "agency:so-nnmt",
		}
		for _, agency := range []string{"so-xay-dung", "so-y-te"} {
			if d, ok := deadlines[agency]; ok {
				c.Addressees = append(c.Addressees, &tacitv1.Addressee{
					Agency: agency, AgencyName: "Name of " + agency,
					State: tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING, Deadline: ts(d),
				})
			}
		}
		return c, []*tacitv1.AuditEvent{{EventTime: ts(opened), Actor: "agency:so-nnmt", Type: consultation.EventOpened, ConsultationId: id, Details: title}}, nil
	}
}

func headOf(agency string, _ time.Time) string { return "Head of " + agency }

func materializeAt(now time.Time) storage.Mutation {
	return func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		var out []*tacitv1.AuditEvent
		for _, e := range consultation.Materialize(c, now, headOf, true) {
			out = append(out, &tacitv1.AuditEvent{EventTime: ts(now), Actor: e.Actor, Type: e.Type, ConsultationId: c.GetId(), Agency: e.Agency, Rule: e.Rule, Details: e.Details})
		}
		return out, nil
	}
}

func TestOpenLockedFolderFailsQuickly(t *testing.T) {
	dir := t.TempDir()
	first := open(t, dir)

	type result struct {
		s   *bolt.Store
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := bolt.Open(dir, bolt.Options{})
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		if r.err == nil {
			r.s.Close()
			t.Fatal("a second Open of a folder in use succeeded")
		}
		if !errors.Is(r.err, bolt.ErrLocked) {
			t.Errorf("second Open error %q does not wrap bolt.ErrLocked", r.err)
		}
		if !strings.Contains(r.err.Error(), "in use") {
			t.Errorf("second Open error %q does not say the folder is in use", r.err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a second Open of a folder in use did not fail within 2s")
	}

	// Once the first store is closed the folder can be opened again.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	open(t, dir)
}

// An Open that fails for another reason than the lock must not be reported
// as a folder in use, whatever the folder is called.
func TestOpenOtherFailureIsNotLocked(t *testing.T) {
	for _, name := range []string{"data", "timeout"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			// tacit.db is a directory: bbolt cannot open it as a file.
			if err := os.MkdirAll(filepath.Join(dir, "tacit.db"), 0o700); err != nil {
				t.Fatal(err)
			}
			s, err := bolt.Open(dir, bolt.Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open with a directory in place of tacit.db succeeded")
			}
			if errors.Is(err, bolt.ErrLocked) {
				t.Errorf("Open(%s) failed with %q, which wraps ErrLocked although no process holds the folder", dir, err)
			}
		})
	}
}

func TestDataSurvivesReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.SaveRegistry(ctx, []*tacitv1.Field{{Code: "land", Name: "Đất đai"}},
		[]*tacitv1.Agency{{Code: "so-nnmt", Name: "Sở Nông nghiệp và Môi trường", Head: "Nguyễn Văn An", Active: true}},
		[]*tacitv1.AuditEvent{{EventTime: ts(opened), Actor: "admin", Type: "REGISTRY_IMPORTED"}}); err != nil {
		t.Fatal(err)
	}
	key := storage.IdempotencyKey{Principal: "agency:so-nnmt", Method: "OpenConsultation", ID: "req-1"}
	c1, _, err := s.Create(ctx, key, build("one", map[string]time.Time{"so-xay-dung": deadline, "so-y-te": later}))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(ctx, storage.IdempotencyKey{}, build("two", map[string]time.Time{"so-y-te": later})); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SweepDue(ctx, deadline, 100, materializeAt(deadline), nil); err != nil || n != 1 {
		t.Fatalf("SweepDue = %d, %v; want 1", n, err)
	}

	type snapshot struct {
		list     []*tacitv1.Consultation
		deemed   []*tacitv1.DeemedApprovalRecord
		events   []*tacitv1.AuditEvent
		fields   []*tacitv1.Field
		agencies []*tacitv1.Agency
		next     time.Time
		verify   storage.Verification
	}
	take := func(s storage.Store) snapshot {
		t.Helper()
		var sn snapshot
		var err error
		if sn.list, _, err = s.List(ctx, storage.ListQuery{Limit: 100}); err != nil {
			t.Fatal(err)
		}
		if sn.deemed, _, err = s.ListDeemed(ctx, storage.DeemedQuery{Limit: 100}); err != nil {
			t.Fatal(err)
		}
		if sn.events, err = s.ListEvents(ctx, storage.EventQuery{Limit: 100}); err != nil {
			t.Fatal(err)
		}
		if sn.fields, sn.agencies, err = s.LoadRegistry(ctx); err != nil {
			t.Fatal(err)
		}
		var ok bool
		if sn.next, ok, err = s.NextDeadline(ctx); err != nil || !ok {
			t.Fatalf("NextDeadline: ok=%v err=%v", ok, err)
		}
		sn.next = sn.next.UTC()
		if sn.verify, err = s.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
		return sn
	}
	before := take(s)
	if len(before.list) != 2 || len(before.deemed) != 1 || len(before.events) != 4 || !before.verify.Intact {
		t.Fatalf("before reopening: %d consultations, %d deemed, %d events, verify %+v", len(before.list), len(before.deemed), len(before.events), before.verify)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir)
	after := take(s)
	if d := cmp.Diff(before, after, protocmp.Transform(), cmp.AllowUnexported(snapshot{})); d != "" {
		t.Errorf("the store differs after reopening (-before +after):\n%s", d)
	}
	// The idempotency record and the id sequence survive too.
	again, replayed, err := s.Create(ctx, key, build("one", nil))
	if err != nil || !replayed || again.GetId() != c1.GetId() {
		t.Errorf("retried Create after reopening = id %q replayed=%v err=%v; want a replay of %s", again.GetId(), replayed, err, c1.GetId())
	}
	c3, _, err := s.Create(ctx, storage.IdempotencyKey{}, build("three", nil))
	if err != nil || c3.GetId() != "3" {
		t.Errorf("Create after reopening = id %q, err %v; want id 3", c3.GetId(), err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.DB().Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte(strconv.Itoa(bolt.SchemaVersion+1)))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Twice: a refused Open must release the file.
	for i := range 2 {
		s, err := bolt.Open(dir, bolt.Options{})
		if err == nil {
			s.Close()
			t.Fatalf("Open #%d of a folder written by schema %d succeeded", i+1, bolt.SchemaVersion+1)
		}
		if !strings.Contains(err.Error(), "newer tacit") {
			t.Errorf("Open #%d error %q does not say a newer tacit wrote the folder", i+1, err)
		}
		if errors.Is(err, bolt.ErrLocked) {
			t.Errorf("Open #%d error %q wraps ErrLocked: the refused Open kept the lock", i+1, err)
		}
	}
}

// --- audit chain tampering ---

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

// auditStore returns a store whose trail has four entries with the details
// "entry 1" ... "entry 4".
func auditStore(t *testing.T) *bolt.Store {
	t.Helper()
	s := open(t, t.TempDir())
	for i := 1; i <= 4; i++ {
		ev := &tacitv1.AuditEvent{EventTime: ts(opened.Add(time.Duration(i) * time.Minute)), Actor: "admin", Type: "REGISTRY_IMPORTED", Details: "entry " + strconv.Itoa(i)}
		if err := s.SaveRegistry(t.Context(), nil, nil, []*tacitv1.AuditEvent{ev}); err != nil {
			t.Fatal(err)
		}
	}
	v, err := s.VerifyAudit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact || v.Checked != 4 {
		t.Fatalf("VerifyAudit before tampering = %+v, want intact with 4 entries", v)
	}
	return s
}

func sha256Sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

func tamper(t *testing.T, s *bolt.Store, fn func(b *bbolt.Bucket) error) {
	t.Helper()
	if err := s.DB().Update(func(tx *bbolt.Tx) error { return fn(tx.Bucket([]byte("audit"))) }); err != nil {
		t.Fatal(err)
	}
}

func wantBroken(t *testing.T, s *bolt.Store, first uint64) {
	t.Helper()
	v, err := s.VerifyAudit(t.Context())
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	if v.Intact {
		t.Errorf("VerifyAudit = %+v, want not intact", v)
	}
	if v.FirstBroken != first {
		t.Errorf("VerifyAudit first broken = %d, want %d (%s)", v.FirstBroken, first, v.Problem)
	}
	if v.Problem == "" {
		t.Error("VerifyAudit reports no problem")
	}
	if v.Checked != first-1 {
		t.Errorf("VerifyAudit checked %d entries, want %d before the broken one", v.Checked, first-1)
	}
}

func TestAuditTamperingDetected(t *testing.T) {
	t.Run("EditedBytes", func(t *testing.T) {
		s := auditStore(t)
		tamper(t, s, func(b *bbolt.Bucket) error {
			v := bytes.Clone(b.Get(seqKey(2)))
			edited := bytes.Replace(v, []byte("entry 2"), []byte("entry 9"), 1)
			if bytes.Equal(v, edited) {
				t.Fatal("entry 2 does not hold its details")
			}
			return b.Put(seqKey(2), edited)
		})
		wantBroken(t, s, 2)
	})
	t.Run("UndecodableBytes", func(t *testing.T) {
		s := auditStore(t)
		tamper(t, s, func(b *bbolt.Bucket) error { return b.Put(seqKey(3), []byte{0xff, 0xff, 0xff}) })
		wantBroken(t, s, 3)
	})
	t.Run("EditedAndRehashed", func(t *testing.T) {
		// Recomputing the edited entry's own hash breaks the link to it.
		s := auditStore(t)
		tamper(t, s, func(b *bbolt.Bucket) error {
			e := &tacitv1.AuditEvent{}
			if err := proto.Unmarshal(b.Get(seqKey(2)), e); err != nil {
				return err
			}
			e.Details, e.Hash = "rewritten", nil
			m, err := proto.MarshalOptions{Deterministic: true}.Marshal(e)
			if err != nil {
				return err
			}
			e.Hash = sha256Sum(m)
			m, err = proto.MarshalOptions{Deterministic: true}.Marshal(e)
			if err != nil {
				return err
			}
			return b.Put(seqKey(2), m)
		})
		wantBroken(t, s, 3)
	})
	t.Run("DeletedLast", func(t *testing.T) {
		s := auditStore(t)
		tamper(t, s, func(b *bbolt.Bucket) error { return b.Delete(seqKey(4)) })
		wantBroken(t, s, 4)
	})
	t.Run("DeletedMiddle", func(t *testing.T) {
		s := auditStore(t)
		tamper(t, s, func(b *bbolt.Bucket) error { return b.Delete(seqKey(2)) })
		wantBroken(t, s, 2)
	})
	t.Run("DeletedAll", func(t *testing.T) {
		s := auditStore(t)
		tamper(t, s, func(b *bbolt.Bucket) error {
			for i := uint64(1); i <= 4; i++ {
				if err := b.Delete(seqKey(i)); err != nil {
					return err
				}
			}
			return nil
		})
		wantBroken(t, s, 1)
	})
}
