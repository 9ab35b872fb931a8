// Package pki manages the mutual-TLS public key infrastructure of tacit: a
// development CA, the server certificate and client certificates that carry
// principals (agency:<code>, auditor:<name>, admin:<name>), and the TLS
// configurations used by the gRPC server and clients.
//
// It uses only the Go standard library.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Kind is the kind of a principal.
type Kind string

// The principal kinds known to tacit.
const (
	KindAgency  Kind = "agency"
	KindAuditor Kind = "auditor"
	KindAdmin   Kind = "admin"
)

// MaxNameLen is the maximum length of a principal name.
const MaxNameLen = 64

// Kinds returns all known principal kinds.
func Kinds() []Kind { return []Kind{KindAgency, KindAuditor, KindAdmin} }

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	switch k {
	case KindAgency, KindAuditor, KindAdmin:
		return true
	}
	return false
}

// Principal is an identity carried in a client certificate.
type Principal struct {
	Kind Kind
	Name string
}

// String returns the canonical form "<kind>:<name>", e.g. "agency:so-tai-chinh".
func (p Principal) String() string { return string(p.Kind) + ":" + p.Name }

// Validate checks that p has a known kind and a well-formed name.
func (p Principal) Validate() error {
	if !p.Kind.Valid() {
		return fmt.Errorf("pki: invalid principal %q: %w", p.String(), kindError(string(p.Kind)))
	}
	if err := ValidateName(p.Name); err != nil {
		return fmt.Errorf("pki: invalid principal %q: %w", p.String(), err)
	}
	return nil
}

// Agency returns the principal agency:<code>. It does not validate code;
// use Validate or ParsePrincipal for untrusted input.
func Agency(code string) Principal { return Principal{Kind: KindAgency, Name: code} }

// Admin returns the principal admin:<name>.
func Admin(name string) Principal { return Principal{Kind: KindAdmin, Name: name} }

// Auditor returns the principal auditor:<name>.
func Auditor(name string) Principal { return Principal{Kind: KindAuditor, Name: name} }

const acceptedForms = `accepted forms: "agency:<code>", "auditor:<name>", "admin:<name>", or a bare name meaning an agency`

const nameRules = "names use lowercase letters a-z, digits 0-9, '-', '.', '_', are 1-64 characters long and start with a letter or digit"

func kindError(kind string) error {
	if kind == "" {
		return errors.New("kind is empty (accepted kinds: agency, auditor, admin)")
	}
	return fmt.Errorf("unknown kind %q (accepted kinds: agency, auditor, admin)", kind)
}

// ParsePrincipal parses "<kind>:<name>" or a bare name (which means an
// agency). Surrounding white space is ignored.
func ParsePrincipal(s string) (Principal, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return Principal{}, fmt.Errorf("pki: empty principal; %s", acceptedForms)
	}
	var p Principal
	if kind, name, ok := strings.Cut(s, ":"); ok {
		p = Principal{Kind: Kind(kind), Name: name}
		if !p.Kind.Valid() {
			return Principal{}, fmt.Errorf("pki: invalid principal %q: %w; %s", orig, kindError(kind), acceptedForms)
		}
	} else {
		p = Agency(s)
	}
	if err := ValidateName(p.Name); err != nil {
		return Principal{}, fmt.Errorf("pki: invalid principal %q: %w", orig, err)
	}
	return p, nil
}

// ValidateName checks a principal name against the naming rules: lowercase
// ASCII letters, digits, '-', '.', '_'; 1..64 characters; starting with a
// letter or digit. Valid names are safe to use as file names.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("name is empty; %s", nameRules)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("name is %d bytes long, the maximum is %d; %s", len(name), MaxNameLen, nameRules)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' || c == '.' || c == '_':
			if i == 0 {
				return fmt.Errorf("name %q starts with %q; %s", name, c, nameRules)
			}
		case c >= 'A' && c <= 'Z':
			return fmt.Errorf("name %q contains upper-case %q at position %d (use %q); %s",
				name, c, i+1, strings.ToLower(name), nameRules)
		default:
			if c >= 0x80 {
				return fmt.Errorf("name %q contains a non-ASCII character at position %d; %s", name, i+1, nameRules)
			}
			return fmt.Errorf("name %q contains %q at position %d; %s", name, c, i+1, nameRules)
		}
	}
	return nil
}

// Files in a PKI folder dir:
//
//	dir/ca.crt, dir/ca.key                     the CA
//	dir/server.crt, dir/server.key             the server certificate
//	dir/clients/<kind>/<name>.crt and .key     client certificates
//
// Private keys are written with mode 0600, certificates with 0644 and folders
// with 0700. Every file is written atomically (temporary file + rename).

