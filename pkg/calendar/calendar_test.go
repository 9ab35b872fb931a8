package calendar

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func mustDate(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// local returns the given wall-clock time in the calendar's location.
func local(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04", s, Location())
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestLocation(t *testing.T) {
	loc := Location()
	if loc.String() != ZoneName {
		t.Fatalf("Location() = %q, want %q (embedded tzdata)", loc, ZoneName)
	}
	if Vietnam().Location() != loc {
		t.Fatalf("Vietnam().Location() differs from Location()")
	}
	_, off := time.Date(2026, 2, 12, 0, 0, 0, 0, loc).Zone()
	if off != 7*3600 {
		t.Fatalf("offset = %d, want %d", off, 7*3600)
	}
	if v := Vietnam().Version(); v != "vn-solar-2019/1" {
		t.Fatalf("Version() = %q", v)
	}
}

func TestDate(t *testing.T) {
	d := Date{2026, time.February, 12}
	if s := d.String(); s != "2026-02-12" {
		t.Errorf("String() = %q", s)
	}
	if got := mustDate(t, "2026-02-12"); got != d {
		t.Errorf("ParseDate = %+v", got)
	}
	for _, bad := range []string{"", "2026-2-12", "2026-02-30", "2026/02/12", "2026-02-12T00:00", "12-02-2026"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q): want error", bad)
		}
	}
	if d.Weekday() != time.Thursday {
		t.Errorf("Weekday() = %v", d.Weekday())
	}
	addTests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-02-12", 0, "2026-02-12"},
		{"2026-02-12", 1, "2026-02-13"},
		{"2026-02-28", 1, "2026-03-01"},
		{"2024-02-28", 1, "2024-02-29"},
		{"2026-12-31", 1, "2027-01-01"},
		{"2027-01-01", -1, "2026-12-31"},
		{"2026-02-12", 365, "2027-02-12"},
	}
	for _, tt := range addTests {
		if got := mustDate(t, tt.from).AddDays(tt.n).String(); got != tt.want {
			t.Errorf("%s.AddDays(%d) = %s, want %s", tt.from, tt.n, got, tt.want)
		}
	}
	a, b := mustDate(t, "2026-02-12"), mustDate(t, "2026-02-13")
	if !a.Before(b) || b.Before(a) || a.Before(a) {
		t.Errorf("Before wrong")
	}
	if !b.After(a) || a.Compare(a) != 0 || a.Compare(b) != -1 || b.Compare(a) != 1 {
		t.Errorf("After/Compare wrong")
	}
	start := d.Start(Location())
	if want := "2026-02-12T00:00:00+07:00"; start.Format(time.RFC3339) != want {
		t.Errorf("Start = %s, want %s", start.Format(time.RFC3339), want)
	}
	if start.Location() != Location() {
		t.Errorf("Start location = %v", start.Location())
	}
}

