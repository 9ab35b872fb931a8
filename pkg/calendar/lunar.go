package calendar

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// The Vietnamese lunisolar calendar (âm lịch), as used for Tết and Hùng
// Kings' day.
//
// It is computed the way Hồ Ngọc Đức's published algorithm computes it
// (https://www.informatik.uni-leipzig.de/~duc/amlich/), with the time zone
// of Vietnam, UTC+07:00:
//
//   - a lunar month begins on the local civil day (UTC+7) that contains the
//     astronomical new moon, computed with Jean Meeus's truncated new-moon
//     series (Astronomical Algorithms, 1998, ch. 49, with Đức's ΔT
//     correction);
//   - month 11 is the month that contains the December solstice (sun's
//     apparent longitude 270°, Meeus's low-precision solar series, ch. 25);
//   - when there are 13 months from one month 11 to the next, the first
//     month after month 11 in which the sun enters no new 30° sector of
//     longitude (no "major solar term", trung khí) is the leap month, and
//     takes the number of the month before it.
//
// The Chinese calendar follows the same rules for UTC+08:00, hence the years
// where the two differ (e.g. Tết 1985 was 21 January in Vietnam and Chinese
// New Year 20 February; Tết 2007 was 17 February, a day before China's).
// Historical note: until 8 August 1967 (North) and 1975 (South) Vietnam
// used a calendar computed for UTC+08:00, so dates computed here for years
// before 1968 are the UTC+7 reckoning, not necessarily what was observed.
//
// Conversions are supported for solar dates from 1800-01-01 to 2400-12-31
// (LunarMinYear, LunarMaxYear). Checked against Hồ Ngọc Đức's
// published year tables (see lunar_test.go): every month of 1968–2053
// agrees, and Tết, Hùng Kings' day and the leap months agree for every year
// of 1968–2100. Three month boundaries after 2053 differ by one day (in
// 2054, 2072 and 2077, none near a holiday): there the new moon falls within
// two minutes of local midnight, closer than the truncated series can
// resolve (Đức's tables use a more precise ephemeris; the future ΔT is not
// known that precisely either).

// LunarDate is a date of the Vietnamese lunar calendar. Year is the
// Gregorian year in which the lunar year begins (lunar 1/1 of Year falls in
// January or February of Year); Month is 1..12; Day is 1..30; Leap marks the
// intercalary month (tháng nhuận) that repeats Month.
type LunarDate struct {
	Year, Month, Day int
	Leap             bool
}

// The lunar conversions support the solar dates from 1 January of
// LunarMinYear to 31 December of LunarMaxYear. Outside them SolarToLunar
// returns the zero LunarDate, LunarToSolar reports false and the lunar
// holidays are not computed.
const (
	LunarMinYear = 1800
	LunarMaxYear = 2400
)

var (
	lunarMinDate = Date{LunarMinYear, time.January, 1}
	lunarMaxDate = Date{LunarMaxYear, time.December, 31}
)

// vnLunar is the Vietnamese lunar calendar (UTC+7).
var vnLunar = &lunisolar{tz: 7}

// SolarToLunar converts a solar (Gregorian) date to the Vietnamese lunar
// calendar. It returns the zero LunarDate for dates outside 1800–2400
// (LunarMinYear–LunarMaxYear).
func SolarToLunar(d Date) LunarDate { return vnLunar.toLunar(d) }

// LunarToSolar converts a Vietnamese lunar date to the solar calendar. ok is
// false when the lunar date does not exist — a month outside 1..12, a leap
// month the year does not have, day 30 of a 29-day month, a day outside
// 1..30 — or falls outside 1800–2400.
func LunarToSolar(l LunarDate) (d Date, ok bool) { return vnLunar.toSolar(l) }

// LeapMonth returns the number of the month that lunar year lunarYear
// repeats as a leap month, or 0 if the year has 12 months (or is outside the
// supported range).
func LeapMonth(lunarYear int) int { return vnLunar.leapMonth(lunarYear) }

// String formats l as "D/M/YYYY", with " (nhuận)" after a leap month, e.g.
// "10/3/2026" or "1/6/2025 (nhuận)".
func (l LunarDate) String() string {
	s := strconv.Itoa(l.Day) + "/" + strconv.Itoa(l.Month) + "/" + strconv.Itoa(l.Year)
	if l.Leap {
		s += " (nhuận)"
	}
	return s
}

// lunarMonth is one month of a lunar year.
type lunarMonth struct {
	num   int  // 1..12
	leap  bool // the intercalary month repeating num
	start int  // Julian day number of day 1
	days  int  // 29 or 30
}

// lunisolar computes a lunisolar calendar for a time zone (hours east of
// UTC). It caches the months of each lunar year; it is safe for concurrent
// use.
type lunisolar struct {
	tz    float64
	years sync.Map // int (lunar year) -> []lunarMonth
}

