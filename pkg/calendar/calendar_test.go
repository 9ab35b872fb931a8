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
	// The built-in rules now include the lunar holidays: revision 2 of the
	// Labour Code rules (revision 1, "vn-solar-2019/1", had the solar
	// holidays only).
	if v := Vietnam().Version(); v != "vn-lc2019/2" {
		t.Fatalf("Version() = %q", v)
	}
	if v := VietnamIn(time.UTC).Version(); v != "vn-lc2019/2" {
		t.Fatalf("VietnamIn(UTC).Version() = %q", v)
	}
	if VietnamIn(nil) != Vietnam() || VietnamIn(Location()) != Vietnam() {
		t.Fatalf("VietnamIn(nil or Asia/Ho_Chi_Minh) is not Vietnam()")
	}
	if loc := VietnamIn(time.UTC).Location(); loc != time.UTC {
		t.Fatalf("VietnamIn(UTC).Location() = %v", loc)
	}
	if New(nil, nil).Location() != Location() {
		t.Fatalf("New(nil, nil) not in Asia/Ho_Chi_Minh")
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

// TestHolidays lists every day off of 2022–2027 other than plain weekends,
// under the built-in rules (no operator's file). Tết is the last day of the
// lunar year and lunar 1/1–1/4 (dates from lunar_test.go); a holiday on a
// weekend gives a compensatory day on the next day that is neither a
// weekend nor already off, holidays taken in date order, so Tết's
// compensatory days follow the block.
//
// The government's schedules for public servants sometimes place Tết's
// compensatory day before the block instead (2023: 20/1–26/1; 2024:
// 8/2–14/2) and add swaps: that is what the operator's file is for (see
// TestOverridesFile2026).
func TestHolidays(t *testing.T) {
	const (
		eve  = "Lunar New Year (Tết), last day of the lunar year"
		tet1 = "Lunar New Year (Tết), day 1"
		tet2 = "Lunar New Year (Tết), day 2"
		tet3 = "Lunar New Year (Tết), day 3"
		tet4 = "Lunar New Year (Tết), day 4"
		hung = "Hùng Kings' Commemoration Day"
		comp = "compensatory day off for "
	)
	want := map[int]map[string]string{
		2022: {
			"2022-01-01": "New Year's Day", // Sat
			"2022-01-03": comp + "New Year's Day",
			"2022-01-31": eve, // Mon; Tết Tuesday 1 Feb
			"2022-02-01": tet1,
			"2022-02-02": tet2,
			"2022-02-03": tet3,
			"2022-02-04": tet4,
			"2022-04-10": hung, // Sun
			"2022-04-11": comp + hung,
			"2022-04-30": "Reunification Day",          // Sat
			"2022-05-01": "International Workers' Day", // Sun
			"2022-05-02": comp + "Reunification Day",
			"2022-05-03": comp + "International Workers' Day",
			"2022-09-01": "National Day (adjacent day)", // Thu; 2 Sep is Fri
			"2022-09-02": "National Day",
		},
		2023: {
			"2023-01-01": "New Year's Day", // Sun
			"2023-01-02": comp + "New Year's Day",
			"2023-01-21": eve,  // Sat
			"2023-01-22": tet1, // Sun
			"2023-01-23": tet2,
			"2023-01-24": tet3,
			"2023-01-25": tet4,
			"2023-01-26": comp + eve,
			"2023-01-27": comp + tet1,
			// Hùng Kings' day on Saturday 29/4, then Sunday 30/4 and
			// Monday 1/5: two compensatory days after the block, as the
			// government's 2023 schedule (29/4–3/5).
			"2023-04-29": hung,
			"2023-04-30": "Reunification Day",
			"2023-05-01": "International Workers' Day",
			"2023-05-02": comp + hung,
			"2023-05-03": comp + "Reunification Day",
			"2023-09-01": "National Day (adjacent day)", // Fri; 2 Sep is Sat
			"2023-09-02": "National Day",
			"2023-09-04": comp + "National Day",
		},
		2024: {
			"2024-01-01": "New Year's Day",
			"2024-02-09": eve,  // Fri, lunar 12/30
			"2024-02-10": tet1, // Sat
			"2024-02-11": tet2, // Sun
			"2024-02-12": tet3,
			"2024-02-13": tet4,
			"2024-02-14": comp + tet1,
			"2024-02-15": comp + tet2,
			"2024-04-18": hung, // Thu
			"2024-04-30": "Reunification Day",
			"2024-05-01": "International Workers' Day",
			"2024-09-02": "National Day", // Mon
			"2024-09-03": "National Day (adjacent day)",
		},
		2025: {
			"2025-01-01": "New Year's Day",
			"2025-01-28": eve, // Tue, lunar 12/29
			"2025-01-29": tet1,
			"2025-01-30": tet2,
			"2025-01-31": tet3,
			"2025-02-01": tet4, // Sat
			"2025-02-03": comp + tet4,
			"2025-04-07": hung, // Mon
			"2025-04-30": "Reunification Day",
			"2025-05-01": "International Workers' Day",
			"2025-09-01": "National Day (adjacent day)", // Mon; 2 Sep is Tue
			"2025-09-02": "National Day",
		},
		2026: {
			"2026-01-01": "New Year's Day",
			"2026-02-16": eve, // Mon, lunar 12/29; 14/2–22/2 off with the weekends
			"2026-02-17": tet1,
			"2026-02-18": tet2,
			"2026-02-19": tet3,
			"2026-02-20": tet4,
			"2026-04-26": hung, // Sun
			"2026-04-27": comp + hung,
			"2026-04-30": "Reunification Day",
			"2026-05-01": "International Workers' Day",
			"2026-09-02": "National Day", // Wed
			"2026-09-03": "National Day (adjacent day)",
		},
		2027: {
			"2027-01-01": "New Year's Day",
			"2027-02-05": eve,  // Fri, lunar 12/29
			"2027-02-06": tet1, // Sat
			"2027-02-07": tet2, // Sun
			"2027-02-08": tet3,
			"2027-02-09": tet4,
			"2027-02-10": comp + tet1,
			"2027-02-11": comp + tet2,
			"2027-04-16": hung, // Fri
			"2027-04-30": "Reunification Day",
			"2027-05-01": "International Workers' Day", // Sat
			"2027-05-03": comp + "International Workers' Day",
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
			entries := cal.DaysOff(year)
			if len(entries) != len(days) {
				t.Errorf("DaysOff(%d) has %d entries, want %d", year, len(entries), len(days))
			}
			for i, e := range entries {
				if i > 0 && !entries[i-1].Date.Before(e.Date) {
					t.Errorf("DaysOff(%d) not in date order at %s", year, e.Date)
				}
				if !e.Off || days[e.Date.String()] != e.Reason.String() {
					t.Errorf("DaysOff(%d): %s %v %q", year, e.Date, e.Off, e.Reason)
				}
			}
		})
	}
}

