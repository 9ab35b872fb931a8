package cli

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/pki"
	"github.com/tacit-gov/tacit/pkg/server"
)

func newServeCommand(e *env) *cobra.Command {
	var o server.Options
	var logFormat, logLevel, remindBefore, configFile string
	var showConfig bool
	cmd := &cobra.Command{
		Use:   "serve [--data D] [--listen A] [--demo] [--registry FILE] [--min-notice DUR] [--timezone TZ] [--calendar FILE] [--config FILE] [--print-config]",
		Short: "Run the tacit service",
		Long: `Run the service. With no flags it keeps its data in ./tacit-data, listens on
127.0.0.1:7443 and uses mutual TLS from a development PKI that it creates under
./tacit-data/pki (a CA, a server certificate for localhost and a client
certificate for every agency of the registry, admin:admin and
auditor:auditor). --demo loads the bundled sample registry into a fresh data
folder. For production give --tls-cert, --tls-key and --client-ca.

Configuration. Every flag below can also be given by an environment variable
TACIT_<FLAG>, the flag name upper-cased with '-' turned into '_' (--data:
TACIT_DATA, --min-notice: TACIT_MIN_NOTICE, --tls-cert: TACIT_TLS_CERT,
--log-level: TACIT_LOG_LEVEL; an empty variable counts as unset), and by an
optional config file (--config FILE, or TACIT_CONFIG): a JSON object whose
keys are the flag names and whose values are written as on the command line,
for example

  {"data": "/var/lib/tacit", "listen": "0.0.0.0:7443", "min-notice": "0s", "demo": true}

Keys that are not settings are refused, naming the key. Paths are used as
given (a relative path is relative to the working folder, not to the file).
A setting given in several places takes the first of: the command line, the
environment, the config file, the built-in default. Every value is checked
at start; an invalid one stops the service with an error that names the
setting and where it came from, e.g.

  invalid value "abc" for --min-notice (from TACIT_MIN_NOTICE): time: invalid duration "abc"

--print-config prints the effective configuration, every setting with its
value and its source (flag, env TACIT_X, file PATH or default), as a table
or with -o json, and exits without serving.`,
		Example: `  tacit serve --demo
  tacit serve --data /var/lib/tacit --listen 0.0.0.0:7443 --tls-cert server.crt --tls-key server.key --client-ca ca.crt
  TACIT_DATA=/var/lib/tacit TACIT_LOG_LEVEL=warn tacit serve
  tacit serve --config /etc/tacit/tacit.json --print-config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if showConfig {
				if err := e.checkOutput("table", "json"); err != nil {
					return err
				}
			}
			cfg, err := resolveConfig(cmd.LocalFlags(), os.LookupEnv, serveChecks)
			if err != nil {
				return err
			}
			if showConfig {
				return printConfig(e, cfg)
			}
			var w = e.stderr
			if logFormat == "console" {
				w = zerolog.ConsoleWriter{Out: e.stderr, TimeFormat: time.RFC3339}
			}
			lvl, _ := zerolog.ParseLevel(logLevel) // checked by resolveConfig
			o.Log = zerolog.New(w).Level(lvl).With().Timestamp().Logger()
			wd, d, _ := parseWithin(remindBefore) // checked by resolveConfig
			o.Reminder = consultation.Reminder{WorkingDays: int(wd), Before: d}
			if cfg.File != "" {
				o.Log.Info().Str("config", cfg.File).Msg("configuration read from file")
			}
			server.Version = Version
			gc, limit := server.TuneRuntime()
			o.Log.Debug().Int("gc_percent", gc).Int64("memory_limit", limit).Msg("Go runtime: garbage collector settings")
			if err := server.Run(cmd.Context(), o); err != nil {
				o.Log.Error().Err(err).Msg("tacit serve failed")
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data", DefaultDataDir, "data folder")
	f.StringVar(&o.Listen, "listen", DefaultServer, "address to listen on")
	f.BoolVar(&o.Demo, "demo", false, "load the bundled sample registry into a fresh data folder")
	f.StringVar(&o.RegistryFile, "registry", "", "import this registry file at start (idempotent)")
	f.StringVar(&o.CalendarFile, "calendar", "", "operator's calendar file: the government's yearly schedule (days off, working Saturdays)")
	f.DurationVar(&o.MinNotice, "min-notice", time.Hour, "shortest deadline accepted (demos and tests may use 0s)")
	f.StringVar(&o.Timezone, "timezone", "Asia/Ho_Chi_Minh", "time zone in which working days are counted")
	f.StringVar(&o.TLSCert, "tls-cert", "", "server certificate (production PKI)")
	f.StringVar(&o.TLSKey, "tls-key", "", "server key (production PKI)")
	f.StringVar(&o.ClientCA, "client-ca", "", "CA that signs client certificates (production PKI)")
	f.StringVar(&o.MetricsListen, "metrics-listen", "", "serve Prometheus metrics at /metrics on this address, plain HTTP (off when empty; keep it private)")
	f.StringVar(&o.PprofListen, "pprof-listen", "", "serve Go profiles at /debug/pprof/ on this address, plain HTTP (off when empty; for developers, keep it on loopback)")
	o.Limits = server.DefaultLimits
	f.Float64Var(&o.Limits.Rate, "rate-limit", server.DefaultLimits.Rate, "requests a second each principal may send (0: no limit); more get RESOURCE_EXHAUSTED with a retry delay")
	f.IntVar(&o.Limits.Burst, "rate-burst", server.DefaultLimits.Burst, "requests a principal may send at once above --rate-limit")
	f.IntVar(&o.Limits.WatchersPerPrincipal, "max-watchers", server.DefaultLimits.WatchersPerPrincipal, "inbox streams one principal may keep open")
	f.IntVar(&o.MaxConnections, "max-connections", 10000, "connections the server accepts at once")
	f.StringVar(&remindBefore, "remind-before", "1wd", "when to remind an addressee before its deadline: working days (1wd) or a duration (2h)")
	f.StringVar(&logFormat, "log-format", "json", "json or console")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.VisitAll(func(fl *pflag.Flag) {
		if isSetting(fl) {
			fl.Usage += " [" + envName(fl.Name) + "]"
		}
	})
	f.StringVar(&configFile, configFlag, "", "JSON config file of settings keyed by flag name [TACIT_CONFIG]")
	f.BoolVar(&showConfig, printConfigFlag, false, "print the effective configuration with the source of every setting, and exit")
	return cmd
}

// optionalAddress checks a HOST:PORT setting that may be empty (off).
func optionalAddress(v string) error {
	if v == "" {
		return nil
	}
	_, _, err := net.SplitHostPort(v)
	return err
}

// serveChecks validate settings beyond their type, so that a bad value
// fails at start naming the setting and its source.
var serveChecks = map[string]settingCheck{
	"listen": func(v string) error {
		_, _, err := net.SplitHostPort(v)
		return err
	},
	"pprof-listen":   optionalAddress,
	"metrics-listen": optionalAddress,
	"min-notice": func(v string) error {
		if d, err := time.ParseDuration(v); err == nil && d < 0 {
			return errors.New("negative: give 0s or more")
		}
		return nil
	},
	"timezone": func(v string) error {
		if _, err := time.LoadLocation(v); err != nil {
			return fmt.Errorf("not a known time zone (%v): use an IANA name such as Asia/Ho_Chi_Minh", err)
		}
		return nil
	},
	"remind-before": func(v string) error {
		_, _, err := parseWithin(v)
		return err
	},
	"log-format": func(v string) error {
		if v != "json" && v != "console" {
			return errors.New("use json or console")
		}
		return nil
	},
	"log-level": func(v string) error {
		if _, err := zerolog.ParseLevel(v); err != nil || v == "" {
			return errors.New("use debug, info, warn or error")
		}
		return nil
	},
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