// Julian day numbers of the supported range.
var (
	minJDN = jdn(lunarMinDate)
	maxJDN = jdn(lunarMaxDate)
)

func (c *lunisolar) toLunar(d Date) LunarDate {
	j := jdn(d)
	if j < minJDN || j > maxJDN {
		return LunarDate{}
	}
	y := d.normalize().Year
	months := c.year(y)
	if j < months[0].start {
		y--
		months = c.year(y)
	}
	for i := len(months) - 1; i >= 0; i-- {
		if m := months[i]; m.start <= j {
			return LunarDate{Year: y, Month: m.num, Day: j - m.start + 1, Leap: m.leap}
		}
	}
	panic("calendar: lunar year table does not cover " + d.String()) // unreachable
}

func (c *lunisolar) toSolar(l LunarDate) (Date, bool) {
	if l.Year < LunarMinYear-1 || l.Year > LunarMaxYear ||
		l.Month < 1 || l.Month > 12 || l.Day < 1 || l.Day > 30 {
		return Date{}, false
	}
	for _, m := range c.year(l.Year) {
		if m.num == l.Month && m.leap == l.Leap {
			if l.Day > m.days {
				return Date{}, false
			}
			j := m.start + l.Day - 1
			if j < minJDN || j > maxJDN {
				return Date{}, false
			}
			return jdnToDate(j), true
		}
	}
	return Date{}, false
}

func (c *lunisolar) leapMonth(y int) int {
	if y < LunarMinYear-1 || y > LunarMaxYear {
		return 0
	}
	for _, m := range c.year(y) {
		if m.leap {
			return m.num
		}
	}
	return 0
}

// year returns the months of lunar year y, from month 1 to month 12
// (13 entries with the leap month).
func (c *lunisolar) year(y int) []lunarMonth {
	if v, ok := c.years.Load(y); ok {
		return v.([]lunarMonth)
	}
	v, _ := c.years.LoadOrStore(y, c.computeYear(y))
	return v.([]lunarMonth)
}

// suiMonth is one month of a "sui": the months from the month 11 that
// contains the December solstice of Gregorian year y-1 to the one before
// the month 11 of year y.
type suiMonth struct {
	num   int
	leap  bool
	start int
}

// sui returns the months from month 11 of Gregorian year y-1 up to (not
// including) month 11 of year y, numbered, and the start of month 11 of
// year y. Months numbered 11 and 12 at its beginning belong to lunar year
// y-1, the others (from month 1) to lunar year y.
func (c *lunisolar) sui(y int) ([]suiMonth, int) {
	a11, b11 := c.month11(y-1), c.month11(y)
	k := c.lunation(a11)
	n := int(math.Floor(float64(b11-a11)/synodicMonth + 0.5)) // 12 or 13
	leap := -1
	if n == 13 {
		leap = c.leapMonthOffset(k)
	}
	ms := make([]suiMonth, n)
	for i := range ms {
		j := i // offset counted without the leap month
		if leap >= 0 && i >= leap {
			j = i - 1
		}
		ms[i] = suiMonth{num: (j+10)%12 + 1, leap: i == leap, start: c.newMoonDay(k + i)}
	}
	return ms, b11
}

func (c *lunisolar) computeYear(y int) []lunarMonth {
	cur, _ := c.sui(y)
	next, end := c.sui(y + 1)
	var ms []lunarMonth
	add := func(m suiMonth) { ms = append(ms, lunarMonth{num: m.num, leap: m.leap, start: m.start}) }
	started := false
	for _, m := range cur {
		if m.num == 1 && !m.leap {
			started = true
		}
		if started {
			add(m)
		}
	}
	for _, m := range next {
		if m.num == 1 && !m.leap {
			end = m.start
			break
		}
		add(m)
	}
	for i := range ms {
		nextStart := end
		if i+1 < len(ms) {
			nextStart = ms[i+1].start
		}
		ms[i].days = nextStart - ms[i].start
	}
	return ms
}

// The astronomy, after Hồ Ngọc Đức's amlich.js. Lunation k counts new moons
// from the one of 1900-01-01 (k = 0).

const synodicMonth = 29.530588853

// lunation returns the index k of the new moon that begins the lunar month
// whose first day is day.
func (c *lunisolar) lunation(day int) int {
	return int(math.Floor((float64(day)-2415021.076998695)/synodicMonth + 0.5))
}

