// Package bench is tacit's load tool. It starts (or targets) a real `tacit
// serve` over mutual TLS on loopback, drives OpenConsultation with five
// addressees, Reply, GetConsultation and pages of deemed approvals at a
// chosen concurrency for a chosen time, and measures in the same run the
// machine's ceiling: a bare gRPC unary call over the same TLS whose handler
// makes one durable bbolt Batch write of 1 KiB. Each operation's throughput
// is reported as a ratio of that ceiling, which is what survives noisy
// shared machines.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/tacit-gov/tacit/pkg/pki"
)

// Operation names, in the order they run.
const (
	OpCeiling = "ceiling"
	OpOpen    = "open"
	OpReply   = "reply"
	OpGet     = "get"
	OpDeemed  = "deemed"
	// OpRPC is not in the standard set: a bare gRPC unary call over the
	// same TLS to the ceiling's server, whose handler does nothing, to
	// show what gRPC alone can do here (the bound of any read).
	OpRPC = "rpc"
)

// AllOps are the operations of a standard run.
var AllOps = []string{OpCeiling, OpOpen, OpReply, OpGet, OpDeemed}

// KnownOps are every operation the tool can run.
var KnownOps = append(slices.Clone(AllOps), OpRPC)

// Options configure a run.
type Options struct {
	// Binary is the tacit executable that servers are started with.
	Binary string
	// Data is the data folder of the started server; empty: a fresh
	// temporary folder with the demo registry. An existing store (such as
	// one filled by `tacit generate`) is used as it is.
	Data string
	// Target is the address of a running server to drive instead of
	// starting one; PKI is then its PKI folder and Metrics its metrics URL.
	Target, PKI, Metrics string
	// Concurrency is the number of clients, each with its own connection;
	// Duration how long each operation runs.
	Concurrency int
	Duration    time.Duration
	// Rounds splits each operation's duration into this many slices (at
	// least 1), each run just after a ceiling slice of the same length, so
	// that an operation and the ceiling it is compared with share the
	// machine's conditions (on a shared machine, the CPU the hypervisor
	// lends changes from one minute to the next).
	Rounds int
	// Ops to run (default AllOps). Reply and get need consultations: the
	// open phase runs whenever they are asked for.
	Ops []string
	// MinDeemed is how many deemed approvals the store must hold before the
	// deemed phase; fewer are made first (consultations whose deadline
	// passes a second after opening). Only with a started server.
	MinDeemed int
	// Watchers is how many WatchInbox streams (agency systems waiting for
	// their inbox, spread over the agencies) stay open through the run.
	Watchers int
	// Profiles, when set, is a folder where a CPU profile of the started
	// tacit serve is written for each phase (NAME.pprof).
	Profiles string
	// Out receives the report, Log the progress.
	Out, Log io.Writer
}

// Result is one operation's measurement.
type Result struct {
	Name          string
	Ops           int64
	Errors        int64
	FirstError    error
	Elapsed       time.Duration
	P50, P99, Max time.Duration
	ServerCPU     time.Duration // CPU time of the server process over the phase
	HeapPeak      int64         // peak Go heap in use of the server (tacit only)
	// Store is what the server's store did over the phase (tacit only,
	// from its metrics): durable commits, the writes they carried, the
	// pages bbolt wrote and the time its writer was busy.
	Store storeWork
	// Ceiling is the ceiling's throughput measured alongside (the slices
	// interleaved with this operation's), 0 when not measured.
	Ceiling float64

	lat []time.Duration // every call's latency, sorted
}

// merge adds another slice of the same operation.
func (r Result) merge(o Result) Result {
	r.Name = o.Name
	r.Ops += o.Ops
	r.Errors += o.Errors
	if r.FirstError == nil {
		r.FirstError = o.FirstError
	}
	r.Elapsed += o.Elapsed
	r.ServerCPU += o.ServerCPU
	r.HeapPeak = max(r.HeapPeak, o.HeapPeak)
	r.Store = r.Store.add(o.Store)
	r.lat = append(r.lat, o.lat...)
	slices.Sort(r.lat)
	r.P50, r.P99, r.Max = percentiles(r.lat)
	return r
}

