// Package bolt is the bbolt implementation of storage.Store: records as
// protobuf under big-endian keys, indexes derived from each record and
// rewritten in the same transaction, concurrent writes grouped into shared
// durable commits (committer).
package bolt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// Every bucket, named in one place.
var (
	bMeta          = []byte("meta")
	bConsultations = []byte("consultations")      // id(8) -> Consultation
	bPending       = []byte("pending")            // deadline(8) id(8) agency -> ""
	bDeemed        = []byte("deemed")             // agency 0 effective(8) id(8) -> "" (older: DeemedApprovalRecord)
	bDeemedTime    = []byte("deemed_time")        // effective(8) id(8) agency -> DeemedApprovalRecord
	bParty         = []byte("party")              // agency 0 id(8) -> role
	bRequests      = []byte("requests")           // principal 0 method 0 request_id -> see requestRecord
	bFields        = []byte("fields")             // code -> Field
	bAgencies      = []byte("agencies")           // code -> Agency
	bDeemedLead    = []byte("deemed_lead")        // lead 0 effective(8) id(8) agency -> "" (older: DeemedApprovalRecord)
	bAudit         = []byte("audit")              // seq(8) -> AuditEvent
	bAuditCons     = []byte("audit_consultation") // id(8) seq(8) -> ""
	bAuditAgency   = []byte("audit_agency")       // agency 0 seq(8) -> ""
	bStats         = []byte("stats")              // day(4) agency -> counters (schema 2: agency 0 day(4))
	bStatsPending  = []byte("stats_pending")      // agency -> pending now
	bReminders     = []byte("reminders")          // remind-at(8) id(8) agency -> ""
	bInbox         = []byte("inbox")              // agency 0 seq(8) -> "": audit entries notified to it
	bResults       = []byte("results")            // seq(8) -> first result of a remembered request

	allBuckets = [][]byte{bMeta, bConsultations, bPending, bDeemed, bDeemedTime, bDeemedLead, bParty, bRequests, bFields, bAgencies, bAudit, bAuditCons, bAuditAgency, bStats, bStatsPending, bReminders, bInbox, bResults}

	kSchema    = []byte("schema")
	kAuditHead = []byte("audit_head") // seq(8) hash(32)
	kCalendar  = []byte("calendar")   // version of the calendar in force
)

// SchemaVersion is the layout this code writes. Version 2 added the
// derived data of auditors and inboxes (figures, running totals, reminder
// and inbox indexes) that stores of version 1 lack. Version 3 keys the
// figures by day, then agency (version 2: agency, then day). Version 4
// writes the agency indexes of the trail late, up to a mark (tail.go): a
// version 3 binary would take them as complete. Version 5 writes the
// index of remembered requests late as well, from the results log, whose
// entries now name their request (reqtail.go).
const SchemaVersion = 5

const (
	roleLead      = 1
	roleAddressee = 2
)

// minMapSize is the least the store maps at open (see Open).
const minMapSize int64 = 1 << 30

// Options tune the store.
type Options struct {
	// LockTimeout is how long Open waits for another process's lock.
	LockTimeout time.Duration
	// Migrating, when set, is told before Open copies and migrates a store
	// of an older schema (from), of size bytes: that takes a while on a
	// large store, and the operator should know why the service is not up.
	Migrating func(from, to int, size int64)
	// FoldEvery is how many audit entries the store holds in memory before
	// it writes their agency indexes (0: DefaultFoldEvery; see tail.go),
	// and how many remembered requests before it writes them (reqtail.go).
	FoldEvery int
}

// Store is a storage.Store on one bbolt file.
type Store struct {
	db *bolt.DB
	// group shares durable commits among concurrent writes.
	group committer
	// Migrated says what Open did to bring an older store up to date
	// (empty when nothing), for the operator's log.
	Migrated []string
}

var _ storage.Store = (*Store)(nil)

// ErrLocked is returned by Open when another process holds the data file.
var ErrLocked = errors.New("data folder in use")

// Open opens (creating when needed) the database file tacit.db in dir.
func Open(dir string, o Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder %s: %w", dir, err)
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = 500 * time.Millisecond
	}
	path := filepath.Join(dir, "tacit.db")
	// Growing the file means mapping it anew, which waits for every open
	// read transaction: a backup or an audit verification of a large store
	// would stall every write for as long as it reads. Map, at once, far
	// more than the file holds (address space only; pages are read on
	// demand) so that remapping is rare.
	mapSize, size := minMapSize, int64(0)
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
		mapSize = max(mapSize, 2*size)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.LockTimeout, FreelistType: bolt.FreelistMapType, InitialMmapSize: int(mapSize)})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s is locked by another tacit process; stop that process or give this one another --data folder", ErrLocked, path)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var found int
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		v := meta.Get(kSchema)
		if v == nil { // a new store
			found = SchemaVersion
			return meta.Put(kSchema, []byte(strconv.Itoa(SchemaVersion)))
		}
		n, err := strconv.Atoi(string(v))
		if err != nil {
			return fmt.Errorf("%s has an unreadable schema version %q: it was not written by tacit, or is damaged; restore it from a backup", path, v)
		}
		if n > SchemaVersion {
			return fmt.Errorf("%s was written by a newer tacit (schema %d, this binary knows %d): run the newer version", path, n, SchemaVersion)
		}
		found = n
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	if o.FoldEvery <= 0 {
		o.FoldEvery = DefaultFoldEvery
	}
	t := newTail(0)
	rt := newRequestTail()
	s := &Store{db: db, group: committer{db: db, tail: t, foldEvery: uint64(o.FoldEvery), requests: rt}}
	if found < SchemaVersion {
		if o.Migrating != nil && found < 3 {
			o.Migrating(found, SchemaVersion, size)
		}
		if err := s.migrate(path, found); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := db.View(func(tx *bolt.Tx) error { t.load(tx); rt.load(tx); return nil }); err != nil {
		db.Close()
		return nil, fmt.Errorf("read the audit trail and the results log of %s: %w", path, err)
	}
	return s, nil
}

