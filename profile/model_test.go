package profile

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckModel(t *testing.T) {
	fpA := "sha256:" + strings.Repeat("a", 64)
	fpB := "sha256:" + strings.Repeat("b", 64)
	p := tinyProfile()
	p.Model.Fingerprint = fpA
	same := ModelIdentity{Architecture: "llama", Layers: 3, Heads: 4, HeadDim: 32}
	if err := p.CheckModel(same); err != nil {
		t.Fatalf("no fingerprint on the model: %v", err)
	}
	same.Fingerprint = fpA
	same.File = "renamed.gguf"
	if err := p.CheckModel(same); err != nil {
		t.Fatalf("same model: %v", err)
	}

	other := ModelIdentity{Architecture: "llama", Layers: 22, Heads: 32, HeadDim: 64, File: "tinyllama.gguf"}
	err := p.CheckModel(other)
	if !errors.Is(err, ErrModelMismatch) {
		t.Fatalf("shape mismatch: %v", err)
	}
	for _, w := range []string{"llama, 3 layers x 4 heads x d_h 32", "llama, 22 layers x 32 heads x d_h 64", "tinyllama.gguf", "re-run `asmr probe` on this model"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("shape mismatch error does not contain %q: %v", w, err)
		}
	}
	for _, m := range []ModelIdentity{
		{Architecture: "llama", Layers: 3, Heads: 4, HeadDim: 16},
		{Architecture: "llama", Layers: 3, Heads: 8, HeadDim: 32},
		{Architecture: "qwen2", Layers: 3, Heads: 4, HeadDim: 32},
	} {
		if err := p.CheckModel(m); !errors.Is(err, ErrModelMismatch) {
			t.Errorf("%v: %v", m, err)
		}
	}
	// Unknown architecture on one side compares shapes only.
	if err := p.CheckModel(ModelIdentity{Layers: 3, Heads: 4, HeadDim: 32}); err != nil {
		t.Errorf("no architecture: %v", err)
	}

	err = p.CheckModel(ModelIdentity{Architecture: "llama", Layers: 3, Heads: 4, HeadDim: 32, Fingerprint: fpB, File: "q4.gguf"})
	if !errors.Is(err, ErrFingerprintMismatch) || errors.Is(err, ErrModelMismatch) {
		t.Fatalf("fingerprint mismatch: %v", err)
	}
	for _, w := range []string{"another GGUF", fpA, fpB, "tiny.gguf", "q4.gguf", "re-run `asmr probe` on this model"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("fingerprint mismatch error does not contain %q: %v", w, err)
		}
	}
}
