package ollamapeer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/steering/ollamastore"
)

// sharedTinyModel is a third-party GGUF outside this repository (see
// ../shared/models/README.md); the test is skipped when it is absent.
const sharedTinyModel = "/work/shared/models/llama-2-tiny-random.gguf"

// TestOllamaPeer builds ollama (slow), runs `ollama serve`, imports a small
// GGUF and generates with it. Enable with ASMR_TEST_OLLAMA_PEER=1; set
// ASMR_OLLAMA_BIN to reuse an ollama binary instead of building one, and
// ASMR_TEST_GGUF to use another GGUF file.
func TestOllamaPeer(t *testing.T) {
	if os.Getenv("ASMR_TEST_OLLAMA_PEER") != "1" {
		t.Skip("set ASMR_TEST_OLLAMA_PEER=1 to build and run ollama serve (slow)")
	}
	gguf := sharedTinyModel
	if s := os.Getenv("ASMR_TEST_GGUF"); s != "" {
		gguf = s
	}
	if _, err := os.Stat(gguf); err != nil {
		t.Skipf("test model %s not available: %v", gguf, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir := t.TempDir()

	bin := os.Getenv("ASMR_OLLAMA_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "ollama")
		start := time.Now()
		if err := Build(ctx, bin); err != nil {
			t.Fatal(err)
		}
		t.Logf("built ollama in %s", time.Since(start).Round(time.Second))
	}

	logPath := filepath.Join(dir, "serve.log")
	start := time.Now()
	p, err := Start(ctx, bin, filepath.Join(dir, "models"), logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() || testing.Verbose() {
			if log, err := p.Log(); err == nil {
				t.Logf("server log:\n%s", log)
			}
		}
	}()
	t.Logf("ollama serve (pid %d) ready at %s in %s", p.PID(), p.URL, time.Since(start).Round(time.Millisecond))

	if err := p.Create(ctx, "tiny:test", gguf); err != nil {
		t.Fatal(err)
	}

	const prompt = "The quick brown fox jumps over the lazy dog. Once upon a time, in a land far away, there lived"
	for i, label := range []string{"first (loads the model)", "same prompt again", "new prompt"} {
		pr := prompt
		if i == 2 {
			pr = "A completely different prompt about rivers, mountains and the sea, which the cache has not seen"
		}
		tm, err := p.Generate(ctx, "tiny:test", pr, 8, 2, 512)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: prompt %d tok in %s (%.0f tok/s), eval %d tok in %s (%.0f tok/s), load %s, total %s",
			label, tm.PromptTokens, tm.PromptDur, tm.PrefillTPS(), tm.EvalTokens, tm.EvalDur, tm.DecodeTPS(), tm.LoadDur, tm.TotalDur)
		if tm.PromptTokens <= 0 || tm.PromptDur <= 0 || tm.EvalTokens <= 0 || tm.EvalDur <= 0 {
			t.Errorf("%s: non-positive timing %+v", label, tm)
		}
		if tm.EvalTokens > 8 {
			t.Errorf("%s: eval_count %d > num_predict 8", label, tm.EvalTokens)
		}
	}

	// Cross-checks with ollamastore: the entry ollama created resolves to
	// the same GGUF, and an entry written by ollamastore.WriteStore into the
	// store the server uses runs too.
	m, err := ollamastore.ResolveIn(p.ModelsDir, "tiny:test")
	if err != nil {
		t.Fatalf("ollamastore cannot resolve the model ollama created: %v", err)
	}
	if want, _, err := fileDigest(gguf); err != nil || m.Digest != want {
		t.Errorf("resolved digest %s, want %s (%v)", m.Digest, want, err)
	}
	if _, err := ollamastore.WriteStore(p.ModelsDir, "written/bystore:v1", gguf, "{{ .Prompt }}"); err != nil {
		t.Fatal(err)
	}
	if tm, err := p.Generate(ctx, "written/bystore:v1", prompt, 4, 2, 512); err != nil {
		t.Errorf("ollama cannot run a model written by ollamastore.WriteStore: %v", err)
	} else {
		t.Logf("WriteStore entry: eval %d tok", tm.EvalTokens)
	}

	info, err := p.RunnerInfo()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("runner info: %+v", info)
	if info.Engine == "" {
		t.Error("could not tell which runner served the model")
	}
	// The options must have reached the runner.
	if info.NumThreads != 2 || info.KvSize != 512 {
		t.Errorf("runner got num_thread %d, kv size %d; want 2, 512", info.NumThreads, info.KvSize)
	}
}
