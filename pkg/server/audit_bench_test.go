package server

// Benchmarks of the auditors' reads over a store of 100,000 consultations
// spread over a year: a page of deemed approvals (from the indexes) and the
// per-agency figures (from the per-day counters). The store is built once
// per test process, only when a benchmark runs, through the storage API:
// a thousand goroutines call Create at once, so bbolt's Batch groups them
// into shared commits, with fsync off while building.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	bbolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/pki"
	"github.com/tacit-gov/tacit/pkg/registry"
	"github.com/tacit-gov/tacit/pkg/storage"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

const benchConsultations = 100_000

// The year the benchmark store covers, from a Monday morning in Hà Nội.
var (
	benchStart = t0
	benchEnd   = benchStart.AddDate(1, 0, 0)
)

// benchData is the data folder built once per process.
var benchData struct {
	once    sync.Once
	dir     string
	err     error
	setup   time.Duration
	size    int64 // the file
	inUse   int64 // bytes of pages holding data, summed over buckets
	deemed  int
	records int
}

// TestMain removes the benchmark stores (when any were built) after the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchData.dir != "" {
		os.RemoveAll(benchData.dir)
	}
	removeSweepTemplates()
	os.Exit(code)
}

// benchRecord builds consultation id as it stands at the end of its life:
// opened at a time that grows with the id, with 1–4 eligible addressees,
// about two thirds replying in time, some asking for (and some getting)
// more time, the silent ones deemed to agree at their deadline, and half
// the settled consultations without disagreement concluded. It depends only
// on the id, so a retried batch rebuilds the same record.
func benchRecord(reg *registry.Registry, rules consultation.Config, idStr string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
	id, _ := strconv.ParseUint(idStr, 10, 64)
	rng := rand.New(rand.NewPCG(77, id))
	step := (benchEnd.Sub(benchStart) - 30*24*time.Hour) / benchConsultations
	created := benchStart.Add(time.Duration(id) * step)
	lead := simAgencies[rng.IntN(len(simAgencies))]
	var fields []string
	var eligible []simAgency
	for len(eligible) == 0 {
		fields = []string{simFields[rng.IntN(len(simFields))].GetCode()}
		eligible = eligible[:0]
		for _, a := range simAgencies {
			if a.code != lead.code && simCovers(a.mandate, fields) {
				eligible = append(eligible, a)
			}
		}
	}
	rng.Shuffle(len(eligible), func(i, j int) { eligible[i], eligible[j] = eligible[j], eligible[i] })
	req := &tacitv1.OpenConsultationRequest{
		Title:      fmt.Sprintf("Lấy ý kiến thẩm định hồ sơ số %d/%d về %s", id, created.Year(), fields[0]),
		LegalBasis: "Luật Tổ chức chính quyền địa phương 2025", Fields: fields,
		EscalationReason: "Cần ý kiến cơ quan cấp trên",
		DeadlineSpec:     &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: int32(2 + rng.IntN(9))},
	}
	for _, a := range eligible[:1+rng.IntN(min(4, len(eligible)))] {
		req.Addressees = append(req.Addressees, a.code)
	}
	principal := pki.Agency(lead.code).String()
	c, err := consultation.Open(rules, reg, lead.code, principal, req, created)
	if err != nil {
		return nil, nil, err
	}
	c.Id, c.Name = idStr, "consultations/"+idStr
	evs := []consultation.Event{consultation.OpenedEvent(c, principal, created)}
	for _, a := range c.GetAddressees() {
		me := pki.Agency(a.GetAgency()).String()
		window := a.GetDeadline().AsTime().Sub(created)
		if rng.Float64() < 0.15 {
			asked := created.Add(window / 4)
			ev, err := consultation.RequestExtension(rules, c, a.GetAgency(), me, consultation.ExtensionInput{ByWorkingDays: int32(1 + rng.IntN(3)), Reason: "Cần thêm thời gian"}, asked)
			if err != nil {
				return nil, nil, err
			}
			evs = append(evs, ev...)
			ev, err = consultation.DecideExtension(rules, c, a.GetAgency(), principal, rng.Float64() < 0.6, "", asked.Add(time.Hour))
			if err != nil {
				return nil, nil, err
			}
			evs = append(evs, ev...)
		}
		if rng.Float64() < simAgencyByCode(a.GetAgency()).diligence {
			at := created.Add(window/2 + time.Duration(rng.Int64N(int64(window/2))))
			pos := simPositions[rng.IntN(len(simPositions))]
			ev, err := consultation.Reply(rules, c, a.GetAgency(), me, consultation.ReplyInput{Position: pos, Comment: "Ý kiến của cơ quan", SignerName: "Nguyễn Văn A", SignerRole: tacitv1.SignerRole_SIGNER_ROLE_HEAD}, at)
			if err != nil {
				return nil, nil, err
			}
			evs = append(evs, ev...)
		}
	}
	settle := created.Add(60 * 24 * time.Hour)
	if settle.After(benchEnd) {
		settle = benchEnd
	}
	evs = append(evs, consultation.Materialize(c, settle, reg.HeadAt, true)...)
	if rng.IntN(2) == 0 {
		if ev, err := consultation.Conclude(rules, c, principal, consultation.ConcludeInput{Summary: "Tổng hợp ý kiến", Proposal: "Phương án của cơ quan chủ trì"}, settle); err == nil {
			evs = append(evs, ev...)
		}
	}
	out := make([]*tacitv1.AuditEvent, 0, len(evs))
	for _, e := range evs {
		out = append(out, &tacitv1.AuditEvent{EventTime: timestamppb.New(e.Time), Actor: e.Actor, Type: e.Type,
			ConsultationId: idStr, Agency: e.Agency, Rule: e.Rule, Details: e.Details})
	}
	return c, out, nil
}

