package bolt

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// commitTestStore is a store with a bucket for the committer's tests.
func commitTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("t"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

// queued waits until n writes wait in the committer's queue.
func queued(t *testing.T, c *committer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := len(c.queue)
		c.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Writes that arrive while a commit runs share the next one, and each is
// answered only once it is committed: a write's error (or panic) goes to
// its caller alone, and nothing it wrote is kept, while the others of its
// group are committed.
func TestCommitterGroupsWritesAndIsolatesFailures(t *testing.T) {
	s := commitTestStore(t)
	hold, held := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.group.do(func(b *txBatch) error {
			tx := b.tx
			close(held)
			<-hold // the writer is busy: the next writes queue up
			return tx.Bucket([]byte("t")).Put([]byte("first"), []byte("1"))
		})
	}()
	<-held

	const n = 20
	var (
		mu  sync.Mutex
		txs = map[*bolt.Tx]int{}
		wg  sync.WaitGroup
	)
	errs := make([]error, n)
	errBad := errors.New("refused by the test")
	for i := range n {
		wg.Go(func() {
			errs[i] = s.group.do(func(batch *txBatch) error {
				tx := batch.tx
				mu.Lock()
				txs[tx]++
				mu.Unlock()
				b := tx.Bucket([]byte("t"))
				if err := b.Put([]byte("k"+strconv.Itoa(i)), []byte("v")); err != nil {
					return err
				}
				switch i {
				case 3:
					return errBad
				case 7:
					panic("a bug in one write")
				}
				return nil
			})
		})
	}
	queued(t, &s.group, n)
	close(hold)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first write: %v", err)
	}

	for i, err := range errs {
		switch i {
		case 3:
			if !errors.Is(err, errBad) {
				t.Errorf("write 3: error %v, want its own %v", err, errBad)
			}
		case 7:
			if err == nil {
				t.Errorf("write 7 panicked but was answered with no error")
			}
		default:
			if err != nil {
				t.Errorf("write %d: %v (another write's failure spoiled it)", i, err)
			}
		}
	}
	// The 20 queued writes ran in one transaction, which was rolled back
	// twice (once per failing write) and committed on the third try.
	if len(txs) != 3 {
		t.Errorf("the queued writes ran in %d transactions, want 3 (one group, two failures taken out)", len(txs))
	}
	// The operator's figures count two durable commits (the first write's,
	// then the group's) carrying the 19 writes that were kept.
	counts, err := s.Counts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if counts.Commits != 2 || counts.CommittedWrites != 1+n-2 {
		t.Errorf("counted %d commits carrying %d writes, want 2 carrying %d", counts.Commits, counts.CommittedWrites, 1+n-2)
	}
	// The writer's busy time covers its commits, each with an fsync.
	if counts.WriterBusy <= 0 {
		t.Errorf("the writer was busy %v over two durable commits, want more than nothing", counts.WriterBusy)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("t"))
		if b.Get([]byte("first")) == nil {
			t.Error("the first write is not stored")
		}
		for i := range n {
			got := b.Get([]byte("k"+strconv.Itoa(i))) != nil
			if want := i != 3 && i != 7; got != want {
				t.Errorf("k%d stored: %v, want %v", i, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// When the commit itself fails (here: the store is read-only), every write
// of the group is told so.
func TestCommitterCommitFailureReachesEveryWrite(t *testing.T) {
	s := commitTestStore(t)
	path := s.db.Path()
	s.Close()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := &committer{db: db}
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() {
			errs[i] = c.do(func(*txBatch) error { return nil })
		})
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, bolt.ErrDatabaseReadOnly) {
			t.Errorf("write %d: %v, want %v", i, err, bolt.ErrDatabaseReadOnly)
		}
	}
	if n, w := c.commits.Load(), c.writes.Load(); n != 0 || w != 0 {
		t.Errorf("failed commits counted as %d commits carrying %d writes, want none", n, w)
	}
}

// Replies that share a commit add their figures and audit entries once for
// the whole commit; a write taken out of the group (here: one that fails
// after its record and figures were written, and one that panics) leaves
// nothing of its own in either, and the others' survive.
func TestWritesSharingACommitKeepFiguresAndTrail(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	opened := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	const n = 12
	for i := range n {
		_, _, err := s.Create(ctx, storage.IdempotencyKey{}, func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
			c := &tacitv1.Consultation{Id: id, Name: "consultations/" + id, Lead: "so-nnmt", Title: "shared commit " + strconv.Itoa(i),
				State: tacitv1.ConsultationState_CONSULTATION_STATE_OPEN, CreateTime: timestamppb.New(opened),
				Addressees: []*tacitv1.Addressee{{Agency: "so-xay-dung", State: tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING,
					Deadline: timestamppb.New(opened.AddDate(0, 0, 10))}}}
			return c, []*tacitv1.AuditEvent{{EventTime: c.CreateTime, Actor: "agency:so-nnmt", Type: consultation.EventOpened, Notified: []string{"so-xay-dung"}}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	reply := func(i int) storage.Mutation {
		return func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
			if i == 8 {
				panic("a bug in one reply")
			}
			at := timestamppb.New(opened.Add(time.Hour))
			a := c.Addressees[0]
			r := &tacitv1.Reply{Revision: 1, Position: tacitv1.Position_POSITION_AGREE, ReplyTime: at, RepliedBy: "agency:so-xay-dung"}
			a.State, a.Reply, a.Revisions = tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED, r, []*tacitv1.Reply{r}
			c.State = tacitv1.ConsultationState_CONSULTATION_STATE_CONCLUDED
			e := &tacitv1.AuditEvent{EventTime: at, Actor: "agency:so-xay-dung", Type: consultation.EventReplied, Agency: "so-xay-dung", Notified: []string{"so-nnmt"}}
			if i == 5 {
				// fails once its record and figures are written: the
				// entry cannot be encoded
				e.Details = "\xff"
			}
			return []*tacitv1.AuditEvent{e}, nil
		}
	}
	hold, held := make(chan struct{}), make(chan struct{})
	go s.group.do(func(*txBatch) error { close(held); <-hold; return nil })
	<-held
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, _, errs[i] = s.Update(ctx, strconv.Itoa(i+1), storage.IdempotencyKey{}, reply(i))
		})
	}
	queued(t, &s.group, n)
	close(hold)
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i == 5 || i == 8) {
			t.Errorf("reply %d: error %v", i, err)
		}
	}
	problems, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("Check after replies sharing a commit found %d problem(s), the first: %s", len(problems), problems[0])
	}
	counts, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(n + n - 2); counts.AuditEntries != want {
		t.Errorf("audit entries = %d, want %d (the openings and the replies that were not taken out)", counts.AuditEntries, want)
	}
	if counts.OpenConsultations != 2 || counts.PendingAddressees != 2 {
		t.Errorf("open consultations %d and pending addressees %d, want 2 and 2 (the replies taken out)", counts.OpenConsultations, counts.PendingAddressees)
	}
}
