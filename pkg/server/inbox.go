package server

import (
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
)

// hub wakes the watchers of the agencies a write notified, without holding
// any event: watchers read their inbox from the store at their own pace, so
// a slow client costs the server nothing but its stream and never blocks
// writers or other clients. A write wakes only the watchers of the agencies
// its events notify: with thousands of agency systems watching, waking them
// all for every write would have each of them read its inbox for nothing.
type hub struct {
	mu sync.Mutex
	// by holds a channel for each agency with a waiting watcher, closed
	// (and removed) at the next signal naming the agency.
	by      map[string]chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func newHub() *hub { return &hub{by: map[string]chan struct{}{}, stopped: make(chan struct{})} }

// wait returns a channel closed at the next signal that may concern
// agency's inbox.
func (h *hub) wait(agency string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.by[agency]
	if !ok {
		ch = make(chan struct{})
		h.by[agency] = ch
	}
	return ch
}

// signal wakes the watchers of the agencies n gathered; call it once the
// writes that notified them are durable.
func (h *hub) signal(n *notices) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	for a := range n.agencies {
		if ch, ok := h.by[a]; ok {
			close(ch)
			delete(h.by, a)
		}
	}
}

// signalAll wakes every watcher, for a write whose notices are not at hand.
func (h *hub) signalAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for a, ch := range h.by {
		close(ch)
		delete(h.by, a)
	}
}

// notices gathers the agencies that a write's events notify. A write's
// events may be made more than once (a shared commit retried) and a sweep's
// on several goroutines at once: all are gathered, for waking a watcher
// for nothing costs one read, and missing one would leave it behind.
type notices struct {
	mu       sync.Mutex
	agencies map[string]struct{}
}

// keep gathers the agencies events notify and returns events.
func (n *notices) keep(events []*tacitv1.AuditEvent) []*tacitv1.AuditEvent {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range events {
		for _, a := range e.GetNotified() {
			if n.agencies == nil {
				n.agencies = map[string]struct{}{}
			}
			n.agencies[a] = struct{}{}
		}
	}
	return events
}

// stop ends every watch (on shutdown).
func (h *hub) stop() { h.once.Do(func() { close(h.stopped) }) }

// StopWatchers ends open WatchInbox streams so a shutdown can drain.
func (c *Core) StopWatchers() { c.hub.stop() }

func inboxEvent(e *tacitv1.AuditEvent) *tacitv1.InboxEvent {
	return &tacitv1.InboxEvent{Sequence: e.GetSequence(), EventTime: e.GetEventTime(), Type: e.GetType(),
		ConsultationId: e.GetConsultationId(), Agency: e.GetAgency(), Message: e.GetDetails(), Deadline: e.GetDeadline()}
}

const watchBatch = 256

// WatchInbox implements the RPC: the caller's events after a sequence, then
// new ones as they are written. Events come from the store, in order, so a
// client that reconnects with the last sequence it saw gets exactly what it
// missed, even across a server restart.
func (s ConsultationServer) WatchInbox(req *tacitv1.WatchInboxRequest, stream grpc.ServerStreamingServer[tacitv1.WatchInboxResponse]) error {
	ctx := stream.Context()
	p := principalOf(ctx)
	if err := consultation.MayWatch(p); err != nil {
		return err
	}
	after := req.GetAfterSequence()
	s.watchers.Add(1)
	defer s.watchers.Add(-1)
	for {
		wake := s.hub.wait(p.Name) // taken before reading, so no write is missed
		evs, err := s.store.ListInbox(ctx, p.Name, after, watchBatch)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := stream.Send(&tacitv1.WatchInboxResponse{Event: inboxEvent(e)}); err != nil {
				return err
			}
			after = e.GetSequence()
		}
		if len(evs) == watchBatch {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.hub.stopped:
			return status.Errorf(codes.Unavailable, "the server is shutting down: reconnect and resume with after_sequence=%d", after)
		case <-wake:
		}
	}
}
