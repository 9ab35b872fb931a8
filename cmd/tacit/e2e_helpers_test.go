package main

// Harness for the end-to-end tests: the real tacit binary, built once,
// run as a server subprocess and as a CLI client, plus a Go gRPC client
// that uses the server's development PKI.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/pki"
)

// tacitBin is the binary under test, built by TestMain.
var tacitBin string

const (
	cmdTimeout   = 30 * time.Second // one CLI invocation
	readyTimeout = 15 * time.Second // a server becoming healthy
	stopTimeout  = 15 * time.Second // a server draining after SIGTERM
	pollEvery    = 50 * time.Millisecond
)

// Exit codes of the CLI (pkg/cli/root.go).
const (
	exitOK           = 0
	exitInvalid      = 3
	exitPrecondition = 4
	exitNotFound     = 5
	exitDenied       = 6
)

// vnZone is Vietnam's time (UTC+7, no daylight saving), in which the server
// words its deadlines.
var vnZone = time.FixedZone("ICT", 7*3600)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tacit-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	tacitBin = filepath.Join(dir, "tacit")
	args := []string{"build"}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "-o", tacitBin, ".")
	build := exec.Command("go", args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building tacit:", err)
		return 1
	}
	return m.Run()
}

// cleanEnv is the environment without TACIT_* variables, so a developer's
// settings cannot change what the tests run against.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TACIT_") {
			env = append(env, kv)
		}
	}
	return env
}

// clientEnv is cleanEnv for short-lived client commands. A binary built
// with -race sleeps a second before a successful exit so that other
// goroutines can still report races; a client has none left, so skip it.
func clientEnv() []string {
	env := cleanEnv()
	if !raceEnabled {
		return env
	}
	opts := "atexit_sleep_ms=0"
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GORACE="); ok {
			env[i] = "GORACE=" + strings.TrimSpace(v+" "+opts)
			return env
		}
	}
	return append(env, "GORACE="+opts)
}

// syncBuffer collects a subprocess's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tacitServer is a `tacit serve` subprocess.
type tacitServer struct {
	t        *testing.T
	data     string // --data
	addr     string // --listen
	pki      string // data/pki
	log      *syncBuffer
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	waitErr  error         // valid after done
	stopOnce sync.Once
	exitCode int
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startServer runs `tacit serve --demo --min-notice 0s` on a fresh data
// folder; extra flags are appended (a repeated flag overrides the default).
func startServer(t *testing.T, extra ...string) *tacitServer {
	t.Helper()
	return startServerOn(t, t.TempDir(), "", extra...)
}

// startServerOn runs a server on the given data folder and address (a free
// one when addr is empty) and waits until its health service says SERVING.
func startServerOn(t *testing.T, data, addr string, extra ...string) *tacitServer {
	t.Helper()
	fixed := addr != ""
	for attempt := 1; ; attempt++ {
		if !fixed {
			addr = freeAddr(t)
		}
		s := &tacitServer{t: t, data: data, addr: addr, pki: filepath.Join(data, "pki"), log: &syncBuffer{}, done: make(chan struct{})}
		args := append([]string{"serve", "--data", data, "--listen", addr, "--demo", "--min-notice", "0s"}, extra...)
		s.cmd = exec.Command(tacitBin, args...)
		s.cmd.Env = cleanEnv()
		s.cmd.Stdout = s.log
		s.cmd.Stderr = s.log
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("starting tacit serve: %v", err)
		}
		go func() {
			s.waitErr = s.cmd.Wait()
			close(s.done)
		}()
		t.Cleanup(func() {
			select {
			case <-s.done:
			default:
				if code := s.Stop(); code != 0 {
					t.Errorf("tacit serve exited %d after SIGTERM, want 0", code)
				}
			}
			if strings.Contains(s.log.String(), "WARNING: DATA RACE") {
				t.Errorf("the server reported a data race:\n%s", s.log.String())
			}
		})
		err := s.waitReady()
		if err == nil {
			return s
		}
		select {
		case <-s.done:
			if !fixed && attempt < 3 && strings.Contains(s.log.String(), "address already in use") {
				continue // lost the port to a parallel test; try another
			}
		default:
		}
		t.Fatalf("tacit serve on %s did not become ready: %v\nserver log:\n%s", addr, err, s.log.String())
	}
}

// waitReady polls a TCP connect and then grpc.health.v1 over TLS (no
// client certificate needed) until SERVING, at most readyTimeout.
func (s *tacitServer) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("the server exited: %v", s.waitErr)
		default:
		}
		if last = s.healthOnce(); last == nil {
			return nil
		}
		time.Sleep(pollEvery)
	}
	return fmt.Errorf("not ready after %s: %v", readyTimeout, last)
}

func (s *tacitServer) healthOnce() error {
	c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	c.Close()
	conf, err := s.serverOnlyTLS()
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	if res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health status %s", res.GetStatus())
	}
	return nil
}

