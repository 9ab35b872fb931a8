package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
	"github.com/tacit-gov/tacit/pkg/synth"
)

// newGenerateCommand fills a data folder with a synthetic history (hidden:
// it is for performance measurements and demos, not for operators).
func newGenerateCommand(e *env) *cobra.Command {
	var (
		o                 synth.Options
		data, since, till string
	)
	cmd := &cobra.Command{
		Use:    "generate --data DIR --consultations N [--seed N] [--since DATE] [--until DATE] [--agencies N]",
		Short:  "Fill an empty data folder with a synthetic history of consultations (for measurements and demos)",
		Hidden: true,
		Long: `Write years of consultations into a new data folder, as if the service had run
all along: openings by lead agencies of the registry at office hours on
working days, 1 to 8 agencies consulted on matters within their mandate,
deadlines in working days, replies (head or deputy, agree, with comments,
disagree) and revisions, reminders, extensions asked, granted and refused,
deemed approvals at their deadlines with the head then in office, refused
openings, withdrawals and conclusions, and heads of agencies changing twice a
year. Consultations opened in the last weeks before --until are still open,
with replies pending and deadlines to come.

Every change is made by the service's own rules at the time of a simulated
clock and recorded as the service records it (audit trail, inboxes, figures,
indexes); the records are written in large transactions, synced once at the
end. The folder is then served as usual: tacit serve --data DIR (it creates
the development PKI on first start). The same --seed gives the same history.

The registry is the demo registry (25 agencies of Quảng Ninh and ministries);
--agencies N adds synthesized provinces' departments and communes up to N.
The folder must be new or empty; if generation is interrupted, delete it.`,
		Example: `  tacit generate --data /tmp/tacit-1m --consultations 1000000
  tacit generate --data /tmp/tacit-demo --consultations 50000 --agencies 700 --since 2024-01-01 --seed 7`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if data == "" {
				return usageError{"--data is required: a new or empty folder to fill"}
			}
			if since == "" {
				return usageError{"--since cannot be empty: give the start of the period"}
			}
			if o.Since, err = parseInstant("--since", since, time.Time{}); err != nil {
				return err
			}
			if o.Until, err = parseInstant("--until", till, time.Now()); err != nil {
				return err
			}
			if !o.Until.After(o.Since) {
				return usageError{fmt.Sprintf("--until %s is not after --since %s", o.Until.Format(time.RFC3339), o.Since.Format(time.RFC3339))}
			}
			if o.Consultations < 0 {
				return usageError{"--consultations cannot be negative"}
			}
			if entries, err := os.ReadDir(data); err == nil && len(entries) > 0 {
				return usageError{fmt.Sprintf("--data %s is not empty: generate writes only into a new or empty folder", data)}
			} else if err != nil && !errors.Is(err, os.ErrNotExist) {
				return usageError{err.Error()}
			}
			st, err := bolt.Open(data, bolt.Options{})
			if err != nil {
				return err
			}
			defer st.Close()
			if os.Getenv("GOGC") == "" {
				// The live heap is small (a few hundred MB at most) and
				// allocation is heavy: collecting less often saves a fifth
				// of the time.
				defer debug.SetGCPercent(debug.SetGCPercent(400))
			}
			start := time.Now()
			o.Progress = func(s synth.Summary) {
				fmt.Fprintf(e.stderr, "generate: %d of %d consultations (%.0f%%), simulated to %s, %s\n",
					s.Consultations, o.Consultations, 100*float64(s.Consultations)/float64(max(1, o.Consultations)),
					s.Clock.In(calendar.Location()).Format(time.DateOnly), time.Since(start).Round(time.Second))
			}
			sum, err := synth.Generate(cmd.Context(), st, o)
			if err != nil {
				return fmt.Errorf("%w; the folder %s holds a partial history: delete it", err, data)
			}
			counts, err := st.Counts(cmd.Context())
			if err != nil {
				return err
			}
			if err := st.Close(); err != nil {
				return err
			}
			path := filepath.Join(data, "tacit.db")
			fi, err := os.Stat(path)
			if err != nil {
				return err
			}
			t := newTable(e.stdout)
			t.row("Data file:", fmt.Sprintf("%s (%.1f MiB)", path, float64(fi.Size())/(1<<20)))
			t.row("Period:", o.Since.In(calendar.Location()).Format(time.DateOnly)+" to "+o.Until.In(calendar.Location()).Format(time.DateOnly))
			t.row("Agencies:", fmt.Sprint(sum.Agencies))
			t.row("Consultations:", fmt.Sprintf("%d (concluded %d, withdrawn %d, open %d); %d openings refused", sum.Consultations, sum.Concluded, sum.Withdrawn, sum.StillOpen, sum.Rejected))
			t.row("Addressees:", fmt.Sprintf("%d (pending now %d)", sum.Addressees, counts.PendingAddressees))
			t.row("Replies:", fmt.Sprintf("%d (and %d revisions)", sum.Replies, sum.Revisions))
			t.row("Deemed approvals:", fmt.Sprint(sum.Deemed))
			t.row("Reminders:", fmt.Sprint(sum.Reminders))
			t.row("Extensions:", fmt.Sprintf("%d asked, %d granted, %d refused", sum.ExtensionsAsked, sum.ExtensionsGranted, sum.ExtensionsRefused))
			t.row("Audit entries:", fmt.Sprint(counts.AuditEntries))
			t.row("Elapsed:", time.Since(start).Round(100*time.Millisecond).String())
			return t.flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&data, "data", "", "data folder to create and fill (new or empty)")
	f.IntVar(&o.Consultations, "consultations", 100000, "consultations to open over the period")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the random choices: the same seed gives the same history")
	f.StringVar(&since, "since", "2021-01-01", "start of the period: a date (Vietnam time) or an RFC 3339 instant")
	f.StringVar(&till, "until", "", "end of the period (default now): a date (Vietnam time) or an RFC 3339 instant")
	f.IntVar(&o.Agencies, "agencies", 0, "agencies in the registry: the demo's 25, or more with synthesized provinces (e.g. 700)")
	f.IntVar(&o.Batch, "batch", 0, "records and audit entries per transaction (0: the loader's default)")
	_ = f.MarkHidden("batch")
	return cmd
}

// parseInstant reads a date (midnight, Vietnam time) or an RFC 3339
// instant; empty gives def.
func parseInstant(flag, s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if d, err := calendar.ParseDate(s); err == nil {
		return d.Start(calendar.Location()), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usageError{fmt.Sprintf("%s %q is neither a date (2021-01-01) nor an RFC 3339 instant (2021-01-01T08:00:00+07:00)", flag, s)}
	}
	return t, nil
}
