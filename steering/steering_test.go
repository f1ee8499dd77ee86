package steering

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/asmr-search/generative-asmr/steering/ollamastore"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// tinySpec is small enough that a test runs in milliseconds yet has GQA,
// several layers and a head size that Q4_0 blocks divide.
func tinySpec(t testmodel.WeightType) testmodel.Spec {
	return testmodel.Spec{Layers: 3, Heads: 4, KVHeads: 2, HeadDim: 32, FFN: 192, Type: t, Seed: 7, ContextLength: 512, Name: "tiny"}
}

// writeModel writes spec with w (nil = from the seed) and returns its path.
func writeModel(t testing.TB, spec testmodel.Spec, w *testmodel.Weights) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := testmodel.Write(path, spec, w); err != nil {
		t.Fatalf("write test model: %v", err)
	}
	return path
}

func load(t testing.TB, path string, o Options) *Model {
	t.Helper()
	if o.Threads == 0 {
		o.Threads = 2
	}
	if o.ContextSize == 0 {
		o.ContextSize = 512
	}
	m, err := Load(path, o)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(m.Close)
	return m
}

// noEOS makes the end-of-generation token's logit 0 while the others are
// spread around it, so greedy generation practically never stops early and
// length-based tests are deterministic.
func noEOS(spec testmodel.Spec, w *testmodel.Weights) {
	e := spec.Embd()
	clear(w.Output[257*e : 258*e])
}

func randomIntervention(shape Shape, heads []Head, scale float32, seed uint64) Intervention {
	r := rand.New(rand.NewPCG(seed, 1))
	iv := Intervention{}
	for _, h := range heads {
		v := make([]float32, shape.HeadDim)
		for i := range v {
			v[i] = scale * float32(r.NormFloat64())
		}
		iv[h] = v
	}
	return iv
}

func allHeads(s Shape) []Head {
	var hs []Head
	for l := range s.Layers {
		for h := range s.Heads {
			hs = append(hs, Head{l, h})
		}
	}
	return hs
}

func maxAbsDiff(a, b [][]float32) float64 {
	d := 0.0
	for i := range a {
		for j := range a[i] {
			d = max(d, math.Abs(float64(a[i][j]-b[i][j])))
		}
	}
	return d
}

func identical(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// flashModes lists both attention kernels with the tolerance each allows
// against an F32 reference: llama.cpp's CPU flash-attention kernel rounds Q
// and the softmax accumulators through F16, the other path stays in F32.
var flashModes = []struct {
	name string
	fa   FlashAttention
	tol  float64
}{{"fa-off", FlashAttentionOff, 1e-4}, {"fa-on", FlashAttentionOn, 2e-3}}

const testPrompt = "Wer hat das Telefon erfunden? Qui a inventé le téléphone? 誰が電話を発明したか"

func TestLoadReportsShapeAndTemplate(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	m := load(t, writeModel(t, spec, nil), Options{})
	got := m.Shape()
	if got.Layers != 3 || got.Heads != 4 || got.KVHeads != 2 || got.HeadDim != 32 || got.Vocab != 258 || got.Arch != "llama" {
		t.Fatalf("shape = %+v", got)
	}
	if m.ChatTemplate() != "" {
		t.Fatalf("template = %q, want none", m.ChatTemplate())
	}
	if p := m.FormatPrompt("Be brief.", "Hi?"); p != "Be brief.\n\nUser: Hi?\nAssistant:" {
		t.Fatalf("plain template = %q", p)
	}

	spec.ChatTemplate = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
	m2 := load(t, writeModel(t, spec, nil), Options{})
	want := "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n"
	if p := m2.FormatPrompt("", "Hi?"); p != want {
		t.Fatalf("chatml template = %q, want %q", p, want)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	notGGUF := filepath.Join(dir, "x.gguf")
	os.WriteFile(notGGUF, []byte("hello world"), 0o644)
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.gguf"), "no such file"},
		{notGGUF, "not a GGUF file"},
	} {
		_, err := Load(tc.path, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%s) error = %v, want it to mention %q", tc.path, err, tc.want)
		}
	}
	t.Setenv("OLLAMA_MODELS", dir)
	if _, err := Load("nosuchmodel:1b", Options{}); err == nil || !strings.Contains(err.Error(), "ollama pull") {
		t.Errorf("Load(unknown ollama name) error = %v, want a hint to pull it", err)
	}
}

