package stats

import "testing"

func TestMedian(t *testing.T) {
	v := []float64{4, 1, 3, 2}
	if Median(nil) != 0 || Median([]float64{3, 1, 2}) != 2 || Median(v) != 2.5 {
		t.Error("median")
	}
	if v[0] != 4 || v[3] != 2 {
		t.Errorf("Median sorted its argument: %v", v)
	}
}
