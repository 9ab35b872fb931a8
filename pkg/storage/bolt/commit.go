package bolt

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// maxGroup is the most writes one commit takes.
const maxGroup = 1000

// burstFolds is how many times foldEvery audit entries the tail holds
// before a fold while a writer says more of its commits follow (see
// maybeFold): 262,144 by default, tens of MiB of memory at most, and what
// a store that stopped then reads back from the trail when it opens again.
const burstFolds = 64

// committer groups concurrent writes into shared durable commits. Unlike
// bbolt's Batch, it does not wait on a timer: a write arriving while the
// writer is idle commits at once, and the writes that arrive during a
// commit all share the next one. Under load each commit's fsync and page
// writes are shared by every write that queued behind the previous one,
// where Batch splits them into one commit per timer window.
type committer struct {
	db *bolt.DB
	// tail, when set, takes the agency index entries of every commit's
	// audit entries, and foldEvery of them gathered are written to the
	// buckets in a commit of their own (tail.go).
	tail      *tail
	foldEvery uint64
	// requests, when set, holds the remembered requests of the commits,
	// foldEvery or more of them written a run at a time (reqtail.go).
	requests *requestTail
	foldAt   uint64 // held entries at which the next fold runs (0: foldEvery)
	mu       sync.Mutex
	queue    []*groupCall
	running  bool
	// commits and writes count the durable commits and the writes they
	// carried, and busy the nanoseconds the writer spent committing (its
	// transactions, their syncs and the folds), for the operator (Counts).
	commits, writes, busy atomic.Int64
}

type groupCall struct {
	fn    func(*txBatch) error
	done  chan error
	alone bool // commits without others
}

// do runs fn in a commit shared with the writes queued with it and returns
// once that commit is durable. As with Batch, fn may run more than once (a
// failing write is taken out and the others run again) and must not be
// affected by an earlier, rolled-back run; an error of fn is returned to
// its caller alone, and nothing fn wrote is kept.
func (c *committer) do(fn func(*txBatch) error) error {
	return c.enqueue(&groupCall{fn: fn, done: make(chan error, 1)})
}

// alone runs fn in a durable commit of its own, counted with the shared
// ones: for a write that is a batch itself (a sweep) or rare (the
// registry). It is queued with the shared ones, so that every commit of
// the trail is made, in order, by the one writer.
func (c *committer) alone(fn func(*txBatch) error) error {
	return c.enqueue(&groupCall{fn: fn, done: make(chan error, 1), alone: true})
}

func (c *committer) enqueue(call *groupCall) error {
	c.mu.Lock()
	c.queue = append(c.queue, call)
	if !c.running {
		c.running = true
		go c.run()
	}
	c.mu.Unlock()
	return <-call.done
}

// run commits the queue, group after group, until it is empty.
func (c *committer) run() {
	for {
		c.mu.Lock()
		n := min(len(c.queue), maxGroup)
		for i, call := range c.queue[:n] {
			if call.alone {
				n = max(i, 1) // the calls before it, or it alone
				break
			}
		}
		group := c.queue[:n:n]
		c.queue = c.queue[len(group):]
		if len(group) == 0 {
			c.queue = nil
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.commit(group)
	}
}

// commit runs group in one transaction. A write that fails is answered
// with its error and the others run again without it.
func (c *committer) commit(group []*groupCall) {
	start := time.Now()
	defer func() { c.busy.Add(int64(time.Since(start))) }()
	for len(group) > 0 {
		failed := -1
		var failure error
		var b *txBatch
		var written run
		err := c.db.Update(func(tx *bolt.Tx) (err error) {
			b = newTxBatch(tx)
			b.deferIndex = c.tail != nil
			b.requests = c.requests
			for i, call := range group {
				if err := safely(call.fn, b); err != nil {
					failed, failure = i, err
					return err
				}
			}
			if c.requests != nil {
				if written, err = c.requests.write(b, int(c.foldEvery), false); err != nil {
					return err
				}
			}
			return b.finish()
		})
		if failed < 0 {
			if err == nil {
				c.commits.Add(1)
				c.writes.Add(int64(len(group)))
				if c.tail != nil {
					c.tail.add(b.held)
				}
				if c.requests != nil {
					c.requests.take(b.fresh, written)
				}
			}
			for _, call := range group {
				call.done <- err
			}
			if err == nil {
				// After the answers: the fold delays the next group, not this.
				c.maybeFold(b.more)
			}
			return
		}
		group[failed].done <- failure
		group = append(group[:failed:failed], group[failed+1:]...)
	}
}

// maybeFold writes the tail's entries to the buckets once foldEvery have
// gathered, or, after a commit whose writer said more of its commits
// follow at once (a sweep), once burstFolds times as many have: a sweep of
// 100,000 deadlines then folds once, after its last commit, rather than
// fifty times, each a durable commit of its own between the sweep's. A
// write of another caller between them folds as usual. A fold that fails (the disk)
// leaves them in the tail, where reads find them, and is tried again once
// foldEvery more have gathered.
func (c *committer) maybeFold(more bool) {
	if c.tail == nil {
		return
	}
	held := c.tail.held()
	every := c.foldEvery
	if more {
		every *= burstFolds
	}
	if held < max(every, c.foldAt) {
		return
	}
	var mark uint64
	if err := c.db.Update(func(tx *bolt.Tx) (err error) {
		mark, err = c.tail.fold(tx)
		return err
	}); err != nil {
		c.foldAt = held + c.foldEvery
		return
	}
	c.foldAt = 0
	c.commits.Add(1)
	c.tail.trim(mark)
}

// safely runs fn, turning a panic into an error (as Batch does) so that
// one bad write cannot take the others' answers with it.
func safely(fn func(*txBatch) error, b *txBatch) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write panicked: %v", p)
		}
	}()
	return fn(b)
}

