package server

// Fuzz test of page tokens and page sizes: a client may send any string as
// page_token and any number as page_size to every list. The handlers are
// called in-process, without the recovery interceptor, so a panic here is a
// panic a client can trigger. Seeds live in testdata/fuzz/FuzzPageTokens/
// as well as in the f.Add calls below.

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/durationpb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/fault"
	"github.com/tacit-gov/tacit/pkg/pki"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

// Token modes of the fuzzer: how the fuzzed string becomes a page token.
const (
	tokRaw   = iota // the string itself
	tokOwn          // the string encoded as a token of the list it is sent to
	tokOther        // the string encoded as a token of another list
	tokModes
)

var tokenKinds = []string{"consultations", "events", "agencies"}

// fuzzPrincipals are the callers of the fuzzed lists.
var fuzzPrincipals = []pki.Principal{lead, xd, tc, pki.Auditor("auditor"), pki.Admin("admin")}

// newFuzzFixture is newFixture for a fuzz target (one store for every
// input), with data in every list: six consultations, some replied, the
// others deemed to agree and swept, so that the lists have several pages.
func newFuzzFixture(f *testing.F) *fixture {
	f.Helper()
	dir := f.TempDir()
	st, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	clock := clockwork.NewFakeClockAt(t0)
	core, err := NewCore(context.Background(), st, consultation.Config{Calendar: calendar.Vietnam(), DefaultWorkingDays: 15}, clock, zerolog.Nop())
	if err != nil {
		f.Fatal(err)
	}
	if _, err := core.ImportRegistry(context.Background(), "admin:admin", &tacitv1.ImportRegistryRequest{
		Fields: []*tacitv1.Field{{Code: "land", Name: "Đất đai"}, {Code: "land.planning", Name: "Quy hoạch sử dụng đất"}, {Code: "construction", Name: "Xây dựng"}},
		Agencies: []*tacitv1.AgencyInput{
			{Code: "so-nnmt", Name: "Sở Nông nghiệp và Môi trường", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, Head: "Lê Thị Hoa", Mandate: []string{"land"}},
			{Code: "so-xay-dung", Name: "Sở Xây dựng", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, Head: "Nguyễn Văn An", Mandate: []string{"construction", "land.planning"}},
			{Code: "so-tai-chinh", Name: "Sở Tài chính", Level: tacitv1.AgencyLevel_AGENCY_LEVEL_PROVINCIAL, Head: "Phạm Minh Khoa", Mandate: []string{"land"}},
		},
	}); err != nil {
		f.Fatal(err)
	}
	fx := &fixture{core: core, clock: clock, consult: ConsultationServer{Core: core}, store: st, dir: dir}
	for i := range 6 {
		res, err := fx.consult.OpenConsultation(as(lead), &tacitv1.OpenConsultationRequest{
			Title: fmt.Sprintf("Quy hoạch sử dụng đất %d", i), LegalBasis: "Luật Đất đai 2024", Fields: []string{"land.planning"},
			Addressees:   []string{"so-xay-dung", "so-tai-chinh"},
			DeadlineSpec: &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(time.Hour)},
		})
		if err != nil {
			f.Fatal(err)
		}
		if i%2 == 0 {
			if err := reply(fx, xd, res.GetConsultation().GetId()); err != nil {
				f.Fatal(err)
			}
		}
	}
	clock.Advance(2 * time.Hour)
	if _, err := core.Sweep(context.Background(), clock.Now()); err != nil {
		f.Fatal(err)
	}
	return fx
}

// call runs one handler, turning a panic into a test failure that names
// the request.
func call(t *testing.T, what string, req any, fn func() error) (code codes.Code) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s panicked on %v: %v", what, req, r)
		}
	}()
	return status.Code(toStatus(fn()))
}

