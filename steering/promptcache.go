package steering

import (
	"encoding/binary"
	"hash/fnv"
	"math"

	"github.com/asmr-search/generative-asmr/config"
)

// promptCache describes the KV cells that a sequence keeps from its last
// generation: the cells of positions 0..len(tokens)-1 hold those tokens,
// computed with the steering named by key. A later prompt admitted to the
// sequence reuses the longest common prefix when its own prefix is
// computed with the same steering, and decodes only the rest.
type promptCache struct {
	tokens []int
	// key is "" for cells computed unsteered, else steerKey of the
	// steering applied to every one of them.
	key string
}

// prefixKey is the key of the cells a prefill with st leaves before its
// last prompt token: the generation scope steers only the last prompt
// token (and what is generated), so its earlier cells are unsteered and
// shared with unsteered prompts and any other generation-scope steering.
func prefixKey(st *Steer) string {
	if !st.active() || st.Scope != config.TokenScopeAll {
		return ""
	}
	return steerKey(st.Intervention)
}

// steerKey fingerprints an intervention: its heads in order and the exact
// bits of their vectors (FNV-1a, 128 bits).
func steerKey(iv Intervention) string {
	h := fnv.New128a()
	var b [4]byte
	for _, hd := range iv.Heads() {
		binary.LittleEndian.PutUint32(b[:], uint32(hd.Layer))
		h.Write(b[:])
		binary.LittleEndian.PutUint32(b[:], uint32(hd.Head))
		h.Write(b[:])
		v := iv[hd]
		binary.LittleEndian.PutUint32(b[:], uint32(len(v)))
		h.Write(b[:])
		for _, x := range v {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
			h.Write(b[:])
		}
	}
	return string(h.Sum(nil))
}

// reusable is how many leading tokens of tokens, prefilled with st, the
// cells c describes can supply: the common prefix when the steering
// matches, never the last token, which is decoded again for its logits.
func (c promptCache) reusable(tokens []int, st *Steer) int {
	if c.key != prefixKey(st) {
		return 0
	}
	n := 0
	for n < len(c.tokens) && n < len(tokens)-1 && c.tokens[n] == tokens[n] {
		n++
	}
	return n
}

// reuse prepares sequence id for tokens prefilled with st and returns the
// number of leading tokens whose cells are kept (0 with the cache off or
// nothing in common). The cache is emptied until the prefill is done and
// keep is called.
//
// A model with sliding-window attention may keep only the window's last
// cells of a sequence in its SWA cache (llama.cpp reuses the older ones
// when the SWA cache is smaller than the context), so a prefix is reused
// only when the cells its next token attends to are still there, as
// llama.cpp's server checks. With the binding's parameters (swa_full,
// llama.cpp's default) the SWA cache is full-size and this never refuses.
func (s *scheduler) reuse(id int, tokens []int, st *Steer) int {
	c := s.caches[id]
	s.caches[id] = promptCache{}
	n := 0
	if s.m.opts.PromptCache {
		n = c.reusable(tokens, st)
	}
	if n > 0 && s.nSwa > 0 && seqPosMin(s.c.ctx, id) > max(0, n-s.nSwa) {
		n = 0
	}
	if n == 0 || !s.c.ctx.KvCacheSeqRm(id, n, -1) {
		s.forget(id)
		return 0
	}
	return n
}

// keep records the prompt just prefilled on sequence id with st: all of
// it when its last token was computed like the rest, else all but the
// last token.
func (s *scheduler) keep(id int, tokens []int, st *Steer) {
	if !s.m.opts.PromptCache {
		return
	}
	key := prefixKey(st)
	n := len(tokens)
	if st.active() && key == "" {
		n-- // the generation scope steered the last prompt token only
	}
	s.caches[id] = promptCache{tokens: append([]int(nil), tokens[:n]...), key: key}
}

// forget empties sequence id's cells and the record of what they held.
func (s *scheduler) forget(id int) {
	s.caches[id] = promptCache{}
	s.c.ctx.KvCacheSeqRm(id, -1, -1)
}