func TestOllamaStoreName(t *testing.T) {
	path := writeModel(t, tinySpec(testmodel.F32), nil)
	store := t.TempDir()
	if _, err := ollamastore.WriteStore(store, "tiny-asmr:1b", path, ""); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OLLAMA_MODELS", store)
	m := load(t, "tiny-asmr:1b", Options{})
	if m.Shape().Layers != 3 {
		t.Fatalf("loaded the wrong model: %+v", m.Shape())
	}
	byFile := load(t, path, Options{})
	a, err := m.Generate(context.Background(), testPrompt, Params{MaxTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	b, err := byFile.Generate(context.Background(), testPrompt, Params{MaxTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	if a.Text != b.Text {
		t.Fatalf("store model answered %q, file %q", a.Text, b.Text)
	}
}

func TestGenerateGreedyIsDeterministic(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	w := testmodel.Random(spec)
	noEOS(spec, w)
	m := load(t, writeModel(t, spec, w), Options{})
	var first *Result
	for i := range 3 {
		r, err := m.Generate(context.Background(), testPrompt, Params{MaxTokens: 24, Seed: uint32(i)})
		if err != nil {
			t.Fatal(err)
		}
		if r.StopReason != StopLength || r.CompletionTokens != 24 {
			t.Fatalf("stop %s after %d tokens, want length after 24", r.StopReason, r.CompletionTokens)
		}
		if r.PromptTokens < len(testPrompt) {
			t.Fatalf("prompt tokens %d < %d bytes", r.PromptTokens, len(testPrompt))
		}
		if first == nil {
			first = r
		} else if r.Text != first.Text {
			t.Fatalf("greedy run %d = %q, first = %q", i, r.Text, first.Text)
		}
	}
	// Sampling with a temperature follows the seed.
	s1, _ := m.Generate(context.Background(), testPrompt, Params{MaxTokens: 24, Temperature: 1.5, Seed: 1})
	s1b, _ := m.Generate(context.Background(), testPrompt, Params{MaxTokens: 24, Temperature: 1.5, Seed: 1})
	s2, _ := m.Generate(context.Background(), testPrompt, Params{MaxTokens: 24, Temperature: 1.5, Seed: 2})
	if s1.Text != s1b.Text {
		t.Fatalf("same seed, different samples: %q vs %q", s1.Text, s1b.Text)
	}
	if s1.Text == s2.Text && s1.Text == first.Text {
		t.Fatalf("temperature 1.5 with two seeds gave the greedy text both times: %q", s1.Text)
	}
}

func TestStopStringsAndLimits(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	w := testmodel.Random(spec)
	noEOS(spec, w)
	m := load(t, writeModel(t, spec, w), Options{ContextSize: 128})
	ctx := context.Background()
	full, err := m.Generate(ctx, "abc", Params{MaxTokens: 40, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	out := []byte(full.Text)
	if len(out) < 20 {
		t.Fatalf("greedy text too short to cut: %q", full.Text)
	}
	stop := string(out[10:13])
	want := validPrefix(out[:bytes.Index(out, []byte(stop))])
	r, err := m.Generate(ctx, "abc", Params{MaxTokens: 40, Raw: true, Stop: []string{"\x00never", stop}})
	if err != nil {
		t.Fatal(err)
	}
	if r.StopReason != StopString || r.Text != want {
		t.Fatalf("with stop %q: %q (%s), want %q", stop, r.Text, r.StopReason, want)
	}

	// Unlimited tokens end when the context is full.
	r, err = m.Generate(ctx, "abc", Params{MaxTokens: -1, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.StopReason != StopContext || r.PromptTokens+r.CompletionTokens != 128+1 && r.PromptTokens+r.CompletionTokens != 128 {
		t.Fatalf("unlimited: stop %s with %d+%d tokens, want context at 128", r.StopReason, r.PromptTokens, r.CompletionTokens)
	}

	_, err = m.Generate(ctx, strings.Repeat("x", 200), Params{Raw: true})
	if !errors.Is(err, ErrContextOverflow) || !strings.Contains(err.Error(), "context holds 128") {
		t.Fatalf("overflow error = %v", err)
	}
	for _, p := range []Params{{Temperature: -1}, {TopP: 2}, {TopK: -3}, {Stop: []string{""}}} {
		if _, err := m.Generate(ctx, "abc", p); err == nil {
			t.Errorf("Generate(%+v) accepted bad params", p)
		}
	}
}

func TestCancellationStopsBetweenTokens(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	spec.ContextLength = 4096
	w := testmodel.Random(spec)
	noEOS(spec, w)
	m := load(t, writeModel(t, spec, w), Options{ContextSize: 4096, Slots: 1})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Generate(ctx, "abc", Params{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before start: err = %v", err)
	}

	// A generation that would fill a 4096-token context is cancelled after
	// its third token, observed through OnToken: it must stop before the
	// fourth, with what it had. No wall clock is involved.
	const stopAfter = 3
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	r, err := m.Generate(ctx, "abc", Params{MaxTokens: -1, Raw: true, OnToken: func(n int) {
		if n == stopAfter {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || r == nil || r.StopReason != StopCancelled {
		t.Fatalf("cancelled run: err %v, result %+v", err, r)
	}
	if r.CompletionTokens != stopAfter {
		t.Fatalf("cancelled after token %d, the run made %d tokens: it did not stop between tokens", stopAfter, r.CompletionTokens)
	}
	// What it returned is what an uncancelled run of that length says.
	full, err := m.Generate(context.Background(), "abc", Params{MaxTokens: r.CompletionTokens, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	if full.Text != r.Text {
		t.Fatalf("cancelled run said %q, a run of %d tokens %q", r.Text, r.CompletionTokens, full.Text)
	}
	// The slot is free again.
	if _, err := m.Generate(context.Background(), "abc", Params{MaxTokens: 2}); err != nil {
		t.Fatalf("after cancellation: %v", err)
	}
}

func TestSlotsRunConcurrently(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	m := load(t, writeModel(t, spec, nil), Options{Slots: 2, Threads: 1})
	prompts := []string{"one", "deux", "drei", "quattro", "五", "six"}
	want := make([]string, len(prompts))
	for i, p := range prompts {
		r, err := m.Generate(context.Background(), p, Params{MaxTokens: 12})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = r.Text
	}
	var wg sync.WaitGroup
	got := make([]string, len(prompts))
	errs := make([]error, len(prompts))
	for i, p := range prompts {
		wg.Go(func() {
			r, err := m.Generate(context.Background(), p, Params{MaxTokens: 12})
			errs[i] = err
			if err == nil {
				got[i] = r.Text
			}
		})
	}
	wg.Wait()
	for i := range prompts {
		if errs[i] != nil || got[i] != want[i] {
			t.Errorf("prompt %q: concurrent %q (%v), sequential %q", prompts[i], got[i], errs[i], want[i])
		}
	}
}

func TestInterventionValidation(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	m := load(t, writeModel(t, spec, nil), Options{})
	sh := m.Shape()
	cases := []struct {
		iv   Intervention
		want string
	}{
		{Intervention{{3, 0}: make([]float32, 32)}, "layer 3 out of range: the model has 3 layers"},
		{Intervention{{0, 4}: make([]float32, 32)}, "head 4 out of range: the model has 4 heads"},
		{Intervention{{1, 1}: make([]float32, 64)}, "length 64, but the model's head size d_h is 32"},
		{Intervention{{1, 1}: append(make([]float32, 31), float32(math.NaN()))}, "not finite"},
	}
	for _, tc := range cases {
		err := tc.iv.Validate(sh)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%v) = %v, want %q", tc.iv.Heads(), err, tc.want)
		}
		if _, err := m.Generate(context.Background(), "x", Params{Steer: &Steer{Intervention: tc.iv}}); err == nil {
			t.Errorf("Generate accepted %v", tc.iv.Heads())
		}
	}
	ok := randomIntervention(sh, []Head{{0, 0}, {2, 3}}, 1, 1)
	if err := ok.Validate(sh); err != nil {
		t.Fatal(err)
	}
	iv := Intervention{}
	iv.Add(1, 2, []float32{1, 2})
	iv.Add(1, 2, []float32{10, 20})
	if got := iv[Head{1, 2}]; got[0] != 11 || got[1] != 22 {
		t.Fatalf("Add did not accumulate: %v", got)
	}
}

// (a) alpha = 0, or an empty intervention, leaves the logits bit-identical.
func TestExactnessZeroShift(t *testing.T) {
	for _, fm := range flashModes {
		t.Run(fm.name, func(t *testing.T) {
			spec := tinySpec(testmodel.F32)
			m := load(t, writeModel(t, spec, nil), Options{FlashAttention: fm.fa})
			toks, _ := m.Tokenize(testPrompt)
			base, err := m.Evaluate(context.Background(), toks, nil)
			if err != nil {
				t.Fatal(err)
			}
			assertZeroShiftIdentical(t, m, toks, base, randomIntervention(m.Shape(), allHeads(m.Shape()), 1, 3))
		})
	}
}

// assertZeroShiftIdentical checks that an empty intervention, and iv at
// alpha 0 in both scopes, leave every position's logits bit-identical to
// base (the unsteered logits of toks).
func assertZeroShiftIdentical(t *testing.T, m *Model, toks []int, base [][]float32, iv Intervention) {
	t.Helper()
	for _, st := range []*Steer{
		{Intervention: Intervention{}, Scope: ScopeAll},
		{Intervention: iv.Scaled(0), Scope: ScopeAll},
		{Intervention: iv.Scaled(0), Scope: ScopeGeneration},
	} {
		got, err := m.Evaluate(context.Background(), toks, st)
		if err != nil {
			t.Fatal(err)
		}
		for i := range base {
			if !identical(base[i], got[i]) {
				t.Fatalf("%d heads, alpha 0, scope %s: position %d differs (max diff %g)", len(st.Intervention), st.Scope, i, maxAbsDiff(base[i:i+1], got[i:i+1]))
			}
		}
	}
}

// (b) scope "all" equals an unsteered run of a copy whose attn_output.bias
// is W_o · shift.
func TestExactnessBakedBias(t *testing.T) {
	for _, fm := range flashModes {
		t.Run(fm.name, func(t *testing.T) {
			spec := tinySpec(testmodel.F32)
			w := testmodel.Random(spec)
			// An F32 KV cache keeps the comparison free of F16 rounding.
			o := Options{FlashAttention: fm.fa, KVCacheType: "f32"}
			m := load(t, writeModel(t, spec, w), o)
			sh := m.Shape()
			heads := []Head{{0, 1}, {0, 3}, {1, 0}, {2, 2}, {2, 3}}
			iv := randomIntervention(sh, heads, 0.5, 11)

			e := spec.Embd()
			for l := range w.Layers {
				shift := make([]float64, e)
				for h, v := range iv {
					if h.Layer == l {
						for i, x := range v {
							shift[h.Head*sh.HeadDim+i] = float64(x)
						}
					}
				}
				bias := make([]float32, e)
				for r := range e {
					s := 0.0
					for c := range e {
						s += float64(w.Layers[l].Wo[r*e+c]) * shift[c]
					}
					bias[r] = float32(s)
				}
				w.Layers[l].AttnOutBias = bias
			}
			baked := load(t, writeModel(t, spec, w), o)

			toks, _ := m.Tokenize(testPrompt)
			ctx := context.Background()
			steered, err := m.Evaluate(ctx, toks, &Steer{Intervention: iv, Scope: ScopeAll})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := m.Evaluate(ctx, toks, nil)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := baked.Evaluate(ctx, toks, nil)
			if err != nil {
				t.Fatal(err)
			}
			diff, moved := maxAbsDiff(steered, ref), maxAbsDiff(steered, plain)
			t.Logf("%s: %d tokens, max |steered - baked| = %.3g, max |steered - unsteered| = %.3g", fm.name, len(toks), diff, moved)
			if moved < 0.1 {
				t.Fatalf("steering barely moved the logits (%g): the test would not see a wrong shift", moved)
			}
			if diff > fm.tol {
				t.Fatalf("steered logits differ from the baked model by %g (tolerance %g)", diff, fm.tol)
			}
		})
	}
}

// (c) scope "generation" leaves every prompt position before the last
// unchanged and changes the last one and what follows.
func TestExactnessGenerationScope(t *testing.T) {
	for _, fm := range flashModes {
		t.Run(fm.name, func(t *testing.T) {
			spec := tinySpec(testmodel.F32)
			w := testmodel.Random(spec)
			noEOS(spec, w)
			m := load(t, writeModel(t, spec, w), Options{FlashAttention: fm.fa, BatchSize: 16})
			sh := m.Shape()
			iv := randomIntervention(sh, allHeads(sh), 2, 5)
			toks, _ := m.Tokenize(testPrompt) // longer than a batch: several decodes
			if len(toks) <= 16 {
				t.Fatalf("prompt of %d tokens does not span batches", len(toks))
			}
			ctx := context.Background()
			plain, err := m.Evaluate(ctx, toks, nil)
			if err != nil {
				t.Fatal(err)
			}
			gen, err := m.Evaluate(ctx, toks, &Steer{Intervention: iv, Scope: ScopeGeneration})
			if err != nil {
				t.Fatal(err)
			}
			n := len(toks)
			for i := range n - 1 {
				if !identical(plain[i], gen[i]) {
					t.Fatalf("position %d of %d changed under generation scope", i, n)
				}
			}
			if d := maxAbsDiff(plain[n-1:], gen[n-1:]); d < 0.1 {
				t.Fatalf("last prompt position moved only %g", d)
			}
			all, _ := m.Evaluate(ctx, toks, &Steer{Intervention: iv, Scope: ScopeAll})
			if d := maxAbsDiff(plain[:1], all[:1]); d < 0.1 {
				t.Fatalf("scope all left position 0 unchanged (%g)", d)
			}

			// Generated tokens are steered too: the continuations differ.
			a, err := m.Generate(ctx, testPrompt, Params{MaxTokens: 16, Raw: true})
			if err != nil {
				t.Fatal(err)
			}
			b, err := m.Generate(ctx, testPrompt, Params{MaxTokens: 16, Raw: true, Steer: &Steer{Intervention: iv}})
			if err != nil {
				t.Fatal(err)
			}
			if a.Text == b.Text {
				t.Fatalf("steering did not change the generation: %q", a.Text)
			}
			if b.SteeredHeads != len(iv) {
				t.Fatalf("SteeredHeads = %d, want %d", b.SteeredHeads, len(iv))
			}
		})
	}
}

// (d) captured activations match a pure-Go forward pass of the model.
func TestCaptureMatchesReference(t *testing.T) {
	for _, fm := range flashModes {
		t.Run(fm.name, func(t *testing.T) { testCaptureMatchesReference(t, fm.fa, fm.tol) })
	}
}

func testCaptureMatchesReference(t *testing.T, fa FlashAttention, tol float64) {
	spec := tinySpec(testmodel.F32)
	w := testmodel.Random(spec)
	// A small batch and two sequences per decode force prompts to be split
	// across decodes and packed beside each other.
	m := load(t, writeModel(t, spec, w), Options{BatchSize: 16, CaptureSequences: 3, ContextSize: 128, KVCacheType: "f32", FlashAttention: fa})
	prompts := []string{"a", testPrompt, "Hola, ¿qué tal?", "สวัสดีครับ", "xy", "Guten Tag"}
	layers := []int{2, 0, 1}
	acts, err := m.CaptureLastToken(context.Background(), prompts, layers)
	if err != nil {
		t.Fatal(err)
	}
	sh := m.Shape()
	worst := 0.0
	for i, p := range prompts {
		toks, _ := m.Tokenize(p)
		tr, err := w.Forward(spec, toks)
		if err != nil {
			t.Fatal(err)
		}
		last := len(toks) - 1
		for li, l := range layers {
			ref := tr.KQVOut[l][last]
			for h := range sh.Heads {
				for j, x := range acts[i][li][h] {
					r := ref[h*sh.HeadDim+j]
					d := math.Abs(float64(x-r)) / (1 + math.Abs(float64(r)))
					worst = max(worst, d)
					if d > tol {
						t.Fatalf("prompt %d layer %d head %d [%d]: llama.cpp %g, reference %g", i, l, h, j, x, r)
					}
				}
			}
		}
	}
	t.Logf("max relative difference to the Go reference: %.3g", worst)

	// Packed capture equals one prompt at a time.
	single := load(t, writeModel(t, spec, w), Options{CaptureSequences: 1, ContextSize: 128, KVCacheType: "f32", FlashAttention: fa})
	for i, p := range prompts {
		one, err := single.CaptureLastToken(context.Background(), []string{p}, layers)
		if err != nil {
			t.Fatal(err)
		}
		for li := range layers {
			for h := range sh.Heads {
				for j := range one[0][li][h] {
					// Each is within tol of the reference, so of each other within 2 tol.
					a, b := float64(one[0][li][h][j]), float64(acts[i][li][h][j])
					if d := math.Abs(a-b) / (1 + math.Abs(b)); d > 2*tol {
						t.Fatalf("prompt %d: packed and single capture differ by %g", i, d)
					}
				}
			}
		}
	}

	if _, err := m.CaptureLastToken(context.Background(), prompts, []int{3}); err == nil {
		t.Fatal("capture of layer 3 of 3 accepted")
	}
}

// Q4_0 and F16 files written by the generator run in llama.cpp close to the
// F32 model built from the same values after their round trip.
func TestQuantizedModelsMatchTheirF32Twin(t *testing.T) {
	for _, typ := range []testmodel.WeightType{testmodel.F16, testmodel.Q4_0} {
		t.Run(typ.String(), func(t *testing.T) {
			spec := tinySpec(typ)
			w := testmodel.Random(spec)
			q := load(t, writeModel(t, spec, w), Options{})
			// The F32 twin holds exactly the values the quantized file decodes to.
			twin := testmodel.RoundTrip(spec, w)
			spec32 := spec
			spec32.Type = testmodel.F32
			f := load(t, writeModel(t, spec32, twin), Options{})
			toks, _ := q.Tokenize(testPrompt)
			a, err := q.Evaluate(context.Background(), toks, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, err := f.Evaluate(context.Background(), toks, nil)
			if err != nil {
				t.Fatal(err)
			}
			d, scale := maxAbsDiff(a, b), 0.0
			for _, row := range b {
				for _, x := range row {
					scale = max(scale, math.Abs(float64(x)))
				}
			}
			t.Logf("%s: max |quantized - f32 twin| = %.3g (logit scale %.3g)", typ, d, scale)
			if d > 0.05*scale {
				t.Fatalf("%s logits differ from the twin by %g of %g", typ, d, scale)
			}
		})
	}
}

// The device-buffer path (copy out, add, copy back) gives exactly what the
// in-place host path gives. Forced on host buffers, it runs on any machine.
func TestStagingPathMatchesHostPath(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	m := load(t, writeModel(t, spec, nil), Options{})
	sh := m.Shape()
	iv := randomIntervention(sh, []Head{{0, 0}, {1, 2}, {2, 1}}, 1, 9)
	toks, _ := m.Tokenize(testPrompt)
	ctx := context.Background()
	for _, scope := range []Scope{ScopeAll, ScopeGeneration} {
		st := &Steer{Intervention: iv, Scope: scope}
		host, err := m.Evaluate(ctx, toks, st)
		if err != nil {
			t.Fatal(err)
		}
		if m.deviceTensors() != 0 {
			t.Fatal("host buffers took the staging path")
		}
		m.forceStaging(true)
		staged, err := m.Evaluate(ctx, toks, st)
		m.forceStaging(false)
		if err != nil {
			t.Fatal(err)
		}
		if m.deviceTensors() == 0 {
			t.Fatal("forced staging did not take the staging path")
		}
		for i := range host {
			if !identical(host[i], staged[i]) {
				t.Fatalf("scope %s: position %d differs between host and staging paths", scope, i)
			}
		}
	}
}

// On a machine with a GPU backend (OLLAMA_LIBRARY_PATH pointing at Ollama's
// CUDA or ROCm libraries), steering a fully offloaded model goes through
// device buffers and still equals the baked model.
func TestSteeringOnGPU(t *testing.T) {
	if os.Getenv("OLLAMA_LIBRARY_PATH") == "" {
		t.Skip("no GPU backend: set OLLAMA_LIBRARY_PATH to Ollama's lib/ollama folder on a GPU machine")
	}
	spec := tinySpec(testmodel.F32)
	w := testmodel.Random(spec)
	gpu := load(t, writeModel(t, spec, w), Options{GPULayers: -1, KVCacheType: "f32", FlashAttention: FlashAttentionOff})
	cpu := load(t, writeModel(t, spec, w), Options{KVCacheType: "f32", FlashAttention: FlashAttentionOff})
	sh := gpu.Shape()
	iv := randomIntervention(sh, allHeads(sh), 0.5, 4)
	toks, _ := gpu.Tokenize(testPrompt)
	st := &Steer{Intervention: iv, Scope: ScopeAll}
	g, err := gpu.Evaluate(context.Background(), toks, st)
	if err != nil {
		t.Fatal(err)
	}
	if gpu.deviceTensors() == 0 {
		t.Skip("the model stayed in host memory: no GPU backend was loaded")
	}
	c, err := cpu.Evaluate(context.Background(), toks, st)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := cpu.Evaluate(context.Background(), toks, nil)
	d, moved := maxAbsDiff(g, c), maxAbsDiff(c, plain)
	t.Logf("GPU steered vs CPU steered: max diff %.3g (steering moved logits by %.3g)", d, moved)
	if d > 1e-2*moved {
		t.Fatalf("GPU steering differs from CPU steering by %g", d)
	}
}

// Close during a generation ends it at its next token (the caller gets
// ErrClosed) and returns; calls waiting for the slot get ErrClosed too.
func TestCloseDuringGeneration(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	spec.ContextLength = 4096
	w := testmodel.Random(spec)
	noEOS(spec, w)
	m, err := Load(writeModel(t, spec, w), Options{ContextSize: 4096, Slots: 1, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	var once sync.Once
	type outcome struct {
		r   *Result
		err error
	}
	running := make(chan outcome, 1)
	go func() {
		r, err := m.Generate(context.Background(), "abc", Params{MaxTokens: -1, Raw: true, OnToken: func(int) { once.Do(func() { close(started) }) }})
		running <- outcome{r, err}
	}()
	<-started
	// A second caller waits for the only slot.
	waiting := make(chan error, 1)
	go func() {
		_, err := m.Generate(context.Background(), "x", Params{MaxTokens: 2})
		waiting <- err
	}()
	m.Close() // must return: it used to wait forever for the busy slot
	got := <-running
	if !errors.Is(got.err, ErrClosed) || got.r == nil || got.r.StopReason != StopCancelled {
		t.Fatalf("generation during Close: %+v, %v; want stopped with ErrClosed", got.r, got.err)
	}
	if got.r.PromptTokens+got.r.CompletionTokens >= 4096 {
		t.Fatalf("the generation ran to the end of the context (%d tokens) instead of stopping", got.r.CompletionTokens)
	}
	if err := <-waiting; !errors.Is(err, ErrClosed) {
		t.Fatalf("waiting caller: %v, want ErrClosed", err)
	}
	if _, err := m.Generate(context.Background(), "x", Params{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	m.Close() // twice is fine
}

// Steering far too strong makes the logits non-finite: that is the
// generation's error, never an empty or endless answer. The test model's
// W_o is scaled up so that a finite shift overflows the residual stream
// (inf, then NaN through the next RMS norm), while the unsteered model
// stays finite.
func TestNonFiniteLogitsAreAnError(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	w := testmodel.Random(spec)
	for l := range w.Layers {
		for i := range w.Layers[l].Wo {
			w.Layers[l].Wo[i] *= 1e28
		}
	}
	m := load(t, writeModel(t, spec, w), Options{})
	if _, err := m.Generate(context.Background(), "abc", Params{MaxTokens: 8}); err != nil {
		t.Fatalf("unsteered: %v", err)
	}
	iv := randomIntervention(m.Shape(), allHeads(m.Shape()), 1e12, 4)
	_, err := m.Generate(context.Background(), "abc", Params{MaxTokens: 8, Steer: &Steer{Intervention: iv}})
	if !errors.Is(err, ErrNonFiniteLogits) {
		t.Fatalf("steering with 1e12 through W_o x 1e28: %v, want ErrNonFiniteLogits", err)
	}
	if _, err := m.Generate(context.Background(), "abc", Params{MaxTokens: 8}); err != nil {
		t.Fatalf("unsteered after: %v", err)
	}
}

// TestBindingLayout guards the unsafe reads of the ollama binding's
// private fields (cgo.go): an ollama version that changes its structs
// fails here, not at the first load.
func TestBindingLayout(t *testing.T) {
	if err := checkParamsLayout(); err != nil {
		t.Fatal(err)
	}
	spec := tinySpec(testmodel.F32)
	m := load(t, writeModel(t, spec, nil), Options{ContextSize: 128})
	s, err := m.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer m.release(s)
	if err := checkContextLayout(s.ctx, m.model, 128); err != nil {
		t.Fatal(err)
	}
}

// Close while a capture runs waits for it (the capture context is not a
// slot, and freed weights under it would crash), and later calls get
// ErrClosed.
func TestCloseDuringCapture(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	m, err := Load(writeModel(t, spec, nil), Options{ContextSize: 256, Threads: 2, CaptureSequences: 1})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := m.Tokenize(testPrompt)
	if err != nil {
		t.Fatal(err)
	}
	prompts := make([][]int, 40)
	for i := range prompts {
		prompts[i] = toks
	}
	started := make(chan struct{})
	var once sync.Once
	var finished atomic.Int64 // prompts the capture had finished, as its progress said
	done := make(chan error, 1)
	go func() {
		acts, err := m.CaptureTokens(context.Background(), prompts, nil, func(n int) {
			finished.Store(int64(n))
			once.Do(func() { close(started) })
		})
		if err == nil && len(acts) != len(prompts) {
			err = errors.New("capture returned too few activations")
		}
		done <- err
	}()
	<-started
	m.Close()
	if n := finished.Load(); n != int64(len(prompts)) {
		t.Fatalf("Close returned when the capture had finished %d of %d prompts", n, len(prompts))
	}
	if err := <-done; err != nil {
		t.Fatalf("capture during Close: %v", err)
	}
	if _, err := m.CaptureTokens(context.Background(), prompts[:1], nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("capture after Close: %v", err)
	}
}
