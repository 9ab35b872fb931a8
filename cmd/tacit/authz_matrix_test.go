package main

// The authorization matrix (issue 7, item 2): every RPC of the five tacit
// services, plus health and reflection, called by every kind of principal,
// with the exact gRPC status code each cell must give, and proof that a
// refused call changed nothing.

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/pki"
)

// The kinds of principal, in the matrix's column order.
const (
	pLead      = iota // agency:so-nnmt, which leads the consultations
	pAddressee        // agency:so-tai-chinh, which they are addressed to
	pUnrelated        // agency:so-y-te, party to none of them
	pAuditor          // auditor:auditor
	pAdmin            // admin:admin
	pNoCert           // TLS without a client certificate
	pOtherCA          // agency:so-nnmt, issued by another CA
	pExpired          // agency:so-nnmt, from the server's CA, expired
	pGhost            // agency:ghost, from the server's CA, not in the registry
	nPrincipals
)

var principalLabels = [nPrincipals]string{"lead", "addressee", "unrelated", "auditor", "admin", "no-cert", "other-CA", "expired", "ghost"}

// unauthReason is what the UNAUTHENTICATED answer to each bad certificate
// must say, so that each is refused for its own defect and not another.
var unauthReason = map[int]string{
	pNoCert:  "no client certificate",
	pOtherCA: "unknown authority",
	pExpired: "expired",
	pGhost:   "not an agency in the registry",
}

// mxClient holds every stub a matrix cell may need, on one connection.
type mxClient struct {
	label      string
	consult    tacitv1.ConsultationServiceClient
	audit      tacitv1.AuditServiceClient
	registry   tacitv1.RegistryServiceClient
	calendar   tacitv1.CalendarServiceClient
	admin      tacitv1.AdminServiceClient
	health     healthpb.HealthClient
	reflection reflectionpb.ServerReflectionClient
}

func newMxClient(label string, g *grpcClients) *mxClient {
	return &mxClient{
		label: label, consult: g.consult, audit: g.audit, registry: g.registry,
		calendar:   tacitv1.NewCalendarServiceClient(g.conn),
		admin:      tacitv1.NewAdminServiceClient(g.conn),
		health:     healthpb.NewHealthClient(g.conn),
		reflection: reflectionpb.NewServerReflectionClient(g.conn),
	}
}

// mxWant is the code each principal must get, in column order.
type mxWant [nPrincipals]codes.Code

// roles gives the codes of the five authenticated principals; every bad
// certificate gets UNAUTHENTICATED.
func roles(lead, addressee, unrelated, auditor, admin codes.Code) mxWant {
	return mxWant{lead, addressee, unrelated, auditor, admin,
		codes.Unauthenticated, codes.Unauthenticated, codes.Unauthenticated, codes.Unauthenticated}
}

// everyone is for methods open without a certificate (health, reflection).
func everyone(c codes.Code) mxWant {
	var w mxWant
	for i := range w {
		w[i] = c
	}
	return w
}

// mxRow is one RPC (or one variant of a call to it) down the matrix.
type mxRow struct {
	name    string // shown in the summary
	method  string // full gRPC method name
	variant bool   // a second way of calling a method already in the matrix
	write   bool   // a successful call may change state
	want    mxWant
	// prep runs before the cell's "before" snapshot and returns the
	// consultation the call acts on ("" for none).
	prep func(t *testing.T, cell string) string
	call func(ctx context.Context, c *mxClient, target string) error
}