func TestDateOf(t *testing.T) {
	tests := []struct {
		in   string
		loc  *time.Location
		want string
	}{
		{"2026-02-12T17:30:00Z", Location(), "2026-02-13"},
		{"2026-02-12T16:59:59Z", Location(), "2026-02-12"},
		{"2026-02-12T17:00:00Z", Location(), "2026-02-13"},
		{"2026-02-12T17:30:00Z", time.UTC, "2026-02-12"},
		{"2026-02-12T17:30:00Z", nil, "2026-02-13"},
	}
	for _, tt := range tests {
		in, err := time.Parse(time.RFC3339, tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := DateOf(in, tt.loc).String(); got != tt.want {
			t.Errorf("DateOf(%s, %v) = %s, want %s", tt.in, tt.loc, got, tt.want)
		}
	}
}

// TestHolidays lists every non-weekend-only day off of 2022–2027.
func TestHolidays(t *testing.T) {
	want := map[int]map[string]string{
		2022: {
			"2022-01-01": "New Year's Day", // Sat
			"2022-01-03": "compensatory day off for New Year's Day",
			"2022-04-30": "Reunification Day",          // Sat
			"2022-05-01": "International Workers' Day", // Sun
			"2022-05-02": "compensatory day off for Reunification Day",
			"2022-05-03": "compensatory day off for International Workers' Day",
			"2022-09-01": "National Day (adjacent day)", // Thu; 2 Sep is Fri
			"2022-09-02": "National Day",
		},
		2023: {
			"2023-01-01": "New Year's Day", // Sun
			"2023-01-02": "compensatory day off for New Year's Day",
			"2023-04-30": "Reunification Day", // Sun; 1 May is a holiday
			"2023-05-01": "International Workers' Day",
			"2023-05-02": "compensatory day off for Reunification Day",
			"2023-09-01": "National Day (adjacent day)", // Fri; 2 Sep is Sat
			"2023-09-02": "National Day",
			"2023-09-04": "compensatory day off for National Day",
		},
		2024: {
			"2024-01-01": "New Year's Day",
			"2024-04-30": "Reunification Day",
			"2024-05-01": "International Workers' Day",
			"2024-09-02": "National Day", // Mon
			"2024-09-03": "National Day (adjacent day)",
		},
		2025: {
			"2025-01-01": "New Year's Day",
			"2025-04-30": "Reunification Day",
			"2025-05-01": "International Workers' Day",
			"2025-09-01": "National Day (adjacent day)", // Mon; 2 Sep is Tue
			"2025-09-02": "National Day",
		},
		2026: {
			"2026-01-01": "New Year's Day",
			"2026-04-30": "Reunification Day",
			"2026-05-01": "International Workers' Day",
			"2026-09-02": "National Day", // Wed
			"2026-09-03": "National Day (adjacent day)",
		},
		2027: {
			"2027-01-01": "New Year's Day",
			"2027-04-30": "Reunification Day",
			"2027-05-01": "International Workers' Day", // Sat
			"2027-05-03": "compensatory day off for International Workers' Day",
			"2027-09-02": "National Day", // Thu
			"2027-09-03": "National Day (adjacent day)",
		},
	}
	cal := Vietnam()
	for year, days := range want {
		t.Run(fmt.Sprint(year), func(t *testing.T) {
			for d := (Date{year, time.January, 1}); d.Year == year; d = d.AddDays(1) {
				off, reason := cal.DayOff(d)
				if cal.IsWorkingDay(d) == off {
					t.Errorf("%s: IsWorkingDay and DayOff disagree", d)
				}
				wantReason, isHoliday := days[d.String()]
				if !isHoliday {
					switch d.Weekday() {
					case time.Saturday, time.Sunday:
						wantReason = d.Weekday().String()
					default:
						wantReason = ""
					}
				}
				wantOff := wantReason != ""
				if off != wantOff || reason != wantReason {
					t.Errorf("DayOff(%s %s) = %v, %q; want %v, %q",
						d, d.Weekday(), off, reason, wantOff, wantReason)
				}
			}
		})
	}
}

// TestAdjacentDayRule checks the 2 September adjacent-day rule for every
// weekday 2 September can fall on, and that each year has exactly 5
// holidays.
func TestAdjacentDayRule(t *testing.T) {
	seen := map[time.Weekday]bool{}
	for year := 2020; year <= 2040; year++ {
		sep2 := Date{year, time.September, 2}
		wd := sep2.Weekday()
		seen[wd] = true
		wantAdj := Date{year, time.September, 3}
		if wd == time.Tuesday || wd == time.Friday || wd == time.Saturday {
			wantAdj = Date{year, time.September, 1}
		}
		if _, r := Vietnam().DayOff(wantAdj); r != "National Day (adjacent day)" {
			t.Errorf("%d (2 Sep %s): %s reason %q", year, wd, wantAdj, r)
		}
		holidays := 0
		for d, r := range solarDaysOff(year) {
			if d.Year != year {
				t.Errorf("%d: day off %s outside the year", year, d)
			}
			if len(r) < len(compensatoryPrefix) || r[:len(compensatoryPrefix)] != compensatoryPrefix {
				holidays++
			} else if isWeekend(d) {
				t.Errorf("%d: compensatory day %s on a weekend", year, d)
			}
		}
		if holidays != 5 {
			t.Errorf("%d: %d holidays, want 5", year, holidays)
		}
	}
	if len(seen) != 7 {
		t.Errorf("years 2020–2040 cover only %d weekdays", len(seen))
	}
}

func TestDeadline(t *testing.T) {
	tests := []struct {
		name string
		from time.Time
		n    int
		want string // RFC 3339 in +07:00
	}{
		{"Thursday n=1", local(t, "2026-02-12 10:00"), 1, "2026-02-14T00:00:00+07:00"},
		{"Thursday n=2 over weekend", local(t, "2026-02-12 10:00"), 2, "2026-02-17T00:00:00+07:00"},
		{"Thursday n=5 (no Tết yet)", local(t, "2026-02-12 10:00"), 5, "2026-02-20T00:00:00+07:00"},
		{"opened on Saturday", local(t, "2026-02-14 09:00"), 1, "2026-02-17T00:00:00+07:00"},
		{"opened on Sunday", local(t, "2026-02-15 09:00"), 1, "2026-02-17T00:00:00+07:00"},
		{"opened on Friday", local(t, "2026-02-13 09:00"), 1, "2026-02-17T00:00:00+07:00"},
		{"opened on a holiday", local(t, "2026-04-30 08:00"), 1, "2026-05-05T00:00:00+07:00"},
		{"opened on New Year's Day", local(t, "2026-01-01 08:00"), 1, "2026-01-03T00:00:00+07:00"},
		{"across 30/4-1/5", local(t, "2026-04-29 15:00"), 1, "2026-05-05T00:00:00+07:00"},
		{"across 30/4-1/5 n=2", local(t, "2026-04-29 15:00"), 2, "2026-05-06T00:00:00+07:00"},
		{"across 30/4-1/5 with compensatory days 2022", local(t, "2022-04-29 15:00"), 1, "2022-05-05T00:00:00+07:00"},
		{"across 2/9 2026", local(t, "2026-09-01 10:00"), 1, "2026-09-05T00:00:00+07:00"},
		{"across 2/9 2026 n=2", local(t, "2026-09-01 10:00"), 2, "2026-09-08T00:00:00+07:00"},
		{"across 2/9 2023 with compensatory day", local(t, "2023-08-31 10:00"), 1, "2023-09-06T00:00:00+07:00"},
		{"across year end", local(t, "2026-12-31 10:00"), 1, "2027-01-05T00:00:00+07:00"},
		{"opened 23:59 local", local(t, "2026-02-12 23:59"), 1, "2026-02-14T00:00:00+07:00"},
		{"opened 00:00 local", local(t, "2026-02-12 00:00"), 1, "2026-02-14T00:00:00+07:00"},
		{"opened 00:00 local Friday", local(t, "2026-02-13 00:00"), 1, "2026-02-17T00:00:00+07:00"},
		{"UTC input, local 13th 00:30", time.Date(2026, 2, 12, 17, 30, 0, 0, time.UTC), 1, "2026-02-17T00:00:00+07:00"},
		{"UTC input, local 12th 23:59", time.Date(2026, 2, 12, 16, 59, 0, 0, time.UTC), 1, "2026-02-14T00:00:00+07:00"},
		{"other zone input", time.Date(2026, 2, 12, 12, 30, 0, 0, time.FixedZone("EST", -5*3600)), 1, "2026-02-17T00:00:00+07:00"},
		{"n=30", local(t, "2026-04-01 10:00"), 30, "2026-05-16T00:00:00+07:00"},
		{"n=250 spans a year", local(t, "2026-01-01 10:00"), 250, "2026-12-24T00:00:00+07:00"},
	}
	cal := Vietnam()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cal.Deadline(tt.from, tt.n)
			if s := got.Format(time.RFC3339); s != tt.want {
				t.Errorf("Deadline(%s, %d) = %s, want %s", tt.from.Format(time.RFC3339), tt.n, s, tt.want)
			}
			if got.Location() != cal.Location() {
				t.Errorf("result location %v, want %v", got.Location(), cal.Location())
			}
			if h, m, s := got.Clock(); h != 0 || m != 0 || s != 0 || got.Nanosecond() != 0 {
				t.Errorf("result %s not at local midnight", got)
			}
		})
	}
}