// Close writes the agency index entries and the remembered requests held
// in memory, so that the file is complete on its own, and closes it.
func (s *Store) Close() error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if _, err := s.group.tail.fold(tx); err != nil {
			return err
		}
		_, err := s.group.requests.write(&txBatch{tx: tx}, 0, true)
		return err
	})
	if errors.Is(err, bolt.ErrDatabaseReadOnly) || errors.Is(err, bolt.ErrDatabaseNotOpen) {
		err = nil
	}
	return errors.Join(err, s.db.Close())
}

// DB exposes the handle for tests and tools in this module.
func (s *Store) DB() *bolt.DB { return s.db }

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// timeKey orders instants; tacit's instants are after 1970.
func timeKey(t time.Time) []byte { return u64(uint64(t.UnixNano())) }

// ParseID accepts `42` or `consultations/42`.
func ParseID(s string) (uint64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "consultations/")
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n > 0
}

func notFound(id string) error {
	return fault.New(fault.NotFound, "CONSULTATION_NOT_FOUND", "consultation %q does not exist: check the id with `tacit list`", id)
}

func unmarshal(b []byte, m proto.Message) error {
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("corrupt record: %w", err)
	}
	return nil
}

func marshal(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// encodeRecord encodes a consultation to store. An addressee's reply that
// is the last of its revisions, as the rules make it, is left out: it is
// kept once, in the revisions, and decodeRecord puts it back. That is a
// quarter of a replied record less to decode, copy and write on every
// change. c is left as it was.
func encodeRecord(c *tacitv1.Consultation) ([]byte, error) {
	var saved [8]*tacitv1.Reply
	held := saved[:0]
	for _, a := range c.GetAddressees() {
		r := a.GetReply()
		if n := len(a.GetRevisions()); r != nil && n > 0 && (r == a.Revisions[n-1] || proto.Equal(r, a.Revisions[n-1])) {
			a.Reply = nil
		}
		held = append(held, r)
	}
	b, err := marshal(c)
	for i, a := range c.GetAddressees() {
		a.Reply = held[i]
	}
	return b, err
}

// decodeRecord decodes a stored consultation (see encodeRecord). Records
// stored with the reply as well decode as they are.
func decodeRecord(b []byte, c *tacitv1.Consultation) error {
	if err := unmarshal(b, c); err != nil {
		return err
	}
	for _, a := range c.GetAddressees() {
		if n := len(a.GetRevisions()); a.Reply == nil && n > 0 {
			a.Reply = a.Revisions[n-1]
		}
	}
	return nil
}

// --- registry ---

// LoadRegistry implements storage.Store.
func (s *Store) LoadRegistry(ctx context.Context) (fields []*tacitv1.Field, agencies []*tacitv1.Agency, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bFields).ForEach(func(_, v []byte) error {
			f := &tacitv1.Field{}
			fields = append(fields, f)
			return unmarshal(v, f)
		}); err != nil {
			return err
		}
		return tx.Bucket(bAgencies).ForEach(func(_, v []byte) error {
			a := &tacitv1.Agency{}
			agencies = append(agencies, a)
			return unmarshal(v, a)
		})
	})
	return fields, agencies, err
}

// SaveRegistry implements storage.Store.
func (s *Store) SaveRegistry(ctx context.Context, fields []*tacitv1.Field, agencies []*tacitv1.Agency, events []*tacitv1.AuditEvent) error {
	return s.group.alone(func(b *txBatch) error {
		tx := b.tx
		for _, f := range fields {
			v, err := marshal(f)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bFields).Put([]byte(f.GetCode()), v); err != nil {
				return err
			}
		}
		for _, a := range agencies {
			v, err := marshal(a)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bAgencies).Put([]byte(a.GetCode()), v); err != nil {
				return err
			}
		}
		return b.appendEvents(events)
	})
}

// --- consultations ---

func requestKey(k storage.IdempotencyKey) []byte {
	return []byte(k.Principal + "\x00" + k.Method + "\x00" + k.ID)
}

// A remembered request is 0x02, the consultation id (8), the SHA-256 of
// the request's fingerprint (32, zero when none was given) and the place
// (8) of its first result in the results log. The log grows at its end, so
// its pages are filled and each written once, where results kept in the
// entries themselves (as 0x01, id, digest, result; and before the digest,
// id, result, whose first byte is 0 for any id below 2^56) made the index,
// whose keys come in no order, ten times larger, with a page of it
// rewritten for every request. Entries of every version are read.
const (
	requestRecordV1 = 0x01
	requestRecordV2 = 0x02
)

func requestRecord(id uint64, fingerprint []byte, result uint64) []byte {
	v := make([]byte, 0, 1+8+sha256.Size+8)
	v = append(v, requestRecordV2)
	v = binary.BigEndian.AppendUint64(v, id)
	var d [sha256.Size]byte
	if len(fingerprint) > 0 {
		d = sha256.Sum256(fingerprint)
	}
	v = append(v, d[:]...)
	return binary.BigEndian.AppendUint64(v, result)
}

func fingerprintDigest(f []byte) []byte {
	d := sha256.Sum256(f)
	return d[:]
}

// rememberedRequest is a parsed entry of the requests bucket.
type rememberedRequest struct {
	id     uint64 // the consultation
	digest []byte // of the fingerprint; nil when unknown
	rec    []byte // the first result, in entries of before the log
	result uint64 // else its place in the results log
}

