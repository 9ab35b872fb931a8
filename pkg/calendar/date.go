package calendar

import (
	"fmt"
	"time"
)

// Date is a civil date (no time zone).
//
// A Date produced by this package (DateOf, ParseDate, AddDays) is always
// normalised: Month is in 1..12 and Day is valid for that month. Methods also
// accept non-normalised values and interpret them the way time.Date does
// (e.g. 31 April is 1 May).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// dateLayout is the textual form used by String and ParseDate.
const dateLayout = "2006-01-02"

// DateOf returns the civil date of t as observed in loc. A nil loc means the
// package's Location (Asia/Ho_Chi_Minh).
func DateOf(t time.Time, loc *time.Location) Date {
	if loc == nil {
		loc = Location()
	}
	y, m, d := t.In(loc).Date()
	return Date{Year: y, Month: m, Day: d}
}

// utc returns midnight UTC of d; UTC has no transitions, so it is a safe
// basis for civil-date arithmetic.
func (d Date) utc() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// String formats d as "YYYY-MM-DD", e.g. "2026-02-12".
func (d Date) String() string {
	d = d.normalize()
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// ParseDate parses a date in the form "YYYY-MM-DD", e.g. "2026-02-12".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("calendar: invalid date %q: want YYYY-MM-DD", s)
	}
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}, nil
}

// normalize returns d with Month and Day in their canonical ranges.
func (d Date) normalize() Date {
	y, m, dd := d.utc().Date()
	return Date{Year: y, Month: m, Day: dd}
}

// AddDays returns the date n days after d (n may be negative).
func (d Date) AddDays(n int) Date {
	return Date{Year: d.Year, Month: d.Month, Day: d.Day + n}.normalize()
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return d.utc().Weekday()
}

// Before reports whether d is strictly earlier than o.
func (d Date) Before(o Date) bool {
	return d.Compare(o) < 0
}

// After reports whether d is strictly later than o.
func (d Date) After(o Date) bool {
	return d.Compare(o) > 0
}

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	return d.utc().Compare(o.utc())
}

// Start returns 00:00 local time in loc of date d. A nil loc means the
// package's Location (Asia/Ho_Chi_Minh).
func (d Date) Start(loc *time.Location) time.Time {
	if loc == nil {
		loc = Location()
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}