// CAFiles returns the paths of the CA certificate and key in dir.
func CAFiles(dir string) (cert, key string) {
	return filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
}

// ServerFiles returns the paths of the server certificate and key in dir.
func ServerFiles(dir string) (cert, key string) {
	return filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
}

// ClientFiles returns the paths of the client certificate and key of p in
// dir. A valid principal maps to dir/clients/<kind>/<name>.{crt,key}; an
// invalid one is still mapped to a path inside dir/clients (unsafe characters
// are replaced by '_'), but IssueClient refuses to issue for it.
func ClientFiles(dir string, p Principal) (cert, key string) {
	base := filepath.Join(dir, "clients", safeFileName(string(p.Kind)), safeFileName(p.Name))
	return base + ".crt", base + ".key"
}

func clientDir(dir string, k Kind) string {
	return filepath.Join(dir, "clients", safeFileName(string(k)))
}

// safeFileName returns s unchanged if it is a valid name, otherwise a version
// of it that cannot escape its folder.
func safeFileName(s string) string {
	if ValidateName(s) == nil {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || (c == '.' && i > 0)
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// HasCAKey reports whether the CA private key is present in dir.
func HasCAKey(dir string) bool {
	_, key := CAFiles(dir)
	fi, err := os.Stat(key)
	return err == nil && fi.Mode().IsRegular()
}

func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("pki: checking %s: %w", path, err)
}

// pairUsable reports whether certFile and keyFile exist and form a matching
// key pair.
func pairUsable(certFile, keyFile string) bool {
	_, err := tls.LoadX509KeyPair(certFile, keyFile)
	return err == nil
}

func mkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki: creating folder %s: %w", dir, err)
	}
	return nil
}

// writeFileAtomic writes data to path via a temporary file in the same folder
// that is synced and then renamed over path, so that readers (and a crash)
// see either the old or the new complete file.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp uses 0600; set the final mode before any data is written.
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("pki: writing %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename durable where the platform supports it.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync() // best effort: not supported everywhere
	_ = d.Close()
}

// writeKeyAndCert writes key (0600) then cert (0644). The certificate is
// written last so that its presence implies a complete pair.
func writeKeyAndCert(certFile, keyFile string, certDER []byte, key crypto.Signer) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("pki: encoding private key for %s: %w", keyFile, err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
	if err := writeFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	return writeFileAtomic(certFile, certPEM, 0o644)
}

// CACommonName is the subject common name of the CA created by Init.
const CACommonName = "tacit development CA"

// Validity periods.
const (
	CAValidity = 10 * 365 * 24 * time.Hour
	// DefaultLeafValidity is used by EnsureDevPKI, and by IssueServer and
	// IssueClient when validFor <= 0.
	DefaultLeafValidity = 2 * 365 * 24 * time.Hour
	// backdate is how far NotBefore lies in the past, to tolerate clock skew.
	backdate = 5 * time.Minute
)

// PrincipalURIScheme is the scheme of the URI SAN carrying the principal:
// "tacit:principal:<kind>:<name>".
const PrincipalURIScheme = "tacit"

const principalURIPrefix = "principal:"

// PrincipalURI returns the URI SAN for p: tacit:principal:<kind>:<name>.
func PrincipalURI(p Principal) *url.URL {
	return &url.URL{Scheme: PrincipalURIScheme, Opaque: principalURIPrefix + p.String()}
}

// DevServerHosts returns the host names and addresses of the development
// server certificate.
func DevServerHosts() []string { return []string{"localhost", "127.0.0.1", "::1"} }

var organization = []string{"tacit"}

func randomSerial() (*big.Int, error) {
	var b [16]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("pki: generating serial number: %w", err)
		}
		n := new(big.Int).SetBytes(b[:])
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

func newKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generating ECDSA P-256 key: %w", err)
	}
	return k, nil
}

// Init creates a CA (ECDSA P-256, self-signed, valid 10 years, CN "tacit
// development CA") in dir unless dir/ca.crt already exists. It reports
// whether it created one. An existing CA is never replaced.
func Init(dir string) (created bool, err error) {
	certFile, keyFile := CAFiles(dir)
	exists, err := fileExists(certFile)
	if err != nil || exists {
		return false, err
	}
	if err := mkdirPrivate(dir); err != nil {
		return false, err
	}
	key, err := newKey()
	if err != nil {
		return false, err
	}
	serial, err := randomSerial()
	if err != nil {
		return false, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: CACommonName, Organization: organization},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return false, fmt.Errorf("pki: creating CA certificate %s: %w", certFile, err)
	}
	if err := writeKeyAndCert(certFile, keyFile, der, key); err != nil {
		return false, err
	}
	return true, nil
}

