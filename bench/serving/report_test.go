package serving

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/bench/ollamapeer"
)

func TestServingReport(t *testing.T) {
	s := time.Second
	grouped := func(lat ...time.Duration) result {
		r := result{queries: len(lat), generations: len(lat), wall: 10 * s, latencies: lat, counted: len(lat),
			promptTokens: 300 * len(lat), completionTokens: 5 * len(lat), procCPU: 1.9, cpuBusy: 0.97}
		return r
	}
	single := func(wall time.Duration, failed int) result {
		r := result{queries: 12, failed: failed, generations: 120, genErrors: failed, wall: wall, counted: 120 - failed,
			promptTokens: 60 * (120 - failed), completionTokens: 8 * (120 - failed), procCPU: 2, cpuBusy: 1}
		if failed > 0 {
			r.firstErr = "generative-asmr: queue full"
		}
		return r
	}
	kinds := []kind{{grouped: true}, {clients: 1}, {clients: 4}}
	ours := &side{name: "generative-asmr", ours: true, groupedPrompt: "Passages:\nP\n\nQuestion: Q\nAnswer:", singlePrompt: "Answer in English.\n\nPassage: P"}
	theirs := &side{name: "generative-ollama + ollama serve", groupedPrompt: `Q: [{"text":"P"}]`, singlePrompt: "Passage: P"}
	ours.runs = [][]result{
		{grouped(1*s, 2*s, 3*s), grouped(s, s, s), grouped(4*s, 4*s, 5*s)}, // medians 2, 1, 4: median 2
		{single(6*s, 0), single(4*s, 0), single(8*s, 0)},                   // 2, 3, 1.5 queries/s: median 2
		{single(3*s, 0), single(3*s, 0), single(4*s, 1)},                   // 4, 4, 2.75: median 4
	}
	theirs.runs = [][]result{
		{grouped(2*s, 3*s, 4*s), grouped(3*s, 3*s, 3*s), grouped(2*s, 2*s, 2*s)}, // 3, 3, 2: median 3
		{single(4*s, 0), single(4*s, 0), single(4*s, 0)},                         // 3: median 3
		{single(4*s, 0), single(2*s, 0), single(6*s, 0)},                         // 3, 6, 2: median 3
	}
	cfg := Config{Slots: 4, Threads: 2, ContextSize: 2048, MaxTokens: 48, Rounds: 3, GroupedQueries: 3, GroupedLimit: 5,
		Clients: []int{1, 4}, SingleQueries: 3, SingleLimit: 10}
	r := report([]*side{ours, theirs}, kinds, cfg, ollamapeer.RunnerInfo{Engine: "ollama", FlashAttention: "Enabled", NumThreads: 2, KvSize: 8192, Parallel: 4, BatchSize: 512}, "/m.gguf")
	for _, want := range []string{
		"| groupedResult latency | 0.67 | ≤ 0.8 | **met** |",
		"| singleResult, 1 client | 0.67 | ≥ 1.0 | **MISSED** |",
		"| singleResult, 4 clients | 1.33 | ≥ 1.0 | **met** |",
		"| generative-asmr | 2.00 | 300 | 5.0 | 1.90 | 97% | 0 of 9 | 2.00, 1.00, 4.00 | 5.0, 5.0, 5.0 |",
		"| generative-ollama + ollama serve | 3.00 | 300 | 5.0 |",
		"| generative-asmr | 4.00 | 600 | 80.0 | 2.00 | 100% | 1 of 360 | 4.00, 4.00, 2.75 | 80.0, 80.0, 80.0 |",
		"First error, generative-asmr: `generative-asmr: queue full`",
		"queueLength 64",
		"parameters `num_ctx 2048, num_predict 48, num_thread 2, stop [\"\\n\"], temperature 0`",
		"own Go engine: flash attention Enabled, 2 threads, KV size 8192 (4 parallel)",
		"with 1 client and 4 clients, each client sending 3 queries",
		"```\nQ: [{\"text\":\"P\"}]\n```",
		"```\nAnswer in English.\n\nPassage: P\n```",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("report lacks %q:\n%s", want, r)
		}
	}
}

