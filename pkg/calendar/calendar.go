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
	// Version identifies the calendar and its data, e.g. "vn-lc2019/2" or
	// "vn-lc2019/2+vn-2026-2027/1" (built-in rules + operator's file).
	Version() string
	// Location is the time zone in which dates are observed.
	Location() *time.Location
	// IsWorkingDay reports whether d is a working day.
	IsWorkingDay(d Date) bool
	// DayOff reports whether d is a day off and why, in English, e.g.
	// "Saturday", "Sunday", "New Year's Day",
	// "Lunar New Year (Tết), last day of the lunar year",
	// "Lunar New Year (Tết), day 1", "Hùng Kings' Commemoration Day",
	// "Reunification Day", "International Workers' Day", "National Day",
	// "National Day (adjacent day)", "compensatory day off for <holiday>"
	// or "day off by the published schedule: <reason>". A public holiday
	// falling on a weekend is reported by its holiday name. Working days
	// give (false, "").
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

// Explainer is implemented by the calendars of this package (*Full): it
// tells why days are off, for the CLI and for auditors.
type Explainer interface {
	Calendar
	Reason(d Date) Reason
	Explain(from time.Time, n int) []Skipped
	DaysOff(year int) []DayOffEntry
}

// Full is the Vietnamese working-day calendar: Monday to Friday, minus the
// public holidays of the Labour Code 2019 (art. 112) — solar and lunar —
// and their compensatory days, adjusted by an optional operator's calendar
// file (Overrides). It is immutable and safe for concurrent use.
type Full struct {
	loc     *time.Location
	version string
	// overrides, by date: the effective reason of every day the operator's
	// file changes.
	overrides map[Date]Reason
	years     sync.Map // int -> map[Date]Reason: built-in + overrides
}

var _ Explainer = (*Full)(nil)

var vietnam = sync.OnceValue(func() *Full { return New(Location(), nil) })

// Vietnam returns the built-in calendar observed in Asia/Ho_Chi_Minh, with
// no operator overrides: New(Location(), nil). It is shared and safe for
// concurrent use.
func Vietnam() *Full { return vietnam() }

// VietnamIn is the built-in calendar observed in another time zone (for a
// deployment whose operator sets --timezone); nil means Asia/Ho_Chi_Minh.
func VietnamIn(loc *time.Location) *Full {
	if loc == nil || loc.String() == ZoneName {
		return vietnam()
	}
	return New(loc, nil)
}

// New returns the full calendar observed in loc (nil means
// Asia/Ho_Chi_Minh): the built-in rules (see BuiltinVersion) adjusted by o,
// which may be nil (o comes from ParseOverrides or LoadOverrides). Its
// Version is BuiltinVersion, followed by "+" and o's version when o is not
// nil, e.g. "vn-lc2019/2+vn-2026-2027/1".
func New(loc *time.Location, o *Overrides) *Full {
	if loc == nil {
		loc = Location()
	}
	c := &Full{loc: loc, version: BuiltinVersion}
	if o != nil && o.version != "" { // the zero Overrides changes nothing
		c.version += "+" + o.version
		c.overrides = make(map[Date]Reason, len(o.entries))
		for _, e := range o.entries {
			c.overrides[e.Date] = e.reason()
		}
	}
	return c
}

// Version identifies the rules and data, e.g. "vn-lc2019/2+vn-2026-2027/1".
func (c *Full) Version() string { return c.version }

// Location is the time zone in which dates are observed.
func (c *Full) Location() *time.Location { return c.loc }

// IsWorkingDay reports whether d is a working day.
func (c *Full) IsWorkingDay(d Date) bool { return !c.Reason(d).Off() }

// DayOff reports whether d is a day off and why, in English.
func (c *Full) DayOff(d Date) (bool, string) { return c.DayOffIn(d, English) }

// DayOffVI is DayOff with the reason in Vietnamese, e.g. "Thứ Bảy",
// "Tết Nguyên đán (mùng 1 Tết)", "Nghỉ bù Giỗ Tổ Hùng Vương".
func (c *Full) DayOffVI(d Date) (bool, string) { return c.DayOffIn(d, Vietnamese) }

// DayOffIn is DayOff with the reason in lang.
func (c *Full) DayOffIn(d Date, lang Lang) (bool, string) {
	r := c.Reason(d)
	if !r.Off() {
		return false, ""
	}
	return true, r.Label(lang)
}

// Reason classifies d: working day, weekend, holiday, compensatory day, or
// a day set by the operator's file.
func (c *Full) Reason(d Date) Reason {
	d = d.normalize()
	if r, ok := c.year(d.Year)[d]; ok {
		return r
	}
	return plainReason(d)
}

// Deadline returns 00:00 local of the day after the n-th working day
// strictly after the civil day containing from. It panics if n < 1.
func (c *Full) Deadline(from time.Time, n int) time.Time {
	return deadline(c, from, n)
}

// Explain returns the days off that Deadline(from, n) passes over between
// the opening day (excluded) and the n-th working day, in date order, with
// the reason for each. It panics if n < 1.
func (c *Full) Explain(from time.Time, n int) []Skipped {
	if n < 1 {
		panic("calendar: Explain: n must be >= 1")
	}
	var skipped []Skipped
	d := DateOf(from, c.loc)
	for count := 0; count < n; {
		d = d.AddDays(1)
		if r := c.Reason(d); r.Off() {
			skipped = append(skipped, Skipped{Date: d, Reason: r})
		} else {
			count++
		}
	}
	return skipped
}

// DaysOff lists, in date order, the days of year that are not plain
// weekdays or plain weekends: public holidays (also those on a weekend),
// compensatory days, days off added by the operator's file, and working
// days set by it (make-up Saturdays, removed days off; Off is false).
func (c *Full) DaysOff(year int) []DayOffEntry {
	m := c.year(year)
	out := make([]DayOffEntry, 0, len(m))
	for d, r := range m {
		out = append(out, DayOffEntry{Date: d, Off: r.Off(), Reason: r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}

// year returns the effective special days of year (built-in days off and
// overrides); weekends and working days not mentioned are plain. The map
// must not be modified.
func (c *Full) year(year int) map[Date]Reason {
	if c.overrides == nil || year < LunarMinYear || year > LunarMaxYear {
		return builtinYear(year) // overrides are within the lunar range
	}
	if m, ok := c.years.Load(year); ok {
		return m.(map[Date]Reason)
	}
	base := builtinYear(year)
	m := make(map[Date]Reason, len(base)+4)
	for d, r := range base {
		m[d] = r
	}
	for d, r := range c.overrides {
		if d.Year == year {
			m[d] = r
		}
	}
	v, _ := c.years.LoadOrStore(year, m)
	return v.(map[Date]Reason)
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
