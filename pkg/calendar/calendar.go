// Package calendar counts Vietnamese working days for consultation deadlines.
//
// The Calendar interface is the contract used by the rest of tacit. Vietnam
// returns a simple built-in calendar: Monday to Friday, minus the fixed solar
// public holidays of the Labour Code 2019 (art. 112) and the compensatory
// days off for those that fall on a weekend. Lunar holidays (Tết, Hùng Kings'
// commemoration day) and operator override files are not part of it.
package calendar

import (
	"sort"
	"sync"
	"time"
	_ "time/tzdata" // embed zone data so Asia/Ho_Chi_Minh loads on any host
)

// Calendar decides which civil dates are working days and computes
// deadlines expressed in working days.
type Calendar interface {
	// Version identifies the calendar and its data, e.g. "vn-solar-2019/1".
	Version() string
	// Location is the time zone in which dates are observed.
	Location() *time.Location
	// IsWorkingDay reports whether d is a working day.
	IsWorkingDay(d Date) bool
	// DayOff reports whether d is a day off and why, e.g. "Saturday",
	// "Sunday", "New Year's Day", "Reunification Day",
	// "International Workers' Day", "National Day",
	// "National Day (adjacent day)" or
	// "compensatory day off for <holiday>". A public holiday falling on a
	// weekend is reported by its holiday name.
	DayOff(d Date) (off bool, reason string)
	// Deadline returns the end (24:00 local, i.e. 00:00 of the following
	// day) of the n-th working day after the calendar day that contains
	// from (the opening day itself is never counted, even if it is a
	// working day). n must be >= 1.
	Deadline(from time.Time, n int) time.Time
}

// ZoneName is the IANA name of Vietnam's time zone.
const ZoneName = "Asia/Ho_Chi_Minh"

var location = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation(ZoneName)
	if err != nil {
		return time.FixedZone("ICT", 7*3600)
	}
	return loc
})

// Location returns the Asia/Ho_Chi_Minh time zone, loaded from the zone
// data embedded in the binary (falling back to a fixed UTC+07:00 zone named
// "ICT" should loading fail).
func Location() *time.Location { return location() }

// VietnamVersion is the Version of the calendar returned by Vietnam.
const VietnamVersion = "vn-solar-2019/1"

// Holiday names used as DayOff reasons.
const (
	NewYearsDay         = "New Year's Day"
	ReunificationDay    = "Reunification Day"
	WorkersDay          = "International Workers' Day"
	NationalDay         = "National Day"
	NationalDayAdjacent = "National Day (adjacent day)"
	compensatoryPrefix  = "compensatory day off for "
)

type solarCalendar struct {
	loc   *time.Location
	years sync.Map // int (year) -> map[Date]string (day off -> reason)
}

var vietnam = sync.OnceValue(func() *solarCalendar {
	return &solarCalendar{loc: Location()}
})

// Vietnam returns the built-in simple calendar: Monday–Friday, minus every
// year 1 January, 30 April, 1 May, 2 September and one day adjacent to it
// (1 September when 2 September is a Tuesday, Friday or Saturday, otherwise
// 3 September). A holiday falling on Saturday or Sunday gives a
// compensatory day off on the next working day not already taken; holidays
// are processed in date order. It is safe for concurrent use.
func Vietnam() Calendar { return vietnam() }

// VietnamIn is the built-in calendar observed in another time zone (for a
// deployment whose operator sets --timezone); nil means Asia/Ho_Chi_Minh.
func VietnamIn(loc *time.Location) Calendar {
	if loc == nil || loc.String() == ZoneName {
		return vietnam()
	}
	return &solarCalendar{loc: loc}
}

func (c *solarCalendar) Version() string          { return VietnamVersion }
func (c *solarCalendar) Location() *time.Location { return c.loc }

func (c *solarCalendar) IsWorkingDay(d Date) bool {
	off, _ := c.DayOff(d)
	return !off
}

func (c *solarCalendar) DayOff(d Date) (bool, string) {
	d = d.normalize()
	if reason, ok := c.yearDaysOff(d.Year)[d]; ok {
		return true, reason
	}
	switch wd := d.Weekday(); wd {
	case time.Saturday, time.Sunday:
		return true, wd.String()
	}
	return false, ""
}

func (c *solarCalendar) Deadline(from time.Time, n int) time.Time {
	return deadline(c, from, n)
}

// yearDaysOff returns the (cached) holidays and compensatory days of year.
// Weekends are not included.
func (c *solarCalendar) yearDaysOff(year int) map[Date]string {
	if m, ok := c.years.Load(year); ok {
		return m.(map[Date]string)
	}
	m, _ := c.years.LoadOrStore(year, solarDaysOff(year))
	return m.(map[Date]string)
}

func isWeekend(d Date) bool {
	wd := d.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// solarDaysOff computes the fixed solar holidays of year and their
// compensatory days off. The returned map must not be modified.
func solarDaysOff(year int) map[Date]string {
	sep2 := Date{year, time.September, 2}
	adjacent := Date{year, time.September, 3}
	switch sep2.Weekday() {
	case time.Tuesday, time.Friday, time.Saturday:
		adjacent = Date{year, time.September, 1}
	}
	type holiday struct {
		date Date
		name string
	}
	hs := []holiday{
		{Date{year, time.January, 1}, NewYearsDay},
		{Date{year, time.April, 30}, ReunificationDay},
		{Date{year, time.May, 1}, WorkersDay},
		{sep2, NationalDay},
		{adjacent, NationalDayAdjacent},
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].date.Before(hs[j].date) })

	off := make(map[Date]string, 2*len(hs))
	for _, h := range hs {
		off[h.date] = h.name
	}
	for _, h := range hs {
		if !isWeekend(h.date) {
			continue
		}
		d := h.date.AddDays(1)
		for {
			if _, taken := off[d]; !taken && !isWeekend(d) {
				break
			}
			d = d.AddDays(1)
		}
		off[d] = compensatoryPrefix + h.name
	}
	return off
}

// deadline implements Calendar.Deadline for any calendar given its
// IsWorkingDay and Location: it returns 00:00 local of the day after the
// n-th working day strictly after the civil day containing from.
// It panics if n < 1.
func deadline(c Calendar, from time.Time, n int) time.Time {
	if n < 1 {
		panic("calendar: Deadline: n must be >= 1")
	}
	loc := c.Location()
	d := DateOf(from, loc)
	for count := 0; count < n; {
		d = d.AddDays(1)
		if c.IsWorkingDay(d) {
			count++
		}
	}
	return d.AddDays(1).Start(loc)
}
