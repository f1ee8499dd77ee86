package steering

import (
	"context"
	"testing"

	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// TestBindingLayout guards the unsafe reads of the ollama binding's
// private fields (cgo.go): an ollama version that changes its structs
// fails here, not at the first load.
func TestBindingLayout(t *testing.T) {
	if err := checkParamsLayout(); err != nil {
		t.Fatal(err)
	}
	spec := tinySpec(testmodel.F32)
	m := load(t, writeModel(t, spec, nil), Options{ContextSize: 128})
	s, err := m.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer m.release(s)
	if err := checkContextLayout(s.ctx, m.model, 128); err != nil {
		t.Fatal(err)
	}
}
