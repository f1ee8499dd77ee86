package steering

import (
	"fmt"
	"slices"
	"strings"
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

// Scope says which token positions are steered.
type Scope int

const (
	// ScopeGeneration steers the last prompt token and every generated token,
	// as inference-time intervention (ITI) does. It is the default.
	ScopeGeneration Scope = iota
	// ScopeAll steers every position, prompt included. It equals running a
	// copy of the model whose attn_output.bias carries W_o·shift.
	ScopeAll
)

func (s Scope) String() string {
	switch s {
	case ScopeGeneration:
		return "generation"
	case ScopeAll:
		return "all"
	}
	return fmt.Sprintf("Scope(%d)", int(s))
}

// ParseScope reads "generation" or "all"; "" means generation.
func ParseScope(s string) (Scope, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "generation":
		return ScopeGeneration, nil
	case "all":
		return ScopeAll, nil
	}
	return 0, fmt.Errorf("token scope %q: want \"generation\" (last prompt token and generated tokens) or \"all\" (every token)", s)
}

// MarshalText and UnmarshalText let Scope live in YAML and JSON.
func (s Scope) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Scope) UnmarshalText(b []byte) error {
	v, err := ParseScope(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Steer is an intervention with its token scope.
type Steer struct {
	Intervention Intervention
	Scope        Scope
}

func (st *Steer) active() bool { return st != nil && len(st.Intervention) > 0 }
