package calendar

import (
	"sort"
	"sync"
	"time"
)

// BuiltinVersion identifies the built-in rules: the holidays of the Labour
// Code 2019 (art. 112) with the Vietnamese lunar calendar, compensatory days
// and the 2 September adjacent-day rule. Revision 1 ("vn-solar-2019/1") had
// the solar holidays only.
const BuiltinVersion = "vn-lc2019/2"

// VietnamVersion is the Version of the calendar returned by Vietnam.
const VietnamVersion = BuiltinVersion

// builtinYears caches builtinDaysOff per year of the lunar range; the rules
// do not depend on the time zone, so all calendars share it.
var builtinYears sync.Map // int -> map[Date]Reason

// builtinYear returns the built-in holidays and compensatory days of year
// (weekends are not included). The map must not be modified.
func builtinYear(year int) map[Date]Reason {
	if year < LunarMinYear || year > LunarMaxYear {
		return builtinDaysOff(year) // not cached: the cache stays bounded
	}
	if m, ok := builtinYears.Load(year); ok {
		return m.(map[Date]Reason)
	}
	m, _ := builtinYears.LoadOrStore(year, builtinDaysOff(year))
	return m.(map[Date]Reason)
}

// builtinReason classifies d under the built-in rules only.
func builtinReason(d Date) Reason {
	d = d.normalize()
	if r, ok := builtinYear(d.Year)[d]; ok {
		return r
	}
	return plainReason(d)
}

// plainReason is the kind of d ignoring holidays: weekend or working day.
func plainReason(d Date) Reason {
	wd := d.Weekday()
	if wd == time.Saturday || wd == time.Sunday {
		return Reason{Kind: KindWeekend, Weekday: wd}
	}
	return Reason{Kind: KindWorking, Weekday: wd}
}

func isWeekend(d Date) bool {
	wd := d.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// nationalDayAdjacent returns the day next to 2 September that the built-in
// rule gives: 1 September when 2 September is a Tuesday, Friday or Saturday
// (making a long weekend or bridging to it), otherwise 3 September.
func nationalDayAdjacent(year int) Date {
	switch (Date{year, time.September, 2}).Weekday() {
	case time.Tuesday, time.Friday, time.Saturday:
		return Date{year, time.September, 1}
	}
	return Date{year, time.September, 3}
}

// builtinDaysOff computes the holidays of year and their compensatory days:
//
//   - 1 January; Tết: the last day of the lunar year (lunar 12/29 or 12/30,
//     the day before lunar 1/1) and lunar 1/1 to 1/4; Hùng Kings' day
//     (lunar 3/10); 30 April; 1 May; 2 September and its adjacent day
//     (nationalDayAdjacent). Lunar holidays are left out for years outside
//     1800–2400.
//   - Holidays are processed in date order; one that falls on Saturday or
//     Sunday gives a compensatory day off on the next day that is neither a
//     weekend nor already a holiday or compensatory day. A block of
//     holidays (Tết, 30/4–1/5) therefore gets its compensatory days after
//     the block.
//   - Should a lunar holiday fall on a solar one (Hùng Kings' day on 30
//     April happens in the UTC+7 reckoning in 1947, never in 1968–2100),
//     the date keeps the solar holiday's name and the lunar one gives a
//     compensatory day the same way, so that a year always has its 11
//     holiday days. The Labour Code only provides for holidays on weekly
//     rest days (art. 111(3)); this case is by analogy.
func builtinDaysOff(year int) map[Date]Reason {
	type holiday struct {
		date Date
		r    Reason
	}
	hol := func(d Date, id HolidayID) holiday {
		return holiday{d, Reason{Kind: KindHoliday, Holiday: id, Weekday: d.Weekday()}}
	}
	// Solar holidays first: should a lunar holiday fall on the same date,
	// the solar one keeps the date and the lunar one is compensated.
	hs := []holiday{
		hol(Date{year, time.January, 1}, HolidayNewYear),
		hol(Date{year, time.April, 30}, HolidayReunification),
		hol(Date{year, time.May, 1}, HolidayWorkers),
		hol(Date{year, time.September, 2}, HolidayNational),
		hol(nationalDayAdjacent(year), HolidayNationalAdjacent),
	}
	if tet, ok := LunarToSolar(LunarDate{Year: year, Month: 1, Day: 1}); ok {
		for i := -1; i <= 3; i++ {
			d := tet.AddDays(i)
			l := SolarToLunar(d)
			if l == (LunarDate{}) {
				continue // outside the lunar range
			}
			h := hol(d, HolidayTet)
			h.r.Lunar = l
			hs = append(hs, h)
		}
	}
	if hung, ok := LunarToSolar(LunarDate{Year: year, Month: 3, Day: 10}); ok {
		h := hol(hung, HolidayHungKings)
		h.r.Lunar = LunarDate{Year: year, Month: 3, Day: 10}
		hs = append(hs, h)
	}
	sort.SliceStable(hs, func(i, j int) bool { return hs[i].date.Before(hs[j].date) })

	off := make(map[Date]Reason, 2*len(hs))
	shadowed := make([]bool, len(hs))
	for i, h := range hs {
		if _, taken := off[h.date]; taken {
			shadowed[i] = true
			continue
		}
		off[h.date] = h.r
	}
	for i, h := range hs {
		if !isWeekend(h.date) && !shadowed[i] {
			continue
		}
		d := h.date.AddDays(1)
		for {
			if _, taken := off[d]; !taken && !isWeekend(d) {
				break
			}
			d = d.AddDays(1)
		}
		off[d] = Reason{Kind: KindCompensatory, Holiday: h.r.Holiday, Lunar: h.r.Lunar, Weekday: d.Weekday()}
	}
	return off
}