// newMoon returns the Julian day (TT corrected to UT by Đức's ΔT
// polynomial) of the k-th new moon after 1900-01-01, per Meeus ch. 49.
func newMoon(k int) float64 {
	fk := float64(k)
	t := fk / 1236.85 // Julian centuries from 1900-01-00.5
	t2 := t * t
	t3 := t2 * t
	const dr = math.Pi / 180
	jd1 := 2415020.75933 + 29.53058868*fk + 0.0001178*t2 - 0.000000155*t3
	jd1 += 0.00033 * math.Sin((166.56+132.87*t-0.009173*t2)*dr)      // mean new moon
	m := 359.2242 + 29.10535608*fk - 0.0000333*t2 - 0.00000347*t3    // sun's mean anomaly
	mpr := 306.0253 + 385.81691806*fk + 0.0107306*t2 + 0.00001236*t3 // moon's mean anomaly
	f := 21.2964 + 390.67050646*fk - 0.0016528*t2 - 0.00000239*t3    // moon's argument of latitude
	c1 := (0.1734-0.000393*t)*math.Sin(m*dr) + 0.0021*math.Sin(2*dr*m)
	c1 = c1 - 0.4068*math.Sin(mpr*dr) + 0.0161*math.Sin(dr*2*mpr)
	c1 -= 0.0004 * math.Sin(dr*3*mpr)
	c1 = c1 + 0.0104*math.Sin(dr*2*f) - 0.0051*math.Sin(dr*(m+mpr))
	c1 = c1 - 0.0074*math.Sin(dr*(m-mpr)) + 0.0004*math.Sin(dr*(2*f+m))
	c1 = c1 - 0.0004*math.Sin(dr*(2*f-m)) - 0.0006*math.Sin(dr*(2*f+mpr))
	c1 = c1 + 0.0010*math.Sin(dr*(2*f-mpr)) + 0.0005*math.Sin(dr*(2*mpr+m))
	var deltaT float64
	if t < -11 {
		deltaT = 0.001 + 0.000839*t + 0.0002261*t2 - 0.00000845*t3 - 0.000000081*t*t3
	} else {
		deltaT = -0.000278 + 0.000265*t + 0.000262*t2
	}
	return jd1 + c1 - deltaT
}

// sunLongitude returns the sun's apparent longitude, in radians in
// [0, 2π), at Julian day jd (Meeus ch. 25, low precision).
func sunLongitude(jd float64) float64 {
	t := (jd - 2451545.0) / 36525 // Julian centuries from J2000.0
	t2 := t * t
	const dr = math.Pi / 180
	m := 357.52910 + 35999.05030*t - 0.0001559*t2 - 0.00000048*t*t2 // mean anomaly
	l0 := 280.46645 + 36000.76983*t + 0.0003032*t2                  // mean longitude
	dl := (1.914600 - 0.004817*t - 0.000014*t2) * math.Sin(dr*m)
	dl += (0.019993-0.000101*t)*math.Sin(dr*2*m) + 0.000290*math.Sin(dr*3*m)
	l := (l0 + dl) * dr
	return l - 2*math.Pi*math.Floor(l/(2*math.Pi))
}

// newMoonDay returns the Julian day number of the local civil day that
// contains the k-th new moon.
func (c *lunisolar) newMoonDay(k int) int {
	return int(math.Floor(newMoon(k) + 0.5 + c.tz/24))
}

// sunSector returns which 30° sector (0..11, sector 9 starting at the
// December solstice) the sun is in at local midnight beginning day.
func (c *lunisolar) sunSector(day int) int {
	return int(math.Floor(sunLongitude(float64(day)-0.5-c.tz/24) / math.Pi * 6))
}

// month11 returns the first day (Julian day number) of the lunar month 11
// that contains the December solstice of Gregorian year y.
func (c *lunisolar) month11(y int) int {
	off := float64(jdn(Date{y, time.December, 31}) - 2415021)
	k := int(math.Floor(off / synodicMonth))
	nm := c.newMoonDay(k)
	if c.sunSector(nm) >= 9 { // the solstice is before this new moon
		nm = c.newMoonDay(k - 1)
	}
	return nm
}

// leapMonthOffset returns the offset (1..12), counted in months from month
// 11 (lunation k), of the first month without a major solar term: the sun is
// in the same sector at its beginning and at the beginning of the next
// month.
func (c *lunisolar) leapMonthOffset(k int) int {
	i := 1
	arc := c.sunSector(c.newMoonDay(k + i))
	for {
		last := arc
		i++
		arc = c.sunSector(c.newMoonDay(k + i))
		if arc == last || i >= 14 {
			return i - 1
		}
	}
}

// jdn returns the Julian day number of d (proleptic Gregorian calendar).
func jdn(d Date) int {
	// Days since 1970-01-01 (JDN 2440588), exact for the whole range of
	// time.Time.
	return int(floorDiv(d.utc().Unix(), 86400)) + 2440588
}

// jdnToDate is the inverse of jdn.
func jdnToDate(j int) Date {
	t := time.Unix(int64(j-2440588)*86400, 0).UTC()
	y, m, d := t.Date()
	return Date{y, m, d}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
