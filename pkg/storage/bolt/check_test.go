package bolt_test

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/storage"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

// --- Check: indexes and figures recomputed from the records ---

// checkBuild is build with a reminder before each deadline, an escalated
// addressee and the opening notified to the addressees, so that every
// index the store keeps has entries.
func checkBuild(title string, deadlines map[string]time.Time, withOpened bool) storage.Builder {
	return func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
		c, events, err := build(title, deadlines)(id)
		if err != nil {
			return nil, nil, err
		}
		var notified []string
		for _, a := range c.GetAddressees() {
			a.ReminderTime = ts(a.GetDeadline().AsTime().Add(-24 * time.Hour))
			a.Escalated = a.GetAgency() == "so-y-te"
			notified = append(notified, a.GetAgency())
		}
		events[0].Notified = notified
		if !withOpened {
			events[0].Type = "SOMETHING_ELSE"
		}
		return c, events, nil
	}
}

// replyAt is the rules' reply (or revision) by agency at now.
func replyAt(agency string, now time.Time) storage.Mutation {
	return func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		evs, err := consultation.Reply(consultation.DefaultConfig(), c, agency, "agency:"+agency, consultation.ReplyInput{
			Position: tacitv1.Position_POSITION_AGREE, SignerName: "Head of " + agency, SignerRole: tacitv1.SignerRole_SIGNER_ROLE_HEAD,
		}, now)
		var out []*tacitv1.AuditEvent
		for _, e := range evs {
			out = append(out, &tacitv1.AuditEvent{EventTime: ts(now), Actor: e.Actor, Type: e.Type, ConsultationId: c.GetId(), Agency: e.Agency,
				Details: e.Details, Notified: []string{c.GetLead()}})
		}
		return out, err
	}
}

