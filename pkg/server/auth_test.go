package server

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tacit-gov/tacit/pkg/pki"
)

func readCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The signature checks run once per certificate chain, but what was
// verified is still judged at every call: a certificate that expires
// while its client stays connected is refused from then on, and another
// certificate is verified on its own.
func TestVerifiedChainsAreRememberedButExpire(t *testing.T) {
	dir := t.TempDir()
	if _, err := pki.Init(dir); err != nil {
		t.Fatal(err)
	}
	certFile, _, err := pki.IssueClient(dir, pki.Agency("so-tai-chinh"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caFile, _ := pki.CAFiles(dir)
	leaf, ca := readCert(t, certFile), readCert(t, caFile)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	empty := x509.NewCertPool()
	now := leaf.NotBefore.Add(time.Minute)

	var cc certCache
	if _, err := cc.principal([]*x509.Certificate{leaf}, empty, now); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("a chain no root vouches for: %v, want UNAUTHENTICATED", err)
	}
	p, err := cc.principal([]*x509.Certificate{leaf}, roots, now)
	if err != nil || p != pki.Agency("so-tai-chinh") {
		t.Fatalf("first call: %v %v, want agency:so-tai-chinh", p, err)
	}
	// Remembered: no verification happens (no root would vouch for it now).
	if p, err := cc.principal([]*x509.Certificate{leaf}, empty, now.Add(time.Minute)); err != nil || p != pki.Agency("so-tai-chinh") {
		t.Errorf("second call on the same chain: %v %v, want the remembered principal", p, err)
	}
	// Expired since: refused, even though it was remembered.
	if _, err := cc.principal([]*x509.Certificate{leaf}, roots, leaf.NotAfter.Add(time.Second)); status.Code(err) != codes.Unauthenticated {
		t.Errorf("the same chain after it expired: %v, want UNAUTHENTICATED", err)
	}
	if _, err := cc.principal([]*x509.Certificate{leaf}, empty, leaf.NotBefore.Add(-time.Second)); status.Code(err) != codes.Unauthenticated {
		t.Errorf("the same chain before it is valid: %v, want UNAUTHENTICATED", err)
	}
	// Another certificate is not taken for the remembered one.
	otherFile, _, err := pki.IssueClient(dir, pki.Agency("so-y-te"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.principal([]*x509.Certificate{readCert(t, otherFile)}, empty, now); status.Code(err) != codes.Unauthenticated {
		t.Errorf("another certificate with no root to vouch for it: %v, want UNAUTHENTICATED", err)
	}
}
