package profile

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// HeadShift is what steering adds to one head's output (before W_o).
type HeadShift struct {
	Layer, Head int
	Vector      []float32
}

// Shifts returns what steering adds for attribute attr: for the best
// min(topK, len) selected heads (topK <= 0: all of them), best first,
// alpha * sigma * unit(direction of the given kind). The direction is
// renormalized here so that the shift's norm is exactly |alpha|*sigma even
// though the stored vector is unit only to float32 precision.
func (p *Profile) Shifts(attr string, kind DirectionKind, alpha float64, topK int) ([]HeadShift, error) {
	return p.ShiftsOn(attr, attr, kind, alpha, topK)
}

// ShiftsOn is Shifts of attribute attr on the heads that attribute
// selectBy ranks best: its best min(topK, len) heads, best first, each
// shifted along attr's direction of that head. A head that attr does not
// hold is left out. The language direction uses it: the heads that CL
// (coherence in language) ranks best, steered toward one language
// (LANG.<code>), whose own ranking is useless because most heads identify
// a language perfectly.
func (p *Profile) ShiftsOn(attr, selectBy string, kind DirectionKind, alpha float64, topK int) ([]HeadShift, error) {
	if p == nil {
		return nil, errors.New("no steering profile")
	}
	a, err := p.attribute(attr)
	if err != nil {
		return nil, err
	}
	sel := a
	if selectBy != attr {
		if sel, err = p.attribute(selectBy); err != nil {
			return nil, err
		}
	}
	if kind != DirectionProbe && kind != DirectionMassMean {
		return nil, storedKindError(kind)
	}
	if math.IsNaN(alpha) || math.IsInf(alpha, 0) {
		return nil, fmt.Errorf("alpha %v is not finite", alpha)
	}
	heads := slices.Clone(sel.Heads)
	// Validate requires best-first order; a stable sort keeps that order and
	// makes a profile built in code without Validate behave the same.
	slices.SortStableFunc(heads, func(x, y HeadEntry) int { return cmp.Compare(y.Accuracy, x.Accuracy) })
	n := len(heads)
	if topK > 0 && topK < n {
		n = topK
	}
	own := map[[2]int]HeadEntry{}
	for _, h := range a.Heads {
		own[[2]int{h.Layer, h.Head}] = h
	}
	out := make([]HeadShift, 0, n)
	for _, s := range heads[:n] {
		h, ok := own[[2]int{s.Layer, s.Head}]
		if !ok {
			continue
		}
		d, _ := h.DirectionOf(kind)
		var ss float64
		for _, x := range d.Vector {
			ss += float64(x) * float64(x)
		}
		norm := math.Sqrt(ss)
		if len(d.Vector) == 0 || norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
			return nil, fmt.Errorf("attribute %s, layer %d head %d: %s direction is empty or not finite", attr, h.Layer, h.Head, kind)
		}
		scale := alpha * d.Sigma / norm
		v := make([]float32, len(d.Vector))
		for i, x := range d.Vector {
			v[i] = float32(scale * float64(x))
		}
		out = append(out, HeadShift{Layer: h.Layer, Head: h.Head, Vector: v})
	}
	return out, nil
}

// attribute is p's attribute name, or an error naming those it has.
func (p *Profile) attribute(name string) (*Attribute, error) {
	a, ok := p.Attributes[name]
	if !ok || a == nil {
		have := slices.Sorted(maps.Keys(p.Attributes))
		return nil, fmt.Errorf("steering profile has no attribute %q (it has: %s)", name, strings.Join(have, ", "))
	}
	return a, nil
}
