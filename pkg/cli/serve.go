package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/pki"
	"github.com/tacit-gov/tacit/pkg/server"
)

func newServeCommand(e *env) *cobra.Command {
	var o server.Options
	var logFormat, logLevel, remindBefore string
	cmd := &cobra.Command{
		Use:   "serve [--data D] [--listen A] [--demo] [--registry FILE] [--min-notice DUR] [--timezone TZ] [--calendar FILE]",
		Short: "Run the tacit service",
		Long: `Run the service. With no flags it keeps its data in ./tacit-data, listens on
127.0.0.1:7443 and uses mutual TLS from a development PKI that it creates under
./tacit-data/pki (a CA, a server certificate for localhost and a client
certificate for every agency of the registry, admin:admin and
auditor:auditor). --demo loads the bundled sample registry into a fresh data
folder. For production give --tls-cert, --tls-key and --client-ca.`,
		Example: "  tacit serve --demo\n  tacit serve --data /var/lib/tacit --listen 0.0.0.0:7443 --tls-cert server.crt --tls-key server.key --client-ca ca.crt",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var w = e.stderr
			if logFormat == "console" {
				w = zerolog.ConsoleWriter{Out: e.stderr, TimeFormat: time.RFC3339}
			} else if logFormat != "json" {
				return usageError{fmt.Sprintf("--log-format %q: use json or console", logFormat)}
			}
			lvl, err := zerolog.ParseLevel(logLevel)
			if err != nil {
				return usageError{fmt.Sprintf("--log-level %q: use debug, info, warn or error", logLevel)}
			}
			o.Log = zerolog.New(w).Level(lvl).With().Timestamp().Logger()
			wd, d, err := parseWithin(remindBefore)
			if err != nil {
				return usageError{"--remind-before: " + err.Error()}
			}
			o.Reminder = consultation.Reminder{WorkingDays: int(wd), Before: d}
			if err := server.Run(cmd.Context(), o); err != nil {
				o.Log.Error().Err(err).Msg("tacit serve failed")
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data", getenv("TACIT_DATA", DefaultDataDir), "data folder [TACIT_DATA]")
	f.StringVar(&o.Listen, "listen", getenv("TACIT_LISTEN", DefaultServer), "address to listen on [TACIT_LISTEN]")
	f.BoolVar(&o.Demo, "demo", false, "load the bundled sample registry into a fresh data folder")
	f.StringVar(&o.RegistryFile, "registry", "", "import this registry file at start (idempotent)")
	f.StringVar(&o.CalendarFile, "calendar", getenv("TACIT_CALENDAR", ""), "operator's calendar file: the government's yearly schedule (days off, working Saturdays) [TACIT_CALENDAR]")
	f.DurationVar(&o.MinNotice, "min-notice", time.Hour, "shortest deadline accepted (demos and tests may use 0s)")
	f.StringVar(&o.Timezone, "timezone", "Asia/Ho_Chi_Minh", "time zone in which working days are counted")
	f.StringVar(&o.TLSCert, "tls-cert", "", "server certificate (production PKI)")
	f.StringVar(&o.TLSKey, "tls-key", "", "server key (production PKI)")
	f.StringVar(&o.ClientCA, "client-ca", "", "CA that signs client certificates (production PKI)")
	f.StringVar(&remindBefore, "remind-before", getenv("TACIT_REMIND_BEFORE", "1wd"), "when to remind an addressee before its deadline: working days (1wd) or a duration (2h) [TACIT_REMIND_BEFORE]")
	f.StringVar(&logFormat, "log-format", "json", "json or console")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func newPKICommand(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "pki", Short: "Make a CA and client certificates for mutual TLS"}
	var dir string
	var hosts []string
	initCmd := &cobra.Command{
		Use:     "init --dir D",
		Short:   "Create a CA and a server certificate in D (kept if present)",
		Example: "  tacit pki init --dir ./pki --host tacit.example.gov.vn",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			created, err := pki.Init(dir)
			if err != nil {
				return err
			}
			if created {
				fmt.Fprintf(e.stdout, "Created CA %s\n", filepath.Join(dir, "ca.crt"))
			} else {
				fmt.Fprintf(e.stdout, "CA %s already exists; kept\n", filepath.Join(dir, "ca.crt"))
			}
			if cert, _ := pki.ServerFiles(dir); !exists(cert) {
				if err := pki.IssueServer(dir, append(hosts, pki.DevServerHosts()...), 0); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "Created server certificate %s\n", cert)
			}
			return nil
		},
	}
	initCmd.Flags().StringVar(&dir, "dir", "", "PKI folder (required)")
	initCmd.Flags().StringSliceVar(&hosts, "host", nil, "extra DNS name or IP for the server certificate")
	_ = initCmd.MarkFlagRequired("dir")

	var idir, principal string
	var validFor time.Duration
	issue := &cobra.Command{
		Use:     "issue --dir D --principal P",
		Short:   "Issue a client certificate for a principal (agency:CODE, auditor:NAME, admin:NAME)",
		Example: "  tacit pki issue --dir ./tacit-data/pki --principal so-tai-chinh\n  tacit pki issue --dir ./pki --principal auditor:thanh-tra",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := pki.ParsePrincipal(principal)
			if err != nil {
				return usageError{err.Error()}
			}
			cert, key, err := pki.IssueClient(idir, p, validFor)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Issued %s\n  certificate %s\n  key         %s\n", p, cert, key)
			return nil
		},
	}
	issue.Flags().StringVar(&idir, "dir", "", "PKI folder holding the CA (required)")
	issue.Flags().StringVar(&principal, "principal", "", "who the certificate is for (required)")
	issue.Flags().DurationVar(&validFor, "valid-for", 0, "lifetime (default two years)")
	_ = issue.MarkFlagRequired("dir")
	_ = issue.MarkFlagRequired("principal")
	cmd.AddCommand(initCmd, issue)
	return cmd
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
