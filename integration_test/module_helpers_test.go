//go:build e2e

package integration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// Helpers of the module_*_test.go tests: they run generate queries against
// a real weaviate-asmr with generated models (no weights are downloaded).

// tinySpec is the shape of profile/testdata/profile-tiny.yaml (3 layers x 4
// heads x d_h 32; the fixture has no fingerprint, so it fits any such
// llama model).
func tinySpec() testmodel.Spec {
	s := testmodel.Tiny()
	s.Seed, s.ContextLength = 7, 4096
	return s
}

// slowSpec is a larger model (8 layers, n_embd 512, Q4_0, about 15 MB)
// with a 32768-token context, whose long generations take long enough on
// a CPU to be cancelled and to fill the queue.
func slowSpec() testmodel.Spec {
	return testmodel.Spec{Layers: 8, Heads: 8, KVHeads: 2, HeadDim: 64, FFN: 1536, Type: testmodel.Q4_0, Seed: 11, ContextLength: 32768}
}

// writeModel writes a random model whose end-of-generation logit is zeroed,
// so that greedy generation runs to maxTokens (answers of a known length,
// generations that last as long as asked).
func writeModel(t testing.TB, path string, spec testmodel.Spec) {
	t.Helper()
	w := testmodel.Random(spec)
	e := spec.Embd()
	clear(w.Output[testmodel.EOS*e : (testmodel.EOS+1)*e])
	if err := testmodel.Write(path, spec, w); err != nil {
		t.Fatalf("write test model %s: %v", path, err)
	}
}

// fixtureProfile is the absolute path of the tiny test profile.
func fixtureProfile(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "profile", "testdata", "profile-tiny.yaml")
}

// writeOps writes an ops YAML file into dir and returns its path.
func writeOps(t testing.TB, dir, yaml string) string {
	t.Helper()
	p := filepath.Join(dir, "asmr.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// asmrEnv is the server environment for an ops file: ASMR_CONFIG, and every
// other variable of the ops configuration (config.EnvNames) cleared so that
// the caller's environment cannot leak into the test.
func asmrEnv(opsPath string) Env {
	env := Env{}
	for _, k := range config.EnvNames {
		env[k] = ""
	}
	env[config.EnvConfig] = opsPath
	return env
}

// asmrFields selects every field of _additional { generate { asmr { ... } } }.
const asmrFields = `asmr {
  model profile steered steeredHeads alphaAC alphaCL topK direction tokenScope
  language languageName languageConfidence languageDetected answerLanguage
  promptTokens completionTokens stopReason promptBudget
  passagesGiven passagesUsed passagesCut passageTruncated
  durationMs prefillMs decodeMs warnings
}`

// genQuery is a Get query of class with the search arguments args (e.g.
// `limit: 3`) and generate(genArgs), selecting title, the object id and
// every generate field.
func genQuery(class, args, genArgs string) string {
	return fmt.Sprintf(`{ Get { %s(%s) { title _additional { id generate(%s) { singleResult groupedResult error debug { prompt } %s } } } } }`,
		class, args, genArgs, asmrFields)
}

// genObject is one object of a generate query's result.
type genObject struct {
	ID, Title string
	// Single, Grouped and Error are nil when GraphQL returned null.
	Single, Grouped, Error *string
	Debug                  string
	Asmr                   map[string]any
}

func (o genObject) single() string  { return deref(o.Single) }
func (o genObject) grouped() string { return deref(o.Grouped) }
func (o genObject) err() string     { return deref(o.Error) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// num reads a number of the asmr metadata.
func (o genObject) num(key string) float64 {
	f, _ := o.Asmr[key].(float64)
	return f
}

// str reads a string of the asmr metadata.
func (o genObject) str(key string) string {
	s, _ := o.Asmr[key].(string)
	return s
}

// generate runs a generate query and returns its objects; GraphQL errors
// fail the test.
func generate(t testing.TB, s *Server, class, query string) []genObject {
	t.Helper()
	r := s.GraphQLResponse(t, query, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("GraphQL errors: %s\nquery: %s", r.ErrorMessages(), query)
	}
	return parseGenerate(t, r.Data, class)
}

func parseGenerate(t testing.TB, data json.RawMessage, class string) []genObject {
	t.Helper()
	objs, err := decodeGenerate(data, class)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// decodeGenerate reads the objects of a generate query's data.
func decodeGenerate(data json.RawMessage, class string) ([]genObject, error) {
	var d struct {
		Get map[string][]struct {
			Title      string `json:"title"`
			Additional struct {
				ID       string `json:"id"`
				Generate *struct {
					SingleResult  *string                  `json:"singleResult"`
					GroupedResult *string                  `json:"groupedResult"`
					Error         *string                  `json:"error"`
					Debug         *struct{ Prompt string } `json:"debug"`
					Asmr          map[string]any           `json:"asmr"`
				} `json:"generate"`
			} `json:"_additional"`
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("decode generate result: %v\n%s", err, clip(data))
	}
	var out []genObject
	for _, o := range d.Get[class] {
		g := genObject{ID: o.Additional.ID, Title: o.Title}
		if x := o.Additional.Generate; x != nil {
			g.Single, g.Grouped, g.Error, g.Asmr = x.SingleResult, x.GroupedResult, x.Error, x.Asmr
			if x.Debug != nil {
				g.Debug = x.Debug.Prompt
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// postGraphQL posts a GraphQL query with ctx (which may be cancelled) and
// returns the decoded response or the transport error.
func postGraphQL(ctx context.Context, s *Server, query string) (*GraphQLResponse, error) {
	return s.GraphQLContext(ctx, query)
}

// requireReady fails the test unless the server process runs and answers
// /v1/.well-known/ready with 200.
func requireReady(t testing.TB, s *Server) {
	t.Helper()
	if !s.Running() {
		t.Fatalf("the server process is gone; tail of its log:\n%s", s.LogTail(40))
	}
	if ok, err := s.Ready(10 * time.Second); !ok {
		t.Fatalf("GET /v1/.well-known/ready: not ready (%v)", err)
	}
}

// waitModelsLoaded waits until /v1/meta shows every named model of
// generative-asmr as loaded, so that timings do not include the load.
func waitModelsLoaded(t testing.TB, s *Server, names ...string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		m := s.Meta(t)
		models, _ := m.Modules["generative-asmr"]["models"].(map[string]any)
		var pending []string
		for _, n := range names {
			if st := Lookup(models, n, "state"); st != "loaded" {
				pending = append(pending, fmt.Sprintf("%s=%v", n, st))
			}
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("models not loaded after 60 s: %s (meta %v)", strings.Join(pending, ", "), models)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// mustContainAll fails the test for each part s lacks.
func mustContainAll(t testing.TB, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s does not contain %q:\n%s", what, p, s)
		}
	}
}
