package cli

// Shell completion: cobra's `tacit completion bash|zsh|fish|powershell`
// scripts call `tacit __complete ...`, which runs the functions attached
// here. Consultation ids, agency codes and field codes come from the server
// when the global flags (--as, --server, --pki, or TACIT_*) allow connecting;
// enum flags complete from fixed lists; --as from the PKI folder.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/pki"
)

// completionTimeout bounds a completion's call to the server: the shell
// waits for it on every <Tab>, so a slow or absent server must yield nothing,
// quickly, rather than hang.
const completionTimeout = 2 * time.Second

const completionHelp = `Shell completion. 'tacit completion bash|zsh|fish|powershell' prints a
script that completes commands and flags, and asks the server for
consultation ids, agency codes and field codes when --as (or TACIT_AS) and
the other connection settings let it connect:

  source <(tacit completion bash)       # this bash session
  tacit completion bash > /etc/bash_completion.d/tacit
  tacit completion zsh > "${fpath[1]}/_tacit"
  tacit completion fish > ~/.config/fish/completions/tacit.fish

See 'tacit completion SHELL --help' for each shell's details.`

// serverCompletion lists candidates from the server.
type serverCompletion func(ctx context.Context, c *client, cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, error)

// fromServer makes a completion function that asks the server. On any
// error (no --as, no certificate, server down or slow) it offers nothing and
// no file names.
func (e *env) fromServer(list serverCompletion) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, err := e.dial()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer c.conn.Close()
		parent := cmd.Context()
		if parent == nil {
			parent = context.Background()
		}
		timeout := completionTimeout
		if e.timeout > 0 && e.timeout < timeout {
			timeout = e.timeout
		}
		ctx, cancel := context.WithTimeout(parent, timeout)
		defer cancel()
		out, err := list(ctx, c, cmd, args, toComplete)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// firstArg completes only a command's first argument (its ID or CODE).
func firstArg(fn cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return fn(cmd, args, toComplete)
	}
}

// consultationIDs completes consultation ids the principal may see, newest
// first, described by their titles; mailbox and state narrow the list to
// those the command applies to (the server ignores the mailbox for auditors
// and administrators).
func (e *env) consultationIDs(mailbox tacitv1.Mailbox, state tacitv1.ConsultationState) cobra.CompletionFunc {
	return e.fromServer(func(ctx context.Context, c *client, _ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, error) {
		res, err := c.consult.ListConsultations(ctx, &tacitv1.ListConsultationsRequest{Mailbox: mailbox, State: state, PageSize: 500})
		if err != nil {
			return nil, err
		}
		var out []cobra.Completion
		for _, k := range res.GetConsultations() {
			if strings.HasPrefix(k.GetId(), toComplete) {
				out = append(out, cobra.CompletionWithDesc(k.GetId(), k.GetTitle()))
			}
		}
		return out, nil
	})
}

// agencyCodes completes agency codes described by their names. multi is
// the name of a list flag (--to): its values given so far, and those before
// a comma in the word, are not offered again.
func (e *env) agencyCodes(includeInactive bool, multi string) cobra.CompletionFunc {
	return e.fromServer(func(ctx context.Context, c *client, cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, error) {
		req := &tacitv1.ListAgenciesRequest{IncludeInactive: includeInactive, PageSize: 1000}
		var codes, names []string
		for page := 0; page < 20; page++ {
			res, err := c.registry.ListAgencies(ctx, req)
			if err != nil {
				return nil, err
			}
			for _, a := range res.GetAgencies() {
				codes, names = append(codes, a.GetCode()), append(names, a.GetName())
			}
			if res.GetNextPageToken() == "" {
				break
			}
			req.PageToken = res.GetNextPageToken()
		}
		var skip []string
		if p, err := pki.ParsePrincipal(e.as); err == nil && p.Kind == pki.KindAgency && multi == "to" {
			skip = append(skip, p.Name) // a lead does not consult itself
		}
		return listCandidates(cmd, multi, toComplete, codes, names, skip), nil
	})
}

// fieldCodes completes field codes described by their names.
func (e *env) fieldCodes(multi string) cobra.CompletionFunc {
	return e.fromServer(func(ctx context.Context, c *client, cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, error) {
		res, err := c.registry.ListFields(ctx, &tacitv1.ListFieldsRequest{})
		if err != nil {
			return nil, err
		}
		var codes, names []string
		for _, f := range res.GetFields() {
			codes, names = append(codes, f.GetCode()), append(names, f.GetName())
		}
		return listCandidates(cmd, multi, toComplete, codes, names, nil), nil
	})
}

// listCandidates offers the codes starting with the word being completed.
// For a list flag (multi names it) the word may be "a,b,c": the part up to
// the last comma is kept in front of every candidate, and codes already
// given are left out.
func listCandidates(cmd *cobra.Command, multi, toComplete string, codes, descs, skip []string) []cobra.Completion {
	prefix, word := "", toComplete
	if multi != "" {
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			prefix, word = toComplete[:i+1], toComplete[i+1:]
			skip = append(skip, strings.Split(toComplete[:i], ",")...)
		}
		if given, err := cmd.Flags().GetStringSlice(multi); err == nil {
			skip = append(skip, given...)
		}
	}
	var out []cobra.Completion
	for i, code := range codes {
		if strings.HasPrefix(code, word) && !slices.Contains(skip, code) {
			out = append(out, cobra.CompletionWithDesc(prefix+code, descs[i]))
		}
	}
	return out
}

