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

	"github.com/asmr-search/generative-asmr/config"
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

	// OnToken, when set, is called on the generating goroutine after each
	// generated token is added to the text, with the number generated so
	// far. A context cancelled inside it stops the generation before the
	// next token, so tests and callers can stop after an observed token
	// rather than after a wall-clock delay.
	OnToken func(completionTokens int)
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

// Generate runs the model on prompt in a free slot (waiting for one while
// ctx allows) and returns the generated text. A cancelled ctx stops between
// tokens and returns the partial result with ctx's error.
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
	s, err := m.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer m.release(s)
	ctx, cancel := m.withClose(ctx)
	defer cancel()
	return m.generate(ctx, s, tokens, p)
}

func (m *Model) generate(ctx context.Context, s *slot, tokens []int, p Params) (*Result, error) {
	res := &Result{PromptTokens: len(tokens)}
	if len(tokens) == 0 {
		return nil, errors.New("prompt is empty after tokenization")
	}
	if len(tokens) >= s.nCtx {
		return nil, fmt.Errorf("%w: the prompt has %d tokens and the context holds %d (one more is needed to answer): shorten the prompt or raise the context size",
			ErrContextOverflow, len(tokens), s.nCtx)
	}
	if err := s.install(m.shape, p.Steer); err != nil {
		return nil, err
	}
	if p.Steer.active() {
		res.SteeredHeads = len(p.Steer.Intervention)
	}
	maxTokens := p.MaxTokens
	if maxTokens == 0 {
		maxTokens = 256
	}
	topP := p.TopP
	if topP == 0 {
		topP = 1
	}
	sampler, err := llama.NewSamplingContext(m.model, llama.SamplingParams{
		TopK: p.TopK, TopP: topP, MinP: 0, TypicalP: 1, Temp: p.Temperature,
		RepeatLastN: 64, PenaltyRepeat: 1, Seed: p.Seed,
	})
	if err != nil {
		return nil, fmt.Errorf("create sampler: %w", err)
	}

	start := time.Now()
	res.CachedTokens = s.reuse(m.opts.PromptCache, tokens, p.Steer)
	idx, err := s.prefill(ctx, tokens, res.CachedTokens, p.Steer, false, nil)
	if err != nil {
		return nil, err
	}
	s.keep(tokens, p.Steer)
	res.PrefillDuration = time.Since(start)

	start = time.Now()
	defer func() { res.DecodeDuration = time.Since(start) }()
	var out []byte
	maxStop := 0
	for _, st := range p.Stop {
		maxStop = max(maxStop, len(st))
	}
	pos := len(tokens)
	for {
		if ctx.Err() != nil {
			res.StopReason = StopCancelled
			res.Text = validPrefix(out)
			return res, context.Cause(ctx)
		}
		if bad := s.nonFinite(idx); bad > 0 {
			return nil, fmt.Errorf("%w: %d of %d logits are NaN or infinite after %d generated tokens (%d heads steered)",
				ErrNonFiniteLogits, bad, m.shape.Vocab, res.CompletionTokens, res.SteeredHeads)
		}
		tok := sampler.Sample(s.ctx, idx)
		sampler.Accept(tok, true)
		if m.model.TokenIsEog(tok) {
			res.StopReason = StopEOS
			break
		}
		res.CompletionTokens++
		before := len(out)
		out = append(out, m.model.TokenToPiece(tok)...)
		if p.OnToken != nil {
			p.OnToken(res.CompletionTokens)
		}
		if cut, ok := findStop(out, max(0, before-maxStop+1), p.Stop); ok {
			out = out[:cut]
			res.StopReason = StopString
			break
		}
		if maxTokens > 0 && res.CompletionTokens >= maxTokens {
			res.StopReason = StopLength
			break
		}
		if pos >= s.nCtx {
			res.StopReason = StopContext
			break
		}
		s.batch.Clear()
		s.batch.Add(tok, nil, pos, true, 0)
		s.steerColumns(0, boolInt(p.Steer.active()))
		if err := s.decode(); err != nil {
			return nil, fmt.Errorf("decode token at position %d: %w", pos, err)
		}
		idx = 0
		pos++
	}
	res.Text = validPrefix(out)
	return res, nil
}

// prefill decodes tokens[from:] (the cells of the first from are in the
// KV cache already) in batches of at most n_ubatch tokens, so each decode
// is one callback pass. It returns the batch index of the last token's
// logits. With allLogits every position gets logits (used by Evaluate),
// read after each batch by onBatch.
func (s *slot) prefill(ctx context.Context, tokens []int, from int, st *Steer, allLogits bool, onBatch func(start, n int)) (int, error) {
	last := 0
	for start := from; start < len(tokens); start += s.nBatch {
		if ctx.Err() != nil {
			return 0, context.Cause(ctx)
		}
		end := min(start+s.nBatch, len(tokens))
		s.batch.Clear()
		for i := start; i < end; i++ {
			s.batch.Add(tokens[i], nil, i, allLogits || i == len(tokens)-1, 0)
		}
		n := end - start
		switch {
		case !st.active():
			s.steerColumns(0, 0)
		case st.Scope == config.TokenScopeAll:
			s.steerColumns(0, n)
		case end == len(tokens):
			s.steerColumns(n-1, n) // generation scope: the last prompt token
		default:
			s.steerColumns(0, 0)
		}
		if err := s.decode(); err != nil {
			return 0, fmt.Errorf("decode prompt tokens %d..%d: %w", start, end-1, err)
		}
		if onBatch != nil {
			onBatch(start, n)
		}
		last = n - 1
	}
	return last, nil
}

// decode runs the slot's batch and checks that the hook saw every steered
// or captured layer exactly once, so a model whose graph names its
// attention output differently fails loudly instead of running unsteered.
func (s *slot) decode() error {
	s.resetStats()
	if err := s.ctx.Decode(s.batch); err != nil {
		return err
	}
	st := s.stats()
	if st.Bad > 0 {
		return fmt.Errorf("steering hook skipped %d attention outputs with an unexpected type or layout (want F32 [%d, tokens])", st.Bad, int(s.hook.width))
	}
	ask, _, _ := s.layerTable()
	want := 0
	for _, a := range ask {
		want += int(a)
	}
	if st.Seen != int64(want) {
		return fmt.Errorf("steering hook saw %d of %d asked kqv_out tensors: this model's graph does not expose per-layer attention output as llama.cpp's llama architecture does", st.Seen, want)
	}
	return nil
}

// Evaluate returns the logits of every position of tokens, with optional
// steering. It is the exact view used by tests and by probes that measure
// how steering moves the output distribution.
func (m *Model) Evaluate(ctx context.Context, tokens []int, st *Steer) ([][]float32, error) {
	s, err := m.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer m.release(s)
	if len(tokens) == 0 || len(tokens) > s.nCtx {
		return nil, fmt.Errorf("%w: %d tokens for a context of %d", ErrContextOverflow, len(tokens), s.nCtx)
	}
	if err := s.install(m.shape, st); err != nil {
		return nil, err
	}
	s.clearKV()
	logits := make([][]float32, 0, len(tokens))
	_, err = s.prefill(ctx, tokens, 0, st, true, func(_, n int) {
		for i := range n {
			logits = append(logits, s.ctx.GetLogitsIth(i))
		}
	})
	if err != nil {
		return nil, err
	}
	return logits, nil
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