func parseRequestRecord(v []byte) (rememberedRequest, bool) {
	digestOf := func(d []byte) []byte {
		if bytes.Equal(d, make([]byte, sha256.Size)) {
			return nil
		}
		return d
	}
	switch {
	case len(v) == 1+8+sha256.Size+8 && v[0] == requestRecordV2:
		return rememberedRequest{id: binary.BigEndian.Uint64(v[1:9]), digest: digestOf(v[9 : 9+sha256.Size]), result: binary.BigEndian.Uint64(v[9+sha256.Size:])}, true
	case len(v) >= 1+8+sha256.Size && v[0] == requestRecordV1:
		return rememberedRequest{id: binary.BigEndian.Uint64(v[1:9]), digest: digestOf(v[9 : 9+sha256.Size]), rec: v[9+sha256.Size:]}, true
	case len(v) >= 8 && v[0] == 0:
		return rememberedRequest{id: binary.BigEndian.Uint64(v[:8]), rec: v[8:]}, true
	}
	return rememberedRequest{}, false
}

// firstResult is the request's first result, encoded; nil when the results
// log lacks it.
func (r rememberedRequest) firstResult(tx *bolt.Tx) []byte {
	if r.result == 0 {
		return r.rec
	}
	v := tx.Bucket(bResults).Get(u64(r.result))
	if _, _, rec, ok := parseResultEntry(v); ok {
		return rec
	}
	return v // unreadable: its decoding fails
}

// replay returns the first result of a request seen before. target is the
// consultation an Update is addressed to (0 for Create): the same request id
// used for another consultation, or with another fingerprint, is refused.
func replay(tx *bolt.Tx, lookup func(key []byte) []byte, k storage.IdempotencyKey, target uint64) (*tacitv1.Consultation, bool, error) {
	if k.ID == "" {
		return nil, false, nil
	}
	v := lookup(requestKey(k))
	if v == nil {
		return nil, false, nil
	}
	r, ok := parseRequestRecord(v)
	if !ok {
		return nil, false, fmt.Errorf("remembered request %q is malformed", k.ID)
	}
	if (target != 0 && r.id != target) || (r.digest != nil && len(k.Fingerprint) > 0 && !bytes.Equal(r.digest, fingerprintDigest(k.Fingerprint))) {
		return nil, false, &fault.Error{Kind: fault.Invalid, Reason: storage.ReasonRequestIDReused,
			Message:    fmt.Sprintf("request_id %q was already used by %s for another %s request (on consultation %d); nothing was done: repeat a request exactly to retry it, and give every new request a new request_id", k.ID, k.Principal, k.Method, r.id),
			Violations: []fault.Violation{{Type: storage.ReasonRequestIDReused, Subject: "request_id", Description: fmt.Sprintf("already used for a different %s request", k.Method)}}}
	}
	rec := r.firstResult(tx)
	if rec == nil {
		return nil, false, fmt.Errorf("remembered request %q: its first result %d is missing from the results log; the data file is damaged: restore it from a backup", k.ID, r.result)
	}
	c := &tacitv1.Consultation{}
	if err := decodeRecord(rec, c); err != nil {
		return nil, false, err
	}
	return c, true, nil
}

// requestAsOf looks remembered requests up as read transaction tx sees
// the store: held, if tx sees the result, or in the bucket. It may miss
// one that the tail has just taken or given to the bucket, never find one
// tx does not see: a miss only sends a retry on to the writer.
func (s *Store) requestAsOf(tx *bolt.Tx) func(key []byte) []byte {
	return func(key []byte) []byte {
		if s.group.requests != nil {
			if h, ok := s.group.requests.get(key); ok && h.result <= tx.Bucket(bResults).Sequence() {
				return h.value
			}
		}
		return tx.Bucket(bRequests).Get(key)
	}
}

// write runs one consultation write in a shared durable commit (see
// committer). A retried request replays its first result. apply returns the id
// and the old (nil when new) and new record with the change's events, or a
// rule error: a refused request writes nothing and spoils no group (the
// closure returns nil so the other writes of the group commit).
func (s *Store) write(key storage.IdempotencyKey, target uint64, apply func(tx *bolt.Tx) (id uint64, old, c *tacitv1.Consultation, events []*tacitv1.AuditEvent, ruleErr error)) (*tacitv1.Consultation, bool, error) {
	var (
		out      *tacitv1.Consultation
		replayed bool
		ruleErr  error
	)
	if key.ID != "" {
		// A retry is answered from a read transaction: it writes nothing.
		err := s.db.View(func(tx *bolt.Tx) error {
			out, replayed, ruleErr = replay(tx, s.requestAsOf(tx), key, target)
			return nil
		})
		if err != nil {
			return nil, false, err
		}
		if replayed || ruleErr != nil {
			return out, replayed, ruleErr
		}
	}
	err := s.group.do(func(b *txBatch) error {
		tx := b.tx
		out, replayed, ruleErr = nil, false, nil
		prev, ok, err := replay(tx, b.request, key, target)
		if _, refused := fault.As(err); refused {
			ruleErr = err
			return nil
		}
		if err != nil || ok {
			out, replayed = prev, ok
			return err
		}
		id, old, c, events, rerr := apply(tx)
		if rerr != nil {
			ruleErr = rerr
			return nil
		}
		rec, err := s.put(b, id, old, c, events)
		if err != nil {
			return err
		}
		out = c
		return b.remember(key, id, rec)
	})
	if err != nil {
		return nil, false, err
	}
	return out, replayed, ruleErr
}

// Create implements storage.Store.
func (s *Store) Create(ctx context.Context, key storage.IdempotencyKey, build storage.Builder) (*tacitv1.Consultation, bool, error) {
	return s.write(key, 0, func(tx *bolt.Tx) (uint64, *tacitv1.Consultation, *tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
		b := tx.Bucket(bConsultations)
		seq := b.Sequence() + 1 // taken only if the consultation is stored
		c, events, err := build(strconv.FormatUint(seq, 10))
		if err != nil {
			return 0, nil, nil, nil, err
		}
		// SetSequence cannot fail on a writable transaction's bucket.
		_ = b.SetSequence(seq)
		return seq, nil, c, events, nil
	})
}

