package bolt_test

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/registry"
	"github.com/tacit-gov/tacit/pkg/storage"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
	"github.com/tacit-gov/tacit/pkg/synth"
)

// Storage benchmarks: single writes are durable commits (fsync), so their
// time is mostly the disk's; the parallel variants show writes sharing
// commits. Reads run on a generated history of benchHistory consultations,
// made once per process (about 5 s).

const benchHistory = 20000

var (
	benchRules = consultation.DefaultConfig()
	benchOpen  = time.Date(2026, 3, 2, 9, 0, 0, 0, calendar.Location())
	benchReg   = sync.OnceValue(func() *registry.Registry {
		req, err := registry.ParseFile(registry.Demo())
		if err != nil {
			panic(err)
		}
		reg, _, err := registry.Empty().Apply(req, benchOpen.AddDate(-1, 0, 0))
		if err != nil {
			panic(err)
		}
		return reg
	})
	// benchAddressees have a mandate over land or urban planning and the
	// same level as the lead, so-nnmt, or lower.
	benchAddressees = []string{"so-xay-dung", "so-tai-chinh", "ubnd-phuong-ha-long", "ubnd-phuong-bai-chay", "ubnd-xa-tien-yen"}
)

// benchOpened is a consultation opened by the rules, with its audit entry.
func benchOpened(b *testing.B, id string, wd int32) (*tacitv1.Consultation, []*tacitv1.AuditEvent) {
	c, err := consultation.Open(benchRules, benchReg(), "so-nnmt", "agency:so-nnmt", &tacitv1.OpenConsultationRequest{
		Title: "Dự thảo điều chỉnh quy hoạch sử dụng đất " + id, LegalBasis: "Luật Đất đai 2024, Điều 76",
		Fields: []string{"land", "urban-planning"}, Addressees: benchAddressees,
		DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: wd},
	}, benchOpen)
	if err != nil {
		b.Fatal(err)
	}
	c.Id, c.Name = id, "consultations/"+id
	return c, consultation.AuditEvents([]consultation.Event{consultation.OpenedEvent(c, "agency:so-nnmt", benchOpen)}, c, benchOpen)
}

