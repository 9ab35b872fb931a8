package main

// End-to-end tests of the working-day calendar: `tacit calendar show` and
// `tacit calendar deadline` offline and --remote, `tacit serve --calendar`
// with a valid and an invalid file, and the recount of open deadlines when
// a server restarts with another calendar.

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
)

// calSampleFile is the repository's example schedule for 2026–2027.
func calSampleFile(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "pkg", "calendar", "testdata", "vn-2026-2027.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the example calendar file: %v", err)
	}
	return p
}

// noServer points a client at an address where nothing listens, so that a
// command that works offline is seen not to need a server.
var noServer = []string{"--server", "127.0.0.1:1"}

// calLine returns the first line of out that starts (after spaces) with date.
func calLine(t *testing.T, out, date string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), date) {
			return l
		}
	}
	t.Errorf("no line for %s in:\n%s", date, out)
	return ""
}

// `tacit calendar deadline` counts offline, skipping Tết with reasons, in
// English and in Vietnamese.
func TestCalendarDeadlineOffline(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runBin(t, append(noServer, "calendar", "deadline", "--from", "2026-02-12", "--days", "5")...)
	if code != exitOK {
		t.Fatalf("calendar deadline: exit %d\nstderr:\n%s", code, stderr)
	}
	for _, s := range []string{"2026-02-26", "Deadline: 2026-02-26 24:00", "2026-02-27T00:00:00+07:00", "Skipped 9 day(s)", calendar.BuiltinVersion} {
		if !strings.Contains(stdout, s) {
			t.Errorf("calendar deadline output lacks %q:\n%s", s, stdout)
		}
	}
	for _, d := range []string{"2026-02-14", "2026-02-15", "2026-02-21", "2026-02-22"} {
		if l := calLine(t, stdout, d); !strings.Contains(l, "Saturday") && !strings.Contains(l, "Sunday") {
			t.Errorf("weekend %s listed as %q", d, l)
		}
	}
	for _, d := range []string{"2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20"} {
		if l := calLine(t, stdout, d); !strings.Contains(l, "Lunar New Year (Tết)") {
			t.Errorf("Tết day %s listed as %q", d, l)
		}
	}

	vi, stderr, code := runBin(t, append(noServer, "calendar", "deadline", "--from", "2026-02-12", "--days", "5", "--lang", "vi")...)
	if code != exitOK {
		t.Fatalf("calendar deadline --lang vi: exit %d\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(vi, "2026-02-26") {
		t.Errorf("--lang vi output lacks the deadline 2026-02-26:\n%s", vi)
	}
	for _, d := range []string{"2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20"} {
		if l := calLine(t, vi, d); !strings.Contains(l, "Tết Nguyên đán") {
			t.Errorf("--lang vi: Tết day %s listed as %q, want Tết Nguyên đán", d, l)
		}
	}
	if l := calLine(t, vi, "2026-02-17"); !strings.Contains(l, "mùng 1 Tết") {
		t.Errorf("--lang vi: 2026-02-17 listed as %q, want mùng 1 Tết", l)
	}

	js, stderr, code := runBin(t, append(noServer, "calendar", "deadline", "--from", "2026-02-12", "--days", "5", "-o", "json")...)
	if code != exitOK {
		t.Fatalf("calendar deadline -o json: exit %d\nstderr:\n%s", code, stderr)
	}
	var res tacitv1.ComputeDeadlineResponse
	decodeJSON(t, js, &res)
	if res.GetLastWorkingDay() != "2026-02-26" || res.GetDeadline().AsTime().In(vnZone).Format(time.RFC3339) != "2026-02-27T00:00:00+07:00" || len(res.GetSkipped()) != 9 {
		t.Errorf("-o json = %v", &res)
	}
}

// `tacit calendar show YEAR --calendar FILE -o csv` lists the published
// schedule's days, working Saturdays included.
func TestCalendarShowWithFileCSV(t *testing.T) {
	t.Parallel()
	file := calSampleFile(t)
	rows := func(args ...string) map[string][]string {
		t.Helper()
		stdout, stderr, code := runBin(t, append(noServer, args...)...)
		if code != exitOK {
			t.Fatalf("tacit %s: exit %d\nstderr:\n%s", strings.Join(args, " "), code, stderr)
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(stdout, "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatalf("tacit %s: not CSV: %v\n%s", strings.Join(args, " "), err, stdout)
		}
		if len(recs) == 0 || strings.Join(recs[0], ",") != "DATE,WEEKDAY,KIND,REASON" {
			t.Fatalf("tacit %s: header %v", strings.Join(args, " "), recs)
		}
		out := map[string][]string{}
		for _, r := range recs[1:] {
			out[r[0]] = r
		}
		return out
	}

	got := rows("calendar", "show", "2026", "--calendar", file, "-o", "csv")
	want := map[string]string{ // date → kind
		"2026-01-01": "holiday",
		"2026-01-02": "day_off",
		"2026-01-10": "working_day",
		"2026-02-17": "holiday",
		"2026-08-22": "working_day",
		"2026-08-31": "day_off",
		"2026-09-01": "day_off",
		"2026-09-02": "holiday",
		"2026-09-03": "working_day",
	}
	for date, kind := range want {
		r, ok := got[date]
		if !ok {
			t.Errorf("no row for %s", date)
			continue
		}
		if r[2] != kind {
			t.Errorf("%s: kind %q, want %q (row %v)", date, r[2], kind, r)
		}
	}
	if r := got["2026-01-10"]; len(r) == 4 && (r[1] != "Sat" || !strings.Contains(r[3], "Friday 2026-01-02")) {
		t.Errorf("the working Saturday reads %v", r)
	}

	builtin := rows("calendar", "show", "2026", "-o", "csv")
	if _, ok := builtin["2026-01-10"]; ok {
		t.Errorf("without --calendar, 2026-01-10 is listed: %v", builtin["2026-01-10"])
	}
	if r := builtin["2026-09-03"]; len(r) < 3 || r[2] != "holiday" {
		t.Errorf("without --calendar, 2026-09-03 reads %v, want the built-in adjacent holiday", r)
	}
}

// --remote asks the server for its effective calendar: with the same file
// it answers what the local command computes.
func TestCalendarRemoteMatchesLocal(t *testing.T) {
	t.Parallel()
	file := calSampleFile(t)
	srv := startServer(t, "--calendar", file)

	for _, lang := range []string{"en", "vi"} {
		var remote, local tacitv1.GetCalendarResponse
		decodeJSON(t, mustRun(t, srv, "auditor:auditor", "calendar", "show", "2026", "--remote", "--lang", lang, "-o", "json"), &remote)
		out, stderr, code := runBin(t, append(noServer, "calendar", "show", "2026", "--calendar", file, "--lang", lang, "-o", "json")...)
		if code != exitOK {
			t.Fatalf("local calendar show: exit %d\n%s", code, stderr)
		}
		decodeJSON(t, out, &local)
		if !proto.Equal(&remote, &local) {
			t.Errorf("--lang %s: remote calendar\n%v\ndiffers from local with the same file\n%v", lang, &remote, &local)
		}
		if !strings.HasSuffix(remote.GetVersion(), "+vn-2026-2027/1") {
			t.Errorf("remote version %q does not name the file's version", remote.GetVersion())
		}
		found := false
		for _, d := range remote.GetDays() {
			if d.GetDate() == "2026-01-10" && d.GetKind() == "working_day" {
				found = true
			}
		}
		if !found {
			t.Errorf("--lang %s: the remote calendar lacks the working Saturday 2026-01-10", lang)
		}
	}

	// Across National Day the file matters: 31/8 and 1/9 off, 3/9 worked.
	var remote, local tacitv1.ComputeDeadlineResponse
	args := []string{"calendar", "deadline", "--from", "2026-08-27", "--days", "5", "-o", "json"}
	decodeJSON(t, mustRun(t, srv, "so-nnmt", append(args, "--remote")...), &remote)
	out, stderr, code := runBin(t, append(noServer, append(args, "--calendar", file)...)...)
	if code != exitOK {
		t.Fatalf("local calendar deadline: exit %d\n%s", code, stderr)
	}
	decodeJSON(t, out, &local)
	if !proto.Equal(&remote, &local) {
		t.Errorf("remote deadline\n%v\ndiffers from local\n%v", &remote, &local)
	}
	if remote.GetLastWorkingDay() != "2026-09-08" {
		t.Errorf("remote deadline from 2026-08-27 + 5 working days ends on %q, want 2026-09-08 with the published schedule", remote.GetLastWorkingDay())
	}
}

// A server given an invalid calendar file refuses to start, quickly, naming
// the file, the line and the reason.
func TestServeRefusesInvalidCalendarFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "lich-sai.json")
	const bad = `{
  "version": "bad/1",
  "years": {"2026": {"days_off": [
    {"date": "2026-02-30", "reason": "ngày không tồn tại"}
  ]}}
}
`
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stdout, stderr, code := runBin(t, "serve", "--data", t.TempDir(), "--listen", freeAddr(t), "--demo", "--min-notice", "0s", "--calendar", file)
	elapsed := time.Since(start)
	if code == exitOK {
		t.Errorf("tacit serve with an invalid calendar file exited 0")
	}
	if elapsed > 5*time.Second {
		t.Errorf("tacit serve took %s to refuse the file, want a few seconds at most", elapsed)
	}
	for _, s := range []string{file + ":4:", "2026-02-30", "invalid date"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\nstdout:\n%s\nstderr:\n%s", s, stdout, stderr)
		}
	}

	// The offline commands refuse it the same way, as a usage error.
	_, stderr, code = runBin(t, append(noServer, "calendar", "show", "2026", "--calendar", file)...)
	if code == exitOK || !strings.Contains(stderr, file+":4:") || !strings.Contains(stderr, "2026-02-30") {
		t.Errorf("calendar show with the invalid file: exit %d\n%s", code, stderr)
	}
}

