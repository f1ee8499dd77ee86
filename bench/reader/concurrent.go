package reader

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asmr-search/generative-asmr/bench/cluster"
	"github.com/asmr-search/generative-asmr/bench/internal/stats"
	"github.com/asmr-search/generative-asmr/bench/internal/sysinfo"
	"github.com/asmr-search/generative-asmr/bench/ollamapeer"
	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/steering"
)

// ConcurrentConfig measures serving throughput: the model is loaded once
// with as many slots as the highest level of Concurrency, and at each level
// that many clients send Requests generations each, back to back, every
// one with a prompt of its own (the prompt cache is off) and greedy
// sampling. Each level is measured unsteered and with every request
// steered differently, in Rounds interleaved rounds (the order rotating).
type ConcurrentConfig struct {
	// Model is a GGUF file (a real model, or one Run wrote).
	Model string
	// Options load the model; Slots is set to the highest level. Threads
	// 0 keeps steering's default.
	Options steering.Options
	// Concurrency lists the levels, e.g. 1, 4, 10; the first is the base
	// of the scaling ratios.
	Concurrency []int
	// Rounds of interleaved measurements; the report gives medians.
	Rounds int
	// Requests per client; PromptWords and GenTokens per request.
	Requests, PromptWords, GenTokens int
	// SteerHeads is how many heads each steered request steers
	// (defaultSteerHeads when 0), each request its own heads, shifts and
	// token scope.
	SteerHeads int
	// Settle is the pause before each measurement, so that one server's
	// after-work (ollama's runner answers before it is idle) does not
	// fall into the next measurement: 0 = one second, negative = none.
	Settle time.Duration
	// Ollama, when set, is an ollama binary built from the pinned module:
	// `ollama serve` with OLLAMA_NUM_PARALLEL = the highest level is
	// measured beside ours on the same GGUF, prompts, threads and context
	// per sequence (raw, greedy). Work holds its store and log.
	Ollama, Work string
	// Command is the command line the report names as its source.
	Command string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Throughput is one measurement of one level.
type Throughput struct {
	Concurrency, Requests int
	Variant               Variant
	// Failed counts the peer's failed requests (their tokens are not
	// counted; FirstError is the first one's error): ollama v0.17.4's
	// runner aborts a generation that repeats one token more than 30
	// times (llm/server.go) and answers a non-streamed request with done
	// false. A failure of ours ends the benchmark instead.
	Failed     int
	FirstError string
	// OwnCPUs is the CPU time of this process and, for Ollama, the
	// peer's server and runner, per second of the measurement; OtherCPUs
	// that of every other process on the machine (other work that the
	// measurement shared the cores with).
	OwnCPUs, OtherCPUs                float64
	PromptTokens, GenTokens           int // in all
	Wall                              time.Duration
	MeanLatency, MaxLatency           time.Duration
	GenTPS, PromptTPS, RequestsPerSec float64
}

// Variant is what serves a measurement.
type Variant int

const (
	Unsteered Variant = iota // ours, no steering
	Steered                  // ours, every request steered differently
	Ollama                   // `ollama serve`, unsteered
)

func (v Variant) String() string {
	return [...]string{"unsteered", "steered", "ollama"}[v]
}

// Level is one level's measurements, one per round of each variant
// (Ollama's only with ConcurrentConfig.Ollama).
type Level struct {
	Concurrency                int
	Unsteered, Steered, Ollama []Throughput
}

func (l *Level) of(v Variant) *[]Throughput {
	return [...]*[]Throughput{&l.Unsteered, &l.Steered, &l.Ollama}[v]
}

// Concurrent measures every level of cfg in interleaved rounds and returns
// the levels in cfg's order.
func Concurrent(ctx context.Context, cfg ConcurrentConfig) ([]*Level, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	o := cfg.Options
	o.Slots = slices.Max(cfg.Concurrency)
	o.PromptCache = false
	m, err := steering.Load(cfg.Model, o)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	b := &burst{m: m, cfg: cfg}
	variants := []Variant{Unsteered, Steered}
	if cfg.Ollama != "" {
		if b.peer, err = startPeer(ctx, cfg.Ollama, cfg.Work, cfg.Model,
			fmt.Sprintf("OLLAMA_NUM_PARALLEL=%d", o.Slots), "OLLAMA_MAX_LOADED_MODELS=1"); err != nil {
			return nil, err
		}
		defer b.peer.Stop()
		variants = append(variants, Ollama)
	}
	// One warm-up request each: page in the weights, build the graphs,
	// load the peer's model.
	for _, v := range variants {
		if _, _, err := b.run(ctx, v, -1); err != nil {
			return nil, fmt.Errorf("warm-up (%s): %w", v, err)
		}
	}
	levels := make([]*Level, len(cfg.Concurrency))
	for i, c := range cfg.Concurrency {
		levels[i] = &Level{Concurrency: c}
	}
	type run struct {
		l *Level
		v Variant
	}
	var order []run
	for _, l := range levels {
		for _, v := range variants {
			order = append(order, run{l, v})
		}
	}
	settle := cmp.Or(cfg.Settle, time.Second)
	for r := range max(cfg.Rounds, 1) {
		for k := range order {
			x := order[(k+r)%len(order)]
			if err := pause(ctx, settle); err != nil {
				return nil, err
			}
			t, err := b.measure(ctx, x.l.Concurrency, x.v)
			if err != nil {
				return nil, fmt.Errorf("round %d, %d concurrent requests (%s): %w", r+1, x.l.Concurrency, x.v, err)
			}
			*x.l.of(x.v) = append(*x.l.of(x.v), t)
			fmt.Fprintf(cfg.Log, "round %d: %2d concurrent, %-10s %3d requests, %5d prompt + %5d generated tokens in %6.1f s: %7.2f generated tok/s, latency mean %.1f s, max %.1f s; %d failed\n",
				r+1, t.Concurrency, t.Variant.String()+":", t.Requests, t.PromptTokens, t.GenTokens, t.Wall.Seconds(), t.GenTPS, t.MeanLatency.Seconds(), t.MaxLatency.Seconds(), t.Failed)
		}
	}
	return levels, nil
}

const (
	// peerModel is the name of the model in the peer's store.
	peerModel = "asmr-bench"
	// defaultSteerHeads is ConcurrentConfig.SteerHeads when it is 0.
	defaultSteerHeads = 64
)

// burst runs the requests of one measurement.
type burst struct {
	m    *steering.Model
	peer *ollamapeer.Peer
	cfg  ConcurrentConfig
	next int // request counter: every request's prompt and steering differ
}

// startPeer starts `ollama serve` (binary) with its store and log in work
// and the extra environment env, and imports model as peerModel; the
// caller stops it.
func startPeer(ctx context.Context, binary, work, model string, env ...string) (*ollamapeer.Peer, error) {
	work = cmp.Or(work, ".")
	peer, err := ollamapeer.Start(ctx, binary, filepath.Join(work, "ollama-models"), filepath.Join(work, "ollama.log"), env...)
	if err != nil {
		return nil, err
	}
	if err := peer.Create(ctx, peerModel, model); err != nil {
		peer.Stop()
		return nil, err
	}
	return peer, nil
}

// run generates request i with v and returns its prompt and generated
// tokens.
func (b *burst) run(ctx context.Context, v Variant, i int) (prompt, gen int, err error) {
	text := wordsPrompt(i, b.cfg.PromptWords)
	if v == Ollama {
		o := b.cfg.Options
		t, err := b.peer.Generate(ctx, peerModel, text, b.cfg.GenTokens, o.Threads, cmp.Or(o.ContextSize, 2048))
		return t.PromptTokens, t.EvalTokens, err
	}
	res, err := b.m.Generate(ctx, text, b.params(i, v == Steered))
	if err != nil {
		return 0, 0, err
	}
	return res.PromptTokens, res.CompletionTokens, nil
}

// params of request i: greedy, raw, and when steered a steering of its
// own: SteerHeads heads drawn with seed i, shifts of a strength that
// varies with i, and the token scope alternating between generation and
// all.
func (b *burst) params(i int, steered bool) steering.Params {
	p := steering.Params{Raw: true, MaxTokens: b.cfg.GenTokens}
	if !steered {
		return p
	}
	sh := b.m.Shape()
	r := rand.New(rand.NewPCG(uint64(i+2), 11))
	all := everyHead(sh)
	r.Shuffle(len(all), func(a, c int) { all[a], all[c] = all[c], all[a] })
	heads := all[:min(cmp.Or(b.cfg.SteerHeads, defaultSteerHeads), len(all))]
	iv := randomShifts(r, heads, sh.HeadDim, float32(sh.HeadDim)/float32(1+i%4))
	scope := config.TokenScopeGeneration
	if i%2 == 1 {
		scope = config.TokenScopeAll
	}
	p.Steer = &steering.Steer{Intervention: iv, Scope: scope}
	return p
}

// measure runs c clients of cfg.Requests requests each.
func (b *burst) measure(ctx context.Context, c int, v Variant) (Throughput, error) {
	var (
		mu      sync.Mutex
		t       = Throughput{Concurrency: c, Variant: v}
		latency time.Duration
		first   error
		wg      sync.WaitGroup
	)
	base := b.next
	b.next += c * b.cfg.Requests
	pids := []int{os.Getpid()}
	if v == Ollama {
		pids = append(append(pids, b.peer.PID()), cluster.ChildPIDs(b.peer.PID())...)
	}
	cpu0, proc0 := cluster.CPUTimes(), cluster.ProcTicks(pids...)
	start := time.Now()
	for client := range c {
		wg.Go(func() {
			for r := range b.cfg.Requests {
				i := base + client*b.cfg.Requests + r
				t0 := time.Now()
				prompt, gen, err := b.run(ctx, v, i)
				d := time.Since(t0)
				mu.Lock()
				switch {
				case err != nil && v == Ollama && ctx.Err() == nil:
					t.Failed++
					if t.FirstError == "" {
						t.FirstError = err.Error()
					}
					err = nil
				case err != nil:
					first = cmpErr(first, err)
				default:
					t.Requests++
					t.PromptTokens += prompt
					t.GenTokens += gen
					latency += d
					t.MaxLatency = max(t.MaxLatency, d)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	t.Wall = time.Since(start)
	t.OwnCPUs = float64(cluster.ProcTicks(pids...)-proc0) / cluster.ClockTicks / t.Wall.Seconds()
	t.OtherCPUs = max(0, cluster.CPUTimes().BusySince(cpu0)*float64(runtime.NumCPU())-t.OwnCPUs)
	if first != nil {
		return t, first
	}
	if t.Requests > 0 {
		t.MeanLatency = latency / time.Duration(t.Requests)
	}
	secs := t.Wall.Seconds()
	t.GenTPS, t.PromptTPS, t.RequestsPerSec = float64(t.GenTokens)/secs, float64(t.PromptTokens)/secs, float64(t.Requests)/secs
	return t, nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// medianTPS is the median generated tokens/s of ts.
func medianTPS(ts []Throughput) float64 {
	v := make([]float64, len(ts))
	for i, t := range ts {
		v[i] = t.GenTPS
	}
	return stats.Median(v)
}

// ConcurrentReport is the Markdown report of the levels: medians, the
// scaling and steering ratios with their targets, and every round.
func ConcurrentReport(cfg ConcurrentConfig, levels []*Level) string {
	var b strings.Builder
	o := cfg.Options
	size := 0.0
	if st, err := os.Stat(cfg.Model); err == nil {
		size = float64(st.Size()) / 1e6
	}
	fmt.Fprintf(&b, "# Serving throughput: concurrent requests in one batched context\n\n")
	fmt.Fprintf(&b, "Written by `%s` on %s.\n\n", cmp.Or(cfg.Command, "asmr bench -concurrency"), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Machine: %s, %d CPUs; Go %s\n", sysinfo.CPUModel(), runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(&b, "- Model: %s, %.0f MB; one context of %d slots (sequences), threads %d, context %d per slot, batch %d, flash attention %s\n",
		filepath.Base(cfg.Model), size, slices.Max(cfg.Concurrency), o.Threads, o.ContextSize, o.BatchSize, flashName(o.FlashAttention))
	fmt.Fprintf(&b, "- Each measurement: that many clients, %d requests each back to back, every prompt its own (%d words; the prompt cache off), %d generated tokens at most, greedy\n",
		cfg.Requests, cfg.PromptWords, cfg.GenTokens)
	fmt.Fprintf(&b, "- Steered: every request steers %d heads of its own (drawn per request), with its own shift strength, and the token scope alternating between generation and all\n",
		cmp.Or(cfg.SteerHeads, defaultSteerHeads))
	peer := len(levels[0].Ollama) > 0
	if peer {
		fmt.Fprintf(&b, "- ollama: `ollama serve` built from the pinned module, OLLAMA_NUM_PARALLEL %d, the same GGUF, prompts, threads and context per sequence, raw prompts, greedy; its log is ollama.log in the work folder\n", slices.Max(cfg.Concurrency))
	}
	fmt.Fprintf(&b, "- %d interleaved rounds (the order of the measurements rotates every round); medians of generated tokens/s over all sequences (prefill time included)\n\n", max(cfg.Rounds, 1))
	base := levels[0]
	fmt.Fprintf(&b, "*Prompt tokens* is the mean per request; *other CPUs* the median CPU time of every process besides the measured ones (this benchmark, and ollama's server and runner) per second: other work that shared the cores.\n\n")
	fmt.Fprintf(&b, "| concurrent requests | unsteered tok/s | steered tok/s | steered / unsteered | unsteered vs %d | steered vs %d | mean latency s (unsteered) | prompt tokens | other CPUs |", base.Concurrency, base.Concurrency)
	if peer {
		fmt.Fprintf(&b, " ollama tok/s | ollama vs %d | ours unsteered / ollama | ours steered / ollama | ollama failed requests |", base.Concurrency)
	}
	fmt.Fprintf(&b, "\n|%s\n", strings.Repeat("---:|", 9+5*boolInt(peer)))
	u0, s0, o0 := medianTPS(base.Unsteered), medianTPS(base.Steered), medianTPS(base.Ollama)
	most := 0.0 // the most CPU of other processes in any measurement
	for _, l := range levels {
		u, s := medianTPS(l.Unsteered), medianTPS(l.Steered)
		var lat []float64
		for _, t := range l.Unsteered {
			lat = append(lat, t.MeanLatency.Seconds())
		}
		var other []float64
		prompt, reqs := 0, 0
		for _, t := range slices.Concat(l.Unsteered, l.Steered, l.Ollama) {
			other = append(other, t.OtherCPUs)
			prompt, reqs = prompt+t.PromptTokens, reqs+t.Requests
			most = max(most, t.OtherCPUs)
		}
		fmt.Fprintf(&b, "| %d | %.2f | %.2f | %.3f | %.2f | %.2f | %.2f | %.0f | %.2f |", l.Concurrency, u, s, s/u, u/u0, s/s0, stats.Median(lat), float64(prompt)/float64(max(reqs, 1)), stats.Median(other))
		if peer {
			o := medianTPS(l.Ollama)
			failed, sent := 0, 0
			for _, t := range l.Ollama {
				failed, sent = failed+t.Failed, sent+t.Failed+t.Requests
			}
			fmt.Fprintf(&b, " %.2f | %.2f | %.3f | %.3f | %d of %d |", o, o/o0, u/o, s/o, failed, sent)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n## Targets (ratios of medians)\n\n")
	for _, l := range levels {
		u, s := medianTPS(l.Unsteered), medianTPS(l.Steered)
		if l.Concurrency == 4 && base.Concurrency == 1 {
			fmt.Fprintf(&b, "- 4 concurrent / 1 request, unsteered: %.2f%s\n", u/u0, target(true, u/u0, 2.5))
			fmt.Fprintf(&b, "- 4 concurrent / 1 request, steered: %.2f%s\n", s/s0, target(true, s/s0, 2.5))
			if peer {
				o := medianTPS(l.Ollama)
				fmt.Fprintf(&b, "  (ollama serve on the same load: 4 concurrent / 1 request %.2f)\n", o/o0)
			}
		}
		fmt.Fprintf(&b, "- %d concurrent, steered (each request differently) / unsteered: %.3f%s\n", l.Concurrency, s/u, target(true, s/u, 0.95))
	}
	if peer {
		fmt.Fprintf(&b, "- %d request(s), ours unsteered / ollama serve: %.3f%s\n", base.Concurrency, u0/o0, target(true, u0/o0, 1.0))
	}
	if most > 0.25 {
		fmt.Fprintf(&b, "- **Other work shared the cores:** up to %.2f CPUs of other processes during a measurement; its figures are disturbed (compare the rounds)\n", most)
	}
	for _, l := range levels {
		for _, t := range l.Ollama {
			if t.Failed > 0 {
				fmt.Fprintf(&b, "- ollama, %d concurrent: %d of %d requests failed (not counted in its tokens/s), the first with: %s\n", l.Concurrency, t.Failed, t.Failed+t.Requests, t.FirstError)
			}
		}
	}
	fmt.Fprintf(&b, "\n## Every round (generated tok/s)\n\n| round |")
	for _, l := range levels {
		fmt.Fprintf(&b, " %d unsteered | %d steered |", l.Concurrency, l.Concurrency)
		if peer {
			fmt.Fprintf(&b, " %d ollama |", l.Concurrency)
		}
	}
	fmt.Fprintf(&b, "\n|---|%s\n", strings.Repeat("---:|", (2+boolInt(peer))*len(levels)))
	for r := range len(base.Unsteered) {
		fmt.Fprintf(&b, "| %d |", r+1)
		for _, l := range levels {
			fmt.Fprintf(&b, " %.2f | %.2f |", l.Unsteered[r].GenTPS, l.Steered[r].GenTPS)
			if peer {
				fmt.Fprintf(&b, " %.2f |", l.Ollama[r].GenTPS)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// wordsPrompt is a prompt of n words, different for every i from its
// first word on, so that no request reuses another's cells.
func wordsPrompt(i, n int) string {
	words := strings.Fields("the quick brown fox jumps over the lazy dog while the committee reviews the annual report on river water quality and the mayor opens a new library near the old harbour")
	var b strings.Builder
	fmt.Fprintf(&b, "Request %d.", i)
	for k := range n {
		b.WriteString(" ")
		b.WriteString(words[(k*7+i*3+len(words))%len(words)])
	}
	return b.String()
}
