package main

// End-to-end tests of the auditors' commands through the real binary:
// `tacit audit deemed|stats|log|verify`, and verify catching an audit entry
// edited in the bbolt file behind the service's back.

import (
	"encoding/binary"
	"encoding/csv"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	bbolt "go.etcd.io/bbolt"
	"golang.org/x/text/unicode/norm"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	tacitv1 "github.com/tacit-gov/tacit/api/tacit/v1"
	"github.com/tacit-gov/tacit/pkg/consultation"
)

// exitTampered is the exit status of `audit verify` when the trail was
// altered (pkg/cli/root.go).
const exitTampered = 8

// so-xay-dung's head in the demo registry.
const xdHead = "Trần Quốc Hưng"

// jsonl parses `-o jsonl` output: one protojson object per line.
func jsonl[M proto.Message](t *testing.T, out string, newM func() M) []M {
	t.Helper()
	var ms []M
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			if out == "" {
				break
			}
			t.Fatalf("-o jsonl: line %d is empty:\n%s", i+1, out)
		}
		m := newM()
		if err := protojson.Unmarshal([]byte(line), m); err != nil {
			t.Fatalf("-o jsonl: line %d is not one %T object: %v\n%s", i+1, m, err, line)
		}
		ms = append(ms, m)
	}
	return ms
}

func deemedRows(t *testing.T, out string) []*tacitv1.DeemedApprovalRecord {
	return jsonl(t, out, func() *tacitv1.DeemedApprovalRecord { return &tacitv1.DeemedApprovalRecord{} })
}

