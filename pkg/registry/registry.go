// Package registry owns the registry of agencies and the taxonomy of fields:
// parsing the registry file, validating and applying an import, and an
// immutable in-memory snapshot the rules read (mandates, levels, heads over
// time). It does no I/O besides decoding bytes it is given.
package registry

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/fault"
)

//go:embed demo/registry.json
var demo []byte

// Demo returns the bundled sample registry file.
func Demo() []byte { return slices.Clone(demo) }

var (
	codeRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	fieldRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$`)
)

// Limits on registry text.
const (
	MaxCodeLen = 64
	MaxNameLen = 300
)

// ValidAgencyCode reports whether s can be an agency code.
func ValidAgencyCode(s string) bool { return len(s) <= MaxCodeLen && codeRe.MatchString(s) }

// ValidFieldCode reports whether s can be a field code.
func ValidFieldCode(s string) bool { return len(s) <= MaxCodeLen*2 && fieldRe.MatchString(s) }

// Related reports whether two field codes are related: equal, or one a
// dot-prefix of the other (`land` ~ `land.planning`).
func Related(a, b string) bool {
	if a == b {
		return true
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	return strings.HasPrefix(b, a) && b[len(a)] == '.'
}

// ParseLevel turns `central|provincial|local` into a level.
func ParseLevel(s string) (tacitv1.AgencyLevel, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "central":
		return tacitv1.AgencyLevel_AGENCY_LEVEL_CENTRAL, true
	case "provincial":
		return tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, true
	case "local":
		return tacitv1.AgencyLevel_AGENCY_LEVEL_LOCAL, true
	}
	return tacitv1.AgencyLevel_AGENCY_LEVEL_UNSPECIFIED, false
}

// LevelName is the file form of a level.
func LevelName(l tacitv1.AgencyLevel) string {
	switch l {
	case tacitv1.AgencyLevel_AGENCY_LEVEL_CENTRAL:
		return "central"
	case tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL:
		return "provincial"
	case tacitv1.AgencyLevel_AGENCY_LEVEL_LOCAL:
		return "local"
	}
	return "unspecified"
}

// Rank orders levels: local 1 < provincial 2 < central 3; 0 when unknown.
func Rank(l tacitv1.AgencyLevel) int {
	switch l {
	case tacitv1.AgencyLevel_AGENCY_LEVEL_LOCAL:
		return 1
	case tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL:
		return 2
	case tacitv1.AgencyLevel_AGENCY_LEVEL_CENTRAL:
		return 3
	}
	return 0
}

type fileField struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type fileAgency struct {
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	Level    string   `json:"level"`
	Head     string   `json:"head"`
	Deputies []string `json:"deputies,omitempty"`
	Mandate  []string `json:"mandate"`
	Active   *bool    `json:"active,omitempty"`
}

type file struct {
	Fields   []fileField  `json:"fields"`
	Agencies []fileAgency `json:"agencies"`
}

// ParseFile decodes a registry file (the JSON of the contract) into an
// import request. Unknown keys are refused so that typos do not pass
// silently. Levels are checked here; everything else by Validate.
func ParseFile(data []byte) (*tacitv1.ImportRegistryRequest, error) {
	if !utf8.Valid(data) {
		return nil, fault.New(fault.Invalid, "REGISTRY_NOT_UTF8", "the registry file is not valid UTF-8: save it as UTF-8 and import again")
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fault.New(fault.Invalid, "REGISTRY_MALFORMED", "the registry file is not valid registry JSON: %v; see the registry format in the README", err)
	}
	if dec.More() {
		return nil, fault.New(fault.Invalid, "REGISTRY_MALFORMED", "the registry file has data after its JSON object: put fields and agencies in one object")
	}
	req := &tacitv1.ImportRegistryRequest{}
	var vs fault.Violations
	for _, ff := range f.Fields {
		req.Fields = append(req.Fields, &tacitv1.Field{Code: ff.Code, Name: ff.Name})
	}
	for i, fa := range f.Agencies {
		lvl, ok := ParseLevel(fa.Level)
		if !ok {
			vs.Add(fmt.Sprintf("agencies[%d].level", i), "INVALID_LEVEL", "level %q of agency %q is not one of central, provincial, local", fa.Level, fa.Code)
		}
		req.Agencies = append(req.Agencies, &tacitv1.AgencyInput{
			Code: fa.Code, Name: fa.Name, Level: lvl, Head: fa.Head,
			Deputies: fa.Deputies, Mandate: fa.Mandate, Active: fa.Active,
		})
	}
	if err := vs.Err(fault.Invalid, "REGISTRY_INVALID", "the registry file has invalid entries: fix them and import again"); err != nil {
		return nil, err
	}
	return req, nil
}

// Registry is an immutable snapshot of the registry. Safe for concurrent
// reads; Apply returns a new snapshot.
type Registry struct {
	fields   map[string]*tacitv1.Field
	agencies map[string]*tacitv1.Agency
}

// New builds a snapshot from stored records.
func New(fields []*tacitv1.Field, agencies []*tacitv1.Agency) *Registry {
	r := &Registry{fields: make(map[string]*tacitv1.Field, len(fields)), agencies: make(map[string]*tacitv1.Agency, len(agencies))}
	for _, f := range fields {
		r.fields[f.GetCode()] = f
	}
	for _, a := range agencies {
		r.agencies[a.GetCode()] = a
	}
	return r
}

// Empty is a registry with nothing in it.
func Empty() *Registry { return New(nil, nil) }

// Field returns a field by code.
func (r *Registry) Field(code string) (*tacitv1.Field, bool) {
	f, ok := r.fields[code]
	return f, ok
}

// Agency returns an agency by code. The returned message must not be
// modified.
func (r *Registry) Agency(code string) (*tacitv1.Agency, bool) {
	a, ok := r.agencies[code]
	return a, ok
}

// Len returns the number of agencies.
func (r *Registry) Len() int { return len(r.agencies) }

// HeadAt returns who headed the agency at instant t: the last head term that
// began at or before t (the first one when t precedes every term).
func (r *Registry) HeadAt(code string, t time.Time) string {
	a, ok := r.agencies[code]
	if !ok {
		return ""
	}
	head := a.GetHead()
	hist := a.GetHeadHistory()
	for i, term := range hist {
		if i == 0 || !term.GetSince().AsTime().After(t) {
			head = term.GetHead()
		}
	}
	return head
}

var vietnamese = language.Vietnamese

// Fields returns every field ordered by code.
func (r *Registry) Fields() []*tacitv1.Field {
	out := make([]*tacitv1.Field, 0, len(r.fields))
	for _, f := range r.fields {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetCode() < out[j].GetCode() })
	return out
}

// Agencies returns agencies in Vietnamese alphabetical order of name, then
// code.
func (r *Registry) Agencies() []*tacitv1.Agency {
	out := make([]*tacitv1.Agency, 0, len(r.agencies))
	for _, a := range r.agencies {
		out = append(out, a)
	}
	SortAgencies(out)
	return out
}

// SortAgencies sorts in Vietnamese collation order of name, then code.
func SortAgencies(as []*tacitv1.Agency) {
	c := collate.New(vietnamese)
	var buf collate.Buffer
	keys := make(map[string][]byte, len(as))
	for _, a := range as {
		keys[a.GetCode()] = slices.Clone(c.KeyFromString(&buf, a.GetName()))
		buf.Reset()
	}
	sort.SliceStable(as, func(i, j int) bool {
		if d := compareBytes(keys[as[i].GetCode()], keys[as[j].GetCode()]); d != 0 {
			return d < 0
		}
		return as[i].GetCode() < as[j].GetCode()
	})
}

func compareBytes(a, b []byte) int { return strings.Compare(string(a), string(b)) }

// MaxDeputies bounds an agency's deputy heads.
const MaxDeputies = 20

// badText says what is wrong with a name, or "" when it is fine: 1 to
// MaxNameLen characters, no control characters.
func badText(s string) string {
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "is empty"
	case n > MaxNameLen:
		return fmt.Sprintf("has %d characters; the limit is %d", n, MaxNameLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("contains the control character %U", r)
		}
	}
	return ""
}

// Result counts what an import changed.
type Result struct {
	FieldsCreated, FieldsUpdated, AgenciesCreated, AgenciesUpdated, Unchanged int
	// Changed lists the records that must be written.
	ChangedFields   []*tacitv1.Field
	ChangedAgencies []*tacitv1.Agency
	// NewAgencies lists codes of agencies that did not exist before.
	NewAgencies []string
}

// Apply validates an import against the current snapshot and returns the new
// snapshot and what changed. Nothing is applied when anything is invalid;
// the error lists every problem. Text is normalised to NFC.
func (r *Registry) Apply(req *tacitv1.ImportRegistryRequest, now time.Time) (*Registry, *Result, error) {
	var vs fault.Violations
	fields := make(map[string]*tacitv1.Field, len(r.fields)+len(req.GetFields()))
	for k, v := range r.fields {
		fields[k] = v
	}
	res := &Result{}
	seenF := map[string]bool{}
	for i, f := range req.GetFields() {
		path := fmt.Sprintf("fields[%d]", i)
		code, name := strings.TrimSpace(f.GetCode()), norm.NFC.String(strings.TrimSpace(f.GetName()))
		switch {
		case !ValidFieldCode(code):
			vs.Add(path+".code", "INVALID_CODE", "field code %q must be lowercase letters, digits, '-' or '_', in dot-separated parts", code)
			continue
		case seenF[code]:
			vs.Add(path+".code", "DUPLICATE", "field %q is listed twice", code)
			continue
		case badText(name) != "":
			vs.Add(path+".name", "INVALID_NAME", "the name of field %q %s: give 1 to %d characters of text", code, badText(name), MaxNameLen)
			continue
		}
		seenF[code] = true
		nf := &tacitv1.Field{Code: code, Name: name}
		old, ok := fields[code]
		switch {
		case !ok:
			res.FieldsCreated++
		case proto.Equal(old, nf):
			res.Unchanged++
			continue
		default:
			res.FieldsUpdated++
		}
		fields[code] = nf
		res.ChangedFields = append(res.ChangedFields, nf)
	}
	for code := range fields {
		if i := strings.LastIndexByte(code, '.'); i > 0 {
			if _, ok := fields[code[:i]]; !ok {
				vs.Add("fields", "MISSING_PARENT", "field %q needs its parent field %q in the taxonomy", code, code[:i])
			}
		}
	}
	agencies := make(map[string]*tacitv1.Agency, len(r.agencies)+len(req.GetAgencies()))
	for k, v := range r.agencies {
		agencies[k] = v
	}
	seenA := map[string]bool{}
	for i, in := range req.GetAgencies() {
		path := fmt.Sprintf("agencies[%d]", i)
		code := strings.TrimSpace(in.GetCode())
		if !ValidAgencyCode(code) {
			vs.Add(path+".code", "INVALID_CODE", "agency code %q must be 1 to %d lowercase letters, digits, '-' or '_'", code, MaxCodeLen)
			continue
		}
		if seenA[code] {
			vs.Add(path+".code", "DUPLICATE", "agency %q is listed twice", code)
			continue
		}
		seenA[code] = true
		name := norm.NFC.String(strings.TrimSpace(in.GetName()))
		head := norm.NFC.String(strings.TrimSpace(in.GetHead()))
		bad := false
		if why := badText(name); why != "" {
			vs.Add(path+".name", "INVALID_NAME", "the name of agency %q %s: give 1 to %d characters of text", code, why, MaxNameLen)
			bad = true
		}
		if why := badText(head); why != "" {
			vs.Add(path+".head", "INVALID_HEAD", "the head's name of agency %q %s: the head answers for deemed approvals; give 1 to %d characters", code, why, MaxNameLen)
			bad = true
		}
		if len(in.GetDeputies()) > MaxDeputies {
			vs.Add(path+".deputies", "TOO_MANY", "agency %q lists %d deputies; the limit is %d", code, len(in.GetDeputies()), MaxDeputies)
			bad = true
		}
		if Rank(in.GetLevel()) == 0 {
			vs.Add(path+".level", "INVALID_LEVEL", "agency %q needs a level: central, provincial or local", code)
			bad = true
		}
		if len(in.GetMandate()) == 0 {
			vs.Add(path+".mandate", "EMPTY_MANDATE", "agency %q needs at least one field in its mandate", code)
			bad = true
		}
		var mandate []string
		for j, m := range in.GetMandate() {
			m = strings.TrimSpace(m)
			if _, ok := fields[m]; !ok {
				vs.Add(fmt.Sprintf("%s.mandate[%d]", path, j), "UNKNOWN_FIELD", "agency %q names field %q, which is not in the taxonomy: add it to \"fields\"", code, m)
				bad = true
				continue
			}
			if !slices.Contains(mandate, m) {
				mandate = append(mandate, m)
			}
		}
		var deputies []string
		for j, d := range in.GetDeputies() {
			if d = norm.NFC.String(strings.TrimSpace(d)); d != "" {
				if why := badText(d); why != "" {
					vs.Add(fmt.Sprintf("%s.deputies[%d]", path, j), "INVALID_NAME", "a deputy of agency %q %s", code, why)
					bad = true
				}
				deputies = append(deputies, d)
			}
		}
		if bad {
			continue
		}
		active := in.Active == nil || in.GetActive()
		old, existed := agencies[code]
		na := &tacitv1.Agency{Code: code, Name: name, Level: in.GetLevel(), Head: head, Deputies: deputies, Mandate: mandate, Active: active}
		if existed {
			na.HeadHistory = old.GetHeadHistory()
			na.UpdateTime = old.GetUpdateTime()
			if sameAgency(old, na) {
				res.Unchanged++
				continue
			}
			res.AgenciesUpdated++
		} else {
			res.AgenciesCreated++
			res.NewAgencies = append(res.NewAgencies, code)
		}
		if !existed || old.GetHead() != head {
			na.HeadHistory = append(slices.Clone(na.HeadHistory), &tacitv1.HeadTerm{Head: head, Since: timestamppb.New(now)})
		}
		na.UpdateTime = timestamppb.New(now)
		agencies[code] = na
		res.ChangedAgencies = append(res.ChangedAgencies, na)
	}
	if err := vs.Err(fault.Invalid, "REGISTRY_INVALID", "the registry import was refused and nothing was changed: fix the listed entries and import again"); err != nil {
		return nil, nil, err
	}
	return &Registry{fields: fields, agencies: agencies}, res, nil
}

func sameAgency(a, b *tacitv1.Agency) bool {
	return a.GetName() == b.GetName() && a.GetLevel() == b.GetLevel() && a.GetHead() == b.GetHead() &&
		slices.Equal(a.GetDeputies(), b.GetDeputies()) && slices.Equal(a.GetMandate(), b.GetMandate()) && a.GetActive() == b.GetActive()
}