func FuzzPageTokens(f *testing.F) {
	// token mode, token, page size, principal.
	f.Add(uint8(tokRaw), "", int32(0), uint8(3))
	f.Add(uint8(tokRaw), "not base64!", int32(1), uint8(3))
	f.Add(uint8(tokRaw), "Y29uc3VsdGF0aW9uczo0", int32(2), uint8(0)) // consultations:4
	f.Add(uint8(tokRaw), "ZXZlbnRzOjM", int32(-1), uint8(4))         // events:3
	f.Add(uint8(tokOwn), "3", int32(2), uint8(3))
	f.Add(uint8(tokOwn), "18446744073709551615", int32(1), uint8(4))
	f.Add(uint8(tokOwn), "abc", int32(1000000), uint8(1))
	f.Add(uint8(tokOwn), "consultations/2", int32(1), uint8(2))
	f.Add(uint8(tokOwn), "0000000000000000", int32(1), uint8(3))
	f.Add(uint8(tokOwn), "\xff\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f", int32(3), uint8(1))
	f.Add(uint8(tokOther), "2", int32(2147483647), uint8(0))
	f.Add(uint8(tokOwn), "9223372036854775807", int32(1), uint8(3))

	fx := newFuzzFixture(f)
	cs, as_, rs := ConsultationServer{Core: fx.core}, AuditServer{Core: fx.core}, RegistryServer{Core: fx.core}
	f.Fuzz(func(t *testing.T, mode uint8, tok string, size int32, who uint8) {
		// decodeToken never panics; it refuses with Invalid or returns a
		// value that encodeToken gives back.
		for _, kind := range tokenKinds {
			v, err := decodeToken(kind, tok)
			if err != nil {
				if fault.KindOf(err) != fault.Invalid {
					t.Fatalf("decodeToken(%q, %q): %v, want Invalid", kind, tok, err)
				}
			} else if v != "" {
				if back, err := decodeToken(kind, encodeToken(kind, v)); err != nil || back != v {
					t.Fatalf("decodeToken(%q, %q) = %q, which does not round-trip: %q, %v", kind, tok, v, back, err)
				}
			}
			if back, err := decodeToken(kind, encodeToken(kind, tok)); err != nil || back != tok {
				t.Fatalf("encodeToken(%q, %q) does not decode back: %q, %v", kind, tok, back, err)
			}
		}

		p := fuzzPrincipals[int(who)%len(fuzzPrincipals)]
		token := func(kind string) string {
			switch mode % tokModes {
			case tokOwn:
				if kind == "deemed" {
					return base64.RawURLEncoding.EncodeToString([]byte(tok))
				}
				return encodeToken(kind, tok)
			case tokOther:
				if kind == "consultations" {
					return encodeToken("events", tok)
				}
				return encodeToken("consultations", tok)
			}
			return tok
		}
		check := func(what string, code codes.Code, allowed ...codes.Code) {
			t.Helper()
			if size < 0 && code != codes.InvalidArgument && code != codes.PermissionDenied {
				t.Fatalf("%s with page_size %d: %v, want InvalidArgument", what, size, code)
			}
			for _, c := range allowed {
				if code == c {
					return
				}
			}
			t.Fatalf("%s as %s with page_token %q page_size %d: %v, want one of %v", what, p, token(what), size, code, allowed)
		}
		// limit is the most rows a page of a list may hold.
		limit := func(def, max int) int {
			switch {
			case size == 0:
				return def
			case int(size) > max:
				return max
			}
			return int(size)
		}

		ctx := as(p)
		{
			req := &tacitv1.ListConsultationsRequest{PageToken: token("consultations"), PageSize: size}
			var res *tacitv1.ListConsultationsResponse
			code := call(t, "ListConsultations", req, func() (err error) { res, err = cs.ListConsultations(ctx, req); return err })
			check("consultations", code, codes.OK, codes.InvalidArgument)
			if code == codes.OK {
				if len(res.GetConsultations()) > limit(50, 500) {
					t.Fatalf("ListConsultations returned %d rows for page_size %d", len(res.GetConsultations()), size)
				}
				followOnce(t, "ListConsultations", res.GetNextPageToken(), func(next string) error {
					_, err := cs.ListConsultations(ctx, &tacitv1.ListConsultationsRequest{PageToken: next, PageSize: size})
					return err
				})
			}
		}
		{
			req := &tacitv1.ListAgenciesRequest{PageToken: token("agencies"), PageSize: size, IncludeInactive: who%2 == 0}
			var res *tacitv1.ListAgenciesResponse
			code := call(t, "ListAgencies", req, func() (err error) { res, err = rs.ListAgencies(ctx, req); return err })
			check("agencies", code, codes.OK, codes.InvalidArgument)
			if code == codes.OK {
				if len(res.GetAgencies()) > limit(100, 1000) {
					t.Fatalf("ListAgencies returned %d rows for page_size %d", len(res.GetAgencies()), size)
				}
				followOnce(t, "ListAgencies", res.GetNextPageToken(), func(next string) error {
					_, err := rs.ListAgencies(ctx, &tacitv1.ListAgenciesRequest{PageToken: next, PageSize: size})
					return err
				})
			}
		}
		{
			req := &tacitv1.ListEventsRequest{PageToken: token("events"), PageSize: size}
			var res *tacitv1.ListEventsResponse
			code := call(t, "ListEvents", req, func() (err error) { res, err = as_.ListEvents(ctx, req); return err })
			if p.Kind == pki.KindAgency {
				check("events", code, codes.PermissionDenied)
			} else {
				check("events", code, codes.OK, codes.InvalidArgument)
			}
			if code == codes.OK {
				if len(res.GetEvents()) > limit(100, 1000) {
					t.Fatalf("ListEvents returned %d rows for page_size %d", len(res.GetEvents()), size)
				}
				followOnce(t, "ListEvents", res.GetNextPageToken(), func(next string) error {
					_, err := as_.ListEvents(ctx, &tacitv1.ListEventsRequest{PageToken: next, PageSize: size})
					return err
				})
			}
		}
		{
			req := &tacitv1.ListDeemedApprovalsRequest{PageToken: token("deemed"), PageSize: size}
			var res *tacitv1.ListDeemedApprovalsResponse
			code := call(t, "ListDeemedApprovals", req, func() (err error) { res, err = as_.ListDeemedApprovals(ctx, req); return err })
			res = onWire(t, res)
			check("deemed", code, codes.OK, codes.InvalidArgument)
			if code == codes.OK {
				if len(res.GetDeemedApprovals()) > limit(100, 1000) {
					t.Fatalf("ListDeemedApprovals returned %d rows for page_size %d", len(res.GetDeemedApprovals()), size)
				}
				if p.Kind == pki.KindAgency {
					for _, r := range res.GetDeemedApprovals() {
						if r.GetAgency() != p.Name && r.GetLead() != p.Name {
							t.Fatalf("page_token %q let %s read the deemed approval of %s led by %s", req.GetPageToken(), p, r.GetAgency(), r.GetLead())
						}
					}
				}
				followOnce(t, "ListDeemedApprovals", res.GetNextPageToken(), func(next string) error {
					_, err := as_.ListDeemedApprovals(ctx, &tacitv1.ListDeemedApprovalsRequest{PageToken: next, PageSize: size})
					return err
				})
			}
		}
	})
}

