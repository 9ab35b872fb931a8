package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParsePrincipal(t *testing.T) {
	tests := []struct {
		in      string
		want    Principal
		wantErr string // substring of the error; "" means success
	}{
		{in: "so-tai-chinh", want: Agency("so-tai-chinh")},
		{in: "agency:so-tai-chinh", want: Agency("so-tai-chinh")},
		{in: "auditor:kiem-toan", want: Auditor("kiem-toan")},
		{in: "admin:root", want: Admin("root")},
		{in: "  admin:root\n", want: Admin("root")},
		{in: "a", want: Agency("a")},
		{in: "0abc.def_g-h", want: Agency("0abc.def_g-h")},
		{in: strings.Repeat("x", 64), want: Agency(strings.Repeat("x", 64))},

		{in: "", wantErr: "empty principal"},
		{in: "   ", wantErr: "empty principal"},
		{in: "agency:", wantErr: "name is empty"},
		{in: ":foo", wantErr: "kind is empty"},
		{in: "root:alice", wantErr: `unknown kind "root"`},
		{in: "Admin:alice", wantErr: `unknown kind "Admin"`},
		{in: "admin:Alice", wantErr: "upper-case"},
		{in: "So-Tai-Chinh", wantErr: "upper-case"},
		{in: "so tai chinh", wantErr: `contains ' '`},
		{in: "agency:a/b", wantErr: `contains '/'`},
		{in: "agency:a:b", wantErr: `contains ':'`},
		{in: "agency:../etc", wantErr: "starts with '.'"},
		{in: "-x", wantErr: "starts with '-'"},
		{in: "_x", wantErr: "starts with '_'"},
		{in: "sở-tài-chính", wantErr: "non-ASCII"},
		{in: strings.Repeat("x", 65), wantErr: "maximum is 64"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePrincipal(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParsePrincipal(%q) = %v, want error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePrincipal(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePrincipal(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParsePrincipal(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			// Round trip through the canonical form.
			again, err := ParsePrincipal(got.String())
			if err != nil || again != got {
				t.Fatalf("round trip of %q: got %v, %v", got.String(), again, err)
			}
		})
	}
}

func TestParsePrincipalErrorsSayWhatIsAccepted(t *testing.T) {
	_, err := ParsePrincipal("root:alice")
	if err == nil || !strings.Contains(err.Error(), "agency, auditor, admin") {
		t.Fatalf("error should list accepted kinds: %v", err)
	}
	_, err = ParsePrincipal("agency:A")
	if err == nil || !strings.Contains(err.Error(), "lowercase letters") {
		t.Fatalf("error should describe the name rules: %v", err)
	}
}

func TestPrincipalString(t *testing.T) {
	if got := Agency("so-tai-chinh").String(); got != "agency:so-tai-chinh" {
		t.Fatalf("got %q", got)
	}
	if got := PrincipalURI(Auditor("kt")).String(); got != "tacit:principal:auditor:kt" {
		t.Fatalf("got %q", got)
	}
}

func TestFilePaths(t *testing.T) {
	dir := filepath.Join("x", "pki")
	c, k := CAFiles(dir)
	if c != filepath.Join(dir, "ca.crt") || k != filepath.Join(dir, "ca.key") {
		t.Fatalf("CAFiles = %q, %q", c, k)
	}
	c, k = ServerFiles(dir)
	if c != filepath.Join(dir, "server.crt") || k != filepath.Join(dir, "server.key") {
		t.Fatalf("ServerFiles = %q, %q", c, k)
	}
	c, k = ClientFiles(dir, Agency("so-tai-chinh"))
	if c != filepath.Join(dir, "clients", "agency", "so-tai-chinh.crt") ||
		k != filepath.Join(dir, "clients", "agency", "so-tai-chinh.key") {
		t.Fatalf("ClientFiles = %q, %q", c, k)
	}
	// Even invalid principals never map outside dir/clients.
	for _, p := range []Principal{{Kind: "../..", Name: "../../etc/passwd"}, {Kind: "", Name: ""}, Agency("..")} {
		c, k := ClientFiles(dir, p)
		for _, f := range []string{c, k} {
			rel, err := filepath.Rel(filepath.Join(dir, "clients"), f)
			if err != nil || strings.HasPrefix(rel, "..") || strings.Count(rel, string(filepath.Separator)) != 1 {
				t.Errorf("ClientFiles(%#v) = %q escapes clients folder", p, f)
			}
		}
	}
}

func TestInitIdempotent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	if HasCAKey(dir) {
		t.Fatal("HasCAKey before Init")
	}
	created, err := Init(dir)
	if err != nil || !created {
		t.Fatalf("Init = %v, %v; want true, nil", created, err)
	}
	if !HasCAKey(dir) {
		t.Fatal("HasCAKey after Init = false")
	}
	before := readFiles(t, dir)
	created, err = Init(dir)
	if err != nil || created {
		t.Fatalf("second Init = %v, %v; want false, nil", created, err)
	}
	if after := readFiles(t, dir); !equalFiles(before, after) {
		t.Fatal("second Init changed files")
	}

	ca := parseCertFile(t, filepath.Join(dir, "ca.crt"))
	if !ca.IsCA || ca.Subject.CommonName != CACommonName {
		t.Fatalf("CA: IsCA=%v CN=%q", ca.IsCA, ca.Subject.CommonName)
	}
	if err := ca.CheckSignatureFrom(ca); err != nil {
		t.Fatalf("CA not self-signed: %v", err)
	}
	if ca.PublicKeyAlgorithm != x509.ECDSA {
		t.Fatalf("CA key algorithm %v", ca.PublicKeyAlgorithm)
	}
	if d := ca.NotAfter.Sub(ca.NotBefore); d < 10*365*24*time.Hour {
		t.Fatalf("CA valid for %v only", d)
	}
	checkNotBefore(t, ca)
}

func TestEnsureDevPKI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	principals := []Principal{Agency("so-tai-chinh"), Auditor("kiem-toan"), Admin("root"), Agency("so-tai-chinh")}

	created, err := EnsureDevPKI(dir, principals)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CA", "server certificate",
		"client certificate agency:so-tai-chinh",
		"client certificate auditor:kiem-toan",
		"client certificate admin:root",
	}
	if !slices.Equal(created, want) {
		t.Fatalf("created = %q, want %q", created, want)
	}

	ca := parseCertFile(t, filepath.Join(dir, "ca.crt"))
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	// Server certificate.
	srvCert, _ := ServerFiles(dir)
	srv := parseCertFile(t, srvCert)
	if _, err := srv.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("server cert does not verify: %v", err)
	}
	for _, ip := range []string{"127.0.0.1", "::1"} {
		if err := srv.VerifyHostname(ip); err != nil {
			t.Errorf("server cert: %v", err)
		}
	}
	checkNotBefore(t, srv)

	// Client certificates.
	serials := map[string]bool{srv.SerialNumber.String(): true, ca.SerialNumber.String(): true}
	for _, p := range principals[:3] {
		certFile, keyFile := ClientFiles(dir, p)
		if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		c := parseCertFile(t, certFile)
		if c.Subject.CommonName != p.String() {
			t.Errorf("%s: CN = %q", p, c.Subject.CommonName)
		}
		if len(c.URIs) != 1 || c.URIs[0].String() != "tacit:principal:"+p.String() {
			t.Errorf("%s: URIs = %v", p, c.URIs)
		}
		if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
			t.Errorf("%s: ExtKeyUsage = %v", p, c.ExtKeyUsage)
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s: does not verify: %v", p, err)
		}
		got, err := PrincipalFromCert(c)
		if err != nil || got != p {
			t.Errorf("PrincipalFromCert = %v, %v; want %v", got, err, p)
		}
		if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
			t.Errorf("%s: serial %v out of range", p, c.SerialNumber)
		}
		if serials[c.SerialNumber.String()] {
			t.Errorf("%s: duplicate serial", p)
		}
		serials[c.SerialNumber.String()] = true
		checkNotBefore(t, c)
	}

	// Idempotent: nothing created, nothing changed.
	before := readFiles(t, dir)
	created, err = EnsureDevPKI(dir, principals)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 0 {
		t.Fatalf("second call created %q", created)
	}
	if after := readFiles(t, dir); !equalFiles(before, after) {
		t.Fatal("second EnsureDevPKI changed files")
	}

	// Adding a principal creates only its certificate.
	created, err = EnsureDevPKI(dir, append(principals, Agency("so-y-te")))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(created, []string{"client certificate agency:so-y-te"}) {
		t.Fatalf("created = %q", created)
	}

	// A missing key (e.g. after a crash) gets the pair re-issued.
	_, srvKey := ServerFiles(dir)
	if err := os.Remove(srvKey); err != nil {
		t.Fatal(err)
	}
	created, err = EnsureDevPKI(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(created, []string{"server certificate"}) {
		t.Fatalf("created = %q", created)
	}

	// No temporary files left behind.
	for name := range readFiles(t, dir) {
		if strings.Contains(filepath.Base(name), ".tmp-") {
			t.Errorf("leftover temporary file %s", name)
		}
	}
}

