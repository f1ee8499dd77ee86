package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/eval/harness"
	"github.com/asmr-search/generative-asmr/profile"
)

// runEval is `asmr eval run|sweep`: it scores the reader on XOR-TyDi QA or
// MKQA as the paper does (Tables 1 and 2: baseline, 1-shot and ASMR; Figure
// 3: K x alpha), over given passages in-process, or through a Weaviate
// server that retrieves and generates (eval/harness), and on the
// cross-lingual XQuAD task (English passages the task gives, questions in
// another language; in-process, or loaded into a class of the server and
// retrieved there). See docs/reproduce.md.
func runEval(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		evalUsage(os.Stderr)
		return flag.ErrHelp
	}
	switch args[0] {
	case "run":
		return evalRun(ctx, args[1:], os.Stdout)
	case "sweep":
		return evalSweep(ctx, args[1:], os.Stdout)
	case "help":
		evalUsage(os.Stdout)
		return nil
	}
	evalUsage(os.Stderr)
	return fmt.Errorf("unknown eval command %q: want run or sweep", args[0])
}

func evalUsage(w io.Writer) {
	fmt.Fprint(w, `usage: asmr eval run   -dataset xor-tydi|mkqa -data FILE (-contexts FILE | -weaviate URL -class C) -out DIR [flags]
       asmr eval run   -dataset xquad -data DIR [-weaviate URL -class C] [-passage-seed S] -out DIR [flags]
       asmr eval sweep -dataset xor-tydi|mkqa -data FILE (-contexts FILE | -weaviate URL -class C) -out DIR [flags]
       asmr eval sweep -dataset xquad -data DIR [-weaviate URL -class C] [-passage-seed S] -out DIR [flags]

run:   baseline, 1-shot and ASMR on every item, laid out like the paper's
       Table 1 (XOR-TyDi QA) or Table 2 (MKQA), with paired t-tests; xquad:
       English passages (the gold paragraph and 2 of the same article),
       questions in another language: in-process, or through a server
       (-weaviate: the paragraphs are loaded into -class, retrieved by
       nearVector).
sweep: ASMR for every K x alpha over several seeds: the paper's Figure 3.

Both append each answer to a JSONL as it comes back, so a rerun skips
what is done. 'asmr eval run -h' and 'asmr eval sweep -h' list the flags.
`)
}

// evalFlags are the flags both eval commands take.
type evalFlags struct {
	rf                               readerFlags
	dataset, data, langs             string
	limit, sample                    int
	passageSeed                      uint64
	articles                         string
	contexts                         string
	weaviate, class, search          string
	k                                int
	properties, searchProps          string
	hybridAlpha                      float64
	queryVectors                     string
	model, profile, direction, scope string
	shots, template, answerLang      string
	temperature                      float64
	maxTokens, parallel              int
	maxPassages, maxPromptTokens     int
	stop                             stringList
	out                              string
	quiet                            bool
}

