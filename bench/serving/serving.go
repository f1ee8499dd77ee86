// Package serving compares, inside one weaviate-asmr process, a class
// served by generative-asmr (our in-process reader) with a class served by
// Weaviate's own generative-ollama module talking to `ollama serve` built
// from the ollama version pinned in go.mod (bench/ollamapeer): the same
// GGUF, threads, context per sequence, parallel sequences, maximum answer
// length, stop string and greedy sampling on both sides. It measures the
// latency of one groupedResult query and the queries per second of
// singleResult queries with 1 and more clients, in interleaved rounds,
// for `asmr bench serving` (make bench-serving); the report (Markdown,
// bench/serving.md) gives medians and the ratios against their targets.
//
// Both sides get the same GraphQL queries, save the class name and our
// metadata fields. Each module builds its own prompt from them: ours the
// ops file's passages-first template (groupedResult) or the prompt after
// a language instruction (singleResult); generative-ollama the task
// followed by ": " and the passages as JSON (groupedResult) or the prompt
// as it is (singleResult), through the model's template "{{ .Prompt }}".
// The report shows one prompt of each kind from each side and the prompt
// and generated tokens per query, ours from the module's metadata,
// ollama's from a counting reverse proxy between Weaviate and ollama.
package serving

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate/entities/models"

	"github.com/asmr-search/generative-asmr/bench/cluster"
	"github.com/asmr-search/generative-asmr/bench/ollamapeer"
	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/internal/localcluster"
	"github.com/asmr-search/generative-asmr/internal/opsfile"
	"github.com/asmr-search/generative-asmr/internal/weaviatehttp"
	"github.com/asmr-search/generative-asmr/profiles"
)

// Config is one benchmark. Every count must be positive.
type Config struct {
	// Weaviate is the weaviate-asmr binary, Ollama the ollama binary
	// built from the pinned module, Model the GGUF both serve (Gemma 3
	// 270M: the ops settings and steering profile are Gemma's).
	Weaviate, Ollama, Model string
	// Work is the work folder: the node's data and log, the ops file and
	// profile, ollama's store and log. It is emptied first.
	Work string
	// Slots are our model's parallel sequences and ollama's
	// OLLAMA_NUM_PARALLEL; Threads both sides' decoding threads;
	// ContextSize the context of each sequence (our contextSize, ollama's
	// num_ctx); MaxTokens the longest answer (our maxTokens, ollama's
	// num_predict).
	Slots, Threads, ContextSize, MaxTokens int
	// Rounds of interleaved measurements; the report gives medians.
	Rounds int
	// GroupedQueries are the sequential groupedResult queries of each
	// latency measurement, over GroupedLimit passages each.
	GroupedQueries, GroupedLimit int
	// Clients are the client counts of the throughput measurements; each
	// client sends SingleQueries singleResult queries back to back, over
	// SingleLimit objects each (one generation per object).
	Clients                    []int
	SingleQueries, SingleLimit int
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Check reports the first count that is not positive.
func (c Config) Check() error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"Slots", c.Slots}, {"Threads", c.Threads}, {"ContextSize", c.ContextSize}, {"MaxTokens", c.MaxTokens},
		{"Rounds", c.Rounds}, {"GroupedQueries", c.GroupedQueries}, {"GroupedLimit", c.GroupedLimit},
		{"SingleQueries", c.SingleQueries}, {"SingleLimit", c.SingleLimit},
	} {
		if f.v < 1 {
			return fmt.Errorf("%s %d: want 1 or more", f.name, f.v)
		}
	}
	if len(c.Clients) == 0 {
		return errors.New("Clients: want at least one client count")
	}
	for _, n := range c.Clients {
		if n < 1 {
			return fmt.Errorf("Clients %v: want counts of 1 or more", c.Clients)
		}
	}
	if c.GroupedLimit > len(passages) || c.SingleLimit > len(passages) {
		return fmt.Errorf("GroupedLimit %d, SingleLimit %d: the classes hold %d passages", c.GroupedLimit, c.SingleLimit, len(passages))
	}
	return nil
}

