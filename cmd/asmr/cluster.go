package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/asmr-search/generative-asmr/internal/localcluster"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// The cluster command runs several weaviate-asmr nodes as one Weaviate
// cluster on this machine (loopback ports), for trying replication and
// load spreading locally; docs/cluster.md describes a real deployment.
const clusterUsage = `usage: asmr cluster <up|down|status|bench> [flags]

  up      start N weaviate-asmr nodes as one cluster on loopback; they keep
          running after this command returns (each in its own session)
  down    stop the nodes of a cluster started by up (SIGTERM, then SIGKILL)
  status  show the nodes' processes, readiness and /v1/nodes
  bench   measure grouped-generate throughput on 1 node and on N nodes

Run 'asmr cluster <sub> -h' for its flags.
`

// stateFile is the state file's name inside the cluster folder.
const stateFile = "cluster.json"

func runCluster(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(os.Stderr, clusterUsage)
		return flag.ErrHelp
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "up":
		return clusterUp(ctx, rest)
	case "down":
		return clusterDown(ctx, rest)
	case "status":
		return clusterStatus(ctx, rest)
	case "bench":
		return clusterBench(ctx, rest)
	case "help":
		fmt.Fprint(os.Stderr, clusterUsage)
		return nil
	}
	fmt.Fprint(os.Stderr, clusterUsage)
	return fmt.Errorf("unknown subcommand %q", sub)
}

func clusterFlags(sub, args string) *flag.FlagSet {
	f := flag.NewFlagSet("asmr cluster "+sub, flag.ContinueOnError)
	f.Usage = func() {
		fmt.Fprintf(f.Output(), "usage: asmr cluster %s %s\n\nflags:\n", sub, args)
		f.PrintDefaults()
	}
	return f
}

// envList is a repeatable KEY=VALUE flag.
type envList map[string]string

func (e envList) String() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k+"="+e[k])
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

func (e envList) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	e[k] = val
	return nil
}

func clusterUp(ctx context.Context, args []string) error {
	fset := clusterFlags("up", "[-n 3] [-dir .cache/cluster] [-config ops.yaml] [-bin bin/weaviate-asmr]")
	n := fset.Int("n", 3, "number of nodes")
	dir := fset.String("dir", ".cache/cluster", "cluster folder: node data, logs, state file ("+stateFile+")")
	cfgPath := fset.String("config", "", "ops YAML (ASMR_CONFIG) of every node; empty = the embedded default of `asmr run` (Gemma 3 270M, steered), written into -dir")
	defaultModel := fset.String("model", ".cache/models/gemma-3-270m-q4_k_m.gguf", "the GGUF of the embedded default, without -config (make model fetches it)")
	bin := fset.String("bin", "bin/weaviate-asmr", "weaviate-asmr binary")
	threads := fset.Int("threads", 0, "ASMR_THREADS of every node: decoding threads per slot (0 = the config's; with the default config, CPUs / nodes)")
	slots := fset.Int("slots", 0, "ASMR_SLOTS of every node: generations at once per node (0 = the config's)")
	timeout := fset.Duration("timeout", 5*time.Minute, "how long to wait for every node to be ready")
	env := envList{}
	fset.Var(env, "env", "extra KEY=VALUE for every node (repeatable), e.g. -env LOG_LEVEL=debug")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *n < 1 {
		return fmt.Errorf("-n %d: want at least 1", *n)
	}
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	statePath := filepath.Join(absDir, stateFile)

	// A cluster of this folder that still runs is stopped first, by down.
	var ports []localcluster.Ports
	if old, err := localcluster.LoadState(statePath); err == nil {
		for _, nd := range old.Nodes {
			if nd.PID != 0 && localcluster.Alive(nd.PID, old.Bin, nd.Ports.HTTP) {
				return fmt.Errorf("%s is running (pid %d) from %s: run `asmr cluster down -dir %s` first", nd.Name, nd.PID, statePath, *dir)
			}
		}
		// Same nodes again: keep their ports, which their Raft logs know.
		if len(old.Nodes) == *n && localcluster.PortsFree(old.Ports()) {
			ports = old.Ports()
		} else if len(old.Nodes) > 0 {
			fmt.Fprintf(os.Stderr, "note: the ports of %s cannot be reused (node count changed or a port is taken); if the nodes do not form a cluster, remove %s and start again\n", statePath, absDir)
		}
	}

	if *cfgPath == "" {
		// The embedded default of `asmr run`: Gemma 3 270M and its shipped
		// profile.
		if err := os.MkdirAll(absDir, 0o755); err != nil {
			return err
		}
		if *cfgPath, err = embeddedDefault(absDir, *defaultModel); err != nil {
			return err
		}
		if *threads <= 0 {
			// The nodes share this machine's CPUs.
			*threads = max(1, runtime.NumCPU() / *n)
		}
	}
	if *threads > 0 {
		env["ASMR_THREADS"] = fmt.Sprint(*threads)
	}
	if *slots > 0 {
		env["ASMR_SLOTS"] = fmt.Sprint(*slots)
	}
	if *cfgPath, err = filepath.Abs(*cfgPath); err != nil {
		return err
	}
	if _, err := os.Stat(*cfgPath); err != nil {
		return fmt.Errorf("-config: %w", err)
	}
	env["ASMR_CONFIG"] = *cfgPath

	c, err := localcluster.New(localcluster.Config{
		Bin: *bin, Dir: absDir, Nodes: *n, Env: env, Ports: ports,
		Detach: true, ReadyTimeout: *timeout, StatePath: statePath,
		Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) },
	})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err // Start stopped what it started
	}
	st, _, err := localcluster.Nodes(ctx, c.Nodes[0].URL(), true)
	if err != nil {
		return err
	}
	fmt.Println()
	printNodes(c.Nodes, st)
	fmt.Printf("\nstate: %s\nstop:  asmr cluster down -dir %s\n", statePath, *dir)
	return nil
}