// TestVietnameseLabels checks the labels printed by `--lang vi`.
func TestVietnameseLabels(t *testing.T) {
	cal := Vietnam()
	tests := []struct{ date, vi, en string }{
		{"2026-01-01", "Tết Dương lịch", "New Year's Day"},
		{"2026-02-16", "Tết Nguyên đán (29 tháng Chạp)", "Lunar New Year (Tết), last day of the lunar year"},
		{"2024-02-09", "Tết Nguyên đán (30 tháng Chạp)", "Lunar New Year (Tết), last day of the lunar year"},
		{"2026-02-17", "Tết Nguyên đán (mùng 1 Tết)", "Lunar New Year (Tết), day 1"},
		{"2026-02-20", "Tết Nguyên đán (mùng 4 Tết)", "Lunar New Year (Tết), day 4"},
		{"2027-02-10", "Nghỉ bù Tết Nguyên đán (mùng 1 Tết)", "compensatory day off for Lunar New Year (Tết), day 1"},
		{"2026-04-26", "Giỗ Tổ Hùng Vương", "Hùng Kings' Commemoration Day"},
		{"2026-04-27", "Nghỉ bù Giỗ Tổ Hùng Vương", "compensatory day off for Hùng Kings' Commemoration Day"},
		{"2026-04-30", "Ngày Chiến thắng", "Reunification Day"},
		{"2026-05-01", "Ngày Quốc tế Lao động", "International Workers' Day"},
		{"2026-09-02", "Quốc khánh", "National Day"},
		{"2026-09-03", "Quốc khánh (ngày liền kề)", "National Day (adjacent day)"},
		{"2026-02-14", "Thứ Bảy", "Saturday"},
		{"2026-02-15", "Chủ nhật", "Sunday"},
	}
	for _, tt := range tests {
		d := mustDate(t, tt.date)
		if off, vi := cal.DayOffVI(d); !off || vi != tt.vi {
			t.Errorf("DayOffVI(%s) = %v, %q; want %q", d, off, vi, tt.vi)
		}
		if off, en := cal.DayOffIn(d, English); !off || en != tt.en {
			t.Errorf("DayOffIn(%s, en) = %v, %q; want %q", d, off, en, tt.en)
		}
	}
	if off, vi := cal.DayOffVI(mustDate(t, "2026-02-23")); off || vi != "" {
		t.Errorf("DayOffVI(working day) = %v, %q", off, vi)
	}
	if l := cal.Reason(mustDate(t, "2026-02-23")).Label(Vietnamese); l != "Ngày làm việc" {
		t.Errorf("working day label %q", l)
	}
	for _, s := range []string{"vi", "VI", " en "} {
		if _, err := ParseLang(s); err != nil {
			t.Errorf("ParseLang(%q): %v", s, err)
		}
	}
	if _, err := ParseLang("fr"); err == nil {
		t.Errorf("ParseLang(fr): want error")
	}
}

