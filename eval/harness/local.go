package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/steering"
)

// localReader answers in-process over given passages: the module's prompt
// (eval.FillTemplate), the model's chat template, and steering from a
// profile file, as the module would do it for a groupedResult. A prompt
// over the context budget (context - max tokens) loses its worst-ranked
// passages until it fits (the module also shortens the last one).
type localReader struct {
	m          *steering.Model
	id         string
	profile    *profile.Profile
	profileSum string
	det        *eval.LangDetector

	mu  sync.Mutex
	ivs map[eval.Steering]steering.Intervention
}

func newLocalReader(cfg Config, langs []string) (*localReader, error) {
	opts := cfg.ModelOptions
	opts.Slots = max(1, cfg.Parallel)
	m, err := steering.Load(cfg.Model, opts)
	if err != nil {
		return nil, err
	}
	r := &localReader{m: m, ivs: map[eval.Steering]steering.Intervention{}}
	id, err := profile.ModelFingerprint(m.Path())
	if err != nil {
		m.Close()
		return nil, err
	}
	r.id = id.Fingerprint
	if cfg.Profile != "" {
		data, err := os.ReadFile(cfg.Profile)
		if err != nil {
			m.Close()
			return nil, err
		}
		if r.profile, err = profile.Parse(data); err != nil {
			m.Close()
			return nil, fmt.Errorf("-profile %s: %w", cfg.Profile, err)
		}
		if err := r.profile.CheckModel(id); err != nil {
			m.Close()
			return nil, fmt.Errorf("-profile %s does not fit -model %s: %w", cfg.Profile, cfg.Model, err)
		}
		sum := sha256.Sum256(data)
		r.profileSum = hex.EncodeToString(sum[:8])
	}
	if cfg.AnswerLanguage == "auto" {
		if r.det, err = eval.NewLangDetector(langs...); err != nil {
			m.Close()
			return nil, err
		}
	}
	return r, nil
}

func (r *localReader) Close() { r.m.Close() }

// Identity implements eval.Reader: the model's fingerprint, the profile's
// content and the context size (which decides how many passages fit).
func (r *localReader) Identity() map[string]any {
	return map[string]any{"model": r.id, "profile": r.profileSum, "context": r.m.ContextSize()}
}

func (r *localReader) intervention(st eval.Steering) (steering.Intervention, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if iv, ok := r.ivs[st]; ok {
		return iv, nil
	}
	if r.profile == nil {
		return nil, errors.New("steering needs a profile (-profile)")
	}
	kind, err := profile.ParseDirectionKind(st.Direction)
	if err != nil {
		return nil, err
	}
	iv, err := steering.ProfileIntervention(r.profile, kind, st.AlphaAC, st.AlphaCL, st.TopK)
	if err != nil {
		return nil, err
	}
	if err := iv.Validate(r.m.Shape()); err != nil {
		return nil, err
	}
	r.ivs[st] = iv
	return iv, nil
}

// Read implements eval.Reader.
func (r *localReader) Read(ctx context.Context, req eval.Request) (eval.Response, error) {
	lang := req.Language
	if lang == "" && r.det != nil {
		lang = r.det.Detect(req.Item.Question)
	}
	language := eval.LanguageName(lang)
	budget := r.m.ContextSize() - req.MaxTokens
	used := len(req.Passages)
	var system, user string
	for {
		system, user = eval.FillTemplate(req.Template, req.Item.Question, language, req.Passages[:used])
		toks, _, err := r.m.TokenizePrompt(system, user)
		if err != nil {
			return eval.Response{}, err
		}
		if len(toks) <= budget {
			break
		}
		if used == 0 {
			return eval.Response{}, fmt.Errorf("the question and template alone have %d tokens, over the budget of %d (context %d - max tokens %d): raise -ctx",
				len(toks), budget, r.m.ContextSize(), req.MaxTokens)
		}
		used--
	}
	p := steering.Params{System: system, Temperature: float32(req.Temperature), MaxTokens: req.MaxTokens, Seed: uint32(req.Seed)}
	if st := req.System.Steer; st.Active() {
		iv, err := r.intervention(*st)
		if err != nil {
			return eval.Response{}, err
		}
		scope, err := config.ParseTokenScope(st.Scope)
		if err != nil {
			return eval.Response{}, err
		}
		p.Steer = &steering.Steer{Intervention: iv, Scope: scope}
	}
	res, err := r.m.Generate(ctx, user, p)
	if err != nil {
		return eval.Response{}, err
	}
	return eval.Response{
		Text: res.Text, Passages: req.Passages, PassagesUsed: used, SteeredHeads: res.SteeredHeads,
		PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens, StopReason: string(res.StopReason),
	}, nil
}
