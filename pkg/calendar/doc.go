// Package calendar counts Vietnamese working days for consultation deadlines.
//
// # Working days
//
// A working day (ngày làm việc) is a Monday to Friday that is not a day off,
// observed in Vietnam's time zone (Asia/Ho_Chi_Minh, UTC+07:00). The
// Calendar interface is the contract used by the rest of tacit; Vietnam,
// VietnamIn and New return a *Full, which also explains its days (Reason,
// Explain, DaysOff, labels in English or Vietnamese).
//
// The built-in rules (version BuiltinVersion, "vn-lc2019/2") are the public
// holidays of the Labour Code 2019, art. 112, applied to every year:
//
//   - 1 January (Tết Dương lịch);
//   - Tết (Tết Âm lịch, Tết Nguyên đán), five days: the last day of the
//     lunar year (lunar 12/29 or 12/30, the day before lunar 1/1) and lunar
//     1/1 to 1/4;
//   - Hùng Kings' Commemoration Day (Giỗ Tổ Hùng Vương), lunar 3/10;
//   - 30 April (Ngày Chiến thắng) and 1 May (Ngày Quốc tế Lao động);
//   - 2 September (Quốc khánh) and one adjacent day: 1 September when
//     2 September is a Tuesday, Friday or Saturday, otherwise 3 September.
//
// A holiday that falls on a Saturday or Sunday gives a compensatory day off
// (nghỉ bù) on the next day that is neither a weekend nor already a holiday
// or compensatory day; holidays are taken in date order, so the
// compensatory days of Tết follow the five-day block. Lunar dates come from
// the Vietnamese lunar calendar computed for UTC+7 (see LunarDate,
// SolarToLunar), supported for 1800–2400.
//
// The law leaves the exact days of Tết and of the day next to 2 September
// to the Prime Minister, and each year the government publishes a schedule
// for public servants with swaps (a bridging day off in exchange for a
// working Saturday). The built-in rules are the default reading; the
// published schedule is loaded from an operator's calendar file.
//
// # Deadlines
//
// A deadline of N working days ends at 24:00 local time (00:00 of the next
// day) of the N-th working day after the day the consultation was opened;
// the opening day is never counted. Explain lists the days a count skipped
// and why.
//
// # The operator's calendar file
//
// ParseOverrides reads a JSON file (UTF-8) of per-year changes on top of the
// built-in rules:
//
//	{
//	  "version": "vn-2026-2027/1",
//	  "note": "free text: sources, status",
//	  "years": {
//	    "2026": {
//	      "note": "free text",
//	      "days_off": [
//	        {"date": "2026-01-02", "reason": "hoán đổi với thứ Bảy 10/01/2026",
//	         "reason_en": "swapped with Saturday 2026-01-10",
//	         "note": "Văn bản 12729/VPCP-KGVX ngày 25/12/2025"}
//	      ],
//	      "working_days": [
//	        {"date": "2026-01-10", "reason": "thay cho thứ Sáu 02/01/2026"}
//	      ],
//	      "remove_days_off": [
//	        {"date": "2026-09-03", "reason": "ngày liền kề Quốc khánh năm 2026 là 01/9"}
//	      ]
//	    }
//	  }
//	}
//
// Fields:
//
//   - version (required): identifies the file's data; 1–64 characters among
//     letters, digits and . _ : / - , starting with a letter or digit. It is
//     appended to the calendar's Version after a "+", so that a deadline
//     records which schedule it was computed with: bump it whenever the file
//     changes.
//   - note (optional): free text, at the top, in a year and in an entry.
//   - years (required): an object whose keys are years ("2026", 1800–2400).
//   - days_off: days that become days off. The date must be a working day
//     under the built-in rules (not a weekend, holiday or compensatory day).
//   - working_days: make-up working days (ngày làm bù). The date must be a
//     Saturday or Sunday that is not a holiday or compensatory day.
//   - remove_days_off: built-in holidays or compensatory days that are
//     working days in the published schedule (e.g. when the government
//     chose 1 September as the adjacent day and the rule gives 3
//     September). The date must be a holiday or compensatory day under the
//     built-in rules.
//   - each entry has a date ("YYYY-MM-DD", within its year), a reason
//     (required, shown in Vietnamese output), and optionally reason_en (shown
//     in English output instead of reason) and note. reason and reason_en are
//     at most 200 characters without control characters; notes at most 2000.
//     Labels show the reason after the kind of day, e.g. "Ngày làm bù: thay
//     cho thứ Sáu 02/01/2026" / "make-up working day: <reason_en>".
//
// A date may appear once per file. Unknown fields, duplicate keys, invalid
// dates and entries that contradict the built-in rules are refused with the
// line number and the reason (see OverridesError). Overrides apply day by
// day: they do not move compensatory days, so a file that moves a holiday
// also lists the compensatory days it moves.
package calendar
