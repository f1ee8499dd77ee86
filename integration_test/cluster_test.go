//go:build e2e

package integration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// clusterPassages are the objects of the replicated class: a small
// multilingual set, each with its own vector so nearVector rankings are
// fixed (no ties).
var clusterPassages = []struct {
	id, title, text, lang string
}{
	{"10000000-0000-0000-0000-000000000001", "telephone", "Alexander Graham Bell patented the telephone in 1876.", "en"},
	{"10000000-0000-0000-0000-000000000002", "Telefon", "Das Telefon wurde 1876 von Alexander Graham Bell patentiert.", "de"},
	{"10000000-0000-0000-0000-000000000003", "téléphone", "Alexander Graham Bell a breveté le téléphone en 1876.", "fr"},
	{"10000000-0000-0000-0000-000000000004", "teléfono", "Alexander Graham Bell patentó el teléfono en 1876.", "es"},
	{"10000000-0000-0000-0000-000000000005", "電話", "電話は1876年にアレクサンダー・グラハム・ベルが特許を取得した。", "ja"},
	{"10000000-0000-0000-0000-000000000006", "телефон", "Александр Грэхем Белл запатентовал телефон в 1876 году.", "ru"},
	{"10000000-0000-0000-0000-000000000007", "Glühbirne", "Thomas Edison verbesserte 1879 die Glühbirne.", "de"},
	{"10000000-0000-0000-0000-000000000008", "ampoule", "Thomas Edison a amélioré l'ampoule électrique en 1879.", "fr"},
}

func clusterVector(i int) []float32 {
	v := make([]float32, 8)
	v[i%8] = 1
	v[(i+1)%8] = 0.1 * float32(i+1)
	return v
}

const clusterClass = "ReplicatedPassage"

// Queries: nearVector near the first passages, greedy generation.
var (
	clusterSingleQuery = fmt.Sprintf(`{ Get { %s(nearVector: {vector: %s, targetVectors: ["default"]}, limit: 2) { title _additional { id generate(singleResult: {prompt: "Wer hat {title} erfunden?"}) { singleResult error } } } } }`,
		clusterClass, jsonString(clusterVector(0)))
	clusterGroupedQuery = fmt.Sprintf(`{ Get { %s(nearVector: {vector: %s, targetVectors: ["default"]}, limit: 3) { title _additional { id generate(groupedResult: {task: "Who invented the telephone?", properties: ["title", "text"]}) { groupedResult error asmr { steered completionTokens language } } } } } }`,
		clusterClass, jsonString(clusterVector(1)))
)

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// clusterAnswers is what one node answered to the two queries.
type clusterAnswers struct {
	Single  []string // "id: answer", in result order
	Grouped string
	Meta    map[string]any // the grouped answer's asmr metadata
}