// Update implements storage.Store.
func (s *Store) Update(ctx context.Context, idStr string, key storage.IdempotencyKey, mutate storage.Mutation) (*tacitv1.Consultation, bool, error) {
	id, ok := ParseID(idStr)
	if !ok {
		return nil, false, notFound(idStr)
	}
	return s.write(key, id, func(tx *bolt.Tx) (uint64, *tacitv1.Consultation, *tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
		old, err := get(tx, id)
		if err != nil {
			return 0, nil, nil, nil, err
		}
		c := proto.Clone(old).(*tacitv1.Consultation)
		events, err := mutate(c)
		if err != nil {
			return 0, nil, nil, nil, err
		}
		return id, old, c, events, nil
	})
}

func get(tx *bolt.Tx, id uint64) (*tacitv1.Consultation, error) {
	v := tx.Bucket(bConsultations).Get(u64(id))
	if v == nil {
		return nil, notFound(strconv.FormatUint(id, 10))
	}
	c := &tacitv1.Consultation{}
	return c, decodeRecord(v, c)
}

// Get implements storage.Store.
func (s *Store) Get(ctx context.Context, idStr string) (*tacitv1.Consultation, error) {
	id, ok := ParseID(idStr)
	if !ok {
		return nil, notFound(idStr)
	}
	var c *tacitv1.Consultation
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		c, err = get(tx, id)
		return err
	})
	return c, err
}

// index keys derived from a record.
type indexKeys struct {
	pending   [][]byte
	reminders [][]byte
	deemed    []deemedKey
	party     map[string]byte
}

type deemedKey struct {
	byAgency, byTime, byLead []byte
	rec                      *tacitv1.DeemedApprovalRecord
}

func keysOf(id uint64, c *tacitv1.Consultation) indexKeys {
	var k indexKeys
	if c == nil {
		return k
	}
	idb := u64(id)
	k.party = map[string]byte{c.GetLead(): roleLead}
	k.pending, k.reminders = dueKeys(id, c)
	for _, a := range c.GetAddressees() {
		k.party[a.GetAgency()] |= roleAddressee
		switch a.GetState() {
		case tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED:
			eff := timeKey(a.GetDeemedApproval().GetEffectiveTime().AsTime())
			k.deemed = append(k.deemed, deemedKey{
				byAgency: concat([]byte(a.GetAgency()), []byte{0}, eff, idb),
				byTime:   concat(eff, idb, []byte(a.GetAgency())),
				byLead:   concat([]byte(c.GetLead()), []byte{0}, eff, idb, []byte(a.GetAgency())),
				rec: &tacitv1.DeemedApprovalRecord{
					ConsultationId: c.GetId(), Title: c.GetTitle(), Lead: c.GetLead(),
					Agency: a.GetAgency(), AgencyName: a.GetAgencyName(),
					EffectiveTime:      a.GetDeemedApproval().GetEffectiveTime(),
					ResponsibleHead:    a.GetDeemedApproval().GetResponsibleHead(),
					ExtensionRequested: len(a.GetExtensions()) > 0,
					Fields:             c.GetFields(),
					LeadName:           c.GetLeadName(),
				},
			})
		}
	}
	return k
}

// dueKeys are the entries of c in the deadline and the reminder index
// while it is open: each pending addressee's deadline and unsent reminder.
func dueKeys(id uint64, c *tacitv1.Consultation) (pending, reminders [][]byte) {
	if c.GetState() != tacitv1.ConsultationState_CONSULTATION_STATE_OPEN {
		return nil, nil
	}
	idb := u64(id)
	for _, a := range c.GetAddressees() {
		if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
			continue
		}
		pending = append(pending, concat(timeKey(a.GetDeadline().AsTime()), idb, []byte(a.GetAgency())))
		if a.GetReminderTime() != nil && a.GetReminderSentTime() == nil {
			reminders = append(reminders, concat(timeKey(a.GetReminderTime().AsTime()), idb, []byte(a.GetAgency())))
		}
	}
	return pending, reminders
}

func findDeemed(ds []deemedKey, byTime []byte) *deemedKey {
	for i := range ds {
		if bytes.Equal(ds[i].byTime, byTime) {
			return &ds[i]
		}
	}
	return nil
}

func concat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

// put stores c (replacing old), rewrites its index entries, and adds its
// figures and events to those of the batch's commit.
func (s *Store) put(b *txBatch, id uint64, old, c *tacitv1.Consultation, events []*tacitv1.AuditEvent) ([]byte, error) {
	rec, err := putRecord(b.tx, id, old, c, b.stats)
	if err != nil {
		return nil, err
	}
	setConsultation(events, c)
	return rec, b.appendEvents(events)
}

// setConsultation dates events without a consultation to c.
func setConsultation(events []*tacitv1.AuditEvent, c *tacitv1.Consultation) {
	for _, e := range events {
		if e.GetConsultationId() == "" {
			e.ConsultationId = c.GetId()
		}
	}
}