// txBatch is the transaction of one shared commit and what its writes add
// up to: their figures and the head of the audit trail are written once,
// after the last write, not by each write (a read and a write of the same
// keys per write). A failed write's rerun starts a new batch.
type txBatch struct {
	tx    *bolt.Tx
	stats *statsDelta // nil: no figures
	trail *trail      // opened by the first write with events
	// deferIndex: the agency index entries of the audit entries go to held,
	// for the tail, not to the buckets.
	deferIndex bool
	held       []tailEntry
	// requests, when set, takes the requests the batch remembers (fresh,
	// by key in freshAt) rather than the bucket (reqtail.go).
	requests *requestTail
	fresh    []heldRequest
	freshAt  map[string]int
	// more: the write says another commit of its own follows at once
	// (SweepDue with due entries left), so folds can wait (maybeFold).
	more bool
}

// request is the index entry of the remembered request key, as the
// writer sees it: remembered by this batch, held, or in the bucket; nil
// when none.
func (b *txBatch) request(key []byte) []byte {
	if i, ok := b.freshAt[string(key)]; ok {
		return b.fresh[i].value
	}
	if b.requests != nil {
		if h, ok := b.requests.get(key); ok {
			return h.value
		}
	}
	return b.tx.Bucket(bRequests).Get(key)
}

// remember keeps the first result rec of request k, on consultation id:
// in the results log at once, in the index through the tail.
func (b *txBatch) remember(k storage.IdempotencyKey, id uint64, rec []byte) error {
	if k.ID == "" {
		return nil
	}
	results := b.tx.Bucket(bResults)
	results.FillPercent = 1 // appended in order (see requestRecord)
	seq, err := results.NextSequence()
	if err != nil {
		return err
	}
	key := requestKey(k)
	request := requestRecord(id, k.Fingerprint, seq)
	if err := results.Put(u64(seq), resultEntry(key, request, rec)); err != nil {
		return err
	}
	if b.requests == nil {
		return b.tx.Bucket(bRequests).Put(key, request)
	}
	if b.freshAt == nil {
		b.freshAt = map[string]int{}
	}
	b.freshAt[string(key)] = len(b.fresh)
	b.fresh = append(b.fresh, heldRequest{key: string(key), value: request, result: seq})
	return nil
}

func newTxBatch(tx *bolt.Tx) *txBatch { return &txBatch{tx: tx, stats: newStatsDelta()} }

// appendEvents chains events onto the trail, in order.
func (b *txBatch) appendEvents(events []*tacitv1.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	bodies, err := encodeEvents(events)
	if err != nil {
		return err
	}
	return b.appendEncoded(events, bodies)
}

// appendEncoded is appendEvents for events already encoded (encodeEvents).
func (b *txBatch) appendEncoded(events []*tacitv1.AuditEvent, bodies []eventBody) error {
	if len(events) > 0 && b.trail == nil {
		b.trail = openTrail(b.tx)
		if b.deferIndex {
			b.trail.held = &b.held
		}
	}
	for i, e := range events {
		if err := b.trail.append(e, bodies[i]); err != nil {
			return err
		}
	}
	return nil
}

// finish writes what the batch's writes added up to.
func (b *txBatch) finish() error {
	if b.trail != nil {
		if err := b.trail.save(); err != nil {
			return err
		}
	}
	if b.stats == nil {
		return nil
	}
	return b.stats.apply(b.tx)
}
