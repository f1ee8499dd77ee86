package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/asmr-search/generative-asmr/internal/problems/problemstest"
)

// Fuzz targets for what operators and users write: the ops YAML and a
// class's or a query's options (steering profiles: FuzzParseProfile in
// package profile). `make fuzz` runs each for
// FUZZTIME; plain `go test` runs their seeds and the inputs kept under
// testdata/fuzz/ as regression cases. Each checks, beyond "no panic":
// an error has text (and each listed problem too); an accepted input
// validates again after a round trip through its own encoding.

// readsDevices reports whether an ops input names a path under /dev, /proc
// or /sys: a profile path there could block the fuzzer (/dev/zero never
// ends).
func readsDevices(data []byte) bool {
	for _, p := range []string{"/dev", "/proc", "/sys"} {
		if bytes.Contains(data, []byte(p)) {
			return true
		}
	}
	return false
}

func FuzzParseOps(f *testing.F) {
	for _, path := range []string{"../examples/asmr-tiny.yaml", "../examples/asmr-ollama.yaml", "../examples/asmr.yaml"} {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"",
		"models:\n  m: {path: m.gguf}\n",
		"models:\n  m: {path: m.gguf, thread: 2, slots: two}\ndefaults: {model: x, direction: up}\nlanguages: [de, xx]\n",
		"models:\n  a: &m {path: a.gguf}\n  b: *m\ndefaults: {model: a, seed: 7}\n",
		"models:\n  m: {path: m.gguf, flashAttention: maybe}\nlimits: {requestTimeout: 30, queueLength: [1]}\n",
		"a: &a [*a]\n",
		"models: &m {x: *m}\n",
		"x: &x {a: 1}\nlanguages: [*x, *x, xx]\n",
		"models: [\n",
		"--- \nmodels: {}\n---\nx: 1\n",
		"profiles:\n  p: {path: p.yaml}\n",
		"defaults:\n  promptTemplate: '{{passages}} {{question}}'\n  answerLanguage: German\n  temperature: 0.5\n  seed: 4294967295\n",
	} {
		f.Add([]byte(s))
	}
	// The profile every test uses, inline, so that profile checks run.
	if data, err := os.ReadFile(tinyProfileFile); err == nil {
		var b strings.Builder
		b.WriteString("models:\n  tiny: {path: tiny.gguf}\nprofiles:\n  tiny:\n    model: tiny\n    inline:\n")
		for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			b.WriteString("      " + line + "\n")
		}
		b.WriteString("defaults: {profile: tiny, alphaAC: 5}\n")
		f.Add([]byte(b.String()))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 || readsDevices(data) {
			return
		}
		ops, err := ParseOps(data, "")
		if err != nil {
			if ops != nil {
				t.Fatal("ParseOps returned an error and a configuration")
			}
			problemstest.CheckText(t, err)
			return
		}
		// Accepted: it validates again, as it is and after a round trip
		// through YAML, and its defaults resolve when it has models.
		if ps := ops.check(); len(ps) > 0 {
			t.Fatalf("accepted configuration fails its own check: %q", ps)
		}
		if len(ops.Models) > 0 {
			if _, err := ops.Resolve("defaults"); err != nil {
				t.Fatalf("accepted configuration's defaults do not resolve: %v", err)
			}
		}
		out, err := yaml.Marshal(ops)
		if err != nil {
			t.Fatalf("marshal an accepted configuration: %v", err)
		}
		again, err := ParseOps(out, "")
		if err != nil {
			t.Fatalf("accepted configuration refused after a round trip: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(ops.ModelNames(), again.ModelNames()) || !reflect.DeepEqual(ops.ProfileNames(), again.ProfileNames()) ||
			!reflect.DeepEqual(ops.Languages, again.Languages) {
			t.Fatalf("round trip changed the configuration:\n%s", out)
		}
	})
}

func FuzzOptionsFromMap(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"model":"m","profile":"p","alphaAC":10,"alphaCL":2.5,"topK":16,"direction":"mass-mean","tokenScope":"all","maxTokens":100,"temperature":0.2,"seed":42,"promptTemplate":"{{passages}} {{question}}","answerLanguage":"fr"}`,
		`{"alphaCl":3,"topK":1.5,"model":7,"maxTokens":"many","temprature":1}`,
		`{"topK":"many","direction":"sideways","maxTokens":0}`,
		`{"seed":-1}`,
		`{"seed":4294967296}`,
		`{"seed":1e30,"profile":"none"}`,
		`{"promptTemplate":"{{ passages }} {{question}} {{language}}","answerLanguage":"deu"}`,
		`{"alphaAC":null,"temperature":5}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	dir := f.TempDir()
	profile, err := os.ReadFile(tinyProfileFile)
	if err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p.yaml"), profile, 0o644); err != nil {
		f.Fatal(err)
	}
	ops, err := ParseOps([]byte("models:\n  m: {path: m.gguf}\nprofiles:\n  p: {path: p.yaml, model: m}\n"), filepath.Join(dir, "ops.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, useNumber bool) {
		dec := json.NewDecoder(bytes.NewReader(data))
		if useNumber {
			dec.UseNumber()
		}
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return
		}
		o, err := OptionsFromMap(m, "class moduleConfig")
		if err != nil {
			problemstest.CheckText(t, err)
		} else {
			// Accepted: it resolves, and reads the same after a round
			// trip through JSON.
			if _, err := o.Resolve("class moduleConfig"); err != nil {
				t.Fatalf("accepted options do not resolve: %v", err)
			}
			b, err := json.Marshal(o)
			if err != nil {
				t.Fatalf("marshal accepted options: %v", err)
			}
			var m2 map[string]any
			if err := json.Unmarshal(b, &m2); err != nil {
				t.Fatal(err)
			}
			o2, err := OptionsFromMap(m2, "class moduleConfig")
			if err != nil {
				t.Fatalf("accepted options refused after a round trip: %v\n%s", err, b)
			}
			if !reflect.DeepEqual(o, o2) {
				t.Fatalf("round trip changed the options: %+v, then %+v", o, o2)
			}
		}
		// Against an ops file: what it accepts resolves there.
		co, err := ops.OptionsFromMap(m, "class moduleConfig")
		if err != nil {
			problemstest.CheckText(t, err)
			return
		}
		if _, err := ops.Resolve("class moduleConfig", co); err != nil {
			t.Fatalf("options accepted against the ops file do not resolve there: %v", err)
		}
	})
}
