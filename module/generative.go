package module

import (
	"context"
	"errors"
	"fmt"
	"maps"
	rdebug "runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/weaviate/weaviate/entities/modulecapabilities"
	"github.com/weaviate/weaviate/entities/moduletools"
	"github.com/weaviate/weaviate/usecases/modulecomponents/generative"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/module/propertyorder"
	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/rag"
)

// generativeClient holds the module's models, profiles and language
// detector, and answers Weaviate's generate requests. It implements
// modulecapabilities.GenerativeClient.
type generativeClient struct {
	// grouped holds the metadata of each running query's groupedResult,
	// keyed by the Done channel of the query's context, for its
	// singleResults: Weaviate writes the first object's single metadata
	// over the grouped one (see withGrouped).
	grouped  sync.Map
	ops      *config.Ops
	logger   logrus.FieldLogger
	models   map[string]*modelEntry
	detector *rag.Detector
}

var _ modulecapabilities.GenerativeClient = (*generativeClient)(nil)

// newGenerativeClient sets up every configured model (without loading it),
// checks each profile that names its model against that model's GGUF, and
// starts the background loads and the language detector's warm-up.
//
// A profile that does not fit its declared model is a start-up error, like
// any other inconsistency of the ops file. A model file that is missing or
// unreadable is not: it is logged, and requests that use the model get the
// error, so that one bad file does not take Weaviate down with it.
func newGenerativeClient(ops *config.Ops, logger logrus.FieldLogger) (*generativeClient, error) {
	g := &generativeClient{
		ops:      ops,
		logger:   logger,
		models:   map[string]*modelEntry{},
		detector: rag.OpsDetector(ops),
	}
	queue := ops.Limits.EffectiveQueueLength()
	for _, name := range ops.ModelNames() {
		g.models[name] = newModelEntry(name, ops.Models[name], queue, logger)
	}
	var problems []string
	for _, name := range ops.ProfileNames() {
		pc := ops.Profiles[name]
		if pc.Model == "" || pc.Profile == nil {
			continue
		}
		id, err := g.models[pc.Model].Identity()
		if err != nil {
			logger.WithError(err).WithField("profile", name).Warn("generative-asmr: cannot check the profile against its model until the model's file is readable")
			continue
		}
		if err := pc.Profile.CheckModel(id); err != nil {
			problems = append(problems, fmt.Sprintf("profiles.%s (model %s): %v", name, pc.Model, err))
		}
	}
	if len(problems) > 0 {
		return nil, config.OpsError(ops.Source, problems)
	}
	if len(g.models) == 0 {
		logger.Warnf("generative-asmr: no models configured (%s); generate requests will fail until %s names a file with models, or %s is set",
			ops.Source, config.EnvConfig, config.EnvModelPath)
	}
	for _, name := range ops.ModelNames() {
		if ops.Models[name].PreloadEnabled() {
			g.models[name].Preload()
		}
	}
	g.detector.WarmUp()
	logger.WithFields(logrus.Fields{
		"config": ops.Source, "models": ops.ModelNames(), "profiles": ops.ProfileNames(),
		"default_model": ops.DefaultModel(), "languages": len(ops.Languages),
	}).Info("generative-asmr: initialised")
	return g, nil
}

// Close frees every model once its running generations end.
func (g *generativeClient) Close() {
	for _, e := range g.models {
		e.Close()
	}
}

// request is one resolved generate call.
type request struct {
	opts    config.Resolved
	entry   *modelEntry
	profile *profile.Profile
}

// classOptions reads the class's moduleConfig {"generative-asmr": {...}}.
// cfg is nil for cross-class queries (Explore); then only the ops defaults
// apply.
func classOptions(ops *config.Ops, cfg moduletools.ClassConfig) (config.Options, error) {
	if cfg == nil {
		return config.Options{}, nil
	}
	return ops.OptionsFromMap(cfg.ClassByModuleName(Name), "class moduleConfig")
}