// The auditors' commands after a deemed approval: which agreements were
// deemed from silence (table, json, csv for spreadsheets, jsonl), which
// agencies are silent beyond a threshold, the trail of one consultation,
// and its integrity.
func TestAuditCommandsCLI(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", srv.Log())
		}
	})
	const titleA = "Điều chỉnh quy hoạch phân khu ven biển Hạ Long — lấy ý kiến về giá đất và hạ tầng"
	const titleB = "Phương án bồi thường khu tái định cư Cao Xanh"
	const titleC = "Dự thảo quyết định về bảng giá đất điều chỉnh năm 2026"
	lead := grpcClient(t, srv, "so-nnmt")

	// A: through the CLI; so-tai-chinh replies, so-xay-dung stays silent.
	idA := openCLI(t, srv, "so-nnmt", "--title", titleA, "--field", "urban-planning,land.prices", "--to", "so-xay-dung,so-tai-chinh",
		"--legal-basis", "Luật Quy hoạch đô thị và nông thôn 2024", "--within", "5s")
	// B: both stay silent. C: both reply.
	open := func(title string, within time.Duration, fields, to []string) string {
		t.Helper()
		res, err := lead.consult.OpenConsultation(rpcCtx(t), &tacitv1.OpenConsultationRequest{Title: title, LegalBasis: "Luật Đất đai 2024",
			Fields: fields, Addressees: to, DeadlineSpec: &tacitv1.OpenConsultationRequest_Within{Within: durationpb.New(within)}})
		if err != nil {
			t.Fatalf("open %q: %v", title, err)
		}
		return res.GetConsultation().GetId()
	}
	idB := open(titleB, 5*time.Second, []string{"urban-planning", "land.prices"}, []string{"so-tai-chinh", "so-xay-dung"})
	idC := open(titleC, time.Hour, []string{"land.prices", "justice"}, []string{"so-tai-chinh", "so-tu-phap"})
	reply := func(agency, id string) {
		t.Helper()
		_, err := grpcClient(t, srv, agency).consult.Reply(rpcCtx(t), &tacitv1.ReplyRequest{ConsultationId: id, Position: tacitv1.Position_POSITION_AGREE,
			Signer: &tacitv1.Signer{Name: "Phạm Minh Khoa", Role: tacitv1.SignerRole_SIGNER_ROLE_HEAD}})
		if err != nil {
			t.Fatalf("%s replying to %s: %v", agency, id, err)
		}
	}
	reply("so-tai-chinh", idA)
	reply("so-tai-chinh", idC)
	reply("so-tu-phap", idC)

	a := addressee(t, show(t, srv, "auditor:auditor", idA), "so-xay-dung")
	deadlineA := a.GetDeadline().AsTime()
	deadlineB := addressee(t, show(t, srv, "auditor:auditor", idB), "so-xay-dung").GetDeadline().AsTime()
	sleepUntil(t, deadlineB)
	// The list is served from the index the sweeper writes.
	waitFor(t, 10*time.Second, "three deemed approvals on record", func() bool {
		return len(deemedRows(t, mustRun(t, srv, "auditor:auditor", "audit", "deemed", "-o", "jsonl"))) == 3
	})

	t.Run("deemed --agency -o json", func(t *testing.T) {
		var res tacitv1.ListDeemedApprovalsResponse
		decodeJSON(t, mustRun(t, srv, "auditor:auditor", "audit", "deemed", "--agency", "so-xay-dung", "-o", "json"), &res)
		rows := res.GetDeemedApprovals()
		if len(rows) != 2 {
			t.Fatalf("so-xay-dung: %d deemed approvals, want 2 (consultations %s and %s): %v", len(rows), idA, idB, rows)
		}
		for i, want := range []struct {
			id, title string
			deadline  time.Time
		}{{idA, titleA, deadlineA}, {idB, titleB, deadlineB}} {
			r := rows[i]
			if r.GetConsultationId() != want.id || r.GetTitle() != want.title || r.GetAgency() != "so-xay-dung" || r.GetLead() != "so-nnmt" {
				t.Errorf("row %d: %v, want consultation %s %q, so-xay-dung silent towards so-nnmt", i, r, want.id, want.title)
			}
			if !r.GetEffectiveTime().AsTime().Equal(want.deadline) {
				t.Errorf("row %d: effective %s, want the deadline %s", i, r.GetEffectiveTime().AsTime(), want.deadline)
			}
			if r.GetResponsibleHead() != xdHead || r.GetExtensionRequested() {
				t.Errorf("row %d: head %q, extension asked %v; want %q, false", i, r.GetResponsibleHead(), r.GetExtensionRequested(), xdHead)
			}
		}
		out := mustRun(t, srv, "auditor:auditor", "audit", "deemed", "--agency", "so-xay-dung")
		if !strings.Contains(out, idA) || !strings.Contains(out, xdHead) || strings.Contains(out, "so-tai-chinh") {
			t.Errorf("table for --agency so-xay-dung:\n%s", out)
		}
	})

	t.Run("deemed -o csv", func(t *testing.T) {
		out := mustRun(t, srv, "auditor:auditor", "audit", "deemed", "--agency", "so-xay-dung", "-o", "csv")
		if !strings.HasPrefix(out, "\xef\xbb\xbf") {
			t.Fatalf("CSV does not start with the UTF-8 byte-order mark: %q", out[:min(len(out), 16)])
		}
		if !utf8.ValidString(out) {
			t.Fatal("CSV is not valid UTF-8")
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatalf("CSV: %v\n%s", err, out)
		}
		if len(rows) != 3 || rows[0][0] != "CONSULTATION" {
			t.Fatalf("CSV: want a header and 2 rows:\n%s", out)
		}
		for i, want := range []struct{ id, title string }{{idA, titleA}, {idB, titleB}} {
			r := rows[i+1]
			if r[0] != want.id || r[1] != want.title || r[3] != "so-xay-dung" || r[5] != xdHead || r[6] != "no" {
				t.Errorf("CSV row %d: %q, want %s, %q, so-xay-dung, %q, no", i+1, r, want.id, want.title, xdHead)
			}
			if !norm.NFC.IsNormalString(r[1]) {
				t.Errorf("CSV title %q is not NFC", r[1])
			}
		}
	})

	t.Run("deemed -o jsonl", func(t *testing.T) {
		out := mustRun(t, srv, "auditor:auditor", "audit", "deemed", "-o", "jsonl")
		if n := strings.Count(out, "\n"); n != 3 {
			t.Errorf("-o jsonl printed %d lines, want 3:\n%s", n, out)
		}
		var got []string
		for _, r := range deemedRows(t, out) {
			got = append(got, r.GetConsultationId()+"/"+r.GetAgency())
		}
		want := []string{idA + "/so-xay-dung", idB + "/so-tai-chinh", idB + "/so-xay-dung"}
		if !sameSet(got, want) {
			t.Errorf("deemed approvals %v, want %v", got, want)
		}
	})

	t.Run("stats --threshold 5%", func(t *testing.T) {
		// so-xay-dung: 2 deemed of 2 settled (100%); so-tai-chinh: 1 of 3
		// (33%); so-tu-phap replied (0%).
		out := mustRun(t, srv, "auditor:auditor", "audit", "stats", "--threshold", "5%")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var agencies []string
		for _, l := range lines[1:] {
			agencies = append(agencies, strings.Fields(l)[0])
		}
		if !strings.HasPrefix(lines[0], "AGENCY") || !slices.Equal(agencies, []string{"so-xay-dung", "so-tai-chinh"}) {
			t.Errorf("agencies over 5%%: %v, want [so-xay-dung so-tai-chinh], worst first:\n%s", agencies, out)
		}
		if !strings.Contains(lines[1], "100.0%") || !strings.Contains(lines[2], "33.3%") {
			t.Errorf("silence rates not shown as 100.0%% and 33.3%%:\n%s", out)
		}
		var res tacitv1.ListAgencyStatsResponse
		decodeJSON(t, mustRun(t, srv, "auditor:auditor", "audit", "stats", "--threshold", "5%", "-o", "json"), &res)
		if res.GetThreshold() != 0.05 || len(res.GetStats()) != 2 {
			t.Fatalf("-o json: threshold %v, %d rows", res.GetThreshold(), len(res.GetStats()))
		}
		xd, tc := res.GetStats()[0], res.GetStats()[1]
		if xd.GetDeemedApprovals() != 2 || xd.GetRepliedOnTime() != 0 || xd.GetSilenceRate() != 1 || !xd.GetOverThreshold() || xd.GetRequestsReceived() != 2 {
			t.Errorf("so-xay-dung: %v", xd)
		}
		if tc.GetDeemedApprovals() != 1 || tc.GetRepliedOnTime() != 2 || tc.GetSilenceRate() != 1.0/3 || !tc.GetOverThreshold() || tc.GetRequestsReceived() != 3 {
			t.Errorf("so-tai-chinh: %v", tc)
		}
	})

	t.Run("log --consultation", func(t *testing.T) {
		evs := jsonl(t, mustRun(t, srv, "auditor:auditor", "audit", "log", "--consultation", idA, "-o", "jsonl"),
			func() *tacitv1.AuditEvent { return &tacitv1.AuditEvent{} })
		byType := map[string]*tacitv1.AuditEvent{}
		for i, e := range evs {
			if e.GetConsultationId() != idA {
				t.Errorf("entry %d of consultation %s is about %q", e.GetSequence(), idA, e.GetConsultationId())
			}
			if i > 0 && e.GetSequence() <= evs[i-1].GetSequence() {
				t.Errorf("entries out of order: %d after %d", e.GetSequence(), evs[i-1].GetSequence())
			}
			byType[e.GetType()] = e
		}
		if e := byType["CONSULTATION_OPENED"]; e.GetActor() != "agency:so-nnmt" || !strings.Contains(e.GetDetails(), titleA) {
			t.Errorf("opening: %v", e)
		}
		if e := byType["REPLY"]; e.GetActor() != "agency:so-tai-chinh" || e.GetAgency() != "so-tai-chinh" {
			t.Errorf("reply: %v", e)
		}
		d := byType["DEEMED_APPROVAL"]
		if d.GetActor() != "system" || d.GetAgency() != "so-xay-dung" || d.GetRule() != consultation.SilenceRule {
			t.Errorf("deemed approval: actor %q, agency %q, rule %q; want system, so-xay-dung, %q", d.GetActor(), d.GetAgency(), d.GetRule(), consultation.SilenceRule)
		}
		if !strings.Contains(d.GetDetails(), xdHead) {
			t.Errorf("the deemed approval's entry does not name the head responsible: %q", d.GetDetails())
		}
		out := mustRun(t, srv, "auditor:auditor", "audit", "log", "--consultation", idA)
		for _, want := range []string{"CONSULTATION_OPENED", "REPLY", "DEEMED_APPROVAL", "system"} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("verify", func(t *testing.T) {
		out := mustRun(t, srv, "auditor:auditor", "audit", "verify")
		if !strings.Contains(out, "intact") {
			t.Errorf("verify says:\n%s", out)
		}
		mustRun(t, srv, "admin:admin", "audit", "verify")
	})

	t.Run("agencies are refused", func(t *testing.T) {
		mustFail(t, srv, "so-nnmt", []string{"audit", "log"}, exitDenied, "PERMISSION_DENIED")
		mustFail(t, srv, "so-nnmt", []string{"audit", "log", "--consultation", idA}, exitDenied, "PERMISSION_DENIED")
		mustFail(t, srv, "so-xay-dung", []string{"audit", "verify"}, exitDenied, "PERMISSION_DENIED")
		mustFail(t, srv, "so-xay-dung", []string{"audit", "stats", "--agency", "so-tai-chinh"}, exitDenied, "PERMISSION_DENIED")
		var res tacitv1.ListAgencyStatsResponse
		decodeJSON(t, mustRun(t, srv, "so-xay-dung", "audit", "stats", "-o", "json"), &res)
		if len(res.GetStats()) != 1 || res.GetStats()[0].GetAgency() != "so-xay-dung" {
			t.Errorf("so-xay-dung sees the figures of %v, want only its own", res.GetStats())
		}
	})
}

// An entry of the audit trail edited in the bbolt file while the service is
// down: after a restart, verify names that entry and exits 8.
func TestAuditVerifyCatchesTampering(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	srv := startServerOn(t, data, "")
	id := openCLI(t, srv, "so-nnmt", "--title", "Thẩm định giá đất khu đô thị mới", "--field", "finance.budget", "--to", "so-tai-chinh,bo-tai-chinh",
		"--legal-basis", "Luật Đất đai 2024", "--reason", "Cần ý kiến Bộ Tài chính", "--within", "1h")
	mustRun(t, srv, "so-tai-chinh", "reply", id, "--position", "agree", "--signer", "Phạm Minh Khoa", "--signer-role", "head")
	mustRun(t, srv, "bo-tai-chinh", "reply", id, "--position", "agree-with-comments", "--comment", "Bổ sung thuyết minh", "--signer", "Nguyễn Hữu Quang", "--signer-role", "head")
	if out := mustRun(t, srv, "auditor:auditor", "audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatalf("before tampering, verify says:\n%s", out)
	}
	entries := jsonl(t, mustRun(t, srv, "auditor:auditor", "audit", "log", "-o", "jsonl"), func() *tacitv1.AuditEvent { return &tacitv1.AuditEvent{} })
	if len(entries) < 4 || entries[2].GetSequence() != 3 {
		t.Fatalf("want at least four entries, the third numbered 3: %v", entries)
	}
	if code := srv.Stop(); code != 0 {
		t.Fatalf("tacit serve exited %d after SIGTERM\n%s", code, srv.Log())
	}

	// Behind the service's back: one byte of entry 3's details.
	db, err := bbolt.Open(filepath.Join(data, "tacit.db"), 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var before, after string
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		key := binary.BigEndian.AppendUint64(nil, 3)
		e := &tacitv1.AuditEvent{}
		if err := proto.Unmarshal(b.Get(key), e); err != nil {
			return err
		}
		before = e.GetDetails()
		d := []byte(before)
		i := strings.IndexAny(before, "0123456789abcdefghijklmnopqrstuvwxyz")
		if i < 0 {
			t.Fatalf("entry 3 has no ASCII letter or digit to alter: %q", before)
		}
		d[i] ^= 0x01 // another ASCII character: still valid UTF-8
		e.Details, after = string(d), string(d)
		v, err := proto.Marshal(e)
		if err != nil {
			return err
		}
		return b.Put(key, v)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("editing entry 3: %v", err)
	}
	t.Logf("entry 3 details %q -> %q", before, after)

	srv2 := startServerOn(t, data, "")
	out, stderr, code := run(t, srv2, "auditor:auditor", "audit", "verify")
	if code != exitTampered {
		t.Errorf("verify after tampering: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitTampered, out, stderr)
	}
	if !strings.Contains(out, "entry 3") || strings.Contains(out, "intact") {
		t.Errorf("verify does not name entry 3 as broken:\n%s", out)
	}
	out, _, code = run(t, srv2, "auditor:auditor", "audit", "verify", "-o", "json")
	var res tacitv1.VerifyAuditLogResponse
	decodeJSON(t, out, &res)
	if code != exitTampered || res.GetIntact() || res.GetFirstBrokenSequence() != 3 || res.GetEntriesChecked() != 2 {
		t.Errorf("verify -o json: exit %d, %v; want exit 8, first broken 3, 2 entries checked before it", code, &res)
	}
}