type ca struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// loadCA reads the CA certificate and key from dir.
func loadCA(dir string) (*ca, error) {
	certFile, keyFile := CAFiles(dir)
	certPEM, err := os.ReadFile(certFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("pki: no CA certificate in %s (create the CA first): %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("pki: reading CA certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("pki: CA key %s not found: certificates can only be issued where the CA key is present: %w", keyFile, err)
	}
	if err != nil {
		return nil, fmt.Errorf("pki: reading CA key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: loading CA from %s and %s: %w", certFile, keyFile, err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("pki: parsing CA certificate %s: %w", certFile, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("pki: %s is not a CA certificate", certFile)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("pki: CA key %s cannot sign (%T)", keyFile, pair.PrivateKey)
	}
	return &ca{cert: cert, key: signer}, nil
}

// issue signs a leaf certificate built from tmpl with a new key and writes
// it to certFile and keyFile. It fills in serial number and validity.
func (c *ca) issue(tmpl *x509.Certificate, validFor time.Duration, certFile, keyFile string) error {
	if validFor <= 0 {
		validFor = DefaultLeafValidity
	}
	now := time.Now()
	if now.After(c.cert.NotAfter) {
		return fmt.Errorf("pki: cannot issue %s: CA certificate expired on %s", certFile, c.cert.NotAfter.Format(time.RFC3339))
	}
	serial, err := randomSerial()
	if err != nil {
		return err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-backdate)
	tmpl.NotAfter = now.Add(validFor)
	if tmpl.NotAfter.After(c.cert.NotAfter) {
		// A certificate cannot usefully outlive its issuer.
		tmpl.NotAfter = c.cert.NotAfter
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid = true
	tmpl.IsCA = false
	key, err := newKey()
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, key.Public(), c.key)
	if err != nil {
		return fmt.Errorf("pki: creating certificate %s: %w", certFile, err)
	}
	return writeKeyAndCert(certFile, keyFile, der, key)
}

// IssueServer issues dir/server.crt and dir/server.key, signed by the CA in
// dir, valid for validFor (DefaultLeafValidity if <= 0), with ExtKeyUsage
// ServerAuth. Each entry of hosts becomes an IP SAN if it parses as an IP
// address (brackets around IPv6 addresses are allowed), otherwise a DNS SAN.
// The first host is also the subject CN. Existing files are replaced.
func IssueServer(dir string, hosts []string, validFor time.Duration) error {
	certFile, keyFile := ServerFiles(dir)
	var (
		dnsNames []string
		ips      []net.IP
		first    string
		seen     = map[string]bool{}
	)
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			h = h[1 : len(h)-1]
		}
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if seen[ip.String()] {
				continue
			}
			seen[ip.String()] = true
			ips = append(ips, ip)
		} else {
			h = strings.ToLower(strings.TrimSuffix(h, "."))
			if strings.ContainsAny(h, " /:@") {
				return fmt.Errorf("pki: issuing %s: %q is neither an IP address nor a DNS name (give hosts without port or scheme)", certFile, h)
			}
			if seen[h] {
				continue
			}
			seen[h] = true
			dnsNames = append(dnsNames, h)
		}
		if first == "" {
			first = h
		}
	}
	if first == "" {
		return fmt.Errorf("pki: issuing %s: no host names or IP addresses given", certFile)
	}
	c, err := loadCA(dir)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: first, Organization: organization},
		DNSNames:    dnsNames,
		IPAddresses: ips,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	return c.issue(tmpl, validFor, certFile, keyFile)
}

