// Package module is the Weaviate glue: the generative-asmr module that
// answers generate(singleResult / groupedResult) with the steered,
// in-process reader. Nothing imports it but the weaviate-asmr server, which
// registers it in Weaviate's module provider.
//
// Configuration comes in three layers with the same option names
// (config.Options): the ops file named by ASMR_CONFIG (models, profiles,
// defaults, limits, languages), a class's moduleConfig
// {"generative-asmr": {...}}, and per query
// generate(singleResult: {prompt: "...", asmr: {alphaCL: 10}}).
package module

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/sirupsen/logrus"
	"github.com/weaviate/weaviate/entities/models"
	"github.com/weaviate/weaviate/entities/modulecapabilities"
	"github.com/weaviate/weaviate/entities/moduletools"
	"github.com/weaviate/weaviate/entities/schema"

	"github.com/asmr-search/generative-asmr/config"
)

// Name is the module's name in ENABLE_MODULES and in a class's moduleConfig.
const Name = "generative-asmr"

// Module is the generative-asmr Weaviate module.
type Module struct {
	generative *generativeClient
	props      map[string]modulecapabilities.GenerativeProperty
}

// New returns an uninitialised module; Weaviate calls Init at start-up.
func New() *Module { return &Module{} }

func (m *Module) Name() string { return Name }

func (m *Module) Type() modulecapabilities.ModuleType {
	return modulecapabilities.Text2TextGenerative
}

// Init reads the ops configuration (ASMR_CONFIG and the env overrides) and
// prepares the models. A malformed ops file stops Weaviate's start with an
// error naming the key; a model file that is missing does not (see
// newGenerativeClient).
func (m *Module) Init(ctx context.Context, params moduletools.ModuleInitParams) error {
	var logger logrus.FieldLogger = logrus.StandardLogger()
	if params != nil && params.GetLogger() != nil {
		logger = params.GetLogger()
	}
	// The module's packages log with slog: inside Weaviate, through its
	// logger and at its LOG_LEVEL (llama.cpp's own log included).
	slog.SetDefault(slog.New(newLogrusHandler(logger.WithField("module", Name))))
	ops, err := config.LoadOpsFromEnv()
	if err != nil {
		return fmt.Errorf("init %s: %w", Name, err)
	}
	return m.initWith(ops, logger)
}

// initWith initialises the module from an already loaded ops configuration.
func (m *Module) initWith(ops *config.Ops, logger logrus.FieldLogger) error {
	g, err := newGenerativeClient(ops, logger.WithField("module", Name))
	if err != nil {
		return fmt.Errorf("init %s: %w", Name, err)
	}
	m.generative = g
	m.props = generativeProperties(g)
	return nil
}

// Close frees the models; Weaviate calls it at shutdown.
func (m *Module) Close() error {
	if m.generative != nil {
		m.generative.Close()
	}
	return nil
}

// MetaInfo is shown in Weaviate's /v1/meta: the configuration's source and
// each model's state, so that an operator sees a model that failed to load
// without reading logs.
func (m *Module) MetaInfo() (map[string]interface{}, error) {
	info := map[string]interface{}{
		"name":              Name,
		"documentationHref": "https://github.com/asmr-search/generative-asmr",
	}
	g := m.generative
	if g == nil {
		return info, nil
	}
	ms := map[string]any{}
	for name, e := range g.models {
		ms[name] = e.state()
	}
	info["config"] = g.ops.Source
	info["models"] = ms
	info["defaultModel"] = g.ops.DefaultModel()
	info["profiles"] = g.ops.ProfileNames()
	info["languages"] = g.ops.Languages
	return info, nil
}

func (m *Module) AdditionalGenerativeProperties() map[string]modulecapabilities.GenerativeProperty {
	return m.props
}

// ClassConfigDefaults returns no defaults on purpose. Weaviate would copy
// them into the stored class, freezing today's ops defaults into the schema;
// resolving them per request instead lets an operator change a default in
// the ops file for every class at once.
func (m *Module) ClassConfigDefaults() map[string]interface{} {
	return map[string]interface{}{}
}

func (m *Module) PropertyConfigDefaults(dt *schema.DataType) map[string]interface{} {
	return map[string]interface{}{}
}

// ValidateClass checks a class's moduleConfig {"generative-asmr": {...}} at
// class creation: unknown or mistyped options, values out of range, a model
// or profile the ops file does not configure, and a profile that does not
// fit the model's shape. A model whose file cannot be read right now does
// not fail the class (the schema outlives a missing file); it is logged and
// each request reports it.
//
// Weaviate calls this for classes with named vectors (vectorConfig) or with
// a vectorizer module; for a legacy class with "vectorizer": "none" it
// skips module validation, and the same checks then run on each request.
func (m *Module) ValidateClass(ctx context.Context, class *models.Class, cfg moduletools.ClassConfig) error {
	g := m.generative
	if g == nil {
		return errors.New("generative-asmr is not initialised")
	}
	if cfg == nil {
		return errors.New("empty config")
	}
	opts, err := classOptions(g.ops, cfg)
	if err != nil {
		return err
	}
	r, err := g.ops.Resolve("class moduleConfig", opts)
	if err != nil {
		return err
	}
	if r.Steered() {
		e := g.models[r.Model]
		if _, err := e.Identity(); err != nil {
			g.logger.WithError(err).WithField("class", className(class)).Warn("generative-asmr: class accepted, but its model is not readable now; its requests will fail until it is")
			return nil
		}
		if err := g.checkProfile(r.Profile, g.ops.Profiles[r.Profile].Profile, e); err != nil {
			return fmt.Errorf("class moduleConfig: %w", err)
		}
	}
	return nil
}

func className(c *models.Class) string {
	if c == nil {
		return ""
	}
	return c.Class
}

var (
	_ = modulecapabilities.Module(New())
	_ = modulecapabilities.MetaProvider(New())
	_ = modulecapabilities.AdditionalGenerativeProperties(New())
	_ = modulecapabilities.ClassConfigurator(New())
	_ = modulecapabilities.ModuleWithClose(New())
)