func TestEnsureDevPKIRejectsInvalidPrincipal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	_, err := EnsureDevPKI(dir, []Principal{Agency("../evil")})
	if err == nil {
		t.Fatal("want error")
	}
	if _, statErr := os.Stat(dir); !errors.Is(statErr, os.ErrNotExist) {
		t.Fatalf("dir created despite invalid principal: %v", statErr)
	}
}

func TestEnsureDevPKINewCAReissuesLeaves(t *testing.T) {
	dir := t.TempDir()
	p := Agency("so-tai-chinh")
	if _, err := EnsureDevPKI(dir, []Principal{p}); err != nil {
		t.Fatal(err)
	}
	caCert, caKey := CAFiles(dir)
	os.Remove(caCert)
	os.Remove(caKey)
	created, err := EnsureDevPKI(dir, []Principal{p})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"CA", "server certificate", "client certificate agency:so-tai-chinh"}
	if !slices.Equal(created, want) {
		t.Fatalf("created = %q, want %q", created, want)
	}
	ca := parseCertFile(t, caCert)
	cc, _ := ClientFiles(dir, p)
	if err := parseCertFile(t, cc).CheckSignatureFrom(ca); err != nil {
		t.Fatalf("client cert not signed by new CA: %v", err)
	}
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX permissions")
	}
	dir := filepath.Join(t.TempDir(), "pki")
	if _, err := EnsureDevPKI(dir, []Principal{Agency("so-tai-chinh"), Admin("root")}); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		var want os.FileMode
		switch {
		case d.IsDir():
			want = 0o700
		case strings.HasSuffix(path, ".key"):
			want = 0o600
			n++
		case strings.HasSuffix(path, ".crt"):
			want = 0o644
		default:
			t.Errorf("unexpected file %s", path)
			return nil
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("found %d key files, want 4", n)
	}
	// Re-issuing over existing files keeps the modes.
	certFile, keyFile, err := IssueClient(dir, Admin("root"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]os.FileMode{certFile: 0o644, keyFile: 0o600} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v after re-issue, want %v", f, fi.Mode().Perm(), want)
		}
	}
}

