package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
)

// scrape reads /metrics and parses it with Prometheus' own text parser.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scraping metrics: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("metrics are not valid Prometheus text: %v\n%s", err, body)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			key := name
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for _, l := range []string{"grpc_method", "grpc_code"} {
				if v, ok := labels[l]; ok {
					key += "{" + l + "=" + v + "}"
				}
			}
			switch {
			case m.GetGauge() != nil:
				out[key] += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[key] += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				out[key+"_count"] += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// Operators scrape the metrics listener: RPC counts by method and code, and
// the service's state.
func TestMetricsScrapedAndParsed(t *testing.T) {
	t.Parallel()
	maddr := freeAddr(t)
	srv := startServer(t, "--metrics-listen", maddr)
	id := openCLI(t, srv, "so-nnmt", "--title", "Đo lường", "--field", "urban-planning", "--to", "so-xay-dung", "--legal-basis", "L", "--within", "1s")
	mustFail(t, srv, "so-y-te", []string{"show", id}, 6)
	waitDeemed(t, srv, "so-nnmt", id, "so-xay-dung")
	var m map[string]float64
	waitFor(t, 10*time.Second, "the deemed approval to be recorded in the metrics", func() bool {
		m = scrape(t, maddr)
		return m["tacit_deemed_approvals_total"] == 1
	})
	for key, want := range map[string]float64{
		"grpc_server_handled_total{grpc_method=OpenConsultation}{grpc_code=OK}":              1,
		"grpc_server_handled_total{grpc_method=GetConsultation}{grpc_code=PermissionDenied}": 1,
		"tacit_consultations_total": 1,
		"tacit_consultations_open":  1,
		"tacit_addressees_pending":  0,
		"tacit_sweeper_lag_seconds": 0,
		"tacit_agencies":            25,
	} {
		if got, ok := m[key]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	if m["grpc_server_handling_seconds{grpc_method=OpenConsultation}_count"] < 1 || m["tacit_bbolt_size_bytes"] <= 0 || m["tacit_audit_entries_total"] < 3 {
		t.Errorf("latency histogram, data size or audit count missing: %v", m)
	}
	// The opening and the deemed approval were each committed durably.
	if c, w := m["tacit_bbolt_commits_total"], m["tacit_bbolt_committed_writes_total"]; c < 2 || w < c {
		t.Errorf("%v commits carrying %v writes, want at least 2 carrying at least as many", c, w)
	}
}

// The administrator reads the status; others may not.
func TestStatusForTheAdministrator(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	openCLI(t, srv, "so-nnmt", "--title", "T", "--field", "urban-planning", "--to", "so-xay-dung", "--legal-basis", "L", "--within", "1h")
	out := mustRun(t, srv, "admin:admin", "status", "-o", "json")
	var st tacitv1.GetStatusResponse
	decodeJSON(t, out, &st)
	if st.GetConsultations() != 1 || st.GetOpenConsultations() != 1 || st.GetPendingAddressees() != 1 || st.GetAgencies() != 25 || st.GetDataBytes() <= 0 || st.GetCalendarVersion() == "" {
		t.Errorf("status = %v", &st)
	}
	table := mustRun(t, srv, "admin:admin", "status")
	for _, want := range []string{"Version:", "Sweeper lag:", "Consultations:"} {
		if !strings.Contains(table, want) {
			t.Errorf("status table lacks %q:\n%s", want, table)
		}
	}
	mustFail(t, srv, "auditor:auditor", []string{"status"}, 6)
	mustFail(t, srv, "so-nnmt", []string{"status"}, 6)
}

// A hot backup taken while the service runs serves the same records when
// restored into another data folder.
func TestHotBackupRestores(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	id := openCLI(t, srv, "so-nnmt", "--title", "Sao lưu — dữ liệu", "--field", "urban-planning", "--to", "so-xay-dung", "--legal-basis", "L", "--within", "1h")
	mustRun(t, srv, "so-xay-dung", "reply", id, "--position", "agree", "--signer", "Trần Quốc Hưng", "--signer-role", "head")
	before := show(t, srv, "auditor:auditor", id)

	file := filepath.Join(t.TempDir(), "backup.db")
	mustRun(t, srv, "admin:admin", "admin", "backup", file)
	mustFail(t, srv, "auditor:auditor", []string{"admin", "backup", filepath.Join(t.TempDir(), "x.db")}, 6)

	restored := t.TempDir()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, "tacit.db"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	other := startServerOn(t, restored, "")
	after := show(t, other, "auditor:auditor", id)
	sameRecord(t, "restored consultation", before, after)
	if out := mustRun(t, other, "auditor:auditor", "audit", "verify"); !strings.Contains(out, "intact") {
		t.Errorf("audit trail of the restored copy: %s", out)
	}
}