// TestAdjacentDayRule checks the 2 September adjacent-day rule for every
// weekday 2 September can fall on.
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
	}
	if len(seen) != 7 {
		t.Errorf("years 2020–2040 cover only %d weekdays", len(seen))
	}
}

// TestHolidayCounts checks every year of the lunar range: 11 holiday days
// (1 + 5 + 1 + 1 + 1 + 2), as many compensatory days as holidays on a
// weekend (or shadowed by another holiday), none of them on a weekend, all
// within the year.
func TestHolidayCounts(t *testing.T) {
	collisions := map[int]bool{}
	for year := LunarMinYear; year <= LunarMaxYear; year++ {
		days := builtinDaysOff(year)
		holidays, onWeekend, comps := 0, 0, 0
		for d, r := range days {
			if d.Year != year {
				t.Errorf("%d: day off %s outside the year", year, d)
			}
			switch r.Kind {
			case KindHoliday:
				holidays++
				if isWeekend(d) {
					onWeekend++
				}
			case KindCompensatory:
				comps++
				if isWeekend(d) {
					t.Errorf("%d: compensatory day %s on a weekend", year, d)
				}
			default:
				t.Errorf("%d: %s has kind %v", year, d, r.Kind)
			}
		}
		if holidays != 11 {
			collisions[year] = true
			if holidays != 10 || comps != onWeekend+1 {
				t.Errorf("%d: %d holiday days, %d compensatory", year, holidays, comps)
			}
		} else if comps != onWeekend {
			t.Errorf("%d: %d holidays on a weekend, %d compensatory days", year, onWeekend, comps)
		}
	}
	// Hùng Kings' day falls on 30 April (UTC+7 reckoning) only in these
	// years of 1800–2400; never between 1968 and 2100.
	for y := range collisions {
		if y >= 1968 && y <= 2100 {
			t.Errorf("%d: two holidays on the same day", y)
		}
	}
	if !collisions[1947] {
		t.Errorf("1947: Hùng Kings' day 30/4 collision not found")
	}
	_, r := Vietnam().DayOff(Date{1947, time.May, 2})
	if r != "compensatory day off for Hùng Kings' Commemoration Day" {
		t.Errorf("1947-05-02: %q", r)
	}
	// Outside the lunar range only the solar holidays remain.
	if n := len(builtinDaysOff(2401)); n < 6 || n > 10 {
		t.Errorf("2401: %d days off", n)
	}
	for d, r := range builtinDaysOff(2401) {
		if r.Holiday == HolidayTet || r.Holiday == HolidayHungKings {
			t.Errorf("2401: lunar holiday %s", d)
		}
	}
}

