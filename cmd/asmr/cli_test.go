package main

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/steering"
)

// capture runs one asmr command in-process and returns what it printed.
func capture(t *testing.T, run func(context.Context, []string) error, args ...string) string {
	t.Helper()
	r, w, _ := os.Pipe()
	old := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() {
		b := make([]byte, 0, 1<<16)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				done <- b
				return
			}
		}
	}()
	err := run(context.Background(), args)
	w.Close()
	os.Stdout = old
	out := string(<-done)
	if err != nil {
		t.Fatalf("asmr %v: %v\n%s", args, err, out)
	}
	return out
}

// The whole probing CLI on the shipped data with a generated model:
// gen-model, probe (AC and CL, heatmaps, CSVs, progress, top heads),
// profile show, profile merge and bake.
func TestProbeCLIEndToEnd(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "tiny.gguf")
	capture(t, runGenModel, "-o", model, "-shape", "tiny", "-seed", "3")

	// Fewer CL pairs than the paper's 3800+3800 keep the test short; the
	// sentences are the shipped ones.
	out := capture(t, runProbe, "-model", model, "-o", filepath.Join(dir, "both.yaml"), "-ctx", "1024",
		"-same", "300", "-different", "300", "-top-k", "6", "-quiet")
	for _, want := range []string{"AC: 50 questions", "CL: 20 sentences x 10 languages", "rank  layer  head", "wrote"} {
		if !strings.Contains(out, want) {
			t.Errorf("probe output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"both-AC-heatmap.png", "both-CL-heatmap.png"} {
		fh, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(fh); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		fh.Close()
	}
	csv, err := os.ReadFile(filepath.Join(dir, "both-CL-accuracy.csv"))
	if err != nil || strings.Count(string(csv), "\n") != 1+3*4 {
		t.Fatalf("CL csv (%v):\n%s", err, csv)
	}
	p, err := profile.Load(filepath.Join(dir, "both.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Attributes["AC"].Heads) != 6 || len(p.Attributes["CL"].Heads) != 6 {
		t.Fatalf("profile heads: AC %d, CL %d, want 6 each", len(p.Attributes["AC"].Heads), len(p.Attributes["CL"].Heads))
	}

	show := capture(t, runProfile, "show", filepath.Join(dir, "both.yaml"))
	if !strings.Contains(show, "CL") || !strings.Contains(show, "AC") {
		t.Fatalf("profile show:\n%s", show)
	}

	// Split, then merge back.
	ac, cl := *p, *p
	ac.Attributes = map[string]*profile.Attribute{"AC": p.Attributes["AC"]}
	cl.Attributes = map[string]*profile.Attribute{"CL": p.Attributes["CL"]}
	if err := ac.Save(filepath.Join(dir, "ac.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := cl.Save(filepath.Join(dir, "cl.yaml")); err != nil {
		t.Fatal(err)
	}
	capture(t, runProfile, "merge", "-o", filepath.Join(dir, "merged.yaml"), filepath.Join(dir, "ac.yaml"), filepath.Join(dir, "cl.yaml"))
	merged, err := profile.Load(filepath.Join(dir, "merged.yaml"))
	if err != nil || len(merged.Attributes) != 2 {
		t.Fatalf("merged profile: %v, %d attributes", err, len(merged.Attributes))
	}

	baked := filepath.Join(dir, "baked.gguf")
	out = capture(t, runBake, "-model", model, "-profile", filepath.Join(dir, "merged.yaml"), "-alpha-ac", "4", "-alpha-cl", "6", "-o", baked)
	if !strings.Contains(out, "EVERY token") {
		t.Fatalf("bake does not state its token scope:\n%s", out)
	}
	// The baked file runs unsteered as the original runs steered, scope all.
	m, err := steering.Load(model, steering.Options{Threads: 2, ContextSize: 256, KVCacheType: config.KVCacheF32, FlashAttention: config.FlashAttentionOff})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	b, err := steering.Load(baked, steering.Options{Threads: 2, ContextSize: 256, KVCacheType: config.KVCacheF32, FlashAttention: config.FlashAttentionOff})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	iv, _, err := steering.ProfileIntervention(merged, profile.DirectionProbe, "", 4, 6, 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Generate(context.Background(), "Wie spät ist es?", steering.Params{MaxTokens: 16, Steer: &steering.Steer{Intervention: iv, Scope: config.TokenScopeAll}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Generate(context.Background(), "Wie spät ist es?", steering.Params{MaxTokens: 16})
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != want.Text {
		t.Fatalf("baked model answered %q, steered original %q", got.Text, want.Text)
	}
}
