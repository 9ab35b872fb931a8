package main

// End-to-end tests of `tacit watch` against the real binary: a watcher
// subprocess follows an agency's inbox through a reminder, a deemed
// approval and a server restart, and prints every event exactly once.

import (
	"bufio"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

// watchProc is a `tacit watch -o jsonl` subprocess whose stdout is read
// line by line as it is printed.
type watchProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string // stdout lines; closed at EOF
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // from Wait, valid after done
}

// startWatch runs `tacit --as AS watch ARGS...` against srv.
func startWatch(t *testing.T, srv *tacitServer, as string, args ...string) *watchProc {
	t.Helper()
	full := append([]string{"--server", srv.addr, "--pki", srv.pki, "--as", as, "watch"}, args...)
	w := &watchProc{t: t, lines: make(chan string, 1024), stderr: &syncBuffer{}, done: make(chan struct{})}
	w.cmd = exec.Command(tacitBin, full...)
	w.cmd.Env = clientEnv()
	w.cmd.Dir = t.TempDir()
	w.cmd.Stderr = w.stderr
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("starting tacit watch: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
		close(w.lines)
		w.err = w.cmd.Wait() // only after every read from the pipe
		close(w.done)
	}()
	t.Cleanup(func() {
		w.stop()
		if strings.Contains(w.stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("tacit watch reported a data race:\n%s", w.stderr.String())
		}
	})
	return w
}

// next parses the next line printed, waiting at most timeout.
func (w *watchProc) next(timeout time.Duration, srv *tacitServer) *tacitv1.InboxEvent {
	w.t.Helper()
	select {
	case line, ok := <-w.lines:
		if !ok {
			<-w.done
			w.t.Fatalf("tacit watch exited (%v) while events were expected\nstderr:\n%s", w.err, w.stderr.String())
		}
		ev := &tacitv1.InboxEvent{}
		if err := protojson.Unmarshal([]byte(line), ev); err != nil {
			w.t.Fatalf("tacit watch -o jsonl printed a line that is not an InboxEvent (%v): %q", err, line)
		}
		return ev
	case <-time.After(timeout):
		w.t.Fatalf("tacit watch printed nothing within %s\nwatch stderr:\n%s\nserver log:\n%s", timeout, w.stderr.String(), srv.Log())
	}
	return nil
}

// stop interrupts the watcher (Ctrl-C) and returns its exit code.
func (w *watchProc) stop() int {
	select {
	case <-w.done:
	default:
		_ = w.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-w.done:
		case <-time.After(stopTimeout):
			w.t.Errorf("tacit watch did not stop within %s of SIGINT; killing it", stopTimeout)
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	}
	return w.cmd.ProcessState.ExitCode()
}

// running reports whether the watcher is still running.
func (w *watchProc) running() bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

// parseInboxJSONL parses `watch -o jsonl` output.
func parseInboxJSONL(t *testing.T, out string) []*tacitv1.InboxEvent {
	t.Helper()
	var evs []*tacitv1.InboxEvent
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		ev := &tacitv1.InboxEvent{}
		if err := protojson.Unmarshal([]byte(line), ev); err != nil {
			t.Fatalf("parsing watch -o jsonl line %q: %v", line, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func inboxSeqs(evs []*tacitv1.InboxEvent) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.GetSequence()
	}
	return out
}

func inboxSummary(evs []*tacitv1.InboxEvent) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "  %d %s %s %s\n", e.GetSequence(), e.GetType(), e.GetConsultationId(), e.GetAgency())
	}
	return b.String()
}

// openToXD opens, as so-nnmt, a consultation addressed to so-xay-dung only.
func openToXD(t *testing.T, srv *tacitServer, title, within string) string {
	t.Helper()
	return openCLI(t, srv, "so-nnmt", "--title", title, "--field", "urban-planning", "--to", "so-xay-dung",
		"--legal-basis", "Luật Quy hoạch đô thị và nông thôn 2024", "--within", within)
}

