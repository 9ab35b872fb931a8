package calendar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Overrides is a validated operator's calendar file: per-year days off,
// make-up working days and removed days off on top of the built-in rules.
// The file format is documented in the package comment. Build one with
// ParseOverrides or LoadOverrides; it is immutable.
type Overrides struct {
	version string
	note    string
	entries []OverrideEntry // sorted by date
}

// OverrideAction is what an entry of the file does.
type OverrideAction uint8

// Override actions, one per list of a year in the file.
const (
	AddDayOff     OverrideAction = iota + 1 // "days_off"
	AddWorkingDay                           // "working_days"
	RemoveDayOff                            // "remove_days_off"
)

var actionFields = map[OverrideAction]string{
	AddDayOff:     "days_off",
	AddWorkingDay: "working_days",
	RemoveDayOff:  "remove_days_off",
}

// String returns the file's name of the list: "days_off", "working_days"
// or "remove_days_off".
func (a OverrideAction) String() string {
	if s, ok := actionFields[a]; ok {
		return s
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// OverrideEntry is one entry of the file.
type OverrideEntry struct {
	Action   OverrideAction
	Date     Date
	Reason   string // Vietnamese
	ReasonEN string // optional
	Note     string // optional
	Line     int    // line of the entry's date in the file
	// Builtin is the day under the built-in rules, before the override.
	Builtin Reason
}

// reason returns the effective Reason of the entry's date.
func (e OverrideEntry) reason() Reason {
	r := Reason{Weekday: e.Date.Weekday(), Text: e.Reason, TextEN: e.ReasonEN, Was: e.Builtin.Kind}
	switch e.Action {
	case AddDayOff:
		r.Kind = KindExtraDayOff
	case AddWorkingDay:
		r.Kind = KindMakeUpDay
	case RemoveDayOff:
		r.Kind = KindRemovedDayOff
		r.Holiday, r.Lunar = e.Builtin.Holiday, e.Builtin.Lunar
	}
	return r
}

// Version returns the file's version, e.g. "vn-2026-2027/1".
func (o *Overrides) Version() string { return o.version }

// Note returns the file's top-level note.
func (o *Overrides) Note() string { return o.note }

// Entries returns a copy of the file's entries in date order.
func (o *Overrides) Entries() []OverrideEntry {
	return append([]OverrideEntry(nil), o.entries...)
}

// OverridesError is why a calendar file was refused: the line (1-based) and
// the reason. File is set by LoadOverrides.
type OverridesError struct {
	File string
	Line int
	Msg  string
}

func (e *OverridesError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("calendar file %s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("calendar file: line %d: %s", e.Line, e.Msg)
}

// maxOverridesSize bounds the size of a calendar file.
const maxOverridesSize = 1 << 20

// LoadOverrides reads and parses the calendar file at path; errors name the
// file and the line.
func LoadOverrides(path string) (*Overrides, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("calendar file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxOverridesSize+1))
	if err != nil {
		return nil, fmt.Errorf("calendar file %s: %w", path, err)
	}
	o, err := ParseOverrides(data)
	if oe := (*OverridesError)(nil); errors.As(err, &oe) {
		oe.File = path
	}
	return o, err
}

// ParseOverrides parses and validates a calendar file (see the package
// comment for the format). An invalid file gives an *OverridesError with
// the line number and the reason.
func ParseOverrides(data []byte) (*Overrides, error) {
	p := &ovParser{data: data}
	if len(data) > maxOverridesSize {
		return nil, &OverridesError{Line: 1, Msg: fmt.Sprintf("file larger than %d bytes", maxOverridesSize)}
	}
	if i := invalidUTF8(data); i >= 0 {
		return nil, p.errAt(int64(i), "invalid UTF-8")
	}
	body := data
	if bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) { // tolerate a byte order mark
		body = body[3:]
		p.base = 3
	}
	p.dec = json.NewDecoder(bytes.NewReader(body))
	p.dec.UseNumber()
	o, entries, err := p.parseFile()
	if err != nil {
		return nil, err
	}
	if err := validateEntries(entries); err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Date.Before(entries[j].Date) })
	o.entries = entries
	return o, nil
}

func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// ovParser walks the JSON tokens of a calendar file, keeping track of
// lines.
type ovParser struct {
	data []byte
	base int64 // bytes skipped before the decoder's input (BOM)
	dec  *json.Decoder
	// newlines holds the offsets of the '\n' bytes of data, computed on
	// first use.
	newlines []int64
}

// line returns the 1-based line of byte offset off of data.
func (p *ovParser) line(off int64) int {
	if p.newlines == nil {
		p.newlines = []int64{}
		for i, b := range p.data {
			if b == '\n' {
				p.newlines = append(p.newlines, int64(i))
			}
		}
	}
	// The number of newlines before off, plus one.
	return sort.Search(len(p.newlines), func(i int) bool { return p.newlines[i] >= off }) + 1
}

func (p *ovParser) errAt(off int64, format string, args ...any) *OverridesError {
	return &OverridesError{Line: p.line(off), Msg: fmt.Sprintf(format, args...)}
}

// tokenLine is the line of the token just read: the line of its last byte
// (a JSON token other than whitespace never spans lines).
func (p *ovParser) tokenLine() int {
	return p.line(p.base + p.dec.InputOffset() - 1)
}

// token reads the next token, converting decoder errors to OverridesError.
func (p *ovParser) token() (json.Token, int, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return p.convert(err)
	}
	return tok, p.tokenLine(), nil
}

