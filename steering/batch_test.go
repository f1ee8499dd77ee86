package steering

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// batchRequest is one generation of the mixed batch.
type batchRequest struct {
	name   string
	prompt string
	steer  *Steer
	max    int
	// cancelAfter > 0 cancels the generation after that many tokens.
	cancelAfter int
}

// outcome is what a generation returned, with the logits of each token.
type outcome struct {
	text   string
	tokens int
	stop   StopReason
	err    error
	logits [][]float32
}

func (o outcome) String() string {
	return fmt.Sprintf("%q (%d tokens, %s, err %v)", o.text, o.tokens, o.stop, o.err)
}

func generateOne(m *Model, r batchRequest) outcome {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var o outcome
	p := Params{Raw: true, MaxTokens: r.max, Steer: r.steer, logits: func(l []float32) { o.logits = append(o.logits, l) }}
	if r.cancelAfter > 0 {
		p.OnToken = func(n int) {
			if n == r.cancelAfter {
				cancel()
			}
		}
	}
	res, err := m.Generate(ctx, r.prompt, p)
	o.err = err
	if res != nil {
		o.text, o.tokens, o.stop = res.Text, res.CompletionTokens, res.StopReason
	}
	return o
}

// runTogether queues every request while the scheduler admits nothing,
// then lets it admit them at once (more than the slots wait for a free
// sequence and join while the others generate), and returns the outcomes.
func runTogether(t *testing.T, m *Model, reqs []batchRequest) []outcome {
	t.Helper()
	m.sched.hold(true)
	out := make([]outcome, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() { out[i] = generateOne(m, r) })
		// One at a time, so that they queue (and are admitted) in order.
		// Waiting for the queue is not a timing assumption: the test goes
		// on once the request is queued, however long that takes.
		for m.sched.queued() < i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	m.sched.hold(false)
	wg.Wait()
	return out
}

// Every generation of a mixed batch (different prompts and lengths,
// steered with different interventions, scopes and strengths, unsteered,
// cancelled part way, more requests than sequences so that prompts are
// prefilled between the others' tokens) says exactly what it says alone,
// with greedy sampling and an F32 KV cache.
//
// Token equality is what holds, not bit-equal logits: llama.cpp's CPU
// matrix product takes another kernel for one token (ggml's vec_dot) than
// for several (llamafile's tinyBLAS), which sum in another order, so a
// token decoded alone and the same token decoded beside others differ in
// the last bits (measured here: at most 1.2e-6 with flash attention off,
// logits up to 4). With flash attention on, llama.cpp casts K and V to
// F16 and accumulates V in F16 on the CPU, which turns some of those
// last-bit differences into F16 steps (measured: 4.7e-3, about one F16
// step of the largest logit). The logits of every sampled token are
// compared with a tolerance of 1e-4 (flash attention off), as the
// exactness tests against the Go reference allow, or 1e-2 (on), and the
// greedy tokens must be the same.
func TestMixedBatchMatchesAlone(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fa      config.FlashAttention
		tol     float64
		staging bool
	}{
		{"fa-off", config.FlashAttentionOff, 1e-4, false},
		{"fa-on", config.FlashAttentionOn, 1e-2, false},
		// The device-buffer path (copy out, add per column, copy back).
		{"fa-off-staging", config.FlashAttentionOff, 1e-4, true},
	} {
		t.Run(tc.name, func(t *testing.T) { testMixedBatch(t, tc.fa, tc.tol, tc.staging) })
	}
}

