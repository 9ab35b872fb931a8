package main

// Bad input through the real binary: oversized messages, oversized lists,
// over-long and control-laden text, text that is not UTF-8 and bodies that
// are not protobuf at all. Each must be refused with a clear code, store
// nothing (no consultation, no audit entry), and leave the server serving
// others; at the end a normal request still succeeds and the server log
// holds no panic.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

// badValidOpen is a request the demo registry accepts from so-nnmt.
func badValidOpen(edit func(r *tacitv1.OpenConsultationRequest)) *tacitv1.OpenConsultationRequest {
	r := &tacitv1.OpenConsultationRequest{
		Title: "Dự thảo Quyết định ban hành bảng giá đất", LegalBasis: "Luật Đất đai 2024, Điều 159",
		Fields: []string{"land", "urban-planning"}, Addressees: []string{"so-xay-dung", "so-tai-chinh"},
		DeadlineSpec: &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(2 * time.Hour)},
	}
	if edit != nil {
		edit(r)
	}
	return r
}

// badStored counts what the server holds, as the auditor sees it: every
// consultation and every audit entry.
func badStored(t *testing.T, aud *grpcClients) (consultations, events int) {
	t.Helper()
	tok := ""
	for {
		res, err := aud.consult.ListConsultations(rpcCtx(t), &tacitv1.ListConsultationsRequest{PageSize: 500, PageToken: tok})
		if err != nil {
			t.Fatalf("auditor ListConsultations: %v", err)
		}
		consultations += len(res.GetConsultations())
		if tok = res.GetNextPageToken(); tok == "" {
			break
		}
	}
	for {
		res, err := aud.audit.ListEvents(rpcCtx(t), &tacitv1.ListEventsRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			t.Fatalf("auditor ListEvents: %v", err)
		}
		events += len(res.GetEvents())
		if tok = res.GetNextPageToken(); tok == "" {
			break
		}
	}
	return consultations, events
}

// badStillServing: another principal is still served normally.
func badStillServing(t *testing.T, srv *tacitServer, other *grpcClients, after string) {
	t.Helper()
	select {
	case <-srv.done:
		t.Fatalf("the server exited after %s: %v\nlog:\n%s", after, srv.waitErr, srv.Log())
	default:
	}
	if _, err := other.consult.ListConsultations(rpcCtx(t), &tacitv1.ListConsultationsRequest{}); err != nil {
		t.Fatalf("after %s, so-tai-chinh is no longer served: %v", after, err)
	}
}

// badWire builds an encoded message from (field number, raw string bytes)
// pairs, so that the bytes need not be UTF-8; a nested message is given as
// the bytes of its own encoding.
func badWire(parts ...any) []byte {
	var b []byte
	for i := 0; i < len(parts); i += 2 {
		num := protowire.Number(parts[i].(int))
		switch v := parts[i+1].(type) {
		case string:
			b = protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), []byte(v))
		case []byte:
			b = protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
		case int:
			b = protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), uint64(v))
		}
	}
	return b
}