// percentiles of sorted latencies: p50, p99 and the maximum.
func percentiles(lat []time.Duration) (p50, p99, most time.Duration) {
	n := len(lat)
	if n == 0 {
		return 0, 0, 0
	}
	return lat[n/2], lat[min(n-1, n*99/100)], lat[n-1]
}

// Ratio is the throughput over the ceiling's measured alongside (0 when
// there is none).
func (r Result) Ratio() float64 {
	if r.Ceiling <= 0 {
		return 0
	}
	return r.Rate() / r.Ceiling
}

// Rate is the throughput in operations a second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// Run measures and prints the report.
func Run(ctx context.Context, o Options) ([]Result, error) {
	if o.Concurrency < 1 {
		return nil, errors.New("--concurrency must be at least 1")
	}
	if o.Duration <= 0 {
		return nil, errors.New("--duration must be positive")
	}
	if len(o.Ops) == 0 {
		o.Ops = AllOps
	}
	for _, op := range o.Ops {
		if !slices.Contains(KnownOps, op) {
			return nil, fmt.Errorf("unknown operation %q: choose among %s", op, strings.Join(KnownOps, ", "))
		}
	}
	want := func(op string) bool { return slices.Contains(o.Ops, op) }
	if want(OpReply) || want(OpGet) {
		o.Ops = append(o.Ops, OpOpen)
	}
	logf := func(format string, args ...any) { fmt.Fprintf(o.Log, format+"\n", args...) }

	r := &runner{o: o, logf: logf, steal: -1}
	defer r.close()
	if err := r.startTacit(ctx); err != nil {
		return nil, err
	}
	if err := r.connect(ctx); err != nil {
		return nil, err
	}
	if want(OpDeemed) {
		if err := r.ensureDeemed(ctx); err != nil {
			return nil, err
		}
	}

	if o.Watchers > 0 {
		ws, err := r.startWatchers(ctx, o.Watchers)
		if err != nil {
			return nil, err
		}
		r.watch = ws
		defer ws.stop()
	}

	rounds := max(1, o.Rounds)
	var ceil *ceilingRig
	if want(OpCeiling) || want(OpRPC) {
		var err error
		if ceil, err = r.startCeiling(ctx); err != nil {
			return nil, err
		}
		defer ceil.stop()
	}
	steal0, stealErr := readCPUStat()
	phases := []struct {
		name string
		op   func(ctx context.Context, w *worker) error
	}{
		{OpOpen, r.open}, {OpReply, r.reply}, {OpGet, r.get}, {OpDeemed, r.deemed}, {OpRPC, nil},
	}
	var results []Result
	var ceilingAll Result // every ceiling slice
	slice := o.Duration / time.Duration(rounds)
	for _, ph := range phases {
		if !want(ph.name) {
			continue
		}
		pid, metrics, op := r.tacitPID, r.metricsURL, ph.op
		if ph.name == OpRPC {
			pid, metrics, op = ceil.pid, "", ceil.ping
		}
		span := o.Duration
		if ceil != nil {
			span *= 2 // the ceiling's slices too, when the server under test idles
		}
		profiled := r.startProfile(ctx, ph.name, span)
		var res, paired Result
		for range rounds {
			if ceil != nil {
				c, err := r.phase(ctx, OpCeiling, ceil.pid, "", ceil.call, slice)
				if err != nil {
					return nil, err
				}
				paired = paired.merge(c)
			}
			one, err := r.phase(ctx, ph.name, pid, metrics, op, slice)
			if err != nil {
				return nil, err
			}
			res = res.merge(one)
		}
		<-profiled
		res.Ceiling = paired.Rate()
		ceilingAll = ceilingAll.merge(paired)
		results = append(results, res)
	}
	if want(OpCeiling) {
		if ceilingAll.Ops == 0 { // only the ceiling was asked for
			c, err := r.phase(ctx, OpCeiling, ceil.pid, "", ceil.call, o.Duration)
			if err != nil {
				return nil, err
			}
			ceilingAll = c
		}
		ceilingAll.Ceiling = ceilingAll.Rate()
		results = append([]Result{ceilingAll}, results...)
	}
	if steal1, err := readCPUStat(); err == nil && stealErr == nil {
		r.steal = steal1.stolenSince(steal0)
	}
	if r.watch != nil {
		if err := r.watch.stop(); err != nil {
			return nil, fmt.Errorf("an inbox stream ended during the run: %w", err)
		}
	}
	r.report(results)
	return results, nil
}

