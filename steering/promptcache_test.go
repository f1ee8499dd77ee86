package steering

import (
	"context"
	"testing"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// The prompt cache reuses exactly the common prefix whose cells were
// computed with the request's own steering, and a cached answer equals
// the uncached one (F32 KV cache, greedy).
func TestPromptCacheReusesOnlyMatchingCells(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	w := testmodel.Random(spec)
	noEOS(spec, w)
	path := writeModel(t, spec, w)
	o := Options{KVCacheType: config.KVCacheF32, FlashAttention: config.FlashAttentionOff}
	cold := load(t, path, o)
	o.PromptCache = true
	warm := load(t, path, o)
	sh := warm.Shape()
	ivA := randomIntervention(sh, []Head{{0, 1}, {1, 2}, {2, 0}}, 0.5, 11)
	ivB := randomIntervention(sh, []Head{{0, 1}, {1, 2}, {2, 0}}, 0.5, 12)

	const base = "Passages: the telephone was patented in 1876. Question: "
	steps := []struct {
		name   string
		prompt string
		steer  *Steer
		// reused: the tokens in common with the previous prompt that may
		// be reused: "all" of the common prefix, "all-1" (the previous
		// prompt's last token was steered alone), or "none".
		reused string
	}{
		{"first prompt", base + "who?", nil, "none"},
		{"unsteered after unsteered", base + "when?", nil, "all"},
		{"generation scope after unsteered", base + "where?", &Steer{Intervention: ivA, Scope: config.TokenScopeGeneration}, "all"},
		{"unsteered after generation scope", base + "where? Why?", nil, "all-1"},
		{"scope all after unsteered", base + "how?", &Steer{Intervention: ivA, Scope: config.TokenScopeAll}, "none"},
		{"same scope-all steering", base + "how long?", &Steer{Intervention: ivA, Scope: config.TokenScopeAll}, "all"},
		{"other scope-all steering", base + "how far?", &Steer{Intervention: ivB, Scope: config.TokenScopeAll}, "none"},
		{"generation scope after scope all", base + "how far?", &Steer{Intervention: ivB, Scope: config.TokenScopeGeneration}, "none"},
		{"a prompt inside the cached one", base, nil, "all-1"},
	}
	ctx := context.Background()
	var prev []int
	for i, st := range steps {
		toks, err := warm.Tokenize(st.prompt)
		if err != nil {
			t.Fatal(err)
		}
		p := Params{Raw: true, MaxTokens: 6, Steer: st.steer}
		got, err := warm.Generate(ctx, st.prompt, p)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		want, err := cold.Generate(ctx, st.prompt, p)
		if err != nil {
			t.Fatal(err)
		}
		if want.CachedTokens != 0 {
			t.Errorf("%s: the model without a prompt cache reused %d tokens", st.name, want.CachedTokens)
		}
		common := 0
		for common < len(prev) && common < len(toks) && prev[common] == toks[common] {
			common++
		}
		wantReused := 0
		switch st.reused {
		case "all":
			wantReused = common
		case "all-1":
			wantReused = common - 1
		}
		// The last prompt token is always decoded again, for its logits.
		wantReused = min(wantReused, len(toks)-1)
		if i > 0 && st.reused != "none" && wantReused < 10 {
			t.Fatalf("%s: the prompts share only %d tokens; the test needs a longer common prefix", st.name, common)
		}
		if got.CachedTokens != wantReused {
			t.Errorf("%s: reused %d cached tokens, want %d (common prefix %d)", st.name, got.CachedTokens, wantReused, common)
		}
		if got.Text != want.Text || got.PromptTokens != want.PromptTokens {
			t.Errorf("%s: cached answer %q (%d prompt tokens), uncached %q (%d)", st.name, got.Text, got.PromptTokens, want.Text, want.PromptTokens)
		}
		prev = toks
	}

	// Evaluate and a failed generation leave no reusable cells behind.
	toks, _ := warm.Tokenize(base + "who?")
	if _, err := warm.Evaluate(ctx, toks, nil); err != nil {
		t.Fatal(err)
	}
	r, err := warm.Generate(ctx, base+"who?", Params{Raw: true, MaxTokens: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.CachedTokens != 0 {
		t.Errorf("after Evaluate: reused %d tokens, want 0", r.CachedTokens)
	}
	// A generation cancelled after its first token keeps its prompt's
	// cells, which the next request reuses with the same answer.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopped, err := warm.Generate(cctx, base+"when?", Params{Raw: true, MaxTokens: 6, OnToken: func(int) { cancel() }})
	if err == nil || stopped.StopReason != StopCancelled {
		t.Fatalf("cancelled generation: %v, %+v", err, stopped)
	}
	p := Params{Raw: true, MaxTokens: 6}
	r, err = warm.Generate(ctx, base+"when?", p)
	if err != nil {
		t.Fatal(err)
	}
	want, err := cold.Generate(ctx, base+"when?", p)
	if err != nil {
		t.Fatal(err)
	}
	if r.CachedTokens != r.PromptTokens-1 || r.Text != want.Text {
		t.Errorf("after a cancelled generation: reused %d of %d tokens (want all but the last), answer %q, uncached %q", r.CachedTokens, r.PromptTokens, r.Text, want.Text)
	}
}

// With several sequences, a request is admitted to the free sequence whose
// cells hold its prompt's beginning, so two conversations that alternate
// keep each its own cached prefix; a prompt that shares nothing takes a
// sequence holding nothing rather than evict a cached one.
func TestPromptCacheFindsItsSequence(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	w := testmodel.Random(spec)
	noEOS(spec, w)
	path := writeModel(t, spec, w)
	o := Options{KVCacheType: config.KVCacheF32, FlashAttention: config.FlashAttentionOff, Slots: 3}
	cold := load(t, path, o)
	o.PromptCache = true
	warm := load(t, path, o)
	ctx := context.Background()
	const one = "Passages: the telephone was patented in 1876 by Bell. Question: "
	const two = "Passagen: Das Telefon wurde 1876 von Bell patentiert. Frage: "
	steps := []struct {
		prompt string
		reuse  string // the earlier prompt whose common prefix is reused, "" = none
	}{
		{one + "who?", ""},
		{two + "wer?", ""},
		{"x", ""}, // takes the third, empty sequence
		{one + "when?", one + "who?"},
		{two + "wann?", two + "wer?"},
		{one + "where?", one + "when?"},
		{two + "wo?", two + "wann?"},
	}
	for _, st := range steps {
		p := Params{Raw: true, MaxTokens: 5}
		got, err := warm.Generate(ctx, st.prompt, p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := cold.Generate(ctx, st.prompt, p)
		if err != nil {
			t.Fatal(err)
		}
		wantReused := 0
		if st.reuse != "" {
			a, _ := warm.Tokenize(st.reuse)
			b, _ := warm.Tokenize(st.prompt)
			for wantReused < len(a) && wantReused < len(b)-1 && a[wantReused] == b[wantReused] {
				wantReused++
			}
			if wantReused < 20 {
				t.Fatalf("%q and %q share only %d tokens", st.reuse, st.prompt, wantReused)
			}
		}
		if got.CachedTokens != wantReused {
			t.Errorf("%q: reused %d tokens, want %d (the prefix of %q)", st.prompt, got.CachedTokens, wantReused, st.reuse)
		}
		if got.Text != want.Text {
			t.Errorf("%q: cached answer %q, uncached %q", st.prompt, got.Text, want.Text)
		}
	}
}