// addKeys adds to b the key-only entries of one record that new has and
// old had not. The deadline and reminder indexes are the only ones so
// kept: an entry that a change no longer implies stays until its time
// comes, when the sweep drops it (SweepDue) among the entries due with it,
// rather than costing the change a write to a page of its own.
func addKeys(b *bolt.Bucket, old, new [][]byte) error {
	for _, k := range new {
		if !containsKey(old, k) {
			if err := b.Put(k, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, x := range keys {
		if bytes.Equal(x, k) {
			return true
		}
	}
	return false
}

// putRecord stores c (replacing old), rewrites its index entries and adds
// the change of figures to d, which the caller applies.
func putRecord(tx *bolt.Tx, id uint64, old, c *tacitv1.Consultation, d *statsDelta) ([]byte, error) {
	ch, err := prepareRecord(id, old, c)
	if err != nil {
		return nil, err
	}
	return ch.rec, ch.apply(tx, d)
}

// recordChange is what storing a changed record writes: its encoding and
// the index entries that differ. prepareRecord computes it without the
// transaction, so that many can be computed at once (see mutateAll).
type recordChange struct {
	id     uint64
	old, c *tacitv1.Consultation
	rec    []byte
	ok, nk indexKeys
	// newDeemed are the deemed approvals of c not stored yet, with their
	// encoded records.
	newDeemed []deemedKey
	newRecs   [][]byte
	// goneDeemed are those of old that c no longer has as they were.
	goneDeemed []deemedKey
}

func prepareRecord(id uint64, old, c *tacitv1.Consultation) (*recordChange, error) {
	rec, err := encodeRecord(c)
	if err != nil {
		return nil, err
	}
	ch := &recordChange{id: id, old: old, c: c, rec: rec, ok: keysOf(id, old), nk: keysOf(id, c)}
	// A deemed approval's entries never change once written (the record
	// they copy is settled), so only new ones are written.
	var kept map[string]bool
	for _, d := range ch.ok.deemed {
		if n := findDeemed(ch.nk.deemed, d.byTime); n != nil && proto.Equal(n.rec, d.rec) {
			if kept == nil {
				kept = map[string]bool{}
			}
			kept[string(d.byTime)] = true
			continue
		}
		ch.goneDeemed = append(ch.goneDeemed, d)
	}
	for _, d := range ch.nk.deemed {
		if kept[string(d.byTime)] {
			continue
		}
		b, err := marshal(d.rec)
		if err != nil {
			return nil, err
		}
		ch.newDeemed = append(ch.newDeemed, d)
		ch.newRecs = append(ch.newRecs, b)
	}
	return ch, nil
}

// apply writes the change in tx and adds its change of figures to d.
func (ch *recordChange) apply(tx *bolt.Tx, d *statsDelta) error {
	id, ok, nk := ch.id, ch.ok, ch.nk
	// Pages split as the loader fills them (bulk.go): records are
	// appended as consultations open and grow as they are answered, so a
	// split leaves room for that rather than the default half page; the
	// deemed approvals by time come in time order (the sweep takes
	// deadlines so), all but a few late ones at the end.
	records := tx.Bucket(bConsultations)
	records.FillPercent = 0.7
	if err := records.Put(u64(id), ch.rec); err != nil {
		return err
	}
	deemed, deemedT, deemedL, party := tx.Bucket(bDeemed), tx.Bucket(bDeemedTime), tx.Bucket(bDeemedLead), tx.Bucket(bParty)
	deemedT.FillPercent = 0.9
	if err := addKeys(tx.Bucket(bPending), ok.pending, nk.pending); err != nil {
		return err
	}
	if err := addKeys(tx.Bucket(bReminders), ok.reminders, nk.reminders); err != nil {
		return err
	}
	for _, d := range ch.goneDeemed {
		if err := deemed.Delete(d.byAgency); err != nil {
			return err
		}
		if err := deemedT.Delete(d.byTime); err != nil {
			return err
		}
		if err := deemedL.Delete(d.byLead); err != nil {
			return err
		}
	}
	for i, d := range ch.newDeemed {
		// The record is kept once, by time; the agency's and the lead's
		// indexes are keys that lead to it.
		if err := deemed.Put(d.byAgency, nil); err != nil {
			return err
		}
		if err := deemedT.Put(d.byTime, ch.newRecs[i]); err != nil {
			return err
		}
		if err := deemedL.Put(d.byLead, nil); err != nil {
			return err
		}
	}
	for agency, role := range nk.party {
		if ok.party[agency] != role {
			if err := party.Put(concat([]byte(agency), []byte{0}, u64(id)), []byte{role}); err != nil {
				return err
			}
		}
	}
	d.diff(ch.old, ch.c)
	return nil
}

// List implements storage.Store.
func (s *Store) List(ctx context.Context, q storage.ListQuery) ([]*tacitv1.Consultation, string, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	var out []*tacitv1.Consultation
	next := ""
	after := uint64(0)
	if q.After != "" {
		var ok bool
		if after, ok = ParseID(q.After); !ok {
			return nil, "", fault.New(fault.Invalid, "INVALID_PAGE_TOKEN", "the page token is not valid: start again without it")
		}
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		cons := tx.Bucket(bConsultations)
		keep := func(id uint64, v []byte) (bool, error) {
			c := &tacitv1.Consultation{}
			if err := decodeRecord(v, c); err != nil {
				return false, err
			}
			if q.State != tacitv1.ConsultationState_CONSULTATION_STATE_UNSPECIFIED && c.GetState() != q.State {
				return false, nil
			}
			if len(out) == q.Limit {
				next = strconv.FormatUint(id, 10)
				return true, nil
			}
			out = append(out, c)
			return false, nil
		}
		// The last id of the page is where the next page starts after;
		// we record the id of the last kept row instead, below.
		if q.Agency == "" {
			cur := cons.Cursor()
			var k, v []byte
			if after == 0 {
				k, v = cur.Last()
			} else {
				cur.Seek(u64(after))
				k, v = cur.Prev()
			}
			for ; k != nil; k, v = cur.Prev() {
				stop, err := keep(binary.BigEndian.Uint64(k), v)
				if err != nil || stop {
					return err
				}
			}
			return nil
		}
		prefix := append([]byte(q.Agency), 0)
		cur := tx.Bucket(bParty).Cursor()
		var k, v []byte
		if after == 0 {
			k, v = cur.Seek(append(append([]byte(q.Agency), 0), u64(^uint64(0))...))
			if k == nil {
				k, v = cur.Last()
			} else if !bytes.Equal(k, append(append([]byte(q.Agency), 0), u64(^uint64(0))...)) {
				k, v = cur.Prev()
			}
		} else {
			cur.Seek(concat(prefix, u64(after)))
			k, v = cur.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, v = cur.Prev() {
			role := v[0]
			if (q.Role == storage.LeadRole && role&roleLead == 0) || (q.Role == storage.AddresseeRole && role&roleAddressee == 0) {
				continue
			}
			id := binary.BigEndian.Uint64(k[len(prefix):])
			stop, err := keep(id, cons.Get(k[len(prefix):]))
			if err != nil || stop {
				return err
			}
		}
		return nil
	})
	if next != "" && len(out) > 0 {
		next = out[len(out)-1].GetId()
	}
	return out, next, err
}

// --- deadlines ---

// NextDeadline implements storage.Store.
func (s *Store) NextDeadline(ctx context.Context) (t time.Time, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bPending, bReminders} {
			if k, _ := tx.Bucket(b).Cursor().First(); k != nil {
				if at := time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))); !ok || at.Before(t) {
					t, ok = at, true
				}
			}
		}
		return nil
	})
	return t, ok, err
}