// TestClusterReplicatedGenerate runs three weaviate-asmr nodes as one
// Weaviate cluster on loopback with a class replicated on every node, and
// checks that every node answers generate queries (greedy: identical
// answers on every node), that two nodes keep serving every object and
// answering when the third is killed, that the killed node rejoins after a
// restart and answers the same again, and that concurrent load on all
// nodes gets an answer or a clean error for every query, in bounded time.
func TestClusterReplicatedGenerate(t *testing.T) {
	skipShort(t)
	begin := time.Now()
	dir := t.TempDir()

	// The tiny model of the fixture profile's shape, end-of-text zeroed so
	// that every answer has exactly maxTokens tokens.
	spec := testmodel.Tiny()
	spec.Seed, spec.ContextLength = 7, 2048
	w := testmodel.Random(spec)
	e := spec.Embd()
	clear(w.Output[testmodel.EOS*e : (testmodel.EOS+1)*e])
	model := filepath.Join(dir, "tiny.gguf")
	if err := testmodel.Write(model, spec, w); err != nil {
		t.Fatal(err)
	}
	ops := filepath.Join(dir, "asmr.yaml")
	opsText := fmt.Sprintf(`models:
  tiny:
    path: %q
    threads: 1
    contextSize: 1024
    slots: 2
profiles:
  tiny:
    path: %q
    model: tiny
defaults:
  profile: tiny
  alphaAC: 8
  alphaCL: 8
  topK: 4
  maxTokens: 8
limits:
  queueLength: 32
  requestTimeout: 90s
languages: [en, de, fr, es, ja, ru]
`, model, filepath.Join(RepoRoot(t), "profile", "testdata", "profile-tiny.yaml"))
	if err := os.WriteFile(ops, []byte(opsText), 0o644); err != nil {
		t.Fatal(err)
	}
	// ASYNC_INDEXING (localcluster's default, set here to say why): with
	// Weaviate's synchronous indexing a node killed after an import came
	// back with the import's vectors missing from its HNSW index (objects
	// present, nearVector returning 0 to 3 of 8), because the batch path
	// flushes the HNSW commit log before its workers have added the
	// vectors, and nothing re-indexes them at restart. The on-disk indexing
	// queue is flushed with the batch and replayed at restart. See
	// docs/cluster.md.
	env := asmrEnv(ops)
	env["ASYNC_INDEXING"] = "true"

	c := StartCluster(t, ClusterOptions{Nodes: 3, Env: env, Dir: filepath.Join(dir, "cluster")})
	t.Logf("3 nodes ready and healthy %v after the test began", time.Since(begin).Round(100*time.Millisecond))
	raw, _ := c.NodesJSON(t, 0)
	t.Logf("/v1/nodes?output=verbose on node1 after start:\n%s", raw)

	// A class replicated on every node, imported through node 2.
	c.Servers[0].CreateClass(t, map[string]any{
		"class": clusterClass,
		"properties": []map[string]any{
			{"name": "title", "dataType": []string{"text"}},
			{"name": "text", "dataType": []string{"text"}},
			{"name": "lang", "dataType": []string{"text"}},
		},
		"vectorConfig": map[string]any{
			"default": map[string]any{"vectorizer": map[string]any{"none": map[string]any{}}, "vectorIndexType": "hnsw"},
		},
		"replicationConfig": map[string]any{"factor": 3},
		"moduleConfig": map[string]any{
			"generative-asmr": map[string]any{"model": "tiny", "profile": "tiny", "maxTokens": 8, "temperature": 0},
		},
	})
	var objs []map[string]any
	for i, p := range clusterPassages {
		objs = append(objs, map[string]any{
			"class":      clusterClass,
			"id":         p.id,
			"properties": map[string]any{"title": p.title, "text": p.text, "lang": p.lang},
			"vectors":    map[string]any{"default": clusterVector(i)},
		})
	}
	c.Servers[1].BatchObjects(t, objs)

	wantIDs := make([]string, len(clusterPassages))
	for i, p := range clusterPassages {
		wantIDs[i] = p.id
	}
	sort.Strings(wantIDs)
	for i := range c.Nodes {
		clusterWaitAllObjects(t, c, i, wantIDs, 30*time.Second)
		clusterWaitVectors(t, c, i, len(wantIDs), 30*time.Second)
	}

	// Every node answers, and greedy answers are the same on every node.
	base := clusterWaitAnswers(t, c, 0, 60*time.Second)
	if base.Grouped == "" || len(base.Single) != 2 {
		t.Fatalf("node1 answers: %+v", base)
	}
	for i := range c.Nodes {
		a := base
		if i > 0 {
			a = clusterWaitAnswers(t, c, i, 60*time.Second)
		}
		t.Logf("%s: groupedResult %q %v; singleResult %q", c.Nodes[i].Name, a.Grouped, a.Meta, a.Single)
		clusterSameAnswers(t, c.Nodes[i].Name, a, base)
	}

	// Kill node 2 (the import went through it). Nodes 1 and 3 still
	// return every object and answer the same.
	c.Kill(t, 1)
	killed := time.Now()
	for _, i := range []int{0, 2} {
		clusterWaitAllObjects(t, c, i, wantIDs, 60*time.Second)
		a := clusterWaitAnswers(t, c, i, 60*time.Second)
		clusterSameAnswers(t, c.Nodes[i].Name+" (node2 down)", a, base)
	}
	t.Logf("with node2 killed, nodes 1 and 3 served all %d objects and the same answers within %v",
		len(wantIDs), time.Since(killed).Round(10*time.Millisecond))

	// Restart node 2 on the same ports and data: it rejoins and answers
	// the same again.
	c.Restart(t, 1)
	clusterWaitAllObjects(t, c, 1, wantIDs, 60*time.Second)
	clusterWaitVectors(t, c, 1, len(wantIDs), 60*time.Second)
	a := clusterWaitAnswers(t, c, 1, 60*time.Second)
	clusterSameAnswers(t, "node2 (restarted)", a, base)
	t.Logf("node2 restarted: groupedResult %q %v", a.Grouped, a.Meta)

	// Concurrent load: 8 grouped queries at once on each node (2 slots
	// each). Every query gets an answer or a clean error; nothing hangs.
	const perNode = 8
	type outcome struct {
		node int
		err  error
		took time.Duration
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	results := make(chan outcome, perNode*len(c.Nodes))
	loadBegin := time.Now()
	var wg sync.WaitGroup
	for i := range c.Nodes {
		for q := 0; q < perNode; q++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				// Longer answers (48 tokens) than the other queries, so that
				// the 8 queries of a node really wait for its 2 slots.
				query := strings.Replace(clusterGroupedQuery, `"Who invented the telephone?",`,
					fmt.Sprintf(`"Who invented the telephone? (%d.%d)", asmr: {maxTokens: 48},`, i, q), 1)
				g, err := clusterGenerate(ctx, c.Nodes[i].URL(), query)
				if err == nil && (len(g) == 0 || g[0].Grouped == nil || *g[0].Grouped == "") {
					err = fmt.Errorf("no groupedResult: %+v", g)
				}
				if err == nil && g[0].Error != nil && *g[0].Error != "" {
					err = fmt.Errorf("generate error: %s", *g[0].Error)
				}
				results <- outcome{i, err, time.Since(t0)}
			}()
		}
	}
	wg.Wait()
	close(results)
	answered, clean := 0, 0
	var slowest time.Duration
	for r := range results {
		slowest = max(slowest, r.took)
		switch {
		case r.err == nil:
			answered++
		case strings.Contains(r.err.Error(), "generative-asmr:"):
			clean++ // e.g. busy: the module's own error, per result
			t.Logf("%s: clean error: %v", c.Nodes[r.node].Name, r.err)
		default:
			t.Errorf("%s: %v", c.Nodes[r.node].Name, r.err)
		}
	}
	if ctx.Err() != nil {
		t.Errorf("load did not finish within its 4 minute bound")
	}
	t.Logf("load: %d queries over 3 nodes in %v: %d answered, %d clean errors; slowest %v",
		perNode*len(c.Nodes), time.Since(loadBegin).Round(10*time.Millisecond), answered, clean, slowest.Round(10*time.Millisecond))
	if answered == 0 {
		t.Errorf("no query of the load was answered")
	}

	raw, st := c.NodesJSON(t, 1)
	t.Logf("/v1/nodes?output=verbose on node2 at the end (Weaviate updates its objectCount lazily):\n%s", raw)
	for i, s := range c.Servers {
		t.Logf("%s: Aggregate count %d", c.Nodes[i].Name, s.Count(t, clusterClass))
	}
	for _, s := range st {
		if s.Status != "HEALTHY" {
			t.Errorf("%s is %s at the end", s.Name, s.Status)
		}
	}
	t.Logf("test took %v", time.Since(begin).Round(100*time.Millisecond))
}

