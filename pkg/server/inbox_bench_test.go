package server

// Fan-out of inbox events to many concurrent watchers: a measurement
// (BenchmarkFanout500Watchers: delivery latency and peak heap) and a
// correctness test (every watcher receives every event exactly once, in
// order). Both serve WatchInbox in-process through a real gRPC server, one
// client connection per watcher, as 500 agency systems would connect: the
// benchmark over loopback TCP with mutual TLS (development certificates
// from pkg/pki, the server's own certificate check), the test over bufconn.
//
//	go test -run XXX -bench Fanout -benchtime 20x ./pkg/server

import (
	"context"
	"crypto/tls"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/pki"
)

const fanoutWatchers = 500

// fanWatcher is one watcher of the fan-out: it records every event it
// receives and how long after the write it arrived.
type fanWatcher struct {
	who pki.Principal

	mu     sync.Mutex
	events []*tacitv1.InboxEvent
	lat    []time.Duration
	err    error         // how the stream ended
	done   chan struct{} // closed when it ended
}

// fanout is a fixture with many watchers.
type fanout struct {
	f        *fixture
	watchers []*fanWatcher

	written atomic.Int64    // UnixNano just before the current write
	writes  []time.Duration // how long each OpenConsultation took
	// target and arrived implement "wait until every watcher holds n
	// events": each watcher reaching the target counts once.
	mu      sync.Mutex
	target  int
	arrived int
	all     chan struct{} // closed when arrived == len(watchers)
}

// newFanout starts n watchers, each on its own connection, alternately for
// so-xay-dung and so-tai-chinh, and returns once every stream is being
// served (checked with a first event delivered to all). With tlsLoopback
// the server listens on 127.0.0.1 with mutual TLS; otherwise on bufconn
// with the test principal header.
func newFanout(tb testing.TB, n int, tlsLoopback bool) *fanout {
	tb.Helper()
	var dial func(p pki.Principal) (*grpc.ClientConn, context.Context)
	fo := &fanout{}
	if tlsLoopback {
		// Certificates are checked against the core's clock: start it now.
		fo.f = openInboxFixture(tb, tb.TempDir(), clockwork.NewFakeClockAt(time.Now()), true)
		dial = serveInboxTLS(tb, fo.f.core)
	} else {
		fo.f = newInboxFixture(tb)
		srv := serveInbox(tb, fo.f.core)
		dial = func(p pki.Principal) (*grpc.ClientConn, context.Context) {
			return srv.dial(tb), asCaller(context.Background(), p)
		}
	}
	for i := range n {
		who := xd
		if i%2 == 1 {
			who = tc
		}
		w := &fanWatcher{who: who, done: make(chan struct{})}
		fo.watchers = append(fo.watchers, w)
		conn, ctx := dial(who)
		ctx, cancel := context.WithCancel(ctx)
		stream, err := tacitv1.NewConsultationServiceClient(conn).WatchInbox(ctx, &tacitv1.WatchInboxRequest{})
		if err != nil {
			cancel()
			tb.Fatalf("watcher %d: %v", i, err)
		}
		go func() {
			defer close(w.done)
			for {
				res, err := stream.Recv()
				at := time.Now()
				if err != nil {
					w.mu.Lock()
					w.err = err
					w.mu.Unlock()
					return
				}
				lat := at.Sub(time.Unix(0, fo.written.Load()))
				w.mu.Lock()
				w.events = append(w.events, res.GetEvent())
				w.lat = append(w.lat, lat)
				got := len(w.events)
				w.mu.Unlock()
				fo.reached(got)
			}
		}()
		tb.Cleanup(func() { cancel(); <-w.done })
	}
	// Warm-up: an event every watcher must receive, so every stream is
	// open and waiting before anything is measured.
	fo.openAndWait(tb)
	return fo
}

