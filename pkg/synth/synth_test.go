package synth_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	"github.com/tacit-gov/tacit/pkg/calendar"
	"github.com/tacit-gov/tacit/pkg/consultation"
	"github.com/tacit-gov/tacit/pkg/server"
	"github.com/tacit-gov/tacit/pkg/storage/bolt"
	"github.com/tacit-gov/tacit/pkg/synth"
)

var (
	since = time.Date(2025, 1, 1, 0, 0, 0, 0, calendar.Location())
	until = time.Date(2026, 3, 4, 15, 0, 0, 0, calendar.Location())
)

func generate(t *testing.T, o synth.Options) (*bolt.Store, synth.Summary) {
	t.Helper()
	st, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o.Since, o.Until = since, until
	sum, err := synth.Generate(t.Context(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	return st, sum
}

// A server started on a generated folder at the end of its period has
// nothing to catch up on: every deadline and reminder due was recorded, and
// the calendar in force is the one recorded. The registry has the agencies
// asked for, and the store is consistent.
func TestServerStartsOnGeneratedHistoryWithNothingToDo(t *testing.T) {
	ctx := t.Context()
	st, sum := generate(t, synth.Options{Consultations: 400, Seed: 3, Agencies: 300})
	if sum.Agencies != 300 || sum.Consultations != 400 {
		t.Fatalf("generated %+v; want 300 agencies and 400 consultations", sum)
	}
	before, err := st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	core, err := server.NewCore(ctx, st, consultation.DefaultConfig(), clockwork.NewFakeClockAt(until), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if core.Registry().Len() != 300 {
		t.Errorf("the stored registry has %d agencies, want 300", core.Registry().Len())
	}
	if n, err := core.Sweep(ctx, until); err != nil || n != 0 {
		t.Errorf("Sweep at the end of the period changed %d consultations (%v); want 0", n, err)
	}
	if n, err := core.ApplyCalendar(ctx); err != nil || n != 0 {
		t.Errorf("ApplyCalendar recounted %d consultations (%v); want 0", n, err)
	}
	after, err := st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.AuditEntries != before.AuditEntries {
		t.Errorf("starting up appended %d audit entries", after.AuditEntries-before.AuditEntries)
	}
	next, ok, err := st.NextDeadline(ctx)
	if err != nil || !ok || !next.After(until) {
		t.Errorf("NextDeadline = %s, %v, %v; want one after the end of the period", next, ok, err)
	}
	if problems, err := st.Check(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("Check: %v, %v", problems, err)
	}
}

// The same seed gives the same history, to the hash of the last audit
// entry; another seed another one.
func TestSameSeedSameHistory(t *testing.T) {
	head := func(seed uint64) []byte {
		st, _ := generate(t, synth.Options{Consultations: 300, Seed: seed})
		v, err := st.VerifyAudit(t.Context())
		if err != nil || !v.Intact {
			t.Fatalf("VerifyAudit: %+v, %v", v, err)
		}
		return v.HeadHash
	}
	a, b, c := head(5), head(5), head(6)
	if !bytes.Equal(a, b) {
		t.Error("two histories made with seed 5 differ")
	}
	if bytes.Equal(a, c) {
		t.Error("seeds 5 and 6 made the same history")
	}
}

func TestRefusesAStoreInUse(t *testing.T) {
	st, _ := generate(t, synth.Options{Consultations: 10, Seed: 1})
	if _, err := synth.Generate(t.Context(), st, synth.Options{Consultations: 10, Since: since, Until: until}); err == nil {
		t.Fatal("Generate wrote into a store that already holds a history")
	}
}