// resolve merges ops defaults, the class's moduleConfig and the query's
// options, and checks the result against the ops file and, for steering,
// the model's identity. The class layer is checked on its own first, so
// that a broken class is blamed on the class and not on the query.
func (g *generativeClient) resolve(cfg moduletools.ClassConfig, requestParams any, grouped bool) (*request, error) {
	class, err := classOptions(g.ops, cfg)
	if err != nil {
		return nil, err
	}
	query, err := paramsFrom(requestParams, grouped)
	if err != nil {
		return nil, err
	}
	opts, err := g.ops.Resolve("class moduleConfig", class)
	if err != nil {
		return nil, err
	}
	if !query.IsZero() {
		if opts, err = g.ops.Resolve("query "+ProviderName+" options", class, query); err != nil {
			return nil, err
		}
	}
	req := &request{opts: opts, entry: g.models[opts.Model]}
	if opts.Steered() {
		req.profile = g.ops.Profiles[opts.Profile].Profile
		if err := g.checkProfile(opts.Profile, req.profile, req.entry); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// checkProfile tells whether the profile may steer the model: same shape
// and, when both record one, the same GGUF fingerprint.
func (g *generativeClient) checkProfile(name string, p *profile.Profile, e *modelEntry) error {
	id, err := e.Identity()
	if err != nil {
		return err
	}
	if err := p.CheckModel(id); err != nil {
		return fmt.Errorf("profile %q cannot steer model %q: %w", name, e.name, err)
	}
	return nil
}

// GenerateSingleResult answers generate(singleResult: {prompt}) for one
// object: the prompt with the object's {property} references filled in
// exactly as Weaviate's own modules fill them.
func (g *generativeClient) GenerateSingleResult(ctx context.Context, properties *modulecapabilities.GenerateProperties,
	prompt string, requestParams any, debug bool, cfg moduletools.ClassConfig,
) (resp *modulecapabilities.GenerateResponse, err error) {
	defer g.recoverInto(&resp, &err)
	start := time.Now()
	req, err := g.resolve(cfg, requestParams, false)
	if err != nil {
		return nil, wrap(err)
	}
	if err := refsInPrompt(cfg, prompt); err != nil {
		return nil, wrap(err)
	}
	filled, err := generative.MakeSinglePrompt(generative.Text(properties), prompt)
	if err != nil {
		return nil, wrap(err)
	}
	return g.run(ctx, req, job{
		question: questionText(prompt, filled),
		filled:   filled,
		build:    rag.SingleOf(filled),
	}, debug, start)
}

// GenerateAllResults answers generate(groupedResult: {task}) over every
// retrieved object: a RAG prompt with the task as the question and the
// objects as passages, best ranked first, as many as fit.
func (g *generativeClient) GenerateAllResults(ctx context.Context, properties []*modulecapabilities.GenerateProperties,
	task string, requestParams any, debug bool, cfg moduletools.ClassConfig,
) (resp *modulecapabilities.GenerateResponse, err error) {
	defer g.recoverInto(&resp, &err)
	start := time.Now()
	req, err := g.resolve(cfg, requestParams, true)
	if err != nil {
		return nil, wrap(err)
	}
	question := fillTask(generative.Texts(properties), task)
	passages := passageTexts(properties, propertyorder.GroupedProperties(ctx))
	maxPassages := g.ops.Limits.EffectiveMaxPassages()
	return g.run(ctx, req, job{
		question: questionText(task, question),
		filled:   question,
		grouped:  true,
		build:    rag.GroupedOf(req.opts.PromptTemplate, question, passages, maxPassages),
	}, debug, start)
}

// recoverInto turns a panic of this module's Go code into the result's
// error, so that a bug here costs one result, not the Weaviate process.
// (A crash inside llama.cpp cannot be caught this way; inputs are checked
// before every call into it instead.)
func (g *generativeClient) recoverInto(resp **modulecapabilities.GenerateResponse, err *error) {
	if r := recover(); r != nil {
		g.logger.WithField("panic", fmt.Sprint(r)).WithField("stack", string(rdebug.Stack())).Error("generative-asmr: internal error")
		*resp, *err = nil, wrap(fmt.Errorf("internal error: %v", r))
	}
}

// job is what differs between single and grouped results.
type job struct {
	// question is the text whose language is detected; filled is the
	// prompt or task with its {property} references filled in, tried when
	// question alone is too short to tell.
	question, filled string
	grouped          bool
	build            rag.PromptFunc
}

// wrap names the module in an error that Weaviate shows as a result's
// "error", so that a user knows which component to look at.
func wrap(err error) error {
	return resultError{err}
}

// resultError is the error of one generate result: "generative-asmr: "
// and its cause, which errors.Is and errors.As still reach.
//
// Its Error method has a value receiver on purpose. Weaviate's GraphQL
// prints _additional.generate.error with the String scalar of
// tailor-inc/graphql, which dereferences a pointer and formats what it
// points to with %v: an error whose Error method needs a pointer, such as
// fmt.Errorf's, came out as "{generative-asmr: ... 0xc000123456}". A value
// that implements error itself prints as its message.
type resultError struct{ err error }

func (e resultError) Error() string { return Name + ": " + e.err.Error() }
func (e resultError) Unwrap() error { return e.err }

// run does everything after the options are known: admission, the
// timeout, the model, then rag.Answer (language, budget, prompt, steering,
// generation), its errors wrapped and its metadata reported. Inputs are
// validated before each cgo call, because a crash in llama.cpp cannot be
// recovered and would take Weaviate down.
func (g *generativeClient) run(parent context.Context, req *request, j job, debug bool, start time.Time) (*modulecapabilities.GenerateResponse, error) {
	opts := req.opts
	release, err := req.entry.admitRequest()
	if err != nil {
		return nil, wrap(err)
	}
	defer release()

	timeout := g.ops.Limits.EffectiveRequestTimeout()
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	explain := func(err error) error {
		switch {
		case parent.Err() != nil:
			return wrap(fmt.Errorf("request cancelled by the client: %w", err))
		case errors.Is(err, context.DeadlineExceeded):
			return wrap(fmt.Errorf("request took longer than %v (limits.requestTimeout, %s): %w", timeout, config.EnvRequestTimeout, err))
		}
		return wrap(err)
	}

	m, err := req.entry.Get(ctx)
	if err != nil {
		return nil, explain(err)
	}

	ans, err := rag.Answer(ctx, m, rag.Request{
		Model:    req.entry.name,
		Prompt:   j.build,
		Question: j.question, Filled: j.filled, Detector: g.detector,
		AnswerLanguage: opts.AnswerLanguage,
		MaxTokens:      opts.MaxTokens, MaxPromptTokens: g.ops.Limits.MaxPromptTokens,
		Temperature: opts.Temperature, Seed: opts.Seed, Stop: req.entry.cfg.Stop,
		Profile: req.profile, Steering: rag.SteeringOf(opts),
	})
	var genErr *rag.GenerateError
	switch {
	case errors.As(err, &genErr):
		entry := g.logger.WithError(genErr.Err).WithField("model", req.entry.name)
		if ctx.Err() != nil {
			entry.Debug("generative-asmr: generation cancelled or timed out")
		} else {
			entry.Warn("generative-asmr: generation failed")
		}
		return nil, explain(err)
	case err != nil:
		return nil, wrap(err)
	}
	ans.Meta.Duration = time.Since(start)
	meta := ans.Meta.Map()
	p := ans.Prompt
	g.logger.WithFields(logrus.Fields{
		"model": req.entry.name, "steered_heads": ans.Meta.SteeredHeads, "language": meta[metaLanguage],
		"prompt_tokens": ans.Meta.PromptTokens, "completion_tokens": ans.Meta.CompletionTokens,
		"passages_used": p.PassagesUsed, "passages_cut": p.PassagesCut, "took_ms": meta[metaDurationMs],
	}).Debug("generative-asmr: generated")

	// Byte-level tokens can end a multi-byte character early or emit a
	// stray byte; gRPC replies are protobuf, whose strings must be valid
	// UTF-8, so an invalid byte would fail the whole query's reply.
	text := strings.ToValidUTF8(ans.Text, "\uFFFD")
	out := &modulecapabilities.GenerateResponse{
		Result: &text,
		Params: map[string]any{ProviderName: meta},
	}
	if debug {
		out.Debug = &modulecapabilities.GenerateDebugInformation{Prompt: p.Formatted}
	}
	g.withGrouped(parent, j.grouped, meta)
	return out, nil
}

// withGrouped makes the grouped answer's metadata readable when a query
// asks for both halves. Weaviate answers the groupedResult first and keeps
// its metadata on the first object, then writes each singleResult's
// metadata over it. So the grouped metadata is also kept under "grouped":
// in the grouped answer's own metadata, and in every single answer of the
// same query, where the first object's survives.
//
// The query is recognised by its context's Done channel, not by the
// context itself: the groupedResult's context carries the properties'
// order (module/propertyorder), a context.WithValue of the query's, which
// shares its Done channel but is another value.
func (g *generativeClient) withGrouped(ctx context.Context, grouped bool, meta map[string]any) {
	done := ctx.Done()
	if done == nil { // a context that never ends would never be forgotten
		return
	}
	if grouped {
		own := maps.Clone(meta)
		meta[metaGrouped] = own
		g.grouped.Store(done, own)
		context.AfterFunc(ctx, func() { g.grouped.Delete(done) })
		return
	}
	if gm, ok := g.grouped.Load(done); ok {
		meta[metaGrouped] = gm
	}
}
