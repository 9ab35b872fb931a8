package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a server process the tool started.
type child struct {
	name string
	cmd  *exec.Cmd
	out  bytes.Buffer // its standard error, shown when it fails
	done chan error
}

func startChild(name, bin string, args ...string) (*child, error) {
	c := &child{name: name, cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	c.cmd.Stdout = io.Discard
	c.cmd.Stderr = &lockedWriter{w: &c.out}
	// The server dies with the tool.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	return c, nil
}

// stop asks the child to finish and waits (SIGKILL after 30 s).
func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// exited reports an early exit, with what the child said.
func (c *child) exited() error {
	select {
	case err := <-c.done:
		c.done <- err
		return fmt.Errorf("%s exited (%v):\n%s", c.name, err, tail(c.out.String(), 2000))
	default:
		return nil
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// cpuTime is the CPU time (user and system) a process has used so far,
// from /proc (Linux).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: fields start after the last ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

// peakRSS is the process's peak resident set (VmHWM), from /proc.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// scrape reads the unlabelled samples of a Prometheus text endpoint.
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, res.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || strings.ContainsRune(line, '{') {
			continue
		}
		name, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(strings.Fields(v)[0], 64); err == nil {
			out[name] = f
		}
	}
	return out, sc.Err()
}

// heapWatch samples the server's Go heap (in use, not the bbolt map, which
// the kernel pages) while a phase runs and keeps the peak.
type heapWatch struct {
	url  string
	mu   sync.Mutex
	peak float64
	stop chan struct{}
	done chan struct{}
}

func watchHeap(url string) *heapWatch {
	h := &heapWatch{url: url, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			h.sample()
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapWatch) sample() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	m, err := scrape(ctx, h.url)
	if err != nil {
		return
	}
	h.mu.Lock()
	h.peak = max(h.peak, m["go_memstats_heap_inuse_bytes"])
	h.mu.Unlock()
}

// end stops sampling and returns the peak in bytes.
func (h *heapWatch) end() int64 {
	close(h.stop)
	<-h.done
	h.sample()
	h.mu.Lock()
	defer h.mu.Unlock()
	return int64(h.peak)
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr() (string, error) {
	addrs, err := freeAddrs(1)
	if err != nil {
		return "", err
	}
	return addrs[0], nil
}

// freeAddrs returns n loopback addresses with ports nobody listens on, all
// different: each port is held until all are picked, for a port closed
// can be the next one handed out (a server told to listen twice on it
// fails to start).
func freeAddrs(n int) ([]string, error) {
	var out []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		out = append(out, l.Addr().String())
	}
	return out, nil
}

// cpuStat is the machine's CPU time from /proc/stat, in clock ticks: all
// of it and the part stolen by the hypervisor (given to other guests).
type cpuStat struct{ total, steal uint64 }

func readCPUStat() (cpuStat, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuStat{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuStat{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var st cpuStat
	// user nice system idle iowait irq softirq steal (guest time is
	// already counted in user).
	for i, v := range f[1:9] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return cpuStat{}, fmt.Errorf("/proc/stat: %w", err)
		}
		st.total += n
		if i == 7 {
			st.steal = n
		}
	}
	return st, nil
}

// stolenSince is the share of CPU time stolen between then and s.
func (s cpuStat) stolenSince(then cpuStat) float64 {
	if s.total <= then.total {
		return 0
	}
	return float64(s.steal-then.steal) / float64(s.total-then.total)
}

// storeWork is what a tacit server's store did: durable commits, the
// writes they carried, the pages bbolt wrote and the seconds its writer
// was busy committing.
type storeWork struct{ commits, writes, pages, busy float64 }

func (a storeWork) add(b storeWork) storeWork {
	return storeWork{a.commits + b.commits, a.writes + b.writes, a.pages + b.pages, a.busy + b.busy}
}

func (a storeWork) sub(b storeWork) storeWork {
	return storeWork{a.commits - b.commits, a.writes - b.writes, a.pages - b.pages, a.busy - b.busy}
}

// scrapeStore reads a tacit server's store figures from its metrics.
func scrapeStore(ctx context.Context, url string) (storeWork, error) {
	if url == "" {
		return storeWork{}, errors.New("no metrics")
	}
	m, err := scrape(ctx, url)
	if err != nil {
		return storeWork{}, err
	}
	return storeWork{m["tacit_bbolt_commits_total"], m["tacit_bbolt_committed_writes_total"], m["tacit_bbolt_page_writes_total"], m["tacit_bbolt_writer_busy_seconds_total"]}, nil
}
