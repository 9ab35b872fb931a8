package server

// Benchmarks of the sweeper and of the core's own calls, in-process (no
// network, no TLS):
//
//   - BenchmarkSweep100kSameInstant: 100,000 pending addressees whose
//     deadlines all pass at the same instant, persisted by Core.Sweep (the
//     target is 2 s), as 20,000 consultations of 5 addressees and as
//     100,000 of one. The store is built once per process and kept as a
//     template file; every op sweeps a fresh, fsynced copy of it, and only
//     the sweep is timed, with fsync on as in production. Besides ns/op it
//     reports deadlines/s, the process's CPU time (GC included), bbolt's
//     time writing pages and syncing, and the bytes written.
//   - BenchmarkCore: OpenConsultation, Reply and GetConsultation through the
//     handlers on a real store (fsync on, the default 2 ms batch delay),
//     one caller at a time (latency) and 64 at once (throughput).
//
//	go test -run XXX -bench Sweep100k -benchtime 3x ./pkg/server
//	go test -run XXX -bench 'Core/' ./pkg/server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/pki"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

const sweepAddressees = 100_000

// sweepLead leads every consultation of these benchmarks, on "land";
// sweepCodes are five agencies of the simulation's registry it may consult
// on it without escalation.
var (
	sweepLead  = pki.Agency("so-nnmt")
	sweepCodes = []string{"so-tai-chinh", "so-xay-dung", "so-tu-phap", "ubnd-phuong-ha-long", "ubnd-phuong-bai-chay"}
)

// sweepRules are the server's defaults for the benchmarks: the simulation's
// rules with a reminder one working day before each deadline.
func sweepRules() consultation.Config {
	r := simRules()
	r.Reminder = consultation.DefaultReminder
	return r
}

// sweepTemplate is a store, built once per process, holding
// sweepAddressees pending addressees, a given number per consultation,
// whose deadlines are one and the same instant.
type sweepTemplate struct {
	once          sync.Once
	dir           string // holds tacit.db, closed
	err           error
	consultations int
	deadline      time.Time
	size          int64
	setup         time.Duration
}

var sweepTemplates = map[int]*sweepTemplate{1: {}, 5: {}}

// removeSweepTemplates is called by TestMain.
func removeSweepTemplates() {
	for _, t := range sweepTemplates {
		if t.dir != "" {
			os.RemoveAll(t.dir)
		}
	}
}

var errTemplateUnfinished = errors.New("the template store was not finished (see the log above)")

