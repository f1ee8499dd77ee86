// Package gemmatest finds the real Gemma 3 270M GGUF for tests that need a
// real model. `make model` fetches it into .cache/models (see
// internal/modelfetch), and make exports its path as ASMR_GEMMA_GGUF to
// every test it runs.
package gemmatest

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvPath names the GGUF file; make sets it for `make test`.
const EnvPath = "ASMR_GEMMA_GGUF"

// FileName is the file `make model` writes into .cache/models.
const FileName = "gemma-3-270m-q4_k_m.gguf"

// Path returns the Gemma GGUF's path. When ASMR_GEMMA_GGUF is set the file
// must exist (the test fails otherwise, so that `make test` cannot skip
// the real-model tests silently). When it is unset, the repository's
// .cache/models is tried, and the test is skipped with the command that
// fetches the file if it is not there.
func Path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvPath); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v; run `make model` to fetch Gemma 3 270M", EnvPath, p, err)
		}
		return p
	}
	if root := repoRoot(); root != "" {
		p := filepath.Join(root, ".cache", "models", FileName)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("needs the Gemma 3 270M GGUF (%s): run `make model` (make test does), or set %s", FileName, EnvPath)
	return ""
}

// repoRoot is the nearest folder above the working directory with a go.mod.
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
