package bolt

import (
	"encoding/binary"
	"testing"

	bolt "go.etcd.io/bbolt"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// requestsTestStore is an empty store, closed at the end of the test,
// that writes every remembered request to the index at once: the tests
// rewrite entries there the way older versions stored them.
func requestsTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{FoldEvery: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// titled builds an open consultation with the title.
func titled(title string) storage.Builder {
	return func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
		return &tacitv1.Consultation{Id: id, Title: title, Lead: "so-nnmt", State: tacitv1.ConsultationState_CONSULTATION_STATE_OPEN}, nil, nil
	}
}

// Requests remembered before digests were kept (the id and the result
// only) still replay, and still refuse their id on another consultation.
func TestRequestsRememberedWithoutDigest(t *testing.T) {
	s := requestsTestStore(t)
	key := storage.IdempotencyKey{Principal: "agency:so-nnmt", Method: "OpenConsultation", ID: "old-1", Fingerprint: []byte("first")}
	first, _, err := s.Create(t.Context(), key, titled("first"))
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite the entry the way older versions stored it.
	if err := s.DB().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bRequests)
		r, ok := parseRequestRecord(b.Get(requestKey(key)))
		rec := r.firstResult(tx)
		if !ok || rec == nil {
			t.Fatal("no remembered request")
		}
		return b.Put(requestKey(key), append(binary.BigEndian.AppendUint64(nil, 1), rec...))
	}); err != nil {
		t.Fatal(err)
	}
	other := key
	other.Fingerprint = []byte("something else") // unknown digest: not compared
	again, replayed, err := s.Create(t.Context(), other, titled("second"))
	if err != nil || !replayed || again.GetId() != first.GetId() || again.GetTitle() != "first" {
		t.Errorf("replay of an old entry: %v replayed=%v err=%v, want the first result", again, replayed, err)
	}
	ukey := storage.IdempotencyKey{Principal: "agency:so-nnmt", Method: "Retitle", ID: "old-2"}
	second, _, err := s.Create(t.Context(), storage.IdempotencyKey{}, titled("another"))
	if err != nil {
		t.Fatal(err)
	}
	retitle := func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) { c.Title += "!"; return nil, nil }
	if _, _, err := s.Update(t.Context(), first.GetId(), ukey, retitle); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bRequests)
		r, _ := parseRequestRecord(b.Get(requestKey(ukey)))
		rec := r.firstResult(tx)
		return b.Put(requestKey(ukey), append(binary.BigEndian.AppendUint64(nil, 1), rec...))
	}); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Update(t.Context(), second.GetId(), ukey, retitle)
	if f, ok := fault.As(err); !ok || f.Reason != storage.ReasonRequestIDReused {
		t.Errorf("an old entry's id on another consultation: %v, want %s", err, storage.ReasonRequestIDReused)
	}
}

// Requests remembered with their first result in the entry itself (before
// the results log) still replay it, and still refuse their id for another
// request.
func TestRequestsRememberedWithTheResultInTheEntry(t *testing.T) {
	s := requestsTestStore(t)
	key := storage.IdempotencyKey{Principal: "agency:so-nnmt", Method: "OpenConsultation", ID: "v1-1", Fingerprint: []byte("first")}
	first, _, err := s.Create(t.Context(), key, titled("first"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bRequests)
		r, ok := parseRequestRecord(b.Get(requestKey(key)))
		if !ok || r.result == 0 {
			t.Fatalf("the request was not remembered with its result in the log: %+v", r)
		}
		v := append([]byte{requestRecordV1}, binary.BigEndian.AppendUint64(nil, r.id)...)
		v = append(append(v, fingerprintDigest(key.Fingerprint)...), r.firstResult(tx)...)
		if err := tx.Bucket(bResults).Delete(u64(r.result)); err != nil {
			return err
		}
		return b.Put(requestKey(key), v)
	}); err != nil {
		t.Fatal(err)
	}
	again, replayed, err := s.Create(t.Context(), key, titled("second"))
	if err != nil || !replayed || again.GetId() != first.GetId() || again.GetTitle() != "first" {
		t.Errorf("replay of an entry holding its result: %v replayed=%v err=%v, want the first result", again, replayed, err)
	}
	other := key
	other.Fingerprint = []byte("something else")
	if _, _, err := s.Create(t.Context(), other, titled("third")); err == nil {
		t.Error("the id of an entry holding its result was accepted for another request")
	} else if f, ok := fault.As(err); !ok || f.Reason != storage.ReasonRequestIDReused {
		t.Errorf("reused id: %v, want %s", err, storage.ReasonRequestIDReused)
	}
}
