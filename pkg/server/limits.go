package server

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tacit-gov/tacit/pkg/pki"
)

// Limits protect the service from a runaway or hostile client.
type Limits struct {
	// Rate and Burst bound each principal's requests (token bucket);
	// Rate 0 disables the limit.
	Rate  float64
	Burst int
	// WatchersPerPrincipal bounds one principal's open inbox streams.
	WatchersPerPrincipal int
}

// DefaultLimits suit a provincial deployment: an agency's document system
// may send 50 requests a second with bursts of 100, and keep 16 streams.
var DefaultLimits = Limits{Rate: 50, Burst: 100, WatchersPerPrincipal: 16}

type limiter struct {
	limits  Limits
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	streams map[string]int
}

func newLimiter(l Limits) *limiter {
	return &limiter{limits: l, buckets: map[string]*rate.Limiter{}, streams: map[string]int{}}
}

// allow takes a token for p, or returns RESOURCE_EXHAUSTED with the time
// to wait in a RetryInfo detail.
func (l *limiter) allow(p pki.Principal) error {
	if l == nil || l.limits.Rate <= 0 {
		return nil
	}
	l.mu.Lock()
	b := l.buckets[p.String()]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(l.limits.Rate), max(1, l.limits.Burst))
		l.buckets[p.String()] = b
	}
	l.mu.Unlock()
	r := b.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		st := status.Newf(codes.ResourceExhausted, "%s is sending more than %g requests a second: slow down and retry after %s", p, l.limits.Rate, d.Round(time.Millisecond))
		if ds, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)}); err == nil {
			return ds.Err()
		}
		return st.Err()
	}
	return nil
}

// openStream counts one more inbox stream for p, or refuses it.
func (l *limiter) openStream(p pki.Principal) (release func(), err error) {
	if l == nil || l.limits.WatchersPerPrincipal <= 0 {
		return func() {}, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.streams[p.String()] >= l.limits.WatchersPerPrincipal {
		return nil, status.Errorf(codes.ResourceExhausted, "%s already has %d inbox streams open, the most allowed: close one (one stream per system is enough; it resumes by sequence)", p, l.limits.WatchersPerPrincipal)
	}
	l.streams[p.String()]++
	return func() {
		l.mu.Lock()
		l.streams[p.String()]--
		l.mu.Unlock()
	}, nil
}