// clusterGenObject is one object of a generate result.
type clusterGenObject struct {
	ID                     string
	Single, Grouped, Error *string
	Asmr                   map[string]any
}

// clusterGenerate posts a generate query to a node and returns its
// objects; transport, HTTP and GraphQL errors are errors (not fatal, so it
// can run in goroutines and retry loops).
func clusterGenerate(ctx context.Context, url, query string) ([]clusterGenObject, error) {
	data, err := clusterPost(ctx, url, query)
	if err != nil {
		return nil, err
	}
	var d struct {
		Get map[string][]struct {
			Additional struct {
				ID       string `json:"id"`
				Generate *struct {
					SingleResult  *string        `json:"singleResult"`
					GroupedResult *string        `json:"groupedResult"`
					Error         *string        `json:"error"`
					Asmr          map[string]any `json:"asmr"`
				} `json:"generate"`
			} `json:"_additional"`
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("decode: %v: %s", err, clip(data))
	}
	var out []clusterGenObject
	for _, o := range d.Get[clusterClass] {
		g := clusterGenObject{ID: o.Additional.ID}
		if x := o.Additional.Generate; x != nil {
			g.Single, g.Grouped, g.Error, g.Asmr = x.SingleResult, x.GroupedResult, x.Error, x.Asmr
		}
		out = append(out, g)
	}
	return out, nil
}

func clusterPost(ctx context.Context, url, query string) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	c, err := clientFor(url, helperTimeout)
	if err != nil {
		return nil, err
	}
	r, err := graphQL(ctx, c, query)
	if err != nil {
		return nil, err
	}
	if len(r.Errors) > 0 {
		return nil, fmt.Errorf("GraphQL: %s", r.ErrorMessages())
	}
	return r.Data, nil
}