// sweepTemplateFor builds the template the first time: so-nnmt opens
// sweepAddressees/per consultations through the OpenConsultation handler,
// all on Monday 2 March 2026 at 09:00 within 15 working days, so every
// deadline is 24:00 on Monday 23 March; a sweep at 00:00 on that day sends
// the reminders (as the server's sweeper would have), so that at the
// deadline only the deemed approvals are left to record. The template is
// built with fsync off and 1,000 concurrent callers, which bbolt's Batch
// groups into shared commits.
func sweepTemplateFor(b *testing.B, per int) *sweepTemplate {
	b.Helper()
	t := sweepTemplates[per]
	t.once.Do(func() {
		t.err = errTemplateUnfinished
		start := time.Now()
		dir, err := os.MkdirTemp("", "tacit-sweep-bench-")
		if err != nil {
			t.err = err
			return
		}
		t.dir = dir
		st := openSimStore(b, dir)
		defer st.Close()
		ctx := context.Background()
		core, err := NewCore(ctx, st, sweepRules(), clockwork.NewFakeClockAt(t0), zerolog.Nop())
		if err != nil {
			t.err = err
			return
		}
		importSimRegistry(b, core)
		srv := ConsultationServer{Core: core}
		t.consultations = sweepAddressees / per
		var next atomic.Int64
		var mu sync.Mutex
		var firstErr error
		deadlines, reminders := map[time.Time]int{}, map[time.Time]int{}
		var wg sync.WaitGroup
		for range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := as(sweepLead)
				for i := next.Add(1); i <= int64(t.consultations); i = next.Add(1) {
					res, err := srv.OpenConsultation(ctx, &tacitv1.OpenConsultationRequest{
						Title:      fmt.Sprintf("Dự thảo quyết định thu hồi đất số %d/2026", i),
						Summary:    "Lấy ý kiến về phương án bồi thường, hỗ trợ, tái định cư.",
						LegalBasis: "Luật Đất đai 2024, Điều 87", Fields: []string{"land"},
						Addressees:   sweepCodes[:per],
						DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: 15},
					})
					mu.Lock()
					if err != nil && firstErr == nil {
						firstErr = err
					}
					for _, a := range res.GetConsultation().GetAddressees() {
						deadlines[a.GetDeadline().AsTime()]++
						reminders[a.GetReminderTime().AsTime()]++
					}
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			t.err = firstErr
			return
		}
		if len(deadlines) != 1 || len(reminders) != 1 {
			t.err = fmt.Errorf("the addressees have %d distinct deadlines and %d reminder times, want one of each", len(deadlines), len(reminders))
			return
		}
		var remindAt time.Time
		for d, n := range deadlines {
			t.deadline = d
			if n != sweepAddressees {
				t.err = fmt.Errorf("%d addressees opened, want %d", n, sweepAddressees)
				return
			}
		}
		for r := range reminders {
			remindAt = r
		}
		if n, err := core.Sweep(ctx, remindAt); err != nil || n != t.consultations {
			t.err = fmt.Errorf("the reminder sweep changed %d consultations (%v), want %d", n, err, t.consultations)
			return
		}
		if next, ok, err := st.NextDeadline(ctx); err != nil || !ok || !next.Equal(t.deadline) {
			t.err = fmt.Errorf("after the reminders the next deadline is %v %v (%v), want %v", next, ok, err, t.deadline)
			return
		}
		st.DB().NoSync = false
		if err := st.DB().Sync(); err != nil {
			t.err = err
			return
		}
		if err := st.Close(); err != nil {
			t.err = err
			return
		}
		fi, err := os.Stat(filepath.Join(dir, "tacit.db"))
		if err != nil {
			t.err = err
			return
		}
		t.size, t.setup, t.err = fi.Size(), time.Since(start), nil
	})
	if t.err != nil {
		b.Fatalf("building the sweep template (%d per consultation): %v", per, t.err)
	}
	return t
}

