package server

import (
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
)

// hub wakes every waiting watcher after a write, without holding any event:
// watchers read their inbox from the store at their own pace, so a slow
// client costs the server nothing but its stream and never blocks writers
// or other clients.
type hub struct {
	mu      sync.Mutex
	ch      chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func newHub() *hub { return &hub{ch: make(chan struct{}), stopped: make(chan struct{})} }

// wait returns a channel closed at the next signal.
func (h *hub) wait() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ch
}

func (h *hub) signal() {
	h.mu.Lock()
	close(h.ch)
	h.ch = make(chan struct{})
	h.mu.Unlock()
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
		wake := s.hub.wait() // taken before reading, so no write is missed
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
