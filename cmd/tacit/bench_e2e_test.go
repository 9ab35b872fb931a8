package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// The load tool works end to end through the real binary: it starts a
// tacit serve and a ceiling server, runs every operation, and ends with
// one line per operation, NAME ops/s p99 ratio, with no failed call.
// Nothing here judges speed: figures live in scripts/bench.sh's output.
func TestBenchRunsEveryOperation(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runBin(t, "bench", "--concurrency", "4", "--duration", "1s", "--min-deemed", "20", "--watchers", "30")
	if code != 0 {
		t.Fatalf("tacit bench exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) < 5 {
		t.Fatalf("tacit bench printed:\n%s", stdout)
	}
	summary := lines[len(lines)-5:]
	for i, name := range []string{"ceiling", "open", "reply", "get", "deemed"} {
		f := strings.Fields(summary[i])
		if len(f) != 4 || f[0] != name {
			t.Errorf("summary line %d = %q, want %q ops/s p99 ratio", i+1, summary[i], name)
			continue
		}
		if ops, err := strconv.ParseFloat(f[1], 64); err != nil || ops <= 0 {
			t.Errorf("%s: ops/s %q, want a positive number", name, f[1])
		}
		if !strings.HasSuffix(f[2], "ms") {
			t.Errorf("%s: p99 %q, want milliseconds", name, f[2])
		}
		if r, err := strconv.ParseFloat(f[3], 64); err != nil || r <= 0 || (name == "ceiling" && r != 1) {
			t.Errorf("%s: ratio %q, want a positive ratio (1.00 for the ceiling)", name, f[3])
		}
	}
	if strings.Contains(stdout, "errors, the first") {
		t.Errorf("some calls failed:\n%s", stdout)
	}
	// Agency systems watched their inboxes throughout and were sent the
	// events of the openings and replies addressed to them.
	var delivered int
	if _, err := fmt.Sscanf(stdout[max(0, strings.Index(stdout, "watchers: ")):], "watchers: 30 inbox streams open throughout, spread over 25 agencies; %d events delivered", &delivered); err != nil || delivered <= 0 {
		t.Errorf("no watchers line with events delivered (%v):\n%s", err, stdout)
	}
	// The table tells, for each write, how many writes shared a durable
	// commit, how many pages each cost (from the server's metrics) and how
	// busy the store's writer was.
	for _, name := range []string{"open", "reply"} {
		var row []string
		for _, l := range lines {
			if f := strings.Fields(l); len(f) > 4 && f[0] == name {
				row = f
			}
		}
		if len(row) < 3 {
			t.Errorf("no table row for %s:\n%s", name, stdout)
			continue
		}
		perCommit, err1 := strconv.ParseFloat(row[len(row)-3], 64)
		pages, err2 := strconv.ParseFloat(row[len(row)-2], 64)
		busy, err3 := strconv.ParseFloat(strings.TrimSuffix(row[len(row)-1], "%"), 64)
		if err1 != nil || err2 != nil || err3 != nil || perCommit < 1 || pages <= 0 || busy <= 0 || !strings.HasSuffix(row[len(row)-1], "%") {
			t.Errorf("%s: writes per commit %q, pages per write %q, writer busy %q; want at least 1, a positive number and a positive percentage", name, row[len(row)-3], row[len(row)-2], row[len(row)-1])
		}
	}
}

// The rpc operation (a no-op call over the same TLS, outside the standard
// set) runs against the ceiling's server and is compared with the ceiling
// measured in the slices alternating with it.
func TestBenchRPCAgainstTheCeiling(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runBin(t, "bench", "--concurrency", "2", "--duration", "1s", "--rounds", "2", "--ops", "ceiling,rpc")
	if code != 0 {
		t.Fatalf("tacit bench exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	summary := lines[len(lines)-2:]
	for i, name := range []string{"ceiling", "rpc"} {
		f := strings.Fields(summary[i])
		if len(f) != 4 || f[0] != name {
			t.Fatalf("summary line %d = %q, want %q ops/s p99 ratio\n%s", i+1, summary[i], name, stdout)
		}
		if r, err := strconv.ParseFloat(f[3], 64); err != nil || r <= 0 {
			t.Errorf("%s: ratio %q, want a positive ratio", name, f[3])
		}
	}
	if !strings.Contains(stdout, "rounds: 2") {
		t.Errorf("the report does not say the run alternated in 2 rounds:\n%s", stdout)
	}
}
