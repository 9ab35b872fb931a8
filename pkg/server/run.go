package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"golang.org/x/net/netutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/pki"
	"github.com/tacit-gov/tacit/pkg/registry"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

// Options configure `tacit serve`.
type Options struct {
	DataDir      string
	Listen       string
	Demo         bool
	RegistryFile string
	CalendarFile string
	MinNotice    time.Duration
	Reminder     consultation.Reminder
	// MetricsListen, when set, serves Prometheus metrics at /metrics on
	// this address (plain HTTP: keep it on a private interface).
	MetricsListen string
	// PprofListen, when set, serves Go's profiles at /debug/pprof/ on this
	// address (plain HTTP, for developers: keep it on loopback).
	PprofListen string
	// Limits on each principal's requests and streams; MaxConnections
	// bounds open connections (0: 10,000).
	Limits         Limits
	MaxConnections int
	Timezone       string
	// Explicit certificates; when all are empty a development PKI under
	// DataDir/pki is created and used.
	TLSCert, TLSKey, ClientCA string
	Log                       zerolog.Logger
	Clock                     clockwork.Clock // nil: the real clock
}

// Principals of the development PKI besides the registry's agencies.
var devPrincipals = []pki.Principal{pki.Admin("admin"), pki.Auditor("auditor")}

// TuneRuntime sets the garbage collector for tacit's load unless the
// operator chose with GOGC or GOMEMLIMIT: collect when the heap has grown
// by 400% rather than 100%, within a soft limit of 200 MiB. A write
// transaction holds many B-tree nodes for a moment (a sweep of thousands of
// deadlines), and collecting them again and again cost a third of the
// sweep's time; the limit keeps the heap within the same bound as before
// under the heaviest load. It returns the settings in force.
func TuneRuntime() (gcPercent int, memoryLimit int64) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(200 << 20)
	}
	gcPercent = debug.SetGCPercent(-1)
	debug.SetGCPercent(gcPercent)
	return gcPercent, debug.SetMemoryLimit(-1)
}

