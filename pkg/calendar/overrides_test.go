package calendar

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOverridesFile2026 checks the example file against the government's
// published schedule for 2026 (sources in the file): New Year 1/1–4/1 with
// Friday 2/1 swapped for Saturday 10/1; Tết 14/2–22/2 (the built-in rules);
// Hùng Kings' day Sunday 26/4 with Monday 27/4 off (built in); National Day
// 29/8–2/9 with 1/9 as the adjacent day and Monday 31/8 swapped for
// Saturday 22/8.
func TestOverridesFile2026(t *testing.T) {
	o := fileOverrides(t)
	if o.Version() != "vn-2026-2027/1" || !strings.Contains(o.Note(), "9859/VPCP-KGVX") {
		t.Fatalf("Version %q, note %q", o.Version(), o.Note())
	}
	cal := New(nil, o)
	if v := cal.Version(); v != "vn-lc2019/2+vn-2026-2027/1" {
		t.Fatalf("Version() = %q", v)
	}
	type day struct {
		date string
		off  bool
		kind Kind
		vi   string
	}
	days := []day{
		{"2026-01-01", true, KindHoliday, "Tết Dương lịch"},
		{"2026-01-02", true, KindExtraDayOff, "Ngày nghỉ theo lịch công bố: hoán đổi với thứ Bảy 10/01/2026, nối Tết Dương lịch"},
		{"2026-01-03", true, KindWeekend, "Thứ Bảy"},
		{"2026-01-04", true, KindWeekend, "Chủ nhật"},
		{"2026-01-05", false, KindWorking, "Ngày làm việc"},
		{"2026-01-10", false, KindMakeUpDay, "Ngày làm bù: thay cho thứ Sáu 02/01/2026"},
		{"2026-01-11", true, KindWeekend, "Chủ nhật"},
		{"2026-02-13", false, KindWorking, "Ngày làm việc"},
		{"2026-02-16", true, KindHoliday, "Tết Nguyên đán (29 tháng Chạp)"},
		{"2026-02-20", true, KindHoliday, "Tết Nguyên đán (mùng 4 Tết)"},
		{"2026-02-23", false, KindWorking, "Ngày làm việc"},
		{"2026-04-27", true, KindCompensatory, "Nghỉ bù Giỗ Tổ Hùng Vương"},
		{"2026-08-22", false, KindMakeUpDay, "Ngày làm bù: thay cho thứ Hai 31/08/2026"},
		{"2026-08-29", true, KindWeekend, "Thứ Bảy"},
		{"2026-08-31", true, KindExtraDayOff, "Ngày nghỉ theo lịch công bố: hoán đổi với thứ Bảy 22/08/2026, nối Quốc khánh"},
		{"2026-09-01", true, KindExtraDayOff, "Ngày nghỉ theo lịch công bố: Quốc khánh (ngày liền kề trước 2/9)"},
		{"2026-09-02", true, KindHoliday, "Quốc khánh"},
		{"2026-09-03", false, KindRemovedDayOff, "Ngày làm việc theo lịch công bố: ngày liền kề Quốc khánh năm 2026 là 01/9, không phải 03/9"},
		{"2026-09-04", false, KindWorking, "Ngày làm việc"},
	}
	for _, tt := range days {
		d := mustDate(t, tt.date)
		r := cal.Reason(d)
		if r.Off() != tt.off || r.Kind != tt.kind || r.Label(Vietnamese) != tt.vi || cal.IsWorkingDay(d) == tt.off {
			t.Errorf("%s: %v %v %q; want %v %v %q", tt.date, r.Off(), r.Kind, r.Label(Vietnamese), tt.off, tt.kind, tt.vi)
		}
		off, vi := cal.DayOffVI(d)
		if off != tt.off || (off && vi != tt.vi) || (!off && vi != "") {
			t.Errorf("DayOffVI(%s) = %v, %q", tt.date, off, vi)
		}
	}
	if _, en := cal.DayOff(mustDate(t, "2026-01-02")); en != "day off by the published schedule: swapped with Saturday 2026-01-10, bridging New Year's Day" {
		t.Errorf("DayOff(2026-01-02) = %q", en)
	}
	if r := cal.Reason(mustDate(t, "2026-09-03")); r.Was != KindHoliday || r.Holiday != HolidayNationalAdjacent {
		t.Errorf("removed day: %+v", r)
	}
	if r := cal.Reason(mustDate(t, "2026-01-10")); r.Was != KindWeekend || r.Weekday != time.Saturday {
		t.Errorf("make-up day: %+v", r)
	}

	// The schedule of 2026 as `tacit calendar show 2026` lists it.
	var got []string
	for _, e := range cal.DaysOff(2026) {
		mark := "off"
		if !e.Off {
			mark = "work"
		}
		got = append(got, e.Date.String()+" "+mark)
	}
	want := "2026-01-01 off,2026-01-02 off,2026-01-10 work,2026-02-16 off,2026-02-17 off,2026-02-18 off,2026-02-19 off,2026-02-20 off," +
		"2026-04-26 off,2026-04-27 off,2026-04-30 off,2026-05-01 off,2026-08-22 work,2026-08-31 off,2026-09-01 off,2026-09-02 off,2026-09-03 work"
	if strings.Join(got, ",") != want {
		t.Errorf("DaysOff(2026) =\n%s\nwant\n%s", strings.Join(got, ","), want)
	}
	// 2027 has no published schedule yet: the file changes nothing.
	if a, b := len(cal.DaysOff(2027)), len(Vietnam().DaysOff(2027)); a != b {
		t.Errorf("DaysOff(2027): %d entries with the file, %d without", a, b)
	}
	for d := (Date{2027, 1, 1}); d.Year == 2027; d = d.AddDays(1) {
		if cal.Reason(d) != Vietnam().Reason(d) {
			t.Errorf("%s differs in 2027", d)
		}
	}
	if n := len(o.Entries()); n != 6 {
		t.Errorf("%d entries", n)
	}

	deadlines := []struct {
		name string
		from string
		n    int
		want string
	}{
		// Thu 1/1 holiday opening; Fri 2/1 swapped off; 3–4 weekend; Mon
		// 5 W1. (Built-in rules alone: Fri 2/1 W1.)
		{"New Year with the swap", "2026-01-01 09:00", 1, "2026-01-06T00:00:00+07:00"},
		// Saturday 10/1 is a make-up working day: it counts.
		{"make-up Saturday counts", "2026-01-09 09:00", 1, "2026-01-11T00:00:00+07:00"},
		{"make-up Saturday n=2", "2026-01-09 09:00", 2, "2026-01-13T00:00:00+07:00"},
		{"opened on the make-up Saturday", "2026-01-10 09:00", 1, "2026-01-13T00:00:00+07:00"},
		{"make-up Saturday 22/8", "2026-08-21 09:00", 1, "2026-08-23T00:00:00+07:00"},
		// 29–30/8 weekend, Mon 31/8 swapped, Tue 1/9 adjacent day, Wed
		// 2/9 National Day, Thu 3/9 W1 (removed day off).
		{"across 2/9 2026 with the schedule", "2026-08-28 09:00", 1, "2026-09-04T00:00:00+07:00"},
		{"across 2/9 2026 with the schedule n=2", "2026-08-28 09:00", 2, "2026-09-05T00:00:00+07:00"},
		{"across Tết 2026 (no change)", "2026-02-12 10:00", 5, "2026-02-27T00:00:00+07:00"},
	}
	for _, tt := range deadlines {
		from := local(t, tt.from)
		if got := cal.Deadline(from, tt.n).Format(time.RFC3339); got != tt.want {
			t.Errorf("%s: Deadline(%s, %d) = %s, want %s", tt.name, tt.from, tt.n, got, tt.want)
		}
		checkDeadline(t, cal, from, tt.n)
	}
	// Without the file, 31/8 is a working day.
	if got := Vietnam().Deadline(local(t, "2026-08-28 09:00"), 1).Format(time.RFC3339); got != "2026-09-01T00:00:00+07:00" {
		t.Errorf("built-in Deadline(2026-08-28, 1) = %s", got)
	}
	var skipped []string
	for _, s := range cal.Explain(local(t, "2026-08-28 09:00"), 1) {
		skipped = append(skipped, s.Date.String()+" "+s.Reason.Label(English))
	}
	wantSkipped := []string{
		"2026-08-29 Saturday",
		"2026-08-30 Sunday",
		"2026-08-31 day off by the published schedule: swapped with Saturday 2026-08-22, bridging National Day",
		"2026-09-01 day off by the published schedule: National Day (adjacent day before 2 September)",
		"2026-09-02 National Day",
	}
	if strings.Join(skipped, "\n") != strings.Join(wantSkipped, "\n") {
		t.Errorf("Explain =\n%s", strings.Join(skipped, "\n"))
	}
}