// CalendarVersion implements storage.Store.
func (s *Store) CalendarVersion(ctx context.Context) (v string, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v = string(tx.Bucket(bMeta).Get(kCalendar))
		return nil
	})
	return v, err
}

// RecountDeadlines implements storage.Store.
func (s *Store) RecountDeadlines(ctx context.Context, now time.Time, version string, mutate storage.Mutation, summary func(changed int) []*tacitv1.AuditEvent) (int, error) {
	n := 0
	err := s.group.alone(func(b *txBatch) (err error) {
		tx := b.tx
		var ids idSet
		cur := tx.Bucket(bPending).Cursor()
		for k, _ := cur.Seek(timeKey(now.Add(time.Nanosecond))); k != nil; k, _ = cur.Next() {
			ids.add(binary.BigEndian.Uint64(k[8:16]))
		}
		if n, _, err = s.mutateAll(b, ids.list, nil, mutate, nil); err != nil {
			return err
		}
		if err := b.appendEvents(summary(n)); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kCalendar, []byte(version))
	})
	return n, err
}

// --- audit ---

// ListDeemed implements storage.Store.
func (s *Store) ListDeemed(ctx context.Context, q storage.DeemedQuery) ([]*tacitv1.DeemedApprovalRecord, []byte, error) {
	var out []*tacitv1.DeemedApprovalRecord
	next, err := s.listDeemed(q, func(v []byte, r *tacitv1.DeemedApprovalRecord) error {
		if r == nil {
			r = &tacitv1.DeemedApprovalRecord{}
			if err := unmarshal(v, r); err != nil {
				return err
			}
		}
		out = append(out, r)
		return nil
	})
	return out, next, err
}

// ListDeemedEncoded implements storage.Store.
func (s *Store) ListDeemedEncoded(ctx context.Context, q storage.DeemedQuery) ([][]byte, []byte, error) {
	var out [][]byte
	next, err := s.listDeemed(q, func(v []byte, _ *tacitv1.DeemedApprovalRecord) error {
		out = append(out, bytes.Clone(v)) // v is the file's map, valid only in the transaction
		return nil
	})
	return out, next, err
}

// listDeemed passes each deemed approval of a page to emit, encoded as
// stored and, when q.Keep had to decode it, decoded; it returns the cursor
// of the next page.
func (s *Store) listDeemed(q storage.DeemedQuery, emit func(v []byte, r *tacitv1.DeemedApprovalRecord) error) ([]byte, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	var next []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		var prefix []byte
		var cur *bolt.Cursor
		byTime := tx.Bucket(bDeemedTime)
		// toTime is the deemed_time key of an entry of the index read.
		toTime := func(k []byte) []byte { return k }
		switch {
		case q.Agency != "":
			prefix = append([]byte(q.Agency), 0)
			cur = tx.Bucket(bDeemed).Cursor()
			var key []byte // reused: a lookup does not keep it
			toTime = func(k []byte) []byte {
				key = append(append(key[:0], k[len(prefix):]...), q.Agency...)
				return key
			}
		case q.Lead != "":
			prefix = append([]byte(q.Lead), 0)
			cur = tx.Bucket(bDeemedLead).Cursor()
			toTime = func(k []byte) []byte { return k[len(prefix):] }
		default:
			cur = byTime.Cursor()
		}
		start := concat(prefix, timeKey(q.Since))
		if q.Since.IsZero() {
			start = prefix
		}
		var k, v, last []byte
		var records *bolt.Cursor // of byTime, when the index holds keys only
		n, scanned, maxScan := 0, 0, max(2000, 20*q.Limit)
		if q.After != nil {
			k, v = cur.Seek(q.After)
			if bytes.Equal(k, q.After) {
				k, v = cur.Next()
			}
		} else {
			k, v = cur.Seek(start)
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			eff := time.Unix(0, int64(binary.BigEndian.Uint64(k[len(prefix):len(prefix)+8])))
			if !q.Until.IsZero() && !eff.Before(q.Until) {
				break
			}
			if scanned++; scanned > maxScan && n < q.Limit {
				// A selective filter: return what was found with a cursor
				// (AIP-158 allows short pages) rather than walk the index.
				next = bytes.Clone(last)
				return nil
			}
			if len(v) == 0 {
				// One cursor for every lookup of the page: Get would
				// allocate one each.
				if records == nil {
					records = byTime.Cursor()
				}
				key := toTime(k)
				if rk, rv := records.Seek(key); bytes.Equal(rk, key) {
					v = rv
				}
				if len(v) == 0 {
					return fmt.Errorf("deemed approval index entry %x has no record in deemed_time", k)
				}
			}
			var r *tacitv1.DeemedApprovalRecord
			if q.Keep != nil {
				r = &tacitv1.DeemedApprovalRecord{}
				if err := unmarshal(v, r); err != nil {
					return err
				}
				if !q.Keep(r) {
					last = k
					continue
				}
			}
			if n == q.Limit {
				next = bytes.Clone(last)
				return nil
			}
			if err := emit(v, r); err != nil {
				return err
			}
			n++
			last = k
		}
		return nil
	})
	return next, err
}

