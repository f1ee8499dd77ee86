//go:build e2e

package integration_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/bench/ollamapeer"
)

// TestModuleNearTextWithOllamaVectorizer runs generative-asmr behind a
// nearText search: Weaviate's text2vec-ollama module vectorizes objects and
// queries through a stock `ollama serve` (built from the pinned ollama, the
// tiny model imported into it as an "embedding" model), and the reader
// answers over what nearText found. The embedded default enables no
// vectorizer, so nearText needs one like this.
func TestModuleNearTextWithOllamaVectorizer(t *testing.T) {
	skipShort(t)
	begin := time.Now()
	root := RepoRoot(t)
	dir := t.TempDir()
	tiny := filepath.Join(dir, "tiny.gguf")
	writeModel(t, tiny, tinySpec())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin := ollamaBinary(t, ctx, root)
	peer, err := ollamapeer.Start(ctx, bin, filepath.Join(dir, "ollama-models"), filepath.Join(dir, "ollama.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := peer.Stop(); err != nil {
			t.Logf("ollama stop: %v", err)
		}
		if t.Failed() {
			if log, err := peer.Log(); err == nil {
				t.Logf("ollama log:\n%s", tail(log, 40))
			}
		}
	})
	if err := peer.Create(ctx, "tiny-embed", tiny); err != nil {
		t.Fatal(err)
	}

	ops := writeOps(t, dir, fmt.Sprintf(`models:
  tiny:
    path: tiny.gguf
    threads: 2
    contextSize: 1024
profiles:
  tiny:
    path: %s
defaults:
  profile: tiny
  alphaAC: 8
  alphaCL: 8
  topK: 4
  maxTokens: 16
languages: [de, en, fr]
`, fixtureProfile(t)))
	env := asmrEnv(ops)
	env["ENABLE_MODULES"] = "text2vec-ollama,generative-asmr"
	env["DEFAULT_VECTORIZER_MODULE"] = "text2vec-ollama"
	s := StartServer(t, env)
	if _, ok := s.Meta(t).Modules["text2vec-ollama"]; !ok {
		t.Fatalf("/v1/meta does not list text2vec-ollama: %v", s.Meta(t).Modules)
	}
	waitModelsLoaded(t, s, "tiny")

	s.CreateClass(t, map[string]any{
		"class": "Article",
		"properties": []map[string]any{
			{"name": "title", "dataType": []string{"text"}},
			{"name": "text", "dataType": []string{"text"}},
		},
		"vectorConfig": map[string]any{
			"default": map[string]any{
				"vectorizer": map[string]any{
					"text2vec-ollama": map[string]any{"apiEndpoint": peer.URL, "model": "tiny-embed"},
				},
				"vectorIndexType": "hnsw",
			},
		},
		"moduleConfig": map[string]any{"generative-asmr": map[string]any{"maxTokens": 8}},
	})
	var objs []map[string]any
	for _, p := range passages {
		// No vectors: text2vec-ollama makes them.
		objs = append(objs, map[string]any{"class": "Article", "id": p.id, "properties": map[string]any{"title": p.title, "text": p.text}})
	}
	s.BatchObjects(t, objs)
	var withVec struct {
		Vectors map[string][]float32 `json:"vectors"`
	}
	s.GetJSON(t, "/v1/objects/Article/"+passages[0].id+"?include=vector", &withVec)
	if n := len(withVec.Vectors["default"]); n != tinySpec().Embd() {
		t.Fatalf("object vector has %d dimensions, want %d (the tiny model's embedding)", n, tinySpec().Embd())
	}

	q := fmt.Sprintf(`{ Get { Article(nearText: {concepts: [%q]}, limit: 2) { title _additional { id distance generate(groupedResult: {task: %q, properties: ["title", "text"]}) { groupedResult error %s } } } } }`,
		passages[0].text, groupedTask, asmrFields)
	r := s.GraphQLResponse(t, q, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("nearText: %s", r.ErrorMessages())
	}
	got := parseGenerate(t, r.Data, "Article")
	if len(got) != 2 {
		t.Fatalf("nearText: %d objects, want 2: %s", len(got), r.Data)
	}
	// The object whose own text is the query is the nearest.
	if got[0].ID != passages[0].id {
		t.Errorf("nearText nearest: %s (%s), want %s", got[0].ID, got[0].Title, passages[0].id)
	}
	g := got[0]
	if g.Error != nil || g.grouped() == "" {
		t.Fatalf("grouped over nearText: %q, error %q", g.grouped(), g.err())
	}
	if g.num("passagesUsed") != 2 || g.num("completionTokens") != 8 || g.Asmr["steered"] != true {
		t.Errorf("metadata %v", g.Asmr)
	}
	if !strings.Contains(string(r.Data), `"distance"`) {
		t.Errorf("no distance in %s", r.Data)
	}
	t.Logf("nearText + groupedResult: %q; test took %v", g.grouped(), time.Since(begin).Round(100*time.Millisecond))
}

// ollamaBinary builds `ollama` from the ollama module pinned in go.mod into
// .cache/ (go build is incremental: seconds when nothing changed, minutes
// cold), under a lock shared with other test processes.
func ollamaBinary(t *testing.T, ctx context.Context, root string) string {
	t.Helper()
	out := filepath.Join(root, ".cache", "integration-ollama", "ollama")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockFile(out + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	start := time.Now()
	if err := ollamapeer.Build(ctx, out); err != nil {
		t.Fatalf("building ollama (for its text2vec-ollama embeddings): %v", err)
	}
	t.Logf("ollama built or up to date in %v", time.Since(start).Round(100*time.Millisecond))
	return out
}
