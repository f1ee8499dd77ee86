package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"

	"github.com/pemistahl/lingua-go"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/rag"
	"github.com/asmr-search/generative-asmr/steering"
)

// InProcessReader is the eval.Reader of -contexts: it answers in-process
// over given passages through the module's own request path (rag.Answer):
// the same prompt template filling and fitting (limits.maxPassages and
// maxPromptTokens included, a passage shortened to fit), the same language
// detection and the same steering resolution as the module's
// groupedResult, so that an in-process table and one made through the
// server read the same prompts. It is safe for concurrent use (up to
// Config.Parallel generations at once).
type InProcessReader struct {
	m           *steering.Model
	name        string // the -model flag, for errors
	id          string
	profile     *profile.Profile
	profileName string
	profileSum  string
	det         *rag.Detector
	limits      config.Limits
	// stop and chatTemplate are -stop and -chat-template.
	stop         []string
	chatTemplate string
	promptCache  bool
}

// NewInProcessReader loads cfg.Model with cfg.ModelOptions (a slot per
// cfg.Parallel), and cfg.Profile checked against it; with
// cfg.AnswerLanguage "auto" it detects the question's language among the
// module's default languages and langs (the evaluated ones). Close frees
// the model.
func NewInProcessReader(cfg Config, langs []string) (*InProcessReader, error) {
	opts := cfg.ModelOptions
	opts.Slots = max(1, cfg.Parallel)
	m, err := steering.Load(cfg.Model, opts)
	if err != nil {
		return nil, err
	}
	r, err := setUpReader(m, cfg, langs)
	if err != nil {
		m.Close()
		return nil, err
	}
	return r, nil
}

// setUpReader makes the reader of a loaded model: its fingerprint, the
// profile checked against it, and the detector of -answer-language auto.
func setUpReader(m *steering.Model, cfg Config, langs []string) (*InProcessReader, error) {
	r := &InProcessReader{m: m, name: cfg.Model, limits: config.Limits{MaxPassages: cfg.MaxPassages, MaxPromptTokens: cfg.MaxPromptTokens},
		stop: cfg.Stop, chatTemplate: cfg.ModelOptions.ChatTemplate, promptCache: cfg.ModelOptions.PromptCache}
	id, err := profile.ModelFingerprint(m.Path())
	if err != nil {
		return nil, err
	}
	r.id = id.Fingerprint
	if cfg.Profile != "" {
		data, err := os.ReadFile(cfg.Profile)
		if err != nil {
			return nil, err
		}
		if r.profile, err = profile.Parse(data); err != nil {
			return nil, fmt.Errorf("-profile %s: %w", cfg.Profile, err)
		}
		if err := r.profile.CheckModel(id); err != nil {
			return nil, fmt.Errorf("-profile %s does not fit -model %s: %w", cfg.Profile, cfg.Model, err)
		}
		r.profileName = cfg.Profile
		sum := sha256.Sum256(data)
		r.profileSum = hex.EncodeToString(sum[:8])
	}
	if cfg.AnswerLanguage == "auto" {
		r.det = detectorFor(langs)
	}
	return r, nil
}

// detectorFor is the module's detector with its default languages (an ops
// file that names none), plus the evaluated languages it lacks.
func detectorFor(langs []string) *rag.Detector {
	all := slices.Clone(config.DefaultLanguages)
	have := map[lingua.Language]bool{}
	for _, s := range all {
		if l, err := config.ParseLanguage(s); err == nil {
			have[l] = true
		}
	}
	for _, code := range langs {
		if l, ok := eval.CodeLanguage(code); ok && !have[l] {
			have[l] = true
			all = append(all, config.LanguageCode(l))
		}
	}
	return rag.NewDetector(all, false)
}

// Close frees the model.
func (r *InProcessReader) Close() { r.m.Close() }

// Identity implements eval.Reader: the model's fingerprint, the profile's
// content, the context size and the passage limits (which decide how many
// passages fit).
func (r *InProcessReader) Identity() map[string]any {
	id := map[string]any{"model": r.id, "profile": r.profileSum, "context": r.m.ContextSize(),
		"maxPassages": r.limits.EffectiveMaxPassages(), "maxPromptTokens": r.limits.MaxPromptTokens}
	// Settings that change answers and were added later join the identity
	// only when set, so that earlier results stores still resume.
	if len(r.stop) > 0 {
		id["stop"] = r.stop
	}
	if r.chatTemplate != "" {
		id["chatTemplate"] = r.chatTemplate
	}
	if r.promptCache {
		id["promptCache"] = true
	}
	return id
}

// request is the rag request of an eval request, as the module makes it
// for a groupedResult: the item's question as the task, the given
// passages, the item's language fixed (-answer-language item) or the
// question's detected.
func (r *InProcessReader) request(req eval.Request) (rag.Request, error) {
	seed := uint32(req.Seed)
	q := req.Item.Question
	out := rag.Request{
		Model:    r.name,
		Prompt:   rag.GroupedOf(req.Template, q, req.Passages, r.limits.EffectiveMaxPassages()),
		Question: q, Filled: q,
		MaxTokens: req.MaxTokens, MaxPromptTokens: r.limits.MaxPromptTokens,
		Temperature: req.Temperature, Seed: &seed, Stop: r.stop,
	}
	if req.Language != "" {
		if l, ok := eval.CodeLanguage(req.Language); ok {
			out.AnswerLanguage = &l
		}
	} else {
		out.Detector = r.det
	}
	if st := req.System.Steer; st.Active() {
		if r.profile == nil {
			return out, fmt.Errorf("steering needs a profile (-profile)")
		}
		kind, err := profile.ParseDirectionKind(st.Direction)
		if err != nil {
			return out, err
		}
		scope, err := config.ParseTokenScope(st.Scope)
		if err != nil {
			return out, err
		}
		out.Profile = r.profile
		out.Steering = rag.Steering{Profile: r.profileName, Direction: kind, AlphaAC: st.AlphaAC, AlphaCL: st.AlphaCL, TopK: st.TopK, Scope: scope}
	}
	return out, nil
}

// Prepare is the prompt Read would generate from for req (rag.Prepare),
// without generating.
func (r *InProcessReader) Prepare(req eval.Request) (*rag.Prepared, error) {
	rr, err := r.request(req)
	if err != nil {
		return nil, err
	}
	return rag.Prepare(r.m, rr)
}

// Read implements eval.Reader.
func (r *InProcessReader) Read(ctx context.Context, req eval.Request) (eval.Response, error) {
	rr, err := r.request(req)
	if err != nil {
		return eval.Response{}, err
	}
	ans, err := rag.Answer(ctx, r.m, rr)
	if err != nil {
		return eval.Response{}, err
	}
	md := ans.Meta
	return eval.Response{
		Text: ans.Text, Passages: req.Passages, PassagesUsed: md.PassagesUsed, SteeredHeads: md.SteeredHeads,
		PromptTokens: md.PromptTokens, CompletionTokens: md.CompletionTokens, StopReason: string(md.StopReason),
	}, nil
}
