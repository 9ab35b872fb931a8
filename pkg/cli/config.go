package cli

// Configuration of `tacit serve`: every serve flag can also come from an
// environment variable TACIT_<FLAG> and from a JSON config file whose keys
// are the flag names. Precedence: flag > environment > file > default.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// configFlag and printConfigFlag are the serve flags about the configuration
// itself; they are not settings (the file is also named by TACIT_CONFIG).
const (
	configFlag      = "config"
	printConfigFlag = "print-config"
)

// Sources of a setting, as --print-config shows them.
const (
	sourceFlag    = "flag"
	sourceDefault = "default"
)

// envName is the environment variable of a serve flag: TACIT_ and the flag
// name upper-cased with '-' turned into '_' (--min-notice: TACIT_MIN_NOTICE).
func envName(flag string) string {
	return "TACIT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// isSetting reports whether a serve flag is a setting that the environment
// and the config file may give.
func isSetting(f *pflag.Flag) bool {
	switch f.Name {
	case "help", configFlag, printConfigFlag:
		return false
	}
	return true
}

// setting is one serve setting's effective value and where it came from.
type setting struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"` // flag, env TACIT_X, file PATH or default
	Env    string `json:"env"`
}

// serveConfig is the effective configuration of `tacit serve`.
type serveConfig struct {
	File       string    // the config file; "" when there is none
	FileSource string    // where File came from: flag, env TACIT_CONFIG or default
	Settings   []setting // in the order of `tacit serve --help`, config first
}

// settingCheck validates a setting's effective value beyond its type.
type settingCheck func(value string) error

// resolveConfig gives every setting of fs that was not on the command line
// its value from the environment (lookupEnv; an empty variable counts as
// unset), else from the config file, through the flag's own Value.Set so
// that types are checked; then it runs checks on the effective values. Every
// error names the setting and its source.
func resolveConfig(fs *pflag.FlagSet, lookupEnv func(string) (string, bool), checks map[string]settingCheck) (*serveConfig, error) {
	getenv := func(k string) string {
		v, _ := lookupEnv(k)
		return v
	}
	cfg := &serveConfig{FileSource: sourceDefault}
	if f := fs.Lookup(configFlag); f != nil && f.Changed {
		cfg.File, cfg.FileSource = f.Value.String(), sourceFlag
	} else if v := getenv(envName(configFlag)); v != "" {
		cfg.File, cfg.FileSource = v, "env "+envName(configFlag)
	}
	cfg.Settings = append(cfg.Settings, setting{Name: configFlag, Value: cfg.File, Source: cfg.FileSource, Env: envName(configFlag)})

	var file map[string]string
	if cfg.File != "" {
		var err error
		if file, err = readConfigFile(cfg.File, cfg.FileSource, fs); err != nil {
			return nil, err
		}
	}

	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if !isSetting(f) {
			return
		}
		s := setting{Name: f.Name, Source: sourceDefault, Env: envName(f.Name)}
		var from string // for error messages
		switch v, inFile := file[f.Name]; {
		case f.Changed:
			s.Source, from = sourceFlag, "the command line"
		case getenv(s.Env) != "":
			s.Source, from = "env "+s.Env, s.Env
			if err := f.Value.Set(getenv(s.Env)); err != nil {
				errs = append(errs, fmt.Errorf("invalid value %q for --%s (from %s): %w", getenv(s.Env), f.Name, from, err))
				return
			}
		case inFile:
			s.Source, from = "file "+cfg.File, fmt.Sprintf("config file %s, key %q", cfg.File, f.Name)
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("invalid value %q for --%s (from %s): %w", v, f.Name, from, err))
				return
			}
		default:
			from = "the default"
		}
		s.Value = f.Value.String()
		if check := checks[f.Name]; check != nil {
			if err := check(s.Value); err != nil {
				errs = append(errs, fmt.Errorf("invalid value %q for --%s (from %s): %w", s.Value, f.Name, from, err))
				return
			}
		}
		cfg.Settings = append(cfg.Settings, s)
	})
	if len(errs) > 0 {
		return nil, usageError{listProblems("invalid configuration", errs)}
	}
	return cfg, nil
}

// readConfigFile reads a JSON object whose keys are setting names and whose
// values are strings, numbers or booleans (written as on the command line).
func readConfigFile(path, source string, fs *pflag.FlagSet) (map[string]string, error) {
	how := "--config"
	if source != sourceFlag {
		how = "--config (from " + strings.TrimPrefix(source, "env ") + ")"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{fmt.Sprintf("%s: %v", how, err)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, usageError{fmt.Sprintf("config file %s: not a JSON object of settings: %v", path, err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, usageError{fmt.Sprintf("config file %s: not a JSON object of settings: unexpected data after the object", path)}
	}
	if raw == nil {
		return nil, usageError{fmt.Sprintf("config file %s: not a JSON object of settings", path)}
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(raw))
	var problems []error
	for _, k := range keys {
		f := fs.Lookup(k)
		if f == nil || !isSetting(f) {
			hint := `the keys are the flags of "tacit serve" without the dashes, such as "min-notice"`
			if g := fs.Lookup(strings.ReplaceAll(strings.ToLower(k), "_", "-")); g != nil && isSetting(g) {
				hint = fmt.Sprintf("did you mean %q?", g.Name)
			}
			problems = append(problems, fmt.Errorf("unknown setting %q: %s", k, hint))
			continue
		}
		switch v := raw[k].(type) {
		case string:
			out[k] = v
		case bool:
			out[k] = fmt.Sprint(v)
		case json.Number:
			out[k] = v.String()
		default:
			problems = append(problems, fmt.Errorf("setting %q: give a string, a number or a boolean, not %s", k, jsonKind(v)))
		}
	}
	if len(problems) > 0 {
		if len(problems) == 1 {
			return nil, usageError{fmt.Sprintf("config file %s: %v", path, problems[0])}
		}
		return nil, usageError{listProblems("config file "+path, problems)}
	}
	return out, nil
}

// listProblems is one error as it is, or several under a heading, one a line.
func listProblems(heading string, errs []error) string {
	if len(errs) == 1 {
		return errs[0].Error()
	}
	var b strings.Builder
	b.WriteString(heading + ":")
	for _, err := range errs {
		b.WriteString("\n  " + err.Error())
	}
	return b.String()
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// printConfig prints the effective configuration as a table or JSON.
func printConfig(e *env, cfg *serveConfig) error {
	if e.output == "json" {
		b, err := json.MarshalIndent(struct {
			Settings []setting `json:"settings"`
		}{cfg.Settings}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	rows := make([][]string, 0, len(cfg.Settings))
	for _, s := range cfg.Settings {
		v := s.Value
		if v == "" {
			v = `""`
		}
		rows = append(rows, []string{s.Name, v, s.Source})
	}
	return printRows(e, []string{"SETTING", "VALUE", "SOURCE"}, rows, nil)
}
