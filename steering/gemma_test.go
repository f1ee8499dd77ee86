package steering

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/internal/gemmatest"
)

// The real reader: Gemma 3 270M (18 layers, 4 query heads and 1 KV head of
// 256, sliding-window attention on most layers, llama.cpp's iswa KV cache).

var (
	gemmaOnce  sync.Once
	gemmaModel *Model
	gemmaErr   error
)

// gemma loads the real model once for the package's tests, with an F32 KV
// cache so that exactness comparisons see no F16 rounding of the cache.
func gemma(t *testing.T) *Model {
	t.Helper()
	path := gemmatest.Path(t)
	gemmaOnce.Do(func() {
		gemmaModel, gemmaErr = Load(path, Options{Threads: 2, ContextSize: 1024, KVCacheType: config.KVCacheF32, Slots: 1})
	})
	if gemmaErr != nil {
		t.Fatalf("load %s: %v", path, gemmaErr)
	}
	return gemmaModel
}

func TestGemmaShapeAndTemplate(t *testing.T) {
	m := gemma(t)
	sh := m.Shape()
	if sh.Arch != "gemma3" || sh.Layers != 18 || sh.Heads != 4 || sh.KVHeads != 1 || sh.HeadDim != 256 || sh.Embd != 640 {
		t.Fatalf("shape = %+v, want gemma3 18 layers x 4 heads (1 KV head), d_h 256, n_embd 640", sh)
	}
	// This GGUF, converted from the base checkpoint, carries no
	// tokenizer.chat_template: without an override it gets the plain frame.
	if m.ChatTemplate() != "" {
		t.Fatalf("chat template %q: the pinned GGUF has none", m.ChatTemplate())
	}
	// With llama.cpp's built-in "gemma" template (what the instruction-tuned
	// checkpoints carry): Gemma has no system role, so the system text
	// opens the user turn.
	turns, err := Load(m.Path(), Options{Threads: 2, ContextSize: 256, ChatTemplate: "gemma"})
	if err != nil {
		t.Fatal(err)
	}
	defer turns.Close()
	const want = "<start_of_turn>user\nAnswer in German.\n\nWho invented the telephone?<end_of_turn>\n<start_of_turn>model\n"
	toks, formatted, err := turns.TokenizePrompt("Answer in German.", "Who invented the telephone?")
	if err != nil {
		t.Fatal(err)
	}
	if formatted != want {
		t.Fatalf("formatted = %q, want %q", formatted, want)
	}
	bos, start, end := special(t, m, "<bos>"), special(t, m, "<start_of_turn>"), special(t, m, "<end_of_turn>")
	if toks[0] != bos || count(toks, bos) != 1 || count(toks, start) != 2 || count(toks, end) != 1 {
		t.Fatalf("tokens %v: want one leading <bos> (%d), two <start_of_turn> (%d), one <end_of_turn> (%d)", toks, bos, start, end)
	}
	// No frame: the system text, a blank line, the prompt; BOS first.
	none, err := Load(m.Path(), Options{Threads: 2, ContextSize: 256, ChatTemplate: ChatTemplateNone})
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	if toks, f, _ := none.TokenizePrompt("Passage: x", "Frage: y\nAntwort:"); f != "Passage: x\n\nFrage: y\nAntwort:" || toks[0] != bos || count(toks, bos) != 1 {
		t.Fatalf("no frame: %q %v", f, toks)
	}
	if _, err := Load(m.Path(), Options{ChatTemplate: "no-such-template"}); err == nil || !strings.Contains(err.Error(), "no-such-template") {
		t.Fatalf("unknown template name: %v", err)
	}
}

// special is the id of a special token, by its text.
func special(t *testing.T, m *Model, text string) int {
	t.Helper()
	toks, err := m.model.Tokenize(text, false, true)
	if err != nil || len(toks) != 1 {
		t.Fatalf("%s is not one special token: %v %v", text, toks, err)
	}
	return toks[0]
}

func count(toks []int, id int) int {
	n := 0
	for _, t := range toks {
		if t == id {
			n++
		}
	}
	return n
}

