package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Lang selects the language of the labels of a Reason.
type Lang string

// Supported label languages.
const (
	English    Lang = "en"
	Vietnamese Lang = "vi"
)

// ParseLang parses "en" or "vi" (case-insensitive, surrounding spaces
// ignored), as given to the CLI's --lang flag.
func ParseLang(s string) (Lang, error) {
	switch l := Lang(strings.ToLower(strings.TrimSpace(s))); l {
	case English, Vietnamese:
		return l, nil
	}
	return "", fmt.Errorf("calendar: unknown language %q: want en or vi", s)
}

// Kind classifies a day of the calendar.
type Kind uint8

// Kinds of days. KindWeekend, KindHoliday, KindCompensatory and
// KindExtraDayOff are days off; the others are working days.
const (
	// KindWorking is an ordinary working day: Monday to Friday, not a
	// holiday.
	KindWorking Kind = iota
	// KindWeekend is a Saturday or Sunday (weekly rest day).
	KindWeekend
	// KindHoliday is a public holiday of the Labour Code 2019, art. 112
	// (also when it falls on a weekend).
	KindHoliday
	// KindCompensatory is a compensatory day off (nghỉ bù) for a holiday
	// that fell on a weekend.
	KindCompensatory
	// KindExtraDayOff is a day off added by the operator's calendar file
	// (a bridging day swapped with a working Saturday, or a holiday date
	// the government chose differently from the built-in rule).
	KindExtraDayOff
	// KindMakeUpDay is a weekend day made a working day by the operator's
	// calendar file (ngày làm bù).
	KindMakeUpDay
	// KindRemovedDayOff is a built-in holiday or compensatory day that the
	// operator's calendar file made a working day.
	KindRemovedDayOff
)

// Off reports whether days of kind k are days off.
func (k Kind) Off() bool {
	switch k {
	case KindWeekend, KindHoliday, KindCompensatory, KindExtraDayOff:
		return true
	}
	return false
}

var kindNames = [...]string{"working", "weekend", "holiday", "compensatory", "extra-day-off", "make-up-day", "removed-day-off"}

// String returns a short identifier of k, e.g. "holiday".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// HolidayID identifies a public holiday of the Labour Code 2019, art. 112.
type HolidayID uint8

// Public holidays.
const (
	NoHoliday               HolidayID = iota
	HolidayNewYear                    // Tết Dương lịch, 1 January
	HolidayTet                        // Tết Âm lịch (Nguyên đán): last day of the lunar year and 1/1–1/4
	HolidayHungKings                  // Giỗ Tổ Hùng Vương, 10/3 lunar
	HolidayReunification              // Ngày Chiến thắng, 30 April
	HolidayWorkers                    // Ngày Quốc tế Lao động, 1 May
	HolidayNational                   // Quốc khánh, 2 September
	HolidayNationalAdjacent           // Quốc khánh, the day next to 2 September
)

// Holiday names used as DayOff reasons (English labels).
const (
	NewYearsDay         = "New Year's Day"
	LunarNewYear        = "Lunar New Year (Tết)"
	HungKingsDay        = "Hùng Kings' Commemoration Day"
	ReunificationDay    = "Reunification Day"
	WorkersDay          = "International Workers' Day"
	NationalDay         = "National Day"
	NationalDayAdjacent = "National Day (adjacent day)"
	compensatoryPrefix  = "compensatory day off for "
)

var holidayNames = map[HolidayID][2]string{ // English, Vietnamese
	HolidayNewYear:          {NewYearsDay, "Tết Dương lịch"},
	HolidayTet:              {LunarNewYear, "Tết Nguyên đán"},
	HolidayHungKings:        {HungKingsDay, "Giỗ Tổ Hùng Vương"},
	HolidayReunification:    {ReunificationDay, "Ngày Chiến thắng"},
	HolidayWorkers:          {WorkersDay, "Ngày Quốc tế Lao động"},
	HolidayNational:         {NationalDay, "Quốc khánh"},
	HolidayNationalAdjacent: {NationalDayAdjacent, "Quốc khánh (ngày liền kề)"},
}

