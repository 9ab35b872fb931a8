package consultation_test

// Benchmarks of the rules on their own, no storage: opening with five
// addressees, a reply, the silence rule (Materialize, Effective), the
// working-day arithmetic a deadline and a reply need, and a recount after a
// calendar change. Each one checks once, before timing, that the call does
// what it names.
//
//	go test -run XXX -bench . -benchmem ./pkg/consultation

import (
	"testing"
	"time"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/registry"
)

// benchAddressees are five agencies eligible on benchRequest's matter: two
// provincial departments, a local committee and, with the escalation reason
// the request gives, a ministry; the lead is so-nnmt.
var benchAddressees = []string{xayDung, phuong, yTe, tuPhap, boNNMT}

// benchRequest opens a consultation on land, health and justice to the five
// benchAddressees, within n working days.
func benchRequest(n int32) *tacitv1.OpenConsultationRequest {
	r := baseRequest()
	r.Fields = []string{"land", "health", "justice"}
	r.Addressees = benchAddressees
	r.EscalationReason = "Cần ý kiến của Bộ về chính sách đất đai"
	r.DeadlineSpec = &tacitv1.OpenConsultationRequest_WithinWorkingDays{WithinWorkingDays: n}
	return r
}

// benchOpened is a consultation opened at now with the five addressees and
// a deadline of 15 working days, with the test registry it was opened on.
func benchOpened(b *testing.B) (*tacitv1.Consultation, *registry.Registry) {
	b.Helper()
	reg := testRegistry(b)
	c, err := consultation.Open(consultation.DefaultConfig(), reg, lead, leadP, benchRequest(15), now)
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	if len(c.GetAddressees()) != len(benchAddressees) {
		b.Fatalf("opened with %d addressees, want %d", len(c.GetAddressees()), len(benchAddressees))
	}
	c.Id, c.Name = "42", "consultations/42"
	return c, reg
}

// onFresh times op b.N times, each time on its own copy of tmpl (the rules
// change the record they are given). The copies are made outside the timer,
// a chunk at a time, so neither their cost nor their allocations count.
func onFresh(b *testing.B, tmpl *tacitv1.Consultation, op func(c *tacitv1.Consultation)) {
	b.Helper()
	const chunk = 256
	pool := make([]*tacitv1.Consultation, chunk)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		n := min(chunk, b.N-done)
		for i := range n {
			pool[i] = clone(tmpl)
		}
		b.StartTimer()
		for i := range n {
			op(pool[i])
		}
		done += n
	}
}

