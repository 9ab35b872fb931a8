package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

func newWatchCommand(e *env) *cobra.Command {
	var after uint64
	var once bool // --no-follow
	cmd := &cobra.Command{
		Use:   "watch [--after SEQ]",
		Short: "Stream your agency's inbox: requests, reminders, replies, deemed approvals",
		Long: `Print the inbox events of the agency you act as, from the start (or after
--after SEQ), then new ones as they happen. A dropped connection is resumed
on its own from the last sequence printed, so nothing is missed or repeated,
even across a server restart. Ctrl-C stops.`,
		Example: "  tacit --as so-xay-dung watch\n  tacit --as so-xay-dung watch --after 42 -o jsonl",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := e.checkOutput("table", "json", "jsonl"); err != nil {
				return err
			}
			c, err := e.dial()
			if err != nil {
				return err
			}
			defer c.conn.Close()
			ctx := cmd.Context()
			if e.output == "table" {
				fmt.Fprintf(e.stdout, "%-6s  %-24s  %-22s  %-6s  %-14s  %s\n", "SEQ", "TIME", "TYPE", "ID", "AGENCY", "MESSAGE")
			}
			backoff := 200 * time.Millisecond
			for {
				before := after
				err := watchOnce(ctx, e, c, &after, once)
				if after != before {
					backoff = 200 * time.Millisecond // it worked for a while: retry quickly again
				}
				if err == nil || ctx.Err() != nil || once {
					return err
				}
				switch status.Code(err) {
				case codes.Unavailable, codes.Internal, codes.Unknown, codes.ResourceExhausted:
				default:
					return err
				}
				fmt.Fprintf(e.stderr, "connection lost (%s); resuming after sequence %d in %s\n", status.Convert(err).Message(), after, backoff)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 5*time.Second)
			}
		},
	}
	cmd.Flags().Uint64Var(&after, "after", 0, "start after this sequence number")
	cmd.Flags().BoolVar(&once, "no-follow", false, "print the events so far and exit (no waiting, no reconnecting)")
	return cmd
}

// watchOnce streams until the stream ends, updating *after as it prints.
func watchOnce(ctx context.Context, e *env, c *client, after *uint64, noFollow bool) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.consult.WatchInbox(sctx, &tacitv1.WatchInboxRequest{AfterSequence: *after})
	if err != nil {
		return err
	}
	if noFollow {
		// Without following, stop once the backlog has been delivered: the
		// server sends it at once, so a short quiet spell means the end.
		go func() {
			select {
			case <-sctx.Done():
			case <-time.After(e.timeout):
				cancel()
			}
		}()
	}
	msgs := make(chan *tacitv1.WatchInboxResponse)
	errs := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				errs <- err
				return
			}
			select {
			case msgs <- m:
			case <-sctx.Done():
				return
			}
		}
	}()
	for {
		var quiet <-chan time.Time
		if noFollow {
			quiet = time.After(500 * time.Millisecond)
		}
		select {
		case m := <-msgs:
			if err := printInboxEvent(e, m.GetEvent()); err != nil {
				return err
			}
			*after = m.GetEvent().GetSequence()
		case err := <-errs:
			if errors.Is(err, io.EOF) || (ctx.Err() != nil) || (noFollow && status.Code(err) == codes.Canceled) {
				return nil
			}
			return err
		case <-quiet:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

func printInboxEvent(e *env, ev *tacitv1.InboxEvent) error {
	switch e.output {
	case "json":
		b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(e.stdout, string(b))
		return err
	case "jsonl":
		b, err := protojson.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(e.stdout, string(b))
		return err
	}
	_, err := fmt.Fprintf(e.stdout, "%-6d  %-24s  %-22s  %-6s  %-14s  %s\n", ev.GetSequence(), fmtTS(ev.GetEventTime()), ev.GetType(), ev.GetConsultationId(), ev.GetAgency(), ev.GetMessage())
	return err
}
