package xquad

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate/entities/models"

	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/internal/weaviatehttp"
)

// The passages in Weaviate. Load puts every English paragraph of a Task
// into a class as one object whose vector is the one-hot vector e_p of its
// index p in Task.Paragraphs; Vectors gives each question the vector
// sum_i (n-i) e_{Order[id][i]}. Its cosine similarity with paragraph
// Order[id][i] is (n-i)/|v|, decreasing in i, and 0 with every other
// paragraph, so a nearVector search of limit n returns exactly
// Contexts[id], in order, through the server's own retrieval. The class
// uses the flat (exact) vector index: an HNSW graph over mutually
// orthogonal vectors has no neighbourhoods to navigate and may miss them.

// Vectors returns the nearVector query vector of every question, keyed by
// eval.Key{Lang: "", ID: id} (eval.WeaviateReader uses a key with an empty
// Lang for every language of the item), for the objects Load imports.
func (t *Task) Vectors() map[eval.Key][]float32 {
	out := make(map[eval.Key][]float32, len(t.Order))
	for id, order := range t.Order {
		v := make([]float32, len(t.Paragraphs))
		for i, p := range order {
			v[p] = float32(len(order) - i)
		}
		out[eval.Key{ID: id}] = v
	}
	return out
}

// ParagraphID is the UUID of paragraph p of the task's English file in
// class: a name-based UUID (version 5 layout) of the class, p and the
// paragraph's text, so that reloading gives the same objects.
func ParagraphID(class string, p int, text string) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("xquad\x00%s\x00%d\x00%s", class, p, text)))
	h[6] = h[6]&0x0f | 0x50 // version 5
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// loadBatch is the number of objects per batch request.
const loadBatch = 100

// Load makes class hold the task's English paragraphs for nearVector
// retrieval with Vectors: it creates the class if absent (vectorizer none,
// flat index with cosine distance, properties text, article and paragraph,
// the generative-asmr module) and imports each paragraph with its one-hot
// vector and ParagraphID. It is idempotent: a class that already holds
// these objects is left as it is, and one that holds only some of them
// (an interrupted import) gets the rest. A class of another shape, or with
// objects of another task, is an error naming the class: delete it or load
// into another class.
func Load(ctx context.Context, c *weaviate.Client, class string, t *Task) error {
	n := len(t.Paragraphs)
	if n == 0 {
		return fmt.Errorf("xquad: the task has no paragraphs to load into %s", class)
	}
	if len(t.Articles) != n {
		return fmt.Errorf("xquad: the task has %d paragraphs and %d article indexes (build it with Build)", n, len(t.Articles))
	}
	fix := fmt.Sprintf("delete it (DELETE /v1/schema/%s) or load into another class (-class)", class)
	exists, err := c.Schema().ClassExistenceChecker().WithClassName(class).Do(ctx)
	if err != nil {
		return fmt.Errorf("xquad: does class %s exist: %w", class, weaviatehttp.Error(err))
	}
	if !exists {
		if err := c.Schema().ClassCreator().WithClass(classDef(class)).Do(ctx); err != nil {
			return fmt.Errorf("xquad: create class %s: %w", class, weaviatehttp.Error(err))
		}
	} else {
		got, err := c.Schema().ClassGetter().WithClassName(class).Do(ctx)
		if err != nil {
			return fmt.Errorf("xquad: get class %s: %w", class, weaviatehttp.Error(err))
		}
		if p := classProblem(got); p != "" {
			return fmt.Errorf("xquad: class %s exists but %s: %s", class, p, fix)
		}
	}

	// What the class holds: every object must be one of the task's.
	want := make(map[string]int, n) // UUID -> paragraph index
	for p, text := range t.Paragraphs {
		want[ParagraphID(class, p, text)] = p
	}
	var data struct {
		Get map[string][]struct {
			Text       string `json:"text"`
			Paragraph  *int   `json:"paragraph"`
			Additional struct {
				ID string `json:"id"`
			} `json:"_additional"`
		} `json:"Get"`
	}
	q := fmt.Sprintf("{ Get { %s(limit: %d) { text paragraph _additional { id } } } }", class, n+1)
	if err := weaviatehttp.GraphQL(ctx, c, q, &data); err != nil {
		return fmt.Errorf("xquad: read class %s: %w", class, err)
	}
	have := map[int]bool{}
	for _, o := range data.Get[class] {
		p, ok := want[o.Additional.ID]
		if !ok || o.Paragraph == nil || *o.Paragraph != p || o.Text != t.Paragraphs[p] {
			return fmt.Errorf("xquad: class %s holds objects that are not this task's %d English paragraphs (object %s): %s",
				class, n, o.Additional.ID, fix)
		}
		have[p] = true
	}
	if len(have) == n {
		return waitSearchable(ctx, c, class, n)
	}

	var objs []*models.Object
	for p, text := range t.Paragraphs {
		if have[p] {
			continue
		}
		v := make([]float32, n)
		v[p] = 1
		var o models.Object
		if err := weaviatehttp.Model(map[string]any{
			"class": class, "id": ParagraphID(class, p, text), "vector": v,
			"properties": map[string]any{"text": text, "article": t.Articles[p], "paragraph": p},
		}, &o); err != nil {
			return fmt.Errorf("xquad: paragraph %d: %w", p, err)
		}
		objs = append(objs, &o)
	}
	for len(objs) > 0 {
		b := objs[:min(loadBatch, len(objs))]
		objs = objs[len(b):]
		res, err := c.Batch().ObjectsBatcher().WithObjects(b...).Do(ctx)
		if err != nil {
			return fmt.Errorf("xquad: import into %s: %w", class, weaviatehttp.Error(err))
		}
		if err := weaviatehttp.BatchError(res); err != nil {
			return fmt.Errorf("xquad: import into %s: %w", class, err)
		}
	}
	return waitSearchable(ctx, c, class, n)
}