// Run serves until ctx is cancelled, then drains in-flight requests and
// closes the store.
func Run(ctx context.Context, o Options) error {
	log := o.Log
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	loc := calendar.Location()
	if o.Timezone != "" {
		l, err := time.LoadLocation(o.Timezone)
		if err != nil {
			return fmt.Errorf("--timezone %q is not a known time zone (%v): use an IANA name such as Asia/Ho_Chi_Minh", o.Timezone, err)
		}
		loc = l
	}
	if o.MinNotice < 0 {
		return fmt.Errorf("--min-notice %s is negative: give 0s or more", o.MinNotice)
	}
	var overrides *calendar.Overrides
	if o.CalendarFile != "" {
		ov, err := calendar.LoadOverrides(o.CalendarFile)
		if err != nil {
			return fmt.Errorf("--calendar: %w", err)
		}
		overrides = ov
	}
	cal := calendar.New(loc, overrides)
	rules := consultation.Config{Calendar: cal, MinNotice: o.MinNotice, DefaultWorkingDays: 15, Reminder: o.Reminder}
	if rules.Reminder == (consultation.Reminder{}) {
		rules.Reminder = consultation.DefaultReminder
	}

	st, err := bolt.Open(o.DataDir, bolt.Options{Migrating: func(from, to int, size int64) {
		log.Warn().Str("data", o.DataDir).Int("from", from).Int("to", to).Int64("bytes", size).
			Msgf("store: written by an older tacit (schema %d): copying it (%.1f GiB) next to itself, then migrating it to schema %d before serving; on a large store this takes a minute or more (41 s for 1,000,000 consultations): let it finish", from, float64(size)/(1<<30), to)
	}})
	if err != nil {
		return err
	}
	defer st.Close()
	for _, m := range st.Migrated {
		log.Warn().Str("data", o.DataDir).Msg("store: " + m)
	}
	core, err := NewCore(ctx, st, rules, o.Clock, log)
	if err != nil {
		return err
	}

	if o.Demo {
		if core.Registry().Len() == 0 {
			if err := loadRegistryFile(ctx, core, "demo registry", registry.Demo()); err != nil {
				return err
			}
		} else {
			log.Info().Msg("--demo: the data folder already has a registry; the demo registry was not loaded again")
		}
	}
	if o.RegistryFile != "" {
		data, err := os.ReadFile(o.RegistryFile)
		if err != nil {
			return fmt.Errorf("--registry: %w", err)
		}
		if err := loadRegistryFile(ctx, core, o.RegistryFile, data); err != nil {
			return err
		}
	}
	if n, err := core.ApplyCalendar(ctx); err != nil {
		return fmt.Errorf("recount deadlines with calendar %s: %w", cal.Version(), err)
	} else if n > 0 {
		log.Info().Int("consultations", n).Str("calendar", cal.Version()).Msg("calendar changed: open working-day deadlines recomputed (see the audit log)")
	}
	if core.Registry().Len() == 0 {
		log.Warn().Msg("the registry is empty: import one with `tacit agency import FILE` (as admin:admin) or start with --demo")
	}

	tlsCert, tlsKey, clientCA := o.TLSCert, o.TLSKey, o.ClientCA
	if tlsCert == "" && tlsKey == "" && clientCA == "" {
		dir := filepath.Join(o.DataDir, "pki")
		principals := append([]pki.Principal{}, devPrincipals...)
		for _, a := range core.Registry().Agencies() {
			principals = append(principals, pki.Agency(a.GetCode()))
		}
		created, err := pki.EnsureDevPKI(dir, principals)
		if err != nil {
			return fmt.Errorf("development PKI: %w", err)
		}
		if len(created) > 0 {
			log.Info().Str("dir", dir).Strs("created", created).Msg("development PKI: created certificates (for development only; use --tls-cert/--tls-key/--client-ca in production)")
		}
		tlsCert, tlsKey = pki.ServerFiles(dir)
		clientCA, _ = pki.CAFiles(dir)
		core.OnNewAgencies = func(codes []string) {
			for _, code := range codes {
				if _, _, err := pki.IssueClient(dir, pki.Agency(code), 0); err != nil {
					log.Error().Err(err).Str("agency", code).Msg("development PKI: could not issue a certificate")
				} else {
					log.Info().Str("agency", code).Msg("development PKI: issued a client certificate")
				}
			}
		}
	} else if tlsCert == "" || tlsKey == "" || clientCA == "" {
		return errors.New("--tls-cert, --tls-key and --client-ca go together: give all three, or none for the development PKI")
	}
	tlsConf, err := pki.ServerTLSConfig(tlsCert, tlsKey, clientCA)
	if err != nil {
		return err
	}
	core.clientCAs = tlsConf.ClientCAs
	core.limiter = newLimiter(o.Limits)
	tlsConf.ClientAuth = tls.RequestClientCert // verified per call in authenticate

	lis, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another server using it? choose another with --listen)", o.Listen, err)
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = 10000
	}
	lis = netutil.LimitListener(lis, o.MaxConnections)
	gs := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(tlsConf)),
		grpc.ForceServerCodecV2(newCodec()),
		grpc.MaxConcurrentStreams(256),
		grpc.MaxRecvMsgSize(4<<20),
		grpc.ChainUnaryInterceptor(core.UnaryInterceptor),
		grpc.ChainStreamInterceptor(core.StreamInterceptor),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		// Ping idle connections every 30s so idle inbox streams live through
		// proxies that cut connections silent for a minute.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 20 * time.Second}),
	)
	tacitv1.RegisterConsultationServiceServer(gs, ConsultationServer{Core: core})
	tacitv1.RegisterRegistryServiceServer(gs, RegistryServer{Core: core})
	tacitv1.RegisterAuditServiceServer(gs, AuditServer{Core: core})
	tacitv1.RegisterCalendarServiceServer(gs, CalendarServer{Core: core})
	tacitv1.RegisterAdminServiceServer(gs, AdminServer{Core: core})
	hs := health.NewServer()
	services := []string{"", tacitv1.ConsultationService_ServiceDesc.ServiceName, tacitv1.RegistryService_ServiceDesc.ServiceName,
		tacitv1.AuditService_ServiceDesc.ServiceName, tacitv1.CalendarService_ServiceDesc.ServiceName, tacitv1.AdminService_ServiceDesc.ServiceName}
	setHealth := func(st healthpb.HealthCheckResponse_ServingStatus) {
		for _, svc := range services {
			hs.SetServingStatus(svc, st)
		}
	}
	setHealth(healthpb.HealthCheckResponse_NOT_SERVING) // until the sweeper has caught up
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)

	if o.MetricsListen != "" {
		core.metrics = newMetrics(core)
		mlis, err := net.Listen("tcp", o.MetricsListen)
		if err != nil {
			return fmt.Errorf("--metrics-listen %s: %w", o.MetricsListen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(core.metrics.registry, promhttp.HandlerOpts{}))
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = msrv.Serve(mlis) }()
		defer msrv.Close()
		log.Info().Str("listen", mlis.Addr().String()).Msg("metrics at /metrics")
	}

	if o.PprofListen != "" {
		plis, err := net.Listen("tcp", o.PprofListen)
		if err != nil {
			return fmt.Errorf("--pprof-listen %s: %w", o.PprofListen, err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		psrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = psrv.Serve(plis) }()
		defer psrv.Close()
		log.Info().Str("listen", plis.Addr().String()).Msg("profiles at /debug/pprof/")
	}

	// Serving once the sweeper has caught up on deadlines that passed while
	// the service was down (reads are right before that too: they show the
	// effective state).
	var ready sync.Once
	core.onSweep = func(int, time.Time) {
		ready.Do(func() { setHealth(healthpb.HealthCheckResponse_SERVING) })
	}
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	sweepDone := make(chan struct{})
	go func() { defer close(sweepDone); core.RunSweeper(sweepCtx) }()

	serveErr := make(chan error, 1)
	go func() { serveErr <- gs.Serve(lis) }()
	log.Info().Str("listen", lis.Addr().String()).Str("data", o.DataDir).Int("agencies", core.Registry().Len()).
		Str("timezone", loc.String()).Str("calendar", cal.Version()).Dur("min_notice", o.MinNotice).Msg("tacit is serving")

	select {
	case <-ctx.Done():
		log.Info().Msg("shutting down: draining in-flight requests")
	case err := <-serveErr:
		stopSweep()
		<-sweepDone
		return fmt.Errorf("serve: %w", err)
	}
	hs.Shutdown()
	core.StopWatchers()
	done := make(chan struct{})
	go func() { gs.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		gs.Stop()
	}
	stopSweep()
	<-sweepDone
	log.Info().Msg("stopped")
	return nil
}

func loadRegistryFile(ctx context.Context, core *Core, name string, data []byte) error {
	req, err := registry.ParseFile(data)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	res, err := core.ImportRegistry(ctx, "system", req)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	core.log.Info().Str("source", name).Int("agencies_created", res.AgenciesCreated).Int("agencies_updated", res.AgenciesUpdated).
		Int("fields_created", res.FieldsCreated).Int("unchanged", res.Unchanged).Msg("registry loaded")
	return nil
}
