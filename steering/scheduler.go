package steering

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ollama/ollama/llama"

	"github.com/asmr-search/generative-asmr/config"
)

// scheduler decodes every running generation of a model together, in the
// model's one llama.cpp context (continuous batching, as llama.cpp's
// server and ollama's runner do). The context holds Options.Slots
// sequences in one unified KV cache of Slots × ContextSize cells; each
// sequence uses at most ContextSize positions, so the cells never run out.
//
// One goroutine (loop) owns the context. Each step is one llama_decode of
// at most BatchSize tokens, one eval-callback pass: the next token of
// every sequence that is generating, then prompt tokens of the sequences
// still prefilling, shared out evenly among them, at most PrefillChunk in
// all while some sequence is generating (all BatchSize otherwise). So
// every generating sequence advances every step, and a long prompt delays
// the others by one chunk at a time, never by its whole length.
//
// Requests wait in arrival order for a free sequence id (admission), which
// takes the place of the slots each with its own context that the model
// had before. The steering hook gets one shift table per sequence id,
// installed at admission and cleared when the sequence ends; every batch
// column names the table of its own sequence, or none (setColumns), so a
// batch mixes sequences steered differently and unsteered ones. Sampling,
// stop strings and Params.OnToken run on the loop goroutine between
// decodes. A sequence whose context ends is removed before the next step,
// and its KV cells freed (all of them, or all but its prompt's when the
// prompt cache keeps them).
//
// The KV cache is unified (one pool of cells for every sequence, masked
// per sequence) because that is what keeps a batch in order in the
// callback's columns (see newContext). Its costs: every token's attention
// runs over the used cells of all sequences (masked, and skipped cell by
// cell with flash attention), so attention grows with the tokens held by
// all running and cached sequences together; llama.cpp reports n_ctx_seq
// as the whole pool, which for models with LongRoPE factors (Phi-3 style
// rope_long/rope_short) picks the long factors once Slots × ContextSize
// exceeds their original context. The numerics of one sequence do not
// depend on the others' tokens except in the last bits (see
// TestMixedBatchMatchesAlone).
type scheduler struct {
	m      *Model
	c      *lcontext
	perSeq int // positions of one sequence: Options.ContextSize
	chunk  int // Options.PrefillChunk
	nSwa   int // the model's sliding attention window; 0 = none

	mu    sync.Mutex
	queue []*job // waiting for a sequence, in arrival order
	held  bool   // tests: admit nothing until released
	wake  chan struct{}
	quit  chan struct{}
	done  chan struct{}

	// Owned by the loop goroutine.
	seqs   []*sequence   // by sequence id; nil = free
	caches []promptCache // by sequence id: the prompt its cells hold
	used   []uint64      // by sequence id: when it last ended
	clock  uint64
	turn   int     // rotates which prefilling sequence is served first
	cols   []int32 // shift table of each column of the batch being built
	width  int     // sequences in the step being handled
	// dirty: a sequence's logits were not finite, so KV cells (its own,
	// freed but not cleared) may hold NaN or infinite values. Attention
	// without flash attention multiplies the other sequences' masked cells
	// by zero, and NaN × 0 is NaN: nothing is admitted until the running
	// sequences end and the cache is cleared.
	dirty bool
	stats batchStats
}

// batchStats counts what the steps decoded, for tests.
type batchStats struct {
	steps int
	// mixed steps carried generated tokens and prompt tokens together;
	// multi steps carried tokens of more than one sequence.
	mixed, multi int
	maxSeqs      int // the most sequences in one step
	// maxChunk is the most prompt tokens of a step that also carried
	// generated tokens.
	maxChunk int
}

// job is one Generate or Evaluate call.
type job struct {
	ctx      context.Context // the caller's, also cancelled by Close
	tokens   []int
	p        Params
	steer    *Steer
	sampler  *llama.SamplingContext // nil for Evaluate and for greedy generation
	evaluate bool                   // every position's logits, no generation

	res    *Result     // Generate's
	logits [][]float32 // Evaluate's
	err    error
	done   chan struct{}
}