// clusterAnswersOn runs both queries on node i.
func clusterAnswersOn(ctx context.Context, url string) (clusterAnswers, error) {
	var a clusterAnswers
	single, err := clusterGenerate(ctx, url, clusterSingleQuery)
	if err != nil {
		return a, fmt.Errorf("singleResult: %w", err)
	}
	for _, o := range single {
		if o.Error != nil && *o.Error != "" {
			return a, fmt.Errorf("singleResult of %s: %s", o.ID, *o.Error)
		}
		if o.Single == nil {
			return a, fmt.Errorf("singleResult of %s: null", o.ID)
		}
		a.Single = append(a.Single, o.ID+": "+*o.Single)
	}
	grouped, err := clusterGenerate(ctx, url, clusterGroupedQuery)
	if err != nil {
		return a, fmt.Errorf("groupedResult: %w", err)
	}
	if len(grouped) == 0 || grouped[0].Grouped == nil {
		if len(grouped) > 0 && grouped[0].Error != nil {
			return a, fmt.Errorf("groupedResult: %s", *grouped[0].Error)
		}
		return a, fmt.Errorf("groupedResult: none (%d objects)", len(grouped))
	}
	a.Grouped, a.Meta = *grouped[0].Grouped, grouped[0].Asmr
	return a, nil
}

// clusterWaitAnswers retries both queries on node i until they succeed
// (a node may need a moment after a peer died or it rejoined).
func clusterWaitAnswers(t *testing.T, c *Cluster, i int, bound time.Duration) clusterAnswers {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		a, err := clusterAnswersOn(context.Background(), c.Nodes[i].URL())
		if err == nil {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no answers within %v: %v", c.Nodes[i].Name, bound, err)
		}
		t.Logf("%s: %v; retrying", c.Nodes[i].Name, err)
		time.Sleep(time.Second)
	}
}

func clusterSameAnswers(t *testing.T, who string, got, want clusterAnswers) {
	t.Helper()
	if got.Grouped != want.Grouped {
		t.Errorf("%s: groupedResult %q, node1 answered %q", who, got.Grouped, want.Grouped)
	}
	if strings.Join(got.Single, "\n") != strings.Join(want.Single, "\n") {
		t.Errorf("%s: singleResult %q, node1 answered %q", who, got.Single, want.Single)
	}
}

// clusterWaitVectors waits until node i's nearVector search finds want
// objects (with asynchronous indexing, vectors become searchable shortly
// after the import, and after a restart once the queue is replayed).
func clusterWaitVectors(t *testing.T, c *Cluster, i, want int, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	q := fmt.Sprintf(`{ Get { %s(nearVector: {vector: %s, targetVectors: ["default"]}, limit: 100) { _additional { id } } } }`,
		clusterClass, jsonString(clusterVector(0)))
	for {
		data, err := clusterPost(context.Background(), c.Nodes[i].URL(), q)
		if err == nil {
			var d struct {
				Get map[string][]json.RawMessage
			}
			if err = json.Unmarshal(data, &d); err == nil {
				if n := len(d.Get[clusterClass]); n == want {
					return
				} else {
					err = fmt.Errorf("nearVector finds %d of %d objects", n, want)
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v after %v", c.Nodes[i].Name, err, bound)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// clusterWaitAllObjects waits until node i returns exactly the objects
// wantIDs (sorted) through a plain Get.
func clusterWaitAllObjects(t *testing.T, c *Cluster, i int, wantIDs []string, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	q := fmt.Sprintf(`{ Get { %s(limit: 100) { _additional { id } } } }`, clusterClass)
	for {
		var got []string
		data, err := clusterPost(context.Background(), c.Nodes[i].URL(), q)
		if err == nil {
			var d struct {
				Get map[string][]struct {
					Additional struct{ ID string } `json:"_additional"`
				}
			}
			if err = json.Unmarshal(data, &d); err == nil {
				for _, o := range d.Get[clusterClass] {
					got = append(got, o.Additional.ID)
				}
				sort.Strings(got)
				if strings.Join(got, ",") == strings.Join(wantIDs, ",") {
					return
				}
				err = fmt.Errorf("%d of %d objects", len(got), len(wantIDs))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not every object within %v: %v", c.Nodes[i].Name, bound, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
