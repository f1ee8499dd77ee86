package serving

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The proxy passes answers on unchanged and counts the tokens of
// /api/generate answers, and their failures.
func TestCountingProxy(t *testing.T) {
	const ok = `{"model":"m","response":" 1876","done":true,"prompt_eval_count":40,"eval_count":3}`
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/tags":
			io.WriteString(w, `{"models":[]}`)
		case strings.Contains(r.URL.RawQuery, "fail"):
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":"model runner has unexpectedly stopped"}`)
		case strings.Contains(r.URL.RawQuery, "stream"):
			io.WriteString(w, `{"response":" 18","done":false}`+"\n"+`{"response":"76","done":true,"prompt_eval_count":10,"eval_count":2}`+"\n")
		default:
			io.WriteString(w, ok)
		}
	}))
	defer backend.Close()
	p, err := startProxy(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	get := func(path string) (int, string) {
		resp, err := http.Post(p.URL+path, "application/json", strings.NewReader(`{"model":"m","prompt":"p","stream":false}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/api/generate"); code != 200 || body != ok {
		t.Errorf("through the proxy: %d %q", code, body)
	}
	get("/api/generate")
	get("/api/generate?stream")
	if code, _ := get("/api/generate?fail"); code != 500 {
		t.Errorf("a failure passed on as %d", code)
	}
	get("/api/tags")
	want := tokenCount{Generations: 3, PromptTokens: 90, EvalTokens: 8, Errors: 1}
	if got := p.counts(); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	if d := p.counts().minus(tokenCount{Generations: 1, PromptTokens: 40, EvalTokens: 3}); d != (tokenCount{2, 50, 5, 1}) {
		t.Errorf("minus = %+v", d)
	}
}
