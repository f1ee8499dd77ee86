package serving

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/asmr-search/generative-asmr/bench/internal/stats"
	"github.com/asmr-search/generative-asmr/bench/internal/sysinfo"
	"github.com/asmr-search/generative-asmr/bench/ollamapeer"
	"github.com/asmr-search/generative-asmr/profiles"
)

// result is one measurement of one side.
type result struct {
	// queries sent, failed ones among them (the request failed, or a
	// generation in it did); generations asked and failed.
	queries, failed        int
	generations, genErrors int
	firstErr               string
	wall                   time.Duration
	latencies              []time.Duration
	counted                int // generations whose tokens were counted
	promptTokens           int
	completionTokens       int
	procCPU                float64 // CPUs used by weaviate-asmr and ollama (serve and runner)
	cpuBusy                float64 // share of all CPUs busy
}

// add records one query.
func (r *result) add(a answer, d time.Duration, err error) {
	r.queries++
	r.latencies = append(r.latencies, d)
	r.generations += a.generations
	r.genErrors += a.genErrors
	r.counted += a.counted
	r.promptTokens += a.promptTokens
	r.completionTokens += a.completionTokens
	msg := a.firstErr
	if err != nil {
		msg = err.Error()
	}
	if err != nil || a.genErrors > 0 {
		r.failed++
		if a.generations == 0 { // the request failed: count its generations as failed
			r.generations++
			r.genErrors++
		}
		if r.firstErr == "" {
			r.firstErr = msg
		}
	}
}

// qps is answered queries (no generation failed) per second.
func (r result) qps() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.queries-r.failed) / r.wall.Seconds()
}

// median is the median query latency.
func (r result) median() time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	l := slices.Clone(r.latencies)
	slices.Sort(l)
	return l[len(l)/2]
}

// perQuery is the prompt and generated tokens of a query: the counted
// generations' means times the generations per query (1 for
// groupedResult, the limit for singleResult).
func (r result) perQuery() (prompt, gen float64) {
	if r.counted == 0 || r.queries == 0 {
		return 0, 0
	}
	k := float64(r.generations) / float64(r.queries) / float64(r.counted)
	return float64(r.promptTokens) * k, float64(r.completionTokens) * k
}

func (r result) summary(k kind) string {
	p, g := r.perQuery()
	figure := fmt.Sprintf("%.2f queries/s", r.qps())
	if k.grouped {
		figure = fmt.Sprintf("median latency %.2f s", r.median().Seconds())
	}
	s := fmt.Sprintf("%d queries in %.1f s, %s; %.0f prompt + %.1f generated tokens per query; %.2f CPUs, machine busy %.0f%%; %d of %d generations failed",
		r.queries, r.wall.Seconds(), figure, p, g, r.procCPU, r.cpuBusy*100, r.genErrors, r.generations)
	if r.firstErr != "" {
		s += ": " + r.firstErr
	}
	return s
}

// figure is the measured value of a result for its kind: median latency
// in seconds, or queries per second.
func figure(k kind, r result) float64 {
	if k.grouped {
		return r.median().Seconds()
	}
	return r.qps()
}

// medianOf is the median over rounds of figure (the mean of the middle
// two of an even count).
func medianOf(k kind, runs []result) float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = figure(k, r)
	}
	return stats.Median(v)
}

// medianRun is the round whose figure is nearest medianOf's (the first of
// two as near), whose tokens and CPU the tables show.
func medianRun(k kind, runs []result) result {
	m := medianOf(k, runs)
	var best result
	for i, r := range runs {
		if i == 0 || math.Abs(figure(k, r)-m) < math.Abs(figure(k, best)-m) {
			best = r
		}
	}
	return best
}

// target is a measurement's ratio ours/ollama and what it must reach.
type target struct {
	kind  kind
	ratio float64
	// limit: at most (latency) or at least (throughput).
	limit float64
}

// Target ratios: our median groupedResult latency at most 0.8 of
// ollama's; our singleResult queries/s at least ollama's.
const (
	LatencyTarget    = 0.8
	ThroughputTarget = 1.0
)

func (t target) met() bool {
	if t.kind.grouped {
		return t.ratio <= t.limit
	}
	return t.ratio >= t.limit
}

func (t target) String() string {
	cmp, verdict := "≥", "MISSED"
	if t.kind.grouped {
		cmp = "≤"
	}
	if t.met() {
		verdict = "met"
	}
	return fmt.Sprintf("| %s | %.2f | %s %.1f | **%s** |", t.kind, t.ratio, cmp, t.limit, verdict)
}