// TestOverridesMoveTet2024 moves Tết 2024's second compensatory day before
// the block, as the government's 2024 schedule did (8/2–14/2).
func TestOverridesMoveTet2024(t *testing.T) {
	o, err := ParseOverrides([]byte(`{
  "version": "tet-2024/1",
  "years": {
    "2024": {
      "days_off": [{"date": "2024-02-08", "reason": "nghỉ bù Tết (29 tháng Chạp)"}],
      "remove_days_off": [{"date": "2024-02-15", "reason": "nghỉ bù chuyển sang 08/02"}]
    }
  }
}`))
	if err != nil {
		t.Fatal(err)
	}
	cal := New(Location(), o)
	for d, off := range map[string]bool{"2024-02-07": false, "2024-02-08": true, "2024-02-14": true, "2024-02-15": false, "2024-02-16": false} {
		if got := !cal.IsWorkingDay(mustDate(t, d)); got != off {
			t.Errorf("%s off = %v, want %v", d, got, off)
		}
	}
	// Opened Wed 7/2: 8/2–14/2 off, Thu 15 W1.
	if got := cal.Deadline(local(t, "2024-02-07 10:00"), 1).Format(time.RFC3339); got != "2024-02-16T00:00:00+07:00" {
		t.Errorf("Deadline = %s", got)
	}
	if got := Vietnam().Deadline(local(t, "2024-02-07 10:00"), 1).Format(time.RFC3339); got != "2024-02-09T00:00:00+07:00" {
		t.Errorf("built-in Deadline = %s", got)
	}
}

