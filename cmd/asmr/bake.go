package main

import (
	"context"
	"fmt"

	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/steering"
)

// runBake writes a GGUF whose attn_output.bias carries the profile's
// steering, for stock Ollama or llama.cpp on any backend.
func runBake(ctx context.Context, args []string) error {
	fs := newFlags("bake", "-model m.gguf -profile p.yaml -alpha-ac A -alpha-cl B -o out.gguf")
	model := fs.String("model", "", "source GGUF file (required)")
	profilePath := fs.String("profile", "", "steering profile (required)")
	alphaAC := fs.Float64("alpha-ac", 0, "steering strength for AC (accuracy in content)")
	alphaCL := fs.Float64("alpha-cl", 0, "steering strength for CL (coherence in language)")
	topK := fs.Int("top-k", 0, "use at most K heads per attribute (0 = all in the profile)")
	dir := fs.String("direction", "probe", "direction: probe, mass-mean or language (CL along LANG.<-language>'s mass-mean directions, AC along AC's)")
	lang := fs.String("language", "", "the answer language (ISO 639-1 code) that -direction language steers toward")
	out := fs.String("o", "", "GGUF to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" || *profilePath == "" || *out == "" {
		return fmt.Errorf("-model, -profile and -o are required (see asmr bake -h)")
	}
	kind, err := profile.ParseDirectionKind(*dir)
	if err != nil {
		return fmt.Errorf("-direction: %w", err)
	}
	if kind == profile.DirectionLanguage && *lang == "" {
		return fmt.Errorf("-direction language needs -language (the answer language's ISO 639-1 code, e.g. de)")
	}
	p, err := profile.Load(*profilePath)
	if err != nil {
		return err
	}
	id, err := profile.ModelFingerprint(*model)
	if err != nil {
		return err
	}
	if err := p.CheckModel(id); err != nil {
		return err
	}
	iv, warning, err := steering.ProfileIntervention(p, kind, *lang, *alphaAC, *alphaCL, *topK)
	if err != nil {
		return err
	}
	if warning != "" {
		fmt.Printf("warning: profile %s: %s\n", *profilePath, warning)
	}
	dirNote := string(kind)
	if kind == profile.DirectionLanguage {
		dirNote += " " + *lang
	}
	note := fmt.Sprintf("profile %s, alphaAC %g, alphaCL %g, direction %s, topK %d.", *profilePath, *alphaAC, *alphaCL, dirNote, *topK)
	res, err := steering.Bake(*model, *out, iv, note)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d heads over %d layers baked into attn_output.bias (%d biases added, %d shifted)\n",
		*out, res.Heads, res.Layers, res.BiasesAdded, res.BiasesShifted)
	fmt.Println("note: a baked model shifts EVERY token, prompt included (token scope \"all\"); the module's default scope \"generation\" steers only the last prompt token and the generated ones.")
	return nil
}