func testMixedBatch(t *testing.T, fa config.FlashAttention, tol float64, staging bool) {
	spec := tinySpec(testmodel.F32)
	w := testmodel.Random(spec)
	noEOS(spec, w)
	path := writeModel(t, spec, w)
	// Four sequences, small decodes: prompts take several steps and are
	// prefilled beside the generated tokens of the others.
	m := load(t, path, Options{Slots: 4, BatchSize: 16, PrefillChunk: 5, ContextSize: 256,
		KVCacheType: config.KVCacheF32, FlashAttention: fa})
	sh := m.Shape()
	ivA := randomIntervention(sh, []Head{{0, 1}, {1, 2}, {2, 0}}, 1, 21)
	ivB := randomIntervention(sh, []Head{{0, 0}, {1, 3}}, 2, 22)
	ivC := randomIntervention(sh, allHeads(sh), 0.5, 23)
	gen := func(iv Intervention) *Steer { return &Steer{Intervention: iv, Scope: config.TokenScopeGeneration} }
	all := func(iv Intervention) *Steer { return &Steer{Intervention: iv, Scope: config.TokenScopeAll} }
	reqs := []batchRequest{
		{name: "short, unsteered", prompt: "a", max: 40},
		{name: "long, A generation scope", prompt: testPrompt, steer: gen(ivA), max: 30},
		{name: "B scope all", prompt: "Hola, ¿qué tal?", steer: all(ivB), max: 35},
		{name: "3A generation scope, cancelled after 5", prompt: "Guten Tag", steer: gen(ivA.Scaled(3)), max: 40, cancelAfter: 5},
		{name: "unsteered, cancelled after 1", prompt: "สวัสดีครับ", max: 40, cancelAfter: 1},
		{name: "longer, C scope all", prompt: testPrompt + " " + testPrompt, steer: all(ivC), max: 20},
		{name: "B generation scope", prompt: "xy", steer: gen(ivB), max: 25},
		{name: "same prompt unsteered", prompt: "xy", max: 25},
	}

	alone := make([]outcome, len(reqs))
	for i, r := range reqs {
		alone[i] = generateOne(m, r)
		if r.cancelAfter > 0 {
			if !errors.Is(alone[i].err, context.Canceled) || alone[i].tokens != r.cancelAfter || alone[i].stop != StopCancelled {
				t.Fatalf("%s alone: %v, want cancelled after %d tokens", r.name, alone[i], r.cancelAfter)
			}
		} else if alone[i].err != nil || alone[i].tokens != r.max {
			t.Fatalf("%s alone: %v, want %d tokens", r.name, alone[i], r.max)
		}
	}
	// Steering must show in the answers, or a batch that mixed up the
	// sequences' shift tables could pass.
	if alone[6].text == alone[7].text {
		t.Fatalf("steering B did not change the answer to %q: %q", reqs[6].prompt, alone[6].text)
	}
	for _, i := range []int{1, 2, 5} {
		plain := generateOne(m, batchRequest{prompt: reqs[i].prompt, max: reqs[i].max})
		if plain.text == alone[i].text {
			t.Fatalf("%s: steering did not change the answer %q", reqs[i].name, plain.text)
		}
	}

	before := m.sched.stats
	if staging {
		m.forceStaging(true)
		defer m.forceStaging(false)
	}
	got := runTogether(t, m, reqs)
	st := m.sched.stats
	if staging && m.deviceTensors() == 0 {
		t.Fatal("forced staging did not take the staging path")
	}
	worst, scale := 0.0, 0.0
	for i, r := range reqs {
		a, b := alone[i], got[i]
		if a.text != b.text || a.tokens != b.tokens || a.stop != b.stop || fmt.Sprint(a.err) != fmt.Sprint(b.err) {
			t.Errorf("%s: in the batch %v, alone %v", r.name, b, a)
			continue
		}
		if len(a.logits) != len(b.logits) {
			t.Errorf("%s: %d sampled positions in the batch, %d alone", r.name, len(b.logits), len(a.logits))
			continue
		}
		for k := range a.logits {
			for _, x := range a.logits[k] {
				scale = max(scale, math.Abs(float64(x)))
			}
			d := maxAbsDiff(a.logits[k:k+1], b.logits[k:k+1])
			worst = max(worst, d)
			if d > tol {
				t.Errorf("%s: token %d: logits differ from the run alone by %g (tolerance %g)", r.name, k, d, tol)
				break
			}
		}
	}
	steps := st.steps - before.steps
	mixed, multi := st.mixed-before.mixed, st.multi-before.multi
	t.Logf("%d steps, %d with tokens of several sequences, %d with generated and prompt tokens together, at most %d sequences; max |logit difference| to the runs alone %.3g (logits up to %.3g)",
		steps, multi, mixed, st.maxSeqs, worst, scale)
	if mixed == 0 || st.maxSeqs < 4 {
		t.Fatalf("the batch never mixed prompts with generated tokens (%d) or never held 4 sequences (%d): the test did not test batching", mixed, st.maxSeqs)
	}
	// Every sequence ended freed its cells: without a prompt cache none
	// holds any.
	for id := range m.opts.Slots {
		if p := seqPosMin(m.sched.c.ctx, id); p != -1 {
			t.Errorf("sequence %d still holds cells from position %d", id, p)
		}
	}
}