func printNodes(nodes []*localcluster.Node, st []localcluster.NodeStatus) {
	byName := map[string]localcluster.NodeStatus{}
	for _, s := range st {
		byName[s.Name] = s
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "node\tpid\tHTTP\tgRPC\tgossip/data\traft/rpc\tstatus\tobjects\tlog")
	for _, n := range nodes {
		pid, status, objects := "-", "-", "-"
		if n.PID != 0 {
			pid = fmt.Sprint(n.PID)
		}
		if s, ok := byName[n.Name]; ok {
			status = s.Status
			if s.Stats != nil {
				objects = fmt.Sprint(s.Stats.ObjectCount)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%d/%d\t%s\t%s\t%s\n", n.Name, pid, n.URL(), n.GRPCAddr(),
			n.Ports.Gossip, n.Ports.Gossip+1, n.Ports.Raft, n.Ports.Raft+1, status, objects, n.LogPath)
	}
	tw.Flush()
}

func clusterDown(ctx context.Context, args []string) error {
	fset := clusterFlags("down", "[-dir .cache/cluster]")
	dir := fset.String("dir", ".cache/cluster", "cluster folder given to up")
	grace := fset.Duration("timeout", 15*time.Second, "wait after SIGTERM before SIGKILL")
	if err := fset.Parse(args); err != nil {
		return err
	}
	statePath := filepath.Join(*dir, stateFile)
	s, err := localcluster.LoadState(statePath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no cluster state in %s (was `asmr cluster up -dir %s` run?)", *dir, *dir)
		}
		return err
	}
	c, err := localcluster.Attach(s, localcluster.Config{
		StopTimeout: *grace, StatePath: statePath,
		Logf: func(f string, a ...any) { fmt.Printf(f+"\n", a...) },
	})
	if err != nil {
		return err
	}
	running := 0
	for i := range c.Nodes {
		if c.Running(i) {
			running++
		}
	}
	if running == 0 {
		fmt.Println("no node of this cluster is running")
	}
	// Stop clears the PIDs in the state file and keeps the ports, so a
	// later up starts the same nodes on the same ports.
	return c.Stop()
}