// targets are the ratios of ours (sides[0]) to ollama's (sides[1]) medians.
func targets(sides []*side, kinds []kind) []target {
	var ts []target
	for k, kd := range kinds {
		ours, theirs := medianOf(kd, sides[0].runs[k]), medianOf(kd, sides[1].runs[k])
		t := target{kind: kd, limit: ThroughputTarget}
		if kd.grouped {
			t.limit = LatencyTarget
		}
		if theirs > 0 {
			t.ratio = ours / theirs
		}
		ts = append(ts, t)
	}
	return ts
}

// report is the Markdown report; sides[0] is ours, sides[1] ollama's.
func report(sides []*side, kinds []kind, cfg Config, runner ollamapeer.RunnerInfo, model string) string {
	var b strings.Builder
	ncpu := runtime.NumCPU()
	fmt.Fprintf(&b, "# Serving: generative-asmr against generative-ollama + `ollama serve`, in one Weaviate\n\n")
	fmt.Fprintf(&b, "Written by `asmr bench serving` (`make bench-serving`) on %s, on %s with **%d CPUs**; Weaviate, its modules and `ollama serve` on this one machine.\n\n",
		time.Now().UTC().Format("2006-01-02"), sysinfo.CPUModel(), ncpu)

	fmt.Fprintf(&b, "## Settings\n\n")
	size := ""
	if st, err := os.Stat(model); err == nil {
		size = fmt.Sprintf(", %.0f MB", float64(st.Size())/1e6)
	}
	fmt.Fprintf(&b, "- Model: `%s`%s, the same file on both sides.\n", model, size)
	fmt.Fprintf(&b, "- Both: decoding threads %d, context per sequence %d tokens, sequences at once %d, generated tokens at most %d, stop at %q, greedy (temperature 0).\n",
		cfg.Threads, cfg.ContextSize, cfg.Slots, cfg.MaxTokens, profiles.GemmaStop)
	fmt.Fprintf(&b, "- **generative-asmr** (in-process llama.cpp): the product's Gemma settings (`profiles.GemmaOps`, `examples/asmr-gemma.yaml`): chatTemplate none, steered (direction %s, alphaCL %v, alphaAC %v, topK %d), the passages-first template; changed for the benchmark: slots %d, threads %d, maxTokens %d, queueLength %d, requestTimeout %s.\n",
		profiles.GemmaDirection, profiles.GemmaAlphaCL, profiles.GemmaAlphaAC, profiles.GemmaTopK, cfg.Slots, cfg.Threads, cfg.MaxTokens, cfg.QueueLength(), Timeout)
	fmt.Fprintf(&b, "- **generative-ollama** (Weaviate's module) → counting proxy → `ollama serve` built from the pinned module: OLLAMA_NUM_PARALLEL=%d, OLLAMA_KEEP_ALIVE=24h; the model created with template `%s` (the prompt as it is) and parameters %s, since generative-ollama sends only model, prompt and stream. MODULES_CLIENT_TIMEOUT=%s.\n",
		cfg.Slots, ollamaTemplate, paramsText(ollamaParameters(cfg)), Timeout)
	if runner.Engine != "" {
		engine := "llama.cpp runner"
		if runner.Engine == ollamapeer.EngineOllama {
			engine = "own Go engine"
		}
		fmt.Fprintf(&b, "- ollama ran the model on its %s: flash attention %s, %d threads, KV size %d (%d parallel), batch %d, mmap %s.\n",
			engine, orDash(runner.FlashAttention), runner.NumThreads, runner.KvSize, runner.Parallel, runner.BatchSize, orDash(runner.UseMmap))
	}
	fmt.Fprintf(&b, "- Data: two classes in the one node with the same %d passages (5 facts in %s; synthetic vectors, vectorizer none), queried with nearVector; the questions are in six languages. Both classes get the same queries in the same order.\n",
		len(passages), strings.Join(passageLangs, ", "))
	fmt.Fprintf(&b, "- Measurements, in %s (which class goes first rotates each round), after one warm-up query of each kind per class: ", count(cfg.Rounds, "round", "interleaved rounds"))
	fmt.Fprintf(&b, "(1) the latency of one `groupedResult` query over %d passages (%s one after another, median per round); ", cfg.GroupedLimit, count(cfg.GroupedQueries, "query", "queries"))
	fmt.Fprintf(&b, "(2) the queries/s of `singleResult` queries over `limit: %d` (%s per query), with %s, each client sending %s back to back. The tables give medians over the rounds and every round's figure.\n",
		cfg.SingleLimit, count(cfg.SingleLimit, "generation", "generations"), clientsText(cfg.Clients), count(cfg.SingleQueries, "query", "queries"))
	fmt.Fprintf(&b, "- *CPUs* is the CPU time of weaviate-asmr and ollama (server and runner) together per second of the measurement; *machine busy* the share of all %d CPUs in use by anything (other work on a shared machine shows there).\n\n", ncpu)

	fmt.Fprintf(&b, "## Ratios (ours / ollama's, medians over rounds)\n\n| measurement | ours / ollama | target | |\n|---|---|---|---|\n")
	for _, t := range targets(sides, kinds) {
		fmt.Fprintln(&b, t)
	}
	fmt.Fprintln(&b)

	for k, kd := range kinds {
		fmt.Fprintf(&b, "## %s\n\n", kd)
		head := "queries/s"
		if kd.grouped {
			head = "median latency s"
		}
		fmt.Fprintf(&b, "| class | %s | prompt tokens per query | generated tokens per query | CPUs | machine busy | failed generations | %s of every round | generated tokens per query of every round |\n|---|---|---|---|---|---|---|---|---|\n", head, head)
		for _, s := range sides {
			m := medianRun(kd, s.runs[k])
			p, g := m.perQuery()
			gens, errs := 0, 0
			var all, toks []string
			for _, r := range s.runs[k] {
				gens += r.generations
				errs += r.genErrors
				all = append(all, fmt.Sprintf("%.2f", figure(kd, r)))
				_, g := r.perQuery()
				toks = append(toks, fmt.Sprintf("%.1f", g))
			}
			fmt.Fprintf(&b, "| %s | %.2f | %.0f | %.1f | %.2f | %.0f%% | %d of %d | %s | %s |\n",
				s.name, medianOf(kd, s.runs[k]), p, g, m.procCPU, m.cpuBusy*100, errs, gens, strings.Join(all, ", "), strings.Join(toks, ", "))
		}
		fmt.Fprintln(&b)
		for _, s := range sides {
			for _, r := range s.runs[k] {
				if r.firstErr != "" {
					fmt.Fprintf(&b, "First error, %s: `%s`\n\n", s.name, r.firstErr)
					break
				}
			}
		}
	}

	fmt.Fprintf(&b, "## What differs between the two sides\n\n")
	fmt.Fprintf(&b, "The same GraphQL queries go to both classes, but each module builds its own prompt from them, so the two do not read the same text:\n\n")
	fmt.Fprintf(&b, "- `groupedResult`: ours fills the ops file's passages-first template (passages, an instruction naming the answer language detected from the question, the question and an answer cue in that language); generative-ollama sends the task (here the bare question) followed by `: ` and the passages' properties as JSON, with no answer cue.\n")
	fmt.Fprintf(&b, "- `singleResult`: both send the same prompt with the object's text filled in; ours puts a one-line language instruction and a blank line in front of it.\n")
	fmt.Fprintf(&b, "- Ours steers %d attention heads of each generation (CL along the answer language's direction); ollama steers nothing.\n", profiles.GemmaTopK)
	fmt.Fprintf(&b, "- So the prompt and generated tokens per query (tables above, in the round nearest the median, and the generated tokens of every round; a `singleResult` query's are the sum over its objects; ours from the module's `asmr` metadata, ollama's from `prompt_eval_count` and `eval_count` read by the proxy) differ: compare them before the times. Both count every prompt token, also those a prompt cache reused.\n\n")
	for _, s := range sides {
		fmt.Fprintf(&b, "A `groupedResult` prompt of %s (warm-up query, `debug: true`):\n\n```\n%s\n```\n\n", s.name, s.groupedPrompt)
		fmt.Fprintf(&b, "A `singleResult` prompt of %s:\n\n```\n%s\n```\n\n", s.name, s.singlePrompt)
	}
	return b.String()
}

func paramsText(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %#v", k, p[k])
		if s, ok := p[k].([]string); ok {
			parts[i] = fmt.Sprintf("%s %q", k, s)
		}
	}
	return "`" + strings.Join(parts, ", ") + "`"
}

func clientsText(cs []int) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = kind{clients: c}.String()[len("singleResult, "):]
	}
	return strings.Join(parts, " and ")
}

// count is "1 query" or "n queries".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
