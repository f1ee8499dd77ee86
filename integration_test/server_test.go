//go:build e2e

package integration_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Weaviate server; skipped with -short")
	}
}

func TestServerListsModule(t *testing.T) {
	skipShort(t)
	s := StartServer(t, nil)

	m := s.Meta(t)
	if m.Version != "1.35.2" {
		t.Errorf("version = %q, want 1.35.2", m.Version)
	}
	mod, ok := m.Modules["generative-asmr"]
	if !ok {
		t.Fatalf("/v1/meta modules = %v, want generative-asmr", m.Modules)
	}
	t.Logf("generative-asmr meta: %v", mod)
	if len(m.Modules) != 1 {
		t.Errorf("modules = %v, want only generative-asmr (API-based modules off)", m.Modules)
	}
	// Live and ready, as a load balancer would see them.
	for _, p := range []string{"/v1/.well-known/live", "/v1/.well-known/ready"} {
		if status, body := s.Raw(t, http.MethodGet, p, nil); status != http.StatusOK {
			t.Errorf("GET %s: HTTP %d %s", p, status, body)
		}
	}
}

func TestObjectsSurviveRestart(t *testing.T) {
	skipShort(t)
	begin := time.Now()
	s := StartServer(t, nil)

	const class = "Passage"
	s.CreateClass(t, map[string]any{
		"class":        class,
		"vectorizer":   "none",
		"moduleConfig": map[string]any{"generative-asmr": map[string]any{}},
		"properties": []map[string]any{
			{"name": "text", "dataType": []string{"text"}},
			{"name": "lang", "dataType": []string{"text"}},
		},
	})
	passages := []struct{ id, text, lang string }{
		{"00000000-0000-0000-0000-000000000001", "Alexander Graham Bell patented the telephone in 1876.", "en"},
		{"00000000-0000-0000-0000-000000000002", "Das Telefon wurde 1876 von Alexander Graham Bell patentiert.", "de"},
		{"00000000-0000-0000-0000-000000000003", "Alexander Graham Bell a breveté le téléphone en 1876.", "fr"},
	}
	var objs []map[string]any
	for i, p := range passages {
		vec := []float32{0, 0, 0}
		vec[i] = 1
		objs = append(objs, map[string]any{
			"class":      class,
			"id":         p.id,
			"properties": map[string]any{"text": p.text, "lang": p.lang},
			"vector":     vec,
		})
	}
	s.BatchObjects(t, objs)
	if n := s.Count(t, class); n != 3 {
		t.Fatalf("count before restart = %d, want 3", n)
	}

	dataDir, url := s.DataDir, s.URL
	s.Restart(t)
	if s.DataDir != dataDir || s.URL != url {
		t.Fatalf("restart moved the server: %s %s -> %s %s", dataDir, url, s.DataDir, s.URL)
	}

	if n := s.Count(t, class); n != 3 {
		t.Fatalf("count after restart = %d, want 3", n)
	}
	for _, p := range passages {
		var obj struct {
			Properties map[string]any `json:"properties"`
		}
		s.GetJSON(t, fmt.Sprintf("/v1/objects/%s/%s", class, p.id), &obj)
		if obj.Properties["text"] != p.text || obj.Properties["lang"] != p.lang {
			t.Errorf("object %s after restart: %v", p.id, obj.Properties)
		}
	}
	// The class keeps its generative module, and vector search still works.
	if c := s.Class(t, class); Lookup(c, "moduleConfig", "generative-asmr") == nil {
		t.Errorf("class after restart lost moduleConfig generative-asmr: %v", c["moduleConfig"])
	}
	var data map[string]any
	s.GraphQL(t, `{ Get { Passage(nearVector: {vector: [0, 1, 0]}, limit: 1) { lang } } }`, nil, &data)
	if got := Lookup(data, "Get", class, 0, "lang"); got != "de" {
		t.Errorf("nearVector [0 1 0] after restart: lang = %v, want de (data %v)", got, data)
	}
	t.Logf("ready in %v after the restart; test took %v", s.ReadyIn.Round(10*time.Millisecond), time.Since(begin).Round(10*time.Millisecond))
}