// sequence is an admitted job.
type sequence struct {
	id int
	j  *job
	// next is how many prompt tokens have cells; the prompt is prefilled
	// while next < len(j.tokens).
	next int
	// decoding: the prompt is done; tok is the next token to decode, at
	// position pos.
	decoding bool
	tok, pos int
	// The columns of the step being decoded: [from, from+n) of its prompt
	// tokens, and out, the column of its logits (-1: none this step).
	from, n, out int

	text               []byte
	maxStop, maxTokens int
	start, decodeStart time.Time
}

func newScheduler(m *Model) (*scheduler, error) {
	n := m.opts.Slots
	c, err := m.newContext(n*m.opts.ContextSize, n, n)
	if err != nil {
		return nil, err
	}
	s := &scheduler{
		m: m, c: c, perSeq: m.opts.ContextSize, chunk: m.opts.PrefillChunk, nSwa: modelSWA(m.model),
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		seqs: make([]*sequence, n), caches: make([]promptCache, n), used: make([]uint64, n),
	}
	go s.loop()
	return s, nil
}

// run queues j and waits until it has ended (succeeded, failed, or was
// cancelled waiting or running). The caller holds the model open (enter),
// so the loop outlives every run.
func (s *scheduler) run(j *job) {
	j.done = make(chan struct{})
	s.mu.Lock()
	s.queue = append(s.queue, j)
	s.mu.Unlock()
	// A job cancelled while it waits must be answered at once.
	stop := context.AfterFunc(j.ctx, s.poke)
	defer stop()
	s.poke()
	<-j.done
}

