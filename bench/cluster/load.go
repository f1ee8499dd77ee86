package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weaviate/weaviate/entities/models"

	"github.com/asmr-search/generative-asmr/internal/weaviatehttp"
)

// load is the query load of every measurement.
type load struct {
	queries, conc, passages int
}

const benchClass = "BenchPassage"

var benchTexts = []struct{ text, lang string }{
	{"Alexander Graham Bell patented the telephone in 1876 in the United States.", "en"},
	{"Das Telefon wurde 1876 von Alexander Graham Bell in den Vereinigten Staaten patentiert.", "de"},
	{"Alexander Graham Bell a breveté le téléphone en 1876 aux États-Unis.", "fr"},
	{"Alexander Graham Bell patentó el teléfono en 1876 en los Estados Unidos.", "es"},
	{"Marie Curie received the Nobel Prize in Physics in 1903 and in Chemistry in 1911.", "en"},
	{"Marie Curie erhielt 1903 den Nobelpreis für Physik und 1911 den für Chemie.", "de"},
	{"Marie Curie a reçu le prix Nobel de physique en 1903 et de chimie en 1911.", "fr"},
	{"Marie Curie recibió el Premio Nobel de Física en 1903 y el de Química en 1911.", "es"},
	{"The Eiffel Tower was completed in 1889 for the World's Fair in Paris.", "en"},
	{"Der Eiffelturm wurde 1889 zur Weltausstellung in Paris fertiggestellt.", "de"},
	{"La tour Eiffel a été achevée en 1889 pour l'Exposition universelle de Paris.", "fr"},
	{"La Torre Eiffel se terminó en 1889 para la Exposición Universal de París.", "es"},
}

var benchQuestions = []string{
	"Who patented the telephone, and when?",
	"Wer hat das Telefon patentiert?",
	"Qui a reçu le prix Nobel en 1903 ?",
	"¿Cuándo se terminó la Torre Eiffel?",
}

// benchVector is the 8-dimensional vector of passage or query i.
func benchVector(i int) []float32 {
	v := make([]float32, 8)
	v[i%8] = 1
	v[(i/8+3)%8] += 0.5
	return v
}

// setup creates the class (replicated on every node of s), imports the
// passages and warms every node up with one query.
func (l *load) setup(ctx context.Context, s *setup) error {
	first := s.clients[0]
	class := &models.Class{
		Class:             benchClass,
		Properties:        []*models.Property{{Name: "text", DataType: []string{"text"}}, {Name: "lang", DataType: []string{"text"}}},
		VectorConfig:      map[string]models.VectorConfig{"default": {Vectorizer: map[string]any{"none": map[string]any{}}, VectorIndexType: "hnsw"}},
		ReplicationConfig: &models.ReplicationConfig{Factor: int64(len(s.clients))},
		ModuleConfig:      map[string]any{"generative-asmr": map[string]any{"model": "bench", "temperature": 0}},
	}
	if err := first.Schema().ClassCreator().WithClass(class).Do(ctx); err != nil {
		return fmt.Errorf("create class: %w", weaviatehttp.Error(err))
	}
	objs := make([]*models.Object, len(benchTexts))
	for i, t := range benchTexts {
		objs[i] = &models.Object{Class: benchClass, Properties: map[string]any{"text": t.text, "lang": t.lang}, Vectors: models.Vectors{"default": benchVector(i)}}
	}
	res, err := first.Batch().ObjectsBatcher().WithObjects(objs...).Do(ctx)
	if err == nil {
		err = weaviatehttp.BatchError(res)
	}
	if err != nil {
		return fmt.Errorf("import: %w", weaviatehttp.Error(err))
	}
	for i, nd := range s.cluster.Nodes {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			_, err := l.query(ctx, s, i)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("warm-up on %s: %w", nd.Name, err)
			}
			time.Sleep(time.Second)
		}
	}
	return nil
}

// measure sends l.queries grouped queries, l.conc at a time, query i to
// node i mod N.
func (l *load) measure(ctx context.Context, s *setup) (result, error) {
	res := result{queries: l.queries}
	var mu sync.Mutex
	next := make(chan int)
	var wg sync.WaitGroup
	cpu0, proc0 := CPUTimes(), procTicks(s.cluster)
	begin := time.Now()
	for w := 0; w < l.conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				toks, err := l.query(ctx, s, i)
				d := time.Since(t0)
				mu.Lock()
				res.latencies = append(res.latencies, d)
				if err != nil {
					res.errors++
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
				} else {
					res.tokens += toks
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < l.queries; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			close(next)
			wg.Wait()
			return res, ctx.Err()
		}
	}
	close(next)
	wg.Wait()
	res.wall = time.Since(begin)
	res.cpuBusy = CPUTimes().BusySince(cpu0)
	res.nodesCPU = float64(procTicks(s.cluster)-proc0) / ClockTicks / res.wall.Seconds()
	return res, nil
}

// query sends grouped generate query number i to node i mod N of s and
// returns the completion tokens.
func (l *load) query(ctx context.Context, s *setup, i int) (int, error) {
	v, _ := json.Marshal(benchVector(i * 5))
	q := fmt.Sprintf(`{ Get { %s(nearVector: {vector: %s, targetVectors: ["default"]}, limit: %d) { _additional { generate(groupedResult: {task: %q, properties: ["text"]}) { groupedResult error asmr { completionTokens } } } } } }`,
		benchClass, v, l.passages, fmt.Sprintf("%s (%d)", benchQuestions[i%len(benchQuestions)], i))
	var data struct {
		Get map[string][]struct {
			Additional struct {
				Generate *struct {
					GroupedResult *string `json:"groupedResult"`
					Error         *string `json:"error"`
					Asmr          *struct {
						CompletionTokens int `json:"completionTokens"`
					} `json:"asmr"`
				} `json:"generate"`
			} `json:"_additional"`
		}
	}
	if err := weaviatehttp.GraphQL(ctx, s.clients[i%len(s.clients)], q, &data); err != nil {
		return 0, err
	}
	rows := data.Get[benchClass]
	if len(rows) == 0 || rows[0].Additional.Generate == nil {
		return 0, fmt.Errorf("no objects or no generate result (%d rows)", len(rows))
	}
	g := rows[0].Additional.Generate
	if g.Error != nil && *g.Error != "" {
		return 0, errors.New(*g.Error)
	}
	if g.GroupedResult == nil {
		return 0, errors.New("empty groupedResult")
	}
	if g.Asmr == nil {
		return 0, nil
	}
	return g.Asmr.CompletionTokens, nil
}