// Evaluate beside generations gives the logits it gives alone, within
// the tolerance of a different cell placement.
func TestEvaluateInBatch(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	w := testmodel.Random(spec)
	noEOS(spec, w)
	m := load(t, writeModel(t, spec, w), Options{Slots: 3, BatchSize: 16, PrefillChunk: 5, ContextSize: 256,
		KVCacheType: config.KVCacheF32, FlashAttention: config.FlashAttentionOff})
	sh := m.Shape()
	st := &Steer{Intervention: randomIntervention(sh, []Head{{1, 1}, {2, 3}}, 1, 31), Scope: config.TokenScopeAll}
	toks, err := m.Tokenize(testPrompt)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want, err := m.Evaluate(ctx, toks, st)
	if err != nil {
		t.Fatal(err)
	}
	again, err := m.Evaluate(ctx, toks, st)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if !identical(want[i], again[i]) {
			t.Fatalf("two evaluations on an idle model differ at position %d", i)
		}
	}
	// A generation runs while the evaluation is queued and admitted.
	m.sched.hold(true)
	var wg sync.WaitGroup
	wg.Go(func() { generateOne(m, batchRequest{prompt: "abc", max: 30}) })
	var got [][]float32
	wg.Go(func() { got, err = m.Evaluate(ctx, toks, st) })
	for m.sched.queued() < 2 {
		time.Sleep(time.Millisecond)
	}
	m.sched.hold(false)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	d := maxAbsDiff(want, got)
	t.Logf("evaluation beside a generation: max |logit difference| %.3g", d)
	if len(got) != len(want) || d > 1e-4 || math.IsNaN(d) {
		t.Fatalf("evaluation beside a generation: %d positions, max diff %g", len(got), d)
	}
}

// A long generation does not hold up a short one: while both run, every
// step gives each a token, and the short one's prompt goes in between in
// chunks of PrefillChunk. A sequence cancelled during a step has no KV
// cells left by the next step, and returns what it had said.
func TestBatchFairnessAndCancellation(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	spec.ContextLength = 4096
	w := testmodel.Random(spec)
	noEOS(spec, w)
	m := load(t, writeModel(t, spec, w), Options{Slots: 2, ContextSize: 4096, BatchSize: 64, PrefillChunk: 4, KVCacheType: config.KVCacheF32})

	// OnToken runs on the decode goroutine, between decodes: these are
	// written and read there, and read here after the calls return.
	var aTokens, a1, a3, aCells, bCells int
	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	started := make(chan struct{})
	type outcome struct {
		r   *Result
		err error
	}
	aDone := make(chan outcome, 1)
	go func() {
		r, err := m.Generate(ctxA, "abc", Params{Raw: true, MaxTokens: -1, OnToken: func(n int) {
			aTokens = n
			if n == 1 {
				close(started)
			}
		}})
		aDone <- outcome{r, err}
	}()
	<-started
	b, err := m.Generate(context.Background(), testPrompt, Params{Raw: true, MaxTokens: 6, OnToken: func(n int) {
		switch n {
		case 1:
			a1 = aTokens
		case 3:
			a3 = aTokens
			cancelA()
		case 4:
			aCells, bCells = seqPosMin(m.sched.c.ctx, 0), seqPosMin(m.sched.c.ctx, 1)
		}
	}})
	if err != nil || b.CompletionTokens != 6 {
		t.Fatalf("short generation: %+v, %v", b, err)
	}
	a := <-aDone
	t.Logf("the long generation had made %d tokens when the short one made its first", a1)
	if a3-a1 != 2 {
		t.Errorf("while the short generation made tokens 1 to 3, the long one made %d, want 2: each running sequence gets a token every step", a3-a1)
	}
	if got := m.sched.stats.maxChunk; got > 4 {
		t.Errorf("a step beside a generating sequence carried %d prompt tokens, more than the chunk of 4", got)
	}
	if aCells != -1 || bCells != 0 {
		t.Errorf("one step after the long generation was cancelled: its sequence holds cells from position %d (want none), the short one's from %d (want 0)", aCells, bCells)
	}
	if !errors.Is(a.err, context.Canceled) || a.r == nil || a.r.StopReason != StopCancelled || a.r.CompletionTokens != a3 {
		t.Fatalf("cancelled long generation: %+v, %v; want cancelled after %d tokens", a.r, a.err, a3)
	}
	alone, err := m.Generate(context.Background(), "abc", Params{Raw: true, MaxTokens: a3})
	if err != nil || alone.Text != a.r.Text {
		t.Fatalf("the cancelled generation said %q, alone %q (%v)", a.r.Text, alone.Text, err)
	}
}

