package eval

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A fake /v1/graphql that records the query and answers with body.
func fakeGraphQL(t *testing.T, body string) (*httptest.Server, *string) {
	t.Helper()
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req struct{ Query string }
		if err := json.Unmarshal(b, &req); err != nil || r.URL.Path != "/v1/graphql" {
			http.Error(w, "bad request", 400)
			return
		}
		got = req.Query
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

const grouped = `{"data":{"Get":{"Passage":[
 {"text":"Leo Tolstoy wrote War and Peace.","_additional":{"generate":{"groupedResult":"Лев Толстой\n","error":null,
   "asmr":{"steered":true,"steeredHeads":64,"language":"ru","answerLanguage":"Russian","promptTokens":90,"completionTokens":5,"stopReason":"eos","passagesGiven":2,"passagesUsed":2,"passagesCut":0}}}},
 {"text":"  Anna Karenina is a novel.  ","_additional":{"generate":null}}]}}}`

func TestWeaviateReader(t *testing.T) {
	srv, query := fakeGraphQL(t, grouped)
	w := &WeaviateReader{URL: srv.URL, Class: "Passage", Search: SearchBM25, K: 2, SearchProperties: []string{"queries"}, Profile: "llama", Model: "reader"}
	if err := w.Check(); err != nil {
		t.Fatal(err)
	}
	it := Item{ID: "1", Lang: "ru", Question: `Кто написал "Войну и мир"?`}
	steer := &Steering{AlphaAC: 20, AlphaCL: 10, TopK: 64, Direction: "probe", Scope: "generation"}
	resp, err := w.Read(context.Background(), Request{Item: it, System: System{Name: ASMR, Steer: steer}, Template: "T {{passages}}\n{{question}}", Language: "ru", MaxTokens: 32})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`Passage(bm25: {query: "Кто написал \"Войну и мир\"?", properties: ["queries"]}, limit: 2)`,
		`groupedResult: {task: "Кто написал \"Войну и мир\"?", properties: ["text"]`,
		`profile: "llama"`, `model: "reader"`, `alphaAC: 20, alphaCL: 10, topK: 64`, `answerLanguage: "ru"`,
		`promptTemplate: "T {{passages}}\n{{question}}"`, `maxTokens: 32`, `temperature: 0`,
	} {
		if !strings.Contains(*query, s) {
			t.Errorf("query lacks %s:\n%s", s, *query)
		}
	}
	if resp.Text != "Лев Толстой\n" || resp.SteeredHeads != 64 || resp.QuestionLanguage != "ru" || resp.PassagesUsed != 2 ||
		len(resp.Passages) != 2 || resp.Passages[1] != "Anna Karenina is a novel." {
		t.Fatalf("response %+v", resp)
	}
	// The same answer for an unsteered system is an error: the server
	// steered although asked not to.
	if _, err := w.Read(context.Background(), Request{Item: it, System: System{Name: Baseline}, Template: "x", MaxTokens: 8}); err == nil ||
		!strings.Contains(err.Error(), "came back steered") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(*query, `profile: "none"`) || !strings.Contains(*query, `answerLanguage: "auto"`) || strings.Contains(*query, "alphaAC") {
		t.Errorf("unsteered query:\n%s", *query)
	}
}

func TestWeaviateReaderSearches(t *testing.T) {
	it := Item{ID: "7", Lang: "de", Question: "Wer?"}
	for search, want := range map[string]string{
		SearchNearText:   `nearText: {concepts: ["Wer?"]}`,
		SearchHybrid:     `hybrid: {query: "Wer?", alpha: 0.25}`,
		SearchNearVector: `nearVector: {vector: [0.5, -1]}`,
	} {
		w := &WeaviateReader{URL: "http://x", Class: "P", Search: search, K: 3, HybridAlpha: 0.25, Vectors: map[Key][]float32{{"", "7"}: {0.5, -1}}}
		q, err := w.Query(Request{Item: it, System: System{Name: Baseline}, Template: "t", MaxTokens: 4})
		if err != nil || !strings.Contains(q, want+", limit: 3") {
			t.Errorf("%s: %v\n%s", search, err, q)
		}
	}
	bad := &WeaviateReader{URL: "http://x", Class: "lower", Search: "fuzzy", K: 0}
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), "class") || !strings.Contains(err.Error(), "search") || !strings.Contains(err.Error(), "k 0") {
		t.Fatalf("Check = %v", err)
	}
}

func TestWeaviateReaderErrors(t *testing.T) {
	for name, c := range map[string]struct{ body, want string }{
		"no results":     {`{"data":{"Get":{"Passage":[]}}}`, ""},
		"module error":   {`{"data":{"Get":{"Passage":[{"text":"a","_additional":{"generate":{"groupedResult":null,"error":"generative-asmr: busy"}}}]}}}`, "busy"},
		"graphql error":  {`{"errors":[{"message":"no such class"}]}`, "no such class"},
		"not generative": {`{"data":{"Get":{"Passage":[{"text":"a","_additional":{"generate":null}}]}}}`, "no groupedResult"},
	} {
		srv, _ := fakeGraphQL(t, c.body)
		w := &WeaviateReader{URL: srv.URL, Class: "Passage", Search: SearchBM25, K: 2}
		resp, err := w.Read(context.Background(), Request{Item: Item{ID: "1", Lang: "de", Question: "q"}, System: System{Name: Baseline}, Template: "t", MaxTokens: 4})
		switch {
		case c.want == "" && (err != nil || !resp.NoResults || resp.Text != ""):
			t.Errorf("%s: %+v %v, want an empty answer flagged NoResults", name, resp, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}
