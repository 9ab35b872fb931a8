package registry_test

// Fuzz test of the registry import: the bytes of a registry file, as an
// administrator would upload them, are parsed and applied to an empty
// registry. Seeds live in testdata/fuzz/FuzzRegistryImport/ as well as in
// the f.Add calls below.

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"google.golang.org/protobuf/proto"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/registry"
)

var importTime = time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)

func FuzzRegistryImport(f *testing.F) {
	f.Add(registry.Demo())
	f.Add([]byte(`{"fields":[{"code":"land","name":"Đất đai"},{"code":"land.planning","name":"Quy hoạch"}],
"agencies":[{"code":"so-nnmt","name":"Sở NN&MT","level":"provincial","head":"Nguyễn Văn An","mandate":["land"," land.planning ","land"]},
{"code":"ubnd-px","name":"UBND phường X","level":"LOCAL","head":"Trần B","deputies":[" Lê C ",""],"mandate":["land.planning"],"active":false}]}`))
	f.Add([]byte(`{"fields":[{"code":"land.planning","name":"Quy hoạch"}],"agencies":[]}`))
	f.Add([]byte(`{"fields":[{"code":"a","name":"A"},{"code":" a ","name":"A2"}],"agencies":[{"code":"x","name":"X","level":"central","head":"H","mandate":["b"]}]}`))
	f.Add([]byte(`{"fields":[{"code":"a","name":"A\u0301"}],"agencies":[{"code":"x","name":" Tra\u0301i ","level":"central","head":"H","mandate":["a"]},{"code":"x","name":"X","level":"central","head":"H","mandate":["a"]}]}`))
	f.Add([]byte(`{"fields":[],"agencies":[{"code":"X","name":"","level":"mayor","head":"","mandate":[]}]}`))
	f.Add([]byte(`{"fields":[{"code":"a","name":"A","extra":1}]}`))
	f.Add([]byte(`{"fields":[{"code":"a","name":"A"}]} {"agencies":"trailing"}`))
	f.Add([]byte("{\"fields\":[{\"code\":\"a\",\"name\":\"\xff\xfe\"}]}"))
	f.Add([]byte(`{"fields":[{"code":"a","name":"\ud800 \u0000 \u001b[31m"}]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(strings.Repeat("[", 10000) + strings.Repeat("]", 10000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := registry.ParseFile(data)
		if err != nil {
			if fe, ok := fault.As(err); !ok || fe.Kind != fault.Invalid || !utf8.ValidString(err.Error()) {
				t.Fatalf("ParseFile refused with %T %v, want a fault of kind Invalid", err, err)
			}
			return
		}
		for i, a := range req.GetAgencies() {
			if registry.Rank(a.GetLevel()) == 0 {
				t.Fatalf("ParseFile accepted agency %d with level %v", i, a.GetLevel())
			}
		}
		sent := proto.Clone(req)
		reg, res, err := registry.Empty().Apply(req, importTime)
		if !proto.Equal(sent, req) {
			t.Fatalf("Apply modified the request")
		}
		if err != nil {
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.Invalid || len(fe.Violations) == 0 {
				t.Fatalf("Apply refused with %T %v, want kind Invalid with violations", err, err)
			}
			for _, v := range fe.Violations {
				if v.Subject == "" || v.Type == "" || !utf8.ValidString(v.Subject) || !utf8.ValidString(v.Description) {
					t.Fatalf("violation %q is incomplete or not UTF-8", v)
				}
			}
			if reg != nil || res != nil {
				t.Fatalf("a refused import returned a registry or a result")
			}
			return
		}
		checkRegistry(t, reg)
		if res.FieldsCreated != len(reg.Fields()) || res.AgenciesCreated != len(reg.Agencies()) || res.FieldsUpdated+res.AgenciesUpdated+res.Unchanged != 0 ||
			len(res.ChangedFields) != res.FieldsCreated || len(res.ChangedAgencies) != res.AgenciesCreated || len(res.NewAgencies) != res.AgenciesCreated {
			t.Fatalf("result %+v for %d fields and %d agencies", res, len(reg.Fields()), len(reg.Agencies()))
		}
		if len(req.GetFields()) != res.FieldsCreated || len(req.GetAgencies()) != res.AgenciesCreated {
			t.Fatalf("an accepted import dropped entries: %d fields and %d agencies sent, %d and %d created",
				len(req.GetFields()), len(req.GetAgencies()), res.FieldsCreated, res.AgenciesCreated)
		}

		// Importing the same request again changes nothing.
		again, res2, err := reg.Apply(req, importTime.Add(time.Hour))
		if err != nil {
			t.Fatalf("the second import of an accepted request was refused: %v", err)
		}
		if len(res2.ChangedFields)+len(res2.ChangedAgencies)+len(res2.NewAgencies) != 0 || res2.FieldsCreated+res2.FieldsUpdated+res2.AgenciesCreated+res2.AgenciesUpdated != 0 ||
			res2.Unchanged != len(req.GetFields())+len(req.GetAgencies()) {
			t.Fatalf("the second import changed something: %+v", res2)
		}
		if !slices.EqualFunc(reg.Fields(), again.Fields(), func(a, b *tacitv1.Field) bool { return proto.Equal(a, b) }) ||
			!slices.EqualFunc(reg.Agencies(), again.Agencies(), func(a, b *tacitv1.Agency) bool { return proto.Equal(a, b) }) {
			t.Fatalf("the second import changed the registry")
		}
	})
}

// checkRegistry: codes are valid, every child field has its parent, every
// agency is complete and its mandate names existing fields.
func checkRegistry(t *testing.T, reg *registry.Registry) {
	t.Helper()
	for _, fd := range reg.Fields() {
		code := fd.GetCode()
		if !registry.ValidFieldCode(code) {
			t.Fatalf("field code %q is not valid", code)
		}
		checkName(t, "field "+code+" name", fd.GetName())
		if i := strings.LastIndexByte(code, '.'); i >= 0 {
			if _, ok := reg.Field(code[:i]); !ok {
				t.Fatalf("field %q has no parent %q", code, code[:i])
			}
		}
	}
	for _, a := range reg.Agencies() {
		code := a.GetCode()
		if !registry.ValidAgencyCode(code) {
			t.Fatalf("agency code %q is not valid", code)
		}
		if got, ok := reg.Agency(code); !ok || got != a {
			t.Fatalf("agency %q is not found by its code", code)
		}
		checkName(t, "agency "+code+" name", a.GetName())
		checkName(t, "agency "+code+" head", a.GetHead())
		if registry.Rank(a.GetLevel()) == 0 {
			t.Fatalf("agency %q has level %v", code, a.GetLevel())
		}
		if len(a.GetMandate()) == 0 {
			t.Fatalf("agency %q has an empty mandate", code)
		}
		for i, m := range a.GetMandate() {
			if _, ok := reg.Field(m); !ok {
				t.Fatalf("agency %q has mandate field %q, which is not in the taxonomy", code, m)
			}
			if slices.Contains(a.GetMandate()[:i], m) {
				t.Fatalf("agency %q lists mandate field %q twice", code, m)
			}
		}
		for _, d := range a.GetDeputies() {
			if d == "" || strings.TrimSpace(d) != d || !norm.NFC.IsNormalString(d) || !utf8.ValidString(d) {
				t.Fatalf("agency %q has deputy %q: want trimmed non-empty NFC text", code, d)
			}
		}
		if h := a.GetHeadHistory(); len(h) != 1 || h[0].GetHead() != a.GetHead() || !h[0].GetSince().AsTime().Equal(importTime) {
			t.Fatalf("agency %q head history %v, want one term of %q since the import", code, h, a.GetHead())
		}
		if reg.HeadAt(code, importTime) != a.GetHead() {
			t.Fatalf("agency %q: HeadAt = %q, want %q", code, reg.HeadAt(code, importTime), a.GetHead())
		}
	}
}

func checkName(t *testing.T, what, s string) {
	t.Helper()
	if s == "" || strings.TrimSpace(s) != s || !norm.NFC.IsNormalString(s) || !utf8.ValidString(s) || utf8.RuneCountInString(s) > registry.MaxNameLen {
		t.Fatalf("%s %q: want trimmed NFC text of 1 to %d characters", what, s, registry.MaxNameLen)
	}
}

// The registry file is text people read in every answer (agency names,
// heads responsible for deemed approvals): the import must refuse what the
// rest of the service refuses in requests, and must not skip part of a
// file silently.
func TestRegistryImportRefusesBadText(t *testing.T) {
	land := []*tacitv1.Field{{Code: "land", Name: "Đất đai"}}
	agency := func(edit func(a *tacitv1.AgencyInput)) *tacitv1.ImportRegistryRequest {
		a := &tacitv1.AgencyInput{Code: "so-x", Name: "Sở X", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, Head: "Nguyễn Văn An", Mandate: []string{"land"}}
		edit(a)
		return &tacitv1.ImportRegistryRequest{Fields: land, Agencies: []*tacitv1.AgencyInput{a}}
	}
	cases := []struct {
		name string
		req  *tacitv1.ImportRegistryRequest
	}{
		{"control character in an agency name", agency(func(a *tacitv1.AgencyInput) { a.Name = "Sở X\x1b[2J" })},
		{"NUL in a head's name", agency(func(a *tacitv1.AgencyInput) { a.Head = "Nguyễn\x00Văn An" })},
		{"control character in a deputy's name", agency(func(a *tacitv1.AgencyInput) { a.Deputies = []string{"Lê\u0007 Văn C"} })},
		{"a deputy's name of 100,000 characters", agency(func(a *tacitv1.AgencyInput) { a.Deputies = []string{strings.Repeat("d", 100000)} })},
		{"control character in a field name", &tacitv1.ImportRegistryRequest{Fields: []*tacitv1.Field{{Code: "land", Name: "Đất\u0085đai"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := registry.Empty().Apply(tc.req, importTime); fault.KindOf(err) != fault.Invalid {
				t.Errorf("Apply accepted it (err %v); want Invalid naming the entry", err)
			}
		})
	}
	t.Run("data after the registry object", func(t *testing.T) {
		_, err := registry.ParseFile([]byte(`{"fields":[{"code":"land","name":"Đất đai"}]}
{"agencies":[{"code":"so-x","name":"Sở X","level":"provincial","head":"An","mandate":["land"]}]}`))
		if fault.KindOf(err) != fault.Invalid {
			t.Errorf("ParseFile accepted a file whose second half it ignores (err %v); want Invalid", err)
		}
	})
}