// Steering that makes one sequence's logits non-finite is that request's
// error. With flash attention (the default, auto, on the CPU) the
// sequences decoded beside it say what they say alone. Without it
// llama.cpp's attention multiplies the masked cells of other sequences by
// zero, and NaN × 0 is NaN: they fail too, loudly, with the same error,
// never with another answer. Either way the requests after it, which land
// in the cells it wrote, say what they say alone: the scheduler admits
// nothing more until the running sequences end and clears the cache.
func TestNonFiniteSequenceIsolated(t *testing.T) {
	for _, fm := range flashModes {
		t.Run(fm.name, func(t *testing.T) {
			spec := tinySpec(testmodel.F32)
			w := testmodel.Random(spec)
			noEOS(spec, w)
			for l := range w.Layers {
				for i := range w.Layers[l].Wo {
					w.Layers[l].Wo[i] *= 1e28
				}
			}
			m := load(t, writeModel(t, spec, w), Options{Slots: 3, BatchSize: 16, PrefillChunk: 5, FlashAttention: fm.fa, KVCacheType: config.KVCacheF32})
			iv := randomIntervention(m.Shape(), allHeads(m.Shape()), 1e12, 4)
			// The overflowing request comes first: its long prompt's cells
			// are the first ones, and the short requests after it overwrite
			// only some of them.
			reqs := []batchRequest{
				{name: "steered to overflow", prompt: testPrompt, steer: &Steer{Intervention: iv, Scope: config.TokenScopeAll}, max: 20},
				{name: "unsteered", prompt: "Guten Tag", max: 20},
				{name: "unsteered, short", prompt: "xyz", max: 30},
			}
			alone := []outcome{{}, generateOne(m, reqs[1]), generateOne(m, reqs[2])}
			for _, i := range []int{1, 2} {
				if alone[i].err != nil {
					t.Fatalf("%s alone: %v", reqs[i].name, alone[i].err)
				}
			}
			got := runTogether(t, m, reqs)
			if !errors.Is(got[0].err, ErrNonFiniteLogits) {
				t.Fatalf("steered to overflow: %v, want ErrNonFiniteLogits", got[0])
			}
			for _, i := range []int{1, 2} {
				same := got[i].String() == alone[i].String()
				failed := errors.Is(got[i].err, ErrNonFiniteLogits)
				if fm.fa == config.FlashAttentionOn && !same || !same && !failed {
					t.Errorf("%s beside it: %v, alone %v", reqs[i].name, got[i], alone[i])
				}
				if failed {
					t.Logf("%s beside it: %v", reqs[i].name, got[i].err)
				}
			}
			// Later requests land in the cells the overflowing one wrote.
			for _, i := range []int{1, 2, 1} {
				if again := generateOne(m, reqs[i]); again.String() != alone[i].String() {
					t.Errorf("%s after it: %v, alone %v", reqs[i].name, again, alone[i])
				}
			}
		})
	}
}

// shares splits a step's prompt budget evenly, never past what a prompt
// needs, and hands every token out while some prompt needs it.
func TestShares(t *testing.T) {
	for _, c := range []struct {
		rem    []int
		budget int
		want   []int
	}{
		{[]int{100}, 16, []int{16}},
		{[]int{100, 100}, 16, []int{8, 8}},
		{[]int{100, 100, 100}, 16, []int{6, 5, 5}},
		{[]int{2, 100, 100}, 16, []int{2, 7, 7}},
		{[]int{1, 1}, 16, []int{1, 1}},
		{[]int{5, 5, 5, 5, 5}, 3, []int{1, 1, 1, 0, 0}},
		{[]int{}, 8, []int{}},
	} {
		if got := shares(c.rem, c.budget); !slices.Equal(got, c.want) {
			t.Errorf("shares(%v, %d) = %v, want %v", c.rem, c.budget, got, c.want)
		}
	}
}