// consistentStore is a store that went through every kind of write: opens
// (one replayed), replies and a revision, reminders sent, deemed approvals
// recorded by the sweep, an extension, a withdrawal, a refused opening and a
// registry import.
func consistentStore(t *testing.T) *bolt.Store {
	t.Helper()
	s := open(t, t.TempDir())
	writeHistory(t, s)
	// Closing writes the agency index entries held in memory (Check
	// compares those in the file); the store opened again reads none back.
	dir := filepath.Dir(s.DB().Path())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)

	// The store really has entries in every index Check compares.
	if err := s.DB().View(func(tx *bbolt.Tx) error {
		for _, b := range []string{"consultations", "pending", "reminders", "deemed", "deemed_time", "deemed_lead", "party", "requests",
			"results", "audit", "audit_consultation", "audit_agency", "inbox", "stats", "stats_pending"} {
			if k, _ := tx.Bucket([]byte(b)).Cursor().First(); k == nil {
				t.Errorf("the test store has nothing in bucket %s", b)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

// writeHistory makes, in s, the writes consistentStore describes.
func writeHistory(t *testing.T, s *bolt.Store) {
	t.Helper()
	ctx := t.Context()
	if err := s.SaveRegistry(ctx, []*tacitv1.Field{{Code: "land", Name: "Đất đai"}}, nil,
		[]*tacitv1.AuditEvent{{EventTime: ts(opened), Actor: "admin", Type: "REGISTRY_IMPORTED"}}); err != nil {
		t.Fatal(err)
	}
	key := storage.IdempotencyKey{Principal: "agency:so-nnmt", Method: "OpenConsultation", ID: "r-1"}
	both := map[string]time.Time{"so-xay-dung": deadline, "so-y-te": later}
	for i, b := range []storage.Builder{
		checkBuild("one", both, true),                                                   // 1: so-y-te replies twice, so-xay-dung deemed
		checkBuild("two", map[string]time.Time{"so-xay-dung": deadline}, true),          // 2: deemed
		checkBuild("three", both, true),                                                 // 3: withdrawn
		checkBuild("four", map[string]time.Time{"so-y-te": later.Add(time.Hour)}, true), // 4: still pending
	} {
		k := storage.IdempotencyKey{}
		if i == 0 {
			k = key
		}
		if _, _, err := s.Create(ctx, k, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, replayed, err := s.Create(ctx, key, checkBuild("one again", both, true)); err != nil || !replayed {
		t.Fatalf("replayed Create: replayed=%v err=%v", replayed, err)
	}
	mustUpdate := func(id string, k storage.IdempotencyKey, m storage.Mutation) {
		t.Helper()
		if _, _, err := s.Update(ctx, id, k, m); err != nil {
			t.Fatalf("Update %s: %v", id, err)
		}
	}
	mustUpdate("1", storage.IdempotencyKey{Principal: "agency:so-y-te", Method: "Reply", ID: "y-1"}, replyAt("so-y-te", opened.Add(time.Hour)))
	mustUpdate("1", storage.IdempotencyKey{}, replyAt("so-y-te", opened.Add(26*time.Hour)))
	mustUpdate("4", storage.IdempotencyKey{}, func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		a := c.GetAddressees()[0]
		a.Extensions = append(a.Extensions, &tacitv1.Extension{Reason: "more time", RequestedDeadline: ts(later.Add(2 * time.Hour)),
			State: tacitv1.ExtensionState_EXTENSION_STATE_GRANTED, RequestTime: ts(opened), PreviousDeadline: a.GetDeadline(), DecideTime: ts(opened)})
		a.Deadline = ts(later.Add(2 * time.Hour))
		a.ReminderTime = ts(later)
		return []*tacitv1.AuditEvent{{EventTime: ts(opened), Actor: "agency:so-nnmt", Type: consultation.EventExtensionGranted, Agency: "so-y-te", Notified: []string{"so-y-te"}}}, nil
	})
	mustUpdate("3", storage.IdempotencyKey{}, func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		c.State = tacitv1.ConsultationState_CONSULTATION_STATE_WITHDRAWN
		c.Withdrawal = &tacitv1.Withdrawal{Reason: "no longer needed", WithdrawTime: ts(opened), WithdrawnBy: "agency:so-nnmt"}
		return []*tacitv1.AuditEvent{{EventTime: ts(opened), Actor: "agency:so-nnmt", Type: consultation.EventWithdrawn}}, nil
	})
	// Reminders fall due, then deadlines: the sweep records both.
	sendReminders := func(now time.Time) storage.Mutation {
		return func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
			var out []*tacitv1.AuditEvent
			for _, a := range c.GetAddressees() {
				if a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING && a.GetReminderSentTime() == nil && !a.GetReminderTime().AsTime().After(now) {
					a.ReminderSentTime = ts(now)
					out = append(out, &tacitv1.AuditEvent{EventTime: ts(now), Actor: "system", Type: consultation.EventReminder, Agency: a.GetAgency(), Notified: []string{a.GetAgency()}})
				}
			}
			more, err := materializeAt(now)(c)
			return append(out, more...), err
		}
	}
	for _, now := range []time.Time{deadline.Add(-time.Hour), deadline} {
		if _, err := s.SweepDue(ctx, now, 100, sendReminders(now), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordRejection(ctx, "so-nnmt", []*tacitv1.AuditEvent{{EventTime: ts(opened), Actor: "agency:so-nnmt", Type: consultation.EventOpenRejected}}); err != nil {
		t.Fatal(err)
	}
}

func mustCheck(t *testing.T, s *bolt.Store) []string {
	t.Helper()
	problems, err := s.Check(t.Context())
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return problems
}

func TestCheckConsistentStore(t *testing.T) {
	t.Run("Empty", func(t *testing.T) {
		if p := mustCheck(t, open(t, t.TempDir())); len(p) != 0 {
			t.Errorf("Check on an empty store reports:\n%s", strings.Join(p, "\n"))
		}
	})
	t.Run("AfterEveryKindOfWrite", func(t *testing.T) {
		s := consistentStore(t)
		if p := mustCheck(t, s); len(p) != 0 {
			t.Errorf("Check on a consistent store reports:\n%s", strings.Join(p, "\n"))
		}
		// Among them, entries of deadlines and reminders taken away (by a
		// reply, a withdrawal and an extension), which stay until the sweep
		// reaches them, are no strays.
		if err := s.DB().View(func(tx *bbolt.Tx) error {
			for _, e := range []struct {
				bucket string
				key    []byte
			}{
				{"pending", dueKey(later, 1, "so-y-te")},                      // replied
				{"reminders", dueKey(later.Add(-24*time.Hour), 1, "so-y-te")}, // replied
				{"pending", dueKey(later, 3, "so-y-te")},                      // withdrawn
				{"pending", dueKey(later.Add(time.Hour), 4, "so-y-te")},       // extended
			} {
				if tx.Bucket([]byte(e.bucket)).Get(e.key) == nil {
					t.Errorf("%s holds no entry %x, left by a change: the test checks nothing", e.bucket, e.key)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
}

// dueKey is the key of a deadline (or reminder) index entry.
func dueKey(at time.Time, id uint64, agency string) []byte {
	k := append(seqKey(uint64(at.UnixNano())), seqKey(id)...)
	return append(k, agency...)
}

func update(t *testing.T, s *bolt.Store, bucket string, fn func(b *bbolt.Bucket) error) {
	t.Helper()
	if err := s.DB().Update(func(tx *bbolt.Tx) error { return fn(tx.Bucket([]byte(bucket))) }); err != nil {
		t.Fatal(err)
	}
}

// first returns a copy of the first key and value of a bucket.
func first(t *testing.T, b *bbolt.Bucket) ([]byte, []byte) {
	t.Helper()
	k, v := b.Cursor().First()
	if k == nil {
		t.Fatal("the bucket is empty")
	}
	return bytes.Clone(k), bytes.Clone(v)
}

// varints decodes a stats day record's leading counters.
func varints(b []byte, n int) ([]int64, []byte) {
	var out []int64
	for range n {
		v, m := binary.Varint(b)
		out = append(out, v)
		b = b[m:]
	}
	return out, b
}

func encodeVarints(vs []int64, rest []byte) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.AppendVarint(b, v)
	}
	return append(b, rest...)
}

func TestCheckFindsDamage(t *testing.T) {
	const nCounters = 9 // received ... escalations, see stats.go
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, s *bolt.Store)
		want   []string // substrings of the one problem reported
	}{
		{"DeletedPendingKey", func(t *testing.T, s *bolt.Store) {
			// The extended deadline of consultation 4.
			update(t, s, "pending", func(b *bbolt.Bucket) error { return b.Delete(dueKey(later.Add(2*time.Hour), 4, "so-y-te")) })
		}, []string{"pending", "missing entry", "consultation 4", "so-y-te"}},
		{"StrayDeemedKey", func(t *testing.T, s *bolt.Store) {
			update(t, s, "deemed", func(b *bbolt.Bucket) error {
				k, v := first(t, b)
				k[len(k)-1] += 0x20 // the same entry for a consultation that does not exist
				return b.Put(k, v)
			})
		}, []string{"deemed:", "stray entry", "so-xay-dung"}},
		{"StaleDeemedValue", func(t *testing.T, s *bolt.Store) {
			update(t, s, "deemed_time", func(b *bbolt.Bucket) error { k, v := first(t, b); return b.Put(k, v[:len(v)-1]) })
		}, []string{"deemed_time", "its record implies"}},
		{"WrongPartyRole", func(t *testing.T, s *bolt.Store) {
			update(t, s, "party", func(b *bbolt.Bucket) error { k, _ := first(t, b); return b.Put(k, []byte{3}) })
		}, []string{"party", "holds 03"}},
		{"ReminderOfNoConsultation", func(t *testing.T, s *bolt.Store) {
			update(t, s, "reminders", func(b *bbolt.Bucket) error { return b.Put(dueKey(deadline, 9, "so-xay-dung"), nil) })
		}, []string{"reminders", "stray entry", "consultation 9", "so-xay-dung"}},
		{"EditedStatsCounter", func(t *testing.T, s *bolt.Store) {
			update(t, s, "stats", func(b *bbolt.Bucket) error {
				k, v := first(t, b)
				cs, rest := varints(v, nCounters)
				cs[0]++ // received
				return b.Put(k, encodeVarints(cs, rest))
			})
		}, []string{"stats", "received", "records say"}},
		{"EditedStatsHistogram", func(t *testing.T, s *bolt.Store) {
			update(t, s, "stats", func(b *bbolt.Bucket) error {
				c := b.Cursor()
				for k, v := c.First(); k != nil; k, v = c.Next() {
					if cs, rest := varints(v, nCounters); cs[1] > 0 { // replied: has a histogram
						return b.Put(bytes.Clone(k), encodeVarints(cs, append(bytes.Clone(rest), binary.AppendVarint(binary.AppendVarint(nil, 40), 1)...)))
					}
				}
				t.Fatal("no stats day counts a reply")
				return nil
			})
		}, []string{"stats", "replies after 40 working days 1, records say 0"}},
		{"EditedPendingCount", func(t *testing.T, s *bolt.Store) {
			update(t, s, "stats_pending", func(b *bbolt.Bucket) error { return b.Put([]byte("so-y-te"), binary.AppendVarint(nil, 7)) })
		}, []string{"stats_pending", "so-y-te has 7 pending, records say 1"}},
		{"EditedOpenTotal", func(t *testing.T, s *bolt.Store) {
			update(t, s, "meta", func(b *bbolt.Bucket) error { return b.Put([]byte("open_consultations"), binary.AppendVarint(nil, 9)) })
		}, []string{"open_consultations is 9, records say 3"}},
		{"DeletedAuditConsultationKey", func(t *testing.T, s *bolt.Store) {
			update(t, s, "audit_consultation", func(b *bbolt.Bucket) error { k, _ := first(t, b); return b.Delete(k) })
		}, []string{"audit_consultation", "missing entry", "consultation 1"}},
		{"DanglingInboxKey", func(t *testing.T, s *bolt.Store) {
			update(t, s, "inbox", func(b *bbolt.Bucket) error { return b.Put(append([]byte("so-y-te\x00"), seqKey(9999)...), nil) })
		}, []string{"inbox", "audit entry 9999", "does not exist"}},
		{"DanglingAuditAgencyKey", func(t *testing.T, s *bolt.Store) {
			update(t, s, "audit_agency", func(b *bbolt.Bucket) error { return b.Put(append([]byte("so-nnmt\x00"), seqKey(12345)...), nil) })
		}, []string{"audit_agency", "audit entry 12345", "does not exist"}},
		{"StrayInboxKey", func(t *testing.T, s *bolt.Store) {
			// Entry 1 (the registry import) notifies nobody.
			update(t, s, "inbox", func(b *bbolt.Bucket) error { return b.Put(append([]byte("so-y-te\x00"), seqKey(1)...), nil) })
		}, []string{"inbox", "stray entry", "audit entry 1]"}},
		{"AlteredAuditEntry", func(t *testing.T, s *bolt.Store) {
			update(t, s, "audit", func(b *bbolt.Bucket) error {
				v := b.Get(seqKey(2))
				return b.Put(seqKey(2), bytes.Replace(bytes.Clone(v), []byte("one"), []byte("One"), 1))
			})
		}, []string{"audit: the chain is broken at entry 2"}},
		{"RequestWithoutConsultation", func(t *testing.T, s *bolt.Store) {
			update(t, s, "requests", func(b *bbolt.Bucket) error { return b.Put([]byte("agency:x\x00OpenConsultation\x00r-9"), seqKey(77)) })
		}, []string{"requests", "consultation 77, which is not stored"}},
		{"DeletedFirstResult", func(t *testing.T, s *bolt.Store) {
			update(t, s, "results", func(b *bbolt.Bucket) error { k, _ := first(t, b); return b.Delete(k) })
		}, []string{"requests", "points to result 1, which the results log lacks"}},
		{"HeldRequestWithoutConsultation", func(t *testing.T, s *bolt.Store) {
			// A result after the requests mark, whose request (held in
			// memory, not in the index) names consultation 77.
			update(t, s, "results", func(b *bbolt.Bucket) error {
				seq, err := b.NextSequence()
				if err != nil {
					return err
				}
				key := "agency:x\x00OpenConsultation\x00r-9"
				v := append([]byte{0, byte(len(key))}, key...)
				v = append(append(v, 2), seqKey(77)...)
				v = append(append(v, make([]byte, 32)...), seqKey(seq)...)
				return b.Put(seqKey(seq), append(v, "\x0a\x0177"...))
			})
		}, []string{"requests", "(result 3) remembers consultation 77, which is not stored"}},
		{"SequenceAhead", func(t *testing.T, s *bolt.Store) {
			update(t, s, "consultations", func(b *bbolt.Bucket) error { return b.SetSequence(5) })
		}, []string{"consultations:", "sequence 5", "missing: 5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := consistentStore(t)
			tc.damage(t, s)
			p := mustCheck(t, s)
			if len(p) != 1 {
				t.Fatalf("Check reports %d problems, want 1 holding %q:\n%s", len(p), tc.want, strings.Join(p, "\n"))
			}
			for _, w := range tc.want {
				if !strings.Contains(p[0], w) {
					t.Errorf("Check's problem %q lacks %q", p[0], w)
				}
			}
		})
	}
}

// Refused openings are counted in the figures but leave no record: Check
// cannot recount them and does not report them.
func TestCheckIgnoresRejectedCounter(t *testing.T) {
	s := consistentStore(t)
	update(t, s, "stats", func(b *bbolt.Bucket) error {
		k, v := first(t, b)
		cs, rest := varints(v, 9)
		cs[7] += 5 // rejected
		return b.Put(k, encodeVarints(cs, rest))
	})
	// A day with nothing but refusals.
	update(t, s, "stats", func(b *bbolt.Bucket) error {
		return b.Put([]byte("so-tu-phap\x00\x00\x00\x01\x00"), encodeVarints([]int64{0, 0, 0, 0, 0, 0, 0, 3, 0}, nil))
	})
	if p := mustCheck(t, s); len(p) != 0 {
		t.Errorf("Check reports refused openings it cannot recount:\n%s", strings.Join(p, "\n"))
	}
}

// A consultation stored without its opening on the audit trail is
// half-present.
func TestCheckConsultationWithoutOpenedEntry(t *testing.T) {
	s := open(t, t.TempDir())
	if _, _, err := s.Create(t.Context(), storage.IdempotencyKey{}, checkBuild("silent", map[string]time.Time{"so-y-te": later}, false)); err != nil {
		t.Fatal(err)
	}
	p := mustCheck(t, s)
	if len(p) != 1 || !strings.Contains(p[0], "consultation 1 has no CONSULTATION_OPENED audit entry") {
		t.Errorf("Check = %q, want one problem: consultation 1 has no CONSULTATION_OPENED audit entry", p)
	}
}

// Many problems are reported up to a bound, with a count of the rest.
func TestCheckBoundsItsReport(t *testing.T) {
	s := consistentStore(t)
	update(t, s, "inbox", func(b *bbolt.Bucket) error {
		for i := range 500 {
			if err := b.Put(append([]byte("so-y-te\x00"), seqKey(uint64(100000+i))...), nil); err != nil {
				return err
			}
		}
		return nil
	})
	p := mustCheck(t, s)
	if len(p) != 201 || !strings.Contains(p[200], "and 300 more problems") {
		t.Errorf("Check reports %d lines ending %q; want 200 and a count of the 300 more", len(p), p[len(p)-1])
	}
}