func TestDeadlinePanicsOnNonPositiveN(t *testing.T) {
	for _, n := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Deadline(n=%d) did not panic", n)
				}
			}()
			Vietnam().Deadline(local(t, "2026-02-12 10:00"), n)
		}()
	}
}

func TestConcurrentUse(t *testing.T) {
	cal := &solarCalendar{loc: Location()} // fresh cache
	var wg sync.WaitGroup
	results := make([][]string, 8)
	for g := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for y := 2020; y < 2040; y++ {
				d := cal.Deadline(time.Date(y, 4, 28, 12, 0, 0, 0, Location()), 10)
				results[g] = append(results[g], d.Format(time.RFC3339))
			}
		}()
	}
	wg.Wait()
	for g := 1; g < len(results); g++ {
		if fmt.Sprint(results[g]) != fmt.Sprint(results[0]) {
			t.Fatalf("goroutine %d got different results", g)
		}
	}
}

// checkDeadline verifies the defining properties of a deadline.
func checkDeadline(t *testing.T, cal Calendar, from time.Time, n int) {
	t.Helper()
	loc := cal.Location()
	got := cal.Deadline(from, n)
	if got.Location() != loc {
		t.Fatalf("Deadline(%s, %d) location %v, want %v", from, n, got.Location(), loc)
	}
	if h, m, s := got.Clock(); h != 0 || m != 0 || s != 0 || got.Nanosecond() != 0 {
		t.Fatalf("Deadline(%s, %d) = %s: not local midnight", from, n, got)
	}
	open := DateOf(from, loc)
	last := DateOf(got, loc).AddDays(-1)
	if !got.Equal(last.AddDays(1).Start(loc)) {
		t.Fatalf("Deadline(%s, %d) = %s: inconsistent with its date", from, n, got)
	}
	if !cal.IsWorkingDay(last) {
		t.Fatalf("Deadline(%s, %d) = %s: last day %s is not a working day", from, n, got, last)
	}
	if !open.Before(last) {
		t.Fatalf("Deadline(%s, %d) = %s: last day %s not after opening day %s", from, n, got, last, open)
	}
	count := 0
	for d := open.AddDays(1); !last.Before(d); d = d.AddDays(1) {
		if cal.IsWorkingDay(d) {
			count++
		}
	}
	if count != n {
		t.Fatalf("Deadline(%s, %d) = %s: %d working days in (%s, %s]", from, n, got, count, open, last)
	}
}