// A watcher sees a new request, its reminder and its deemed approval as
// they happen; it survives a server restart (same data folder, same
// address), during which a deadline passes, and prints every event exactly
// once, in increasing sequence, with nothing missing; `watch --after N
// --no-follow` prints exactly the events after N.
func TestWatchFollowsInboxAcrossRestart(t *testing.T) {
	t.Parallel()
	const remind = "1s"
	srv := startServer(t, "--remind-before", remind)
	w := startWatch(t, srv, "so-xay-dung", "-o", "jsonl")
	const wait = 30 * time.Second // a safety net; events come within seconds

	var seen []*tacitv1.InboxEvent
	expect := func(s *tacitServer, typ, id string) *tacitv1.InboxEvent {
		t.Helper()
		e := w.next(wait, s)
		seen = append(seen, e)
		if e.GetType() != typ || e.GetConsultationId() != id {
			t.Fatalf("watch printed %s on %s (sequence %d), want %s on %s; so far:\n%s", e.GetType(), e.GetConsultationId(), e.GetSequence(), typ, id, inboxSummary(seen))
		}
		return e
	}

	// 1. A request, its reminder one second before the deadline, then the
	// deemed approval at the deadline.
	id1 := openToXD(t, srv, "Quy hoạch phân khu đô thị — lấy ý kiến", "2s")
	expect(srv, "CONSULTATION_OPENED", id1)
	r := expect(srv, "REMINDER", id1)
	if r.GetAgency() != "so-xay-dung" || !strings.Contains(r.GetMessage(), id1) {
		t.Errorf("reminder: agency %q, message %q", r.GetAgency(), r.GetMessage())
	}
	d := expect(srv, "DEEMED_APPROVAL", id1)
	if d.GetAgency() != "so-xay-dung" {
		t.Errorf("deemed approval concerns %q, want so-xay-dung", d.GetAgency())
	}

	// 2. Another request; the server stops and its deadline passes while
	// it is down; a new server starts on the same folder and address.
	id2 := openToXD(t, srv, "Quy hoạch chi tiết khu dân cư", "4s")
	expect(srv, "CONSULTATION_OPENED", id2)
	deadline2 := addressee(t, show(t, srv, "so-nnmt", id2), "so-xay-dung").GetDeadline().AsTime()
	if code := srv.Stop(); code != 0 {
		t.Fatalf("tacit serve exited %d after SIGTERM\n%s", code, srv.Log())
	}
	sleepUntil(t, deadline2)
	if !w.running() {
		t.Fatalf("tacit watch exited when the server stopped (%v)\nstderr:\n%s", w.err, w.stderr.String())
	}
	srv2 := startServerOn(t, srv.data, srv.addr, "--remind-before", remind)

	// 3. A new request on the new server. Before it, the watcher must print
	// what was written while it was disconnected: the deemed approval of
	// the second request (and its reminder, if the first server sent it).
	id3 := openToXD(t, srv2, "Điều chỉnh quy hoạch giao thông", "1h")
	for {
		e := w.next(wait, srv2)
		seen = append(seen, e)
		if e.GetType() == "CONSULTATION_OPENED" && e.GetConsultationId() == id3 {
			break
		}
	}
	if !strings.Contains(w.stderr.String(), "resuming after sequence") {
		t.Errorf("tacit watch did not say it was resuming:\n%s", w.stderr.String())
	}

	// Everything so far, as the server has it, from sequence 0.
	all := parseInboxJSONL(t, mustRun(t, srv2, "so-xay-dung", "watch", "--no-follow", "-o", "jsonl"))
	t.Logf("so-xay-dung's inbox:\n%s", inboxSummary(all))
	if !slices.Equal(inboxSeqs(seen), inboxSeqs(all)) {
		t.Fatalf("the watcher printed\n%sbut the inbox holds\n%s(each event exactly once, in order, nothing missing)", inboxSummary(seen), inboxSummary(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].GetSequence() <= all[i-1].GetSequence() {
			t.Fatalf("sequences do not grow:\n%s", inboxSummary(all))
		}
	}
	for i := range all {
		if seen[i].GetType() != all[i].GetType() || seen[i].GetConsultationId() != all[i].GetConsultationId() {
			t.Errorf("event %d printed as %s %s, stored as %s %s", all[i].GetSequence(), seen[i].GetType(), seen[i].GetConsultationId(), all[i].GetType(), all[i].GetConsultationId())
		}
	}
	deemed2 := slices.IndexFunc(all, func(e *tacitv1.InboxEvent) bool {
		return e.GetType() == "DEEMED_APPROVAL" && e.GetConsultationId() == id2
	})
	if deemed2 < 0 {
		t.Errorf("no DEEMED_APPROVAL for %s, whose deadline passed while the server was down:\n%s", id2, inboxSummary(all))
	}

	// 4. --after N prints exactly the events after N.
	for _, k := range []int{1, 3, len(all) - 1} {
		after := all[k-1].GetSequence()
		got := parseInboxJSONL(t, mustRun(t, srv2, "so-xay-dung", "watch", "--after", fmt.Sprint(after), "--no-follow", "-o", "jsonl"))
		if !slices.Equal(inboxSeqs(got), inboxSeqs(all[k:])) {
			t.Errorf("watch --after %d --no-follow printed sequences %v, want %v", after, inboxSeqs(got), inboxSeqs(all[k:]))
		}
	}
	if out := mustRun(t, srv2, "so-xay-dung", "watch", "--after", fmt.Sprint(all[len(all)-1].GetSequence()), "--no-follow", "-o", "jsonl"); strings.TrimSpace(out) != "" {
		t.Errorf("watch --after LAST --no-follow printed %q, want nothing", out)
	}

	// Ctrl-C ends the watcher cleanly, and it printed nothing more.
	if code := w.stop(); code != 0 {
		t.Errorf("tacit watch exited %d after SIGINT, want 0\nstderr:\n%s", code, w.stderr.String())
	}
	for line := range w.lines {
		t.Errorf("tacit watch printed an extra line: %s", line)
	}
}