// principals completes --as from the client certificates in the PKI folder:
// agencies by their bare code, others as kind:name.
func (e *env) principals(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, kind := range pki.Kinds() {
		files, _ := filepath.Glob(filepath.Join(e.pkiDir, "clients", string(kind), "*.crt"))
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".crt")
			if _, err := os.Stat(strings.TrimSuffix(f, ".crt") + ".key"); err != nil {
				continue // a certificate without its key cannot be used
			}
			p := pki.Principal{Kind: kind, Name: name}
			if p.Validate() != nil {
				continue
			}
			cand := p.String()
			if kind == pki.KindAgency && !strings.HasPrefix(toComplete, "agency:") {
				cand = name // --as takes a bare agency code
			}
			if strings.HasPrefix(cand, toComplete) {
				out = append(out, cobra.CompletionWithDesc(cand, string(kind)))
			}
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// fixed completes a flag from a list of "value\tdescription" entries.
func fixed(choices ...cobra.Completion) cobra.CompletionFunc {
	return cobra.FixedCompletions(choices, cobra.ShellCompDirectiveNoFileComp)
}

var (
	positionChoices = []cobra.Completion{
		"agree\tagree (đồng ý)",
		"agree-with-comments\tagree with comments (đồng ý, có góp ý); --comment required",
		"disagree\tdisagree (không đồng ý); --comment required",
	}
	signerRoleChoices = []cobra.Completion{"head\tthe head of the agency", "deputy\ta deputy head"}
	stateChoices      = []cobra.Completion{"open", "concluded", "withdrawn"}
	outputChoices     = []cobra.Completion{
		"table\taligned columns for people",
		"json\tone JSON document",
		"csv\tUTF-8 CSV with BOM (commands that list rows)",
		"jsonl\tone JSON object a line (commands that list rows)",
	}
	langChoices     = []cobra.Completion{"vi\ttiếng Việt", "en\tEnglish"}
	levelChoices    = []cobra.Completion{"central", "provincial", "local"}
	logLevelChoices = []cobra.Completion{"debug", "info", "warn", "error"}
	logFmtChoices   = []cobra.Completion{"json", "console"}
)

// argCompletion completes the first argument of the command at path.
type argCompletion struct {
	path string
	fn   cobra.CompletionFunc
}

// flagCompletion completes a flag of the command at path ("" is root).
type flagCompletion struct {
	path, flag string
	fn         cobra.CompletionFunc
}

// completions lists what attachCompletions attaches.
func (e *env) completions() ([]argCompletion, []flagCompletion) {
	inbox := e.consultationIDs(tacitv1.Mailbox_MAILBOX_INBOX, tacitv1.ConsultationState_CONSULTATION_STATE_OPEN)
	outbox := e.consultationIDs(tacitv1.Mailbox_MAILBOX_OUTBOX, tacitv1.ConsultationState_CONSULTATION_STATE_OPEN)
	all := e.consultationIDs(tacitv1.Mailbox_MAILBOX_UNSPECIFIED, tacitv1.ConsultationState_CONSULTATION_STATE_UNSPECIFIED)
	agencies := e.agencyCodes(false, "")
	args := []argCompletion{
		{"show", all},
		{"reply", inbox},
		{"extend", inbox},
		{"extension grant", outbox},
		{"extension refuse", outbox},
		{"withdraw", outbox},
		{"conclude", outbox},
		{"agency show", e.agencyCodes(true, "")},
	}
	flags := []flagCompletion{
		{"", "as", e.principals},
		{"", "output", fixed(outputChoices...)},
		{"open", "to", e.agencyCodes(false, "to")},
		{"open", "field", e.fieldCodes("field")},
		{"reply", "position", fixed(positionChoices...)},
		{"reply", "signer-role", fixed(signerRoleChoices...)},
		{"list", "state", fixed(stateChoices...)},
		{"extension grant", "agency", agencies},
		{"extension refuse", "agency", agencies},
		{"agency list", "level", fixed(levelChoices...)},
		{"audit deemed", "agency", agencies},
		{"audit deemed", "lead", agencies},
		{"audit deemed", "field", e.fieldCodes("")},
		{"audit stats", "agency", agencies},
		{"audit log", "agency", agencies},
		{"audit log", "consultation", all},
		{"", "lang", fixed(langChoices...)},
		{"serve", "log-level", fixed(logLevelChoices...)},
		{"serve", "log-format", fixed(logFmtChoices...)},
	}
	return args, flags
}

// attachCompletions gives the commands of the tree their argument and flag
// completions. A command or flag it cannot find (renamed) is skipped: the
// command line works without; a test checks that none is.
func attachCompletions(root *cobra.Command, e *env) {
	args, flags := e.completions()
	for _, a := range args {
		if cmd := findCommand(root, a.path); cmd != nil {
			cmd.ValidArgsFunction = firstArg(a.fn)
		}
	}
	for _, f := range flags {
		if cmd := findCommand(root, f.path); cmd != nil {
			_ = cmd.RegisterFlagCompletionFunc(f.flag, f.fn)
		}
	}
	if serve := findCommand(root, "serve"); serve != nil {
		for _, name := range []string{configFlag, "registry", "calendar"} {
			_ = serve.MarkFlagFilename(name, "json")
		}
		_ = serve.MarkFlagDirname("data")
	}
}

// findCommand finds a command by its space-separated path; "" is root.
func findCommand(root *cobra.Command, path string) *cobra.Command {
	cmd := root
	for _, name := range strings.Fields(path) {
		var next *cobra.Command
		for _, c := range cmd.Commands() {
			if c.Name() == name {
				next = c
				break
			}
		}
		if next == nil {
			return nil
		}
		cmd = next
	}
	return cmd
}
