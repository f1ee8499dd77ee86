package steering

import (
	"fmt"
	"slices"
	"strings"

	"github.com/asmr-search/generative-asmr/config"
)

// Head names one attention head.
type Head struct {
	Layer int
	Head  int
}

func (h Head) String() string { return fmt.Sprintf("L%d.H%d", h.Layer, h.Head) }

// Intervention maps attention heads to the vector added to their output
// (before W_o): ASMR's alpha*theta_l^h, already scaled. Heads not in the map
// are left alone.
type Intervention map[Head][]float32

// Add accumulates vec into the shift of (layer, head), so that profiles for
// two attributes that select the same head both count.
func (iv Intervention) Add(layer, head int, vec []float32) {
	k := Head{layer, head}
	cur, ok := iv[k]
	if !ok {
		iv[k] = slices.Clone(vec)
		return
	}
	for i := range min(len(cur), len(vec)) {
		cur[i] += vec[i]
	}
	if len(vec) > len(cur) {
		// Keep the mismatch visible to Validate rather than truncating.
		iv[k] = append(cur, vec[len(cur):]...)
	}
}

// Heads lists the steered heads in (layer, head) order.
func (iv Intervention) Heads() []Head {
	hs := make([]Head, 0, len(iv))
	for h := range iv {
		hs = append(hs, h)
	}
	slices.SortFunc(hs, func(a, b Head) int {
		if a.Layer != b.Layer {
			return a.Layer - b.Layer
		}
		return a.Head - b.Head
	})
	return hs
}

// Layers lists the layers that have at least one steered head.
func (iv Intervention) Layers() []int {
	var ls []int
	for _, h := range iv.Heads() {
		if len(ls) == 0 || ls[len(ls)-1] != h.Layer {
			ls = append(ls, h.Layer)
		}
	}
	return ls
}

// Scaled returns a copy with every vector multiplied by alpha.
func (iv Intervention) Scaled(alpha float32) Intervention {
	out := make(Intervention, len(iv))
	for h, v := range iv {
		w := make([]float32, len(v))
		for i, x := range v {
			w[i] = alpha * x
		}
		out[h] = w
	}
	return out
}

// Validate checks the intervention against a model shape and reports every
// problem at once, naming the head and the expected value.
func (iv Intervention) Validate(s Shape) error {
	var errs []string
	for _, h := range iv.Heads() {
		v := iv[h]
		switch {
		case h.Layer < 0 || h.Layer >= s.Layers:
			errs = append(errs, fmt.Sprintf("%v: layer %d out of range: the model has %d layers (0..%d)", h, h.Layer, s.Layers, s.Layers-1))
		case h.Head < 0 || h.Head >= s.Heads:
			errs = append(errs, fmt.Sprintf("%v: head %d out of range: the model has %d heads per layer (0..%d)", h, h.Head, s.Heads, s.Heads-1))
		case len(v) != s.HeadDim:
			errs = append(errs, fmt.Sprintf("%v: shift has length %d, but the model's head size d_h is %d", h, len(v), s.HeadDim))
		default:
			for i, x := range v {
				if x != x || x > 3e38 || x < -3e38 {
					errs = append(errs, fmt.Sprintf("%v: element %d is not finite (%v)", h, i, x))
					break
				}
			}
		}
		if len(errs) >= 8 {
			errs = append(errs, "...")
			break
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("intervention does not fit the model (%d layers x %d heads, d_h %d): %s",
			s.Layers, s.Heads, s.HeadDim, strings.Join(errs, "; "))
	}
	return nil
}

// Steer is an intervention with its token scope.
type Steer struct {
	Intervention Intervention
	// Scope is which positions are shifted: the last prompt token and the
	// generated ones (config.TokenScopeGeneration, the default, ""), or
	// every position (config.TokenScopeAll).
	Scope config.TokenScope
}

func (st *Steer) active() bool { return st != nil && len(st.Intervention) > 0 }