func buildBenchStore(b *testing.B) {
	start := time.Now()
	dir, err := os.MkdirTemp("", "tacit-bench-")
	if err != nil {
		benchData.err = err
		return
	}
	benchData.dir = dir
	st := openSimStore(b, dir)
	core, err := NewCore(context.Background(), st, simRules(), clockwork.NewFakeClockAt(benchStart), zerolog.Nop())
	if err != nil {
		benchData.err = err
		return
	}
	importSimRegistry(b, core)
	reg, rules := core.Registry(), simRules()

	var next, deemed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for range 1000 { // one bbolt batch holds up to 1000 writes
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= benchConsultations {
				c, _, err := st.Create(context.Background(), storage.IdempotencyKey{}, func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
					return benchRecord(reg, rules, id)
				})
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
				for _, a := range c.GetAddressees() {
					if a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
						deemed.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	select {
	case benchData.err = <-errs:
		return
	default:
	}
	st.DB().NoSync = false
	if err := st.DB().Sync(); err != nil {
		benchData.err = err
		return
	}
	benchData.err = st.DB().View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(_ []byte, bk *bbolt.Bucket) error {
			s := bk.Stats()
			benchData.inUse += int64(s.BranchInuse + s.LeafInuse)
			return nil
		})
	})
	if benchData.err != nil {
		return
	}
	if err := st.Close(); err != nil {
		benchData.err = err
		return
	}
	fi, err := os.Stat(filepath.Join(dir, "tacit.db"))
	if err != nil {
		benchData.err = err
		return
	}
	benchData.size, benchData.deemed, benchData.records = fi.Size(), int(deemed.Load()), benchConsultations
	benchData.setup = time.Since(start)
}

