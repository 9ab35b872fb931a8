package server

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tacit-gov/tacit/pkg/pki"
)

// A principal over its rate gets RESOURCE_EXHAUSTED with a retry delay;
// other principals are not affected.
func TestRateLimitPerPrincipal(t *testing.T) {
	l := newLimiter(Limits{Rate: 1, Burst: 3})
	a, b := pki.Agency("so-nnmt"), pki.Agency("so-xay-dung")
	for i := range 3 {
		if err := l.allow(a); err != nil {
			t.Fatalf("request %d within the burst refused: %v", i+1, err)
		}
	}
	err := l.allow(a)
	st, _ := status.FromError(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("request over the burst: %v, want ResourceExhausted", err)
	}
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil || retry.GetRetryDelay().AsDuration() <= 0 {
		t.Errorf("no RetryInfo with a positive delay in %v", st.Details())
	}
	if err := l.allow(b); err != nil {
		t.Errorf("another principal was limited: %v", err)
	}
	if err := newLimiter(Limits{}).allow(a); err != nil {
		t.Errorf("rate 0 must mean no limit: %v", err)
	}
}

// A principal may keep only so many inbox streams; closing one frees a slot.
func TestStreamLimitPerPrincipal(t *testing.T) {
	l := newLimiter(Limits{WatchersPerPrincipal: 2})
	p := pki.Agency("so-nnmt")
	r1, err1 := l.openStream(p)
	_, err2 := l.openStream(p)
	if err1 != nil || err2 != nil {
		t.Fatalf("streams within the limit refused: %v %v", err1, err2)
	}
	if _, err := l.openStream(p); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("third stream: %v, want ResourceExhausted", err)
	}
	if _, err := l.openStream(pki.Agency("so-y-te")); err != nil {
		t.Errorf("another principal refused: %v", err)
	}
	r1()
	if _, err := l.openStream(p); err != nil {
		t.Errorf("a freed slot was not reusable: %v", err)
	}
}
