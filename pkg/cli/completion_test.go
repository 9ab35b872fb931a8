package cli

import (
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/tacit-gov/tacit/pkg/pki"
)

// complete runs `tacit __complete args...` in-process and returns the
// candidates (value and description) and the directive line.
func complete(t *testing.T, args ...string) (values, descs []string, directive string) {
	t.Helper()
	stdout, stderr, code := runCLI(t, append([]string{"__complete"}, args...)...)
	if code != ExitOK {
		t.Fatalf("__complete %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	directive = lines[len(lines)-1]
	for _, l := range lines[:len(lines)-1] {
		v, d, _ := strings.Cut(l, "\t")
		values, descs = append(values, v), append(descs, d)
	}
	return values, descs, directive
}

// Every completion is attached to a command and flag that exist.
func TestCompletionsAttached(t *testing.T) {
	root := NewRootCommand(io.Discard, io.Discard)
	args, flags := (&env{}).completions()
	for _, a := range args {
		cmd := findCommand(root, a.path)
		if cmd == nil {
			t.Errorf("no command %q to complete", a.path)
			continue
		}
		if cmd.ValidArgsFunction == nil {
			t.Errorf("%q has no argument completion", a.path)
		}
	}
	for _, f := range flags {
		cmd := findCommand(root, f.path)
		if cmd == nil {
			t.Errorf("no command %q to complete --%s of", f.path, f.flag)
			continue
		}
		if _, ok := cmd.GetFlagCompletionFunc(f.flag); !ok {
			t.Errorf("%q --%s has no completion", f.path, f.flag)
		}
	}
}

func TestStaticCompletions(t *testing.T) {
	cleanTacitEnv(t)
	outputs := []string{"table", "json", "csv", "jsonl"}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"reply", "1", "--position", ""}, []string{"agree", "agree-with-comments", "disagree"}},
		{[]string{"reply", "1", "--signer-role", ""}, []string{"head", "deputy"}},
		{[]string{"list", "--state", ""}, []string{"open", "concluded", "withdrawn"}},
		{[]string{"show", "1", "-o", ""}, outputs},
		{[]string{"list", "--output", ""}, outputs},
		{[]string{"calendar", "show", "2026", "--lang", ""}, []string{"vi", "en"}},
		{[]string{"agency", "list", "--level", ""}, []string{"central", "provincial", "local"}},
		{[]string{"serve", "--log-level", ""}, []string{"debug", "info", "warn", "error"}},
		{[]string{"serve", "--log-format", ""}, []string{"json", "console"}},
	}
	for _, tc := range tests {
		got, _, directive := complete(t, tc.args...)
		if !slices.Equal(got, tc.want) {
			t.Errorf("__complete %s = %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
		if directive != ":4" {
			t.Errorf("__complete %s: directive %s, want :4 (no file completion)", strings.Join(tc.args, " "), directive)
		}
	}
}

// Without a way to reach the server, completions from the server offer
// nothing (and no file names), quickly.
func TestServerCompletionsFailQuietly(t *testing.T) {
	cleanTacitEnv(t)
	dir := t.TempDir()
	if _, err := pki.Init(dir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pki.IssueClient(dir, pki.Agency("so-nnmt"), 0); err != nil {
		t.Fatal(err)
	}
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}()
	// A server that accepts connections and never answers.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()

	cases := map[string][]string{
		"no --as":             {"--server", closed, "--pki", dir},
		"no certificate":      {"--server", closed, "--pki", dir, "--as", "so-xay-dung"},
		"nothing listening":   {"--server", closed, "--pki", dir, "--as", "so-nnmt"},
		"server never speaks": {"--server", mute.Addr().String(), "--pki", dir, "--as", "so-nnmt"},
	}
	for name, global := range cases {
		all := [][]string{{"show", ""}, {"reply", ""}, {"open", "--to", ""}, {"open", "--field", ""}, {"agency", "show", ""}}
		if name == "server never speaks" {
			all = all[:1] // each waits for completionTimeout
		}
		for _, args := range all {
			start := time.Now()
			got, _, directive := complete(t, append(slices.Clone(global), args...)...)
			if len(got) > 0 || directive != ":4" {
				t.Errorf("%s: __complete %s = %q %s, want nothing and :4", name, strings.Join(args, " "), got, directive)
			}
			if d := time.Since(start); d > completionTimeout+2*time.Second {
				t.Errorf("%s: __complete %s took %s", name, strings.Join(args, " "), d)
			}
		}
	}
}

// --as completes from the client certificates of the PKI folder.
func TestAsCompletion(t *testing.T) {
	cleanTacitEnv(t)
	dir := t.TempDir()
	if _, err := pki.Init(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []pki.Principal{pki.Agency("so-nnmt"), pki.Agency("so-xay-dung"), pki.Auditor("auditor"), pki.Admin("admin")} {
		if _, _, err := pki.IssueClient(dir, p, 0); err != nil {
			t.Fatal(err)
		}
	}
	got, descs, _ := complete(t, "--pki", dir, "--as", "")
	for _, want := range []string{"so-nnmt", "so-xay-dung", "auditor:auditor", "admin:admin"} {
		if !slices.Contains(got, want) {
			t.Errorf("--as completes %q; lacks %q", got, want)
		}
	}
	if i := slices.Index(got, "so-nnmt"); i >= 0 && descs[i] != "agency" {
		t.Errorf("so-nnmt described %q, want agency", descs[i])
	}
	if got, _, _ := complete(t, "--pki", dir, "--as", "so-x"); !slices.Equal(got, []string{"so-xay-dung"}) {
		t.Errorf("--as so-x completes %q", got)
	}
	if got, _, _ := complete(t, "--pki", dir, "--as", "agency:so-n"); !slices.Equal(got, []string{"agency:so-nnmt"}) {
		t.Errorf("--as agency:so-n completes %q", got)
	}
}

func TestListCandidates(t *testing.T) {
	codes := []string{"so-tai-chinh", "so-tu-phap", "so-xay-dung"}
	names := []string{"Sở Tài chính", "Sở Tư pháp", "Sở Xây dựng"}
	cmd := &cobra.Command{Use: "open"}
	cmd.Flags().StringSlice("to", nil, "")
	if err := cmd.Flags().Parse([]string{"--to", "so-tu-phap"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		multi, word string
		want        []string
	}{
		{"", "so-t", []string{"so-tai-chinh\tSở Tài chính", "so-tu-phap\tSở Tư pháp"}},
		{"to", "", []string{"so-tai-chinh\tSở Tài chính", "so-xay-dung\tSở Xây dựng"}}, // so-tu-phap already given
		{"to", "so-xay-dung,so-t", []string{"so-xay-dung,so-tai-chinh\tSở Tài chính"}},
		{"to", "so-tai-chinh,", []string{"so-tai-chinh,so-xay-dung\tSở Xây dựng"}},
	}
	for _, tc := range tests {
		if got := listCandidates(cmd, tc.multi, tc.word, codes, names, nil); !slices.Equal(got, tc.want) {
			t.Errorf("listCandidates(%q, %q) = %q, want %q", tc.multi, tc.word, got, tc.want)
		}
	}
}

// cobra's completion command is present, listed and documented.
func TestCompletionCommand(t *testing.T) {
	cleanTacitEnv(t)
	for shell, want := range map[string]string{
		"bash":       "bash completion V2 for tacit",
		"zsh":        "#compdef tacit",
		"fish":       "complete -c tacit",
		"powershell": "Register-ArgumentCompleter",
	} {
		stdout, stderr, code := runCLI(t, "completion", shell)
		if code != ExitOK || !strings.Contains(stdout, want) {
			t.Errorf("completion %s: exit %d, output lacks %q\n%s", shell, code, want, stderr)
		}
	}
	help, _, _ := runCLI(t, "--help")
	if !strings.Contains(help, "completion  ") || !strings.Contains(help, "tacit completion bash") {
		t.Errorf("tacit --help does not list and document completion:\n%s", help)
	}
	help, _, _ = runCLI(t, "completion", "--help")
	for _, want := range []string{"bash", "zsh", "fish", "consultation ids, agency codes and field codes"} {
		if !strings.Contains(help, want) {
			t.Errorf("tacit completion --help lacks %q", want)
		}
	}
}
