package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tacit-gov/tacit/pkg/storage/bolt"
)

func runGenerate(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := newGenerateCommand(&env{stdout: &stdout, stderr: &stderr})
	cmd.SetArgs(args)
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	err := cmd.ExecuteContext(context.Background())
	return stdout.String(), stderr.String(), err
}

func TestGenerateFillsANewFolderOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	out, errOut, err := runGenerate(t, "--data", dir, "--consultations", "200", "--since", "2025-06-01", "--until", "2026-01-15T10:00:00+07:00")
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, errOut)
	}
	for _, want := range []string{"Consultations:", "200 (concluded", "Deemed approvals:", "Audit entries:", "tacit.db", "Elapsed:"} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary lacks %q:\n%s", want, out)
		}
	}
	st, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	counts, err := st.Counts(t.Context())
	st.Close()
	if err != nil || counts.Consultations != 200 {
		t.Fatalf("the folder holds %d consultations (%v), want 200", counts.Consultations, err)
	}

	// A folder with anything in it is refused, and left as it was.
	before, _ := os.ReadFile(filepath.Join(dir, "tacit.db"))
	_, _, err = runGenerate(t, "--data", dir, "--consultations", "10")
	if _, ok := err.(usageError); !ok || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("generate into a used folder: %v; want a usage error saying it is not empty", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "tacit.db")); !bytes.Equal(before, after) {
		t.Error("the refused generate changed the folder")
	}
	for _, args := range [][]string{
		{"--consultations", "10"},
		{"--data", t.TempDir(), "--since", "yesterday"},
		{"--data", t.TempDir(), "--since", "2026-01-02", "--until", "2026-01-01"},
	} {
		if _, _, err := runGenerate(t, args...); err == nil {
			t.Errorf("generate %v succeeded", args)
		} else if _, ok := err.(usageError); !ok {
			t.Errorf("generate %v: %v is not a usage error", args, err)
		}
	}
}
