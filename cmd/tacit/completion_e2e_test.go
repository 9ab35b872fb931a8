package main

// Shell completion end to end: the real binary's `__complete` (what the
// scripts of `tacit completion SHELL` call) against a real server.

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// completeRun runs `tacit __complete args...` as the principal as and
// returns the candidate lines ("value\tdescription") and the directive.
func completeRun(t *testing.T, srv *tacitServer, as string, args ...string) ([]string, string) {
	t.Helper()
	stdout, stderr, code := run(t, srv, as, append([]string{"__complete"}, args...)...)
	if code != exitOK {
		t.Fatalf("tacit __complete %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func values(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i], _, _ = strings.Cut(l, "\t")
	}
	return out
}

func TestCompletionE2E(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	const title = "Dự thảo Quy hoạch chung đô thị Hạ Long"
	id := openCLI(t, srv, "so-nnmt", "--title", title, "--field", "urban-planning", "--to", "so-xay-dung",
		"--legal-basis", "Luật Quy hoạch đô thị và nông thôn 2024", "--within", "5wd")

	// Consultation ids, described by their titles.
	lines, directive := completeRun(t, srv, "so-nnmt", "show", "")
	if !slices.Contains(lines, id+"\t"+title) {
		t.Errorf("__complete show lists %q; want %q", lines, id+"\t"+title)
	}
	if directive != ":4" {
		t.Errorf("__complete show: directive %s, want :4 (no file names)", directive)
	}
	// The addressee is offered it to reply to; the lead to conclude.
	if lines, _ := completeRun(t, srv, "so-xay-dung", "reply", ""); !slices.Contains(lines, id+"\t"+title) {
		t.Errorf("__complete reply as the addressee lists %q; want %s", lines, id)
	}
	if lines, _ := completeRun(t, srv, "so-nnmt", "conclude", ""); !slices.Contains(lines, id+"\t"+title) {
		t.Errorf("__complete conclude as the lead lists %q; want %s", lines, id)
	}
	// Not an addressee: nothing to reply to.
	if lines, _ := completeRun(t, srv, "so-nnmt", "reply", ""); slices.Contains(values(lines), id) {
		t.Errorf("__complete reply as the lead offers %s, which it cannot reply to", id)
	}
	// Only the first argument is completed.
	if lines, _ := completeRun(t, srv, "so-nnmt", "show", id, ""); len(lines) != 0 {
		t.Errorf("__complete show %s '' = %q, want nothing", id, lines)
	}

	// Agency codes, described by their names; the lead itself is not offered.
	lines, _ = completeRun(t, srv, "so-nnmt", "open", "--to", "")
	for _, want := range []string{"so-xay-dung\tSở Xây dựng", "so-tai-chinh\tSở Tài chính"} {
		if !slices.Contains(lines, want) {
			t.Errorf("__complete open --to lists %q; lacks %q", lines, want)
		}
	}
	if slices.Contains(values(lines), "so-nnmt") {
		t.Errorf("__complete open --to offers the lead itself")
	}
	if got := values(mustLines(completeRun(t, srv, "so-nnmt", "open", "--to", "so-xay-dung,so-tai"))); !slices.Equal(got, []string{"so-xay-dung,so-tai-chinh"}) {
		t.Errorf("__complete open --to so-xay-dung,so-tai = %q", got)
	}
	if got := values(mustLines(completeRun(t, srv, "auditor:auditor", "agency", "show", "so-tu"))); !slices.Equal(got, []string{"so-tu-phap"}) {
		t.Errorf("__complete agency show so-tu = %q", got)
	}
	if lines, _ := completeRun(t, srv, "so-nnmt", "extension", "grant", id, "--agency", "so-x"); !slices.Contains(values(lines), "so-xay-dung") {
		t.Errorf("__complete extension grant --agency so-x = %q", lines)
	}
	// Field codes.
	if lines, _ := completeRun(t, srv, "so-nnmt", "open", "--field", "land."); !slices.Contains(values(lines), "land.planning") {
		t.Errorf("__complete open --field land. = %q; lacks land.planning", lines)
	}

	// Enum flags.
	if got := values(mustLines(completeRun(t, srv, "so-xay-dung", "reply", id, "--position", ""))); !slices.Equal(got, []string{"agree", "agree-with-comments", "disagree"}) {
		t.Errorf("__complete reply --position = %q", got)
	}

	// A server that cannot be reached: nothing, quickly, exit 0.
	start := time.Now()
	stdout, _, code := runBin(t, "--server", freeAddr(t), "--pki", srv.pki, "--as", "so-nnmt", "__complete", "show", "")
	if code != exitOK || stdout != ":4\n" {
		t.Errorf("__complete show with no server: exit %d, output %q; want :4 alone", code, stdout)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("__complete show with no server took %s", d)
	}
}

func mustLines(lines []string, _ string) []string { return lines }

func TestCompletionScriptsE2E(t *testing.T) {
	t.Parallel()
	for shell, want := range map[string]string{
		"bash": "bash completion V2 for tacit",
		"zsh":  "#compdef tacit",
		"fish": "complete -c tacit",
	} {
		stdout, stderr, code := runBin(t, "completion", shell)
		if code != exitOK || !strings.Contains(stdout, want) || !strings.Contains(stdout, "__complete") {
			t.Errorf("tacit completion %s: exit %d; script lacks %q or __complete\nstderr:\n%s", shell, code, want, stderr)
		}
	}
	help, _, _ := runBin(t, "--help")
	if !strings.Contains(help, "completion") {
		t.Errorf("tacit --help does not list completion:\n%s", help)
	}
}