func newEvalFlags(name, summary string) (*flag.FlagSet, *evalFlags) {
	fs := flag.NewFlagSet("asmr eval "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: asmr eval %s -dataset xor-tydi|mkqa -data FILE (-contexts FILE | -weaviate URL -class C) -out DIR [flags]\n"+
			"       asmr eval %s -dataset xquad -data DIR [-weaviate URL -class C] -out DIR [flags]\n\n%s\n\nflags:\n", name, name, summary)
		fs.PrintDefaults()
	}
	f := &evalFlags{}
	f.rf.register(fs)
	fs.StringVar(&f.dataset, "dataset", "", "xor-tydi (XOR-Full dev JSONL), mkqa (mkqa.jsonl[.gz]) or xquad (a folder of xquad.<lang>.json, English passages) (required)")
	fs.StringVar(&f.data, "data", "", "the dataset file; xquad: the folder of xquad.<lang>.json, xquad.en.json included (required)")
	fs.StringVar(&f.langs, "langs", "", "comma-separated languages (default: the paper's: xor-tydi ar,bn,fi,ja,ko,ru,te; mkqa de,es,fr,it,nl,pt,th,tr,vi,zh; xquad every XQuAD language but English: ar,de,el,es,hi,ro,ru,th,tr,vi,zh)")
	fs.IntVar(&f.limit, "limit", 0, "read at most this many items per language, in file order (0 = all)")
	fs.Uint64Var(&f.passageSeed, "passage-seed", 1, "xquad: seed of the order of each question's passages (the gold paragraph among 2 of the same article)")
	fs.StringVar(&f.articles, "articles", "", "xquad: the articles whose questions are asked, FROM:TO (indexes in the files, TO excluded, empty = to the last; e.g. 0:4 to tune, 4: to report); -limit counts from FROM")
	fs.StringVar(&f.contexts, "contexts", "", "given passages, JSONL of {id, passages: [...]}: generate in-process, no server")
	fs.StringVar(&f.weaviate, "weaviate", "", "base URL of a weaviate-asmr server that retrieves and generates (e.g. http://localhost:8080)")
	fs.StringVar(&f.class, "class", "", "the Weaviate class searched (with -weaviate)")
	fs.StringVar(&f.search, "search", eval.SearchBM25, "search operator: bm25, nearText, nearVector or hybrid (with -weaviate)")
	fs.IntVar(&f.k, "k", 5, "passages retrieved per question (with -weaviate)")
	fs.StringVar(&f.properties, "properties", "text", "comma-separated text properties that make a passage (with -weaviate)")
	fs.StringVar(&f.searchProps, "search-properties", "", "properties bm25/hybrid search in (default: all)")
	fs.Float64Var(&f.hybridAlpha, "hybrid-alpha", -1, "hybrid alpha, 0 keyword .. 1 vector (default: Weaviate's)")
	fs.StringVar(&f.queryVectors, "query-vectors", "", "question vectors for nearVector: JSONL of {id, lang, vector}")
	fs.StringVar(&f.model, "model", "", "in-process: GGUF file or Ollama model name (required); -weaviate: a model name of the server's ops file (default: its default)")
	fs.StringVar(&f.profile, "profile", "", "in-process: steering profile YAML; -weaviate: a profile name of the server's ops file (default: its default)")
	fs.StringVar(&f.direction, "direction", string(profile.DefaultDirectionKind), "steering direction: probe, mass-mean or language (the answer language's targeted direction)")
	fs.StringVar(&f.scope, "scope", string(config.TokenScopeGeneration), "steered tokens: generation or all")
	fs.StringVar(&f.shots, "shots", "", "1-shot examples, JSONL of {lang, question, passage, answer} (default: the built-in ones, see docs/reproduce.md)")
	fs.StringVar(&f.template, "template", "", "file with the zero-shot prompt template ({{passages}}, {{question}}, {{language}}; default: the module's)")
	fs.StringVar(&f.answerLang, "answer-language", "item", "item: tell the reader the item's language; auto: the reader detects the question's")
	fs.Float64Var(&f.temperature, "temperature", 0, "sampling temperature (0 = greedy, where the seed does not matter)")
	fs.IntVar(&f.maxTokens, "max-tokens", 32, "answer length cap in tokens")
	fs.IntVar(&f.maxPassages, "max-passages", 0, fmt.Sprintf("in-process: the most passages a prompt gets, as the module's limits.maxPassages (0: its default, %d)", config.DefaultMaxPassages))
	fs.IntVar(&f.maxPromptTokens, "max-prompt-tokens", 0, "in-process: the prompt's token cap, as the module's limits.maxPromptTokens (0: the context less -max-tokens)")
	fs.Var(&f.stop, "stop", "in-process: end an answer at this string (repeatable), as an ops file's models.<name>.stop; e.g. -stop $'\\n' for Gemma 3 270M")
	fs.IntVar(&f.parallel, "parallel", 1, "requests at once (in-process: reader slots)")
	fs.StringVar(&f.out, "out", "", "output folder (required)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar and no report on standard output")
	return fs, f
}

