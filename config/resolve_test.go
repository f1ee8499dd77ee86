package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/internal/problems"
	"github.com/asmr-search/generative-asmr/profile"
)

func TestResolveChecksProfileAttributes(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, tinyProfileFile, filepath.Join(dir, "p.yaml"))
	ops, err := ParseOps([]byte("models:\n  m: {path: m.gguf}\nprofiles:\n  p: {path: p.yaml}\n"), filepath.Join(dir, "ops.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	prof := ops.Profiles["p"].Profile
	delete(prof.Attributes, profile.AttributeCL)
	_, err = ops.Resolve("class moduleConfig", Options{Profile: "p"})
	if err == nil || !strings.Contains(err.Error(), `alphaCL: 20, but profile "p" has no CL attribute; set alphaCL: 0`) {
		t.Errorf("missing attribute: %v", err)
	}
	zero := 0.0
	r, err := ops.Resolve("class moduleConfig", Options{Profile: "p"}, Options{AlphaCL: &zero})
	if err != nil || !r.Steered() || r.Model != "m" {
		t.Errorf("alphaCL 0: %+v %v", r, err)
	}
	r, err = ops.Resolve("query", Options{Profile: "p"}, Options{Profile: ProfileNone})
	if err != nil || r.Steered() || r.Profile != "" {
		t.Errorf("profile none: %+v %v", r, err)
	}
	_, err = ops.Resolve("query asmr options", Options{Model: "nope", Profile: "q"})
	if err == nil || !strings.Contains(err.Error(), `model: "nope" is not a configured model; the ops file has m`) ||
		!strings.Contains(err.Error(), `profile: "q" is not a configured profile`) {
		t.Errorf("unknown names: %v", err)
	}
}

// Ops.Resolve reports bad values and unknown names together.
func TestResolveReportsValuesAndNamesTogether(t *testing.T) {
	ops, err := ParseOps([]byte("models:\n  m: {path: m.gguf}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ops.Resolve("query asmr options", Options{Model: "nope", Profile: "q", Direction: "up"})
	for _, want := range []string{`model: "nope" is not a configured model`, `profile: "q" is not a configured profile`, `direction: unknown direction kind "up"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
}

// Ops.OptionsFromMap checks a class's moduleConfig against the ops file:
// types, values and names, all at once.
func TestOpsOptionsFromMapReportsEverything(t *testing.T) {
	ops, err := ParseOps([]byte("models:\n  m: {path: m.gguf}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ops.OptionsFromMap(map[string]any{"topK": "many", "model": "nope", "profile": "q", "maxTokens": 0.0}, "class moduleConfig")
	var oe *problems.Error
	if !errors.As(err, &oe) || len(oe.Problems) != 4 {
		t.Fatalf("want 4 problems, got %v", err)
	}
	for _, want := range []string{`topK: want a whole number, got the string "many"`, `model: "nope" is not a configured model`,
		`profile: "q" is not a configured profile`, "maxTokens: 0 is out of range"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	o, err := ops.OptionsFromMap(map[string]any{"alphaCL": 3.0}, "class moduleConfig")
	if err != nil || *o.AlphaCL != 3 {
		t.Errorf("good map: %+v %v", o, err)
	}
}