// classDef is the class Load creates.
func classDef(class string) *models.Class {
	return &models.Class{
		Class:             class,
		Description:       "XQuAD English paragraphs, one-hot vectors for exact nearVector retrieval (eval/xquad)",
		Vectorizer:        "none",
		VectorIndexType:   "flat",
		VectorIndexConfig: map[string]any{"distance": "cosine"},
		ModuleConfig:      map[string]any{"generative-asmr": map[string]any{}},
		Properties: []*models.Property{
			{Name: "text", DataType: []string{"text"}},
			{Name: "article", DataType: []string{"int"}},
			{Name: "paragraph", DataType: []string{"int"}},
		},
	}
}

// classProblem says what makes an existing class unfit for Load, or "".
func classProblem(c *models.Class) string {
	var ps []string
	if c.VectorIndexType != "flat" {
		ps = append(ps, fmt.Sprintf("its vector index is %q, not flat (exact search)", c.VectorIndexType))
	}
	if cfg, ok := c.VectorIndexConfig.(map[string]any); ok {
		if d, ok := cfg["distance"].(string); ok && d != "cosine" {
			ps = append(ps, fmt.Sprintf("its distance is %q, not cosine", d))
		}
	}
	if mc, _ := c.ModuleConfig.(map[string]any); mc["generative-asmr"] == nil {
		ps = append(ps, "generative-asmr is not its generative module")
	}
	types := map[string]string{}
	for _, p := range c.Properties {
		if p != nil && len(p.DataType) == 1 {
			types[p.Name] = p.DataType[0]
		}
	}
	for _, p := range classDef(c.Class).Properties {
		if types[p.Name] != p.DataType[0] {
			ps = append(ps, fmt.Sprintf("its property %s is not of type %s", p.Name, p.DataType[0]))
		}
	}
	return strings.Join(ps, "; ")
}

// searchableWithin bounds how long Load waits for imported paragraphs to
// be found by nearVector.
const searchableWithin = time.Minute

// waitSearchable waits until nearVector finds every one of the class's n
// paragraphs by its own one-hot vector. Right after an import, Weaviate
// 1.35's flat index answered nearVector with no objects for about a second
// (measured: every query of a run that started at once came back empty),
// which an evaluation would score as empty answers.
func waitSearchable(ctx context.Context, c *weaviate.Client, class string, n int) error {
	deadline := time.Now().Add(searchableWithin)
	p := 0
	for p < n {
		v := make([]string, n)
		for i := range v {
			v[i] = "0"
		}
		v[p] = "1"
		var data struct {
			Get map[string][]struct {
				Paragraph *int `json:"paragraph"`
			} `json:"Get"`
		}
		q := fmt.Sprintf("{ Get { %s(nearVector: {vector: [%s]}, limit: 1) { paragraph } } }", class, strings.Join(v, ","))
		if err := weaviatehttp.GraphQL(ctx, c, q, &data); err != nil {
			return fmt.Errorf("xquad: search class %s: %w", class, err)
		}
		if got := data.Get[class]; len(got) == 1 && got[0].Paragraph != nil && *got[0].Paragraph == p {
			p++
			continue
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("xquad: class %s: nearVector does not find paragraph %d by its vector %v after the import; is the class's vector index flat with cosine distance?", class, p, searchableWithin)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}
