package steering

import (
	"context"
	"os"
	"testing"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// The device-buffer path (copy out, add, copy back) gives exactly what the
// in-place host path gives. Forced on host buffers, it runs on any machine.
func TestStagingPathMatchesHostPath(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	m := load(t, writeModel(t, spec, nil), Options{})
	sh := m.Shape()
	iv := randomIntervention(sh, []Head{{0, 0}, {1, 2}, {2, 1}}, 1, 9)
	toks, _ := m.Tokenize(testPrompt)
	ctx := context.Background()
	for _, scope := range []config.TokenScope{config.TokenScopeAll, config.TokenScopeGeneration} {
		st := &Steer{Intervention: iv, Scope: scope}
		host, err := m.Evaluate(ctx, toks, st)
		if err != nil {
			t.Fatal(err)
		}
		if m.deviceTensors() != 0 {
			t.Fatal("host buffers took the staging path")
		}
		m.forceStaging(true)
		staged, err := m.Evaluate(ctx, toks, st)
		m.forceStaging(false)
		if err != nil {
			t.Fatal(err)
		}
		if m.deviceTensors() == 0 {
			t.Fatal("forced staging did not take the staging path")
		}
		for i := range host {
			if !identical(host[i], staged[i]) {
				t.Fatalf("scope %s: position %d differs between host and staging paths", scope, i)
			}
		}
	}
}

// On a machine with a GPU backend (OLLAMA_LIBRARY_PATH pointing at Ollama's
// CUDA or ROCm libraries), steering a fully offloaded model goes through
// device buffers and still equals the baked model.
func TestSteeringOnGPU(t *testing.T) {
	if os.Getenv("OLLAMA_LIBRARY_PATH") == "" {
		t.Skip("no GPU backend: set OLLAMA_LIBRARY_PATH to Ollama's lib/ollama folder on a GPU machine")
	}
	spec := tinySpec(testmodel.F32)
	w := testmodel.Random(spec)
	gpu := load(t, writeModel(t, spec, w), Options{GPULayers: -1, KVCacheType: config.KVCacheF32, FlashAttention: config.FlashAttentionOff})
	cpu := load(t, writeModel(t, spec, w), Options{KVCacheType: config.KVCacheF32, FlashAttention: config.FlashAttentionOff})
	sh := gpu.Shape()
	iv := randomIntervention(sh, allHeads(sh), 0.5, 4)
	toks, _ := gpu.Tokenize(testPrompt)
	st := &Steer{Intervention: iv, Scope: config.TokenScopeAll}
	g, err := gpu.Evaluate(context.Background(), toks, st)
	if err != nil {
		t.Fatal(err)
	}
	if gpu.deviceTensors() == 0 {
		t.Skip("the model stayed in host memory: no GPU backend was loaded")
	}
	c, err := cpu.Evaluate(context.Background(), toks, st)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := cpu.Evaluate(context.Background(), toks, nil)
	d, moved := maxAbsDiff(g, c), maxAbsDiff(c, plain)
	t.Logf("GPU steered vs CPU steered: max diff %.3g (steering moved logits by %.3g)", d, moved)
	if d > 1e-2*moved {
		t.Fatalf("GPU steering differs from CPU steering by %g", d)
	}
}