// With an even count of rounds the median is the mean of the middle two,
// and the tables show the round nearest it.
func TestMedianEvenRounds(t *testing.T) {
	runs := []result{
		{queries: 1, latencies: []time.Duration{2 * time.Second}, completionTokens: 20, counted: 1, generations: 1},
		{queries: 1, latencies: []time.Duration{1 * time.Second}, completionTokens: 10, counted: 1, generations: 1},
		{queries: 1, latencies: []time.Duration{4 * time.Second}, completionTokens: 40, counted: 1, generations: 1},
		{queries: 1, latencies: []time.Duration{3 * time.Second}, completionTokens: 30, counted: 1, generations: 1},
	}
	k := kind{grouped: true}
	if m := medianOf(k, runs); m != 2.5 {
		t.Errorf("median latency = %v, want 2.5", m)
	}
	if r := medianRun(k, runs); r.completionTokens != 20 {
		t.Errorf("median round = %+v, want the first of the two nearest (2 s)", r)
	}
}

func TestResultAdd(t *testing.T) {
	var r result
	r.add(answer{generations: 10, counted: 10, promptTokens: 500, completionTokens: 40}, time.Second, nil)
	r.add(answer{generations: 10, genErrors: 2, firstErr: "boom", counted: 8, promptTokens: 400, completionTokens: 32}, time.Second, nil)
	r.add(answer{}, time.Second, errTest("connection refused"))
	r.wall = 3 * time.Second
	if r.queries != 3 || r.failed != 2 || r.generations != 21 || r.genErrors != 3 || r.firstErr != "boom" {
		t.Errorf("result = %+v", r)
	}
	if p, g := r.perQuery(); p != 50*7 || g != 4*7 {
		t.Errorf("per query %v prompt, %v generated; want 350, 28 (50 and 4 per generation, 7 generations per query)", p, g)
	}
	if q := r.qps(); q != 1.0/3 {
		t.Errorf("qps = %v, want 1/3 (one answered query in 3 s)", q)
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

func TestConfigCheck(t *testing.T) {
	ok := Config{Slots: 4, Threads: 2, ContextSize: 2048, MaxTokens: 48, Rounds: 1, GroupedQueries: 1, GroupedLimit: 5, Clients: []int{1, 4}, SingleQueries: 1, SingleLimit: 10}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	if q := ok.QueueLength(); q != 64 {
		t.Errorf("QueueLength = %d, want 64", q)
	}
	big := ok
	big.Clients = []int{1, 8}
	if q := big.QueueLength(); q != 120 {
		t.Errorf("QueueLength with 8 clients x 10 = %d, want 120", q)
	}
	for _, tc := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.Slots = 0 }, "Slots 0"},
		{func(c *Config) { c.Clients = nil }, "Clients"},
		{func(c *Config) { c.Clients = []int{1, 0} }, "Clients [1 0]"},
		{func(c *Config) { c.SingleLimit = 21 }, "hold 20 passages"},
	} {
		c := ok
		tc.mut(&c)
		if err := c.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check: %v, want %q", err, tc.want)
		}
	}
}

// The vectors find a question's topic first.
func TestQueryFindsTopic(t *testing.T) {
	for i, q := range questions {
		var v []float32
		if err := json.Unmarshal([]byte(queryVector(i)), &v); err != nil {
			t.Fatal(err)
		}
		best, bestSim := -1, float32(-1)
		for j := range passages {
			pv := passageVector(j)
			var dot, nn, mm float32
			for d := range v {
				dot += v[d] * pv[d]
				nn += v[d] * v[d]
				mm += pv[d] * pv[d]
			}
			if s := dot * dot / (nn * mm); s > bestSim {
				best, bestSim = j, s
			}
		}
		if passages[best].topic != q.topic {
			t.Errorf("question %d (%q) finds passage %d first, of topic %d", i, q.text, best, passages[best].topic)
		}
	}
}

// The work folder is emptied only when it is new, empty or the
// benchmark's own; a folder of other files is refused and kept.
func TestEmptyWork(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "w")
	if err := emptyWork(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "node.log"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := emptyWork(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node.log")); !os.IsNotExist(err) {
		t.Errorf("the benchmark's own folder was not emptied: %v", err)
	}
	other := t.TempDir()
	keep := filepath.Join(other, "go.mod")
	if err := os.WriteFile(keep, []byte("module x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := emptyWork(other); err == nil || !strings.Contains(err.Error(), "give a new or empty folder") {
		t.Errorf("a folder of other files: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("a file of another folder was removed: %v", err)
	}
}
