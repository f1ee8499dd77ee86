package devserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate/entities/models"

	"github.com/asmr-search/generative-asmr/internal/demo"
	"github.com/asmr-search/generative-asmr/internal/weaviatehttp"
)

// demoClass is the class of the demo collection (internal/demo).
const demoClass = "Article"

// LoadDemo creates the demo class with its English passages unless the
// server at base (its URL, for the instructions printed) has it, then
// prints the sample query, runs it through c and prints the answer and a
// curl command line for it. The passages are found with bm25: the
// embedded default has no vectorizer.
func LoadDemo(ctx context.Context, c *weaviate.Client, base string, out io.Writer) error {
	schema, err := c.Schema().Getter().Do(ctx)
	if err != nil {
		return fmt.Errorf("read the schema: %w", weaviatehttp.Error(err))
	}
	have := false
	for _, cl := range schema.Classes {
		have = have || cl.Class == demoClass
	}
	if !have {
		class := &models.Class{
			Class: demoClass,
			Properties: []*models.Property{
				{Name: "title", DataType: []string{"text"}},
				{Name: "body", DataType: []string{"text"}},
			},
			VectorConfig:        map[string]models.VectorConfig{"default": {Vectorizer: map[string]any{"none": map[string]any{}}, VectorIndexType: "hnsw"}},
			ModuleConfig:        map[string]any{"generative-asmr": map[string]any{"maxTokens": 48}},
			InvertedIndexConfig: &models.InvertedIndexConfig{Bm25: &models.BM25Config{B: 0.75, K1: 1.2}},
		}
		if err := c.Schema().ClassCreator().WithClass(class).Do(ctx); err != nil {
			return fmt.Errorf("create the demo class: %w", weaviatehttp.Error(err))
		}
		objs := make([]*models.Object, len(demo.Articles))
		for i, a := range demo.Articles {
			props := map[string]any{}
			for k, v := range a {
				props[k] = v
			}
			objs[i] = &models.Object{Class: demoClass, Properties: props}
		}
		if _, err := c.Batch().ObjectsBatcher().WithObjects(objs...).Do(ctx); err != nil {
			return fmt.Errorf("import the demo objects: %w", weaviatehttp.Error(err))
		}
		fmt.Fprintf(out, "created class Article with %d English passages (bm25; the embedded default has no vectorizer)\n", len(objs))
	}
	fmt.Fprintf(out, "\nA query (paste into any GraphQL client at %s/v1/graphql):\n\n%s\n", base, demo.Query)
	start := time.Now()
	resp, err := c.GraphQL().Raw().WithQuery(demo.Query).Do(ctx)
	if err != nil {
		return fmt.Errorf("demo query: %w", weaviatehttp.Error(err))
	}
	pretty, err := json.MarshalIndent(resp, "", "  ")
	if err != nil {
		return fmt.Errorf("demo query: %w", err)
	}
	fmt.Fprintf(out, "\nIts answer (%s):\n\n%s\n", time.Since(start).Round(time.Millisecond), pretty)
	q, _ := json.Marshal(map[string]string{"query": demo.Query})
	fmt.Fprintf(out, "\nor with curl:\n\ncurl -s %s/v1/graphql -H 'Content-Type: application/json' -d '%s'\n", base, strings.ReplaceAll(string(q), "'", `'\''`))
	return nil
}
