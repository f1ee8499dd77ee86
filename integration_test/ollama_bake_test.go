//go:build e2e

package integration_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/bench/ollamapeer"
	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// A baked GGUF runs in stock `ollama serve` (built from the pinned module)
// and answers exactly as our reader does when it steers the original with
// scope "all": the steering really is in the file.
func TestBakedModelRunsInStockOllama(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ollama")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dir := t.TempDir()
	spec := testmodel.Tiny()
	spec.Seed, spec.Name = 11, "bake-ollama"
	w := testmodel.Random(spec)
	// Only printable ASCII can win (logit 0 for the rest, EOS included), so
	// the text compares byte for byte and never stops early.
	for tok := range testmodel.ByteVocab {
		if tok < 0x20 || tok > 0x7e {
			clear(w.Output[tok*spec.Embd() : (tok+1)*spec.Embd()])
		}
	}
	src := filepath.Join(dir, "src.gguf")
	if err := testmodel.Write(src, spec, w); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	iv := steering.Intervention{}
	for _, h := range []steering.Head{{Layer: 0, Head: 1}, {Layer: 1, Head: 3}, {Layer: 2, Head: 0}} {
		v := make([]float32, spec.HeadDim)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		iv[h] = v
	}
	baked := filepath.Join(dir, "baked.gguf")
	if _, err := steering.Bake(src, baked, iv, "integration test"); err != nil {
		t.Fatal(err)
	}

	const prompt = "Wer hat das Telefon erfunden?"
	opts := steering.Options{Threads: 2, ContextSize: 512}
	m, err := steering.Load(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	steered, err := m.Generate(ctx, prompt, steering.Params{Raw: true, MaxTokens: 12, Steer: &steering.Steer{Intervention: iv, Scope: config.TokenScopeAll}})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := m.Generate(ctx, prompt, steering.Params{Raw: true, MaxTokens: 12})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Text == steered.Text {
		t.Fatalf("steering did not change the answer (%q): the comparison would prove nothing", plain.Text)
	}

	bin := filepath.Join(RepoRoot(t), "bin", "ollama")
	start := time.Now()
	if err := ollamapeer.Build(ctx, bin); err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s in %s", bin, time.Since(start).Round(time.Second))
	peer, err := ollamapeer.Start(ctx, bin, filepath.Join(dir, "ollama-models"), filepath.Join(dir, "ollama.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Stop()
	if err := peer.Create(ctx, "asmr-baked", baked); err != nil {
		t.Fatal(err)
	}
	got, err := peer.Generate(ctx, "asmr-baked", prompt, 12, 2, 512)
	if err != nil {
		log, _ := peer.Log()
		t.Fatalf("%v\n%s", err, log)
	}
	t.Logf("ollama serve, baked model: %q; our reader, steered (scope all): %q; unsteered: %q", got.Response, steered.Text, plain.Text)
	if got.Response != steered.Text {
		t.Fatalf("stock ollama answered %q with the baked model, our steered reader %q", got.Response, steered.Text)
	}
	_ = os.Remove(baked)
}