// benchStore is a new store holding n open consultations (ids 1..n) with a
// deadline wd working days after benchOpen, written by the bulk loader.
func benchStore(b *testing.B, n int, wd int32) *bolt.Store {
	b.Helper()
	s, err := bolt.Open(b.TempDir(), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	l, err := s.NewLoader(0)
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		c, events := benchOpened(b, strconv.Itoa(i), wd)
		if err := l.Events(events); err != nil {
			b.Fatal(err)
		}
		if err := l.Consultation(c); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkCreate(b *testing.B) {
	build := func(id string) (*tacitv1.Consultation, []*tacitv1.AuditEvent, error) {
		c, events := benchOpened(b, id, 10)
		return c, events, nil
	}
	b.Run("serial", func(b *testing.B) {
		s := benchStore(b, 0, 10)
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := s.Create(b.Context(), storage.IdempotencyKey{}, build); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s := benchStore(b, 0, 10)
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := s.Create(b.Context(), storage.IdempotencyKey{}, build); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkUpdateReply: an addressee's reply, as the Reply handler makes
// it, to a consultation with five addressees.
func BenchmarkUpdateReply(b *testing.B) {
	reply := func(agency string) storage.Mutation {
		return func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
			return consultation.Change(c, benchOpen.Add(2*time.Hour), func(string, time.Time) string { return "x" }, func(c *tacitv1.Consultation, now time.Time) ([]consultation.Event, error) {
				return consultation.Reply(benchRules, c, agency, "agency:"+agency, consultation.ReplyInput{
					Position: tacitv1.Position_POSITION_AGREE_WITH_COMMENTS, Comment: "Đề nghị làm rõ nguồn kinh phí thực hiện.",
					SignerName: "Trần Quốc Hưng", SignerRole: tacitv1.SignerRole_SIGNER_ROLE_HEAD,
				}, now)
			})
		}
	}
	b.Run("serial", func(b *testing.B) {
		s := benchStore(b, b.N, 30)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if _, _, err := s.Update(b.Context(), strconv.Itoa(i+1), storage.IdempotencyKey{}, reply("so-xay-dung")); err != nil {
				b.Fatal(err)
			}
		}
	})
	// In parallel, as the server runs them (16 goroutines sharing commits);
	// with a request id, as clients send them (the first result is kept).
	for _, withID := range []bool{false, true} {
		name := "parallel"
		if withID {
			name = "parallel-request-id"
		}
		b.Run(name, func(b *testing.B) {
			s := benchStore(b, b.N, 30)
			var next sync.Mutex
			id := 0
			before, err := s.Counts(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					next.Lock()
					id++
					my := id
					next.Unlock()
					key := storage.IdempotencyKey{}
					if withID {
						key = storage.IdempotencyKey{Principal: "agency:so-tai-chinh", Method: "Reply", ID: "r" + strconv.Itoa(my), Fingerprint: []byte(strconv.Itoa(my))}
					}
					if _, _, err := s.Update(b.Context(), strconv.Itoa(my), key, reply("so-tai-chinh")); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			after, err := s.Counts(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(after.PageWrites-before.PageWrites)/float64(b.N), "pages/op")
		})
	}
}

// BenchmarkSweepDue: one transaction of a sweep recording the deemed
// approvals of 100 consultations whose five addressees let their deadline
// pass; the sweep takes all b.N of them, one after another.
func BenchmarkSweepDue(b *testing.B) {
	const per = 100
	s := benchStore(b, b.N*per, 5)
	now := benchOpen.AddDate(0, 1, 0)
	head := func(string, time.Time) string { return "Nguyễn Văn Thiện" }
	b.ReportAllocs()
	b.ResetTimer()
	commits := 0
	n, err := s.SweepDue(b.Context(), now, per*5, func(c *tacitv1.Consultation) ([]*tacitv1.AuditEvent, error) {
		return consultation.Sweep(benchRules, c, now, head), nil
	}, func(int) { commits++ })
	if err != nil || n != b.N*per || commits != b.N {
		b.Fatalf("SweepDue = %d in %d transactions, %v; want %d in %d", n, commits, err, b.N*per, b.N)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per), "ns/consultation")
}

// history is a generated store of benchHistory consultations, made once
// and opened by one benchmark at a time.
var (
	historyDir string // removed by TestMain
	history    = sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "tacit-bolt-bench-")
		if err != nil {
			return "", err
		}
		historyDir = dir
		s, err := bolt.Open(dir, bolt.Options{})
		if err != nil {
			return "", err
		}
		defer s.Close()
		_, err = synth.Generate(context.Background(), s, synth.Options{Consultations: benchHistory, Seed: 1,
			Since: time.Date(2024, 1, 1, 0, 0, 0, 0, calendar.Location()), Until: benchOpen})
		return dir, err
	})
)

func openHistory(b *testing.B) *bolt.Store {
	dir, err := history()
	if err != nil {
		b.Fatal(err)
	}
	s, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkGet(b *testing.B) {
	s := openHistory(b)
	rnd := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(b.Context(), strconv.Itoa(1+rnd.IntN(benchHistory))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListDeemedPage: a page of 100 deemed approvals, of every agency
// from a random day, or of one agency.
func BenchmarkListDeemedPage(b *testing.B) {
	s := openHistory(b)
	_, agencies, err := s.LoadRegistry(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, calendar.Location())
	// encoded is the form ListDeemedApprovals sends (records as stored).
	for _, by := range []string{"time", "agency", "time/encoded", "agency/encoded"} {
		b.Run(by, func(b *testing.B) {
			b.ReportAllocs()
			rows := 0
			for b.Loop() {
				q := storage.DeemedQuery{Limit: 100}
				if strings.HasPrefix(by, "agency") {
					q.Agency = agencies[rnd.IntN(len(agencies))].GetCode()
				} else {
					q.Since = from.AddDate(0, 0, rnd.IntN(600))
				}
				var n int
				var err error
				if strings.HasSuffix(by, "encoded") {
					var page [][]byte
					page, _, err = s.ListDeemedEncoded(b.Context(), q)
					n = len(page)
				} else {
					var page []*tacitv1.DeemedApprovalRecord
					page, _, err = s.ListDeemed(b.Context(), q)
					n = len(page)
				}
				if err != nil {
					b.Fatal(err)
				}
				rows += n
			}
			if rows == 0 {
				b.Fatal("no deemed approvals listed")
			}
			b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
		})
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if historyDir != "" {
		os.RemoveAll(historyDir)
	}
	os.Exit(code)
}
