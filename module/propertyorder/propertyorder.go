// Package propertyorder carries the property names of a
// generate(groupedResult: {properties: [...]}) request, in the order the
// user gave them, from Weaviate's generate provider to generative-asmr.
//
// Weaviate hands a generative module each retrieved object's properties as
// a map (modulecapabilities.GenerateProperties.Text), which has no order.
// The bin/weaviate-asmr build patches Weaviate's generate provider
// (usecases/modulecomponents/additional/generate/generate_result.go, see
// cmd/weaviate-asmr/internal/patchweaviate) to put the list on the context
// of GenerateAllResults, for GraphQL and gRPC alike. The package imports
// nothing but the standard library, so that Weaviate's code can import it.
package propertyorder

import (
	"context"
	"slices"
)

type key struct{}

// WithGroupedProperties returns ctx carrying names, the groupedResult's
// properties as the request listed them (nil when it listed none: then
// Weaviate passes every property of the class).
func WithGroupedProperties(ctx context.Context, names []string) context.Context {
	return context.WithValue(ctx, key{}, slices.Clone(names))
}

// GroupedProperties returns the names WithGroupedProperties put on ctx, and
// nil when there are none (a request that listed no properties, or a
// Weaviate build without the patch).
func GroupedProperties(ctx context.Context) []string {
	names, _ := ctx.Value(key{}).([]string)
	return names
}
