// Package cli is the `tacit` command line: cobra commands built by
// constructors, state passed explicitly (no package globals), output through
// printers with table, json, csv and jsonl forms, so every command can be
// run in-process by tests.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/pki"
)

// Version is set at build time with -ldflags "-X .../pkg/cli.Version=...".
var Version = "dev"

// DefaultServer and DefaultDataDir are the contract's defaults.
const (
	DefaultServer  = "127.0.0.1:7443"
	DefaultDataDir = "tacit-data"
)

// env holds what every command shares: streams and global flags.
type env struct {
	stdout, stderr io.Writer
	server         string
	as             string
	pkiDir         string
	cert, key, ca  string
	output         string
	timeout        time.Duration
	lang           string // "en" or "vi", for the CLI's own messages
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// NewRootCommand builds the whole `tacit` command tree.
func NewRootCommand(stdout, stderr io.Writer) *cobra.Command {
	e := &env{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "tacit",
		Short: "Consultations between agencies, where silence past the deadline is agreement",
		Long: `tacit tracks consultations (lấy ý kiến) between government agencies and
enforces one rule: an agency that has not replied when its deadline passes is
deemed to agree, dated at the deadline, with its head responsible.

'tacit serve' runs the service; every other command is a client of it and
identifies itself with a client certificate (--as picks one from the PKI
folder that 'tacit serve' created).

` + completionHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&e.server, "server", getenv("TACIT_SERVER", DefaultServer), "address of the tacit server [TACIT_SERVER]")
	pf.StringVar(&e.as, "as", os.Getenv("TACIT_AS"), "principal to act as: an agency code, agency:CODE, auditor:NAME or admin:NAME [TACIT_AS]")
	pf.StringVar(&e.pkiDir, "pki", getenv("TACIT_PKI", filepath.Join(DefaultDataDir, "pki")), "PKI folder holding ca.crt and clients/ [TACIT_PKI]")
	pf.StringVar(&e.cert, "cert", "", "client certificate file (instead of --as)")
	pf.StringVar(&e.key, "key", "", "client key file (with --cert)")
	pf.StringVar(&e.ca, "ca", "", "CA certificate that signed the server's certificate (default: PKI folder's ca.crt)")
	pf.StringVarP(&e.output, "output", "o", "table", "output format: table or json (csv and jsonl where a command lists rows)")
	pf.DurationVar(&e.timeout, "timeout", 30*time.Second, "how long to wait for the server")
	pf.StringVar(&e.lang, "lang", getenv("TACIT_LANG", "en"), "language of the CLI's own messages and labels: en or vi [TACIT_LANG]")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		l, err := parseLangFlag(e.lang)
		e.lang = l
		return err
	}

	root.AddCommand(
		newServeCommand(e),
		newPKICommand(e),
		newOpenCommand(e),
		newShowCommand(e),
		newListCommand(e),
		newReplyCommand(e),
		newExtendCommand(e),
		newExtensionCommand(e),
		newWithdrawCommand(e),
		newConcludeCommand(e),
		newAgencyCommand(e),
		newFieldCommand(e),
		newAuditCommand(e),
		newCalendarCommand(e),
		newWatchCommand(e),
		newStatusCommand(e),
		newAdminCommand(e),
		newBenchCommand(e),
		newGenerateCommand(e),
	)
	// cobra's `completion bash|zsh|fish|powershell`, listed in the help.
	root.CompletionOptions = cobra.CompletionOptions{HiddenDefaultCmd: false}
	root.InitDefaultCompletionCmd()
	if c := findCommand(root, "completion"); c != nil {
		c.Long += "\n" + completionHelp
	}
	attachCompletions(root, e)
	return root
}

// client is a connection to the server with the three service stubs.
type client struct {
	conn      *grpc.ClientConn
	consult   tacitv1.ConsultationServiceClient
	registry  tacitv1.RegistryServiceClient
	audit     tacitv1.AuditServiceClient
	calendar  tacitv1.CalendarServiceClient
	admin     tacitv1.AdminServiceClient
	principal string
}

