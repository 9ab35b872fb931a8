package main

// Configuration of `tacit serve` end to end: environment variables and a
// config file, their precedence, --print-config, and refusal at start.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// configRows parses the --print-config table into setting → [value, source...].
func configRows(t *testing.T, out string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || strings.Join(strings.Fields(lines[0]), " ") != "SETTING VALUE SOURCE" {
		t.Fatalf("--print-config printed:\n%s", out)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f[1:]
	}
	return rows
}

func TestServePrintConfigE2E(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stdout, stderr, code := runIn(t, dir, []string{"TACIT_MIN_NOTICE=0s"}, "serve", "--print-config")
	if code != exitOK {
		t.Fatalf("TACIT_MIN_NOTICE=0s tacit serve --print-config: exit %d\n%s", code, stderr)
	}
	rows := configRows(t, stdout)
	if got := strings.Join(rows["min-notice"], " "); got != "0s env TACIT_MIN_NOTICE" {
		t.Errorf("min-notice row reads %q, want \"0s env TACIT_MIN_NOTICE\"\n%s", got, stdout)
	}
	if got := strings.Join(rows["listen"], " "); got != "127.0.0.1:7443 default" {
		t.Errorf("listen row reads %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "tacit-data")); err == nil {
		t.Errorf("--print-config created a data folder")
	}

	// With a file, and as JSON.
	file := filepath.Join(dir, "tacit.json")
	if err := os.WriteFile(file, []byte(`{"min-notice": "5m", "log-level": "warn", "demo": true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runIn(t, dir, []string{"TACIT_MIN_NOTICE=0s", "TACIT_CONFIG=" + file}, "serve", "--print-config", "-o", "json", "--log-level", "error")
	if code != exitOK {
		t.Fatalf("serve --print-config -o json: exit %d\n%s", code, stderr)
	}
	var doc struct {
		Settings []struct{ Name, Value, Source, Env string }
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("--print-config -o json: %v\n%s", err, stdout)
	}
	got := map[string]string{}
	for _, s := range doc.Settings {
		got[s.Name] = s.Value + " from " + s.Source
	}
	for name, want := range map[string]string{
		"config":     file + " from env TACIT_CONFIG",
		"min-notice": "0s from env TACIT_MIN_NOTICE",
		"log-level":  "error from flag",
		"demo":       "true from file " + file,
		"data":       "tacit-data from default",
	} {
		if got[name] != want {
			t.Errorf("%s: %q, want %q", name, got[name], want)
		}
	}
}

// A config file with an invalid value, or an unknown key, stops the server
// at start with an error naming the setting and the file.
func TestServeInvalidConfigFileE2E(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ content, want string }{
		"invalid duration": {`{"min-notice": "a week"}`, `invalid value "a week" for --min-notice (from config file FILE, key "min-notice")`},
		"unknown key":      {`{"min-notice": "0s", "minimum-notice": "1h"}`, `config file FILE: unknown setting "minimum-notice"`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := filepath.Join(dir, "tacit.json")
			if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			data := filepath.Join(dir, "data")
			_, stderr, code := runIn(t, dir, nil, "serve", "--config", file, "--data", data, "--listen", freeAddr(t))
			if code == exitOK {
				t.Fatalf("tacit serve --config with %s exited 0", tc.content)
			}
			if want := strings.ReplaceAll(tc.want, "FILE", file); !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
			if _, err := os.Stat(data); err == nil {
				t.Errorf("the data folder was created although the configuration is invalid")
			}
		})
	}
}

// A server configured only by environment variables and a config file
// serves with that configuration: the address from the file, the data
// folder, the demo registry and a minimum notice of 0s from the environment.
func TestServeFromEnvAndFileE2E(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	addr := freeAddr(t)
	file := filepath.Join(dir, "tacit.json")
	if err := os.WriteFile(file, []byte(`{"listen": "`+addr+`", "min-notice": "1h", "demo": true, "log-level": "debug"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &tacitServer{t: t, data: data, addr: addr, pki: filepath.Join(data, "pki"), log: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(tacitBin, "serve")
	s.cmd.Dir = dir
	s.cmd.Env = append(cleanEnv(), "TACIT_CONFIG="+file, "TACIT_DATA="+data, "TACIT_MIN_NOTICE=0s")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		if code := s.Stop(); code != 0 {
			t.Errorf("tacit serve exited %d after SIGTERM, want 0", code)
		}
	})
	if err := s.waitReady(); err != nil {
		t.Fatalf("tacit serve configured by environment and file did not become ready: %v\n%s", err, s.Log())
	}
	// min-notice 0s (environment over the file's 1h): a 2s deadline is accepted.
	openCLI(t, s, "so-nnmt", "--title", "Thử cấu hình", "--field", "urban-planning", "--to", "so-xay-dung",
		"--legal-basis", "Luật Quy hoạch đô thị và nông thôn 2024", "--within", "2s")
	if !strings.Contains(s.Log(), `"config":"`+file+`"`) {
		t.Errorf("the server log does not name the config file:\n%s", s.Log())
	}
}
