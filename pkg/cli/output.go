package cli

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tacit-gov/tacit/pkg/calendar"
)

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// codeName is the canonical UPPER_SNAKE name of a gRPC code.
func codeName(c codes.Code) string {
	s := c.String()
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// describeStatus renders a status with its google.rpc details as one
// sentence followed by one line per offending field or agency.
func describeStatus(st *status.Status) string {
	msg := st.Message()
	var lines []string
	var joined []string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				lines = append(lines, fmt.Sprintf("  - %s: %s", v.GetField(), v.GetDescription()))
				joined = append(joined, v.GetField()+": "+v.GetDescription())
			}
		case *errdetails.PreconditionFailure:
			for _, v := range d.GetViolations() {
				lines = append(lines, fmt.Sprintf("  - %s: %s", v.GetSubject(), v.GetDescription()))
				joined = append(joined, v.GetSubject()+": "+v.GetDescription())
			}
		}
	}
	if len(lines) == 0 {
		if st.Code() == codes.Unavailable {
			msg += "\n  Is `tacit serve` running and reachable at --server (TACIT_SERVER)? Is --pki (TACIT_PKI) the folder of that server's PKI?"
		}
		return msg
	}
	msg = strings.TrimSuffix(msg, " ("+strings.Join(joined, "; ")+")")
	return msg + "\n" + strings.Join(lines, "\n")
}

// Times are shown in Vietnam's time zone, where deadlines are counted.
func fmtTS(t *timestamppb.Timestamp) string {
	if t == nil {
		return "-"
	}
	return localFormat(t.AsTime())
}

// localFormat shows seconds only when the instant has them.
func localFormat(t time.Time) string {
	lt := t.In(calendar.Location())
	if lt.Second() != 0 || lt.Nanosecond() != 0 {
		return lt.Format("2006-01-02 15:04:05 -07")
	}
	return lt.Format("2006-01-02 15:04 -07")
}

var weekdaysVI = [...]string{"CN", "T2", "T3", "T4", "T5", "T6", "T7"}

// fmtDeadline adds the Vietnamese weekday, e.g. "2026-03-10 00:00 +07 (T3)".
func fmtDeadline(t *timestamppb.Timestamp) string {
	if t == nil {
		return "-"
	}
	lt := t.AsTime().In(calendar.Location())
	return localFormat(lt) + " (" + weekdaysVI[lt.Weekday()] + ")"
}

func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

func printJSONL[T proto.Message](w io.Writer, ms []T) error {
	for _, m := range ms {
		b, err := protojson.Marshal(m)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(w, string(b)); err != nil {
			return err
		}
	}
	return nil
}

// table prints aligned columns.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(strings.ReplaceAll(c, "\t", " "), "\n", " ")
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// printRows prints rows as csv or as an aligned table, cutting the cells of
// the columns in cut to the given width in the table.
func printRows(e *env, header []string, rows [][]string, cut map[int]int) error {
	if e.output == "csv" {
		return writeCSV(e.stdout, header, rows)
	}
	t := newTable(e.stdout, header...)
	for _, r := range rows {
		for col, width := range cut {
			r[col] = truncate(r[col], width)
		}
		t.row(r...)
	}
	return t.flush()
}

// writeCSV writes UTF-8 with a byte-order mark so spreadsheets keep
// Vietnamese text intact.
func writeCSV(w io.Writer, header []string, rows [][]string) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// checkOutput refuses formats a command does not offer.
func (e *env) checkOutput(allowed ...string) error {
	for _, a := range allowed {
		if e.output == a {
			return nil
		}
	}
	return usageError{fmt.Sprintf("-o %s is not available here: use one of %s", e.output, strings.Join(allowed, ", "))}
}
