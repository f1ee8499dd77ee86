package ollamapeer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test binary doubles as a fake `ollama serve` when ASMR_FAKE_OLLAMA is
// set: Start(os.Args[0], ...) runs it with the argument "serve". This tests
// the harness (process handling, protocol) without building ollama.
func TestMain(m *testing.M) {
	if mode := os.Getenv("ASMR_FAKE_OLLAMA"); mode != "" && len(os.Args) > 1 && os.Args[1] == "serve" {
		fakeServe(mode)
		return
	}
	os.Exit(m.Run())
}

func fakeServe(mode string) {
	fmt.Println("fake ollama starting, mode", mode, "OLLAMA_NUM_PARALLEL", os.Getenv("OLLAMA_NUM_PARALLEL"), "OLLAMA_HOST", os.Getenv("OLLAMA_HOST"))
	switch mode {
	case "crash":
		fmt.Println("fatal: something broke")
		os.Exit(3)
	case "hang":
		time.Sleep(time.Hour)
	}
	var mu sync.Mutex
	blobs := map[string]bool{}
	models := map[string]bool{}
	// made records each model's template and parameters, for /api/show.
	type made struct {
		Template   string         `json:"template"`
		Parameters map[string]any `json:"parameters"`
	}
	modelfiles := map[string]made{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "Ollama is running") })
	mux.HandleFunc("HEAD /api/blobs/{digest}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !blobs[r.PathValue("digest")] {
			w.WriteHeader(http.StatusNotFound)
		}
	})
	mux.HandleFunc("POST /api/blobs/{digest}", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		io.Copy(h, r.Body)
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != r.PathValue("digest") {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"digest mismatch, got %s"}`, got)
			return
		}
		mu.Lock()
		blobs[r.PathValue("digest")] = true
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("POST /api/create", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model      string            `json:"model"`
			Files      map[string]string `json:"files"`
			Stream     bool              `json:"stream"`
			Template   string            `json:"template"`
			Parameters map[string]any    `json:"parameters"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		defer mu.Unlock()
		for _, d := range req.Files {
			if !blobs[d] {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":"missing blob"}`)
				return
			}
		}
		if len(req.Files) != 1 || req.Stream {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"bad request"}`)
			return
		}
		models[req.Model] = true
		modelfiles[req.Model] = made{req.Template, req.Parameters}
		io.WriteString(w, `{"status":"success"}`)
	})
	// The real /api/show answers parameters as Modelfile text; the fake
	// answers what /api/create was given, as JSON.
	mux.HandleFunc("POST /api/show", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string `json:"model"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		defer mu.Unlock()
		json.NewEncoder(w).Encode(modelfiles[req.Model])
	})
	mux.HandleFunc("POST /api/generate", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model     string         `json:"model"`
			Raw       bool           `json:"raw"`
			Stream    bool           `json:"stream"`
			KeepAlive string         `json:"keep_alive"`
			Options   map[string]any `json:"options"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		ok := models[req.Model]
		mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"error":"model '%s' not found"}`, req.Model)
			return
		}
		o := req.Options
		if !req.Raw || req.Stream || req.KeepAlive == "" || o["temperature"] != 0.0 || o["seed"] != 0.0 || o["num_thread"] != 2.0 || o["num_ctx"] != 256.0 {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"unexpected request %+v"}`, req)
			return
		}
		n := int(o["num_predict"].(float64))
		fmt.Fprintf(w, `{"done":true,"done_reason":"length","prompt_eval_count":10,"prompt_eval_duration":%d,"eval_count":%d,"eval_duration":%d}`,
			int64(100*time.Millisecond), n, int64(n)*int64(50*time.Millisecond))
	})
	if err := http.ListenAndServe(os.Getenv("OLLAMA_HOST"), mux); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}

// startFake starts the fake server with env and writes a fake GGUF; the
// server is stopped when the test ends.
func startFake(t *testing.T, env ...string) (p *Peer, gguf string) {
	t.Setenv("ASMR_FAKE_OLLAMA", "ok")
	dir := t.TempDir()
	p, err := Start(context.Background(), os.Args[0], filepath.Join(dir, "models"), filepath.Join(dir, "serve.log"), env...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	gguf = filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(gguf, []byte("GGUF0123"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, gguf
}

func TestFakePeer(t *testing.T) {
	ctx := context.Background()
	p, gguf := startFake(t)
	if err := p.Create(ctx, "tiny:test", gguf); err != nil {
		t.Fatal(err)
	}
	// A second create finds the blob with HEAD and skips the upload.
	if err := p.Create(ctx, "tiny:test2", gguf); err != nil {
		t.Fatal(err)
	}
	tm, err := p.Generate(ctx, "tiny:test", "hello", 8, 2, 256)
	if err != nil {
		t.Fatal(err)
	}
	if tm.PromptTokens != 10 || tm.EvalTokens != 8 || tm.PrefillTPS() != 100 || tm.DecodeTPS() != 20 {
		t.Errorf("timing = %+v, prefill %v, decode %v", tm, tm.PrefillTPS(), tm.DecodeTPS())
	}
	_, err = p.Generate(ctx, "nope", "hello", 8, 2, 256)
	if err == nil || !strings.Contains(err.Error(), "model 'nope' not found") {
		t.Errorf("generate with a missing model: err = %v", err)
	}

	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := p.Generate(ctx, "tiny:test", "hello", 8, 2, 256); err == nil {
		t.Error("generate after Stop succeeded")
	}
	log, _ := p.Log()
	if !strings.Contains(log, "fake ollama starting") {
		t.Errorf("log = %q", log)
	}
}

// CreateWith sends the template and parameters in /api/create; Start's env
// reaches the server, except what the peer sets itself.
func TestFakePeerCreateWith(t *testing.T) {
	ctx := context.Background()
	p, gguf := startFake(t, "OLLAMA_NUM_PARALLEL=4", "OLLAMA_HOST=127.0.0.1:1")
	params := map[string]any{"num_ctx": 2048, "num_thread": 2, "temperature": 0, "num_predict": 48, "stop": []string{"\n"}}
	if err := p.CreateWith(ctx, "raw:test", gguf, Modelfile{Template: "{{ .Prompt }}", Parameters: params}); err != nil {
		t.Fatal(err)
	}
	if err := p.Create(ctx, "plain:test", gguf); err != nil {
		t.Fatal(err)
	}
	show := func(model string) string {
		var out json.RawMessage
		if err := p.postJSON(ctx, "/api/show", map[string]string{"model": model}, &out); err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if got, want := show("raw:test"), `{"template":"{{ .Prompt }}","parameters":{"num_ctx":2048,"num_predict":48,"num_thread":2,"stop":["\n"],"temperature":0}}`; got != want {
		t.Errorf("raw:test was created with\n%s\nwant\n%s", got, want)
	}
	if got, want := show("plain:test"), `{"template":"","parameters":null}`; got != want {
		t.Errorf("plain:test was created with %s, want %s (Create sends no template or parameters)", got, want)
	}
	log, _ := p.Log()
	if !strings.Contains(log, "OLLAMA_NUM_PARALLEL 4 ") || strings.Contains(log, "127.0.0.1:1\n") {
		t.Errorf("the server's environment: log = %q", log)
	}
	dir := t.TempDir()
	if _, err := Start(ctx, os.Args[0], dir, filepath.Join(dir, "x.log"), "NOEQUALS"); err == nil || !strings.Contains(err.Error(), `"NOEQUALS": want KEY=VALUE`) {
		t.Errorf("Start with a bad env entry: %v", err)
	}
}

func TestFakePeerStartFailures(t *testing.T) {
	dir := t.TempDir()

	t.Run("exits", func(t *testing.T) {
		t.Setenv("ASMR_FAKE_OLLAMA", "crash")
		_, err := Start(context.Background(), os.Args[0], dir, filepath.Join(dir, "crash.log"))
		if err == nil || !strings.Contains(err.Error(), "exited before it answered") || !strings.Contains(err.Error(), "something broke") {
			t.Fatalf("err = %v", err)
		}
		t.Log(err)
	})
	t.Run("hangs", func(t *testing.T) {
		t.Setenv("ASMR_FAKE_OLLAMA", "hang")
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := Start(ctx, os.Args[0], dir, filepath.Join(dir, "hang.log"))
		if err == nil || !strings.Contains(err.Error(), "did not answer") || !strings.Contains(err.Error(), "mode hang") {
			t.Fatalf("err = %v", err)
		}
		t.Log(err)
	})
	t.Run("no binary", func(t *testing.T) {
		_, err := Start(context.Background(), filepath.Join(dir, "missing"), dir, filepath.Join(dir, "x.log"))
		if err == nil || !strings.Contains(err.Error(), "ollamapeer.Build") {
			t.Fatalf("err = %v", err)
		}
	})
}