// copyStore copies the template into a new folder and fsyncs the copy, so
// that the sweep's own commits do not pay for writing it back.
func (t *sweepTemplate) copyStore() (string, error) {
	dir, err := os.MkdirTemp("", "tacit-sweep-run-")
	if err != nil {
		return "", err
	}
	src, err := os.Open(filepath.Join(t.dir, "tacit.db"))
	if err != nil {
		return dir, err
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(dir, "tacit.db"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return dir, err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return dir, err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return dir, err
	}
	return dir, dst.Close()
}

func BenchmarkSweep100kSameInstant(b *testing.B) {
	TuneRuntime() // as tacit serve runs
	for _, per := range []int{5, 1} {
		b.Run(fmt.Sprintf("%d-per-consultation", per), func(b *testing.B) {
			t := sweepTemplateFor(b, per)
			b.Logf("template: %d consultations × %d addressees, deadline %s, file %.0f MiB, built in %s on %d CPU(s)",
				t.consultations, per, t.deadline.In(t0.Location()).Format(time.RFC3339), float64(t.size)/(1<<20), t.setup.Round(100*time.Millisecond), runtime.NumCPU())
			ctx := context.Background()
			var writeTime time.Duration
			var written int64     // bytes the process wrote during the sweeps; -1: unknown
			var cpu time.Duration // CPU time of the process (all threads, GC included) during the sweeps; -1: unknown
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				dir, err := t.copyStore()
				if err != nil {
					os.RemoveAll(dir)
					b.Fatal(err)
				}
				st, err := bolt.Open(dir, bolt.Options{}) // fsync on
				if err != nil {
					os.RemoveAll(dir)
					b.Fatal(err)
				}
				core, err := NewCore(ctx, st, sweepRules(), clockwork.NewFakeClockAt(t.deadline), zerolog.Nop())
				if err != nil {
					b.Fatal(err)
				}
				before, err := st.Counts(ctx)
				if err != nil {
					b.Fatal(err)
				}
				wrote0, haveIO := writtenBytes()
				cpu0, haveCPU := cpuTime()
				b.StartTimer()

				n, err := core.Sweep(ctx, t.deadline)

				b.StopTimer()
				if wrote1, ok := writtenBytes(); ok && haveIO && written >= 0 {
					written += wrote1 - wrote0
				} else {
					written = -1
				}
				if cpu1, ok := cpuTime(); ok && haveCPU && cpu >= 0 {
					cpu += cpu1 - cpu0
				} else {
					cpu = -1
				}
				after, cerr := st.Counts(ctx)
				_, left, nerr := st.NextDeadline(ctx)
				st.Close()
				os.RemoveAll(dir)
				switch {
				case err != nil || cerr != nil || nerr != nil:
					b.Fatal(errors.Join(err, cerr, nerr))
				case n != t.consultations:
					b.Fatalf("the sweep changed %d consultations, want %d", n, t.consultations)
				case after.DeemedApprovals-before.DeemedApprovals != sweepAddressees || after.PendingAddressees != 0 || left:
					b.Fatalf("after the sweep: %d deemed approvals recorded (want %d), %d addressees pending, work left %v",
						after.DeemedApprovals-before.DeemedApprovals, sweepAddressees, after.PendingAddressees, left)
				}
				// One DEEMED_APPROVAL entry per addressee and ALL_SETTLED
				// per consultation.
				if got, want := after.AuditEntries-before.AuditEntries, uint64(sweepAddressees+t.consultations); got != want {
					b.Fatalf("the sweep appended %d audit entries, want %d", got, want)
				}
				writeTime += after.WriteTime - before.WriteTime
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(float64(sweepAddressees)*float64(b.N)/b.Elapsed().Seconds(), "deadlines/s")
			b.ReportMetric(writeTime.Seconds()/float64(b.N), "write+fsync-s/op")
			if cpu >= 0 {
				b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			}
			if written >= 0 {
				b.ReportMetric(float64(written)/(1<<20)/float64(b.N), "written-MiB/op")
			}
			b.ReportMetric(float64(t.size)/(1<<20), "store-MiB")
		})
	}
}

// writtenBytes is how many bytes this process has written with write
// system calls (Linux: wchar in /proc/self/io), or false when unknown.
func writtenBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// cpuTime is the CPU time this process has used, user and system, all
// threads (Linux: /proc/self/stat, in clock ticks of 10 ms), or false when
// unknown. On a busy machine it varies less than the elapsed time.
func cpuTime() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // fields 3… of proc(5)
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}

// --- the core's calls, in-process ---

// coreBench is a core on a real store (fsync on, default batch delay) with
// the simulation's registry, at Monday 2 March 2026 09:00.
type coreBench struct {
	core *Core
	srv  ConsultationServer
}

