package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runCLI runs the command line in-process and returns stdout, stderr and
// the exit code. A command that would keep running (a serve that was wrongly
// allowed to start) is cancelled after 10 seconds.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := NewRootCommand(&stdout, &stderr)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	if ctx.Err() != nil {
		t.Fatalf("tacit %s ran until cancelled; stderr:\n%s", strings.Join(args, " "), stderr.String())
	}
	code := ExitOK
	if err != nil {
		code = printError(&stderr, err, "en")
	}
	return stdout.String(), stderr.String(), code
}

// cleanTacitEnv unsets (empties, which counts as unset) every TACIT_*
// variable, so a developer's settings cannot change the tests.
func cleanTacitEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "TACIT_") {
			t.Setenv(k, "")
		}
	}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tacit.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// printedConfig runs `serve --print-config -o json` with args and returns
// the settings by name.
func printedConfig(t *testing.T, args ...string) map[string]setting {
	t.Helper()
	stdout, stderr, code := runCLI(t, append([]string{"serve", "--print-config", "-o", "json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("serve --print-config %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	var doc struct{ Settings []setting }
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("parsing --print-config -o json: %v\n%s", err, stdout)
	}
	out := map[string]setting{}
	for _, s := range doc.Settings {
		out[s.Name] = s
	}
	return out
}

func TestEnvName(t *testing.T) {
	for flag, want := range map[string]string{
		"min-notice": "TACIT_MIN_NOTICE", "tls-cert": "TACIT_TLS_CERT", "log-level": "TACIT_LOG_LEVEL", "data": "TACIT_DATA", "config": "TACIT_CONFIG",
	} {
		if got := envName(flag); got != want {
			t.Errorf("envName(%q) = %q, want %q", flag, got, want)
		}
	}
}

// Flag over environment over file over default, for settings of several
// types: duration (min-notice), bool (demo), string (log-level, data, ...).
func TestServeConfigPrecedence(t *testing.T) {
	cleanTacitEnv(t)
	file := writeConfig(t, `{
		"data": "/srv/tacit-from-file",
		"min-notice": "10m",
		"demo": true,
		"log-level": "debug",
		"listen": "0.0.0.0:9000",
		"remind-before": "2wd",
		"timezone": "Asia/Bangkok"
	}`)
	t.Setenv("TACIT_MIN_NOTICE", "20m")
	t.Setenv("TACIT_DEMO", "false")
	t.Setenv("TACIT_LOG_LEVEL", "warn")
	t.Setenv("TACIT_REMIND_BEFORE", "3h")
	t.Setenv("TACIT_LOG_FORMAT", "console")

	got := printedConfig(t, "--config", file, "--min-notice", "30m", "--listen", "127.0.0.1:9999", "--demo=true")
	want := map[string]setting{
		"config":        {Value: file, Source: "flag"},
		"min-notice":    {Value: "30m0s", Source: "flag"},                   // flag > env > file
		"demo":          {Value: "true", Source: "flag"},                    // flag > env > file
		"listen":        {Value: "127.0.0.1:9999", Source: "flag"},          // flag > file
		"log-level":     {Value: "warn", Source: "env TACIT_LOG_LEVEL"},     // env > file
		"remind-before": {Value: "3h", Source: "env TACIT_REMIND_BEFORE"},   // env > file
		"log-format":    {Value: "console", Source: "env TACIT_LOG_FORMAT"}, // env > default
		"data":          {Value: "/srv/tacit-from-file", Source: "file " + file},
		"timezone":      {Value: "Asia/Bangkok", Source: "file " + file},
		"registry":      {Value: "", Source: "default"},
		"calendar":      {Value: "", Source: "default"},
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("--print-config lacks %s", name)
			continue
		}
		if g.Value != w.Value || g.Source != w.Source {
			t.Errorf("%s = %q from %q, want %q from %q", name, g.Value, g.Source, w.Value, w.Source)
		}
		if g.Env != envName(name) {
			t.Errorf("%s: env %q, want %q", name, g.Env, envName(name))
		}
	}

	// Without the flags, the environment wins over the file; the bool false
	// from the environment beats true in the file.
	got = printedConfig(t, "--config", file)
	for name, w := range map[string]setting{
		"min-notice": {Value: "20m0s", Source: "env TACIT_MIN_NOTICE"},
		"demo":       {Value: "false", Source: "env TACIT_DEMO"},
		"listen":     {Value: "0.0.0.0:9000", Source: "file " + file},
	} {
		if g := got[name]; g.Value != w.Value || g.Source != w.Source {
			t.Errorf("%s = %q from %q, want %q from %q", name, g.Value, g.Source, w.Value, w.Source)
		}
	}

	// With neither environment nor file: the defaults. An empty variable
	// counts as unset.
	cleanTacitEnv(t)
	t.Setenv("TACIT_MIN_NOTICE", "")
	got = printedConfig(t)
	for name, w := range map[string]setting{
		"config":     {Value: "", Source: "default"},
		"min-notice": {Value: "1h0m0s", Source: "default"},
		"demo":       {Value: "false", Source: "default"},
		"data":       {Value: DefaultDataDir, Source: "default"},
		"listen":     {Value: DefaultServer, Source: "default"},
		"log-level":  {Value: "info", Source: "default"},
	} {
		if g := got[name]; g.Value != w.Value || g.Source != w.Source {
			t.Errorf("%s = %q from %q, want %q from %q", name, g.Value, g.Source, w.Value, w.Source)
		}
	}
}

// TACIT_CONFIG names the file; numbers and booleans in it are written as on
// the command line.
func TestServeConfigFileFromEnv(t *testing.T) {
	cleanTacitEnv(t)
	file := writeConfig(t, `{"demo": true, "metrics-listen": "127.0.0.1:9090", "min-notice": "0s"}`)
	t.Setenv("TACIT_CONFIG", file)
	got := printedConfig(t)
	for name, w := range map[string]setting{
		"config":         {Value: file, Source: "env TACIT_CONFIG"},
		"demo":           {Value: "true", Source: "file " + file},
		"metrics-listen": {Value: "127.0.0.1:9090", Source: "file " + file},
		"min-notice":     {Value: "0s", Source: "file " + file},
	} {
		if g := got[name]; g.Value != w.Value || g.Source != w.Source {
			t.Errorf("%s = %q from %q, want %q from %q", name, g.Value, g.Source, w.Value, w.Source)
		}
	}
	// --config on the command line beats TACIT_CONFIG.
	other := writeConfig(t, `{"demo": false}`)
	got = printedConfig(t, "--config", other)
	if g := got["config"]; g.Value != other || g.Source != "flag" {
		t.Errorf("config = %q from %q, want %q from flag", g.Value, g.Source, other)
	}
	if g := got["demo"]; g.Value != "false" || g.Source != "file "+other {
		t.Errorf("demo = %q from %q, want false from the --config file", g.Value, g.Source)
	}
}

// The table form lists every setting with its value and source, and
// --print-config does not create the data folder or serve.
func TestPrintConfigTable(t *testing.T) {
	cleanTacitEnv(t)
	data := filepath.Join(t.TempDir(), "data")
	file := writeConfig(t, `{"data": "`+data+`", "log-format": "console"}`)
	t.Setenv("TACIT_MIN_NOTICE", "0s")
	stdout, stderr, code := runCLI(t, "serve", "--print-config", "--config", file, "--log-level", "debug")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	rows := map[string][]string{}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "SETTING VALUE SOURCE" {
		t.Errorf("header %q", lines[0])
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f[1:]
	}
	for name, want := range map[string]string{
		"config":        file + " flag",
		"min-notice":    "0s env TACIT_MIN_NOTICE",
		"data":          data + " file " + file,
		"log-format":    "console file " + file,
		"log-level":     "debug flag",
		"timezone":      "Asia/Ho_Chi_Minh default",
		"tls-cert":      `"" default`,
		"remind-before": "1wd default",
	} {
		if got := strings.Join(rows[name], " "); got != want {
			t.Errorf("row %s reads %q, want %q\n%s", name, got, want, stdout)
		}
	}
	// Every serve flag but --config's companions is a setting.
	for _, name := range []string{"calendar", "client-ca", "demo", "listen", "metrics-listen", "registry", "tls-key"} {
		if _, ok := rows[name]; !ok {
			t.Errorf("--print-config lacks %s:\n%s", name, stdout)
		}
	}
	for _, name := range []string{"print-config", "help", "as", "server", "output"} {
		if _, ok := rows[name]; ok {
			t.Errorf("--print-config lists %s, which is not a serve setting", name)
		}
	}
	if _, err := os.Stat(data); err == nil {
		t.Errorf("--print-config created the data folder %s", data)
	}

	if _, stderr, code := runCLI(t, "serve", "--print-config", "-o", "csv"); code != ExitUsage || !strings.Contains(stderr, "-o csv") {
		t.Errorf("--print-config -o csv: exit %d, stderr %q; want a usage error", code, stderr)
	}
}

func TestServeConfigUnknownKey(t *testing.T) {
	cleanTacitEnv(t)
	file := writeConfig(t, `{"min_notice": "0s", "colour": "blue", "print-config": true, "data": "x"}`)
	for _, args := range [][]string{
		{"serve", "--print-config", "--config", file},
		{"serve", "--config", file, "--data", t.TempDir(), "--listen", "127.0.0.1:0"},
	} {
		_, stderr, code := runCLI(t, args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
		for _, want := range []string{file, `unknown setting "min_notice": did you mean "min-notice"?`, `unknown setting "colour"`, `unknown setting "print-config"`} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, want, stderr)
			}
		}
	}
}

