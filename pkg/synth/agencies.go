package synth

import (
	"fmt"
	"math/rand/v2"
	"strings"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/registry"
)

// central is the province of central bodies; the demo's agencies are in
// province 0 (Quảng Ninh), synthesized ones in 1...
const central = -1

// registryImport is the demo registry, with the agencies of synthesized
// provinces (copies of the demo's provincial departments and communes)
// up to n agencies in all when n is larger. It also returns each agency's
// province.
func registryImport(n int, rnd *rand.Rand) (*tacitv1.ImportRegistryRequest, map[string]int, error) {
	req, err := registry.ParseFile(registry.Demo())
	if err != nil {
		return nil, nil, err
	}
	province := map[string]int{}
	var depts, locals []*tacitv1.AgencyInput
	for _, a := range req.GetAgencies() {
		switch a.GetLevel() {
		case tacitv1.AgencyLevel_AGENCY_LEVEL_CENTRAL:
			province[a.GetCode()] = central
		case tacitv1.AgencyLevel_AGENCY_LEVEL_LOCAL:
			locals = append(locals, a)
		default:
			depts = append(depts, a)
		}
	}
	demo := len(req.GetAgencies())
	switch {
	case n == 0 || n == demo:
		return req, province, nil
	case n < demo:
		return nil, nil, fmt.Errorf("--agencies %d: the demo registry alone has %d agencies; give %d or more", n, demo, demo)
	case n > demo+len(provinces)*(len(depts)+len(wards)):
		return nil, nil, fmt.Errorf("--agencies %d: at most %d can be synthesized", n, demo+len(provinces)*(len(depts)+len(wards)))
	}
	extra := n - demo
	per := len(depts) + len(wards)/4 // a province: every department and a few communes
	np := min(len(provinces), (extra+per-1)/per)
	for p := range np {
		prov := provinces[p]
		count := extra / np
		if p < extra%np {
			count++
		}
		for j := range count {
			a := &tacitv1.AgencyInput{Head: personName(rnd)}
			for range 1 + rnd.IntN(3) {
				a.Deputies = append(a.Deputies, personName(rnd))
			}
			if j < len(depts) {
				d := depts[j]
				a.Code, a.Level, a.Mandate = d.GetCode()+"-"+prov.code, d.GetLevel(), d.GetMandate()
				switch name := d.GetName(); {
				case strings.Contains(name, "Quảng Ninh"):
					a.Name = strings.ReplaceAll(name, "Quảng Ninh", prov.name)
				default:
					a.Name = strings.TrimSuffix(name, " tỉnh") + " " + prov.kind + " " + prov.name
				}
			} else {
				w, l := wards[j-len(depts)], locals[j%len(locals)]
				unit, unitCode := "phường", "phuong"
				if j%2 == 1 {
					unit, unitCode = "xã", "xa"
				}
				a.Code = "ubnd-" + unitCode + "-" + w.code + "-" + prov.code
				a.Name = "Ủy ban nhân dân " + unit + " " + w.name + ", " + prov.kind + " " + prov.name
				a.Level, a.Mandate = l.GetLevel(), l.GetMandate()
			}
			req.Agencies = append(req.Agencies, a)
			province[a.Code] = p + 1
		}
	}
	return req, province, nil
}

func personName(rnd *rand.Rand) string {
	return pick(rnd, surnames) + " " + pick(rnd, middles) + " " + pick(rnd, givens)
}

func pick[T any](rnd *rand.Rand, xs []T) T { return xs[rnd.IntN(len(xs))] }

// headChange is the import of new heads for about one agency in ten: a
// deputy promoted (replaced by a new deputy) or someone from outside.
func headChange(reg *registry.Registry, rnd *rand.Rand) *tacitv1.ImportRegistryRequest {
	req := &tacitv1.ImportRegistryRequest{}
	for _, a := range reg.Agencies() {
		if rnd.Float64() >= 0.1 {
			continue
		}
		in := &tacitv1.AgencyInput{Code: a.GetCode(), Name: a.GetName(), Level: a.GetLevel(), Mandate: a.GetMandate(),
			Deputies: append([]string(nil), a.GetDeputies()...), Active: new(a.GetActive())}
		if len(in.Deputies) > 0 && rnd.Float64() < 0.6 {
			i := rnd.IntN(len(in.Deputies))
			in.Head = in.Deputies[i]
			in.Deputies[i] = personName(rnd)
		} else {
			in.Head = personName(rnd)
		}
		req.Agencies = append(req.Agencies, in)
	}
	return req
}