func clusterStatus(ctx context.Context, args []string) error {
	fset := clusterFlags("status", "[-dir .cache/cluster]")
	dir := fset.String("dir", ".cache/cluster", "cluster folder given to up")
	if err := fset.Parse(args); err != nil {
		return err
	}
	statePath := filepath.Join(*dir, stateFile)
	s, err := localcluster.LoadState(statePath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no cluster state in %s (was `asmr cluster up -dir %s` run?)", *dir, *dir)
		}
		return err
	}
	c, err := localcluster.Attach(s, localcluster.Config{})
	if err != nil {
		return err
	}
	fmt.Printf("cluster %s (%d nodes), config %s, binary %s\n", s.Dir, len(s.Nodes), s.Config, s.Bin)
	var st []localcluster.NodeStatus
	var stErr error
	up := 0
	for i, n := range c.Nodes {
		if !c.Running(i) {
			n.PID = 0
			continue
		}
		up++
		ready := localcluster.Ready(ctx, n.URL())
		fmt.Printf("  %s pid %d: ready=%v\n", n.Name, n.PID, ready)
		if st == nil {
			st, _, stErr = localcluster.Nodes(ctx, n.URL(), true)
		}
	}
	fmt.Println()
	printNodes(c.Nodes, st)
	switch {
	case up == 0:
		fmt.Println("\nstopped (start with: asmr cluster up -dir " + *dir + ")")
	case stErr != nil:
		return stErr
	case localcluster.Healthy(st) != len(c.Nodes):
		return fmt.Errorf("%d of %d nodes HEALTHY", localcluster.Healthy(st), len(c.Nodes))
	}
	return nil
}

// ---- bench ----