func (e *env) dial() (*client, error) {
	certFile, keyFile, caFile := e.cert, e.key, e.ca
	principal := ""
	if certFile == "" {
		if e.as == "" {
			return nil, usageError{"say who you are with --as (or TACIT_AS): an agency code such as --as so-tai-chinh, or --as admin:admin, or --as auditor:auditor"}
		}
		p, err := pki.ParsePrincipal(e.as)
		if err != nil {
			return nil, usageError{err.Error()}
		}
		principal = p.String()
		certFile, keyFile = pki.ClientFiles(e.pkiDir, p)
		if _, err := os.Stat(certFile); err != nil {
			return nil, usageError{fmt.Sprintf("no certificate for %s at %s: check --pki (or TACIT_PKI), or issue one with `tacit pki issue --dir %s --principal %s`", p, certFile, e.pkiDir, p)}
		}
	} else if keyFile == "" {
		return nil, usageError{"--cert needs --key"}
	}
	if caFile == "" {
		caFile, _ = pki.CAFiles(e.pkiDir)
	}
	host := e.server
	if h, _, err := splitHost(e.server); err == nil {
		host = h
	}
	serverName := "localhost"
	if host != "" && host != "127.0.0.1" && host != "::1" && host != "localhost" {
		serverName = host
	}
	tlsConf, err := pki.ClientTLSConfig(certFile, keyFile, caFile, serverName)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	conn, err := grpc.NewClient(e.server, grpc.WithTransportCredentials(credentials.NewTLS(tlsConf)))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", e.server, err)
	}
	return &client{
		conn: conn, principal: principal,
		consult:  tacitv1.NewConsultationServiceClient(conn),
		registry: tacitv1.NewRegistryServiceClient(conn),
		audit:    tacitv1.NewAuditServiceClient(conn),
		calendar: tacitv1.NewCalendarServiceClient(conn),
		admin:    tacitv1.NewAdminServiceClient(conn),
	}, nil
}

func splitHost(addr string) (string, string, error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return "", "", errors.New("no port")
	}
	return strings.Trim(addr[:i], "[]"), addr[i+1:], nil
}

func (e *env) ctx(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), e.timeout)
}

// call dials, runs fn with a bounded context, and closes.
func (e *env) call(cmd *cobra.Command, fn func(ctx context.Context, c *client) error) error {
	c, err := e.dial()
	if err != nil {
		return err
	}
	defer c.conn.Close()
	ctx, cancel := e.ctx(cmd)
	defer cancel()
	return fn(ctx, c)
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// Exit codes, documented in the README.
const (
	ExitOK           = 0
	ExitError        = 1 // other errors (internal, network)
	ExitUsage        = 2 // bad command line
	ExitInvalid      = 3 // INVALID_ARGUMENT
	ExitPrecondition = 4 // FAILED_PRECONDITION
	ExitNotFound     = 5 // NOT_FOUND
	ExitDenied       = 6 // PERMISSION_DENIED or UNAUTHENTICATED
	ExitUnavailable  = 7 // UNAVAILABLE or DEADLINE_EXCEEDED: the server is not reachable
	ExitTampered     = 8 // audit verify: the audit trail was altered
)

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	root := NewRootCommand(stdout, stderr)
	root.SetArgs(args)
	ctx, stop := signalContext()
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	lang, _ := parseLangFlag(langFromArgs(args))
	return printError(stderr, err, lang)
}

func printError(w io.Writer, err error, lang string) int {
	word := "Error"
	if lang == "vi" {
		word = vi[word]
	}
	var x exitError
	if errors.As(err, &x) {
		return x.code
	}
	var u usageError
	if errors.As(err, &u) {
		fmt.Fprintf(w, "%s: %s\n", word, u.msg)
		return ExitUsage
	}
	st, ok := status.FromError(err)
	if !ok {
		if strings.Contains(err.Error(), "unknown command") || strings.Contains(err.Error(), "flag") || strings.Contains(err.Error(), "arg") {
			fmt.Fprintf(w, "%s: %s\nRun 'tacit --help' for usage.\n", word, err)
			return ExitUsage
		}
		fmt.Fprintf(w, "%s: %s\n", word, err)
		return ExitError
	}
	fmt.Fprintf(w, "%s (%s): %s\n", word, codeName(st.Code()), describeStatus(st))
	switch st.Code() {
	case codes.InvalidArgument:
		return ExitInvalid
	case codes.FailedPrecondition:
		return ExitPrecondition
	case codes.NotFound:
		return ExitNotFound
	case codes.PermissionDenied, codes.Unauthenticated:
		return ExitDenied
	case codes.Unavailable, codes.DeadlineExceeded:
		return ExitUnavailable
	}
	return ExitError
}