func TestBadInputIsRefusedAndServingGoesOn(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	lead := grpcClient(t, srv, "so-nnmt")
	other := grpcClient(t, srv, "so-tai-chinh")
	aud := grpcClient(t, srv, "auditor:auditor")
	admin := grpcClient(t, srv, "admin:admin")
	consultations, events := badStored(t, aud)

	// nothingStored: the refused request left no consultation and no
	// audit entry, and the server still serves others.
	nothingStored := func(t *testing.T, what string) {
		t.Helper()
		if c, e := badStored(t, aud); c != consultations || e != events {
			t.Errorf("%s stored something: %d consultations and %d audit entries before, %d and %d after", what, consultations, events, c, e)
		}
		badStillServing(t, srv, other, what)
	}

	t.Run("10 MB title", func(t *testing.T) {
		_, err := lead.consult.OpenConsultation(rpcCtx(t), badValidOpen(func(r *tacitv1.OpenConsultationRequest) {
			r.Title = strings.Repeat("x", 10<<20)
		}))
		st, _ := status.FromError(err)
		t.Logf("10 MB title: %s: %s", st.Code(), st.Message())
		if st.Code() != codes.ResourceExhausted && st.Code() != codes.InvalidArgument {
			t.Errorf("10 MB title: %s (%q), want ResourceExhausted (the 4 MB receive limit) or InvalidArgument", st.Code(), st.Message())
		}
		nothingStored(t, "a 10 MB title")
	})

	t.Run("10 MB of addressees", func(t *testing.T) {
		_, err := lead.consult.OpenConsultation(rpcCtx(t), badValidOpen(func(r *tacitv1.OpenConsultationRequest) {
			r.Addressees = slices.Repeat([]string{strings.Repeat("a", 1000)}, 10<<10)
		}))
		st := wantCode(t, err, codes.ResourceExhausted)
		t.Logf("10 MB of addressees: %s", st.Code())
		nothingStored(t, "10 MB of addressees")
	})

	for _, tc := range []struct {
		name string
		edit func(r *tacitv1.OpenConsultationRequest)
		want []string
	}{
		{"10,000 addressees", func(r *tacitv1.OpenConsultationRequest) {
			r.Addressees = nil
			for i := range 10000 {
				r.Addressees = append(r.Addressees, fmt.Sprintf("so-%05d", i))
			}
		}, []string{"addressees"}},
		{"10,000 fields", func(r *tacitv1.OpenConsultationRequest) { r.Fields = slices.Repeat([]string{"land"}, 10000) }, []string{"fields"}},
		{"10,000 options", func(r *tacitv1.OpenConsultationRequest) { r.Options = slices.Repeat([]string{"Phương án"}, 10000) }, []string{"options"}},
		{"600-character title", func(r *tacitv1.OpenConsultationRequest) { r.Title = strings.Repeat("đ", 600) }, []string{"title"}},
		{"20,000-character summary", func(r *tacitv1.OpenConsultationRequest) { r.Summary = strings.Repeat("s", 20000) }, []string{"summary"}},
		{"NUL in the title", func(r *tacitv1.OpenConsultationRequest) { r.Title = "Dự thảo\x00bảng giá" }, []string{"title"}},
		{"terminal escape in the title", func(r *tacitv1.OpenConsultationRequest) { r.Title = "Dự thảo \x1b[2J\x1b[31mKHẨN" }, []string{"title"}},
		{"C1 control in the title", func(r *tacitv1.OpenConsultationRequest) { r.Title = "Dự thảo\u0085bảng giá" }, []string{"title"}},
		{"DEL in the title", func(r *tacitv1.OpenConsultationRequest) { r.Title = "Dự thảo\x7f" }, []string{"title"}},
		{"bell in the legal basis", func(r *tacitv1.OpenConsultationRequest) { r.LegalBasis = "Luật\x07" }, []string{"legal_basis"}},
		{"backspace in an option", func(r *tacitv1.OpenConsultationRequest) { r.Options = []string{"Phương án 1", "Phương án\b 2"} }, []string{"options[1]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := lead.consult.OpenConsultation(rpcCtx(t), badValidOpen(tc.edit))
			st := wantCode(t, err, codes.InvalidArgument)
			if got := fieldViolations(st); !slices.Equal(got, tc.want) {
				t.Errorf("BadRequest field violations %q, want %q", got, tc.want)
			}
			if len(st.Message()) > 64<<10 {
				t.Errorf("the error message has %d bytes: a refusal must not echo the whole input", len(st.Message()))
			}
			nothingStored(t, tc.name)
		})
	}

	// Text that is not UTF-8, sent as raw bytes: INVALID_ARGUMENT naming
	// the field, for top-level, repeated and nested fields.
	for _, tc := range []struct {
		name, method, as string
		wire             []byte
		want             string
	}{
		{"the legal basis", tacitv1.ConsultationService_OpenConsultation_FullMethodName, "so-nnmt",
			badWire(2, "Dự thảo", 4, "Lu\xe1t \xff", 5, "land", 6, "so-xay-dung"), "legal_basis"},
		{"the second addressee", tacitv1.ConsultationService_OpenConsultation_FullMethodName, "so-nnmt",
			badWire(2, "Dự thảo", 4, "Luật", 5, "land", 6, "so-xay-dung", 6, "so-t\xc3i-ch\xednh"), "addressees"},
		{"an option", tacitv1.ConsultationService_OpenConsultation_FullMethodName, "so-nnmt",
			badWire(2, "Dự thảo", 4, "Luật", 5, "land", 6, "so-xay-dung", 11, "\xed\xa0\x80"), "options"}, // an encoded surrogate
		{"the request id", tacitv1.ConsultationService_OpenConsultation_FullMethodName, "so-nnmt",
			badWire(1, "\xc0\xaf", 2, "Dự thảo", 4, "Luật", 5, "land", 6, "so-xay-dung"), "request_id"}, // overlong '/'
		{"the signer name of a reply", tacitv1.ConsultationService_Reply_FullMethodName, "so-xay-dung",
			badWire(2, "1", 3, 1, 5, badWire(1, "Tr\xe1\xba", 2, 1)), "signer.name"},
		{"an agency name of an import", tacitv1.RegistryService_ImportRegistry_FullMethodName, "admin:admin",
			badWire(2, badWire(1, "so-moi", 2, "S\xf8 m\xf8i", 3, 2, 4, "An", 6, "land")), "agencies.name"},
	} {
		t.Run("invalid UTF-8 in "+tc.name, func(t *testing.T) {
			var out []byte
			err := grpcClient(t, srv, tc.as).conn.Invoke(rpcCtx(t), tc.method, tc.wire, &out, grpc.ForceCodec(rawCodec{}))
			st := wantCode(t, err, codes.InvalidArgument)
			if got := fieldViolations(st); !slices.Equal(got, []string{tc.want}) {
				t.Errorf("field violations %q, want [%s]", got, tc.want)
			}
			nothingStored(t, "invalid UTF-8 in "+tc.name)
		})
	}

	// Bodies that are not protobuf at all.
	rng := rand.New(rand.NewPCG(7, 11))
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var groups []byte // 100,000 nested groups of an unknown field
	for range 100000 {
		groups = protowire.AppendTag(groups, 15, protowire.StartGroupType)
	}
	var unbalanced []byte // nested groups that close with the wrong field
	for i := range 5000 {
		unbalanced = protowire.AppendTag(unbalanced, protowire.Number(100+i), protowire.StartGroupType)
	}
	unbalanced = protowire.AppendTag(unbalanced, 99, protowire.EndGroupType)
	bodies := []struct {
		name string
		body []byte
	}{
		{"64 KiB of random bytes", random},
		{"100,000 nested groups", groups},
		{"groups closed by the wrong field", unbalanced},
		{"a length beyond the body", protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.BytesType), 1<<62)},
		{"a truncated varint", []byte{0x08, 0xff, 0xff, 0xff}},
		{"field number 0", []byte{0x02, 0x01, 'x'}},
		{"wire type 7", []byte{0x17, 0x00}},
		{"a title whose length runs past the end, then garbage", append(badWire(2, "Dự thảo")[:5], 0xff, 0xff, 0xff, 0xff, 0x0f)},
	}
	methods := []struct{ name, as string }{
		{tacitv1.ConsultationService_OpenConsultation_FullMethodName, "so-nnmt"},
		{tacitv1.ConsultationService_Reply_FullMethodName, "so-xay-dung"},
		{tacitv1.RegistryService_ImportRegistry_FullMethodName, "admin:admin"},
		{tacitv1.AuditService_ListEvents_FullMethodName, "auditor:auditor"},
	}
	clients := map[string]*grpcClients{"so-nnmt": lead, "admin:admin": admin, "auditor:auditor": aud, "so-xay-dung": grpcClient(t, srv, "so-xay-dung")}
	seen := map[codes.Code]int{}
	for _, b := range bodies {
		t.Run("nonsense: "+b.name, func(t *testing.T) {
			for _, m := range methods {
				var out []byte
				err := clients[m.as].conn.Invoke(rpcCtx(t), m.name, b.body, &out, grpc.ForceCodec(rawCodec{}))
				st, _ := status.FromError(err)
				seen[st.Code()]++
				if st.Code() != codes.InvalidArgument && st.Code() != codes.Internal {
					t.Errorf("%s with %s: %s (%q), want InvalidArgument or Internal", m.name, b.name, st.Code(), st.Message())
				}
			}
			nothingStored(t, b.name)
		})
	}
	t.Logf("codes for nonsense bodies: %v", seen)

	// A normal request still succeeds: at the title limit, and plain.
	for _, title := range []string{strings.Repeat("đ", 500), "Dự thảo Quyết định sau các yêu cầu hỏng"} {
		res, err := lead.consult.OpenConsultation(rpcCtx(t), badValidOpen(func(r *tacitv1.OpenConsultationRequest) { r.Title = title }))
		if err != nil {
			t.Fatalf("a normal OpenConsultation after the bad input: %v", err)
		}
		if res.GetConsultation().GetTitle() != title {
			t.Errorf("stored title %q, want %q", res.GetConsultation().GetTitle(), title)
		}
	}
	if c, _ := badStored(t, aud); c != consultations+2 {
		t.Errorf("%d consultations stored, want %d", c, consultations+2)
	}
	for _, line := range strings.Split(srv.Log(), "\n") {
		if strings.Contains(strings.ToLower(line), "panic") {
			t.Errorf("the server log mentions a panic:\n%.600s", line)
		}
	}
}