// calRecountDayOff is a Monday-to-Friday working day (under the built-in
// rules) at least 7 days from today in Vietnam: within the next 30 working
// days, but not today or tomorrow.
func calRecountDayOff(t *testing.T) calendar.Date {
	t.Helper()
	cal := calendar.Vietnam()
	d := calendar.DateOf(time.Now(), calendar.Location()).AddDays(7)
	for !cal.IsWorkingDay(d) {
		d = d.AddDays(1)
	}
	return d
}

// A server restarted on the same data with a calendar that adds a day off
// recomputes the open working-day deadlines, logs it, and records each
// change in the audit log.
func TestServeRecountsDeadlinesWhenCalendarChanges(t *testing.T) {
	t.Parallel()
	day := calRecountDayOff(t)
	file := filepath.Join(t.TempDir(), "lich-moi.json")
	content := fmt.Sprintf(`{
  "version": "e2e-recount/1",
  "note": "a test schedule adding one day off",
  "years": {"%d": {"days_off": [
    {"date": "%s", "reason": "nghỉ thử nghiệm", "reason_en": "test day off"}
  ]}}
}
`, day.Year, day)
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	overrides, err := calendar.LoadOverrides(file)
	if err != nil {
		t.Fatalf("the test's own calendar file is invalid: %v\n%s", err, content)
	}
	builtin, next := calendar.Vietnam(), calendar.New(calendar.Location(), overrides)

	data := t.TempDir()
	srv := startServerOn(t, data, "")
	id := openCLI(t, srv, "so-nnmt", "--title", "Dự thảo quy hoạch chung đô thị", "--field", "land,urban-planning",
		"--to", "so-xay-dung", "--to", "so-tai-chinh", "--legal-basis", "Luật Quy hoạch đô thị và nông thôn 2024", "--within", "30wd")
	before := show(t, srv, "so-nnmt", id)
	opened := before.GetCreateTime().AsTime()
	oldDeadline := before.GetDeadline().AsTime()
	if want := builtin.Deadline(opened, 30); !oldDeadline.Equal(want) {
		t.Fatalf("opened with deadline %s, want %s (30 working days, built-in calendar)", oldDeadline, want)
	}
	newDeadline := next.Deadline(opened, 30)
	if !newDeadline.After(oldDeadline) {
		t.Fatalf("test setup: the day off %s does not move the deadline %s (new count %s)", day, oldDeadline, newDeadline)
	}
	if code := srv.Stop(); code != 0 {
		t.Fatalf("tacit serve exited %d after SIGTERM\n%s", code, srv.Log())
	}
	if strings.Contains(srv.Log(), "calendar changed") {
		t.Errorf("the first server, on a fresh folder, logged a calendar change:\n%s", srv.Log())
	}

	srv2 := startServerOn(t, data, srv.addr, "--calendar", file)
	if !strings.Contains(srv2.Log(), "calendar changed") {
		t.Errorf("the restarted server did not log the calendar change:\n%s", srv2.Log())
	}
	if !strings.Contains(srv2.Log(), next.Version()) {
		t.Errorf("the restarted server's log does not name the calendar %s:\n%s", next.Version(), srv2.Log())
	}

	after := show(t, srv2, "so-nnmt", id)
	if got := after.GetDeadline().AsTime(); !got.Equal(newDeadline) {
		t.Errorf("deadline after the restart = %s, want %s (was %s)", got.In(vnZone), newDeadline.In(vnZone), oldDeadline.In(vnZone))
	}
	for _, a := range after.GetAddressees() {
		if got := a.GetDeadline().AsTime(); !got.Equal(newDeadline) || a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_PENDING {
			t.Errorf("%s: %s, deadline %s; want PENDING until %s", a.GetAgency(), a.GetState(), got.In(vnZone), newDeadline.In(vnZone))
		}
	}
	if r := after.GetDeadlineRule(); r.GetWorkingDays() != 30 || r.GetCalendarVersion() != next.Version() || !r.GetFrom().AsTime().Equal(opened) {
		t.Errorf("deadline rule after the restart = %v, want 30 working days from %s with %s", r, opened, next.Version())
	}

	var log tacitv1.ListEventsResponse
	decodeJSON(t, mustRun(t, srv2, "auditor:auditor", "audit", "log", "--type", "DEADLINE_RECOMPUTED", "-o", "json"), &log)
	fmtVN := func(t time.Time) string { return t.In(vnZone).Format("2006-01-02 15:04:05 -07:00") }
	agencies := map[string]bool{}
	for _, e := range log.GetEvents() {
		if e.GetType() != "DEADLINE_RECOMPUTED" {
			t.Errorf("--type DEADLINE_RECOMPUTED listed %v", e)
			continue
		}
		if e.GetConsultationId() != id {
			t.Errorf("recount event for consultation %q, want %s: %v", e.GetConsultationId(), id, e)
			continue
		}
		agencies[e.GetAgency()] = true
		for _, s := range []string{fmtVN(oldDeadline), fmtVN(newDeadline)} {
			if !strings.Contains(e.GetDetails(), s) {
				t.Errorf("recount event details %q lack %q", e.GetDetails(), s)
			}
		}
	}
	if len(log.GetEvents()) != 2 || !agencies["so-xay-dung"] || !agencies["so-tai-chinh"] {
		t.Errorf("audit log --type DEADLINE_RECOMPUTED = %v, want one event for each of so-xay-dung and so-tai-chinh", log.GetEvents())
	}

	var changed tacitv1.ListEventsResponse
	decodeJSON(t, mustRun(t, srv2, "auditor:auditor", "audit", "log", "--type", "CALENDAR_CHANGED", "-o", "json"), &changed)
	found := false
	for _, e := range changed.GetEvents() {
		if strings.Contains(e.GetDetails(), builtin.Version()+" -> "+next.Version()) {
			found = true
		}
	}
	if !found {
		t.Errorf("no CALENDAR_CHANGED event from %s to %s in %v", builtin.Version(), next.Version(), changed.GetEvents())
	}

	// Restarting again with the same file changes nothing more.
	if code := srv2.Stop(); code != 0 {
		t.Fatalf("tacit serve exited %d after SIGTERM\n%s", code, srv2.Log())
	}
	srv3 := startServerOn(t, data, srv.addr, "--calendar", file)
	if strings.Contains(srv3.Log(), "calendar changed") {
		t.Errorf("a restart with the same calendar logged a change:\n%s", srv3.Log())
	}
	if got := show(t, srv3, "so-nnmt", id).GetDeadline().AsTime(); !got.Equal(newDeadline) {
		t.Errorf("deadline after a second restart = %s, want %s", got.In(vnZone), newDeadline.In(vnZone))
	}
	var again tacitv1.ListEventsResponse
	decodeJSON(t, mustRun(t, srv3, "auditor:auditor", "audit", "log", "--type", "DEADLINE_RECOMPUTED", "-o", "json"), &again)
	if len(again.GetEvents()) != len(log.GetEvents()) {
		t.Errorf("a restart with the same calendar added recount events: %v", again.GetEvents())
	}
}