func (s *scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// stop ends the loop, which Close calls once no call is running, and
// frees the context.
func (s *scheduler) stop() {
	close(s.quit)
	<-s.done
	s.c.free()
}

func (s *scheduler) loop() {
	defer close(s.done)
	for {
		s.admit()
		if !s.busy() {
			select {
			case <-s.wake:
			case <-s.quit:
				return
			}
			continue
		}
		s.step()
	}
}

func (s *scheduler) busy() bool {
	for _, q := range s.seqs {
		if q != nil {
			return true
		}
	}
	return false
}

// admit answers the queued jobs whose context ended and gives free
// sequences to the first waiting jobs.
func (s *scheduler) admit() {
	free := 0
	for _, q := range s.seqs {
		if q == nil {
			free++
		}
	}
	var start []*job
	if s.dirty {
		if free == len(s.seqs) {
			s.c.ctx.KvCacheClear() // zeroes the cells' data too
			clear(s.caches)
			s.dirty = false
		} else {
			free = 0
		}
	}
	s.mu.Lock()
	if s.held {
		free = 0
	}
	keep := s.queue[:0]
	for _, j := range s.queue {
		switch {
		case j.ctx.Err() != nil:
			j.err = j.ctx.Err()
			if errors.Is(context.Cause(j.ctx), ErrClosed) {
				j.err = ErrClosed
			}
			close(j.done)
		case free > 0:
			free--
			start = append(start, j)
		default:
			keep = append(keep, j)
		}
	}
	clear(s.queue[len(keep):])
	s.queue = keep
	s.mu.Unlock()
	for _, j := range start {
		s.start(j)
	}
}

// start admits j to a free sequence: the one whose cells serve the
// longest prefix of its prompt when that prefix is at least half of what
// the cells hold; else one whose cells hold nothing, so that no cached
// prompt is given up for a short gain; else the one serving the longest
// prefix; among equals the one unused for longest.
func (s *scheduler) start(j *job) {
	id := -1
	var best [4]int
	for i, q := range s.seqs {
		if q != nil {
			continue
		}
		n := 0
		if !j.evaluate && s.m.opts.PromptCache {
			n = s.caches[i].reusable(j.tokens, j.steer)
		}
		held := len(s.caches[i].tokens)
		rank := [4]int{n * boolInt(2*n >= held), boolInt(held == 0), n, -int(s.used[i])}
		if id < 0 || slices.Compare(rank[:], best[:]) > 0 {
			id, best = i, rank
		}
	}
	q := &sequence{id: id, j: j, out: -1, start: time.Now()}
	if j.evaluate {
		s.forget(id)
	} else {
		q.next = s.reuse(id, j.tokens, j.steer)
		j.res.CachedTokens = q.next
		q.maxTokens = j.p.MaxTokens
		if q.maxTokens == 0 {
			q.maxTokens = 256
		}
		for _, st := range j.p.Stop {
			q.maxStop = max(q.maxStop, len(st))
		}
	}
	s.seqs[id] = q
	if err := s.c.install(id, s.m.shape, j.steer); err != nil {
		s.finish(q, nil, err)
	}
}

// step decodes one batch and handles its outputs.
func (s *scheduler) step() {
	c := s.c
	for _, q := range s.seqs {
		if q != nil && q.j.ctx.Err() != nil {
			s.cancel(q)
		}
	}
	c.batch.Clear()
	s.cols = s.cols[:0]
	var dec, pre, in []*sequence
	for _, q := range s.seqs {
		switch {
		case q == nil:
		case q.decoding:
			dec = append(dec, q)
		default:
			pre = append(pre, q)
		}
	}
	for _, q := range dec {
		q.out = c.batch.NumTokens()
		c.batch.Add(q.tok, nil, q.pos, true, q.id)
		s.cols = append(s.cols, s.table(q, true))
		in = append(in, q)
	}
	budget := c.nBatch - len(dec)
	if len(dec) > 0 {
		budget = min(budget, s.chunk)
	}
	if len(pre) > 0 {
		r := s.turn % len(pre)
		s.turn++
		pre = append(pre[r:len(pre):len(pre)], pre[:r]...)
		rem := make([]int, len(pre))
		for i, q := range pre {
			rem[i] = len(q.j.tokens) - q.next
		}
		for i, n := range shares(rem, budget) {
			q := pre[i]
			q.from, q.n, q.out = c.batch.NumTokens(), n, -1
			if n == 0 {
				continue
			}
			for k := q.next; k < q.next+n; k++ {
				last := k == len(q.j.tokens)-1
				c.batch.Add(q.j.tokens[k], nil, k, q.j.evaluate || last, q.id)
				s.cols = append(s.cols, s.table(q, last))
				if last {
					q.out = c.batch.NumTokens() - 1
				}
			}
			in = append(in, q)
		}
	}
	if len(in) == 0 {
		return
	}
	s.width = len(in)
	s.stats.steps++
	s.stats.mixed += boolInt(len(dec) > 0 && len(in) > len(dec))
	s.stats.multi += boolInt(len(in) > 1)
	s.stats.maxSeqs = max(s.stats.maxSeqs, len(in))
	if len(dec) > 0 {
		s.stats.maxChunk = max(s.stats.maxChunk, c.batch.NumTokens()-len(dec))
	}
	c.setColumns(s.cols)
	if err := c.decode(); err != nil {
		for _, q := range in {
			s.forget(q.id) // the failed decode may have left its cells half written
			if q.decoding {
				s.finish(q, nil, fmt.Errorf("decode token at position %d: %w", q.pos, err))
			} else {
				s.finish(q, nil, fmt.Errorf("decode prompt tokens %d..%d: %w", q.next, q.next+q.n-1, err))
			}
		}
		return
	}
	for _, q := range in {
		if q.decoding {
			q.pos++
		} else {
			q.next += q.n
		}
		switch {
		case q.j.evaluate:
			for i := q.from; i < q.from+q.n; i++ {
				q.j.logits = append(q.j.logits, c.ctx.GetLogitsIth(i))
				if bad, _ := c.scan(i); bad > 0 {
					s.dirty = true // returned as they are, but see dirty
				}
			}
			if q.next == len(q.j.tokens) {
				s.finish(q, nil, nil)
			}
		case q.out >= 0:
			s.sample(q)
		}
	}
}

// table is the shift table of a column of q: its own when its steering
// covers the column (gen: a generated token or the last prompt token),
// else none.
func (s *scheduler) table(q *sequence, gen bool) int32 {
	st := q.j.steer
	if !st.active() || !gen && st.Scope != config.TokenScopeAll {
		return -1
	}
	return int32(q.id)
}

// shares splits budget tokens among prompts with rem tokens left each:
// evenly, the first ones getting the remainder, none more than it needs.
func shares(rem []int, budget int) []int {
	out := make([]int, len(rem))
	for budget > 0 {
		open := 0
		for i := range rem {
			if out[i] < rem[i] {
				open++
			}
		}
		if open == 0 {
			break
		}
		per := max(1, budget/open)
		for i := range rem {
			if g := min(per, rem[i]-out[i], budget); g > 0 {
				out[i] += g
				budget -= g
			}
		}
	}
	return out
}

// sample takes the next token of q from its logits at column q.out, as
// Generate's loop did one token at a time: the end of the prompt is
// recorded first, then cancellation, non-finite logits and the stop
// conditions are checked.
func (s *scheduler) sample(q *sequence) {
	j, res := q.j, q.j.res
	if !q.decoding {
		s.keep(q.id, j.tokens, j.steer)
		res.PrefillDuration = time.Since(q.start)
		q.decoding, q.pos, q.decodeStart = true, len(j.tokens), time.Now()
	}
	if j.ctx.Err() != nil {
		s.cancel(q)
		return
	}
	if j.p.logits != nil {
		j.p.logits(s.c.ctx.GetLogitsIth(q.out))
	}
	bad, tok := s.c.scan(q.out)
	if bad < 0 {
		// llama.cpp has no logits at the column: a bug of ours in the
		// batch's output flags, reported rather than sampled from.
		s.finish(q, nil, fmt.Errorf("no logits at batch column %d after %d generated tokens", q.out, res.CompletionTokens))
		return
	}
	if bad > 0 {
		beside := ""
		if s.width > 1 || s.dirty {
			beside = "; decoded beside other requests: without flash attention, non-finite values in one request's KV cells make the others' logits non-finite too"
		}
		s.dirty = true
		s.forget(q.id)
		s.finish(q, nil, fmt.Errorf("%w: %d of %d logits are NaN or infinite after %d generated tokens (%d heads steered%s)",
			ErrNonFiniteLogits, bad, s.m.shape.Vocab, res.CompletionTokens, res.SteeredHeads, beside))
		return
	}
	if j.sampler != nil {
		tok = j.sampler.Sample(s.c.ctx, q.out)
		j.sampler.Accept(tok, true)
	}
	if s.m.model.TokenIsEog(tok) {
		res.StopReason = StopEOS
		s.finish(q, res, nil)
		return
	}
	res.CompletionTokens++
	before := len(q.text)
	q.text = append(q.text, s.m.model.TokenToPiece(tok)...)
	if j.p.OnToken != nil {
		j.p.OnToken(res.CompletionTokens)
	}
	if cut, ok := findStop(q.text, max(0, before-q.maxStop+1), j.p.Stop); ok {
		q.text = q.text[:cut]
		res.StopReason = StopString
	} else if q.maxTokens > 0 && res.CompletionTokens >= q.maxTokens {
		res.StopReason = StopLength
	} else if q.pos >= s.perSeq {
		res.StopReason = StopContext
	} else {
		q.tok = tok
		return
	}
	s.finish(q, res, nil)
}

// cancel ends q because its context ended: a generation past its prompt
// returns what it has said, with the context's cause; one still in its
// prompt, or an evaluation, returns the cause alone.
func (s *scheduler) cancel(q *sequence) {
	err := context.Cause(q.j.ctx)
	if q.j.evaluate || !q.decoding {
		s.finish(q, nil, err)
		return
	}
	q.j.res.StopReason = StopCancelled
	s.finish(q, q.j.res, err)
}

// finish ends q, frees its sequence (its cells past the cached prompt, or
// all of them) and its shift table, and answers its caller.
func (s *scheduler) finish(q *sequence, res *Result, err error) {
	if kept := len(s.caches[q.id].tokens); kept > 0 && s.m.opts.PromptCache {
		s.c.ctx.KvCacheSeqRm(q.id, kept, -1)
	} else {
		s.forget(q.id)
	}
	s.c.install(q.id, s.m.shape, nil)
	s.seqs[q.id] = nil
	s.clock++
	s.used[q.id] = s.clock
	j := q.j
	if res != nil {
		res.Text = validPrefix(q.text)
		if q.decoding {
			res.DecodeDuration = time.Since(q.decodeStart)
		}
	}
	if j.evaluate && err != nil {
		j.logits = nil
	}
	if !j.evaluate {
		j.res = res
	}
	j.err = err
	close(j.done)
}

// hold (tests) stops admitting queued jobs until hold(false), so that a
// test can queue several and have them admitted in one step.
func (s *scheduler) hold(on bool) {
	s.mu.Lock()
	s.held = on
	s.mu.Unlock()
	s.poke()
}

// queued (tests) is the number of jobs waiting for a sequence.
func (s *scheduler) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}