// serverOnlyTLS trusts the server's development CA and presents no client
// certificate.
func (s *tacitServer) serverOnlyTLS() (*tls.Config, error) {
	caFile, _ := pki.CAFiles(s.pki)
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no certificate in " + caFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}, nil
}

// Stop sends SIGTERM, waits for the process to exit and returns its exit
// code. It kills the process if it does not stop within stopTimeout.
func (s *tacitServer) Stop() int {
	s.t.Helper()
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(stopTimeout):
			s.t.Errorf("tacit serve did not stop within %s of SIGTERM; killing it", stopTimeout)
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		s.exitCode = s.cmd.ProcessState.ExitCode()
	})
	return s.exitCode
}

// Log is what the server wrote so far (JSON log lines).
func (s *tacitServer) Log() string { return s.log.String() }

// runBin runs the tacit binary with args and returns stdout, stderr and the
// exit code.
func runBin(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	// A fresh working folder: never touch ./tacit-data of the source tree.
	return runIn(t, t.TempDir(), nil, args...)
}

// runIn runs the tacit binary in the folder dir with extra environment
// variables (NAME=value).
func runIn(t *testing.T, dir string, extraEnv []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tacitBin, args...)
	cmd.Env = append(clientEnv(), extraEnv...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("tacit %s: timed out after %s\nstderr:\n%s", strings.Join(args, " "), cmdTimeout, stderr.String())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("tacit %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

// run runs a client command against srv as the principal as.
func run(t *testing.T, srv *tacitServer, as string, args ...string) (string, string, int) {
	t.Helper()
	full := []string{"--server", srv.addr, "--pki", srv.pki}
	if as != "" {
		full = append(full, "--as", as)
	}
	return runBin(t, append(full, args...)...)
}

// mustRun runs a client command that must succeed and returns its stdout.
func mustRun(t *testing.T, srv *tacitServer, as string, args ...string) string {
	t.Helper()
	stdout, stderr, code := run(t, srv, as, args...)
	if code != exitOK {
		t.Fatalf("tacit --as %s %s: exit %d, want 0\nstderr:\n%s", as, strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// mustFail runs a client command that must fail with the exit code want
// and an error message holding every string in contains; it returns stderr.
func mustFail(t *testing.T, srv *tacitServer, as string, args []string, want int, contains ...string) string {
	t.Helper()
	stdout, stderr, code := run(t, srv, as, args...)
	if code != want {
		t.Errorf("tacit --as %s %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", as, strings.Join(args, " "), code, want, stdout, stderr)
	}
	for _, c := range contains {
		if !strings.Contains(stderr, c) {
			t.Errorf("tacit --as %s %s: stderr lacks %q:\n%s", as, strings.Join(args, " "), c, stderr)
		}
	}
	return stderr
}

// decodeJSON parses `-o json` output into m.
func decodeJSON(t *testing.T, out string, m proto.Message) {
	t.Helper()
	if err := protojson.Unmarshal([]byte(out), m); err != nil {
		t.Fatalf("parsing -o json output as %T: %v\n%s", m, err, out)
	}
}

// show is `tacit show ID -o json` as the principal as.
func show(t *testing.T, srv *tacitServer, as, id string) *tacitv1.Consultation {
	t.Helper()
	var res tacitv1.GetConsultationResponse
	decodeJSON(t, mustRun(t, srv, as, "show", id, "-o", "json"), &res)
	if res.GetConsultation().GetId() != id {
		t.Fatalf("show %s returned consultation %q", id, res.GetConsultation().GetId())
	}
	return res.GetConsultation()
}

// listAll is `tacit list -o json` as the auditor, who sees everything.
func listAll(t *testing.T, srv *tacitServer) []*tacitv1.Consultation {
	t.Helper()
	var res tacitv1.ListConsultationsResponse
	decodeJSON(t, mustRun(t, srv, "auditor:auditor", "list", "-o", "json"), &res)
	return res.GetConsultations()
}

// openCLI opens a consultation as lead with the CLI and returns its id
// (checking that stdout is just the id).
func openCLI(t *testing.T, srv *tacitServer, lead string, args ...string) string {
	t.Helper()
	out := mustRun(t, srv, lead, append([]string{"open"}, args...)...)
	id := strings.TrimSuffix(out, "\n")
	if id == "" || strings.ContainsAny(id, " \t\n") {
		t.Fatalf("open printed %q on stdout; want just the consultation id", out)
	}
	return id
}

// addressee returns the entry of agency in c.
func addressee(t *testing.T, c *tacitv1.Consultation, agency string) *tacitv1.Addressee {
	t.Helper()
	for _, a := range c.GetAddressees() {
		if a.GetAgency() == agency {
			return a
		}
	}
	t.Fatalf("consultation %s has no addressee %s", c.GetId(), agency)
	return nil
}

// waitDeemed polls `show -o json` until agency is deemed to agree (≤10s).
func waitDeemed(t *testing.T, srv *tacitServer, as, id, agency string) *tacitv1.Consultation {
	t.Helper()
	var c *tacitv1.Consultation
	waitFor(t, 10*time.Second, fmt.Sprintf("%s deemed to agree on %s", agency, id), func() bool {
		c = show(t, srv, as, id)
		return addressee(t, c, agency).GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED
	})
	return c
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(pollEvery)
	}
}

// sleepUntil waits until just after instant (bounded by the caller's
// short deadlines).
func sleepUntil(t *testing.T, instant time.Time) {
	t.Helper()
	d := time.Until(instant) + 50*time.Millisecond
	if d > 10*time.Second {
		t.Fatalf("refusing to sleep %s", d)
	}
	if d > 0 {
		time.Sleep(d)
	}
}

// grpcClients are stubs on one mutual-TLS connection.
type grpcClients struct {
	conn     *grpc.ClientConn
	consult  tacitv1.ConsultationServiceClient
	registry tacitv1.RegistryServiceClient
	audit    tacitv1.AuditServiceClient
}

// grpcClient dials srv with the principal's certificate from its PKI folder.
func grpcClient(t *testing.T, srv *tacitServer, principal string) *grpcClients {
	t.Helper()
	p, err := pki.ParsePrincipal(principal)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := pki.ClientFiles(srv.pki, p)
	caFile, _ := pki.CAFiles(srv.pki)
	conf, err := pki.ClientTLSConfig(certFile, keyFile, caFile, "localhost")
	if err != nil {
		t.Fatalf("TLS config for %s: %v", principal, err)
	}
	return dialTLS(t, srv, conf)
}

// dialTLS connects with the given TLS configuration.
func dialTLS(t *testing.T, srv *tacitServer, conf *tls.Config) *grpcClients {
	t.Helper()
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
	if err != nil {
		t.Fatalf("dial %s: %v", srv.addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &grpcClients{
		conn:     conn,
		consult:  tacitv1.NewConsultationServiceClient(conn),
		registry: tacitv1.NewRegistryServiceClient(conn),
		audit:    tacitv1.NewAuditServiceClient(conn),
	}
}

// rpcCtx is a bounded context for one call.
func rpcCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantCode checks the gRPC code of err.
func wantCode(t *testing.T, err error, want codes.Code) *status.Status {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != want {
		t.Errorf("gRPC code %s (%q), want %s", st.Code(), st.Message(), want)
	}
	return st
}

// fieldViolations are the BadRequest field paths of an error, in order.
func fieldViolations(st *status.Status) []string {
	var out []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

// preconditionViolations are the PreconditionFailure violations of an error.
func preconditionViolations(st *status.Status) []*errdetails.PreconditionFailure_Violation {
	var out []*errdetails.PreconditionFailure_Violation
	for _, d := range st.Details() {
		if pf, ok := d.(*errdetails.PreconditionFailure); ok {
			out = append(out, pf.GetViolations()...)
		}
	}
	return out
}

func subjects(vs []*errdetails.PreconditionFailure_Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.GetSubject()
	}
	return out
}

// sameSet reports whether a and b hold the same strings, ignoring order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// openArgs turns a request into the equivalent `tacit open` flags.
func openArgs(req *tacitv1.OpenConsultationRequest) []string {
	args := []string{"open"}
	if req.GetTitle() != "" {
		args = append(args, "--title", req.GetTitle())
	}
	if req.GetLegalBasis() != "" {
		args = append(args, "--legal-basis", req.GetLegalBasis())
	}
	if len(req.GetFields()) > 0 {
		args = append(args, "--field", strings.Join(req.GetFields(), ","))
	}
	if len(req.GetAddressees()) > 0 {
		args = append(args, "--to", strings.Join(req.GetAddressees(), ","))
	}
	if req.GetEscalationReason() != "" {
		args = append(args, "--reason", req.GetEscalationReason())
	}
	switch spec := req.GetDeadlineSpec().(type) {
	case *tacitv1.OpenConsultationRequest_Within:
		args = append(args, "--within", spec.Within.AsDuration().String())
	case *tacitv1.OpenConsultationRequest_WithinWorkingDays:
		args = append(args, "--within", fmt.Sprintf("%dwd", spec.WithinWorkingDays))
	case *tacitv1.OpenConsultationRequest_Deadline:
		args = append(args, "--deadline", spec.Deadline.AsTime().In(vnZone).Format(time.RFC3339))
	}
	return args
}

// sameRecord fails unless the consultation reads the same as before.
func sameRecord(t *testing.T, what string, before, after *tacitv1.Consultation) {
	t.Helper()
	if !proto.Equal(before, after) {
		t.Errorf("%s changed the consultation:\nbefore: %v\nafter:  %v", what, before, after)
	}
}