func TestParseOverridesAccepts(t *testing.T) {
	for name, src := range map[string]string{
		"minimal":       `{"version": "v1", "years": {}}`,
		"empty lists":   `{"version":"a.b_c:d/e-1","note":"x\ny","years":{"2026":{"note":"","days_off":[],"working_days":[],"remove_days_off":[]}}}`,
		"byte order":    "\xef\xbb\xbf" + `{"version": "v1", "years": {}}`,
		"order of keys": `{"years": {"2027": {"working_days": [{"note": "n", "reason": "làm bù", "date": "2027-01-09"}]}}, "version": "v2"}`,
		"sunday makeup": `{"version": "v1", "years": {"2026": {"working_days": [{"date": "2026-01-11", "reason": "x", "reason_en": "y"}]}}}`,
		"remove tet":    `{"version": "v1", "years": {"2026": {"remove_days_off": [{"date": "2026-02-20", "reason": "x"}]}}}`,
		"remove comp":   `{"version": "v1", "years": {"2026": {"remove_days_off": [{"date": "2026-04-27", "reason": "x"}]}}}`,
		"trailing ws":   "{\"version\": \"v1\", \"years\": {}}\n\n  \t\n",
	} {
		if _, err := ParseOverrides([]byte(src)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	o, _ := ParseOverrides([]byte(`{"version": "v2", "years": {"2027": {"working_days": [{"note": "n", "reason": " làm bù ", "date": "2027-01-09"}]}}}`))
	e := o.Entries()
	if len(e) != 1 || e[0].Action != AddWorkingDay || e[0].Date != (Date{2027, 1, 9}) || e[0].Reason != "làm bù" || e[0].Note != "n" || e[0].Line != 1 || e[0].Builtin.Kind != KindWeekend {
		t.Errorf("entries %+v", e)
	}
}

func TestParseOverridesRefuses(t *testing.T) {
	const head = "{\n  \"version\": \"v1\",\n  \"years\": {\n    \"2026\": {\n" // lines 1–4
	entry := func(list, body string) string {
		return head + "      \"" + list + "\": [\n        " + body + "\n      ]\n    }\n  }\n}\n" // entry on line 6
	}
	tests := []struct {
		name string
		src  string
		line int
		msg  string
	}{
		{"empty file", "", 1, "unexpected end of file"},
		{"not an object", "[]", 1, "the file must be an object, not an array"},
		{"truncated", head + `      "days_off": [`, 5, "unexpected end of file"},
		{"syntax", entry("days_off", `{"date": "2026-01-02" "reason": "x"}`), 6, "invalid JSON"},
		{"trailing comma", entry("days_off", `{"date": "2026-01-02", "reason": "x"},`), 7, "invalid JSON"},
		{"bad escape", entry("days_off", `{"date": "2026-01-02", "reason": "x\q"}`), 6, "invalid JSON: invalid character 'q' in string escape code"},
		{"bad literal", "{\"version\": \"v1\",\n\"note\": tru}", 2, "invalid JSON"},
		{"trailing bracket", "{\"version\": \"v1\", \"years\": {}}\n\n]", 3, "invalid JSON"},
		{"trailing data", "{\"version\": \"v1\", \"years\": {}}\n{}", 2, "unexpected data after the end"},
		{"missing version", "{\n\"years\": {}\n}", 1, `missing "version"`},
		{"missing years", "\n{\"version\": \"v1\"}", 2, `missing "years"`},
		{"version not a string", "{\n\"version\": 1, \"years\": {}}", 2, `"version" must be a string, not a number`},
		{"version with space", "{\n\"years\": {},\n\"version\": \"vn 2026\"}", 3, `character ' ' not allowed`},
		{"empty version", `{"version": "", "years": {}}`, 1, `"version" is empty`},
		{"unknown top field", "{\"version\": \"v1\",\n\"yeas\": {}}", 2, `unknown field "yeas"`},
		{"duplicate top field", "{\"version\": \"v1\",\n\"years\": {},\n\"version\": \"v2\"}", 3, `duplicate key "version" (first at line 1)`},
		{"years not an object", "{\"version\": \"v1\",\n\"years\": []}", 2, `"years" must be an object, not an array`},
		{"bad year", "{\"version\": \"v1\", \"years\": {\n\"26\": {}}}", 2, `"26" is not a year`},
		{"year out of range", "{\"version\": \"v1\", \"years\": {\n\"1700\": {}}}", 2, "year 1700 outside 1800–2400"},
		{"duplicate year", "{\"version\": \"v1\", \"years\": {\n\"2026\": {},\n\"2026\": {}}}", 3, `duplicate key "2026" (first at line 2)`},
		{"unknown year field", head + "      \"day_off\": []\n    }\n  }\n}", 5, `unknown field "day_off"`},
		{"list not an array", head + "      \"days_off\": {}\n    }\n  }\n}", 5, `"days_off" must be an array, not an object`},
		{"entry not an object", entry("days_off", `"2026-01-02"`), 6, "an entry must be an object, not a string"},
		{"invalid date", entry("days_off", `{"date": "2026-02-30", "reason": "x"}`), 6, `invalid date "2026-02-30"`},
		{"date format", entry("days_off", `{"date": "02/01/2026", "reason": "x"}`), 6, `invalid date "02/01/2026"`},
		{"date not a string", entry("days_off", `{"date": 20260102, "reason": "x"}`), 6, `"date" must be a string, not a number`},
		{"date in another year", entry("days_off", `{"date": "2027-01-04", "reason": "x"}`), 6, "2027-01-04 is not in year 2026"},
		{"missing date", entry("days_off", `{"reason": "x"}`), 6, `entry without "date"`},
		{"missing reason", entry("days_off", `{"date": "2026-01-02"}`), 6, `2026-01-02: missing "reason"`},
		{"empty reason", entry("days_off", `{"date": "2026-01-02", "reason": "  "}`), 6, `"reason": empty`},
		{"null reason", entry("days_off", `{"date": "2026-01-02", "reason": null}`), 6, `"reason" must be a string, not null`},
		{"control character", entry("days_off", `{"date": "2026-01-02", "reason": "a\u0007b"}`), 6, "control character U+0007"},
		{"newline in reason", entry("days_off", `{"date": "2026-01-02", "reason": "a\nb"}`), 6, "control character U+000A"},
		{"reason too long", entry("days_off", `{"date": "2026-01-02", "reason": "`+strings.Repeat("ố", 201)+`"}`), 6, "too long (201 characters, at most 200)"},
		{"unknown entry field", entry("days_off", `{"date": "2026-01-02", "reason": "x", "reasons": "y"}`), 6, `unknown field "reasons"`},
		{"duplicate entry field", entry("days_off", "{\"date\": \"2026-01-02\",\n\"date\": \"2026-01-05\", \"reason\": \"x\"}"), 7, `duplicate key "date" (first at line 6)`},
		{"invalid UTF-8", entry("days_off", "{\"date\": \"2026-01-02\", \"reason\": \"\xff\"}"), 6, "invalid UTF-8"},
		{"day off on a Saturday", entry("days_off", `{"date": "2026-01-03", "reason": "x"}`), 6, "days_off: 2026-01-03: already a day off (Saturday)"},
		{"day off on Tết", entry("days_off", `{"date": "2026-02-17", "reason": "x"}`), 6, "already a day off (Lunar New Year (Tết), day 1)"},
		{"day off on a compensatory day", entry("days_off", `{"date": "2026-04-27", "reason": "x"}`), 6, "already a day off (compensatory day off for Hùng Kings' Commemoration Day)"},
		{"working day on a weekday", entry("working_days", `{"date": "2026-01-06", "reason": "x"}`), 6, "working_days: 2026-01-06: already a working day (Tuesday)"},
		{"working day on a holiday", entry("working_days", `{"date": "2026-09-02", "reason": "x"}`), 6, "is a day off by law (National Day, wednesday): to make it a working day use remove_days_off"},
		{"working day on a weekend holiday", head + "      \"working_days\": [\n        {\"date\": \"2027-05-01\", \"reason\": \"x\"}]}, \"2027\": {}}}", 6, "not in year 2026"},
		{"remove a working day", entry("remove_days_off", `{"date": "2026-01-06", "reason": "x"}`), 6, "not a day off (Tuesday): nothing to remove"},
		{"remove a weekend", entry("remove_days_off", `{"date": "2026-01-03", "reason": "x"}`), 6, "is a Saturday, not a holiday: use working_days"},
		{"date listed twice", head + "      \"days_off\": [{\"date\": \"2026-01-02\", \"reason\": \"x\"}],\n      \"working_days\": [\n        {\"date\": \"2026-01-02\", \"reason\": \"y\"}\n      ]\n    }\n  }\n}", 7, "working_days: 2026-01-02: already listed at line 5"},
		{"second error reported by line", head + "      \"working_days\": [\n        {\"date\": \"2026-01-06\", \"reason\": \"x\"}\n      ],\n      \"days_off\": [{\"date\": \"2026-01-03\", \"reason\": \"x\"}]\n    }\n  }\n}", 6, "already a working day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOverrides([]byte(tt.src))
			if err == nil {
				t.Fatalf("ParseOverrides accepted %q: %+v", tt.src, o)
			}
			var oe *OverridesError
			if !errors.As(err, &oe) {
				t.Fatalf("error %T %v, want *OverridesError", err, err)
			}
			if oe.Line != tt.line || !strings.Contains(oe.Msg, tt.msg) {
				t.Errorf("error %q (line %d), want line %d containing %q", err, oe.Line, tt.line, tt.msg)
			}
			if want := "calendar file: line "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
		})
	}
	// A year-2027 weekend holiday as a make-up day is refused too.
	_, err := ParseOverrides([]byte(`{"version": "v1", "years": {"2027": {"working_days": [{"date": "2027-05-01", "reason": "x"}]}}}`))
	if err == nil || !strings.Contains(err.Error(), "is a day off by law (International Workers' Day, saturday)") {
		t.Errorf("working day on a weekend holiday: %v", err)
	}
	// Too large.
	big := `{"version": "v1", "note": "` + strings.Repeat("x", maxOverridesSize) + `", "years": {}}`
	if _, err := ParseOverrides([]byte(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("large file: %v", err)
	}
}

func TestLoadOverrides(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cal.json")
	if err := os.WriteFile(path, []byte("{\n  \"version\": \"v1\",\n  \"years\": {\"2026\": {\"working_days\": [{\"date\": \"2026-01-06\", \"reason\": \"x\"}]}}\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOverrides(path)
	if err == nil || !strings.HasPrefix(err.Error(), "calendar file "+path+":3: working_days: 2026-01-06: already a working day") {
		t.Errorf("LoadOverrides: %v", err)
	}
	var oe *OverridesError
	if !errors.As(err, &oe) || oe.File != path || oe.Line != 3 {
		t.Errorf("error %+v", oe)
	}
	if _, err := LoadOverrides(filepath.Join(dir, "missing.json")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParseOverrides checks that ParseOverrides never panics, that its
// errors carry a line of the input, and that an accepted file gives a
// calendar whose listed days are what the file says.
func FuzzParseOverrides(f *testing.F) {
	if b, err := os.ReadFile("testdata/vn-2026-2027.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"version": "v1", "years": {}}`))
	f.Add([]byte(`{"version": "v1", "years": {"2026": {"days_off": [{"date": "2026-01-02", "reason": "x"}], "working_days": [{"date": "2026-01-10", "reason": "y"}], "remove_days_off": [{"date": "2026-09-03", "reason": "z"}]}}}`))
	f.Add([]byte("{\"version\": \"v1\",\n\"years\": {\"2026\": {\"days_off\": [{\"date\": \"2026-01-03\"}]}}}"))
	f.Add([]byte(`[1, 2, {"a": null}]`))
	f.Add([]byte("\xef\xbb\xbf{\"version\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseOverrides(data)
		if err != nil {
			var oe *OverridesError
			if !errors.As(err, &oe) {
				t.Fatalf("error %T %v", err, err)
			}
			if lines := strings.Count(string(data), "\n") + 1; oe.Line < 1 || oe.Line > lines {
				t.Fatalf("line %d of %d: %v", oe.Line, lines, err)
			}
			return
		}
		cal := New(Location(), o)
		if !strings.HasPrefix(cal.Version(), BuiltinVersion+"+") || cal.Version() != BuiltinVersion+"+"+o.Version() {
			t.Fatalf("Version %q", cal.Version())
		}
		for _, e := range o.Entries() {
			r := cal.Reason(e.Date)
			if r.Off() != (e.Action == AddDayOff) || cal.IsWorkingDay(e.Date) == r.Off() {
				t.Fatalf("%s %s: reason %+v", e.Action, e.Date, r)
			}
			if e.Builtin.Off() == r.Off() {
				t.Fatalf("%s %s changes nothing", e.Action, e.Date)
			}
			checkDeadline(t, cal, e.Date.AddDays(-1).Start(nil), 1)
		}
	})
}
