package synth

import (
	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

// sink hands what the simulation makes to the bulk loader, which runs on
// a goroutine of its own: the rules and the store each keep a core busy.
// Writes reach the loader in the order they were made.
type sink struct {
	ld      *bolt.Loader
	ch      chan []write
	buf     []write
	stopped chan struct{} // closed when the writer ends
	err     error         // why it ended, read after stopped is closed
}

// write is one of: audit entries (of a refused opening, when lead is set),
// a final record, or a function to run between transactions.
type write struct {
	events []*tacitv1.AuditEvent
	lead   string
	c      *tacitv1.Consultation
	fn     func() error
}

const sinkBatch = 512

func newSink(ld *bolt.Loader) *sink {
	s := &sink{ld: ld, ch: make(chan []write, 8), stopped: make(chan struct{})}
	go s.run()
	return s
}

func (s *sink) run() {
	defer close(s.stopped)
	for ws := range s.ch {
		for _, w := range ws {
			var err error
			switch {
			case w.fn != nil:
				if err = s.ld.Flush(); err == nil {
					err = w.fn()
				}
			case w.c != nil:
				err = s.ld.Consultation(w.c)
			case w.lead != "":
				err = s.ld.Rejection(w.lead, w.events)
			default:
				err = s.ld.Events(w.events)
			}
			if err != nil {
				s.err = err
				return
			}
		}
	}
}

func (s *sink) add(w write) error {
	if s.buf = append(s.buf, w); len(s.buf) < sinkBatch {
		return nil
	}
	return s.send()
}

func (s *sink) send() error {
	select {
	case s.ch <- s.buf:
		s.buf = make([]write, 0, sinkBatch)
		return nil
	case <-s.stopped:
		return s.err
	}
}

// call runs fn on the writer after everything added before, between two
// transactions, and waits for it.
func (s *sink) call(fn func() error) error {
	done := make(chan error, 1)
	if err := s.add(write{fn: func() error { err := fn(); done <- err; return err }}); err != nil {
		return err
	}
	if err := s.send(); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-s.stopped:
		return s.err
	}
}

// close waits for everything added to be handed to the loader.
func (s *sink) close() error {
	err := s.send()
	close(s.ch)
	<-s.stopped
	if err != nil {
		return err
	}
	return s.err
}
