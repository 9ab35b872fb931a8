package bolt

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// The agency's and the lead's deemed-approval indexes hold keys only and
// read the record from deemed_time; entries written by older versions,
// which hold the record themselves, read the same.
func TestDeemedIndexesKeyOnlyAndLegacy(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	eff := time.Date(2026, 3, 24, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		_, _, err := s.Create(t.Context(), storage.IdempotencyKey{}, func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
			return &tacitv1.Consultation{Id: id, Title: "Dự thảo " + id, Lead: "so-nnmt", State: tacitv1.ConsultationState_CONSULTATION_STATE_OPEN,
				Addressees: []*tacitv1.Addressee{{Agency: "so-xay-dung", State: tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED,
					DeemedApproval: &tacitv1.DeemedApproval{EffectiveTime: timestamppb.New(eff.Add(time.Duration(i) * time.Hour)), ResponsibleHead: "Trần Quốc Hưng"}}}}, nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	list := func(q storage.DeemedQuery) []*tacitv1.DeemedApprovalRecord {
		t.Helper()
		rs, _, err := s.ListDeemed(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	queries := []storage.DeemedQuery{{}, {Agency: "so-xay-dung"}, {Lead: "so-nnmt"}}
	var before [][]*tacitv1.DeemedApprovalRecord
	for _, q := range queries {
		rs := list(q)
		if len(rs) != 3 || rs[0].GetResponsibleHead() != "Trần Quốc Hưng" {
			t.Fatalf("ListDeemed(%+v) = %v, want 3 records", q, rs)
		}
		before = append(before, rs)
	}
	if err := s.DB().Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bDeemed, bDeemedLead} {
			if err := tx.Bucket(b).ForEach(func(k, v []byte) error {
				if len(v) != 0 {
					t.Errorf("%s entry %x holds %d bytes, want a key only", b, k, len(v))
				}
				return nil
			}); err != nil {
				return err
			}
		}
		// Rewrite them as older versions did.
		return tx.Bucket(bDeemedTime).ForEach(func(k, v []byte) error {
			agency := k[16:]
			if err := tx.Bucket(bDeemed).Put(concat(agency, []byte{0}, k[:16]), v); err != nil {
				return err
			}
			return tx.Bucket(bDeemedLead).Put(concat([]byte("so-nnmt"), []byte{0}, k), v)
		})
	}); err != nil {
		t.Fatal(err)
	}
	for i, q := range queries {
		if d := cmp.Diff(before[i], list(q), protocmp.Transform()); d != "" {
			t.Errorf("ListDeemed(%+v) over entries holding the record (-key only +legacy):\n%s", q, d)
		}
	}
}