// A page token is opaque but not secret: a client can forge one. A forged
// token must be refused as INVALID_ARGUMENT, not crash the handler (the
// recovery interceptor turns the crash into INTERNAL and logs a panic).
func TestBadInputForgedPageToken(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	lead := grpcClient(t, srv, "so-nnmt")
	forged := "YWdlbmNpZXM6LTE" // base64url of "agencies:-1", as the server encodes page tokens
	_, err := lead.registry.ListAgencies(rpcCtx(t), &tacitv1.ListAgenciesRequest{PageToken: forged})
	st, _ := status.FromError(err)
	t.Logf("ListAgencies with a forged negative offset: %s: %s", st.Code(), st.Message())
	if st.Code() != codes.InvalidArgument {
		t.Errorf("ListAgencies with page_token %q (agencies:-1): %s (%q), want InvalidArgument", forged, st.Code(), st.Message())
	}
	// The recovery interceptor keeps the server up either way.
	if res, err := lead.registry.ListAgencies(rpcCtx(t), &tacitv1.ListAgenciesRequest{PageSize: 5}); err != nil || len(res.GetAgencies()) != 5 {
		t.Fatalf("ListAgencies after the forged token: %d agencies, %v", len(res.GetAgencies()), err)
	}
	for _, line := range strings.Split(srv.Log(), "\n") {
		if strings.Contains(line, "panic") {
			t.Errorf("the server log records a panic:\n%.600s", line)
		}
	}
}