// config is the harness configuration of the flags. The reader flags are
// checked only where a model is loaded in-process (-contexts, or xquad
// without -weaviate).
func (f *evalFlags) config() (harness.Config, error) {
	cfg := harness.Config{
		Dataset: f.dataset, Data: f.data, Langs: splitList(f.langs), Limit: f.limit, Sample: f.sample, PassageSeed: f.passageSeed,
		Contexts: f.contexts,
		Weaviate: f.weaviate, Class: f.class, Search: f.search, K: f.k,
		Properties: splitList(f.properties), SearchProperties: splitList(f.searchProps),
		HybridAlpha: f.hybridAlpha, QueryVectors: f.queryVectors,
		Model: f.model, Profile: f.profile, Direction: f.direction, Scope: f.scope,
		Shots: f.shots, Template: f.template, AnswerLanguage: f.answerLang,
		Temperature: f.temperature, MaxTokens: f.maxTokens, Parallel: f.parallel, Out: f.out,
		MaxPassages: f.maxPassages, MaxPromptTokens: f.maxPromptTokens, Stop: f.stop,
	}
	if f.articles != "" {
		from, to, err := parseArticles(f.articles)
		if err != nil {
			return cfg, err
		}
		cfg.FromArticle, cfg.ToArticle = from, to
	}
	if f.contexts != "" || (f.dataset == eval.XQuAD && f.weaviate == "") {
		var err error
		if cfg.ModelOptions, err = f.rf.options(); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// parseArticles reads -articles FROM:TO (TO may be empty: to the last).
func parseArticles(s string) (from, to int, err error) {
	a, b, ok := strings.Cut(s, ":")
	if ok {
		from, err = strconv.Atoi(strings.TrimSpace(a))
	}
	if ok && err == nil && strings.TrimSpace(b) != "" {
		to, err = strconv.Atoi(strings.TrimSpace(b))
	}
	if !ok || err != nil || from < 0 || (to != 0 && to <= from) {
		return 0, 0, fmt.Errorf("-articles %q: want FROM:TO with 0 <= FROM < TO (article indexes in the files), or FROM: for every article from FROM on", s)
	}
	return from, to, nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// progress returns a progress callback that draws a bar on stderr, or nil.
func progress(quiet bool, desc string) (func(done, total int), func()) {
	if quiet {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	var mu sync.Mutex
	update := func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetDescription(desc),
				progressbar.OptionSetWriter(os.Stderr), progressbar.OptionShowCount(), progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionShowIts(), progressbar.OptionSetPredictTime(true))
		}
		_ = bar.Set(done)
	}
	finish := func() {
		mu.Lock()
		defer mu.Unlock()
		if bar != nil {
			_ = bar.Finish()
			fmt.Fprintln(os.Stderr)
		}
	}
	return update, finish
}

func evalRun(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newEvalFlags("run", "Scores baseline (zero-shot), 1-shot and ASMR on every item: the paper's Table 1 (xor-tydi) or Table 2 (mkqa),\n"+
		"or XQuAD cross-lingual (xquad: F1/EM in the question's language, F1 against the English gold, answer language, line-level pass).\n"+
		"Writes DIR/items.jsonl (one answer a line, appended: a rerun skips what is done), DIR/report.md and DIR/results.csv.")
	systemsFlag := fs.String("systems", "baseline,1shot,asmr", "systems to run, side by side: baseline, 1shot, and ASMR systems asmr[-ac|-cl][:probe|mass-mean|language] (asmr: AC and CL; -ac or -cl: that alpha only; :kind: that direction instead of -direction)")
	alphaAC := fs.Float64("alpha-ac", config.DefaultAlpha, "ASMR: accuracy-in-content steering strength (x sigma); 0 = off")
	alphaCL := fs.Float64("alpha-cl", config.DefaultAlpha, "ASMR: coherence-in-language steering strength (x sigma); 0 = off")
	topK := fs.Int("top-k", config.DefaultTopK, "ASMR: heads steered per attribute (0 = every head of the profile)")
	seed := fs.Uint64("seed", 1, "seed of -sample's draw, and the sampler's seed when -temperature > 0 (in-process)")
	fs.IntVar(&f.sample, "sample", 0, "score this many items per language, drawn with -seed (0 = all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	systems, err := eval.ParseSystems(*systemsFlag, eval.Steering{AlphaAC: *alphaAC, AlphaCL: *alphaCL, TopK: *topK, Direction: f.direction, Scope: f.scope})
	if err != nil {
		return fmt.Errorf("-systems: %w", err)
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	update, finish := progress(f.quiet, "answering")
	res, err := harness.RunTables(ctx, cfg, harness.Tables{Systems: systems, Seed: *seed, Progress: update})
	finish()
	if res != nil {
		fmt.Fprintf(os.Stderr, "%d answers planned: %d already in %s, %d answered now in %s", res.Stats.Planned, res.Stats.Skipped, res.Store, res.Stats.Ran, res.Elapsed.Round(time.Millisecond))
		if res.Stats.NoResults > 0 {
			fmt.Fprintf(os.Stderr, " (%d with no search results)", res.Stats.NoResults)
		}
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		return err
	}
	if !f.quiet {
		fmt.Fprintln(stdout, res.Markdown)
	}
	fmt.Fprintf(os.Stderr, "wrote %s and %s\n", res.Report, res.CSV)
	return nil
}

func evalSweep(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newEvalFlags("sweep", "Runs ASMR for every K x alpha over several seeds: the paper's Figure 3.\n"+
		"Writes DIR/sweep.jsonl (one answer a line, appended: a rerun skips what is done), DIR/sweep.csv,\n"+
		"DIR/sweep.md, DIR/sweep.png (the -metric) and DIR/sweep-<metric>.png for every metric.")
	ks := fs.String("k-values", harness.Ints(eval.DefaultSweepKs), "K values (heads steered per attribute)")
	alphas := fs.String("alphas", harness.Floats(eval.DefaultSweepAlphas), "alpha values")
	seedsFlag := fs.String("seeds", "1,2,3", "seeds: each draws its -sample of items and seeds the sampler (-temperature > 0, in-process)")
	attrs := fs.String("attributes", "AC,CL", "attributes alpha steers: AC, CL or both")
	metric := fs.String("metric", eval.MetricF1, "metric of sweep.png: f1, em, bleu (xor-tydi), lang, r2kt (not xquad), f1_en or lines (xquad)")
	fs.IntVar(&f.sample, "sample", 100, "items per language drawn with each seed (0 = all: then seeds differ only by sampling)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	g := eval.SweepGrid{Direction: f.direction, Scope: f.scope}
	var err error
	if g.Ks, err = parseInts(*ks); err != nil {
		return fmt.Errorf("-k-values: %w", err)
	}
	if g.Alphas, err = parseFloats(*alphas); err != nil {
		return fmt.Errorf("-alphas: %w", err)
	}
	seeds, err := parseUints(*seedsFlag)
	if err != nil {
		return fmt.Errorf("-seeds: %w", err)
	}
	for _, a := range splitList(*attrs) {
		switch strings.ToUpper(a) {
		case profile.AttributeAC:
			g.AC = true
		case profile.AttributeCL:
			g.CL = true
		default:
			return fmt.Errorf("-attributes: %q is not AC or CL", a)
		}
	}
	if !g.AC && !g.CL {
		return errors.New("-attributes: name AC, CL or both")
	}
	if !slices.Contains(eval.Metrics(f.dataset), *metric) {
		return fmt.Errorf("-metric %q: want one of %s", *metric, strings.Join(eval.Metrics(f.dataset), ", "))
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	update, finish := progress(f.quiet, "sweeping")
	res, err := harness.RunSweep(ctx, cfg, harness.Sweep{Grid: g, Seeds: seeds, Metric: *metric, Progress: update})
	finish()
	if res != nil {
		fmt.Fprintf(os.Stderr, "%d answers planned (%d grid points x %d seeds): %d already in %s, %d answered now in %s\n",
			res.Stats.Planned, res.Points, len(seeds), res.Stats.Skipped, res.Store, res.Stats.Ran, res.Elapsed.Round(time.Millisecond))
	}
	if err != nil {
		return err
	}
	if !f.quiet {
		fmt.Fprintln(stdout, res.Markdown)
	}
	fmt.Fprintf(os.Stderr, "wrote %s: sweep.md, sweep.csv, sweep.png (%s) and sweep-<metric>.png\n", f.out, *metric)
	return nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, x := range splitList(s) {
		v, err := strconv.Atoi(x)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%q is not a whole number >= 0", x)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

func parseUints(s string) ([]uint64, error) {
	var out []uint64
	for _, x := range splitList(s) {
		v, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number >= 0", x)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, x := range splitList(s) {
		v, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", x)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}
