package server

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc/codes"
)

// metrics are exported on --metrics-listen in Prometheus' text format.
type metrics struct {
	registry *prometheus.Registry
	handled  *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(c *Core) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_handled_total", Help: "RPCs completed on the server, by method and code.",
		}, []string{"grpc_service", "grpc_method", "grpc_code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "grpc_server_handling_seconds", Help: "Time to handle an RPC, by method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"grpc_service", "grpc_method"}),
	}
	m.registry.MustRegister(m.handled, m.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &stateCollector{c})
	return m
}

func splitMethod(full string) (service, method string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}

func (m *metrics) observe(fullMethod string, code codes.Code, d time.Duration) {
	if m == nil {
		return
	}
	svc, meth := splitMethod(fullMethod)
	m.handled.WithLabelValues(svc, meth, code.String()).Inc()
	m.latency.WithLabelValues(svc, meth).Observe(d.Seconds())
}

// stateCollector reads the service's totals at scrape time, from running
// counters in the store (no scan).
type stateCollector struct{ c *Core }

var (
	descOpen     = prometheus.NewDesc("tacit_consultations_open", "Consultations open now.", nil, nil)
	descTotal    = prometheus.NewDesc("tacit_consultations_total", "Consultations ever opened.", nil, nil)
	descPending  = prometheus.NewDesc("tacit_addressees_pending", "Addressees pending now, as recorded.", nil, nil)
	descDeemed   = prometheus.NewDesc("tacit_deemed_approvals_total", "Deemed approvals recorded.", nil, nil)
	descAudit    = prometheus.NewDesc("tacit_audit_entries_total", "Entries in the audit trail.", nil, nil)
	descLag      = prometheus.NewDesc("tacit_sweeper_lag_seconds", "Now minus the oldest passed deadline or reminder the sweeper has not yet processed.", nil, nil)
	descSize     = prometheus.NewDesc("tacit_bbolt_size_bytes", "Size of the bbolt data file.", nil, nil)
	descWrites   = prometheus.NewDesc("tacit_bbolt_page_writes_total", "Pages bbolt wrote to disk since start.", nil, nil)
	descWriteT   = prometheus.NewDesc("tacit_bbolt_write_seconds_total", "Time bbolt spent writing and syncing since start.", nil, nil)
	descCommits  = prometheus.NewDesc("tacit_bbolt_commits_total", "Durable commits (one sync each) since start; writes arriving together share one.", nil, nil)
	descCommitW  = prometheus.NewDesc("tacit_bbolt_committed_writes_total", "Writes the durable commits carried since start: over tacit_bbolt_commits_total, how many shared each sync.", nil, nil)
	descBusy     = prometheus.NewDesc("tacit_bbolt_writer_busy_seconds_total", "Time the store's one writer spent committing since start (transactions, syncs, index folds): when it grows as fast as the clock, writes queue for the writer.", nil, nil)
	descWatchers = prometheus.NewDesc("tacit_watchers", "Inbox streams open now.", nil, nil)
	descAgencies = prometheus.NewDesc("tacit_agencies", "Agencies in the registry.", nil, nil)
)

func (s *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpen, descTotal, descPending, descDeemed, descAudit, descLag, descSize, descWrites, descWriteT, descCommits, descCommitW, descBusy, descWatchers, descAgencies} {
		ch <- d
	}
}

func (s *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	if n, err := s.c.store.Counts(ctx); err == nil {
		gauge(descOpen, float64(n.OpenConsultations))
		counter(descTotal, float64(n.Consultations))
		gauge(descPending, float64(n.PendingAddressees))
		counter(descDeemed, float64(n.DeemedApprovals))
		counter(descAudit, float64(n.AuditEntries))
		gauge(descSize, float64(n.DataBytes))
		counter(descWrites, float64(n.PageWrites))
		counter(descWriteT, n.WriteTime.Seconds())
		counter(descCommits, float64(n.Commits))
		counter(descCommitW, float64(n.CommittedWrites))
		counter(descBusy, n.WriterBusy.Seconds())
	}
	if lag, err := s.c.SweeperLag(ctx); err == nil {
		gauge(descLag, lag.Seconds())
	}
	gauge(descWatchers, float64(s.c.watchers.Load()))
	gauge(descAgencies, float64(s.c.reg.Load().Len()))
}
