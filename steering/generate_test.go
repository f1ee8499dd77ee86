package steering

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

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

// Temperature 0 takes the largest logit without llama.cpp's sampler; it
// must pick what the sampler picks when it keeps only the best token
// (top-k 1), and each token must be the argmax of the logits it was
// taken from.
func TestGreedyMatchesLlamaSampler(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	w := testmodel.Random(spec)
	noEOS(spec, w)
	m := load(t, writeModel(t, spec, w), Options{})
	steer := &Steer{Intervention: randomIntervention(m.Shape(), allHeads(m.Shape())[:6], 2, 3)}
	for _, st := range []*Steer{nil, steer} {
		var logits [][]float32
		fast, err := m.Generate(context.Background(), testPrompt, Params{Raw: true, MaxTokens: 32, Steer: st,
			logits: func(l []float32) { logits = append(logits, slices.Clone(l)) }})
		if err != nil {
			t.Fatal(err)
		}
		ref, err := m.Generate(context.Background(), testPrompt, Params{Raw: true, MaxTokens: 32, Steer: st, Temperature: 1, TopK: 1})
		if err != nil {
			t.Fatal(err)
		}
		if fast.Text != ref.Text || fast.CompletionTokens != ref.CompletionTokens {
			t.Errorf("steered %v: greedy %q (%d tokens), llama.cpp's top-k 1 sampler %q (%d tokens)",
				st != nil, fast.Text, fast.CompletionTokens, ref.Text, ref.CompletionTokens)
		}
		var text []byte
		for _, l := range logits {
			best := 0
			for k, v := range l {
				if v > l[best] {
					best = k
				}
			}
			text = append(text, m.model.TokenToPiece(best)...)
		}
		if string(text) != fast.Text {
			t.Errorf("steered %v: text %q, argmax of each token's logits %q", st != nil, fast.Text, text)
		}
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

func TestFindStopSkipsLeadingWhitespace(t *testing.T) {
	for _, c := range []struct {
		out   string
		stops []string
		at    int // -1: no stop
	}{
		{"\nParis\nQuestion", []string{"\n"}, 6},
		{"\n\n", []string{"\n"}, -1},
		{" \n Paris", []string{"\n"}, -1},
		{"\n\nParis", []string{"\n\n"}, -1},
		{"Paris\n", []string{"\n"}, 5},
		{"Question: x", []string{"Question:"}, 0}, // not whitespace: stops at once
		{"\nQuestion: x", []string{"\n", "Question:"}, 1},
		{"\n \nab\ncd", []string{"\n", "b"}, 4},
	} {
		at, ok := findStop([]byte(c.out), 0, c.stops)
		if !ok {
			at = -1
		}
		if at != c.at {
			t.Errorf("findStop(%q, %q) = %d, want %d", c.out, c.stops, at, c.at)
		}
	}
}