// serveInboxTLS serves core's ConsultationService on a loopback TCP port
// with mutual TLS, as `tacit serve` does: a development PKI, client
// certificates requested in the handshake and checked per call by the
// core's interceptors. It returns a dialer: a new connection with p's
// certificate.
func serveInboxTLS(tb testing.TB, core *Core) func(p pki.Principal) (*grpc.ClientConn, context.Context) {
	tb.Helper()
	dir := tb.TempDir()
	if _, err := pki.EnsureDevPKI(dir, []pki.Principal{xd, tc}); err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile := pki.ServerFiles(dir)
	caFile, _ := pki.CAFiles(dir)
	serverTLS, err := pki.ServerTLSConfig(certFile, keyFile, caFile)
	if err != nil {
		tb.Fatal(err)
	}
	core.clientCAs = serverTLS.ClientCAs
	serverTLS.ClientAuth = tls.RequestClientCert
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(serverTLS)),
		grpc.ChainUnaryInterceptor(core.UnaryInterceptor), grpc.ChainStreamInterceptor(core.StreamInterceptor))
	tacitv1.RegisterConsultationServiceServer(gs, ConsultationServer{Core: core})
	done := make(chan struct{})
	go func() { defer close(done); _ = gs.Serve(lis) }()
	tb.Cleanup(func() {
		core.StopWatchers()
		gs.Stop()
		<-done
	})
	confs := map[pki.Principal]*tls.Config{}
	return func(p pki.Principal) (*grpc.ClientConn, context.Context) {
		conf, ok := confs[p]
		if !ok {
			cert, key := pki.ClientFiles(dir, p)
			if conf, err = pki.ClientTLSConfig(cert, key, caFile, "localhost"); err != nil {
				tb.Fatal(err)
			}
			confs[p] = conf
		}
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(conf)))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { conn.Close() })
		return conn, context.Background()
	}
}

// reached records that a watcher now holds got events.
func (fo *fanout) reached(got int) {
	fo.mu.Lock()
	defer fo.mu.Unlock()
	if got == fo.target {
		if fo.arrived++; fo.arrived == len(fo.watchers) {
			close(fo.all)
		}
	}
}

// expect arms the wait for every watcher to hold n events.
func (fo *fanout) expect(n int) <-chan struct{} {
	fo.mu.Lock()
	defer fo.mu.Unlock()
	fo.target, fo.arrived, fo.all = n, 0, make(chan struct{})
	// Watchers already there (none, unless something was duplicated).
	for _, w := range fo.watchers {
		w.mu.Lock()
		if len(w.events) >= n {
			fo.arrived++
		}
		w.mu.Unlock()
	}
	if fo.arrived == len(fo.watchers) {
		close(fo.all)
	}
	return fo.all
}

// held is how many events each watcher holds now (all the same once a wait
// completed).
func (fo *fanout) held() int {
	w := fo.watchers[0]
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events)
}

// openAndWait opens one consultation addressed to both agencies and waits
// until every watcher received its event; it returns the time that took.
func (fo *fanout) openAndWait(tb testing.TB) time.Duration {
	tb.Helper()
	all := fo.expect(fo.held() + 1)
	start := time.Now()
	fo.written.Store(start.UnixNano())
	fo.f.openBoth(tb, 3)
	fo.writes = append(fo.writes, time.Since(start))
	fo.wait(tb, all)
	return time.Since(start)
}

func (fo *fanout) wait(tb testing.TB, all <-chan struct{}) {
	tb.Helper()
	select {
	case <-all:
	case <-time.After(60 * time.Second):
		fo.mu.Lock()
		arrived, target := fo.arrived, fo.target
		fo.mu.Unlock()
		tb.Fatalf("after 60s only %d of %d watchers hold %d events", arrived, len(fo.watchers), target)
	}
}

// heapPeak samples runtime.MemStats.HeapInuse until stopped.
type heapPeak struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func startHeapPeak() *heapPeak {
	h := &heapPeak{stop: make(chan struct{}), done: make(chan struct{})}
	h.sample()
	go func() {
		defer close(h.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
				h.sample()
			}
		}
	}()
	return h
}

func (h *heapPeak) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	for {
		old := h.peak.Load()
		if m.HeapInuse <= old || h.peak.CompareAndSwap(old, m.HeapInuse) {
			return
		}
	}
}

