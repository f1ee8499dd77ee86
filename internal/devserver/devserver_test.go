package devserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/asmr-search/generative-asmr/internal/demo"
	"github.com/asmr-search/generative-asmr/internal/weaviatehttp"
)

// A fake Weaviate records what LoadDemo sends: the class, the objects and
// the sample query; a second LoadDemo finds the class and only queries.
func TestLoadDemo(t *testing.T) {
	var mu sync.Mutex
	var classes []map[string]any
	var objects []any
	queries := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		switch r.Method + " " + r.URL.Path {
		case "GET /v1/schema":
			json.NewEncoder(w).Encode(map[string]any{"classes": classes})
		case "POST /v1/schema":
			var c map[string]any
			json.Unmarshal(body, &c)
			classes = append(classes, c)
			w.Write(body)
		case "POST /v1/batch/objects":
			var b struct{ Objects []any }
			json.Unmarshal(body, &b)
			objects = append(objects, b.Objects...)
			io.WriteString(w, "[]")
		case "POST /v1/graphql":
			var q struct{ Query string }
			json.Unmarshal(body, &q)
			if q.Query != demo.Query {
				http.Error(w, "not the demo query", http.StatusBadRequest)
				return
			}
			queries++
			io.WriteString(w, `{"data":{"Get":{"Article":[{"title":"Telephone","_additional":{"generate":{"groupedResult":"В 1876 году."}}}]}}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, err := weaviatehttp.New(srv.URL, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := LoadDemo(context.Background(), c, srv.URL, &out); err != nil {
		t.Fatal(err)
	}
	if len(classes) != 1 || classes[0]["class"] != "Article" || len(objects) != len(demo.Articles) || queries != 1 {
		t.Fatalf("classes %v, %d objects, %d queries", classes, len(objects), queries)
	}
	cl, _ := json.Marshal(classes[0])
	for _, want := range []string{`"generative-asmr":{"maxTokens":48}`, `"bm25":{"b":0.75,"k1":1.2}`, `"vectorizer":{"none":{}}`, `"name":"body"`} {
		if !strings.Contains(string(cl), want) {
			t.Errorf("class lacks %s: %s", want, cl)
		}
	}
	for _, want := range []string{"created class Article with 6 English passages", "В 1876 году.", "curl -s " + srv.URL + "/v1/graphql"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := LoadDemo(context.Background(), c, srv.URL, &out); err != nil {
		t.Fatal(err)
	}
	if len(classes) != 1 || len(objects) != len(demo.Articles) || queries != 2 || strings.Contains(out.String(), "created class") {
		t.Errorf("second load: %d classes, %d objects, %d queries:\n%s", len(classes), len(objects), queries, out.String())
	}
}

func TestRunRefusesMissingBinary(t *testing.T) {
	err := Run(context.Background(), Config{Bin: filepath.Join(t.TempDir(), "none"), Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Errorf("Run with no binary: %v", err)
	}
}