// Label returns the name of h in lang, without the day of Tết.
func (h HolidayID) Label(lang Lang) string {
	n, ok := holidayNames[h]
	if !ok {
		return ""
	}
	if lang == Vietnamese {
		return n[1]
	}
	return n[0]
}

// Reason says what kind of day a date is and why.
type Reason struct {
	Kind Kind
	// Holiday is the holiday for KindHoliday, the holiday compensated for
	// KindCompensatory, and for KindRemovedDayOff the holiday (or
	// compensated holiday) that was removed.
	Holiday HolidayID
	// Lunar is the lunar date of a Tết or Hùng Kings' day holiday (or of
	// the holiday a compensatory day is for).
	Lunar LunarDate
	// Weekday is the day of the week of the date.
	Weekday time.Weekday
	// Was is, for KindMakeUpDay and KindRemovedDayOff, the built-in kind of
	// the day the operator's file changed.
	Was Kind
	// Text and TextEN are the reason given in the operator's calendar file
	// (Vietnamese, and optionally English) for KindExtraDayOff,
	// KindMakeUpDay and KindRemovedDayOff.
	Text, TextEN string
}

// Off reports whether the day is a day off.
func (r Reason) Off() bool { return r.Kind.Off() }

// String returns the English label (see Label).
func (r Reason) String() string { return r.Label(English) }

// Label describes the day in lang, e.g. "Saturday" / "Thứ Bảy",
// "Lunar New Year (Tết), day 1" / "Tết Nguyên đán (mùng 1 Tết)",
// "compensatory day off for Hùng Kings' Commemoration Day" /
// "Nghỉ bù Giỗ Tổ Hùng Vương", "make-up working day: <reason>" /
// "Ngày làm bù: <lý do>" (the reason given in the operator's file;
// reason_en in English when the file gives it). Ordinary working days are
// "working day" / "Ngày làm việc".
func (r Reason) Label(lang Lang) string {
	vi := lang == Vietnamese
	pick := func(en, v string) string {
		if vi {
			return v
		}
		return en
	}
	switch r.Kind {
	case KindWorking:
		return pick("working day", "Ngày làm việc")
	case KindWeekend:
		return weekdayLabel(r.Weekday, lang)
	case KindHoliday:
		return r.holidayLabel(lang)
	case KindCompensatory:
		return pick(compensatoryPrefix, "Nghỉ bù ") + r.holidayLabel(lang)
	case KindExtraDayOff:
		return pick("day off by the published schedule", "Ngày nghỉ theo lịch công bố") + r.textSuffix(lang)
	case KindMakeUpDay:
		return pick("make-up working day", "Ngày làm bù") + r.textSuffix(lang)
	case KindRemovedDayOff:
		return pick("working day by the published schedule", "Ngày làm việc theo lịch công bố") + r.textSuffix(lang)
	}
	return r.Kind.String()
}

func (r Reason) textSuffix(lang Lang) string {
	t := r.Text
	if lang == English && r.TextEN != "" {
		t = r.TextEN
	}
	if t == "" {
		return ""
	}
	return ": " + t
}

func (r Reason) holidayLabel(lang Lang) string {
	name := r.Holiday.Label(lang)
	if r.Holiday != HolidayTet || r.Lunar.Month == 0 {
		return name
	}
	if r.Lunar.Month == 12 { // last day of the lunar year
		if lang == Vietnamese {
			return name + " (" + strconv.Itoa(r.Lunar.Day) + " tháng Chạp)"
		}
		return name + ", last day of the lunar year"
	}
	if lang == Vietnamese {
		return name + " (mùng " + strconv.Itoa(r.Lunar.Day) + " Tết)"
	}
	return name + ", day " + strconv.Itoa(r.Lunar.Day)
}

func weekdayLabel(wd time.Weekday, lang Lang) string {
	if lang != Vietnamese {
		return wd.String()
	}
	return [...]string{"Chủ nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy"}[wd]
}

// Skipped is a day that a deadline count passed over, and why.
type Skipped struct {
	Date   Date
	Reason Reason
}

// DayOffEntry is a day of a year's schedule: a holiday, a compensatory day,
// a day off or working day set by the operator's file.
type DayOffEntry struct {
	Date   Date
	Off    bool
	Reason Reason
}