func (h *heapPeak) end() uint64 {
	close(h.stop)
	<-h.done
	h.sample()
	return h.peak.Load()
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkFanout500Watchers measures, for 500 concurrent WatchInbox
// streams (250 each for two agencies, one connection each), how long an
// event written by OpenConsultation takes to reach the watchers. One
// iteration opens one consultation addressed to both agencies and waits
// until all 500 watchers received its event.
//
// Metrics: p50-ms / p99-ms of the per-watcher delivery latency (from just
// before the write to the watcher's Recv), all-p50-ms / all-max-ms of the
// time until the last watcher received an iteration's event, write-p50-ms
// of the OpenConsultation call itself (its durable commit included), and
// heap-peak-MiB, the highest runtime.MemStats.HeapInuse sampled (every 5ms)
// from before the watchers connected to the end — of the whole process, so
// the 500 in-process clients are included; heap-base-MiB is HeapInuse
// before they connected.
func BenchmarkFanout500Watchers(b *testing.B) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base := m.HeapInuse
	heap := startHeapPeak()
	fo := newFanout(b, fanoutWatchers, true)
	from := fo.held()
	var fanTimes []time.Duration
	b.ResetTimer()
	for range b.N {
		fanTimes = append(fanTimes, fo.openAndWait(b))
	}
	b.StopTimer()
	peak := heap.end()

	var lat []time.Duration
	for _, w := range fo.watchers {
		w.mu.Lock()
		lat = append(lat, w.lat[from:]...)
		w.mu.Unlock()
	}
	slices.Sort(lat)
	slices.Sort(fanTimes)
	writes := slices.Sorted(slices.Values(fo.writes[len(fo.writes)-b.N:]))
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(ms(percentile(fanTimes, 0.50)), "all-p50-ms")
	b.ReportMetric(ms(fanTimes[len(fanTimes)-1]), "all-max-ms")
	b.ReportMetric(ms(percentile(writes, 0.50)), "write-p50-ms")
	b.ReportMetric(float64(peak)/(1<<20), "heap-peak-MiB")
	b.ReportMetric(float64(base)/(1<<20), "heap-base-MiB")
	if len(lat) != b.N*fanoutWatchers {
		b.Fatalf("%d deliveries, want %d", len(lat), b.N*fanoutWatchers)
	}
}

// TestInboxFanout500Watchers checks, with 500 concurrent watchers, that
// every watcher receives every event of its agency exactly once and in
// order, while events are written by several goroutines at once (shared
// commits). It checks nothing about time.
func TestInboxFanout500Watchers(t *testing.T) {
	if testing.Short() {
		t.Skip("500 watchers: skipped with -short")
	}
	fo := newFanout(t, fanoutWatchers, false)
	const writers, perWriter = 4, 5
	const events = 1 + writers*perWriter // the warm-up event, then these
	all := fo.expect(events)
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for range writers {
		wg.Go(func() {
			for range perWriter {
				_, err := fo.f.consult.OpenConsultation(as(lead), &tacitv1.OpenConsultationRequest{
					Title: "Điều chỉnh quy hoạch", LegalBasis: "Luật Đất đai 2024", Fields: []string{"land.planning"},
					Addressees: []string{"so-xay-dung", "so-tai-chinh"}, DeadlineSpec: withinWorkingDays(3).DeadlineSpec})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("open: %v", err)
	}
	fo.wait(t, all)
	// One more event: the next thing every watcher receives must be it (no
	// duplicate or stray event came in between).
	fo.openAndWait(t)

	stored := map[string][]*tacitv1.InboxEvent{
		"so-xay-dung":  storedInbox(t, fo.f, "so-xay-dung", 0),
		"so-tai-chinh": storedInbox(t, fo.f, "so-tai-chinh", 0),
	}
	for agency, evs := range stored {
		if len(evs) != events+1 {
			t.Fatalf("%s: %d events stored, want %d", agency, len(evs), events+1)
		}
	}
	bad := 0
	for i, w := range fo.watchers {
		w.mu.Lock()
		got := sequences(w.events)
		w.mu.Unlock()
		want := sequences(stored[w.who.Name])
		if !slices.Equal(got, want) {
			if bad++; bad <= 5 {
				t.Errorf("watcher %d (%s) received sequences %v, want each of %v exactly once, in order", i, w.who, got, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d watchers did not receive exactly the stored events", bad, len(fo.watchers))
	}
	// Shutdown ends every stream with UNAVAILABLE.
	fo.f.core.StopWatchers()
	for i, w := range fo.watchers {
		select {
		case <-w.done:
		case <-time.After(inboxWait):
			t.Fatalf("watcher %d still open %s after StopWatchers", i, inboxWait)
		}
		if status.Code(w.err) != codes.Unavailable {
			t.Fatalf("watcher %d ended with %v, want UNAVAILABLE", i, w.err)
		}
	}
}