// QueueLength is our limits.queueLength: every generation the clients can
// have in flight at once (the largest client count times SingleLimit)
// with room to spare, at least 64.
func (c Config) QueueLength() int {
	most := 0
	for _, n := range c.Clients {
		most = max(most, n*c.SingleLimit)
	}
	return max(64, most+most/2)
}

// Timeout is our limits.requestTimeout and Weaviate's
// MODULES_CLIENT_TIMEOUT (generative-ollama's HTTP timeout, 50 s by
// default): both long enough that only a hung generation fails.
const Timeout = 10 * time.Minute

// Class names and ollama's model name.
const (
	oursClass   = "ServingAsmr"
	ollamaClass = "ServingOllama"
	ollamaModel = "asmr-serving-gemma"
	// ollamaTemplate sends the prompt as it is, as our chatTemplate none.
	ollamaTemplate = "{{ .Prompt }}"
)

// side is one class and what serves it.
type side struct {
	name, class string
	ours        bool
	pids        func() []int // the processes that serve it, for CPU time
	runs        [][]result   // per measurement kind, per round
	// examples: one grouped and one single prompt as the module built it.
	groupedPrompt, singlePrompt string
}

// kind is one measurement: the groupedResult latency, or singleResult
// throughput with some clients.
type kind struct {
	grouped bool
	clients int
}

func (k kind) String() string {
	if k.grouped {
		return "groupedResult latency"
	}
	if k.clients == 1 {
		return "singleResult, 1 client"
	}
	return fmt.Sprintf("singleResult, %d clients", k.clients)
}

// bench is one run's state.
type bench struct {
	cfg    Config
	client *weaviate.Client
	proxy  *countingProxy
	kinds  []kind
}

