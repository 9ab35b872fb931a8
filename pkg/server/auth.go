package server

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/tacit-gov/tacit/pkg/pki"
)

type principalKey struct{}

// principalOf returns the authenticated principal of a request.
func principalOf(ctx context.Context) pki.Principal {
	p, _ := ctx.Value(principalKey{}).(pki.Principal)
	return p
}

// open methods need no identity (health checks, reflection).
func isOpenMethod(full string) bool {
	return len(full) > 0 && (hasPrefix(full, "/grpc.health.v1.") || hasPrefix(full, "/grpc.reflection."))
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// authenticate takes the principal from the verified client certificate,
// and nothing else. Agencies must be in the registry.
func (c *Core) authenticate(ctx context.Context) (pki.Principal, error) {
	pr, ok := peer.FromContext(ctx)
	if !ok {
		return pki.Principal{}, status.Error(codes.Unauthenticated, "no peer information: connect with mutual TLS and a client certificate")
	}
	ti, ok := pr.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.PeerCertificates) == 0 {
		return pki.Principal{}, status.Error(codes.Unauthenticated, "no client certificate: connect with mutual TLS and a certificate issued by this server's CA (tacit --as CODE, or tacit pki issue)")
	}
	// The handshake asks for a certificate without judging it, so that a
	// missing, foreign or expired one gets a clear UNAUTHENTICATED answer
	// here instead of a failed handshake.
	p, err := c.certs.principal(ti.State.PeerCertificates, c.clientCAs, c.clock.Now())
	if err != nil {
		return pki.Principal{}, err
	}
	if p.Kind == pki.KindAgency {
		if _, ok := c.reg.Load().Agency(p.Name); !ok {
			return pki.Principal{}, status.Errorf(codes.Unauthenticated, "the certificate is for %s, which is not an agency in the registry: ask the administrator to import it", p)
		}
	}
	return p, nil
}

// certCache remembers the certificate chains already verified, so that the
// signature checks (most of a small call's CPU time) run once per client
// rather than on every call. A hit is still checked against the chain's
// validity window at the present time; errors are not remembered.
type certCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verifiedChain
}

type verifiedChain struct {
	p                   pki.Principal
	notBefore, notAfter time.Time
}

// maxVerifiedChains bounds the cache; when full it starts again.
const maxVerifiedChains = 16384

func (cc *certCache) principal(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) (pki.Principal, error) {
	h := sha256.New()
	for _, c := range chain {
		h.Write(c.Raw)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	cc.mu.Lock()
	v, ok := cc.m[key]
	cc.mu.Unlock()
	if ok && !now.Before(v.notBefore) && !now.After(v.notAfter) {
		return v.p, nil
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, ic := range chain[1:] {
		inter.AddCert(ic)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: now})
	if err != nil {
		return pki.Principal{}, status.Errorf(codes.Unauthenticated, "the client certificate %q is not accepted (%v): use a current certificate issued by this server's CA", leaf.Subject.CommonName, err)
	}
	p, err := pki.PrincipalFromCert(leaf)
	if err != nil {
		return pki.Principal{}, status.Errorf(codes.Unauthenticated, "the client certificate names no tacit principal (%v): use a certificate from `tacit pki issue`", err)
	}
	v = verifiedChain{p: p, notBefore: leaf.NotBefore, notAfter: leaf.NotAfter}
	for _, c := range chains[0] {
		if c.NotBefore.After(v.notBefore) {
			v.notBefore = c.NotBefore
		}
		if c.NotAfter.Before(v.notAfter) {
			v.notAfter = c.NotAfter
		}
	}
	cc.mu.Lock()
	if cc.m == nil || len(cc.m) >= maxVerifiedChains {
		cc.m = map[[sha256.Size]byte]verifiedChain{}
	}
	cc.m[key] = v
	cc.mu.Unlock()
	return p, nil
}

func requestID(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		for _, k := range []string{"x-request-id", "request-id"} {
			if v := md.Get(k); len(v) > 0 {
				return v[0]
			}
		}
	}
	return ""
}

func (c *Core) logCall(method string, p pki.Principal, start time.Time, err error, ctx context.Context) {
	code := status.Code(err)
	c.metrics.observe(method, code, time.Since(start))
	lvl := zerolog.InfoLevel
	switch code {
	case codes.Internal, codes.Unknown, codes.DataLoss:
		lvl = zerolog.ErrorLevel
	}
	ev := c.log.WithLevel(lvl).Str("method", method).Str("principal", p.String()).Str("code", code.String()).
		Float64("latency_ms", float64(time.Since(start).Microseconds())/1000)
	if id := requestID(ctx); id != "" {
		ev = ev.Str("request_id", id)
	}
	if err != nil && lvl == zerolog.ErrorLevel {
		ev = ev.Str("error", status.Convert(err).Message())
	}
	ev.Msg("rpc")
}

func (c *Core) recovered(method string, r any) error {
	c.log.Error().Str("method", method).Str("panic", fmt.Sprint(r)).Bytes("stack", debug.Stack()).Msg("panic in handler")
	return status.Error(codes.Internal, "internal error: the server recovered from a fault while handling this request; nothing was stored. Report it to the operator")
}

// UnaryInterceptor authenticates, recovers from panics and logs one line
// per request.
func (c *Core) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	if isOpenMethod(info.FullMethod) {
		return handler(ctx, req)
	}
	p, err := c.authenticate(ctx)
	if err != nil {
		badUTF8.Delete(req)
	}
	defer func() {
		if r := recover(); r != nil {
			err = c.recovered(info.FullMethod, r)
		}
		c.logCall(info.FullMethod, p, start, err, ctx)
	}()
	if err != nil {
		return nil, err
	}
	if err := rejectBadUTF8(req); err != nil {
		return nil, err
	}
	if err := c.limiter.allow(p); err != nil {
		return nil, err
	}
	resp, err = handler(context.WithValue(ctx, principalKey{}, p), req)
	return resp, toStatus(err)
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w wrappedStream) Context() context.Context { return w.ctx }

// StreamInterceptor does for streams what UnaryInterceptor does.
func (c *Core) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	start := time.Now()
	if isOpenMethod(info.FullMethod) {
		return handler(srv, ss)
	}
	p, err := c.authenticate(ss.Context())
	defer func() {
		if r := recover(); r != nil {
			err = c.recovered(info.FullMethod, r)
		}
		c.logCall(info.FullMethod, p, start, err, ss.Context())
	}()
	if err != nil {
		return err
	}
	if err := c.limiter.allow(p); err != nil {
		return err
	}
	release, err := c.limiter.openStream(p)
	if err != nil {
		return err
	}
	defer release()
	return toStatus(handler(srv, wrappedStream{ss, context.WithValue(ss.Context(), principalKey{}, p)}))
}