// An invalid value stops `tacit serve` at start, before it serves, with an
// error that names the setting and its source.
func TestServeConfigInvalidValue(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		file string // config file content, "" for none
		args []string
		want []string // in stderr; FILE is replaced by the file's path
	}{{
		name: "duration from env",
		env:  map[string]string{"TACIT_MIN_NOTICE": "abc"},
		want: []string{`invalid value "abc" for --min-notice (from TACIT_MIN_NOTICE): time: invalid duration "abc"`},
	}, {
		name: "duration from file",
		file: `{"min-notice": "soon"}`,
		want: []string{`invalid value "soon" for --min-notice (from config file FILE, key "min-notice"): time: invalid duration "soon"`},
	}, {
		name: "number where a duration is needed",
		file: `{"min-notice": 3600}`,
		want: []string{`invalid value "3600" for --min-notice (from config file FILE, key "min-notice")`, "missing unit"},
	}, {
		name: "bool from env",
		env:  map[string]string{"TACIT_DEMO": "maybe"},
		want: []string{`invalid value "maybe" for --demo (from TACIT_DEMO)`},
	}, {
		name: "bool from file",
		file: `{"demo": "sometimes"}`,
		want: []string{`invalid value "sometimes" for --demo (from config file FILE, key "demo")`},
	}, {
		name: "log level from env",
		env:  map[string]string{"TACIT_LOG_LEVEL": "loud"},
		want: []string{`invalid value "loud" for --log-level (from TACIT_LOG_LEVEL): use debug, info, warn or error`},
	}, {
		name: "time zone from file",
		file: `{"timezone": "Mars/Olympus"}`,
		want: []string{`invalid value "Mars/Olympus" for --timezone (from config file FILE, key "timezone")`, "IANA"},
	}, {
		name: "negative duration on the command line",
		args: []string{"--min-notice", "-1h"},
		want: []string{`invalid value "-1h0m0s" for --min-notice (from the command line): negative`},
	}, {
		name: "remind-before from env",
		env:  map[string]string{"TACIT_REMIND_BEFORE": "soonish"},
		want: []string{`invalid value "soonish" for --remind-before (from TACIT_REMIND_BEFORE)`},
	}, {
		name: "listen address from file",
		file: `{"listen": "nowhere"}`,
		args: []string{}, // no --listen on the command line
		want: []string{`invalid value "nowhere" for --listen (from config file FILE, key "listen")`},
	}, {
		name: "several at once",
		env:  map[string]string{"TACIT_LOG_FORMAT": "xml"},
		file: `{"min-notice": "x"}`,
		want: []string{`for --log-format (from TACIT_LOG_FORMAT): use json or console`, `for --min-notice (from config file FILE, key "min-notice")`},
	}, {
		name: "a list in the file",
		file: `{"data": ["a", "b"]}`,
		want: []string{`config file FILE: setting "data": give a string, a number or a boolean, not a list`},
	}, {
		name: "not JSON",
		file: `data = "x"`,
		want: []string{"config file FILE: not a JSON object of settings"},
	}, {
		name: "missing file from env",
		env:  map[string]string{"TACIT_CONFIG": "/nonexistent/tacit.json"},
		want: []string{"--config (from TACIT_CONFIG): open /nonexistent/tacit.json"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cleanTacitEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := []string{"serve", "--data", filepath.Join(t.TempDir(), "data"), "--listen", "127.0.0.1:0"}
			if tc.args != nil {
				args = append([]string{"serve", "--data", filepath.Join(t.TempDir(), "data")}, tc.args...)
			}
			file := ""
			if tc.file != "" {
				file = writeConfig(t, tc.file)
				args = append(args, "--config", file)
			}
			for _, extra := range [][]string{nil, {"--print-config"}} {
				_, stderr, code := runCLI(t, append(args, extra...)...)
				if code != ExitUsage {
					t.Errorf("%v: exit %d, want %d\n%s", extra, code, ExitUsage, stderr)
				}
				for _, w := range tc.want {
					if w = strings.ReplaceAll(w, "FILE", file); !strings.Contains(stderr, w) {
						t.Errorf("%v: stderr lacks %q:\n%s", extra, w, stderr)
					}
				}
			}
		})
	}
}

// Every serve setting names its environment variable in --help, and the
// Long help documents the mechanism.
func TestServeHelpDocumentsConfiguration(t *testing.T) {
	cleanTacitEnv(t)
	stdout, _, code := runCLI(t, "serve", "--help")
	if code != ExitOK {
		t.Fatalf("serve --help: exit %d", code)
	}
	for _, want := range []string{"TACIT_<FLAG>", "--config FILE", "TACIT_CONFIG", "--print-config", "flag, env TACIT_X, file PATH or default",
		"[TACIT_MIN_NOTICE]", "[TACIT_TLS_CERT]", "[TACIT_LOG_LEVEL]", "[TACIT_DATA]", "[TACIT_METRICS_LISTEN]"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
}