func newCoreBench(b *testing.B) *coreBench {
	b.Helper()
	st, err := bolt.Open(b.TempDir(), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	core, err := NewCore(context.Background(), st, sweepRules(), clockwork.NewFakeClockAt(t0), zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	importSimRegistry(b, core)
	return &coreBench{core: core, srv: ConsultationServer{Core: core}}
}

func (cb *coreBench) open(ctx context.Context) (*tacitv1.Consultation, error) {
	res, err := cb.srv.OpenConsultation(ctx, &tacitv1.OpenConsultationRequest{
		Title:      "Dự thảo điều chỉnh quy hoạch sử dụng đất 2026",
		LegalBasis: "Luật Đất đai 2024, Điều 76", Fields: []string{"land"},
		Addressees:   sweepCodes,
		DeadlineSpec: &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: 15},
	})
	if err == nil && len(res.GetConsultation().GetAddressees()) != len(sweepCodes) {
		err = fmt.Errorf("opened with %d addressees, want %d", len(res.GetConsultation().GetAddressees()), len(sweepCodes))
	}
	return res.GetConsultation(), err
}

// pendingPairs opens enough consultations, outside the timer and 64 at a
// time, for n replies: one per (consultation, addressee).
func (cb *coreBench) pendingPairs(b *testing.B, n int) []replyTo {
	b.Helper()
	per := len(sweepCodes)
	cs := make([]*tacitv1.Consultation, (n+per-1)/per)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(cs)); i = next.Add(1) - 1 {
				c, err := cb.open(as(sweepLead))
				if err != nil {
					errs <- err
					return
				}
				cs[i] = c
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	pairs := make([]replyTo, 0, n)
	for _, c := range cs {
		for _, a := range c.GetAddressees() {
			pairs = append(pairs, replyTo{id: c.GetId(), ctx: as(pki.Agency(a.GetAgency()))})
		}
	}
	return pairs[:n]
}

type replyTo struct {
	id  string
	ctx context.Context
}

func (cb *coreBench) reply(r replyTo) error {
	res, err := cb.srv.Reply(r.ctx, &tacitv1.ReplyRequest{ConsultationId: r.id, Position: tacitv1.Position_POSITION_AGREE_WITH_COMMENTS,
		Comment: "Thống nhất, đề nghị bổ sung đánh giá tác động môi trường",
		Signer:  &tacitv1.Signer{Name: "Trần Văn Bình", Role: tacitv1.SignerRole_SIGNER_ROLE_DEPUTY}})
	if err == nil && res.GetConsultation().GetId() != r.id {
		err = fmt.Errorf("reply answered with consultation %q, want %q", res.GetConsultation().GetId(), r.id)
	}
	return err
}

// coreParallel is how many callers the parallel cases run: 64, whatever the
// number of CPUs.
func coreParallel(b *testing.B) {
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
}

func BenchmarkCore(b *testing.B) {
	cb := newCoreBench(b)
	ctx := as(sweepLead)
	first, err := cb.open(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if err := cb.reply(replyTo{id: first.GetId(), ctx: as(pki.Agency("so-xay-dung"))}); err != nil {
		b.Fatal(err)
	}
	b.Run("OpenConsultation-5-addressees/serial", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := cb.open(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("OpenConsultation-5-addressees/parallel-64", func(b *testing.B) {
		coreParallel(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := cb.open(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Reply/serial", func(b *testing.B) {
		pairs := cb.pendingPairs(b, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if err := cb.reply(pairs[i]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Reply/parallel-64", func(b *testing.B) {
		pairs := cb.pendingPairs(b, b.N)
		var next atomic.Int64
		coreParallel(b)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := cb.reply(pairs[next.Add(1)-1]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// A read: the record, the reader's right to it, the silence rule.
	get := &tacitv1.GetConsultationRequest{Id: first.GetId()}
	b.Run("GetConsultation/serial", func(b *testing.B) {
		res, err := cb.srv.GetConsultation(ctx, get)
		if err != nil || len(res.GetConsultation().GetAddressees()) != 5 || res.GetConsultation().GetAddressees()[1].GetReply() == nil {
			b.Fatalf("get: %v, %v", res, err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := cb.srv.GetConsultation(ctx, get); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetConsultation/parallel-64", func(b *testing.B) {
		coreParallel(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := cb.srv.GetConsultation(ctx, get); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// Between a deadline and the sweep that records it, a read computes the
	// view inside a write transaction (ordered with replies that read the
	// clock before the deadline): that costs a shared commit.
	b.Run("GetConsultation/deemed-not-yet-recorded", func(b *testing.B) {
		cb := newCoreBench(b)
		c, err := cb.open(ctx)
		if err != nil {
			b.Fatal(err)
		}
		cb.core.clock.(*clockwork.FakeClock).Advance(c.GetDeadline().AsTime().Sub(t0))
		res, err := cb.srv.GetConsultation(ctx, &tacitv1.GetConsultationRequest{Id: c.GetId()})
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range res.GetConsultation().GetAddressees() {
			if a.GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED || a.GetDeemedApproval().GetRecorded() {
				b.Fatalf("%s: %v (recorded %v), want deemed, not recorded", a.GetAgency(), a.GetState(), a.GetDeemedApproval().GetRecorded())
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := cb.srv.GetConsultation(ctx, &tacitv1.GetConsultationRequest{Id: c.GetId()}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
