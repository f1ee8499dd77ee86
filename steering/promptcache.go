package steering

import (
	"encoding/binary"
	"hash/fnv"
	"math"

	"github.com/asmr-search/generative-asmr/config"
)

// promptCache describes the KV cells that a slot's sequence 0 keeps from
// its last generation: the cells of positions 0..len(tokens)-1 hold those
// tokens, computed with the steering named by key. A later prompt reuses
// the longest common prefix when its own prefix is computed with the same
// steering, and decodes only the rest.
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

// reuse prepares sequence 0 for tokens prefilled with st and returns the
// number of leading tokens whose cells are kept (0 with the cache off or
// nothing in common). At least the last token is always decoded again, for
// its logits. The cache is emptied until the caller's prefill succeeds and
// calls keep.
func (s *slot) reuse(on bool, tokens []int, st *Steer) int {
	c := s.cache
	s.cache = promptCache{}
	n := 0
	if on && c.key == prefixKey(st) {
		for n < len(c.tokens) && n < len(tokens)-1 && c.tokens[n] == tokens[n] {
			n++
		}
	}
	if n == 0 || !s.ctx.KvCacheSeqRm(0, n, -1) {
		s.ctx.KvCacheClear()
		return 0
	}
	return n
}

// keep records the prompt just prefilled with st: all of it when its last
// token was computed like the rest, else all but the last token.
func (s *slot) keep(tokens []int, st *Steer) {
	key := prefixKey(st)
	n := len(tokens)
	if st.active() && key == "" {
		n-- // the generation scope steered the last prompt token only
	}
	s.cache = promptCache{tokens: append(s.cache.tokens[:0:0], tokens[:n]...), key: key}
}

// clearKV empties the slot's KV cache and forgets the prompt it held.
func (s *slot) clearKV() {
	s.cache = promptCache{}
	s.ctx.KvCacheClear()
}
