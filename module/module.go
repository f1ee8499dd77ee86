// Package module is the Weaviate glue: the generative-asmr module that
// answers generate(singleResult / groupedResult) with the steered,
// in-process reader. Nothing imports it but the weaviate-asmr server, which
// registers it in Weaviate's module provider.
package module

import (
	"context"
	"fmt"

	"github.com/weaviate/weaviate/entities/modulecapabilities"
	"github.com/weaviate/weaviate/entities/moduletools"
)

// Name is the module's name in ENABLE_MODULES and in a class's moduleConfig.
const Name = "generative-asmr"

// Module is the generative-asmr Weaviate module.
type Module struct {
	generative *generative
}

// New returns an uninitialised module; Weaviate calls Init at start-up.
func New() *Module { return &Module{} }

func (m *Module) Name() string { return Name }

func (m *Module) Type() modulecapabilities.ModuleType {
	return modulecapabilities.Text2TextGenerative
}

// Init reads the ops configuration (ASMR_CONFIG) and prepares the models.
func (m *Module) Init(ctx context.Context, params moduletools.ModuleInitParams) error {
	g, err := newGenerative(ctx, params)
	if err != nil {
		return fmt.Errorf("init %s: %w", Name, err)
	}
	m.generative = g
	return nil
}

func (m *Module) MetaInfo() (map[string]interface{}, error) {
	return m.generative.metaInfo(), nil
}

func (m *Module) AdditionalGenerativeProperties() map[string]modulecapabilities.GenerativeProperty {
	return m.generative.properties()
}

var (
	_ = modulecapabilities.Module(New())
	_ = modulecapabilities.MetaProvider(New())
	_ = modulecapabilities.AdditionalGenerativeProperties(New())
)