// clusterBench measures grouped-generate throughput on one node and on N
// nodes (queries spread round-robin), with the same slots per node, the
// same queries and the same concurrency, and on one node with N times the
// slots (the cluster's total), which separates the cluster's own cost from
// the effect of having more slots. The three run side by side and are
// measured in interleaved rounds; the report gives medians.
func clusterBench(ctx context.Context, args []string) error {
	fset := clusterFlags("bench", "[-nodes 3] [-queries 36] [-concurrency 6] [flags]")
	var sf specFlags
	sf.register(fset, "tiny")
	nodes := fset.Int("nodes", 3, "nodes of the cluster compared with one node")
	queries := fset.Int("queries", 36, "grouped generate queries per measurement")
	conc := fset.Int("concurrency", 6, "queries in flight at once (over all nodes)")
	slots := fset.Int("slots", 2, "slots per node")
	threads := fset.Int("threads", 1, "decoding threads per slot")
	rounds := fset.Int("rounds", 3, "interleaved rounds (the report gives medians)")
	maxTokens := fset.Int("max-tokens", 32, "tokens generated per query (the bench model never ends early)")
	passages := fset.Int("passages", 3, "passages per grouped query (nearVector limit)")
	modelPath := fset.String("model", "", "GGUF to serve (default: a synthetic model written into -dir, shape from the model flags; without any, 8 layers x 8 heads x d_h 64, F16)")
	dir := fset.String("dir", ".cache/cluster-bench", "work folder (nodes' data and logs, model, ops file)")
	bin := fset.String("bin", "bin/weaviate-asmr", "weaviate-asmr binary")
	out := fset.String("out", "bench/cluster.md", "report to write (empty: print only)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *nodes < 2 || *queries < 1 || *conc < 1 || *slots < 1 || *threads < 1 || *passages < 1 || *rounds < 1 {
		return errors.New("want -nodes >= 2 and positive -queries, -concurrency, -slots, -threads, -passages, -rounds")
	}
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(absDir, 0o755); err != nil {
		return err
	}
	modelDesc := *modelPath
	if *modelPath == "" {
		shapeSet := false
		fset.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "shape", "layers", "heads", "kv-heads", "head-dim", "ffn", "vocab", "type":
				shapeSet = true
			}
		})
		if !shapeSet {
			sf.layers, sf.heads, sf.kvHeads, sf.headDim, sf.ffn, sf.typ = 8, 8, 4, 64, 1536, "f16"
		}
		spec, err := sf.spec()
		if err != nil {
			return err
		}
		spec.Name = "asmr-cluster-bench"
		*modelPath = filepath.Join(absDir, fmt.Sprintf("bench-%dL-%dH-%dkv-%dd-ffn%d-%s-seed%d.gguf", spec.Layers, spec.Heads, spec.KVHeads, spec.HeadDim, spec.FFN, spec.Type, spec.Seed))
		if _, err := os.Stat(*modelPath); err != nil {
			// Zero the end-of-text logit row, so every answer is exactly
			// -max-tokens long and every configuration decodes the same work.
			w := testmodel.Random(spec)
			e := spec.Embd()
			clear(w.Output[testmodel.EOS*e : (testmodel.EOS+1)*e])
			if err := testmodel.Write(*modelPath, spec, w); err != nil {
				return err
			}
		}
		modelDesc = fmt.Sprintf("synthetic llama model with random weights (%d layers, %d heads, %d KV heads, d_h %d, FFN %d, %s, byte vocabulary; end-of-text never sampled)",
			spec.Layers, spec.Heads, spec.KVHeads, spec.HeadDim, spec.FFN, spec.Type)
	}
	if *modelPath, err = filepath.Abs(*modelPath); err != nil {
		return err
	}
	ops := filepath.Join(absDir, "asmr.yaml")
	opsText := fmt.Sprintf(`# Written by asmr cluster bench (slots are set per cluster with ASMR_SLOTS).
models:
  bench:
    path: %q
    threads: %d
    contextSize: 2048
    slots: %d
defaults:
  maxTokens: %d
limits:
  queueLength: 64
  requestTimeout: 5m
languages: [en, de, fr, es]
`, *modelPath, *threads, *slots, *maxTokens)
	if err := os.WriteFile(ops, []byte(opsText), 0o644); err != nil {
		return err
	}

	b := &benchRun{queries: *queries, conc: *conc, passages: *passages}
	configs := []*benchConfigCluster{
		{name: fmt.Sprintf("1 node, %d slots", *slots), nodes: 1, slots: *slots},
		{name: fmt.Sprintf("1 node, %d slots (the cluster's total)", *nodes**slots), nodes: 1, slots: *nodes * *slots},
		{name: fmt.Sprintf("%d nodes, %d slots each", *nodes, *slots), nodes: *nodes, slots: *slots},
	}
	for _, cfg := range configs {
		d := filepath.Join(absDir, fmt.Sprintf("n%d-s%d", cfg.nodes, cfg.slots))
		if err := os.RemoveAll(d); err != nil {
			return err
		}
		fmt.Printf("starting %s in %s ...\n", cfg.name, d)
		c, err := localcluster.New(localcluster.Config{
			Bin: *bin, Dir: d, Nodes: cfg.nodes,
			Env:  map[string]string{"ASMR_CONFIG": ops, "ASMR_SLOTS": fmt.Sprint(cfg.slots), "ASMR_THREADS": ""},
			Logf: func(f string, a ...any) { fmt.Printf("  "+f+"\n", a...) },
		})
		if err != nil {
			return err
		}
		defer c.Stop()
		if err := c.Start(ctx); err != nil {
			return err
		}
		if err := b.setup(ctx, c); err != nil {
			return fmt.Errorf("%s: %w", cfg.name, err)
		}
		cfg.cluster = c
	}
	for r := 0; r < *rounds; r++ {
		for k := range configs {
			cfg := configs[(k+r)%len(configs)] // rotate the order
			res, err := b.measure(ctx, cfg.cluster)
			if err != nil {
				return fmt.Errorf("%s: %w", cfg.name, err)
			}
			cfg.runs = append(cfg.runs, res)
			fmt.Printf("round %d, %s: %d queries in %.1f s = %.2f queries/s (%.1f tokens/s), median latency %.2f s, nodes used %.2f CPUs, machine busy %.0f%%, %d errors\n",
				r+1, cfg.name, res.queries, res.wall.Seconds(), res.qps(), res.tps(), res.median().Seconds(), res.nodesCPU, res.cpuBusy*100, res.errors)
		}
	}
	report := clusterBenchReport(configs, modelDesc, *threads, *maxTokens, *passages, *queries, *conc, *rounds)
	fmt.Println()
	fmt.Print(report)
	if *out != "" {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			return err
		}
		fmt.Printf("\nwrote %s\n", *out)
	}
	return nil
}

// benchConfigCluster is one measured setup.
type benchConfigCluster struct {
	name         string
	nodes, slots int
	cluster      *localcluster.Cluster
	runs         []benchResult
}

