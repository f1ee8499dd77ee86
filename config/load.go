package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/asmr-search/generative-asmr/internal/strictyaml"
)

// LoadOpsFromEnv reads the file named by ASMR_CONFIG (built-in defaults
// when unset), applies the env overrides, validates, and loads the profiles.
func LoadOpsFromEnv() (*Ops, error) {
	return LoadOpsWithEnv(os.LookupEnv)
}

// LoadOpsWithEnv is LoadOpsFromEnv with the environment passed in, for
// tests. Every problem of the file, of the environment and of the result is
// reported at once, in one *problems.Error: a key error in the file does not
// hide a bad variable, nor a bad variable an unknown name.
func LoadOpsWithEnv(lookup func(string) (string, bool)) (*Ops, error) {
	ops, ps, usable := DefaultOps(), []string(nil), true
	if path, ok := lookup(EnvConfig); ok && strings.TrimSpace(path) != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			ops.Source = path
			ps, usable = []string{fmt.Sprintf("%s: cannot read the ops file: %v", EnvConfig, err)}, false
		} else {
			ops, ps, usable = parseOps(data, path)
		}
	}
	ps = append(ps, ops.applyEnv(lookup)...)
	if usable {
		ps = append(ps, ops.check()...)
	}
	if len(ps) > 0 {
		return nil, OpsError(ops.Source, ps)
	}
	return ops, nil
}

// LoadOps reads, validates and finishes the ops file at path, without env
// overrides.
func LoadOps(path string) (*Ops, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ops config: %w", err)
	}
	return ParseOps(data, path)
}

// ParseOps parses an ops document; path is used for messages and to resolve
// relative paths (its directory), and may be "". Every problem of the
// document is reported at once, in one *problems.Error: unknown keys and
// values of the wrong type together with what the checks of the rest find
// (unknown model, profile, direction or language names, values out of
// range).
func ParseOps(data []byte, path string) (*Ops, error) {
	ops, ps, usable := parseOps(data, path)
	if usable {
		ps = append(ps, ops.check()...)
	}
	if len(ps) > 0 {
		return nil, OpsError(ops.Source, ps)
	}
	return ops, nil
}

// parseOps decodes data and resolves relative paths, without the semantic
// checks. It returns the key and type problems too: a value with one is
// reported here, left out of ops (as if unset) and remembered in
// ops.dropped, so that the checks of the rest still run without reporting
// it twice. usable is false when nothing could be decoded (not YAML, not a
// mapping); ops is then the built-in defaults.
func parseOps(data []byte, path string) (ops *Ops, ps []string, usable bool) {
	src := path
	if src == "" {
		src = "(inline)"
	}
	ops = DefaultOps()
	ops.Source = src
	var root yaml.Node
	var second *strictyaml.SecondDocumentError
	switch err := strictyaml.Decode(data, &root); {
	case errors.Is(err, strictyaml.ErrEmpty):
		return ops, nil, true
	case errors.As(err, &second) && second.Err == nil:
		ps = append(ps, fmt.Sprintf("line %d: a second YAML document; keep one (the first is read)", second.Line))
	case errors.As(err, &second):
		return ops, []string{"not valid YAML: " + strings.TrimPrefix(second.Err.Error(), "yaml: ")}, false
	case err != nil:
		return ops, []string{"not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}, false
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	report, ok := strictyaml.Check(doc, reflect.TypeFor[Ops]())
	ps = append(ps, report.Problems...)
	if !ok {
		return ops, ps, false
	}
	ops.lines, ops.dropped = report.Lines, report.Dropped
	// Check removed unknown and repeated keys and nulled every value it
	// reported, so what is left decodes; keep yaml's words if not.
	if err := doc.Decode(ops); err != nil {
		return ops, append(ps, strictyaml.Message(err)), false
	}
	ops.Source = src
	if ops.Models == nil {
		ops.Models = map[string]*ModelConfig{}
	}
	if ops.Profiles == nil {
		ops.Profiles = map[string]*ProfileConfig{}
	}
	dir := ""
	if path != "" {
		dir = filepath.Dir(path)
	}
	for _, m := range ops.Models {
		if m != nil && m.Path != "" && !filepath.IsAbs(m.Path) && dir != "" {
			m.Path = filepath.Join(dir, m.Path)
		}
	}
	for _, p := range ops.Profiles {
		if p != nil && p.Path != "" && !filepath.IsAbs(p.Path) && dir != "" {
			p.Path = filepath.Join(dir, p.Path)
		}
	}
	return ops, ps, true
}
