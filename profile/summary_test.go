package profile

import (
	"fmt"
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	p := tinyProfile()
	p.Model.Fingerprint = "sha256:" + strings.Repeat("e", 64)
	s := p.Summary()
	for _, w := range []string{
		"llama, 3 layers x 4 heads x d_h 32",
		p.Model.Fingerprint,
		"tiny.gguf",
		"attribute AC (desired: answer present)",
		"attribute CL (desired: same language)",
		"synthetic (question, passage) pairs",
		"200 (100 positive, 100 negative), split 4:1, seed 1",
		"selected: 5 heads",
		"top 5:",
		"sigma probe",
	} {
		if !strings.Contains(s, w) {
			t.Errorf("summary lacks %q:\n%s", w, s)
		}
	}
	// Accuracy statistics agree with the map.
	a := p.Attributes[AttributeAC]
	var sum, mx float64
	high := 0
	for _, row := range a.Accuracy {
		for _, v := range row {
			sum += v
			mx = max(mx, v)
			if v >= 0.9 {
				high++
			}
		}
	}
	want := fmt.Sprintf("accuracy: mean %.3f, max %.3f, %d of 12 heads >= 0.9", sum/12, mx, high)
	if !strings.Contains(s, want) {
		t.Errorf("summary lacks %q:\n%s", want, s)
	}
	t.Log("\n" + s)
}