// eventHash is the SHA-256 of e encoded without its hash. It sets the
// hash aside while encoding (no copy: this runs for every entry written
// and verified), so e must not be read concurrently.
func eventHash(e *tacitv1.AuditEvent) ([]byte, error) {
	hash := e.Hash
	e.Hash = nil
	b, err := marshal(e)
	e.Hash = hash
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(b)
	return h[:], nil
}

var hashField = (&tacitv1.AuditEvent{}).ProtoReflect().Descriptor().Fields().ByName("hash").Number()

func appendEvents(tx *bolt.Tx, events []*tacitv1.AuditEvent) error {
	b := &txBatch{tx: tx}
	if err := b.appendEvents(events); err != nil {
		return err
	}
	return b.finish()
}

// eventBody is an audit entry encoded without the fields that chain it
// (sequence, prev_hash, hash), split where prev_hash goes: the trail adds
// them when it appends the entry, without encoding it again. Bodies can be
// made away from the transaction (see mutateAll).
type eventBody struct {
	b     []byte
	split int // fields numbered below prev_hash end here
}

func encodeEvents(events []*tacitv1.AuditEvent) ([]eventBody, error) {
	out := make([]eventBody, len(events))
	for i, e := range events {
		seq, prev, hash := e.Sequence, e.PrevHash, e.Hash
		e.Sequence, e.PrevHash, e.Hash = 0, nil, nil
		b, err := marshal(e)
		e.Sequence, e.PrevHash, e.Hash = seq, prev, hash
		if err != nil {
			return nil, err
		}
		// The encoding has its fields in number order; find the first
		// after prev_hash.
		split := 0
		for split < len(b) {
			num, typ, n := protowire.ConsumeTag(b[split:])
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			if num > prevHashField {
				break
			}
			m := protowire.ConsumeFieldValue(num, typ, b[split+n:])
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			split += n + m
		}
		out[i] = eventBody{b: b, split: split}
	}
	return out, nil
}

var (
	sequenceField = (&tacitv1.AuditEvent{}).ProtoReflect().Descriptor().Fields().ByName("sequence").Number()
	prevHashField = (&tacitv1.AuditEvent{}).ProtoReflect().Descriptor().Fields().ByName("prev_hash").Number()
)

// trail appends entries to the audit trail of one transaction: it holds
// the head of the chain, which save stores once for all of them.
type trail struct {
	meta, audit, byCons, byAgency, inbox *bolt.Bucket
	seq                                  uint64
	prev                                 []byte
	// held, when set, takes the entries' agency index entries in place of
	// the buckets (see tail.go).
	held *[]tailEntry
}

func openTrail(tx *bolt.Tx) *trail {
	t := &trail{meta: tx.Bucket(bMeta), audit: tx.Bucket(bAudit),
		byCons: tx.Bucket(bAuditCons), byAgency: tx.Bucket(bAuditAgency), inbox: tx.Bucket(bInbox)}
	// The trail and its indexes by agency are appended in key order (the
	// sequence grows) and never inserted into before their end: their
	// pages are filled, as the loader fills them (bulk.go), not left half
	// empty by bbolt's default split.
	t.audit.FillPercent, t.byAgency.FillPercent, t.inbox.FillPercent = 1, 1, 1
	if v := t.meta.Get(kAuditHead); v != nil {
		t.seq, t.prev = binary.BigEndian.Uint64(v[:8]), bytes.Clone(v[8:])
	}
	return t
}

// append chains e, whose body is given, after the head and indexes it.
// The entry's hash is that of its encoding without the hash field (as
// eventHash computes it), which is then appended as that field; field
// order does not matter to a decoder.
func (t *trail) append(e *tacitv1.AuditEvent, body eventBody) error {
	t.seq++
	seq := t.seq
	e.Sequence, e.PrevHash, e.Hash = seq, t.prev, nil
	b := make([]byte, 0, len(body.b)+2*sha256.Size+16)
	b = protowire.AppendTag(b, sequenceField, protowire.VarintType)
	b = protowire.AppendVarint(b, seq)
	b = append(b, body.b[:body.split]...)
	if len(t.prev) > 0 {
		b = protowire.AppendTag(b, prevHashField, protowire.BytesType)
		b = protowire.AppendBytes(b, t.prev)
	}
	b = append(b, body.b[body.split:]...)
	sum := sha256.Sum256(b)
	h := sum[:]
	e.Hash = h
	b = protowire.AppendTag(b, hashField, protowire.BytesType)
	b = protowire.AppendBytes(b, h)
	if err := t.audit.Put(u64(seq), b); err != nil {
		return err
	}
	if id, ok := ParseID(e.GetConsultationId()); ok {
		if err := t.byCons.Put(concat(u64(id), u64(seq)), nil); err != nil {
			return err
		}
	}
	t.prev = h
	if t.held != nil {
		*t.held = append(*t.held, entryOf(seq, e))
		return nil
	}
	for _, a := range eventAgencies(e) {
		if err := t.byAgency.Put(concat([]byte(a), []byte{0}, u64(seq)), nil); err != nil {
			return err
		}
	}
	for _, a := range e.GetNotified() {
		if err := t.inbox.Put(concat([]byte(a), []byte{0}, u64(seq)), nil); err != nil {
			return err
		}
	}
	return nil
}