type runner struct {
	o    Options
	logf func(string, ...any)

	server            *child
	tacitPID          int
	addr, pkiDir, dir string
	metricsURL        string
	pprofAddr         string
	tmp               string

	workers      []*worker
	combosByLead map[string][]combo
	agencies     []string
	opened       openedSet
	watch        *watchers // nil: none
	steal        float64   // share of CPU time stolen during the run, -1 unknown
}

func (r *runner) close() {
	for _, w := range r.workers {
		w.close()
	}
	if r.server != nil {
		r.server.stop()
	}
	if r.tmp != "" {
		_ = os.RemoveAll(r.tmp)
	}
}

// startTacit starts `tacit serve` on a fresh port (unless a target is
// given) and waits until it is SERVING.
func (r *runner) startTacit(ctx context.Context) error {
	var err error
	if r.tmp, err = os.MkdirTemp("", "tacit-bench-"); err != nil {
		return err
	}
	if r.o.Target != "" {
		r.addr, r.pkiDir, r.metricsURL = r.o.Target, r.o.PKI, r.o.Metrics
		if r.pkiDir == "" {
			return errors.New("--pki is required with --target: the PKI folder of that server's development CA")
		}
		return r.waitServing(ctx, nil)
	}
	r.dir = r.o.Data
	if r.dir == "" {
		r.dir = filepath.Join(r.tmp, "data")
	}
	r.pkiDir = filepath.Join(r.dir, "pki")
	addrs, err := freeAddrs(3) // gRPC, metrics, pprof
	if err != nil {
		return err
	}
	r.addr = addrs[0]
	r.metricsURL = "http://" + addrs[1] + "/metrics"
	args := []string{"serve", "--data", r.dir, "--listen", r.addr, "--metrics-listen", addrs[1],
		"--demo", "--min-notice", "0s", "--rate-limit", "0", "--log-level", "warn"}
	if r.o.Watchers > 0 {
		// However few agencies the registry has, each may hold its share.
		args = append(args, "--max-watchers", strconv.Itoa(max(16, r.o.Watchers)))
	}
	if r.o.Profiles != "" {
		if err := os.MkdirAll(r.o.Profiles, 0o755); err != nil {
			return err
		}
		r.pprofAddr = addrs[2]
		args = append(args, "--pprof-listen", r.pprofAddr)
	}
	start := time.Now()
	r.server, err = startChild("tacit serve", r.o.Binary, args...)
	if err != nil {
		return err
	}
	r.tacitPID = r.server.cmd.Process.Pid
	if err := r.waitServing(ctx, r.server); err != nil {
		return err
	}
	r.logf("tacit serve --data %s on %s: SERVING after %s", r.dir, r.addr, time.Since(start).Round(time.Millisecond))
	return nil
}

// waitServing polls the health service as admin:admin for up to 5 minutes
// (a large store's catch-up may take a while).
func (r *runner) waitServing(ctx context.Context, c *child) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		err := r.healthy(ctx)
		if err == nil {
			return nil
		}
		if c != nil {
			if e := c.exited(); e != nil {
				return e
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the server at %s did not become SERVING: %v", r.addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// healthy asks the health service, as admin:admin, whether the server is
// SERVING (it fails until the server has created the development PKI).
func (r *runner) healthy(ctx context.Context) error {
	conn, err := r.dialAs(pki.Admin("admin"))
	if err != nil {
		return err
	}
	defer conn.Close()
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	res, err := healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	if res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health: %s", res.GetStatus())
	}
	return nil
}

// phase runs op on every worker for d and measures it.
func (r *runner) phase(ctx context.Context, name string, pid int, metricsURL string, op func(context.Context, *worker) error, d time.Duration) (Result, error) {
	r.logf("%s: %d clients for %s", name, len(r.workers), d)
	var heap *heapWatch
	if metricsURL != "" {
		heap = watchHeap(metricsURL)
	}
	cpu0, cpuErr := r.cpu(ctx, pid, metricsURL)
	store0, storeErr := scrapeStore(ctx, metricsURL)
	var (
		ops, errs atomic.Int64
		firstErr  atomic.Pointer[error]
		lat       = make([][]time.Duration, len(r.workers))
		wg        sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(d)
	for i, w := range r.workers {
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				t := time.Now()
				err := op(ctx, w)
				d := time.Since(t)
				if err != nil {
					if errors.Is(err, errNoWork) {
						return
					}
					errs.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				ops.Add(1)
				lat[i] = append(lat[i], d)
			}
		})
	}
	wg.Wait()
	res := Result{Name: name, Ops: ops.Load(), Errors: errs.Load(), Elapsed: time.Since(start)}
	if p := firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	if cpu1, err := r.cpu(ctx, pid, metricsURL); err == nil && cpuErr == nil {
		res.ServerCPU = cpu1 - cpu0
	}
	if store1, err := scrapeStore(ctx, metricsURL); err == nil && storeErr == nil {
		res.Store = store1.sub(store0)
	}
	if heap != nil {
		res.HeapPeak = heap.end()
	}
	res.lat = slices.Concat(lat...)
	slices.Sort(res.lat)
	res.P50, res.P99, res.Max = percentiles(res.lat)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if res.Ops == 0 && res.FirstError != nil {
		return res, fmt.Errorf("%s: every call failed: %w", name, res.FirstError)
	}
	return res, nil
}