func TestGemmaEndOfGeneration(t *testing.T) {
	m := gemma(t)
	for _, name := range []string{"<end_of_turn>", "<eos>"} {
		if id := special(t, m, name); !m.model.TokenIsEog(id) {
			t.Errorf("%s (%d) is not an end-of-generation token", name, id)
		}
	}
	// The pinned base checkpoint, prompted as a completion model, answers
	// after the cue and ends at the stop string (or an end-of-generation
	// token), not at the token limit.
	m2, err := Load(m.Path(), Options{Threads: 2, ContextSize: 256, ChatTemplate: ChatTemplateNone})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	res, err := m2.Generate(context.Background(), "Passage: Alexander Graham Bell was awarded the first US patent for the telephone in 1876.\nQuestion: Who was awarded the first US patent for the telephone?\nAnswer:",
		Params{MaxTokens: 64, Stop: []string{"\n"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("answer %q (%d tokens, %s)", res.Text, res.CompletionTokens, res.StopReason)
	if strings.TrimSpace(res.Text) == "" || (res.StopReason != StopString && res.StopReason != StopEOS) {
		t.Fatalf("answer %q (stop %s): want a non-empty answer ended by the stop string or EOS", res.Text, res.StopReason)
	}
}

// Text inside the messages never becomes a control token, whatever it
// holds: every control token's own name in the messages leaves the
// prompt's control tokens exactly those of a harmless text, with Gemma's
// turn template and with none.
func TestGemmaMessageTextStaysText(t *testing.T) {
	m := gemma(t)
	turns, err := Load(m.Path(), Options{Threads: 2, ContextSize: 256, ChatTemplate: "gemma"})
	if err != nil {
		t.Fatal(err)
	}
	defer turns.Close()
	names := []string{"<bos>", "<eos>", "<pad>", "<start_of_turn>", "<end_of_turn>", "<mask>", "[@BOS@]", "<unk>"}
	specials := controlTokens(t, m, names)
	if len(specials) < 5 {
		t.Fatalf("only %d of %v are control tokens of this vocabulary", len(specials), names)
	}
	assertTextStaysText(t, m, specials)
	assertTextStaysText(t, turns, specials)
}

// Steering and capture reach every layer, the sliding-window ones
// included: the hook's "saw N of M asked tensors" check passes on every
// decode, and each layer's steering moves the logits.
func TestGemmaSteersAndCapturesEveryLayer(t *testing.T) {
	m := gemma(t)
	sh := m.Shape()
	toks, base := gemmaLogits(t, m, "", "Wer hat das Telefon erfunden?")
	ctx := context.Background()
	for l := range sh.Layers {
		var heads []Head
		for h := range sh.Heads {
			heads = append(heads, Head{l, h})
		}
		iv := randomIntervention(sh, heads, 4, uint64(l))
		got, err := m.Evaluate(ctx, toks, &Steer{Intervention: iv, Scope: config.TokenScopeAll})
		if err != nil {
			t.Fatalf("layer %d: %v", l, err)
		}
		if d := maxAbsDiff(got, base); d < 1e-3 {
			t.Errorf("steering layer %d moved the logits by only %g", l, d)
		}
	}
	// Every head of every layer at once, through a whole generation.
	iv := randomIntervention(sh, allHeads(sh), 1, 99)
	if _, err := m.Generate(ctx, "Hello", Params{MaxTokens: 4, Steer: &Steer{Intervention: iv}}); err != nil {
		t.Fatalf("steering every head: %v", err)
	}
	acts, err := m.CaptureLastToken(ctx, []string{"Hello", "Guten Tag"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range acts {
		if len(a) != sh.Layers {
			t.Fatalf("prompt %d: %d layers captured, want %d", i, len(a), sh.Layers)
		}
		for l := range a {
			if len(a[l]) != sh.Heads || len(a[l][0]) != sh.HeadDim || allZero(a[l]) {
				t.Fatalf("prompt %d layer %d: capture %d heads, empty or of the wrong size", i, l, len(a[l]))
			}
		}
	}
}

// gemmaLogits tokenizes system and user with m's prompt framing and
// returns the tokens and their unsteered logits at every position.
func gemmaLogits(t *testing.T, m *Model, system, user string) ([]int, [][]float32) {
	t.Helper()
	toks, _, err := m.TokenizePrompt(system, user)
	if err != nil {
		t.Fatal(err)
	}
	base, err := m.Evaluate(context.Background(), toks, nil)
	if err != nil {
		t.Fatal(err)
	}
	return toks, base
}

func allZero(heads [][]float32) bool {
	for _, h := range heads {
		for _, x := range h {
			if x != 0 {
				return false
			}
		}
	}
	return true
}

// Exactness that needs no reference forward pass, on the real file.
func TestGemmaExactness(t *testing.T) {
	m := gemma(t)
	sh := m.Shape()
	toks, base := gemmaLogits(t, m, "Answer in German.", "Who invented the telephone? Alexander Graham Bell patented it in 1876.")
	ctx := context.Background()
	iv := randomIntervention(sh, allHeads(sh), 2, 5)

	// alpha 0 and an empty intervention: bit-identical to unsteered.
	assertZeroShiftIdentical(t, m, toks, base, iv)

	// Scope generation: every position before the last is bit-identical,
	// the last one moves.
	got, err := m.Evaluate(ctx, toks, &Steer{Intervention: iv, Scope: config.TokenScopeGeneration})
	if err != nil {
		t.Fatal(err)
	}
	last := len(toks) - 1
	for i := range last {
		if !identical(base[i], got[i]) {
			t.Fatalf("scope generation changed prompt position %d of %d (by %g)", i, len(toks), maxAbsDiff(base[i:i+1], got[i:i+1]))
		}
	}
	if d := maxAbsDiff(base[last:], got[last:]); d < 0.1 {
		t.Fatalf("scope generation moved the last position by only %g", d)
	}
}

// Packed capture (several prompts in one decode) agrees with one prompt at
// a time on the real model.
func TestGemmaPackedCaptureAgrees(t *testing.T) {
	path := gemmatest.Path(t)
	prompts := []string{"a", "Wer hat das Telefon erfunden?", "Hola, ¿qué tal?", "สวัสดีครับ", "電話を発明したのは誰ですか", "Guten Tag"}
	layers := []int{0, 5, 11, 17}
	run := func(seqs int) []Activations {
		m, err := Load(path, Options{Threads: 2, ContextSize: 256, KVCacheType: config.KVCacheF32, CaptureSequences: seqs, BatchSize: 16})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		a, err := m.CaptureLastToken(context.Background(), prompts, layers)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	packed, single := run(4), run(1)
	// Q4_K weights: a different batch shape changes the order of the
	// quantized dot products' sums, and Gemma's large activations carry a
	// difference in the last bits into a few per cent at deep layers now
	// and then. What probing uses is each head's direction: it must agree.
	worst, minCos := 0.0, 1.0
	for i := range prompts {
		for l := range layers {
			for h := range packed[i][l] {
				var dot, nx, ny float64
				for j, x := range packed[i][l][h] {
					y := single[i][l][h][j]
					worst = max(worst, math.Abs(float64(x-y))/(1+math.Abs(float64(y))))
					dot += float64(x) * float64(y)
					nx += float64(x) * float64(x)
					ny += float64(y) * float64(y)
				}
				minCos = min(minCos, dot/math.Sqrt(nx*ny))
			}
		}
	}
	t.Logf("packed vs one at a time: max relative difference %.3g, lowest cosine similarity of a head's vectors %.6f", worst, minCos)
	if minCos < 0.995 {
		t.Fatalf("packed and single capture disagree: a head's vectors have cosine similarity %.4f (max relative difference %.3g)", minCos, worst)
	}
}

// Baking needs an architecture whose graph adds attn_output.bias after W_o;
// Gemma 3's passes none (and normalises after W_o), so bake refuses.
func TestGemmaBakeRefused(t *testing.T) {
	m := gemma(t)
	iv := randomIntervention(m.Shape(), []Head{{3, 1}}, 1, 1)
	dst := filepath.Join(t.TempDir(), "baked.gguf")
	_, err := Bake(m.Path(), dst, iv, "test")
	if err == nil || !strings.Contains(err.Error(), "gemma3") || !errors.Is(err, ErrBakeUnsupported) {
		t.Fatalf("bake of gemma3: %v, want ErrBakeUnsupported naming gemma3", err)
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), "*")); len(matches) > 0 {
		t.Fatalf("a refused bake left files: %v", matches)
	}
}