// save stores the head of the chain.
func (t *trail) save() error {
	return t.meta.Put(kAuditHead, concat(u64(t.seq), t.prev))
}

// eventAgencies are the agencies an event concerns: its subject and, when
// an agency acted, the actor.
func eventAgencies(e *tacitv1.AuditEvent) []string {
	var out []string
	if e.GetAgency() != "" {
		out = append(out, e.GetAgency())
	}
	if a, ok := strings.CutPrefix(e.GetActor(), "agency:"); ok && a != e.GetAgency() {
		out = append(out, a)
	}
	return out
}

// ListEvents implements storage.Store.
func (s *Store) ListEvents(ctx context.Context, q storage.EventQuery) ([]*tacitv1.AuditEvent, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.AfterSeq == ^uint64(0) {
		return nil, nil
	}
	var out []*tacitv1.AuditEvent
	err := s.db.View(func(tx *bolt.Tx) error {
		audit := tx.Bucket(bAudit)
		after := q.AfterSeq
		if !q.Since.IsZero() && q.Consultation == "" && q.Agency == "" {
			after = max(after, firstAtOrAfter(audit, q.Since)-1)
		}
		// next yields sequence numbers in order from the chosen index.
		var next func() (uint64, bool)
		switch {
		case q.Consultation != "":
			id, ok := ParseID(q.Consultation)
			if !ok {
				return nil
			}
			prefix := u64(id)
			cur := tx.Bucket(bAuditCons).Cursor()
			k, _ := cur.Seek(concat(prefix, u64(after+1)))
			next = func() (uint64, bool) {
				if k == nil || !bytes.HasPrefix(k, prefix) {
					return 0, false
				}
				seq := binary.BigEndian.Uint64(k[8:])
				k, _ = cur.Next()
				return seq, true
			}
		case q.Agency != "":
			next = s.group.tail.seqs(tx, bAuditAgency, q.Agency, after)
		default:
			seq := after
			next = func() (uint64, bool) {
				seq++
				return seq, audit.Get(u64(seq)) != nil
			}
		}
		for len(out) < q.Limit {
			seq, ok := next()
			if !ok {
				return nil
			}
			e := &tacitv1.AuditEvent{}
			if err := unmarshal(audit.Get(u64(seq)), e); err != nil {
				return err
			}
			t := e.GetEventTime().AsTime()
			if !q.Until.IsZero() && !t.Before(q.Until) {
				return nil
			}
			if (!q.Since.IsZero() && t.Before(q.Since)) || (q.Keep != nil && !q.Keep(e)) {
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// ListInbox implements storage.Store.
func (s *Store) ListInbox(ctx context.Context, agency string, afterSeq uint64, limit int) ([]*tacitv1.AuditEvent, error) {
	var out []*tacitv1.AuditEvent
	if afterSeq == ^uint64(0) {
		return nil, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		audit := tx.Bucket(bAudit)
		next := s.group.tail.seqs(tx, bInbox, agency, afterSeq)
		for len(out) < limit {
			seq, ok := next()
			if !ok {
				return nil
			}
			e := &tacitv1.AuditEvent{}
			if err := unmarshal(audit.Get(u64(seq)), e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// firstAtOrAfter finds, by binary search over the sequence (event times
// grow with it), the first sequence whose time is at or after t.
func firstAtOrAfter(audit *bolt.Bucket, t time.Time) uint64 {
	k, _ := audit.Cursor().Last()
	if k == nil {
		return 1
	}
	lo, hi := uint64(1), binary.BigEndian.Uint64(k)+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		e := &tacitv1.AuditEvent{}
		if v := audit.Get(u64(mid)); v == nil || proto.Unmarshal(v, e) != nil || e.GetEventTime().AsTime().Before(t) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// VerifyAudit implements storage.Store.
func (s *Store) VerifyAudit(ctx context.Context) (storage.Verification, error) {
	var res storage.Verification
	err := s.db.View(func(tx *bolt.Tx) error {
		var prev []byte
		var want uint64 = 1
		fail := func(seq uint64, format string, args ...any) error {
			res.Intact, res.FirstBroken, res.Problem = false, seq, fmt.Sprintf(format, args...)
			return errStop
		}
		cur := tx.Bucket(bAudit).Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			seq := binary.BigEndian.Uint64(k)
			e := &tacitv1.AuditEvent{}
			if err := proto.Unmarshal(v, e); err != nil {
				return fail(seq, "entry %d cannot be decoded: %v", seq, err)
			}
			switch {
			case seq != want || e.GetSequence() != seq:
				return fail(want, "entry %d is missing or out of place (found %d)", want, seq)
			case !bytes.Equal(e.GetPrevHash(), prev):
				return fail(seq, "entry %d does not chain to entry %d", seq, seq-1)
			}
			h, err := eventHash(e)
			if err != nil {
				return err
			}
			if !bytes.Equal(h, e.GetHash()) {
				return fail(seq, "entry %d was altered: its content does not match its hash", seq)
			}
			prev = h
			want++
			res.Checked++
		}
		if v := tx.Bucket(bMeta).Get(kAuditHead); v != nil && (binary.BigEndian.Uint64(v[:8]) != want-1 || !bytes.Equal(v[8:], prev)) {
			return fail(want, "the trail ends at entry %d but the recorded head is entry %d: entries were removed", want-1, binary.BigEndian.Uint64(v[:8]))
		}
		res.Intact, res.HeadHash = true, prev
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return res, err
}

var errStop = errors.New("stop")
