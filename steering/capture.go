package steering

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Activations holds one prompt's last-token head outputs as
// [layer][head][d_h], the layers in the order they were asked for.
type Activations [][][]float32

// CaptureLastToken runs each prompt (tokenized as given, without a chat
// template) and returns the output of every attention head at its last
// token, before W_o, for the given layers (nil = all layers). Prompts are
// packed several to a decode, which is what makes probing thousands of
// prompts affordable.
func (m *Model) CaptureLastToken(ctx context.Context, prompts []string, layers []int) ([]Activations, error) {
	toks := make([][]int, len(prompts))
	for i, p := range prompts {
		t, err := m.Tokenize(p)
		if err != nil {
			return nil, fmt.Errorf("tokenize prompt %d: %w", i, err)
		}
		toks[i] = t
	}
	return m.CaptureTokens(ctx, toks, layers, nil)
}

// CaptureTokens is CaptureLastToken for pre-tokenized prompts. progress, if
// set, is called with the number of finished prompts after each decode.
func (m *Model) CaptureTokens(ctx context.Context, prompts [][]int, layers []int, progress func(done int)) ([]Activations, error) {
	// The capture context is not the scheduler's: hold the model open
	// against Close until it is freed.
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.leave()
	if layers == nil {
		layers = make([]int, m.shape.Layers)
		for i := range layers {
			layers[i] = i
		}
	}
	seen := map[int]bool{}
	for _, l := range layers {
		if l < 0 || l >= m.shape.Layers {
			return nil, fmt.Errorf("capture layer %d: the model has layers 0..%d", l, m.shape.Layers-1)
		}
		if seen[l] {
			return nil, fmt.Errorf("capture layer %d is listed twice", l)
		}
		seen[l] = true
	}
	nCtx := m.opts.ContextSize
	for i, t := range prompts {
		if len(t) == 0 {
			return nil, fmt.Errorf("prompt %d is empty", i)
		}
		if len(t) > nCtx {
			return nil, fmt.Errorf("%w: prompt %d has %d tokens and the context holds %d", ErrContextOverflow, i, len(t), nCtx)
		}
	}
	if len(prompts) == 0 {
		return nil, nil
	}

	// A dedicated context: several sequences share one unified KV cache so
	// the callback's columns keep batch order.
	nSeq := min(m.opts.CaptureSequences, len(prompts))
	s, err := m.newContext(nCtx, nSeq, 1)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	defer s.free()
	if err := s.captureLayers(layers); err != nil {
		return nil, err
	}
	s.setColumns(nil)

	out := make([]Activations, len(prompts))
	width, hd := m.shape.Width(), m.shape.HeadDim
	type seq struct{ prompt, next, id int }
	var active []*seq
	free := make([]int, nSeq)
	for i := range free {
		free[i] = nSeq - 1 - i
	}
	kvUsed, nextPrompt, done := 0, 0, 0
	for done < len(prompts) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Admit prompts while a sequence id and KV room are free; a prompt
		// reserves its whole length so it can always finish.
		for nextPrompt < len(prompts) && len(free) > 0 && kvUsed+len(prompts[nextPrompt]) <= nCtx {
			id := free[len(free)-1]
			free = free[:len(free)-1]
			active = append(active, &seq{prompt: nextPrompt, id: id})
			kvUsed += len(prompts[nextPrompt])
			nextPrompt++
		}
		s.batch.Clear()
		var capCols, capPrompts []int
		room := s.nBatch
		for _, q := range active {
			t := prompts[q.prompt]
			n := min(len(t)-q.next, room)
			for j := range n {
				pos := q.next + j
				last := pos == len(t)-1
				if last {
					capCols = append(capCols, s.batch.NumTokens())
					capPrompts = append(capPrompts, q.prompt)
				}
				s.batch.Add(t[pos], nil, pos, last, q.id)
			}
			q.next += n
			room -= n
			if room == 0 {
				break
			}
		}
		if s.batch.NumTokens() == 0 {
			return nil, errors.New("capture: internal error: empty batch")
		}
		s.captureColumns(capCols)
		if err := s.decode(); err != nil {
			return nil, fmt.Errorf("capture: decode: %w", err)
		}
		for k, p := range capPrompts {
			flat := make([]float32, len(layers)*width)
			acts := make(Activations, len(layers))
			for li, l := range layers {
				row := flat[li*width : (li+1)*width]
				copy(row, s.captured(l, k))
				acts[li] = make([][]float32, m.shape.Heads)
				for h := range acts[li] {
					acts[li][h] = row[h*hd : (h+1)*hd : (h+1)*hd]
				}
			}
			out[p] = acts
		}
		active = slices.DeleteFunc(active, func(q *seq) bool {
			if q.next < len(prompts[q.prompt]) {
				return false
			}
			s.ctx.KvCacheSeqRm(q.id, -1, -1)
			free = append(free, q.id)
			kvUsed -= len(prompts[q.prompt])
			done++
			return true
		})
		if progress != nil {
			progress(done)
		}
	}
	return out, nil
}
