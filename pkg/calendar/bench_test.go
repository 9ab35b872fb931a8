package calendar

// Benchmarks of the working-day arithmetic. A deadline in working days walks
// one civil day at a time, and for each asks IsWorkingDay: Reason (the
// year's table of special days, cached per year, or the weekday) on a
// normalised Date. The first use of a year also computes its holidays,
// which needs the lunar year (new moons and solar terms); both are cached,
// and the "cold" benchmarks below measure that one-off cost with fresh
// caches. Each benchmark checks its result once before timing.
//
//	go test -run XXX -bench . -benchmem ./pkg/calendar

import (
	"testing"
	"time"
)

// benchFrom is the README's example: Thursday 12 February 2026, just before
// Tết; five working days end at 24:00 on 26 February.
var benchFrom = time.Date(2026, 2, 12, 10, 0, 0, 0, Location())

func BenchmarkDeadline(b *testing.B) {
	withFile := New(Location(), fileOverrides(b))
	for _, bc := range []struct {
		name string
		cal  *Full
		n    int
		want string
	}{
		{"builtin/1wd", Vietnam(), 1, "2026-02-14T00:00:00+07:00"},
		{"builtin/5wd-across-Tet", Vietnam(), 5, "2026-02-27T00:00:00+07:00"},
		{"builtin/15wd", Vietnam(), 15, "2026-03-13T00:00:00+07:00"},
		{"builtin/30wd", Vietnam(), 30, "2026-04-03T00:00:00+07:00"},
		{"builtin/365wd", Vietnam(), 365, ""},
		// With the operator's 2026–2027 schedule (bridging days off and
		// make-up Saturdays): the per-year table merges the file's days.
		{"with-file/15wd", withFile, 15, ""},
		{"with-file/365wd", withFile, 365, ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			got := bc.cal.Deadline(benchFrom, bc.n)
			if bc.want != "" && got.Format(time.RFC3339) != bc.want {
				b.Fatalf("Deadline(%s, %d) = %s, want %s", benchFrom.Format(time.RFC3339), bc.n, got.Format(time.RFC3339), bc.want)
			}
			// Whatever the data, n working days take at least n days
			// and, with at most 120 days off a year, not twice as many.
			if days := got.Sub(benchFrom).Hours() / 24; days < float64(bc.n) || days > float64(2*bc.n+14) {
				b.Fatalf("Deadline(%s, %d) = %s: %.0f days later", benchFrom.Format(time.RFC3339), bc.n, got.Format(time.RFC3339), days)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				bc.cal.Deadline(benchFrom, bc.n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/got.Sub(benchFrom).Hours()*24, "ns/day")
		})
	}
}

// BenchmarkIsWorkingDay is the step of every count: a month of days, plain
// and special, per op.
func BenchmarkIsWorkingDay(b *testing.B) {
	var days []Date
	for d := (Date{2026, time.February, 1}); d.Month == time.February; d = d.AddDays(1) {
		days = append(days, d)
	}
	count := func(cal Calendar) int {
		n := 0
		for _, d := range days {
			if cal.IsWorkingDay(d) {
				n++
			}
		}
		return n
	}
	for _, bc := range []struct {
		name string
		cal  *Full
	}{
		{"builtin", Vietnam()},
		{"with-file", New(Location(), fileOverrides(b))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// February 2026: 20 weekdays, 5 of them Tết (16–20).
			if n := count(bc.cal); n != 15 {
				b.Fatalf("February 2026 has %d working days, want 15", n)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				count(bc.cal)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(days)), "ns/day")
		})
	}
}

// BenchmarkDate covers the civil-date steps a count makes per day.
func BenchmarkDate(b *testing.B) {
	loc := Location()
	b.Run("DateOf", func(b *testing.B) {
		if d := DateOf(benchFrom, loc); d != (Date{2026, time.February, 12}) {
			b.Fatalf("DateOf = %v", d)
		}
		b.ReportAllocs()
		for range b.N {
			DateOf(benchFrom, loc)
		}
	})
	b.Run("AddDays", func(b *testing.B) {
		d := Date{2026, time.February, 28}
		if got := d.AddDays(1); got != (Date{2026, time.March, 1}) {
			b.Fatalf("AddDays = %v", got)
		}
		b.ReportAllocs()
		for range b.N {
			d.AddDays(1)
		}
	})
	b.Run("Start", func(b *testing.B) {
		d := Date{2026, time.February, 27}
		if got := d.Start(loc).Format(time.RFC3339); got != "2026-02-27T00:00:00+07:00" {
			b.Fatalf("Start = %s", got)
		}
		b.ReportAllocs()
		for range b.N {
			d.Start(loc)
		}
	})
}

func BenchmarkLunar(b *testing.B) {
	tet := Date{2026, time.February, 17}
	b.Run("SolarToLunar", func(b *testing.B) {
		if l := SolarToLunar(tet); l != (LunarDate{Year: 2026, Month: 1, Day: 1}) {
			b.Fatalf("SolarToLunar(%v) = %v", tet, l)
		}
		b.ReportAllocs()
		for range b.N {
			SolarToLunar(tet)
		}
	})
	b.Run("LunarToSolar", func(b *testing.B) {
		hung := LunarDate{Year: 2026, Month: 3, Day: 10}
		if d, ok := LunarToSolar(hung); !ok || d != (Date{2026, time.April, 26}) {
			b.Fatalf("LunarToSolar(%v) = %v %v", hung, d, ok)
		}
		b.ReportAllocs()
		for range b.N {
			LunarToSolar(hung)
		}
	})
	// The months of a lunar year computed from the astronomy, as on the
	// first use of a year (each op uses a fresh cache).
	b.Run("year-cold", func(b *testing.B) {
		ms := (&lunisolar{tz: 7}).year(2026)
		if len(ms) != 12 || ms[0].start != jdn(tet) {
			b.Fatalf("lunar year 2026: %d months, month 1 starts on %v", len(ms), jdnToDate(ms[0].start))
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			(&lunisolar{tz: 7}).year(2026)
		}
	})
}

// BenchmarkHolidays is the built-in table of a year's holidays and
// compensatory days: cold (computed; the lunar years it needs are cached)
// and as a deadline finds it (cached).
func BenchmarkHolidays(b *testing.B) {
	check := func(b *testing.B, m map[Date]Reason) {
		b.Helper()
		// 11 holiday days in 2026 plus the compensatory day of Hùng Kings'
		// day (Sunday 26 April).
		if len(m) != 12 || m[Date{2026, time.April, 27}].Kind != KindCompensatory {
			b.Fatalf("2026 holiday table has %d entries: %v", len(m), m)
		}
	}
	b.Run("year-cold", func(b *testing.B) {
		check(b, builtinDaysOff(2026))
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			builtinDaysOff(2026)
		}
	})
	b.Run("year-cached", func(b *testing.B) {
		check(b, builtinYear(2026))
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			builtinYear(2026)
		}
	})
}
