package cli

import (
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tacit-gov/tacit/pkg/bench"
)

// newBenchCommand is the load tool (hidden: it is for developers and
// capacity planning, documented in the README's Performance section).
func newBenchCommand(e *env) *cobra.Command {
	o := bench.Options{}
	cmd := &cobra.Command{
		Use:    "bench [--concurrency N] [--duration D] [--rounds N] [--ops LIST] [--data D | --target ADDR --pki DIR --metrics URL]",
		Short:  "Measure tacit against this machine's ceiling",
		Hidden: true,
		Long: `Start a real 'tacit serve' over mutual TLS on loopback (or drive --target)
and run, one after the other for --duration each at --concurrency clients
(each its own connection), the ceiling alongside each operation:

  ceiling  a bare gRPC unary call over the same TLS whose handler makes one
           durable bbolt Batch write of 1 KiB, in a server process of its own
  open     OpenConsultation with 5 addressees (working-day deadline)
  reply    Reply to the consultations the open phase made (then revisions)
  get      GetConsultation of a consultation the client's agency is party to
  deemed   ListDeemedApprovals pages of 100 as the auditor
  rpc      (not in the standard set) a bare gRPC unary call over the same
           TLS to the ceiling's server, whose handler does nothing: what
           gRPC alone can do here, the bound of any read

It prints throughput, p50/p99/max latency, the server's CPU time and peak
Go heap per operation, for writes the writes per durable commit and the
pages written per write, and ends with one line per operation:
NAME ops/s p99 ratio, the ratio being the throughput over the ceiling's.
Each operation runs in --rounds slices, each just after a ceiling slice as
long, and is compared with the ceiling of those slices: on a shared machine
the CPU at hand changes from minute to minute, and both then see the same.
With no --data, the server runs on a fresh temporary demo store; --data
uses a folder as it is (e.g. one filled by 'tacit generate') and writes
into it: open, reply and get (which runs open first, for consultations to
read) add consultations, and deemed adds deemed approvals when it has
fewer than --min-deemed. Run it on a copy of a store you keep.`,
		Example: `  tacit bench --concurrency 64 --duration 10s
  tacit bench --ops ceiling,reply --duration 5s
  tacit bench --data /tmp/tacit-1m --ops deemed,get`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Binary == "" {
				exe, err := os.Executable()
				if err != nil {
					return err
				}
				o.Binary = exe
			}
			o.Out, o.Log = e.stdout, e.stderr
			_, err := bench.Run(cmd.Context(), o)
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Concurrency, "concurrency", 64, "clients, each with its own connection")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "how long each operation runs")
	f.IntVar(&o.Rounds, "rounds", 5, "slices of each operation, each after a ceiling slice as long, so that ratios compare like with like on a shared machine")
	f.StringSliceVar(&o.Ops, "ops", bench.AllOps, "operations to run, among ceiling, open, reply, get, deemed, rpc")
	f.StringVar(&o.Data, "data", "", "data folder of the started server (default: a fresh temporary demo store)")
	f.StringVar(&o.Target, "target", "", "address of a running server to drive instead of starting one")
	f.StringVar(&o.PKI, "pki", "", "with --target: the PKI folder of its development CA (clients/ and ca.crt)")
	f.StringVar(&o.Metrics, "metrics", "", "with --target: its metrics URL (http://HOST:PORT/metrics) for CPU and heap")
	f.IntVar(&o.MinDeemed, "min-deemed", 10000, "deemed approvals the store must hold for the deemed phase; fewer are made first")
	f.IntVar(&o.Watchers, "watchers", 0, "WatchInbox streams (agency systems waiting for their inbox) held open through the run, spread over the agencies")
	f.StringVar(&o.Profiles, "profiles", "", "write a CPU profile of the started server for each operation into this folder (NAME.pprof)")
	f.StringVar(&o.Binary, "binary", "", "tacit executable to start the servers with (default: this one)")

	var listen, data, pkiDir string
	ceiling := &cobra.Command{
		Use:    "ceiling-server --listen A --data D --pki DIR",
		Short:  "Serve the ceiling measurement (started by tacit bench)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lis, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", listen, err)
			}
			return bench.ServeCeiling(cmd.Context(), lis, data, pkiDir)
		},
	}
	ceiling.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on")
	ceiling.Flags().StringVar(&data, "data", "", "folder for the bbolt file")
	ceiling.Flags().StringVar(&pkiDir, "pki", "", "tacit's PKI folder (server certificate and CA)")
	_ = ceiling.MarkFlagRequired("data")
	_ = ceiling.MarkFlagRequired("pki")
	cmd.AddCommand(ceiling)
	return cmd
}