// IssueClient issues (or re-issues, replacing existing files) the client
// certificate of p, signed by the CA in dir and valid for validFor
// (DefaultLeafValidity if <= 0). The subject CN is p.String(); the
// certificate also carries the URI SAN tacit:principal:<kind>:<name> and
// ExtKeyUsage ClientAuth.
func IssueClient(dir string, p Principal, validFor time.Duration) (certPath, keyPath string, err error) {
	if err := p.Validate(); err != nil {
		return "", "", err
	}
	c, err := loadCA(dir)
	if err != nil {
		return "", "", err
	}
	certPath, keyPath = ClientFiles(dir, p)
	if err := mkdirPrivate(clientDir(dir, p.Kind)); err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: p.String(), Organization: organization},
		URIs:        []*url.URL{PrincipalURI(p)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if err := c.issue(tmpl, validFor, certPath, keyPath); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

// EnsureDevPKI creates whatever is missing in dir: the CA, a server
// certificate for localhost, 127.0.0.1 and ::1, and a client certificate for
// each principal. It returns human descriptions of what it created, e.g.
// "CA", "server certificate", "client certificate agency:so-tai-chinh".
//
// Existing certificates are left alone, with two exceptions where keeping
// them could not work: a certificate/key pair that is incomplete or does not
// match (e.g. after a crash) is re-issued, and if the CA itself had to be
// created, the server certificate and the listed clients' certificates are
// re-issued since existing ones cannot chain to the new CA.
func EnsureDevPKI(dir string, principals []Principal) (created []string, err error) {
	for _, p := range principals {
		if err := p.Validate(); err != nil {
			return nil, err
		}
	}
	newCA, err := Init(dir)
	if err != nil {
		return nil, err
	}
	if newCA {
		created = append(created, "CA")
	}
	if cert, key := ServerFiles(dir); newCA || !pairUsable(cert, key) {
		if err := IssueServer(dir, DevServerHosts(), DefaultLeafValidity); err != nil {
			return created, err
		}
		created = append(created, "server certificate")
	}
	done := map[Principal]bool{}
	for _, p := range principals {
		if done[p] {
			continue
		}
		done[p] = true
		if cert, key := ClientFiles(dir, p); !newCA && pairUsable(cert, key) {
			continue
		}
		if _, _, err := IssueClient(dir, p, DefaultLeafValidity); err != nil {
			return created, err
		}
		created = append(created, "client certificate "+p.String())
	}
	return created, nil
}

// PrincipalFromCert extracts the principal from a verified client
// certificate. The URI SAN tacit:principal:<kind>:<name> is preferred; if the
// certificate has none, the subject CN is parsed with ParsePrincipal. A
// malformed or ambiguous tacit:principal URI SAN is an error (there is no
// fallback to the CN in that case).
func PrincipalFromCert(c *x509.Certificate) (Principal, error) {
	if c == nil {
		return Principal{}, errors.New("pki: no client certificate")
	}
	var (
		found Principal
		have  bool
	)
	for _, u := range c.URIs {
		if u == nil || !strings.EqualFold(u.Scheme, PrincipalURIScheme) {
			continue
		}
		rest, ok := strings.CutPrefix(u.Opaque, principalURIPrefix)
		if !ok {
			continue // some other tacit: URI
		}
		kind, name, ok := strings.Cut(rest, ":")
		if !ok {
			return Principal{}, fmt.Errorf("pki: certificate URI SAN %q: want tacit:principal:<kind>:<name>", u.String())
		}
		p := Principal{Kind: Kind(kind), Name: name}
		if err := p.Validate(); err != nil {
			return Principal{}, fmt.Errorf("pki: certificate URI SAN %q: %w", u.String(), err)
		}
		if have && p != found {
			return Principal{}, fmt.Errorf("pki: certificate names two principals in URI SANs: %s and %s", found, p)
		}
		found, have = p, true
	}
	if have {
		return found, nil
	}
	p, err := ParsePrincipal(c.Subject.CommonName)
	if err != nil {
		return Principal{}, fmt.Errorf("pki: certificate has no tacit:principal URI SAN and its CN does not name a principal: %w", err)
	}
	return p, nil
}

func loadCertPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("pki: reading CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("pki: no PEM certificates found in %s", file)
	}
	return pool, nil
}

func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: loading certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return pair, nil
}

// ServerTLSConfig returns a TLS configuration for the server: it presents
// certFile/keyFile, requires a client certificate that verifies against the
// CA certificates in clientCAFile, and accepts TLS 1.2 and later.
func ServerTLSConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	pair, err := loadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	pool, err := loadCertPool(clientCAFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// ClientTLSConfig returns a TLS configuration for a client presenting
// certFile/keyFile and verifying the server against the CA certificates in
// caFile under serverName ("localhost" if empty).
func ClientTLSConfig(certFile, keyFile, caFile, serverName string) (*tls.Config, error) {
	pair, err := loadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	pool, err := loadCertPool(caFile)
	if err != nil {
		return nil, err
	}
	if serverName == "" {
		serverName = "localhost"
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		RootCAs:      pool,
		ServerName:   serverName,
		MinVersion:   tls.VersionTLS12,
	}, nil
}