func TestDeadline(t *testing.T) {
	// Expectations changed from the solar-only calendar (revision 1) where
	// a count crosses Tết or Hùng Kings' day; each is worked out by hand in
	// its comment (W = working day counted).
	tests := []struct {
		name string
		from time.Time
		n    int
		want string // RFC 3339 in +07:00
	}{
		{"Thursday n=1", local(t, "2026-02-12 10:00"), 1, "2026-02-14T00:00:00+07:00"}, // W Fri 13
		// Fri 13 W1; 14–15 weekend; 16 Tết eve; 17–20 Tết 1–4; 21–22
		// weekend; Mon 23 W2. (Solar-only: Tue 17.)
		{"Thursday n=2 over weekend and Tết", local(t, "2026-02-12 10:00"), 2, "2026-02-24T00:00:00+07:00"},
		// The work item's example: Fri 13 W1, skip 14–22 (9 days), Mon 23
		// W2, 24 W3, 25 W4, Thu 26 W5: ends 24:00 on 2026-02-26.
		{"across Tết 2026 n=5", local(t, "2026-02-12 10:00"), 5, "2026-02-27T00:00:00+07:00"},
		{"opened on Saturday before Tết", local(t, "2026-02-14 09:00"), 1, "2026-02-24T00:00:00+07:00"},
		{"opened on Sunday before Tết", local(t, "2026-02-15 09:00"), 1, "2026-02-24T00:00:00+07:00"},
		{"opened on Friday before Tết", local(t, "2026-02-13 09:00"), 1, "2026-02-24T00:00:00+07:00"},
		{"opened on Tết day 1", local(t, "2026-02-17 09:00"), 1, "2026-02-24T00:00:00+07:00"},
		{"opened on Tết eve", local(t, "2026-02-16 09:00"), 3, "2026-02-26T00:00:00+07:00"},
		// 2027: Fri 5/2 eve, Sat 6 – Tue 9 Tết (1/1 and 1/2 on the
		// weekend), Wed 10 and Thu 11 compensatory, Fri 12 W1.
		{"across Tết 2027 with compensatory days", local(t, "2027-02-04 16:00"), 1, "2027-02-13T00:00:00+07:00"},
		// 2024: Fri 9/2 eve, Sat 10 – Tue 13 Tết, Wed 14 and Thu 15
		// compensatory, Fri 16 W1, Mon 19 W2.
		{"across Tết 2024", local(t, "2024-02-08 16:00"), 2, "2024-02-20T00:00:00+07:00"},
		// 2025: Tue 28/1 eve … Sat 1/2 Tết day 4, Mon 3/2 compensatory, Tue 4 W1.
		{"across Tết 2025", local(t, "2025-01-27 16:00"), 1, "2025-02-05T00:00:00+07:00"},
		{"opened on a holiday", local(t, "2026-04-30 08:00"), 1, "2026-05-05T00:00:00+07:00"},
		{"opened on New Year's Day", local(t, "2026-01-01 08:00"), 1, "2026-01-03T00:00:00+07:00"},
		// Hùng Kings' day 2026 is Sunday 26/4: Mon 27 compensatory, Tue 28 W1.
		{"opened on Hùng Kings' day (Sunday)", local(t, "2026-04-26 08:00"), 1, "2026-04-29T00:00:00+07:00"},
		{"across Hùng Kings' compensatory day", local(t, "2026-04-24 15:00"), 1, "2026-04-29T00:00:00+07:00"},
		{"across 30/4-1/5", local(t, "2026-04-29 15:00"), 1, "2026-05-05T00:00:00+07:00"},
		{"across 30/4-1/5 n=2", local(t, "2026-04-29 15:00"), 2, "2026-05-06T00:00:00+07:00"},
		{"across 30/4-1/5 with compensatory days 2022", local(t, "2022-04-29 15:00"), 1, "2022-05-05T00:00:00+07:00"},
		// 2023: Sat 29/4 Hùng, Sun 30/4, Mon 1/5, Tue 2 and Wed 3
		// compensatory, Thu 4 W1.
		{"across Hùng Kings' day and 30/4-1/5 2023", local(t, "2023-04-28 15:00"), 1, "2023-05-05T00:00:00+07:00"},
		{"across 2/9 2026", local(t, "2026-09-01 10:00"), 1, "2026-09-05T00:00:00+07:00"},
		{"across 2/9 2026 n=2", local(t, "2026-09-01 10:00"), 2, "2026-09-08T00:00:00+07:00"},
		{"across 2/9 2023 with compensatory day", local(t, "2023-08-31 10:00"), 1, "2023-09-06T00:00:00+07:00"},
		{"across 2/9 2025", local(t, "2025-08-29 10:00"), 1, "2025-09-04T00:00:00+07:00"},
		{"opened on National Day", local(t, "2027-09-02 10:00"), 1, "2027-09-07T00:00:00+07:00"},
		{"across year end", local(t, "2026-12-31 10:00"), 1, "2027-01-05T00:00:00+07:00"},
		{"opened 23:59 local", local(t, "2026-02-12 23:59"), 1, "2026-02-14T00:00:00+07:00"},
		{"opened 00:00 local", local(t, "2026-02-12 00:00"), 1, "2026-02-14T00:00:00+07:00"},
		{"opened 00:00 local Friday", local(t, "2026-02-13 00:00"), 1, "2026-02-24T00:00:00+07:00"},
		{"UTC input, local 13th 00:30", time.Date(2026, 2, 12, 17, 30, 0, 0, time.UTC), 1, "2026-02-24T00:00:00+07:00"},
		{"UTC input, local 12th 23:59", time.Date(2026, 2, 12, 16, 59, 0, 0, time.UTC), 1, "2026-02-14T00:00:00+07:00"},
		{"other zone input", time.Date(2026, 2, 12, 12, 30, 0, 0, time.FixedZone("EST", -5*3600)), 1, "2026-02-24T00:00:00+07:00"},
		// April 2026 from Wed 1: 2–3 (2), 6–10 (7), 13–17 (12), 20–24 (17),
		// 27 compensatory, 28–29 (19), 30/4–1/5 off, 4–8 (24), 11–15 (29),
		// Mon 18 (30). (Solar-only: Fri 15.)
		{"n=30", local(t, "2026-04-01 10:00"), 30, "2026-05-19T00:00:00+07:00"},
		// 2026 has 261 weekdays, 11 of them off (1/1, 16–20/2, 27/4,
		// 30/4, 1/5, 2/9, 3/9): the 250 working days after 1/1 end on
		// Thu 31/12. (Solar-only: 23/12.)
		{"n=250 spans a year", local(t, "2026-01-01 10:00"), 250, "2027-01-01T00:00:00+07:00"},
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
			checkDeadline(t, cal, tt.from, tt.n)
		})
	}
}

