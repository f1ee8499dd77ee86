package readerdemo

import (
	"math"
	"testing"

	"github.com/asmr-search/generative-asmr/steering"
)

func TestIntervention(t *testing.T) {
	iv := intervention(steering.Shape{Layers: 4, Heads: 8, HeadDim: 32}, 8)
	if len(iv) != 2*4 {
		t.Fatalf("%d heads, want 8 (layers 2-3, heads 0, 2, 4, 6)", len(iv))
	}
	for h, v := range iv {
		if h.Layer < 2 || h.Head%2 != 0 || len(v) != 32 {
			t.Errorf("head %+v, %d values", h, len(v))
		}
		n := 0.0
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		if math.Abs(math.Sqrt(n)-8) > 1e-4 {
			t.Errorf("head %+v: norm %v, want 8", h, math.Sqrt(n))
		}
	}
}