// An addressee "code" holding control characters is malformed input, like
// a control character in the title: INVALID_ARGUMENT naming it. It must
// not be treated as a well-formed code of an unknown agency (a refused
// opening counted against the lead, with the raw bytes written to the
// audit trail).
func TestBadInputControlCharacterInAddresseeCode(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	lead := grpcClient(t, srv, "so-nnmt")
	aud := grpcClient(t, srv, "auditor:auditor")
	consultations, events := badStored(t, aud)
	_, err := lead.consult.OpenConsultation(rpcCtx(t), badValidOpen(func(r *tacitv1.OpenConsultationRequest) {
		r.Addressees = []string{"so-xay-dung\x1b[2J", "so-tai-chinh"}
	}))
	st, _ := status.FromError(err)
	t.Logf("addressee with an escape sequence: %s: %s", st.Code(), st.Message())
	if st.Code() != codes.InvalidArgument || !slices.Equal(fieldViolations(st), []string{"addressees[0]"}) {
		t.Errorf("addressee %q: %s with field violations %q, want InvalidArgument naming addressees[0]", "so-xay-dung\x1b[2J", st.Code(), fieldViolations(st))
	}
	c, e := badStored(t, aud)
	if c != consultations || e != events {
		res, _ := aud.audit.ListEvents(rpcCtx(t), &tacitv1.ListEventsRequest{PageSize: 1000})
		evs := res.GetEvents()
		t.Errorf("the refused request stored %d consultations and %d audit entries; last entry: %q", c-consultations, e-events, evs[len(evs)-1].GetDetails())
	}
}

// The health service needs no certificate. A health check whose service
// name is not UTF-8 must be refused (gRPC's own answer to an undecodable
// request), not answered for the part decoded before the bad field (the
// empty name: the whole server).
func TestBadInputInvalidUTF8HealthCheck(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	conf, err := srv.serverOnlyTLS()
	if err != nil {
		t.Fatal(err)
	}
	anon := dialTLS(t, srv, conf)
	var out []byte
	err = anon.conn.Invoke(rpcCtx(t), healthpb.Health_Check_FullMethodName, badWire(1, "tacit.v1.\xffNoSuchService"), &out, grpc.ForceCodec(rawCodec{}))
	res := &healthpb.HealthCheckResponse{}
	_ = proto.Unmarshal(out, res)
	t.Logf("health check of a service name that is not UTF-8: %s, response %v", status.Code(err), res)
	if c := status.Code(err); c != codes.InvalidArgument && c != codes.Internal {
		t.Errorf("health check with a service name that is not UTF-8: %s with status %v, want it refused (InvalidArgument or Internal)", c, res.GetStatus())
	}
}