func TestDeadlineProperties(t *testing.T) {
	cal := Vietnam()
	start := time.Date(2022, 1, 1, 0, 0, 0, 0, Location())
	for h := 0; h < 6*366*24; h += 7 {
		for _, n := range []int{1, 2, 3, 10} {
			checkDeadline(t, cal, start.Add(time.Duration(h)*time.Hour), n)
		}
	}
}

func FuzzDeadline(f *testing.F) {
	f.Add(time.Date(2026, 2, 12, 3, 0, 0, 0, time.UTC).Unix(), uint16(1))
	f.Add(time.Date(2026, 2, 12, 17, 30, 0, 0, time.UTC).Unix(), uint16(5))
	f.Add(time.Date(2026, 4, 29, 8, 0, 0, 0, time.UTC).Unix(), uint16(1))
	f.Add(time.Date(2023, 8, 31, 16, 59, 59, 0, time.UTC).Unix(), uint16(3))
	f.Add(time.Date(2022, 4, 29, 17, 0, 0, 0, time.UTC).Unix(), uint16(300))
	// Asia/Ho_Chi_Minh has been UTC+07:00 without transitions since
	// 1975-06-13; fuzz from 1976 to 2400.
	lo := time.Date(1976, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	cal := Vietnam()
	f.Fuzz(func(t *testing.T, sec int64, n16 uint16) {
		span := hi - lo
		sec = lo + ((sec%span)+span)%span
		n := int(n16%500) + 1
		checkDeadline(t, cal, time.Unix(sec, 0), n)
	})
}

func ExampleCalendar_Deadline() {
	cal := Vietnam()
	opened := time.Date(2026, 4, 29, 10, 0, 0, 0, cal.Location())
	fmt.Println(cal.Deadline(opened, 1))
	_, why := cal.DayOff(Date{2022, time.May, 3})
	fmt.Println(why)
	// Output:
	// 2026-05-05 00:00:00 +0700 +07
	// compensatory day off for International Workers' Day
}