// followOnce: a token a list returned is accepted by that list.
func followOnce(t *testing.T, what, next string, fn func(string) error) {
	t.Helper()
	if next == "" {
		return
	}
	if code := call(t, what, next, func() error { return fn(next) }); code != codes.OK {
		t.Fatalf("%s refused its own next_page_token %q: %v", what, next, code)
	}
}

// A page token is opaque to clients but not secret: anyone can forge
// "agencies:-1" or "events:abc". A list must refuse a token it did not
// issue as INVALID_ARGUMENT (as ListConsultations does), never start over
// silently, and never panic: a negative offset must not reach the slice
// expression of ListAgencies.
func TestListsRefuseForgedPageTokens(t *testing.T) {
	f := newFixture(t)
	rs, as_ := RegistryServer{Core: f.core}, AuditServer{Core: f.core}
	for _, v := range []string{"-1", "-100", "abc", "1e3", "99999999999999999999"} {
		t.Run("agencies:"+v, func(t *testing.T) {
			req := &tacitv1.ListAgenciesRequest{PageToken: encodeToken("agencies", v)}
			if code := call(t, "ListAgencies", req, func() error { _, err := rs.ListAgencies(as(lead), req); return err }); code != codes.InvalidArgument {
				t.Errorf("ListAgencies with the page token of %q: %v, want InvalidArgument", v, code)
			}
		})
		t.Run("events:"+v, func(t *testing.T) {
			req := &tacitv1.ListEventsRequest{PageToken: encodeToken("events", v)}
			if code := call(t, "ListEvents", req, func() error { _, err := as_.ListEvents(as(pki.Auditor("auditor")), req); return err }); code != codes.InvalidArgument {
				t.Errorf("ListEvents with the page token of %q: %v, want InvalidArgument", v, code)
			}
		})
	}
}

// The UTF-8 codec lets only tacit's own requests through marked (the
// interceptor then refuses them with INVALID_ARGUMENT). Requests of methods
// that need no identity (health, reflection) are refused by the codec
// itself — gRPC answers without calling any handler — and leave no mark
// behind, so clients without a certificate cannot grow the map.
func TestOpenMethodsRefuseInvalidUTF8AndKeepNoMark(t *testing.T) {
	wire := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("tacit.v1.\xffConsultationService"))
	req := &healthpb.HealthCheckRequest{}
	err := newCodec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, req)
	if err == nil {
		t.Fatalf("a health check whose service name is not UTF-8 was decoded (service %q): no handler may act on it", req.GetService())
	}
	if _, leaked := badUTF8.Load(req); leaked {
		badUTF8.Delete(req)
		t.Errorf("the invalid-UTF-8 mark of a %s request stays in the process-wide map", healthpb.Health_Check_FullMethodName)
	}
}