// median returns the run with the median throughput.
func (c *benchConfigCluster) median() benchResult {
	rs := slices.Clone(c.runs)
	slices.SortFunc(rs, func(a, b benchResult) int { return cmpFloat(a.qps(), b.qps()) })
	return rs[len(rs)/2]
}

// medianPerCPU is the median over rounds of answered queries per second of
// the nodes' own CPU time: throughput that other work on a shared machine
// disturbs less than queries/s.
func (c *benchConfigCluster) medianPerCPU() float64 {
	var v []float64
	for _, r := range c.runs {
		v = append(v, r.perCPU())
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// spread is the largest relative difference between two rounds' queries/s.
func (c *benchConfigCluster) spread() float64 {
	lo, hi := math.Inf(1), 0.0
	for _, r := range c.runs {
		lo, hi = min(lo, r.qps()), max(hi, r.qps())
	}
	return hi/lo - 1
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type benchRun struct {
	queries, conc, passages int
}

type benchResult struct {
	queries, errors int
	wall            time.Duration
	latencies       []time.Duration
	tokens          int
	cpuBusy         float64 // share of all CPUs busy during the run
	nodesCPU        float64 // CPUs the cluster's processes used, on average
	firstErr        string
}

func (r benchResult) qps() float64 { return float64(r.queries-r.errors) / r.wall.Seconds() }
func (r benchResult) tps() float64 { return float64(r.tokens) / r.wall.Seconds() }

// perCPU is answered queries per second of the nodes' CPU time.
func (r benchResult) perCPU() float64 {
	if r.nodesCPU <= 0 {
		return 0
	}
	return r.qps() / r.nodesCPU
}
func (r benchResult) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	l := slices.Clone(r.latencies)
	slices.Sort(l)
	return l[min(len(l)-1, int(q*float64(len(l))))]
}
func (r benchResult) median() time.Duration { return r.quantile(0.5) }
func (r benchResult) p90() time.Duration    { return r.quantile(0.9) }

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

func benchVector(i int) []float32 {
	v := make([]float32, 8)
	v[i%8] = 1
	v[(i/8+3)%8] += 0.5
	return v
}

// setup creates the class (replicated on every node), imports the
// passages and warms every node up with one query.
func (b *benchRun) setup(ctx context.Context, c *localcluster.Cluster) error {
	n := len(c.Nodes)
	first := c.Nodes[0].URL()
	class := map[string]any{
		"class":             benchClass,
		"properties":        []map[string]any{{"name": "text", "dataType": []string{"text"}}, {"name": "lang", "dataType": []string{"text"}}},
		"vectorConfig":      map[string]any{"default": map[string]any{"vectorizer": map[string]any{"none": map[string]any{}}, "vectorIndexType": "hnsw"}},
		"replicationConfig": map[string]any{"factor": n},
		"moduleConfig":      map[string]any{"generative-asmr": map[string]any{"model": "bench", "temperature": 0}},
	}
	if err := clusterJSON(ctx, http.MethodPost, first+"/v1/schema", class, nil); err != nil {
		return fmt.Errorf("create class: %w", err)
	}
	var objs []map[string]any
	for i, t := range benchTexts {
		objs = append(objs, map[string]any{"class": benchClass, "properties": map[string]any{"text": t.text, "lang": t.lang}, "vectors": map[string]any{"default": benchVector(i)}})
	}
	if err := clusterJSON(ctx, http.MethodPost, first+"/v1/batch/objects", map[string]any{"objects": objs}, nil); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	for i, nd := range c.Nodes {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			_, err := b.query(ctx, nd.URL(), i)
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

// measure sends b.queries grouped queries, b.conc at a time, query i to
// node i mod N.
func (b *benchRun) measure(ctx context.Context, c *localcluster.Cluster) (benchResult, error) {
	n := len(c.Nodes)
	res := benchResult{queries: b.queries}
	var mu sync.Mutex
	next := make(chan int)
	var wg sync.WaitGroup
	cpu0, proc0 := cpuTimes(), procTicks(c)
	begin := time.Now()
	for w := 0; w < b.conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				toks, err := b.query(ctx, c.Nodes[i%n].URL(), i)
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
	for i := 0; i < b.queries; i++ {
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
	if cpu1 := cpuTimes(); cpu1.total > cpu0.total {
		res.cpuBusy = float64(cpu1.busy-cpu0.busy) / float64(cpu1.total-cpu0.total)
	}
	res.nodesCPU = float64(procTicks(c)-proc0) / clockTicks / res.wall.Seconds()
	return res, nil
}

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat times.
const clockTicks = 100

// procTicks sums the CPU time (user + system, every thread) of the
// cluster's processes, from /proc/<pid>/stat.
func procTicks(c *localcluster.Cluster) uint64 {
	var sum uint64
	for _, n := range c.Nodes {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n.PID))
		if err != nil {
			continue
		}
		// Fields after the parenthesised name: state is field 3, utime 14, stime 15.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		var u, st uint64
		fmt.Sscan(f[11], &u)
		fmt.Sscan(f[12], &st)
		sum += u + st
	}
	return sum
}

type cpuSample struct{ busy, total uint64 }

// cpuTimes reads the machine's CPU time from /proc/stat (zero elsewhere).
func cpuTimes() cpuSample {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var s cpuSample
	for i, v := range f[1:] {
		var x uint64
		fmt.Sscan(v, &x)
		s.total += x
		if i != 3 && i != 4 { // idle, iowait
			s.busy += x
		}
	}
	return s
}

// query sends grouped generate query number i to url and returns the
// completion tokens.
func (b *benchRun) query(ctx context.Context, url string, i int) (int, error) {
	v, _ := json.Marshal(benchVector(i * 5))
	q := fmt.Sprintf(`{ Get { %s(nearVector: {vector: %s, targetVectors: ["default"]}, limit: %d) { _additional { generate(groupedResult: {task: %q, properties: ["text"]}) { groupedResult error asmr { completionTokens } } } } } }`,
		benchClass, v, b.passages, fmt.Sprintf("%s (%d)", benchQuestions[i%len(benchQuestions)], i))
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
	if err := clusterGraphQL(ctx, url, q, &data); err != nil {
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

func clusterBenchReport(configs []*benchConfigCluster, model string, threads, maxTokens, passages, queries, conc, rounds int) string {
	var b strings.Builder
	ncpu := runtime.NumCPU()
	one, total, cluster := configs[0], configs[1], configs[len(configs)-1]
	fmt.Fprintf(&b, "# Cluster throughput: grouped generate queries, 1 node and %d nodes\n\n", cluster.nodes)
	fmt.Fprintf(&b, "Written by `asmr cluster bench` (`make bench-cluster`) on %s, on %s with **%d CPUs**; every node on this one machine.\n\n",
		time.Now().UTC().Format("2006-01-02"), cpuModel(), ncpu)
	fmt.Fprintf(&b, "- Model: %s, unsteered, greedy.\n", model)
	fmt.Fprintf(&b, "- Each slot decodes with %d thread(s); %d generated tokens per answer.\n", threads, maxTokens)
	fmt.Fprintf(&b, "- Load: %d GraphQL `groupedResult` queries (nearVector, %d passages each), %d in flight at once; on the cluster, query *i* goes to node *i mod N* (round-robin over the nodes' HTTP ports). The class has `replicationConfig.factor` = the node count.\n", queries, passages, conc)
	fmt.Fprintf(&b, "- The configurations run side by side and are measured in %d interleaved rounds after a warm-up query on every node; the table gives medians over the rounds. *Nodes' CPUs* is the CPU time of the configuration's own processes per second of the run; *machine busy* is the share of all %d CPUs in use by anything (this machine is shared, so other work shows there). *Queries per CPU-second* divides queries/s by the nodes' CPUs: the throughput per unit of CPU the nodes actually got, which other work on the machine disturbs less.\n\n", rounds, ncpu)
	fmt.Fprintln(&b, "| configuration | queries/s | queries per CPU-second | generated tokens/s | median latency s | p90 latency s | nodes' CPUs | machine busy | errors | queries/s of every round |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range configs {
		m := c.median()
		var all []string
		errs := 0
		for _, r := range c.runs {
			all = append(all, fmt.Sprintf("%.2f", r.qps()))
			errs += r.errors
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.1f | %.2f | %.2f | %.2f | %.0f%% | %d | %s |\n",
			c.name, m.qps(), c.medianPerCPU(), m.tps(), m.median().Seconds(), m.p90().Seconds(), m.nodesCPU, m.cpuBusy*100, errs, strings.Join(all, ", "))
	}
	spread := 0.0
	for _, c := range configs {
		spread = max(spread, c.spread())
	}
	if len(configs[0].runs) > 1 {
		fmt.Fprintf(&b, "\nRounds of one configuration differed by up to %.0f%% in queries/s (other work on this shared machine); compare the ratios, measured side by side, rather than absolute figures.\n", spread*100)
	}
	fmt.Fprintf(&b, "\nRatios of median queries/s: %s / %s = **%.2f**; %s / %s = **%.2f**.\n",
		cluster.name, one.name, cluster.median().qps()/one.median().qps(),
		cluster.name, total.name, cluster.median().qps()/total.median().qps())
	fmt.Fprintf(&b, "Ratios of median queries per CPU-second: %s / %s = **%.2f**; %s / %s = **%.2f**.\n\n",
		cluster.name, one.name, cluster.medianPerCPU()/one.medianPerCPU(),
		cluster.name, total.name, cluster.medianPerCPU()/total.medianPerCPU())
	for _, c := range configs {
		for _, r := range c.runs {
			if r.firstErr != "" {
				fmt.Fprintf(&b, "First error, %s: `%s`\n\n", c.name, r.firstErr)
				break
			}
		}
	}
	fmt.Fprintf(&b, "**Read these ratios as overhead, not gain.** On this %d-CPU machine all %d nodes share the same cores: "+
		"their decoding threads compete for the same CPUs, and Weaviate's own work (replicated reads, Raft, memberlist) runs on them too. "+
		"The cluster cannot decode faster than the machine. Where it beats one node with the same slots per node, it is because it has %d times the slots in flight, "+
		"which fill CPU time that one node's %d slots leave idle between decode steps (compare the nodes' CPUs); "+
		"the fair comparison for the cluster's own cost is one node with the cluster's total slots (the second row).\n\n",
		ncpu, cluster.nodes, cluster.nodes, one.slots)
	fmt.Fprintf(&b, "On separate machines the expected ratio is about N (here %d), minus the load balancer's and replication's "+
		"overhead: a query's generation runs entirely on the node that received it (Weaviate computes the `generate` "+
		"additional property on the coordinating node after it has gathered the objects; see docs/cluster.md), so each "+
		"node generates with its own CPU (or GPU) and slots. That was not measured here.\n", cluster.nodes)
	return b.String()
}

// ---- small HTTP helpers ----

var clusterHTTP = &http.Client{Timeout: 10 * time.Minute}

// clusterJSON sends body as JSON and decodes a 2xx response into out (when
// not nil); a non-2xx status is an error with the body. A batch import's
// per-object errors are errors too.
func clusterJSON(ctx context.Context, method, url string, body, out any) error {
	enc, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(enc))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := clusterHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, url, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	if strings.HasSuffix(url, "/v1/batch/objects") {
		var res []struct {
			Result struct {
				Errors *struct {
					Error []struct {
						Message string `json:"message"`
					} `json:"error"`
				} `json:"errors"`
			} `json:"result"`
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			return err
		}
		for i, r := range res {
			if r.Result.Errors != nil && len(r.Result.Errors.Error) > 0 {
				return fmt.Errorf("object %d: %s", i, r.Result.Errors.Error[0].Message)
			}
		}
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// clusterGraphQL posts query to url's /v1/graphql and decodes "data" into out;
// GraphQL errors are an error.
func clusterGraphQL(ctx context.Context, url, query string, out any) error {
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := clusterJSON(ctx, http.MethodPost, url+"/v1/graphql", map[string]any{"query": query}, &resp); err != nil {
		return err
	}
	if len(resp.Errors) > 0 {
		var m []string
		for _, e := range resp.Errors {
			m = append(m, e.Message)
		}
		return errors.New(strings.Join(m, "; "))
	}
	return json.Unmarshal(resp.Data, out)
}