// benchAudit opens the cached store (building it the first time) and
// returns an AuditServer on it at the end of the simulated year.
func benchAudit(b *testing.B) AuditServer {
	b.Helper()
	benchData.once.Do(func() { buildBenchStore(b) })
	if benchData.err != nil {
		b.Fatalf("building the benchmark store: %v", benchData.err)
	}
	b.Logf("store: %d consultations, %d deemed approvals, file %.0f MiB (%.0f MiB of data), built in %s on %d CPU(s)",
		benchData.records, benchData.deemed, float64(benchData.size)/(1<<20), float64(benchData.inUse)/(1<<20), benchData.setup.Round(100*time.Millisecond), runtime.NumCPU())
	st, err := bolt.Open(benchData.dir, bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	core, err := NewCore(context.Background(), st, simRules(), clockwork.NewFakeClockAt(benchEnd), zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	return AuditServer{Core: core}
}

func reportStore(b *testing.B) {
	b.ReportMetric(float64(benchData.records), "consultations")
	b.ReportMetric(float64(benchData.size)/(1<<20), "store-MiB")
	b.ReportMetric(float64(benchData.inUse)/(1<<20), "data-MiB")
	b.ReportMetric(benchData.setup.Seconds(), "setup-s")
}

func BenchmarkListDeemedApprovalsPage(b *testing.B) {
	audit := benchAudit(b)
	mid := timestamppb.New(benchStart.AddDate(0, 6, 0))
	for _, bc := range []struct {
		name string
		req  *tacitv1.ListDeemedApprovalsRequest
		rows int
	}{
		{"unfiltered", &tacitv1.ListDeemedApprovalsRequest{PageSize: 100}, 100},
		{"agency", &tacitv1.ListDeemedApprovalsRequest{Agency: "so-tu-phap", PageSize: 100}, 100},
		{"unfiltered-since-mid-year", &tacitv1.ListDeemedApprovalsRequest{Since: mid, PageSize: 100}, 100},
		{"agency-since-mid-year", &tacitv1.ListDeemedApprovalsRequest{Agency: "bo-xay-dung", Since: mid, PageSize: 100}, 100},
		// Filters applied while walking an index (the field; a lead
		// together with an agency) read past the rows they drop, up to a
		// bounded number of entries per page: a filter matching nothing
		// returns an empty page with a cursor rather than walk the index.
		{"field", &tacitv1.ListDeemedApprovalsRequest{Field: "health", PageSize: 100}, 100},
		{"agency-and-lead", &tacitv1.ListDeemedApprovalsRequest{Agency: "so-tu-phap", Lead: "ubnd-phuong-bai-chay", PageSize: 100}, 100},
		{"agency-and-lead-matching-nothing", &tacitv1.ListDeemedApprovalsRequest{Agency: "so-tu-phap", Lead: "so-tu-phap", PageSize: 100}, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := as(simAuditor)
			res, err := audit.ListDeemedApprovals(ctx, bc.req)
			res = onWire(b, res)
			if err != nil || len(res.GetDeemedApprovals()) != bc.rows || (bc.rows > 0 && res.GetNextPageToken() == "") {
				b.Fatalf("first page: %d rows, token %q, %v; want %d rows", len(res.GetDeemedApprovals()), res.GetNextPageToken(), err, bc.rows)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				res, err := audit.ListDeemedApprovals(ctx, bc.req)
				if err != nil {
					b.Fatal(err)
				}
				// and encoded, as gRPC sends it
				if _, err := proto.Marshal(res); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportStore(b)
		})
	}
}

func BenchmarkListAgencyStats(b *testing.B) {
	audit := benchAudit(b)
	month := benchStart.AddDate(0, 5, 0)
	for _, bc := range []struct {
		name string
		req  *tacitv1.ListAgencyStatsRequest
	}{
		{"all-agencies-all-time", &tacitv1.ListAgencyStatsRequest{}},
		{"all-agencies-one-month", &tacitv1.ListAgencyStatsRequest{Since: timestamppb.New(month), Until: timestamppb.New(month.AddDate(0, 1, 0))}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := as(simAuditor)
			res, err := audit.ListAgencyStats(ctx, bc.req)
			if err != nil || len(res.GetStats()) != len(simAgencies) {
				b.Fatalf("%d rows, %v", len(res.GetStats()), err)
			}
			var opened int64
			for _, r := range res.GetStats() {
				opened += r.GetConsultationsOpened()
			}
			if bc.req.GetSince() == nil && opened != benchConsultations {
				b.Fatalf("the figures count %d consultations opened, want %d", opened, benchConsultations)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := audit.ListAgencyStats(ctx, bc.req); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportStore(b)
		})
	}
}
