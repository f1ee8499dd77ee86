package module

import (
	"context"

	"github.com/weaviate/weaviate/entities/modulecapabilities"
	"github.com/weaviate/weaviate/entities/moduletools"
)

// generative holds the module's models, profiles and request handling.
// (First cut: registered with Weaviate, serving no generate requests yet.)
type generative struct{}

func newGenerative(ctx context.Context, params moduletools.ModuleInitParams) (*generative, error) {
	return &generative{}, nil
}

func (g *generative) metaInfo() map[string]interface{} {
	return map[string]interface{}{"name": "generative-asmr", "documentationHref": "https://github.com/asmr-search/generative-asmr"}
}

func (g *generative) properties() map[string]modulecapabilities.GenerativeProperty {
	return map[string]modulecapabilities.GenerativeProperty{}
}
