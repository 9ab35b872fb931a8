package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

func newStatusCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "status",
		Short:   "The server's version, uptime, data size, counts and sweeper lag (administrator)",
		Example: "  tacit --as admin:admin status\n  tacit --as admin:admin status -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := e.checkOutput("table", "json"); err != nil {
				return err
			}
			return e.call(cmd, func(ctx context.Context, c *client) error {
				res, err := c.admin.GetStatus(ctx, &tacitv1.GetStatusRequest{})
				if err != nil {
					return err
				}
				if e.output == "json" {
					return printJSON(e.stdout, res)
				}
				t := newTable(e.stdout)
				t.row("Server:", e.server)
				t.row("Version:", res.GetVersion())
				t.row("Started:", fmtTS(res.GetStartTime())+" (up "+res.GetUptime().AsDuration().String()+")")
				t.row("Data size:", fmt.Sprintf("%.1f MiB", float64(res.GetDataBytes())/(1<<20)))
				t.row("Consultations:", fmt.Sprintf("%d opened, %d open now", res.GetConsultations(), res.GetOpenConsultations()))
				t.row("Pending addressees:", i64(res.GetPendingAddressees()))
				t.row("Deemed approvals:", i64(res.GetDeemedApprovals()))
				t.row("Audit entries:", fmt.Sprint(res.GetAuditEntries()))
				t.row("Sweeper lag:", res.GetSweeperLag().AsDuration().String())
				t.row("Calendar:", res.GetCalendarVersion()+" ("+res.GetTimeZone()+")")
				t.row("Agencies:", fmt.Sprint(res.GetAgencies()))
				t.row("Inbox watchers:", fmt.Sprint(res.GetWatchers()))
				return t.flush()
			})
		},
	}
}

func newAdminCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Administrator operations: hot backup"}
	cmd.AddCommand(&cobra.Command{
		Use:   "backup FILE",
		Short: "Take a consistent hot backup of the data file while the service runs",
		Long: `Stream a consistent copy of the server's data file into FILE while writes go
on. To restore, put the file as tacit.db in an empty folder and run
'tacit serve --data FOLDER'. The file is written next to FILE under a temporary
name and renamed when complete, so FILE is never half-written.`,
		Example: "  tacit --as admin:admin admin backup /backup/tacit-$(date +%F).db",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dst := args[0]
			c, err := e.dial()
			if err != nil {
				return err
			}
			defer c.conn.Close()
			stream, err := c.admin.Backup(cmd.Context(), &tacitv1.BackupRequest{})
			if err != nil {
				return err
			}
			f, err := os.CreateTemp(filepath.Dir(dst), ".tacit-backup-*")
			if err != nil {
				return usageError{err.Error()}
			}
			defer os.Remove(f.Name())
			var n int64
			for {
				m, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					f.Close()
					return err
				}
				k, err := f.Write(m.GetData())
				n += int64(k)
				if err != nil {
					f.Close()
					return err
				}
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			if err := os.Rename(f.Name(), dst); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Backup written to %s (%.1f MiB). Restore: put it as tacit.db in an empty folder and run tacit serve --data FOLDER.\n", dst, float64(n)/(1<<20))
			return nil
		},
	})
	return cmd
}