// TestExplain checks the days skipped by the work item's example,
// `tacit calendar deadline --from 2026-02-12 --days 5`.
func TestExplain(t *testing.T) {
	cal := Vietnam()
	from := local(t, "2026-02-12 10:00")
	got := cal.Explain(from, 5)
	want := []struct{ date, en, vi string }{
		{"2026-02-14", "Saturday", "Thứ Bảy"},
		{"2026-02-15", "Sunday", "Chủ nhật"},
		{"2026-02-16", "Lunar New Year (Tết), last day of the lunar year", "Tết Nguyên đán (29 tháng Chạp)"},
		{"2026-02-17", "Lunar New Year (Tết), day 1", "Tết Nguyên đán (mùng 1 Tết)"},
		{"2026-02-18", "Lunar New Year (Tết), day 2", "Tết Nguyên đán (mùng 2 Tết)"},
		{"2026-02-19", "Lunar New Year (Tết), day 3", "Tết Nguyên đán (mùng 3 Tết)"},
		{"2026-02-20", "Lunar New Year (Tết), day 4", "Tết Nguyên đán (mùng 4 Tết)"},
		{"2026-02-21", "Saturday", "Thứ Bảy"},
		{"2026-02-22", "Sunday", "Chủ nhật"},
	}
	if len(got) != len(want) {
		t.Fatalf("Explain = %v, want %d days", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Date.String() != w.date || g.Reason.Label(English) != w.en || g.Reason.Label(Vietnamese) != w.vi {
			t.Errorf("skipped[%d] = %s %q %q; want %s %q %q", i, g.Date, g.Reason.Label(English), g.Reason.Label(Vietnamese), w.date, w.en, w.vi)
		}
	}
	// The skipped days are exactly the days off between the opening day
	// and the deadline.
	for _, tc := range []struct {
		from string
		n    int
	}{{"2026-04-24 10:00", 3}, {"2023-04-28 10:00", 2}, {"2026-12-30 10:00", 7}, {"2026-02-20 10:00", 1}} {
		from := local(t, tc.from)
		end := DateOf(cal.Deadline(from, tc.n), nil)
		var days []Date
		for d := DateOf(from, nil).AddDays(1); d.Before(end); d = d.AddDays(1) {
			if !cal.IsWorkingDay(d) {
				days = append(days, d)
			}
		}
		sk := cal.Explain(from, tc.n)
		if len(sk) != len(days) {
			t.Fatalf("Explain(%s, %d) = %v, want %v", tc.from, tc.n, sk, days)
		}
		for i := range sk {
			if sk[i].Date != days[i] || !sk[i].Reason.Off() {
				t.Errorf("Explain(%s, %d)[%d] = %v, want %s", tc.from, tc.n, i, sk[i], days[i])
			}
		}
	}
	if sk := cal.Explain(local(t, "2026-03-02 10:00"), 2); len(sk) != 0 {
		t.Errorf("Explain over two plain weekdays = %v", sk)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("Explain(n=0) did not panic")
		}
	}()
	cal.Explain(from, 0)
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
	// Fresh caches: years far from the ones other tests load, and a
	// calendar with overrides (whose per-year cache is its own).
	cals := []*Full{New(Location(), nil), New(Location(), fileOverrides(t))}
	var wg sync.WaitGroup
	results := make([][]string, 8)
	for g := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, cal := range cals {
				for y := 2200; y < 2240; y++ {
					d := cal.Deadline(time.Date(y, 4, 28, 12, 0, 0, 0, Location()), 10)
					results[g] = append(results[g], d.Format(time.RFC3339))
				}
				for y := 2025; y < 2028; y++ {
					results[g] = append(results[g], fmt.Sprint(cal.DaysOff(y)))
				}
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

// fileOverrides loads the example calendar file of the repository.
func fileOverrides(t testing.TB) *Overrides {
	t.Helper()
	o, err := LoadOverrides("testdata/vn-2026-2027.json")
	if err != nil {
		t.Fatal(err)
	}
	return o
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
	cals := []Calendar{Vietnam(), New(Location(), fileOverrides(t)), VietnamIn(time.UTC)}
	start := time.Date(2022, 1, 1, 0, 0, 0, 0, Location())
	for _, cal := range cals {
		for h := 0; h < 6*366*24; h += 7 {
			for _, n := range []int{1, 2, 3, 10} {
				checkDeadline(t, cal, start.Add(time.Duration(h)*time.Hour), n)
			}
		}
	}
}

func FuzzDeadline(f *testing.F) {
	f.Add(time.Date(2026, 2, 12, 3, 0, 0, 0, time.UTC).Unix(), uint16(1))
	f.Add(time.Date(2026, 2, 12, 17, 30, 0, 0, time.UTC).Unix(), uint16(5))
	f.Add(time.Date(2026, 4, 29, 8, 0, 0, 0, time.UTC).Unix(), uint16(1))
	f.Add(time.Date(2023, 8, 31, 16, 59, 59, 0, time.UTC).Unix(), uint16(3))
	f.Add(time.Date(2022, 4, 29, 17, 0, 0, 0, time.UTC).Unix(), uint16(300))
	f.Add(time.Date(2027, 2, 4, 9, 0, 0, 0, time.UTC).Unix(), uint16(2))
	f.Add(time.Date(2026, 8, 28, 9, 0, 0, 0, time.UTC).Unix(), uint16(1))
	f.Add(time.Date(2026, 1, 9, 9, 0, 0, 0, time.UTC).Unix(), uint16(1))
	// Asia/Ho_Chi_Minh has been UTC+07:00 without transitions since
	// 1975-06-13; fuzz from 1976 to 2400.
	lo := time.Date(1976, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	cals := []*Full{Vietnam(), New(Location(), fileOverrides(f))}
	f.Fuzz(func(t *testing.T, sec int64, n16 uint16) {
		span := hi - lo
		sec = lo + ((sec%span)+span)%span
		n := int(n16%500) + 1
		from := time.Unix(sec, 0)
		for _, cal := range cals {
			checkDeadline(t, cal, from, n)
			// Every skipped day is a day off, and the skipped days
			// plus the n working days fill the span exactly.
			sk := cal.Explain(from, n)
			open, end := DateOf(from, nil), DateOf(cal.Deadline(from, n), nil)
			if days := int(end.utc().Sub(open.utc()).Hours()/24) - 1; days != n+len(sk) {
				t.Fatalf("Explain(%s, %d): %d skipped + %d counted != %d days", from, n, len(sk), n, days)
			}
			for _, s := range sk {
				if cal.IsWorkingDay(s.Date) || !s.Reason.Off() {
					t.Fatalf("Explain(%s, %d): skipped working day %s", from, n, s.Date)
				}
			}
		}
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

func ExampleFull_Explain() {
	cal := Vietnam()
	opened := time.Date(2026, 2, 12, 10, 0, 0, 0, cal.Location())
	end := cal.Deadline(opened, 5)
	fmt.Println("deadline:", end.AddDate(0, 0, -1).Format("2006-01-02"), "24:00")
	for _, s := range cal.Explain(opened, 5) {
		fmt.Println(s.Date, s.Reason.Label(Vietnamese))
	}
	// Output:
	// deadline: 2026-02-26 24:00
	// 2026-02-14 Thứ Bảy
	// 2026-02-15 Chủ nhật
	// 2026-02-16 Tết Nguyên đán (29 tháng Chạp)
	// 2026-02-17 Tết Nguyên đán (mùng 1 Tết)
	// 2026-02-18 Tết Nguyên đán (mùng 2 Tết)
	// 2026-02-19 Tết Nguyên đán (mùng 3 Tết)
	// 2026-02-20 Tết Nguyên đán (mùng 4 Tết)
	// 2026-02-21 Thứ Bảy
	// 2026-02-22 Chủ nhật
}

func ExampleSolarToLunar() {
	fmt.Println(SolarToLunar(Date{2026, time.April, 26}))
	tet, _ := LunarToSolar(LunarDate{Year: 2027, Month: 1, Day: 1})
	fmt.Println(tet, LeapMonth(2025))
	// Output:
	// 10/3/2026
	// 2027-02-06 6
}
