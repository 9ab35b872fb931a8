package registry

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/fault"
)

var now = time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)

func TestRelated(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"land", "land", true},
		{"land", "land.planning", true},
		{"land.planning", "land", true},
		{"land", "land.planning.zoning", true},
		{"land", "landscape", false},
		{"land.planning", "land.prices", false},
		{"health", "land", false},
	} {
		if got := Related(tc.a, tc.b); got != tc.want {
			t.Errorf("Related(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestDemoRegistryImports(t *testing.T) {
	req, err := ParseFile(Demo())
	if err != nil {
		t.Fatal(err)
	}
	reg, res, err := Empty().Apply(req, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.AgenciesCreated != len(req.GetAgencies()) || res.AgenciesCreated < 20 || res.FieldsCreated < 40 {
		t.Errorf("created %d agencies and %d fields", res.AgenciesCreated, res.FieldsCreated)
	}
	a, ok := reg.Agency("so-tai-chinh")
	if !ok || a.GetName() != "Sở Tài chính" || a.GetLevel() != tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL || !a.GetActive() {
		t.Errorf("so-tai-chinh = %v", a)
	}
	// Importing the same file again changes nothing.
	_, again, err := reg.Apply(req, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(again.ChangedAgencies)+len(again.ChangedFields) != 0 || again.Unchanged != len(req.GetAgencies())+len(req.GetFields()) {
		t.Errorf("second import changed %d agencies and %d fields", len(again.ChangedAgencies), len(again.ChangedFields))
	}
}

func TestAgenciesSortInVietnameseOrder(t *testing.T) {
	req, _ := ParseFile(Demo())
	reg, _, err := Empty().Apply(req, now)
	if err != nil {
		t.Fatal(err)
	}
	c := collate.New(language.Vietnamese)
	as := reg.Agencies()
	for i := 1; i < len(as); i++ {
		if c.CompareString(as[i-1].GetName(), as[i].GetName()) > 0 {
			t.Errorf("%q listed before %q", as[i-1].GetName(), as[i].GetName())
		}
	}
	// Đ sorts after D in Vietnamese, unlike byte order of the bare letters.
	list := []*tacitv1.Agency{{Code: "b", Name: "Đồng Nai"}, {Code: "a", Name: "Dương Kinh"}, {Code: "c", Name: "Ủy ban"}, {Code: "d", Name: "Văn phòng"}}
	SortAgencies(list)
	var got []string
	for _, a := range list {
		got = append(got, a.GetName())
	}
	if strings.Join(got, "|") != "Dương Kinh|Đồng Nai|Ủy ban|Văn phòng" {
		t.Errorf("order = %v", got)
	}
}

func TestHeadHistory(t *testing.T) {
	base := &tacitv1.ImportRegistryRequest{
		Fields:   []*tacitv1.Field{{Code: "land", Name: "Đất đai"}},
		Agencies: []*tacitv1.AgencyInput{{Code: "so-nnmt", Name: "Sở Nông nghiệp và Môi trường", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, Head: "Nguyễn Văn A", Mandate: []string{"land"}}},
	}
	reg, _, err := Empty().Apply(base, now)
	if err != nil {
		t.Fatal(err)
	}
	base.Agencies[0].Head = "Trần Thị B"
	later := now.Add(48 * time.Hour)
	reg, res, err := reg.Apply(base, later)
	if err != nil || res.AgenciesUpdated != 1 {
		t.Fatalf("update: %v %+v", err, res)
	}
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{now.Add(-time.Hour), "Nguyễn Văn A"}, // before the first record: the first head
		{now, "Nguyễn Văn A"},
		{later.Add(-time.Nanosecond), "Nguyễn Văn A"},
		{later, "Trần Thị B"},
		{later.Add(time.Hour), "Trần Thị B"},
	} {
		if got := reg.HeadAt("so-nnmt", tc.at); got != tc.want {
			t.Errorf("HeadAt(%v) = %q, want %q", tc.at, got, tc.want)
		}
	}
}

func TestDeactivationKeepsTheAgency(t *testing.T) {
	req := &tacitv1.ImportRegistryRequest{
		Fields:   []*tacitv1.Field{{Code: "health", Name: "Y tế"}},
		Agencies: []*tacitv1.AgencyInput{{Code: "so-y-te", Name: "Sở Y tế", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, Head: "Hồ Đức Thịnh", Mandate: []string{"health"}}},
	}
	reg, _, _ := Empty().Apply(req, now)
	off := false
	req.Agencies[0].Active = &off
	reg, _, err := reg.Apply(req, now)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := reg.Agency("so-y-te"); !ok || a.GetActive() {
		t.Errorf("so-y-te after deactivation: %v %v", a, ok)
	}
	// An import that omits the agency does not delete it.
	reg, _, err = reg.Apply(&tacitv1.ImportRegistryRequest{}, now)
	if _, ok := reg.Agency("so-y-te"); err != nil || !ok {
		t.Errorf("agency deleted by an import that omits it: %v", err)
	}
}

func TestInvalidImportChangesNothing(t *testing.T) {
	req := &tacitv1.ImportRegistryRequest{
		Fields: []*tacitv1.Field{{Code: "land", Name: "Đất đai"}, {Code: "Bad Code", Name: "x"}, {Code: "water.rivers", Name: "Sông"}},
		Agencies: []*tacitv1.AgencyInput{
			{Code: "ok", Name: "Sở A", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_LOCAL, Head: "A", Mandate: []string{"land"}},
			{Code: "no-head", Name: "Sở B", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_LOCAL, Mandate: []string{"land"}},
			{Code: "no-field", Name: "Sở C", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_LOCAL, Head: "C", Mandate: []string{"sea"}},
			{Code: "ok", Name: "Sở A again", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_LOCAL, Head: "A", Mandate: []string{"land"}},
		},
	}
	reg, res, err := Empty().Apply(req, now)
	if reg != nil || res != nil {
		t.Fatal("an invalid import returned a registry")
	}
	f, ok := fault.As(err)
	if !ok || f.Kind != fault.Invalid {
		t.Fatalf("err = %v, want Invalid", err)
	}
	want := map[string]string{
		"fields[1].code":         "INVALID_CODE",
		"fields":                 "MISSING_PARENT",
		"agencies[1].head":       "INVALID_HEAD",
		"agencies[2].mandate[0]": "UNKNOWN_FIELD",
		"agencies[3].code":       "DUPLICATE",
	}
	got := map[string]string{}
	for _, v := range f.Violations {
		got[v.Subject] = v.Type
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("violation %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

func TestParseFile(t *testing.T) {
	for _, tc := range []struct {
		name, data, reason string
	}{
		{"unknown key", `{"fields": [], "agencies": [], "extra": 1}`, "REGISTRY_MALFORMED"},
		{"bad level", `{"fields": [{"code":"land","name":"Đất"}], "agencies": [{"code":"a","name":"A","level":"district","head":"H","mandate":["land"]}]}`, "REGISTRY_INVALID"},
		{"not json", `fields: []`, "REGISTRY_MALFORMED"},
		{"not utf8", "{\"fields\": [{\"code\": \"a\", \"name\": \"\xff\"}]}", "REGISTRY_NOT_UTF8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFile([]byte(tc.data))
			if f, ok := fault.As(err); !ok || f.Reason != tc.reason {
				t.Errorf("err = %v, want reason %s", err, tc.reason)
			}
		})
	}
	// Vietnamese text round-trips exactly and is normalised to NFC.
	req, err := ParseFile([]byte(`{"fields":[{"code":"land","name":"Đất đai"}],"agencies":[{"code":"a","name":"Sở Tài chính","level":"provincial","head":"Nguyễn Thị Ánh","mandate":["land"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	reg, _, err := Empty().Apply(req, now)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := reg.Agency("a"); a.GetHead() != "Nguyễn Thị Ánh" {
		t.Errorf("head = %q", a.GetHead())
	}
	decomposed := "Nguye\u0302\u0303n" // "Nguyễn" with combining marks
	req.Agencies[0].Head = decomposed
	reg, _, _ = reg.Apply(req, now)
	if a, _ := reg.Agency("a"); a.GetHead() != "Nguyễn" {
		t.Errorf("head not normalised to NFC: %q", a.GetHead())
	}
}
