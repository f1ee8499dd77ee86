package steering

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ollama/ollama/llama"
)

// Params controls one generation.
type Params struct {
	// System is an optional system message for the chat template.
	System string
	// Raw skips the chat template: the prompt is tokenized as given, as
	// text (special-token names in it stay text; BOS is added when the
	// model asks for it).
	Raw bool

	// Temperature 0 picks the most likely token (greedy).
	Temperature float32
	// TopK keeps the K most likely tokens; 0 disables it.
	TopK int
	// TopP keeps the smallest set of tokens whose probability reaches P;
	// 0 or 1 disables it.
	TopP float32
	// Seed of the sampler's random draw. With Temperature 0 it has no effect.
	Seed uint32

	// MaxTokens caps the generated tokens; 0 = 256, negative = until the
	// context is full.
	MaxTokens int
	// Stop ends generation at the first of these strings, which is not
	// included in the text. A stop string inside the answer's leading
	// whitespace does not end it: stop "\n" cuts "\nParis\nQuestion" to
	// "\nParis", not to "".
	Stop []string

	// Steer, when set, steers the attention heads during generation.
	Steer *Steer

	// OnToken, when set, is called after each generated token is added to
	// the text, with the number generated so far. A context cancelled
	// inside it stops the generation before the next token, so tests and
	// callers can stop after an observed token rather than after a
	// wall-clock delay. It runs on the model's decode goroutine, between
	// two decodes of every running generation: it must return quickly and
	// must not call the model.
	OnToken func(completionTokens int)

	// logits (tests) gets a copy of the logits each token is sampled from.
	logits func([]float32)
}

// StopReason says why generation ended.
type StopReason string

const (
	StopEOS       StopReason = "eos"       // the model's end-of-generation token
	StopString    StopReason = "stop"      // one of Params.Stop
	StopLength    StopReason = "length"    // Params.MaxTokens reached
	StopContext   StopReason = "context"   // the context is full
	StopCancelled StopReason = "cancelled" // the caller's context ended
)

// Result is a finished (or cancelled) generation.
type Result struct {
	Text         string
	PromptTokens int
	// CachedTokens of the prompt were reused from the slot's KV cache
	// (Options.PromptCache) and not decoded again.
	CachedTokens     int
	CompletionTokens int
	StopReason       StopReason
	// SteeredHeads is the number of heads the intervention touched.
	SteeredHeads int
	// PrefillDuration covers the prompt's decodes; DecodeDuration runs from
	// the first sampled token to the end, as ollama's eval_duration does.
	PrefillDuration time.Duration
	DecodeDuration  time.Duration
}

// PrefillTPS is the prompt throughput in tokens per second.
func (r *Result) PrefillTPS() float64 { return rate(r.PromptTokens, r.PrefillDuration) }

// DecodeTPS is the generation throughput in tokens per second.
func (r *Result) DecodeTPS() float64 { return rate(r.CompletionTokens, r.DecodeDuration) }

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// ErrNonFiniteLogits is wrapped by the error of a generation whose logits
// became NaN or infinite, which steering far too strong for the model
// does: sampling from them would answer "" or the same token forever.
var ErrNonFiniteLogits = errors.New("the model's logits are not finite")

// ErrContextOverflow is wrapped by errors about prompts longer than the
// context. Callers that can shorten the prompt test for it with errors.Is.
var ErrContextOverflow = errors.New("prompt does not fit the context")

func (p *Params) validate() error {
	switch {
	case p.Temperature < 0:
		return fmt.Errorf("temperature %v: must be 0 (greedy) or more", p.Temperature)
	case p.TopK < 0:
		return fmt.Errorf("top-k %d: must be 0 (off) or more", p.TopK)
	case p.TopP < 0 || p.TopP > 1:
		return fmt.Errorf("top-p %v: must be between 0 and 1", p.TopP)
	}
	for i, s := range p.Stop {
		if s == "" {
			return fmt.Errorf("stop string %d is empty: remove it", i)
		}
	}
	return nil
}