// convert turns a decoder error into an OverridesError.
func (p *ovParser) convert(err error) (json.Token, int, error) {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// se.Offset is not reliable for the Token API (it is relative to
		// the value being decoded in some cases); the decoder's position
		// is the start of the value or token that failed, which is on
		// the line of the error (JSON tokens do not span lines).
		off := p.base + p.dec.InputOffset()
		return nil, 0, p.errAt(off, "invalid JSON: %s", strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return nil, 0, p.errAt(int64(len(p.data)), "unexpected end of file")
	}
	return nil, 0, p.errAt(p.base+p.dec.InputOffset(), "invalid JSON: %v", err)
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return fmt.Sprintf("%q", string(v))
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// expectDelim reads the next token and checks that it opens an object or
// array; what names the value in the error.
func (p *ovParser) expectDelim(d json.Delim, what string) (int, error) {
	tok, line, err := p.token()
	if err != nil {
		return 0, err
	}
	if tok != d {
		want := "an object"
		if d == '[' {
			want = "an array"
		}
		return 0, &OverridesError{Line: line, Msg: fmt.Sprintf("%s must be %s, not %s", what, want, describe(tok))}
	}
	return line, nil
}

// object calls field for each key of the object whose '{' was just read,
// refusing duplicate keys, then reads the closing '}'.
func (p *ovParser) object(what string, field func(key string, line int) error) error {
	seen := map[string]int{}
	for p.dec.More() {
		tok, line, err := p.token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok { // the decoder only returns string keys
			return &OverridesError{Line: line, Msg: fmt.Sprintf("%s: expected a key", what)}
		}
		if prev, dup := seen[key]; dup {
			return &OverridesError{Line: line, Msg: fmt.Sprintf("%s: duplicate key %q (first at line %d)", what, key, prev)}
		}
		seen[key] = line
		if err := field(key, line); err != nil {
			return err
		}
	}
	_, _, err := p.token() // '}'
	return err
}

// str reads a string value.
func (p *ovParser) str(what string) (string, int, error) {
	tok, line, err := p.token()
	if err != nil {
		return "", 0, err
	}
	s, ok := tok.(string)
	if !ok {
		return "", 0, &OverridesError{Line: line, Msg: fmt.Sprintf("%s must be a string, not %s", what, describe(tok))}
	}
	return s, line, nil
}

func unknownField(line int, what, key string, want ...string) error {
	return &OverridesError{Line: line, Msg: fmt.Sprintf("%s: unknown field %q (want %s)", what, key, strings.Join(want, ", "))}
}

// parseFile reads the whole document.
func (p *ovParser) parseFile() (*Overrides, []OverrideEntry, error) {
	o := &Overrides{}
	var entries []OverrideEntry
	topLine, err := p.expectDelim('{', "the file")
	if err != nil {
		return nil, nil, err
	}
	var haveVersion, haveYears bool
	err = p.object("the file", func(key string, line int) error {
		switch key {
		case "version":
			v, vline, err := p.str(`"version"`)
			if err != nil {
				return err
			}
			if msg := checkVersion(v); msg != "" {
				return &OverridesError{Line: vline, Msg: msg}
			}
			o.version, haveVersion = v, true
		case "note":
			v, vline, err := p.str(`"note"`)
			if err != nil {
				return err
			}
			if msg := checkText(v, maxNote); msg != "" {
				return &OverridesError{Line: vline, Msg: `"note": ` + msg}
			}
			o.note = v
		case "years":
			haveYears = true
			es, err := p.years()
			if err != nil {
				return err
			}
			entries = es
		default:
			return unknownField(line, "the file", key, `"version"`, `"note"`, `"years"`)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		if err != nil {
			_, _, err = p.convert(err)
			return nil, nil, err
		}
		return nil, nil, &OverridesError{Line: p.tokenLine(), Msg: "unexpected data after the end of the top-level object"}
	}
	switch {
	case !haveVersion:
		return nil, nil, &OverridesError{Line: topLine, Msg: `missing "version"`}
	case !haveYears:
		return nil, nil, &OverridesError{Line: topLine, Msg: `missing "years"`}
	}
	return o, entries, nil
}

func (p *ovParser) years() ([]OverrideEntry, error) {
	if _, err := p.expectDelim('{', `"years"`); err != nil {
		return nil, err
	}
	var entries []OverrideEntry
	err := p.object(`"years"`, func(key string, line int) error {
		year, msg := parseYearKey(key)
		if msg != "" {
			return &OverridesError{Line: line, Msg: `"years": ` + msg}
		}
		what := fmt.Sprintf("year %s", key)
		if _, err := p.expectDelim('{', what); err != nil {
			return err
		}
		return p.object(what, func(key string, line int) error {
			var action OverrideAction
			switch key {
			case "note":
				v, vline, err := p.str(what + `: "note"`)
				if err != nil {
					return err
				}
				if msg := checkText(v, maxNote); msg != "" {
					return &OverridesError{Line: vline, Msg: what + `: "note": ` + msg}
				}
				return nil
			case "days_off":
				action = AddDayOff
			case "working_days":
				action = AddWorkingDay
			case "remove_days_off":
				action = RemoveDayOff
			default:
				return unknownField(line, what, key, `"note"`, `"days_off"`, `"working_days"`, `"remove_days_off"`)
			}
			es, err := p.list(year, action)
			entries = append(entries, es...)
			return err
		})
	})
	return entries, err
}

func (p *ovParser) list(year int, action OverrideAction) ([]OverrideEntry, error) {
	what := fmt.Sprintf("year %d: %q", year, action.String())
	if _, err := p.expectDelim('[', what); err != nil {
		return nil, err
	}
	var entries []OverrideEntry
	for p.dec.More() {
		line, err := p.expectDelim('{', what+": an entry")
		if err != nil {
			return nil, err
		}
		e := OverrideEntry{Action: action, Line: line}
		var haveDate, haveReason bool
		err = p.object(what+": entry", func(key string, kline int) error {
			field := fmt.Sprintf("%s: %q", what, key)
			v, vline, err := p.str(field)
			if err != nil {
				return err
			}
			switch key {
			case "date":
				d, perr := ParseDate(v)
				if perr != nil {
					return &OverridesError{Line: vline, Msg: fmt.Sprintf("%s: invalid date %q: want an existing date as YYYY-MM-DD", field, v)}
				}
				if d.Year != year {
					return &OverridesError{Line: vline, Msg: fmt.Sprintf("%s: %s is not in year %d", field, d, year)}
				}
				e.Date, e.Line, haveDate = d, vline, true
			case "reason", "reason_en":
				if msg := checkText(v, maxReason); msg != "" {
					return &OverridesError{Line: vline, Msg: field + ": " + msg}
				}
				if strings.TrimSpace(v) == "" {
					return &OverridesError{Line: vline, Msg: field + ": empty"}
				}
				if key == "reason" {
					e.Reason, haveReason = strings.TrimSpace(v), true
				} else {
					e.ReasonEN = strings.TrimSpace(v)
				}
			case "note":
				if msg := checkText(v, maxNote); msg != "" {
					return &OverridesError{Line: vline, Msg: field + ": " + msg}
				}
				e.Note = v
			default:
				return unknownField(kline, what+": entry", key, `"date"`, `"reason"`, `"reason_en"`, `"note"`)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		switch {
		case !haveDate:
			return nil, &OverridesError{Line: line, Msg: what + `: entry without "date"`}
		case !haveReason:
			return nil, &OverridesError{Line: e.Line, Msg: fmt.Sprintf(`%s: %s: missing "reason"`, what, e.Date)}
		}
		entries = append(entries, e)
	}
	_, _, err := p.token() // ']'
	return entries, err
}

const (
	maxReason = 200
	maxNote   = 2000
)

// checkText returns why s is not acceptable text, or "".
func checkText(s string, max int) string {
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("too long (%d characters, at most %d)", n, max)
	}
	for _, r := range s {
		if r == utf8.RuneError {
			return "invalid UTF-8"
		}
		if unicode.IsControl(r) && (max == maxReason || (r != '\n' && r != '\t')) {
			return fmt.Sprintf("control character %U", r)
		}
	}
	return ""
}

func checkVersion(v string) string {
	if v == "" {
		return `"version" is empty`
	}
	if len(v) > 64 {
		return fmt.Sprintf(`"version" too long (%d bytes, at most 64)`, len(v))
	}
	for i, r := range v {
		ok := r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || (i > 0 && strings.ContainsRune("._:/-", r)))
		if !ok {
			return fmt.Sprintf(`"version" %q: character %q not allowed (letters, digits and . _ : / - , starting with a letter or digit)`, v, r)
		}
	}
	return ""
}

func parseYearKey(key string) (int, string) {
	if len(key) != 4 || strings.Trim(key, "0123456789") != "" {
		return 0, fmt.Sprintf("%q is not a year (want four digits, e.g. \"2026\")", key)
	}
	y, _ := strconv.Atoi(key)
	if y < LunarMinYear || y > LunarMaxYear {
		return 0, fmt.Sprintf("year %d outside %d–%d", y, LunarMinYear, LunarMaxYear)
	}
	return y, ""
}

// validateEntries checks each entry against the built-in rules and the
// other entries, in file order, and records its built-in reason.
func validateEntries(entries []OverrideEntry) error {
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Line < entries[j].Line })
	seen := map[Date]int{}
	for i := range entries {
		e := &entries[i]
		fail := func(format string, args ...any) error {
			return &OverridesError{Line: e.Line, Msg: fmt.Sprintf("%s: %s: ", e.Action, e.Date) + fmt.Sprintf(format, args...)}
		}
		if prev, dup := seen[e.Date]; dup {
			return fail("already listed at line %d", prev)
		}
		seen[e.Date] = e.Line
		b := builtinReason(e.Date)
		e.Builtin = b
		what := fmt.Sprintf("%s, %s", b.Label(English), strings.ToLower(e.Date.Weekday().String()))
		switch e.Action {
		case AddDayOff:
			if b.Off() {
				return fail("already a day off (%s)", b.Label(English))
			}
		case AddWorkingDay:
			switch b.Kind {
			case KindWorking:
				return fail("already a working day (%s): a make-up working day must be a Saturday or Sunday", e.Date.Weekday())
			case KindHoliday, KindCompensatory:
				return fail("is a day off by law (%s): to make it a working day use remove_days_off", what)
			}
		case RemoveDayOff:
			switch b.Kind {
			case KindWorking:
				return fail("not a day off (%s): nothing to remove", e.Date.Weekday())
			case KindWeekend:
				return fail("is a %s, not a holiday: use working_days for a make-up working day", e.Date.Weekday())
			}
		}
	}
	return nil
}