func BenchmarkOpen(b *testing.B) {
	cfg, reg := consultation.DefaultConfig(), testRegistry(b)
	for _, bc := range []struct {
		name string
		req  *tacitv1.OpenConsultationRequest
	}{
		{"5-addressees-15wd", benchRequest(15)},
		{"5-addressees-instant", func() *tacitv1.OpenConsultationRequest {
			r := benchRequest(1)
			withDeadline(now.Add(10 * 24 * time.Hour))(r)
			return r
		}()},
		// A request refused whole: one addressee outside its mandate. The
		// refusal names it with its mandate and the matter's fields.
		{"5-addressees-one-outside-mandate", func() *tacitv1.OpenConsultationRequest {
			r := benchRequest(15)
			r.Fields = []string{"land", "justice"}
			return r
		}()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := consultation.Open(cfg, reg, lead, leadP, bc.req, now)
			refused := bc.name == "5-addressees-one-outside-mandate"
			switch {
			case refused && err == nil:
				b.Fatal("Open accepted an addressee outside its mandate")
			case !refused && (err != nil || len(c.GetAddressees()) != 5):
				b.Fatalf("Open: %d addressees, %v; want 5", len(c.GetAddressees()), err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := consultation.Open(cfg, reg, lead, leadP, bc.req, now); (err != nil) != refused {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReply(b *testing.B) {
	cfg := consultation.DefaultConfig()
	tmpl, _ := benchOpened(b)
	at := now.Add(6 * 24 * time.Hour) // the following Sunday: 4 working days taken
	for _, bc := range []struct {
		name string
		in   consultation.ReplyInput
	}{
		{"agree", agree()},
		{"disagree-with-comment", disagree("Chỉ tiêu đất giao thông chưa phù hợp với quy hoạch chung của tỉnh; đề nghị cơ quan chủ trì rà soát lại.")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := clone(tmpl)
			evs, err := consultation.Reply(cfg, c, xayDung, xayDungP, bc.in, at)
			if err != nil || len(evs) != 1 || consultation.Addressee(c, xayDung).GetState() != tacitv1.AddresseeState_ADDRESSEE_STATE_REPLIED {
				b.Fatalf("Reply: %v, %v", evs, err)
			}
			if got := consultation.Addressee(c, xayDung).GetReply().GetWorkingDaysTaken(); got != 4 {
				b.Fatalf("working days taken = %d, want 4", got)
			}
			onFresh(b, tmpl, func(c *tacitv1.Consultation) {
				if _, err := consultation.Reply(cfg, c, xayDung, xayDungP, bc.in, at); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkMaterialize applies the silence rule to the five addressees, all
// past their deadline: five deemed approvals, each with the head in office
// at the deadline from the registry.
func BenchmarkMaterialize(b *testing.B) {
	tmpl, reg := benchOpened(b)
	after := tmpl.GetDeadline().AsTime().Add(time.Hour)
	c := clone(tmpl)
	if evs := consultation.Materialize(c, after, reg.HeadAt, true); len(evs) != 5 || !consultation.Settled(c) {
		b.Fatalf("Materialize gave %d events, want 5", len(evs))
	}
	b.Run("5-deemed", func(b *testing.B) {
		onFresh(b, tmpl, func(c *tacitv1.Consultation) {
			consultation.Materialize(c, after, reg.HeadAt, true)
		})
	})
	// Before the deadline nothing is due: the rule only looks.
	b.Run("nothing-due", func(b *testing.B) {
		c := clone(tmpl)
		before := now.Add(time.Hour)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if len(consultation.Materialize(c, before, reg.HeadAt, true)) != 0 {
				b.Fatal("deemed before the deadline")
			}
		}
	})
}

// BenchmarkEffective is the read path: a copy of the record as it stands,
// two replies and three addressees deemed at their deadline.
func BenchmarkEffective(b *testing.B) {
	tmpl, reg := benchOpened(b)
	cfg := consultation.DefaultConfig()
	for _, a := range []string{xayDung, phuong} {
		if _, err := consultation.Reply(cfg, tmpl, a, "agency:"+a, agree(), now.Add(24*time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name   string
		at     time.Time
		deemed int
	}{
		{"3-deemed", tmpl.GetDeadline().AsTime().Add(time.Hour), 3},
		{"nothing-due", now.Add(48 * time.Hour), 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for _, a := range consultation.Effective(tmpl, bc.at, reg.HeadAt).GetAddressees() {
				if a.GetState() == tacitv1.AddresseeState_ADDRESSEE_STATE_DEEMED_APPROVED {
					n++
				}
			}
			if n != bc.deemed {
				b.Fatalf("Effective shows %d deemed approvals, want %d", n, bc.deemed)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				consultation.Effective(tmpl, bc.at, reg.HeadAt)
			}
		})
	}
}

// BenchmarkWorkingDaysBetween is the count every reply records (working
// days taken) and the figures' reply-time histogram uses: one day at a
// time, so it grows with the span.
func BenchmarkWorkingDaysBetween(b *testing.B) {
	cal := calendar.Vietnam()
	for _, bc := range []struct {
		name string
		to   time.Time
		want int
	}{
		{"15wd", time.Date(2026, 3, 23, 16, 0, 0, 0, loc), 15},
		{"one-year", time.Date(2027, 3, 2, 9, 0, 0, 0, loc), 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			got := consultation.WorkingDaysBetween(cal, now, bc.to)
			if bc.want == 0 { // a year: about 250 working days
				if got < 240 || got > 260 {
					b.Fatalf("a year holds %d working days", got)
				}
			} else if got != bc.want {
				b.Fatalf("WorkingDaysBetween = %d, want %d", got, bc.want)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				consultation.WorkingDaysBetween(cal, now, bc.to)
			}
		})
	}
}

// BenchmarkReminderTime is the reminder scheduled with every deadline: one
// working day before it by default.
func BenchmarkReminderTime(b *testing.B) {
	cfg := consultation.DefaultConfig()
	dl := cfg.Calendar.Deadline(now, 15)
	at, ok := consultation.ReminderTime(cfg, dl, now)
	if want := dl.Add(-24 * time.Hour); !ok || !at.Equal(want) {
		b.Fatalf("reminder at %v %v, want %v", at, ok, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		consultation.ReminderTime(cfg, dl, now)
	}
}

// BenchmarkRecount recomputes the five pending deadlines after the operator
// makes a day inside them a day off: every deadline moves by a day, with one
// event each.
func BenchmarkRecount(b *testing.B) {
	tmpl, _ := benchOpened(b)
	cfg := rcConfig(rcCalendar(b, rcDayOff5Mar))
	c := clone(tmpl)
	evs := consultation.Recount(cfg, c, rcAt)
	if len(evs) != 5 || !c.GetDeadline().AsTime().After(tmpl.GetDeadline().AsTime()) {
		b.Fatalf("Recount gave %d events (deadline %v -> %v), want 5 moves", len(evs), tmpl.GetDeadline().AsTime(), c.GetDeadline().AsTime())
	}
	b.Run("5-moved", func(b *testing.B) {
		onFresh(b, tmpl, func(c *tacitv1.Consultation) {
			consultation.Recount(cfg, c, rcAt)
		})
	})
	// The same calendar as the one the deadlines were counted with: nothing
	// moves (the start-up check on an unchanged calendar).
	b.Run("unchanged", func(b *testing.B) {
		cfg := consultation.DefaultConfig()
		c := clone(tmpl)
		if n := len(consultation.Recount(cfg, c, rcAt)); n != 0 {
			b.Fatalf("%d deadlines moved under the same calendar", n)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			consultation.Recount(cfg, c, rcAt)
		}
	})
}