// Run starts one weaviate-asmr node with generative-asmr and
// generative-ollama, and `ollama serve` behind a counting proxy; creates
// both classes with the same passages; measures them in cfg.Rounds
// interleaved rounds and returns the report. Everything it started is
// stopped before it returns.
func Run(ctx context.Context, cfg Config) (string, error) {
	if err := cfg.Check(); err != nil {
		return "", err
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	logf := func(f string, a ...any) { fmt.Fprintf(cfg.Log, f+"\n", a...) }
	work, err := filepath.Abs(cfg.Work)
	if err != nil {
		return "", err
	}
	model, err := filepath.Abs(cfg.Model)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(model); err != nil {
		return "", fmt.Errorf("model: %w", err)
	}
	if err := emptyWork(work); err != nil {
		return "", err
	}

	// ollama serve, the model created with our settings baked in, and the
	// counting proxy in front of it.
	ollamaLog := filepath.Join(work, "ollama.log")
	logf("starting ollama serve (log %s) ...", ollamaLog)
	peer, err := ollamapeer.Start(ctx, cfg.Ollama, filepath.Join(work, "ollama-models"), ollamaLog,
		fmt.Sprintf("OLLAMA_NUM_PARALLEL=%d", cfg.Slots), "OLLAMA_KEEP_ALIVE=24h", "OLLAMA_MAX_LOADED_MODELS=1")
	if err != nil {
		return "", err
	}
	defer peer.Stop()
	if err := peer.CreateWith(ctx, ollamaModel, model, ollamapeer.Modelfile{Template: ollamaTemplate, Parameters: ollamaParameters(cfg)}); err != nil {
		return "", err
	}
	proxy, err := startProxy(peer.URL)
	if err != nil {
		return "", err
	}
	defer proxy.Close()

	// One weaviate-asmr node with both modules; our model served with
	// Gemma's product settings.
	ops := filepath.Join(work, "asmr.yaml")
	profilePath := filepath.Join(work, profiles.Gemma3_270MName)
	if err := os.WriteFile(profilePath, profiles.Gemma3_270M, 0o644); err != nil {
		return "", err
	}
	if err := opsfile.Write(ops, "Written by asmr bench serving: profiles.GemmaOps with the benchmark's slots, threads, maxTokens, queueLength and requestTimeout.", oursOps(model, profilePath, cfg)); err != nil {
		return "", err
	}
	env := map[string]string{
		"ENABLE_MODULES":         "generative-asmr,generative-ollama",
		"MODULES_CLIENT_TIMEOUT": Timeout.String(),
	}
	for _, k := range config.EnvNames { // nothing inherited overrides the ops file
		env[k] = ""
	}
	env[config.EnvConfig] = ops
	node, err := localcluster.New(localcluster.Config{
		Bin: cfg.Weaviate, Dir: filepath.Join(work, "weaviate"), Nodes: 1, Env: env,
		Logf: func(f string, a ...any) { logf("  "+f, a...) },
	})
	if err != nil {
		return "", err
	}
	defer node.Stop()
	logf("starting weaviate-asmr (log %s) ...", node.Nodes[0].LogPath)
	if err := node.Start(ctx); err != nil {
		return "", err
	}
	wc, err := weaviatehttp.New(node.Nodes[0].URL(), nil, Timeout)
	if err != nil {
		return "", err
	}

	b := &bench{cfg: cfg, client: wc, proxy: proxy, kinds: []kind{{grouped: true}}}
	for _, n := range cfg.Clients {
		b.kinds = append(b.kinds, kind{clients: n})
	}
	weaviatePID := node.Nodes[0].PID
	pids := func() []int { return append([]int{weaviatePID, peer.PID()}, cluster.ChildPIDs(peer.PID())...) }
	sides := []*side{
		{name: "generative-asmr", class: oursClass, ours: true, pids: pids},
		{name: "generative-ollama + ollama serve", class: ollamaClass, pids: pids},
	}
	for _, s := range sides {
		s.runs = make([][]result, len(b.kinds))
		if err := b.setup(ctx, s, proxy.URL); err != nil {
			return "", fmt.Errorf("%s: %w", s.name, err)
		}
	}
	runner, err := peer.RunnerInfo()
	if err != nil {
		logf("cannot read how ollama ran the model: %v", err)
	}

	for r := 0; r < cfg.Rounds; r++ {
		for k, kd := range b.kinds {
			for j := range sides {
				s := sides[(j+r)%len(sides)] // rotate which class goes first
				res, err := b.measure(ctx, s, kd, r)
				if err != nil {
					return "", fmt.Errorf("%s, %s: %w", s.name, kd, err)
				}
				s.runs[k] = append(s.runs[k], res)
				logf("round %d, %s, %s: %s", r+1, kd, s.name, res.summary(kd))
				if res.generations > 0 && res.genErrors == res.generations {
					return "", fmt.Errorf("%s, %s: every generation failed, the first with: %s", s.name, kd, res.firstErr)
				}
			}
		}
	}
	return report(sides, b.kinds, cfg, runner, model), nil
}

// ollamaParameters are the model parameters ollama gets at create time:
// generative-ollama sends only the model, the prompt and a temperature.
func ollamaParameters(cfg Config) map[string]any {
	return map[string]any{
		"num_ctx": cfg.ContextSize, "num_thread": cfg.Threads, "temperature": 0,
		"num_predict": cfg.MaxTokens, "stop": []string{profiles.GemmaStop},
	}
}

// oursOps is the product's Gemma configuration (opsfile.Gemma, the text of
// profiles.GemmaOps) with the benchmark's slots, threads, maxTokens,
// queueLength and requestTimeout.
func oursOps(model, profilePath string, cfg Config) *config.Ops {
	ops := opsfile.Gemma(model, profilePath, cfg.Slots, cfg.ContextSize)
	ops.Models["gemma"].Threads = cfg.Threads
	maxTokens, queue := cfg.MaxTokens, cfg.QueueLength()
	ops.Defaults.MaxTokens = &maxTokens
	ops.Limits.QueueLength = &queue
	ops.Limits.RequestTimeout = &config.Duration{Duration: Timeout}
	return ops
}

// setup creates s's class, imports the passages and sends one grouped and
// one single query with debug on until they answer (the first loads the
// model), keeping the prompts the module built.
func (b *bench) setup(ctx context.Context, s *side, ollamaURL string) error {
	mc := map[string]any{"generative-asmr": map[string]any{"model": "gemma", "temperature": 0}}
	if !s.ours {
		mc = map[string]any{"generative-ollama": map[string]any{"apiEndpoint": ollamaURL, "model": ollamaModel}}
	}
	class := &models.Class{
		Class:        s.class,
		Properties:   []*models.Property{{Name: "text", DataType: []string{"text"}}, {Name: "lang", DataType: []string{"text"}}},
		VectorConfig: map[string]models.VectorConfig{"default": {Vectorizer: map[string]any{"none": map[string]any{}}, VectorIndexType: "hnsw"}},
		ModuleConfig: mc,
	}
	if err := b.client.Schema().ClassCreator().WithClass(class).Do(ctx); err != nil {
		return fmt.Errorf("create class: %w", weaviatehttp.Error(err))
	}
	objs := make([]*models.Object, len(passages))
	for i, p := range passages {
		objs[i] = &models.Object{Class: s.class, Properties: map[string]any{"text": p.text, "lang": p.lang}, Vectors: models.Vectors{"default": passageVector(i)}}
	}
	res, err := b.client.Batch().ObjectsBatcher().WithObjects(objs...).Do(ctx)
	if err == nil {
		err = weaviatehttp.BatchError(res)
	}
	if err != nil {
		return fmt.Errorf("import: %w", weaviatehttp.Error(err))
	}
	fmt.Fprintf(b.cfg.Log, "%s: class %s, %d passages; warming up (the first query loads the model) ...\n", s.name, s.class, len(passages))
	deadline := time.Now().Add(5 * time.Minute)
	for _, grouped := range []bool{true, false} {
		for {
			a, err := b.query(ctx, s, grouped, 0, true)
			if err == nil && a.genErrors > 0 {
				err = errors.New(a.firstErr)
			}
			if err == nil {
				if grouped {
					s.groupedPrompt = a.prompt
				} else {
					s.singlePrompt = a.prompt
				}
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("warm-up: %w", err)
			}
			time.Sleep(2 * time.Second)
		}
	}
	return nil
}

// measure runs one measurement of kind kd on s in round r: the grouped
// queries one after another, or each client's single queries back to
// back. Both sides get the same query numbers.
func (b *bench) measure(ctx context.Context, s *side, kd kind, r int) (result, error) {
	clients, per := 1, b.cfg.GroupedQueries
	if !kd.grouped {
		clients, per = kd.clients, b.cfg.SingleQueries
	}
	var res result
	var mu sync.Mutex
	var wg sync.WaitGroup
	cpu0, proc0, tok0 := cluster.CPUTimes(), cluster.ProcTicks(s.pids()...), b.proxy.counts()
	begin := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q := 0; q < per && ctx.Err() == nil; q++ {
				i := r*clients*per + c*per + q
				t0 := time.Now()
				a, err := b.query(ctx, s, kd.grouped, i, false)
				d := time.Since(t0)
				mu.Lock()
				res.add(a, d, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.wall = time.Since(begin)
	res.cpuBusy = cluster.CPUTimes().BusySince(cpu0)
	res.procCPU = float64(cluster.ProcTicks(s.pids()...)-proc0) / cluster.ClockTicks / res.wall.Seconds()
	if !s.ours {
		d := b.proxy.counts().minus(tok0)
		res.counted, res.promptTokens, res.completionTokens = d.Generations, d.PromptTokens, d.EvalTokens
	}
	return res, nil
}

// workMark is the file that marks a work folder as this benchmark's.
const workMark = ".asmr-bench-serving"

// emptyWork empties dir for a run and marks it as the benchmark's. A
// folder that holds anything and lacks the mark is left alone: -work .
// would otherwise delete a checkout.
func emptyWork(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("-work %s: %w", dir, err)
	case len(ents) > 0:
		if _, err := os.Stat(filepath.Join(dir, workMark)); err != nil {
			return fmt.Errorf("-work %s holds files that asmr bench serving did not write (no %s): give a new or empty folder, since each run empties it", dir, workMark)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, workMark), nil, 0o644)
}