// Generate runs the model on prompt as one sequence of the model's
// batched decode (waiting for a free sequence while ctx allows) and
// returns the generated text. A cancelled ctx stops between tokens and
// returns the partial result with ctx's error.
func (m *Model) Generate(ctx context.Context, prompt string, p Params) (*Result, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	var tokens []int
	var err error
	if p.Raw {
		tokens, err = m.Tokenize(prompt)
	} else {
		tokens, _, err = m.TokenizePrompt(p.System, prompt)
	}
	if err != nil {
		return nil, fmt.Errorf("tokenize prompt: %w", err)
	}
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.leave()
	res := &Result{PromptTokens: len(tokens)}
	if len(tokens) == 0 {
		return nil, errors.New("prompt is empty after tokenization")
	}
	if n := m.opts.ContextSize; len(tokens) >= n {
		return nil, fmt.Errorf("%w: the prompt has %d tokens and the context holds %d (one more is needed to answer): shorten the prompt or raise the context size",
			ErrContextOverflow, len(tokens), n)
	}
	if p.Steer.active() {
		if err := p.Steer.Intervention.Validate(m.shape); err != nil {
			return nil, err
		}
		res.SteeredHeads = len(p.Steer.Intervention)
	}
	// Temperature 0 takes the largest logit (scheduler.sample) without a
	// llama.cpp sampler: its chain copies the whole vocabulary into a
	// candidate array for every token, serial work between two decodes.
	var sampler *llama.SamplingContext
	if p.Temperature > 0 {
		topP := p.TopP
		if topP == 0 {
			topP = 1
		}
		var err error
		sampler, err = llama.NewSamplingContext(m.model, llama.SamplingParams{
			TopK: p.TopK, TopP: topP, MinP: 0, TypicalP: 1, Temp: p.Temperature,
			RepeatLastN: 64, PenaltyRepeat: 1, Seed: p.Seed,
		})
		if err != nil {
			return nil, fmt.Errorf("create sampler: %w", err)
		}
	}
	ctx, cancel := m.withClose(ctx)
	defer cancel()
	j := &job{ctx: ctx, tokens: tokens, p: p, steer: p.Steer, sampler: sampler, res: res}
	m.sched.run(j)
	return j.res, j.err
}

// decode runs the context's batch and checks that the hook saw every
// steered or captured layer exactly once, so a model whose graph names its
// attention output differently fails loudly instead of running unsteered,
// and a batch that llama.cpp split into several passes (which would break
// the column order) is an error.
func (c *lcontext) decode() error {
	c.resetStats()
	if err := c.ctx.Decode(c.batch); err != nil {
		return err
	}
	st := c.stats()
	if st.Bad > 0 {
		return fmt.Errorf("steering hook skipped %d attention outputs with an unexpected type or layout (want F32 [%d, tokens])", st.Bad, int(c.hook.width))
	}
	if want := c.asked(); st.Seen != int64(want) {
		return fmt.Errorf("steering hook saw %d of %d asked kqv_out tensors: this model's graph does not expose per-layer attention output as llama.cpp's llama architecture does", st.Seen, want)
	}
	return nil
}

// Evaluate returns the logits of every position of tokens, with optional
// steering. It is the exact view used by tests and by probes that measure
// how steering moves the output distribution. It runs as a sequence of
// the model's batched decode, its prompt chunks beside other sequences'
// tokens; the logits of a position do not depend on the other sequences'
// tokens, but on which KV cells the sequence lands in, in the last bits
// (the attention sums run over cells in cache order): two evaluations on
// an otherwise idle model are bit-identical.
func (m *Model) Evaluate(ctx context.Context, tokens []int, st *Steer) ([][]float32, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.leave()
	if n := m.opts.ContextSize; len(tokens) == 0 || len(tokens) > n {
		return nil, fmt.Errorf("%w: %d tokens for a context of %d", ErrContextOverflow, len(tokens), n)
	}
	if st.active() {
		if err := st.Intervention.Validate(m.shape); err != nil {
			return nil, err
		}
	}
	ctx, cancel := m.withClose(ctx)
	defer cancel()
	j := &job{ctx: ctx, tokens: tokens, steer: st, evaluate: true}
	m.sched.run(j)
	return j.logits, j.err
}

// findStop returns where the first stop string found at or after from
// begins. A stop string within the answer's leading whitespace does not
// count: a completion model that starts its answer on a new line (Gemma 3
// after "Answer:") would otherwise stop at "\n" with nothing said.
func findStop(out []byte, from int, stops []string) (int, bool) {
	lead := len(out) - len(bytes.TrimLeftFunc(out, unicode.IsSpace))
	best, found := 0, false
	for _, st := range stops {
		for at := from; at <= len(out)-len(st); {
			i := bytes.Index(out[at:], []byte(st))
			if i < 0 {
				break
			}
			if at+i+len(st) > lead {
				if !found || at+i < best {
					best, found = at+i, true
				}
				break
			}
			at += i + 1
		}
	}
	return best, found
}

// validPrefix drops a multi-byte character cut off by the end of generation.
func validPrefix(b []byte) string {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				b = b[:i]
			}
			break
		}
	}
	return string(b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