// startProfile saves a CPU profile of the started server over span into
// the profiles folder, when one is given; the channel closes when done.
func (r *runner) startProfile(ctx context.Context, name string, span time.Duration) <-chan struct{} {
	done := make(chan struct{})
	if r.pprofAddr == "" {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		if err := r.profile(ctx, name, span); err != nil {
			r.logf("%s: no profile: %v", name, err)
		}
	}()
	return done
}

// profile saves a CPU profile of the server over the phase.
func (r *runner) profile(ctx context.Context, name string, span time.Duration) error {
	secs := max(1, int(span.Seconds()))
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", r.pprofAddr, secs)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	f, err := os.Create(filepath.Join(r.o.Profiles, name+".pprof"))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpu is a server's CPU time: from /proc when the tool started it,
// otherwise from its metrics.
func (r *runner) cpu(ctx context.Context, pid int, metricsURL string) (time.Duration, error) {
	if pid != 0 {
		return cpuTime(pid)
	}
	if metricsURL == "" {
		return 0, errors.New("no metrics")
	}
	m, err := scrape(ctx, metricsURL)
	if err != nil {
		return 0, err
	}
	return time.Duration(m["process_cpu_seconds_total"] * float64(time.Second)), nil
}

// ceilingRig is the ceiling server, in its own process with tacit's PKI,
// and a connection to it for every worker.
type ceilingRig struct {
	c       *child
	pid     int
	conns   []*grpc.ClientConn
	payload []byte
}

func (g *ceilingRig) call(ctx context.Context, w *worker) error {
	return ceilingCall(ctx, g.conns[w.i], g.payload)
}

func (g *ceilingRig) ping(ctx context.Context, w *worker) error {
	return g.conns[w.i].Invoke(ctx, pingMethod, &emptypb.Empty{}, &emptypb.Empty{})
}

func (g *ceilingRig) stop() {
	for _, cc := range g.conns {
		if cc != nil {
			cc.Close()
		}
	}
	g.c.stop()
}

// startCeiling starts the ceiling server and waits until every worker's
// connection has made its handshake and a first write.
func (r *runner) startCeiling(ctx context.Context) (*ceilingRig, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	c, err := startChild("ceiling server", r.o.Binary, "bench", "ceiling-server", "--listen", addr,
		"--data", filepath.Join(r.tmp, "ceiling"), "--pki", r.pkiDir)
	if err != nil {
		return nil, err
	}
	g := &ceilingRig{c: c, pid: c.cmd.Process.Pid, conns: make([]*grpc.ClientConn, len(r.workers)), payload: make([]byte, CeilingPayload)}
	for i := range g.payload {
		g.payload[i] = byte(rand.IntN(256))
	}
	for i, w := range r.workers {
		if g.conns[i], err = dial(addr, w.tls); err != nil {
			g.stop()
			return nil, err
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, w := range r.workers {
		for {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			err := g.call(cctx, w)
			cancel()
			if err == nil {
				break
			}
			if e := c.exited(); e != nil {
				g.stop()
				return nil, e
			}
			if time.Now().After(deadline) {
				g.stop()
				return nil, fmt.Errorf("the ceiling server does not answer: %w", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return g, nil
}

// report prints the table and, last, one line per operation:
// NAME ops/s p99 ratio.
func (r *runner) report(results []Result) {
	ratio := func(res Result) string {
		if res.Ceiling <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", res.Ratio())
	}
	ceilingRate := func(res Result) string {
		if res.Ceiling <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f", res.Ceiling)
	}
	fmt.Fprintf(r.o.Out, "tacit bench: %d clients, %s per operation, mutual TLS on loopback, durable commits\n", r.o.Concurrency, r.o.Duration)
	fmt.Fprintf(r.o.Out, "ceiling: bare gRPC unary call over the same TLS, handler = one bbolt Batch write of %d bytes (batch delay %s)\n", CeilingPayload, ceilingBatchDelay)
	if rounds := max(1, r.o.Rounds); slices.ContainsFunc(results, func(res Result) bool { return res.Ceiling > 0 }) {
		fmt.Fprintf(r.o.Out, "rounds: %d; each operation's slices alternate with the ceiling's, and its ratio is to the ceiling measured in those (CEILING OPS/S)\n", rounds)
	}
	if r.steal >= 0 {
		fmt.Fprintf(r.o.Out, "machine: %d CPUs, %.0f%% of their time taken by the hypervisor for others during the run (steal)\n", runtime.NumCPU(), 100*r.steal)
	}
	if r.watch != nil {
		fmt.Fprintf(r.o.Out, "watchers: %d inbox streams open throughout, spread over %d agencies; %d events delivered to them\n", len(r.watch.conns), min(len(r.watch.conns), len(r.agencies)), r.watch.delivered.Load())
	}
	if r.dir != "" {
		fmt.Fprintf(r.o.Out, "server: tacit serve --data %s\n", r.dir)
	} else {
		fmt.Fprintf(r.o.Out, "server: %s\n", r.addr)
	}
	fmt.Fprintln(r.o.Out)
	tw := tabwriter.NewWriter(r.o.Out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "OPERATION\tCALLS\tOPS/S\tP50\tP99\tMAX\tERRORS\tCEILING OPS/S\tRATIO\tSERVER CPU\tCPU/CALL\tHEAP PEAK\tWRITES/COMMIT\tPAGES/WRITE\tWRITER BUSY\t")
	for _, res := range results {
		perCommit, pages, busy := "-", "-", "-"
		if st := res.Store; st.commits > 0 && st.writes > 0 {
			perCommit = fmt.Sprintf("%.1f", st.writes/st.commits)
			pages = fmt.Sprintf("%.1f", st.pages/st.writes)
			if res.Elapsed > 0 {
				busy = fmt.Sprintf("%.0f%%", 100*st.busy/res.Elapsed.Seconds())
			}
		}
		cpuPer, heap := "-", "-"
		if res.Ops > 0 && res.ServerCPU > 0 {
			cpuPer = (res.ServerCPU / time.Duration(res.Ops)).Round(time.Microsecond).String()
		}
		if res.HeapPeak > 0 {
			heap = fmt.Sprintf("%.0f MiB", float64(res.HeapPeak)/(1<<20))
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", res.Name, res.Ops, res.Rate(), ms(res.P50), ms(res.P99), ms(res.Max),
			res.Errors, ceilingRate(res), ratio(res), res.ServerCPU.Round(10*time.Millisecond), cpuPer, heap, perCommit, pages, busy)
	}
	tw.Flush()
	for _, res := range results {
		if res.FirstError != nil {
			fmt.Fprintf(r.o.Out, "%s: %d errors, the first: %v\n", res.Name, res.Errors, res.FirstError)
		}
	}
	if r.tacitPID != 0 {
		if rss, err := peakRSS(r.tacitPID); err == nil {
			fmt.Fprintf(r.o.Out, "tacit serve peak RSS %.0f MiB (includes the bbolt file pages it mapped)\n", float64(rss)/(1<<20))
		}
	}
	fmt.Fprintln(r.o.Out)
	for _, res := range results {
		fmt.Fprintf(r.o.Out, "%s %.0f %s %s\n", res.Name, res.Rate(), ms(res.P99), ratio(res))
	}
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
