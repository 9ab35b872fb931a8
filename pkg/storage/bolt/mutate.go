package bolt

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/storage"
)

// mutateAll applies mutate to each consultation and stores those it
// changed in b, returning how many; the caller finishes b.
//
// due, when given, holds for each consultation the entries of the deadline
// and reminder indexes that have come due (SweepDue): mutate is applied
// only to a consultation that still implies one of them, and those the
// stored result no longer implies are deleted; mutateAll also returns how
// many were.
//
// Only the transaction's goroutine may touch the transaction, but most of
// a change is computed from the record alone: decoding it, the rules,
// encoding the result and its index entries. Those run on every core
// (prepareAll) while this goroutine writes the changes already computed,
// in the order of ids, so the trail is the same as one by one.
func (s *Store) mutateAll(b *txBatch, ids []uint64, due [][]dueEntry, mutate storage.Mutation, ahead *sweepAhead) (changed, dropped int, err error) {
	// Every record is read before the first write: the values stay valid
	// (they are the file's map, which no write of this transaction moves
	// or reuses before it commits), and the workers never call into bbolt.
	records := b.tx.Bucket(bConsultations)
	raw := make([][]byte, len(ids))
	for i, id := range ids {
		if raw[i] = records.Get(u64(id)); raw[i] == nil {
			return 0, 0, notFound(strconv.FormatUint(id, 10))
		}
	}
	// The changes ahead prepared from these very records are kept (at[i]
	// is the position in ahead); the others are prepared here (at[i] is
	// -1).
	fresh, at := ids, []int(nil)
	freshRaw, freshDue := raw, due
	if ahead != nil {
		fresh, freshRaw, freshDue, at = nil, nil, nil, make([]int, len(ids))
		for i, id := range ids {
			var d []dueEntry
			if due != nil {
				d = due[i]
			}
			if k, ok := ahead.take(id, raw[i], d); ok {
				at[i] = k
				continue
			}
			at[i] = -1
			fresh, freshRaw = append(fresh, id), append(freshRaw, raw[i])
			if due != nil {
				freshDue = append(freshDue, d)
			}
		}
	}
	p := prepareAll(fresh, freshRaw, freshDue, mutate)
	defer p.stop()
	next := 0 // in p
	result := func(i int) prepared {
		if at != nil && at[i] >= 0 {
			return ahead.p.result(at[i])
		}
		next++
		return p.result(next - 1)
	}
	pending, reminders := b.tx.Bucket(bPending), b.tx.Bucket(bReminders)
	for i := range ids {
		r := result(i)
		if r.panicked {
			panic(r.panicValue)
		}
		if r.err != nil {
			return changed, dropped, r.err
		}
		if r.ch != nil {
			if err := r.ch.apply(b.tx, b.stats); err != nil {
				return changed, dropped, err
			}
			if err := b.appendEncoded(r.events, r.bodies); err != nil {
				return changed, dropped, err
			}
			changed++
		}
		for _, e := range r.drop {
			index := pending
			if e.reminder {
				index = reminders
			}
			if err := index.Delete(e.key); err != nil {
				return changed, dropped, err
			}
			dropped++
		}
	}
	return changed, dropped, nil
}

// prepared is one consultation's change, or why there is none.
type prepared struct {
	ch         *recordChange // nil: the mutation changed nothing
	events     []*tacitv1.AuditEvent
	bodies     []eventBody // of events
	drop       []dueEntry  // the due entries the result no longer implies
	err        error
	panicked   bool
	panicValue any
}

// prepareChange decodes a stored record, applies mutate to a copy and
// computes what storing the result writes, its audit entries encoded but
// for their place in the chain. due are the record's entries come due, if
// any (see mutateAll).
func prepareChange(id uint64, raw []byte, due []dueEntry, mutate storage.Mutation) (p prepared) {
	defer func() {
		if v := recover(); v != nil {
			p = prepared{panicked: true, panicValue: v}
		}
	}()
	old := &tacitv1.Consultation{}
	if err := decodeRecord(raw, old); err != nil {
		return prepared{err: err}
	}
	if due != nil {
		// Entries left by a reply, an extension or a withdrawal (see
		// addKeys) are dropped without asking the rules.
		if stale := notImplied(id, old, due); len(stale) == len(due) {
			return prepared{drop: stale}
		}
	}
	c := proto.Clone(old).(*tacitv1.Consultation)
	events, err := mutate(c)
	if err != nil {
		return prepared{err: err}
	}
	drop := notImplied(id, c, due)
	if len(events) == 0 && proto.Equal(old, c) {
		return prepared{drop: drop}
	}
	ch, err := prepareRecord(id, old, c)
	if err != nil {
		return prepared{err: err}
	}
	setConsultation(events, c)
	bodies, err := encodeEvents(events)
	if err != nil {
		return prepared{err: err}
	}
	return prepared{ch: ch, events: events, bodies: bodies, drop: drop}
}

// notImplied returns the entries of due that c does not imply.
func notImplied(id uint64, c *tacitv1.Consultation, due []dueEntry) []dueEntry {
	if len(due) == 0 {
		return nil
	}
	pending, reminders := dueKeys(id, c)
	var out []dueEntry
	for _, e := range due {
		keys := pending
		if e.reminder {
			keys = reminders
		}
		if !containsKey(keys, e.key) {
			out = append(out, e)
		}
	}
	return out
}

// prepChunk is how many consultations a worker takes at a time: enough
// that handing them over costs little, few enough that the writer starts
// at once.
const prepChunk = 16

// preparation computes prepared changes on worker goroutines, chunk by
// chunk in order, while the caller consumes them in order.
type preparation struct {
	out     []prepared
	done    []chan struct{} // closed when chunk k of out is ready
	next    atomic.Int64    // the next chunk to take
	stopped atomic.Bool
	wg      sync.WaitGroup
}

func prepareAll(ids []uint64, raw [][]byte, due [][]dueEntry, mutate storage.Mutation) *preparation {
	chunks := (len(ids) + prepChunk - 1) / prepChunk
	p := &preparation{out: make([]prepared, len(ids)), done: make([]chan struct{}, chunks)}
	for k := range p.done {
		p.done[k] = make(chan struct{})
	}
	workers := min(max(runtime.GOMAXPROCS(0)-1, 1), chunks)
	p.wg.Add(workers)
	for range workers {
		go func() {
			defer p.wg.Done()
			for !p.stopped.Load() {
				k := int(p.next.Add(1) - 1)
				if k >= chunks {
					return
				}
				for i := k * prepChunk; i < min((k+1)*prepChunk, len(ids)); i++ {
					var d []dueEntry
					if due != nil {
						d = due[i]
					}
					p.out[i] = prepareChange(ids[i], raw[i], d, mutate)
				}
				close(p.done[k])
			}
		}()
	}
	return p
}

// result waits for the change of the i-th consultation.
func (p *preparation) result(i int) prepared {
	<-p.done[i/prepChunk]
	return p.out[i]
}

// stop makes the workers give up the chunks not taken yet and waits for
// them: none may outlive the transaction whose map they read.
func (p *preparation) stop() {
	p.stopped.Store(true)
	p.wg.Wait()
}
