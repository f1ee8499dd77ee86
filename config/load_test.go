package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/internal/problems"
)

func TestStrictDecodingNamesKeyPaths(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown model key", `
models:
  tiny:
    path: a.gguf
    thread: 2
`, []string{`models.tiny.thread (line 5): unknown key (did you mean "threads"?)`}},
		{"unknown top-level key", "model:\n  x: 1\n", []string{`model (line 1): unknown key (did you mean "models"?)`}},
		{"wrong type", `
models:
  tiny:
    path: a.gguf
    slots: two
limits:
  requestTimeout: 30
  queueLength: [1]
`, []string{
			`models.tiny.slots (line 5): want a whole number, got "two"`,
			`limits.requestTimeout (line 7): want a duration with a unit`,
			`limits.queueLength (line 8): want a whole number, got a list`,
		}},
		{"defaults are options", `
defaults:
  alphaCl: 3
  topK: 1.5
`, []string{`defaults.alphaCl (line 3): unknown key (did you mean "alphaCL"?)`, `defaults.topK (line 4): want a whole number, got "1.5"`}},
		{"flash attention", "models:\n  m:\n    path: a.gguf\n    flashAttention: maybe\n", []string{`models.m.flashAttention (line 4): "maybe": want auto, on or off`}},
		{"languages must be a list", "languages: de\n", []string{`languages (line 1): want a list`}},
		{"repeated key", "limits:\n  maxPassages: 1\n  maxPassages: 2\n", []string{"limits.maxPassages (line 3): key repeated"}},
		{"not yaml", "models: [\n", []string{"not valid YAML"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseOps([]byte(c.yaml), "ops.yaml")
			wantProblems(t, err, c.want...)
		})
	}
}

// An ops file with key and type errors and also unknown names reports all
// of them in one error, each with its key path and line (issue 12, item 8).
func TestOpsFileReportsEveryKindOfProblemAtOnce(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, tinyProfileFile, filepath.Join(dir, "p.yaml"))
	_, err := ParseOps([]byte(`models:
  m:
    path: m.gguf
    thread: 2
    slots: two
profiles:
  p: {path: p.yaml, model: nosuch}
defaults:
  model: other
  profile: q
  direction: sideways
languages: [de, elvish]
`), filepath.Join(dir, "ops.yaml"))
	wantProblems(t, err,
		`models.m.thread (line 4): unknown key (did you mean "threads"?)`,
		`models.m.slots (line 5): want a whole number, got "two"`,
		`profiles.p.model (line 7): "nosuch" is not a configured model (have: m)`,
		`defaults.model (line 9): "other" is not a configured model`,
		`defaults.profile (line 10): "q" is not a configured profile`,
		`defaults.direction (line 11): unknown direction kind "sideways"`,
		`languages[1] (line 12): unknown language "elvish"`,
	)
	var ce *problems.Error
	if errors.As(err, &ce) && len(ce.Problems) != 7 {
		t.Errorf("want 7 problems, got %d:\n%s", len(ce.Problems), strings.Join(ce.Problems, "\n"))
	}
}

// A value dropped for its type is not reported a second time by the checks
// that run on the rest of the file.
func TestDroppedValuesAreNotReportedTwice(t *testing.T) {
	_, err := ParseOps([]byte(`models:
  a: 5
  b: {path: b.gguf, threads: -1.5, flashAttention: maybe}
defaults:
  model: a
  topK: many
  direction: up
`), "ops.yaml")
	wantProblems(t, err,
		`models.a (line 2): want a mapping`,
		`models.b.threads (line 3): want a whole number, got "-1.5"`,
		`models.b.flashAttention (line 3): "maybe": want auto, on or off`,
		`defaults.topK (line 6): want a whole number, got "many"`,
		`defaults.direction (line 7): unknown direction kind "up"`,
	)
	var ce *problems.Error
	if errors.As(err, &ce) && len(ce.Problems) != 5 {
		t.Errorf("want 5 problems, got %d:\n%s", len(ce.Problems), strings.Join(ce.Problems, "\n"))
	}
}

// A value refused at an alias (reported at the line of its anchor, where
// it is written) is dropped at every alias of that anchor, reported once,
// and the list keeps its indices, so that the rest is still checked under
// the right key paths.
func TestRefusedAliasIsDroppedEverywhere(t *testing.T) {
	_, err := ParseOps([]byte("x: &x {a: 1}\nlanguages: [*x, *x, xx]\n"), "")
	wantProblems(t, err, "x (line 1): unknown key", "languages[0] (line 1): want a string, got a mapping", `languages[2] (line 2): unknown language "xx"`)
	var ce *problems.Error
	if errors.As(err, &ce) && len(ce.Problems) != 3 {
		t.Errorf("want 3 problems, got %q", ce.Problems)
	}
}