// mxSnapshot is what a refused call must leave as it was.
type mxSnapshot struct {
	consultation  *tacitv1.Consultation // the cell's target, read by the auditor
	consultations []string              // ids of every consultation
	events        int                   // audit log length
	lastEvent     []byte                // hash of the last audit event
	agencies      []*tacitv1.Agency     // the registry, inactive agencies too
	fields        []*tacitv1.Field
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	start := time.Now()
	// No rate limit: the snapshots send a few hundred requests as the
	// auditor in a few seconds.
	srv := startServer(t, "--rate-limit", "0")

	// ---- principals ----
	var clients [nPrincipals]*mxClient
	for i, name := range []string{"so-nnmt", "so-tai-chinh", "so-y-te", "auditor:auditor", "admin:admin"} {
		clients[i] = newMxClient(principalLabels[i], grpcClient(t, srv, name))
	}
	caFile, caKey := pki.CAFiles(srv.pki)

	noCert, err := srv.serverOnlyTLS()
	if err != nil {
		t.Fatal(err)
	}
	clients[pNoCert] = newMxClient(principalLabels[pNoCert], dialTLS(t, srv, noCert))

	// A well-formed certificate for the lead, from a CA the server does not know.
	other := filepath.Join(t.TempDir(), "other-pki")
	if _, stderr, code := runBin(t, "pki", "init", "--dir", other); code != 0 {
		t.Fatalf("tacit pki init: exit %d\n%s", code, stderr)
	}
	if _, stderr, code := runBin(t, "pki", "issue", "--dir", other, "--principal", "so-nnmt"); code != 0 {
		t.Fatalf("tacit pki issue: exit %d\n%s", code, stderr)
	}
	clients[pOtherCA] = newMxClient(principalLabels[pOtherCA], dialCert(t, srv, other, pki.Agency("so-nnmt")))

	// Certificates from the server's own CA, issued in a copy of it so that
	// the server's PKI folder (and the lead's own certificate) stay as they are.
	ours := filepath.Join(t.TempDir(), "server-ca")
	if err := os.MkdirAll(ours, 0o700); err != nil {
		t.Fatal(err)
	}
	copyFile(t, caFile, filepath.Join(ours, "ca.crt"))
	copyFile(t, caKey, filepath.Join(ours, "ca.key"))
	// pki.IssueClient sets NotAfter = now + validFor (NotBefore is backdated
	// five minutes), so a millisecond gives a certificate that is expired
	// once its NotAfter, rounded down to the second, has passed.
	expiredCert, _, err := pki.IssueClient(ours, pki.Agency("so-nnmt"), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	leaf := parseCert(t, expiredCert)
	sleepUntil(t, leaf.NotAfter.Add(100*time.Millisecond))
	// It is genuine in every respect but its date: it chains to the
	// server's CA while it was valid, and not now.
	roots := x509.NewCertPool()
	roots.AddCert(parseCert(t, caFile))
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: leaf.NotBefore.Add(time.Second)}); err != nil {
		t.Fatalf("the expired certificate does not chain to the server's CA even while valid: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Fatalf("the certificate meant to be expired is still valid (NotAfter %s)", leaf.NotAfter)
	}
	clients[pExpired] = newMxClient(principalLabels[pExpired], dialCert(t, srv, ours, pki.Agency("so-nnmt")))
	if _, _, err := pki.IssueClient(ours, pki.Agency("ghost"), 0); err != nil {
		t.Fatal(err)
	}
	clients[pGhost] = newMxClient(principalLabels[pGhost], dialCert(t, srv, ours, pki.Agency("ghost")))

	lead, addressee, auditor, admin := clients[pLead], clients[pAddressee], clients[pAuditor], clients[pAdmin]

	// ---- fixtures ----
	signer := &tacitv1.Signer{Name: "Phạm Minh Khoa", Role: tacitv1.SignerRole_SIGNER_ROLE_HEAD}
	openFresh := func(t *testing.T, cell string) string {
		t.Helper()
		res, err := lead.consult.OpenConsultation(rpcCtx(t), &tacitv1.OpenConsultationRequest{
			Title: "Ma trận phân quyền: " + cell, LegalBasis: "Luật Đất đai 2024, Điều 159",
			Fields: []string{"land.prices"}, Addressees: []string{"so-tai-chinh"},
			DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: 5},
		})
		if err != nil {
			t.Fatalf("opening a consultation for %s: %v", cell, err)
		}
		return res.GetConsultation().GetId()
	}
	shared := openFresh(t, "shared")
	sharedPrep := func(*testing.T, string) string { return shared }
	withExtensionRequest := func(t *testing.T, cell string) string {
		id := openFresh(t, cell)
		if _, err := addressee.consult.RequestExtension(rpcCtx(t), &tacitv1.RequestExtensionRequest{ConsultationId: id,
			UntilSpec: &tacitv1.RequestExtensionRequest_ByWorkingDays{ByWorkingDays: 2}, Reason: "Cần đối chiếu số liệu"}); err != nil {
			t.Fatalf("asking for an extension on %s: %v", id, err)
		}
		return id
	}
	withReply := func(t *testing.T, cell string) string {
		id := openFresh(t, cell)
		if _, err := addressee.consult.Reply(rpcCtx(t), &tacitv1.ReplyRequest{ConsultationId: id,
			Position: tacitv1.Position_POSITION_AGREE, Signer: signer}); err != nil {
			t.Fatalf("replying on %s: %v", id, err)
		}
		return id
	}
	ag, err := admin.registry.GetAgency(rpcCtx(t), &tacitv1.GetAgencyRequest{Code: "so-y-te"})
	if err != nil {
		t.Fatal(err)
	}
	a := ag.GetAgency()
	sameAgency := &tacitv1.ImportRegistryRequest{Agencies: []*tacitv1.AgencyInput{{Code: a.GetCode(), Name: a.GetName(),
		Level: a.GetLevel(), Head: a.GetHead(), Deputies: a.GetDeputies(), Mandate: a.GetMandate()}}}
	serviceNames := []string{"tacit.v1.ConsultationService", "tacit.v1.AuditService", "tacit.v1.RegistryService",
		"tacit.v1.CalendarService", "tacit.v1.AdminService", "grpc.health.v1.Health"}

	// ---- the matrix ----
	var watchDelivered []string // agencies whose inbox stream gave a first event
	const (
		ok  = codes.OK
		pd  = codes.PermissionDenied
		nf  = codes.NotFound
		fp  = codes.FailedPrecondition
		cs  = "/tacit.v1.ConsultationService/"
		aus = "/tacit.v1.AuditService/"
		rs  = "/tacit.v1.RegistryService/"
		cls = "/tacit.v1.CalendarService/"
		ads = "/tacit.v1.AdminService/"
	)
	rows := []mxRow{
		{name: "Consultation/OpenConsultation", method: cs + "OpenConsultation", write: true, want: roles(ok, ok, ok, pd, pd),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				res, err := c.consult.OpenConsultation(ctx, &tacitv1.OpenConsultationRequest{
					RequestId: "authz-matrix-open-" + c.label,
					Title:     "Ma trận phân quyền: mở bởi " + c.label, LegalBasis: "Luật Quy hoạch 2017",
					Fields: []string{"urban-planning"}, Addressees: []string{"so-xay-dung"},
					DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: 5},
				})
				if err == nil && res.GetConsultation().GetId() == "" {
					return errors.New("OpenConsultation returned no consultation id")
				}
				return err
			}},
		{name: "Consultation/GetConsultation", method: cs + "GetConsultation", want: roles(ok, ok, pd, ok, ok), prep: sharedPrep,
			call: func(ctx context.Context, c *mxClient, id string) error {
				res, err := c.consult.GetConsultation(ctx, &tacitv1.GetConsultationRequest{Id: id})
				if err == nil && res.GetConsultation().GetId() != id {
					return fmt.Errorf("GetConsultation(%s) returned %q", id, res.GetConsultation().GetId())
				}
				return err
			}},
		{name: "Consultation/ListConsultations", method: cs + "ListConsultations", want: roles(ok, ok, ok, ok, ok), prep: sharedPrep,
			call: func(ctx context.Context, c *mxClient, id string) error {
				res, err := c.consult.ListConsultations(ctx, &tacitv1.ListConsultationsRequest{PageSize: 500})
				if err != nil {
					return err
				}
				seen := slices.ContainsFunc(res.GetConsultations(), func(k *tacitv1.Consultation) bool { return k.GetId() == id })
				if party := c != clients[pUnrelated]; seen != party {
					return fmt.Errorf("ListConsultations as %s: shared consultation %s listed = %v, want %v", c.label, id, seen, party)
				}
				return nil
			}},
		{name: "Consultation/Reply", method: cs + "Reply", write: true, want: roles(pd, ok, pd, pd, pd), prep: openFresh,
			call: func(ctx context.Context, c *mxClient, id string) error {
				_, err := c.consult.Reply(ctx, &tacitv1.ReplyRequest{ConsultationId: id, Position: tacitv1.Position_POSITION_DISAGREE,
					Comment: "Không đồng ý với phương án giá", Signer: signer})
				return err
			}},
		{name: "Consultation/RequestExtension", method: cs + "RequestExtension", write: true, want: roles(pd, ok, pd, pd, pd), prep: openFresh,
			call: func(ctx context.Context, c *mxClient, id string) error {
				_, err := c.consult.RequestExtension(ctx, &tacitv1.RequestExtensionRequest{ConsultationId: id,
					UntilSpec: &tacitv1.RequestExtensionRequest_ByWorkingDays{ByWorkingDays: 3}, Reason: "Cần khảo sát thêm"})
				return err
			}},
		{name: "Consultation/DecideExtension", method: cs + "DecideExtension", write: true, want: roles(ok, pd, pd, pd, pd), prep: withExtensionRequest,
			call: func(ctx context.Context, c *mxClient, id string) error {
				_, err := c.consult.DecideExtension(ctx, &tacitv1.DecideExtensionRequest{ConsultationId: id, Agency: "so-tai-chinh",
					Decision: tacitv1.ExtensionDecision_EXTENSION_DECISION_GRANT, Reason: "Đồng ý gia hạn"})
				return err
			}},
		{name: "Consultation/WithdrawConsultation", method: cs + "WithdrawConsultation", write: true, want: roles(ok, pd, pd, pd, pd), prep: openFresh,
			call: func(ctx context.Context, c *mxClient, id string) error {
				_, err := c.consult.WithdrawConsultation(ctx, &tacitv1.WithdrawConsultationRequest{ConsultationId: id, Reason: "Không còn cần thiết"})
				return err
			}},
		{name: "Consultation/ConcludeConsultation", method: cs + "ConcludeConsultation", write: true, want: roles(ok, pd, pd, pd, pd), prep: withReply,
			call: func(ctx context.Context, c *mxClient, id string) error {
				_, err := c.consult.ConcludeConsultation(ctx, &tacitv1.ConcludeConsultationRequest{ConsultationId: id, Summary: "Các cơ quan đồng ý"})
				return err
			}},
		{name: "Consultation/WatchInbox", method: cs + "WatchInbox", want: roles(ok, ok, ok, pd, pd),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				// The first event, or a short wait on an open stream.
				ctx, cancel := context.WithTimeout(ctx, 400*time.Millisecond)
				defer cancel()
				st, err := c.consult.WatchInbox(ctx, &tacitv1.WatchInboxRequest{})
				if err != nil {
					return err
				}
				_, err = st.Recv()
				if err == nil {
					watchDelivered = append(watchDelivered, c.label)
				}
				// Open, nothing to deliver yet. The stream's deadline is
				// this 400 ms alone: the server may end the stream on it
				// (RST_STREAM, seen here as DeadlineExceeded) a moment
				// before ctx itself reports it, so ctx.Err() is not asked.
				if status.Code(err) == codes.DeadlineExceeded {
					return nil
				}
				return err
			}},
		{name: "Audit/ListDeemedApprovals", method: aus + "ListDeemedApprovals", want: roles(ok, ok, ok, ok, ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				_, err := c.audit.ListDeemedApprovals(ctx, &tacitv1.ListDeemedApprovalsRequest{})
				return err
			}},
		{name: "Audit/ListAgencyStats", method: aus + "ListAgencyStats", want: roles(ok, ok, ok, ok, ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				_, err := c.audit.ListAgencyStats(ctx, &tacitv1.ListAgencyStatsRequest{})
				return err
			}},
		{name: "Audit/ListEvents", method: aus + "ListEvents", want: roles(pd, pd, pd, ok, ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				_, err := c.audit.ListEvents(ctx, &tacitv1.ListEventsRequest{PageSize: 10})
				return err
			}},
		{name: "Audit/VerifyAuditLog", method: aus + "VerifyAuditLog", want: roles(pd, pd, pd, ok, ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				res, err := c.audit.VerifyAuditLog(ctx, &tacitv1.VerifyAuditLogRequest{})
				if err == nil && !res.GetIntact() {
					return fmt.Errorf("the audit log is not intact: %s", res.GetProblem())
				}
				return err
			}},
		{name: "Registry/ImportRegistry", method: rs + "ImportRegistry", write: true, want: roles(pd, pd, pd, pd, ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				res, err := c.registry.ImportRegistry(ctx, sameAgency)
				if err == nil && (res.GetUnchanged() != 1 || res.GetAgenciesCreated()+res.GetAgenciesUpdated()+res.GetFieldsCreated()+res.GetFieldsUpdated() != 0) {
					return fmt.Errorf("re-importing so-y-te unchanged reported %v, want unchanged: 1 and nothing else", res)
				}
				return err
			}},
		{name: "Registry/GetAgency", method: rs + "GetAgency", want: roles(ok, ok, ok, ok, ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				_, err := c.registry.GetAgency(ctx, &tacitv1.GetAgencyRequest{Code: "so-xay-dung"})
				return err
			}},
		{name: "Registry/ListAgencies", method: rs + "ListAgencies", want: roles(ok, ok, ok, ok, ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				_, err := c.registry.ListAgencies(ctx, &tacitv1.ListAgenciesRequest{})
				return err
			}},
		{name: "Registry/ListFields", method: rs + "ListFields", want: roles(ok, ok, ok, ok, ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				_, err := c.registry.ListFields(ctx, &tacitv1.ListFieldsRequest{})
				return err
			}},
		{name: "Calendar/GetCalendar", method: cls + "GetCalendar", want: roles(ok, ok, ok, ok, ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				_, err := c.calendar.GetCalendar(ctx, &tacitv1.GetCalendarRequest{Year: 2026})
				return err
			}},
		{name: "Calendar/ComputeDeadline", method: cls + "ComputeDeadline", want: roles(ok, ok, ok, ok, ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				_, err := c.calendar.ComputeDeadline(ctx, &tacitv1.ComputeDeadlineRequest{
					From: timestamppb.New(time.Date(2026, 4, 24, 9, 0, 0, 0, vnZone)), WorkingDays: 5})
				return err
			}},
		{name: "Admin/GetStatus", method: ads + "GetStatus", want: roles(pd, pd, pd, pd, ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				_, err := c.admin.GetStatus(ctx, &tacitv1.GetStatusRequest{})
				return err
			}},
		{name: "Admin/Backup", method: ads + "Backup", want: roles(pd, pd, pd, pd, ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				st, err := c.admin.Backup(ctx, &tacitv1.BackupRequest{})
				if err != nil {
					return err
				}
				n := 0
				for {
					res, err := st.Recv()
					if err == io.EOF {
						break
					}
					if err != nil {
						return err
					}
					n += len(res.GetData())
				}
				if n == 0 {
					return errors.New("the backup stream ended without data")
				}
				return nil
			}},
		{name: "health/Check", method: "/grpc.health.v1.Health/Check", want: everyone(ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				res, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{})
				if err == nil && res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
					return fmt.Errorf("health status %s", res.GetStatus())
				}
				return err
			}},
		{name: "reflection/ServerReflectionInfo", method: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", want: everyone(ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				st, err := c.reflection.ServerReflectionInfo(ctx)
				if err != nil {
					return err
				}
				defer st.CloseSend()
				if err := st.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
					return err
				}
				res, err := st.Recv()
				if err != nil {
					return err
				}
				var names []string
				for _, s := range res.GetListServicesResponse().GetService() {
					names = append(names, s.GetName())
				}
				for _, want := range serviceNames {
					if !slices.Contains(names, want) {
						return fmt.Errorf("reflection lists %v, missing %s", names, want)
					}
				}
				return nil
			}},

		// Variants: the same methods where the answer depends on the request.
		{name: "GetConsultation(missing id)", method: cs + "GetConsultation", variant: true, want: roles(nf, nf, nf, nf, nf),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				_, err := c.consult.GetConsultation(ctx, &tacitv1.GetConsultationRequest{Id: "999999"})
				return err
			}},
		{name: "Conclude(replies pending)", method: cs + "ConcludeConsultation", variant: true, write: true, want: roles(fp, pd, pd, pd, pd), prep: openFresh,
			call: func(ctx context.Context, c *mxClient, id string) error {
				_, err := c.consult.ConcludeConsultation(ctx, &tacitv1.ConcludeConsultationRequest{ConsultationId: id, Summary: "Kết luận sớm"})
				return err
			}},
		{name: "ListDeemedApprovals(agency=other)", method: aus + "ListDeemedApprovals", variant: true, want: roles(pd, pd, pd, ok, ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				_, err := c.audit.ListDeemedApprovals(ctx, &tacitv1.ListDeemedApprovalsRequest{Agency: "so-xay-dung"})
				return err
			}},
		{name: "ListAgencyStats(agency=other)", method: aus + "ListAgencyStats", variant: true, want: roles(pd, pd, pd, ok, ok),
			call: func(ctx context.Context, c *mxClient, _ string) error {
				_, err := c.audit.ListAgencyStats(ctx, &tacitv1.ListAgencyStatsRequest{Agency: "so-xay-dung"})
				return err
			}},
	}

	// Every RPC the five services declare is in the matrix.
	covered := map[string]bool{}
	for _, r := range rows {
		if !r.variant {
			covered[r.method] = true
		}
	}
	for _, fd := range []protoreflect.FileDescriptor{tacitv1.File_tacit_v1_consultation_proto, tacitv1.File_tacit_v1_audit_proto,
		tacitv1.File_tacit_v1_registry_proto, tacitv1.File_tacit_v1_calendar_proto, tacitv1.File_tacit_v1_admin_proto} {
		for i := 0; i < fd.Services().Len(); i++ {
			svc := fd.Services().Get(i)
			for j := 0; j < svc.Methods().Len(); j++ {
				if m := "/" + string(svc.FullName()) + "/" + string(svc.Methods().Get(j).Name()); !covered[m] {
					t.Errorf("RPC %s is not in the authorization matrix", m)
				}
			}
		}
	}

	snap := func(t *testing.T, target string) mxSnapshot {
		t.Helper()
		var s mxSnapshot
		if target != "" {
			res, err := auditor.consult.GetConsultation(rpcCtx(t), &tacitv1.GetConsultationRequest{Id: target})
			if err != nil {
				t.Fatalf("snapshot: reading consultation %s as the auditor: %v", target, err)
			}
			s.consultation = res.GetConsultation()
		}
		for tok := ""; ; {
			res, err := auditor.consult.ListConsultations(rpcCtx(t), &tacitv1.ListConsultationsRequest{PageSize: 500, PageToken: tok})
			if err != nil {
				t.Fatalf("snapshot: listing consultations as the auditor: %v", err)
			}
			for _, c := range res.GetConsultations() {
				s.consultations = append(s.consultations, c.GetId())
			}
			if tok = res.GetNextPageToken(); tok == "" {
				break
			}
		}
		for tok := ""; ; {
			res, err := auditor.audit.ListEvents(rpcCtx(t), &tacitv1.ListEventsRequest{PageSize: 1000, PageToken: tok})
			if err != nil {
				t.Fatalf("snapshot: listing audit events as the auditor: %v", err)
			}
			s.events += len(res.GetEvents())
			if n := len(res.GetEvents()); n > 0 {
				s.lastEvent = res.GetEvents()[n-1].GetHash()
			}
			if tok = res.GetNextPageToken(); tok == "" {
				break
			}
		}
		ags, err := auditor.registry.ListAgencies(rpcCtx(t), &tacitv1.ListAgenciesRequest{IncludeInactive: true, PageSize: 1000})
		if err != nil {
			t.Fatalf("snapshot: listing agencies: %v", err)
		}
		s.agencies = ags.GetAgencies()
		fs, err := auditor.registry.ListFields(rpcCtx(t), &tacitv1.ListFieldsRequest{})
		if err != nil {
			t.Fatalf("snapshot: listing fields: %v", err)
		}
		s.fields = fs.GetFields()
		return s
	}
	unchanged := func(t *testing.T, what string, before, after mxSnapshot) {
		t.Helper()
		if before.consultation != nil {
			sameRecord(t, what, before.consultation, after.consultation)
		}
		if !slices.Equal(before.consultations, after.consultations) {
			t.Errorf("%s changed the consultations: %d before %v, %d after %v", what, len(before.consultations), before.consultations, len(after.consultations), after.consultations)
		}
		if before.events != after.events || string(before.lastEvent) != string(after.lastEvent) {
			t.Errorf("%s changed the audit log: %d events before, %d after", what, before.events, after.events)
		}
		if !slices.EqualFunc(before.agencies, after.agencies, func(a, b *tacitv1.Agency) bool { return proto.Equal(a, b) }) ||
			!slices.EqualFunc(before.fields, after.fields, func(a, b *tacitv1.Field) bool { return proto.Equal(a, b) }) {
			t.Errorf("%s changed the registry", what)
		}
	}

	got := make([][nPrincipals]codes.Code, len(rows))
	var mismatches []string
	cells, checked := 0, 0
	for ri, r := range rows {
		for pi, c := range clients {
			cell := r.name + " as " + c.label
			cells++
			t.Run(strings.ReplaceAll(r.name, "/", ".")+"/"+c.label, func(t *testing.T) {
				target := ""
				if r.prep != nil {
					target = r.prep(t, cell)
				}
				before := snap(t, target)
				err := r.call(rpcCtx(t), c, target)
				code := status.Code(err)
				got[ri][pi] = code
				if code != r.want[pi] {
					mismatches = append(mismatches, fmt.Sprintf("%s as %s: got %s, want %s (%v)", r.name, c.label, code, r.want[pi], err))
					t.Errorf("%s as %s: gRPC code %s, want %s: %v", r.name, c.label, code, r.want[pi], err)
				}
				if msg := status.Convert(err).Message(); code == codes.Unauthenticated && !strings.Contains(msg, unauthReason[pi]) {
					t.Errorf("%s as %s: UNAUTHENTICATED says %q, want it to mention %q", r.name, c.label, msg, unauthReason[pi])
				}
				// A refused call changes nothing; neither does a read.
				if code != codes.OK || !r.write {
					unchanged(t, fmt.Sprintf("%s as %s (%s)", r.name, c.label, code), before, snap(t, target))
					checked++
				}
			})
		}
	}

	// ---- summary ----
	short := func(c codes.Code) string {
		switch c {
		case codes.OK:
			return "OK"
		case codes.PermissionDenied:
			return "DENIED"
		case codes.Unauthenticated:
			return "UNAUTH"
		case codes.NotFound:
			return "NOTFOUND"
		case codes.FailedPrecondition:
			return "PRECOND"
		case codes.InvalidArgument:
			return "INVALID"
		}
		return c.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-34s", "RPC \\ principal")
	for _, l := range principalLabels {
		fmt.Fprintf(&b, " %-10s", l)
	}
	b.WriteString("\n")
	for ri, r := range rows {
		fmt.Fprintf(&b, "%-34s", r.name)
		for pi := range principalLabels {
			s := short(got[ri][pi])
			if got[ri][pi] != r.want[pi] {
				s += "!" + short(r.want[pi])
			}
			fmt.Fprintf(&b, " %-10s", s)
		}
		b.WriteString("\n")
	}
	t.Logf("authorization matrix: %d RPCs (%d rows with variants) x %d principals = %d cells; %d cells checked to change nothing; %d mismatches; %s\n%s",
		len(covered), len(rows), nPrincipals, cells, checked, len(mismatches), time.Since(start).Round(time.Millisecond), b.String())
	t.Logf("WatchInbox delivered a first event within the wait to: %v", watchDelivered)
	for _, m := range mismatches {
		t.Log("MISMATCH " + m)
	}
}

// dialCert connects to srv with p's certificate from the PKI folder dir,
// trusting the server's CA.
func dialCert(t *testing.T, srv *tacitServer, dir string, p pki.Principal) *grpcClients {
	t.Helper()
	certFile, keyFile := pki.ClientFiles(dir, p)
	caFile, _ := pki.CAFiles(srv.pki)
	conf, err := pki.ClientTLSConfig(certFile, keyFile, caFile, "localhost")
	if err != nil {
		t.Fatalf("TLS config for %s from %s: %v", p, dir, err)
	}
	return dialTLS(t, srv, conf)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func parseCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM block", file)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parsing %s: %v", file, err)
	}
	return c
}