func TestIssueClientReissues(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(dir); err != nil {
		t.Fatal(err)
	}
	p := Auditor("kiem-toan")
	certFile, keyFile, err := IssueClient(dir, p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wantCert, wantKey := ClientFiles(dir, p)
	if certFile != wantCert || keyFile != wantKey {
		t.Fatalf("paths %q %q, want %q %q", certFile, keyFile, wantCert, wantKey)
	}
	first := parseCertFile(t, certFile)
	if d := first.NotAfter.Sub(first.NotBefore); d < time.Hour || d > time.Hour+6*time.Minute {
		t.Fatalf("validity %v, want about 1h (+5m backdate)", d)
	}
	if _, _, err := IssueClient(dir, p, time.Hour); err != nil {
		t.Fatal(err)
	}
	second := parseCertFile(t, certFile)
	if first.SerialNumber.Cmp(second.SerialNumber) == 0 {
		t.Fatal("IssueClient did not re-issue")
	}
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		t.Fatalf("re-issued pair does not match: %v", err)
	}
}

func TestIssueErrors(t *testing.T) {
	dir := t.TempDir()
	// No CA yet.
	if _, _, err := IssueClient(dir, Agency("x"), 0); err == nil || !strings.Contains(err.Error(), "ca.crt") {
		t.Fatalf("IssueClient without CA: %v", err)
	}
	if _, err := Init(dir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := IssueClient(dir, Principal{Kind: "root", Name: "x"}, 0); err == nil {
		t.Fatal("IssueClient with unknown kind succeeded")
	}
	if err := IssueServer(dir, nil, 0); err == nil {
		t.Fatal("IssueServer without hosts succeeded")
	}
	if err := IssueServer(dir, []string{"localhost:8443"}, 0); err == nil {
		t.Fatal("IssueServer with host:port succeeded")
	}
	// CA certificate without its key (e.g. key kept offline).
	_, caKey := CAFiles(dir)
	if err := os.Remove(caKey); err != nil {
		t.Fatal(err)
	}
	if HasCAKey(dir) {
		t.Fatal("HasCAKey after removing key")
	}
	err := IssueServer(dir, DevServerHosts(), 0)
	if err == nil || !strings.Contains(err.Error(), caKey) {
		t.Fatalf("IssueServer without CA key: %v", err)
	}
	if _, err := EnsureDevPKI(dir, nil); err == nil {
		t.Fatal("EnsureDevPKI without CA key succeeded")
	}
}

func TestIssueServerSANs(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(dir); err != nil {
		t.Fatal(err)
	}
	if err := IssueServer(dir, []string{"tacit.example.gov.vn", "10.0.0.1", "[fe80::1]", "localhost", "10.0.0.1", ""}, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	certFile, _ := ServerFiles(dir)
	c := parseCertFile(t, certFile)
	if !slices.Equal(c.DNSNames, []string{"tacit.example.gov.vn", "localhost"}) {
		t.Errorf("DNSNames = %q", c.DNSNames)
	}
	var ips []string
	for _, ip := range c.IPAddresses {
		ips = append(ips, ip.String())
	}
	if !slices.Equal(ips, []string{"10.0.0.1", "fe80::1"}) {
		t.Errorf("IPAddresses = %q", ips)
	}
	if c.Subject.CommonName != "tacit.example.gov.vn" {
		t.Errorf("CN = %q", c.Subject.CommonName)
	}
	if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("ExtKeyUsage = %v", c.ExtKeyUsage)
	}
}

func TestPrincipalFromCert(t *testing.T) {
	uri := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	tests := []struct {
		name    string
		cn      string
		uris    []*url.URL
		want    Principal
		wantErr bool
	}{
		{name: "uri", cn: "admin:root", uris: []*url.URL{uri("tacit:principal:agency:so-tai-chinh")}, want: Agency("so-tai-chinh")},
		{name: "uri without CN", uris: []*url.URL{uri("spiffe://x/y"), uri("tacit:principal:auditor:kt")}, want: Auditor("kt")},
		{name: "cn fallback", cn: "admin:root", want: Admin("root")},
		{name: "cn bare name", cn: "so-tai-chinh", want: Agency("so-tai-chinh")},
		{name: "other uris ignored", cn: "auditor:kt", uris: []*url.URL{uri("https://example.org/"), uri("tacit:other:x")}, want: Auditor("kt")},
		{name: "neither", cn: "Not A Principal", wantErr: true},
		{name: "empty", wantErr: true},
		{name: "bad uri no fallback", cn: "admin:root", uris: []*url.URL{uri("tacit:principal:root:x")}, wantErr: true},
		{name: "uri missing kind", uris: []*url.URL{uri("tacit:principal:so-tai-chinh")}, wantErr: true},
		{name: "conflicting uris", uris: []*url.URL{uri("tacit:principal:agency:a"), uri("tacit:principal:admin:a")}, wantErr: true},
		{name: "duplicate uris", uris: []*url.URL{uri("tacit:principal:agency:a"), uri("tacit:principal:agency:a")}, want: Agency("a")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &x509.Certificate{URIs: tt.uris}
			c.Subject.CommonName = tt.cn
			got, err := PrincipalFromCert(c)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %v, want error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := PrincipalFromCert(nil); err == nil {
		t.Fatal("nil certificate: want error")
	}
}

// handshake runs a TLS handshake over a loopback connection. It returns the
// principal the server derived from the verified client certificate, the
// server's handshake error and the client's error (handshake or first read).
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (Principal, error, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback networking: %v", err)
	}
	defer ln.Close()

	type result struct {
		p   Principal
		err error
	}
	done := make(chan result, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer raw.Close()
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		conn := tls.Server(raw, serverCfg)
		if err := conn.Handshake(); err != nil {
			done <- result{err: err}
			return
		}
		st := conn.ConnectionState()
		if len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
			done <- result{err: errors.New("no verified client chain")}
			return
		}
		p, err := PrincipalFromCert(st.VerifiedChains[0][0])
		if err == nil {
			_, err = io.WriteString(conn, p.String()+"\n")
		}
		done <- result{p: p, err: err}
	}()

	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	conn := tls.Client(raw, clientCfg)
	clientErr := conn.Handshake()
	if clientErr == nil {
		// With TLS 1.3 the server verifies the client certificate after the
		// client's handshake has completed; a rejection shows up on read.
		buf := make([]byte, 128)
		var n int
		n, clientErr = conn.Read(buf)
		if clientErr == nil && !bytes.HasSuffix(buf[:n], []byte("\n")) {
			clientErr = errors.New("short reply")
		}
	}
	r := <-done
	return r.p, r.err, clientErr
}

func TestTLSHandshake(t *testing.T) {
	dir := t.TempDir()
	principals := []Principal{Agency("so-tai-chinh"), Auditor("kiem-toan"), Admin("root")}
	if _, err := EnsureDevPKI(dir, principals); err != nil {
		t.Fatal(err)
	}
	caFile, _ := CAFiles(dir)
	srvCert, srvKey := ServerFiles(dir)
	serverCfg, err := ServerTLSConfig(srvCert, srvKey, caFile)
	if err != nil {
		t.Fatal(err)
	}
	if serverCfg.ClientAuth != tls.RequireAndVerifyClientCert || serverCfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("server config: ClientAuth=%v MinVersion=%x", serverCfg.ClientAuth, serverCfg.MinVersion)
	}

	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, p := range principals {
			t.Run(tls.VersionName(version)+"/"+p.String(), func(t *testing.T) {
				certFile, keyFile := ClientFiles(dir, p)
				clientCfg, err := ClientTLSConfig(certFile, keyFile, caFile, "")
				if err != nil {
					t.Fatal(err)
				}
				if clientCfg.ServerName != "localhost" {
					t.Fatalf("ServerName = %q", clientCfg.ServerName)
				}
				clientCfg.MaxVersion = version
				got, serverErr, clientErr := handshake(t, serverCfg, clientCfg)
				if serverErr != nil || clientErr != nil {
					t.Fatalf("server error: %v; client error: %v", serverErr, clientErr)
				}
				if got != p {
					t.Fatalf("server saw %v, want %v", got, p)
				}
			})
		}
	}

	t.Run("server name via IP", func(t *testing.T) {
		certFile, keyFile := ClientFiles(dir, principals[0])
		clientCfg, err := ClientTLSConfig(certFile, keyFile, caFile, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if _, serverErr, clientErr := handshake(t, serverCfg, clientCfg); serverErr != nil || clientErr != nil {
			t.Fatalf("server error: %v; client error: %v", serverErr, clientErr)
		}
	})

	t.Run("wrong server name", func(t *testing.T) {
		certFile, keyFile := ClientFiles(dir, principals[0])
		clientCfg, err := ClientTLSConfig(certFile, keyFile, caFile, "tacit.example.org")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, clientErr := handshake(t, serverCfg, clientCfg); clientErr == nil {
			t.Fatal("client accepted a server certificate for another name")
		}
	})

	t.Run("server certificate as client certificate", func(t *testing.T) {
		// Signed by the right CA but lacks ExtKeyUsage ClientAuth.
		clientCfg, err := ClientTLSConfig(srvCert, srvKey, caFile, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, serverErr, _ := handshake(t, serverCfg, clientCfg); serverErr == nil {
			t.Fatal("server accepted a certificate without ClientAuth usage")
		}
	})
}

func TestTLSRejectsForeignCA(t *testing.T) {
	dir := t.TempDir()
	other := t.TempDir()
	p := Admin("root")
	if _, err := EnsureDevPKI(dir, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureDevPKI(other, []Principal{p}); err != nil {
		t.Fatal(err)
	}
	caFile, _ := CAFiles(dir)
	srvCert, srvKey := ServerFiles(dir)
	serverCfg, err := ServerTLSConfig(srvCert, srvKey, caFile)
	if err != nil {
		t.Fatal(err)
	}
	// The client trusts the real server but presents a certificate issued
	// by another CA.
	certFile, keyFile := ClientFiles(other, p)
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			clientCfg, err := ClientTLSConfig(certFile, keyFile, caFile, "localhost")
			if err != nil {
				t.Fatal(err)
			}
			clientCfg.MaxVersion = version
			_, serverErr, clientErr := handshake(t, serverCfg, clientCfg)
			if serverErr == nil {
				t.Fatal("server accepted a client certificate from a foreign CA")
			}
			var unknown x509.UnknownAuthorityError
			if !errors.As(serverErr, &unknown) && !strings.Contains(serverErr.Error(), "certificate") {
				t.Fatalf("unexpected server error: %v", serverErr)
			}
			if clientErr == nil {
				t.Fatal("client did not notice the rejection")
			}
		})
	}
}

func TestTLSConfigErrorsNameFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := EnsureDevPKI(dir, nil); err != nil {
		t.Fatal(err)
	}
	srvCert, srvKey := ServerFiles(dir)
	caFile, _ := CAFiles(dir)
	missing := filepath.Join(dir, "missing.crt")
	bogus := filepath.Join(dir, "bogus.crt")
	if err := os.WriteFile(bogus, []byte("not pem"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		fn   func() error
		file string
	}{
		{"server missing CA", func() error { _, err := ServerTLSConfig(srvCert, srvKey, missing); return err }, missing},
		{"server bogus CA", func() error { _, err := ServerTLSConfig(srvCert, srvKey, bogus); return err }, bogus},
		{"server missing cert", func() error { _, err := ServerTLSConfig(missing, srvKey, caFile); return err }, missing},
		{"client missing CA", func() error { _, err := ClientTLSConfig(srvCert, srvKey, missing, ""); return err }, missing},
		{"client bogus cert", func() error { _, err := ClientTLSConfig(bogus, srvKey, caFile, ""); return err }, bogus},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.fn()
			if err == nil || !strings.Contains(err.Error(), c.file) {
				t.Fatalf("error %v does not name %s", err, c.file)
			}
		})
	}
}

// helpers

func parseCertFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("%s: not a single PEM certificate", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func checkNotBefore(t *testing.T, c *x509.Certificate) {
	t.Helper()
	d := time.Since(c.NotBefore)
	if d < 5*time.Minute-time.Second || d > 6*time.Minute {
		t.Errorf("%s: NotBefore is %v ago, want about 5m", c.Subject.CommonName, d)
	}
	if c.SerialNumber.Cmp(big.NewInt(0)) <= 0 {
		t.Errorf("%s: non-positive serial", c.Subject.CommonName)
	}
}

type fileState struct {
	data    []byte
	modTime time.Time
	mode    os.FileMode
}

func readFiles(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	m := map[string]fileState{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		m[path] = fileState{data: data, modTime: fi.ModTime(), mode: fi.Mode()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func equalFiles(a, b map[string]fileState) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok || !bytes.Equal(x.data, y.data) || !x.modTime.Equal(y.modTime) || x.mode != y.mode {
			return false
		}
	}
	return true
}
