package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/steering"
)

// runEval is `asmr eval run|sweep`: it scores the reader on XOR-TyDi QA or
// MKQA as the paper does (Tables 1 and 2: baseline, 1-shot and ASMR; Figure
// 3: K x alpha), over given passages in-process, or through a Weaviate
// server that retrieves and generates. See docs/reproduce.md.
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
       asmr eval sweep -dataset xor-tydi|mkqa -data FILE (-contexts FILE | -weaviate URL -class C) -out DIR [flags]

run:   baseline, 1-shot and ASMR on every item, laid out like the paper's
       Table 1 (XOR-TyDi QA) or Table 2 (MKQA), with paired t-tests.
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
	out                              string
	quiet                            bool
}

func newEvalFlags(name, summary string) (*flag.FlagSet, *evalFlags) {
	fs := flag.NewFlagSet("asmr eval "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: asmr eval %s -dataset xor-tydi|mkqa -data FILE (-contexts FILE | -weaviate URL -class C) -out DIR [flags]\n\n%s\n\nflags:\n", name, summary)
		fs.PrintDefaults()
	}
	f := &evalFlags{}
	f.rf.register(fs)
	fs.StringVar(&f.dataset, "dataset", "", "xor-tydi (XOR-Full dev JSONL) or mkqa (mkqa.jsonl[.gz]) (required)")
	fs.StringVar(&f.data, "data", "", "the dataset file (required)")
	fs.StringVar(&f.langs, "langs", "", "comma-separated languages (default: the paper's: xor-tydi ar,bn,fi,ja,ko,ru,te; mkqa de,es,fr,it,nl,pt,th,tr,vi,zh)")
	fs.IntVar(&f.limit, "limit", 0, "read at most this many items per language, in file order (0 = all)")
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
	fs.StringVar(&f.direction, "direction", string(config.DefaultDirectionKind), "steering direction: probe or mass-mean")
	fs.StringVar(&f.scope, "scope", config.TokenScopeGeneration, "steered tokens: generation or all")
	fs.StringVar(&f.shots, "shots", "", "1-shot examples, JSONL of {lang, question, passage, answer} (default: the built-in ones, see docs/reproduce.md)")
	fs.StringVar(&f.template, "template", "", "file with the zero-shot prompt template ({{passages}}, {{question}}, {{language}}; default: the module's)")
	fs.StringVar(&f.answerLang, "answer-language", "item", "item: tell the reader the item's language; auto: the reader detects the question's")
	fs.Float64Var(&f.temperature, "temperature", 0, "sampling temperature (0 = greedy, where the seed does not matter)")
	fs.IntVar(&f.maxTokens, "max-tokens", 32, "answer length cap in tokens")
	fs.IntVar(&f.parallel, "parallel", 1, "requests at once (in-process: reader slots)")
	fs.StringVar(&f.out, "out", "", "output folder (required)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar and no report on standard output")
	return fs, f
}

// evalSetup is what both commands run with.
type evalSetup struct {
	items         []eval.Item
	langs         []string
	reader        eval.Reader
	close         func()
	contexts      map[string][]string
	passageSource string
	template      string
	shots         map[string]eval.Shot
	settings      [][2]string
}

func (f *evalFlags) setup(steered bool) (*evalSetup, error) {
	switch {
	case f.dataset == "" || f.data == "" || f.out == "":
		return nil, errors.New("-dataset, -data and -out are required")
	case (f.contexts == "") == (f.weaviate == ""):
		return nil, errors.New("give -contexts (given passages, in-process) or -weaviate (retrieval and generation by the server), not both")
	case f.maxTokens < 1:
		return nil, fmt.Errorf("-max-tokens %d: must be at least 1", f.maxTokens)
	case f.answerLang != "item" && f.answerLang != "auto":
		return nil, fmt.Errorf("-answer-language %q: want item or auto", f.answerLang)
	}
	if _, err := config.ParseDirectionKind(f.direction); err != nil {
		return nil, fmt.Errorf("-direction: %w", err)
	}
	if _, err := steering.ParseScope(f.scope); err != nil {
		return nil, fmt.Errorf("-scope: %w", err)
	}
	s := &evalSetup{close: func() {}}
	var err error
	s.items, s.langs, err = eval.LoadDataset(f.dataset, f.data, splitList(f.langs), f.limit)
	if err != nil {
		return nil, err
	}
	s.template = config.DefaultPromptTemplate
	tmplNote := "the module's default"
	if f.template != "" {
		b, err := os.ReadFile(f.template)
		if err != nil {
			return nil, err
		}
		if err := config.CheckPromptTemplate(string(b)); err != nil {
			return nil, fmt.Errorf("-template %s: %w", f.template, err)
		}
		s.template, tmplNote = string(b), f.template
	}
	s.shots = eval.DefaultShots()
	shotNote := "built-in (\"What is the capital of France?\" in each language)"
	if f.shots != "" {
		if s.shots, err = eval.ReadShots(f.shots); err != nil {
			return nil, err
		}
		shotNote = f.shots
	}
	counts := map[string]int{}
	for _, it := range s.items {
		counts[it.Lang]++
	}
	var perLang []string
	for _, l := range s.langs {
		perLang = append(perLang, fmt.Sprintf("%s %d", l, counts[l]))
	}
	s.settings = [][2]string{
		{"data", fmt.Sprintf("%s (%s): %s", f.data, f.dataset, strings.Join(perLang, ", "))},
	}

	if f.contexts != "" {
		if s.contexts, err = eval.ReadContexts(f.contexts); err != nil {
			return nil, err
		}
		s.passageSource = "contexts:" + filepath.Base(f.contexts)
		if f.model == "" {
			return nil, errors.New("-model is required with -contexts (a GGUF file or an Ollama model name)")
		}
		if steered && f.profile == "" {
			return nil, errors.New("the asmr system needs -profile (a steering profile from asmr probe)")
		}
		lr, err := newLocalReader(f, s.langs)
		if err != nil {
			return nil, err
		}
		s.reader, s.close = lr, lr.Close
		s.settings = append(s.settings,
			[2]string{"passages", "given: " + f.contexts},
			[2]string{"reader", fmt.Sprintf("in-process: %s (%s), context %d", f.model, lr.id, lr.m.ContextSize())},
			[2]string{"profile", orNone(f.profile)})
	} else {
		w := &eval.WeaviateReader{
			URL: f.weaviate, Class: f.class, Search: f.search, K: f.k,
			Properties: splitList(f.properties), SearchProperties: splitList(f.searchProps),
			HybridAlpha: f.hybridAlpha, Model: f.model, Profile: f.profile,
		}
		if f.queryVectors != "" {
			if w.Vectors, err = eval.ReadQueryVectors(f.queryVectors); err != nil {
				return nil, err
			}
		}
		if err := w.Check(); err != nil {
			return nil, fmt.Errorf("-weaviate: %w", err)
		}
		s.reader = w
		s.passageSource = "weaviate"
		search := f.search
		if len(w.SearchProperties) > 0 {
			search += " on " + strings.Join(w.SearchProperties, ", ")
		}
		s.settings = append(s.settings,
			[2]string{"passages", fmt.Sprintf("retrieved by Weaviate %s, class %s, %s, top %d, properties %s", f.weaviate, f.class, search, f.k, strings.Join(w.Properties, ", "))},
			[2]string{"reader", "generative-asmr in the server, model " + orDefault(f.model)},
			[2]string{"profile", orDefault(f.profile)})
	}
	s.settings = append(s.settings,
		[2]string{"generation", fmt.Sprintf("temperature %g, at most %d tokens, answer language: %s; prediction = first line of the answer, without an \"Answer:\" label", f.temperature, f.maxTokens, answerLangNote(f.answerLang))},
		[2]string{"prompt", "template " + tmplNote + "; 1-shot examples " + shotNote})
	return s, nil
}

func (f *evalFlags) options(s *evalSetup, systems []eval.System, store *eval.Store, progress func(int, int)) eval.Options {
	return eval.Options{
		Dataset: f.dataset, Items: s.items, Sample: f.sample, Systems: systems,
		Reader: s.reader, Contexts: s.contexts, PassageSource: s.passageSource,
		Shots: s.shots, Template: s.template, AnswerLanguage: f.answerLang,
		Temperature: f.temperature, MaxTokens: f.maxTokens, Parallel: f.parallel,
		Store: store, Progress: progress,
	}
}

func answerLangNote(mode string) string {
	if mode == "auto" {
		return "detected in the question"
	}
	return "the item's"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func orDefault(s string) string {
	if s == "" {
		return "the server's default"
	}
	return s
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
	fs, f := newEvalFlags("run", "Scores baseline (zero-shot), 1-shot and ASMR on every item: the paper's Table 1 (xor-tydi) or Table 2 (mkqa).\n"+
		"Writes DIR/items.jsonl (one answer a line, appended: a rerun skips what is done), DIR/report.md and DIR/results.csv.")
	systemsFlag := fs.String("systems", "baseline,1shot,asmr", "systems to run: baseline, 1shot, asmr")
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
	steered := false
	for _, s := range systems {
		steered = steered || s.Steer.Active()
	}
	s, err := f.setup(steered)
	if err != nil {
		return err
	}
	defer s.close()
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	store, err := eval.OpenStore(filepath.Join(f.out, "items.jsonl"))
	if err != nil {
		return err
	}
	defer store.Close()

	update, finish := progress(f.quiet, "answering")
	o := f.options(s, systems, store, update)
	o.Seeds = []uint64{*seed}
	start := time.Now()
	st, err := eval.Run(ctx, o)
	finish()
	fmt.Fprintf(os.Stderr, "%d answers planned: %d already in %s, %d answered now in %s", st.Planned, st.Skipped, store.Path(), st.Ran, time.Since(start).Round(time.Millisecond))
	if st.NoResults > 0 {
		fmt.Fprintf(os.Stderr, " (%d with no search results)", st.NoResults)
	}
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return fmt.Errorf("%w (the answers so far are saved; run the same command again to go on)", err)
	}

	items := eval.Subsample(s.items, f.sample, *seed)
	preds := map[string]eval.Predictions{}
	for _, sys := range systems {
		if preds[sys.Name], err = store.Select(o.Key(sys), *seed, items); err != nil {
			return err
		}
	}
	det, err := eval.NewLangDetector(s.langs...)
	if err != nil {
		return err
	}
	rep, err := eval.BuildReport(f.dataset, s.langs, items, systems, preds, det)
	if err != nil {
		return err
	}
	rep.Settings = append(s.settings, [2]string{"systems", describeSystems(systems)})
	if f.sample > 0 {
		rep.Settings = append(rep.Settings, [2]string{"sample", fmt.Sprintf("%d items per language drawn with seed %d", f.sample, *seed)})
	}
	rep.Settings = append(rep.Settings, [2]string{"answers", store.Path()})
	md := rep.Markdown()
	mdPath, csvPath := filepath.Join(f.out, "report.md"), filepath.Join(f.out, "results.csv")
	if err := os.WriteFile(mdPath, []byte(md), 0o644); err != nil {
		return err
	}
	if err := rep.WriteCSV(csvPath); err != nil {
		return err
	}
	if !f.quiet {
		fmt.Fprintln(stdout, md)
	}
	fmt.Fprintf(os.Stderr, "wrote %s and %s\n", mdPath, csvPath)
	return nil
}

func describeSystems(systems []eval.System) string {
	var parts []string
	for _, s := range systems {
		d := s.Label()
		switch {
		case s.OneShot:
			d += " (one worked example in the prompt, unsteered)"
		case s.Steer.Active():
			d += fmt.Sprintf(" (alphaAC %g, alphaCL %g, top %d heads per attribute, %s directions, %s tokens)",
				s.Steer.AlphaAC, s.Steer.AlphaCL, s.Steer.TopK, s.Steer.Direction, s.Steer.Scope)
		default:
			d += " (zero-shot, unsteered)"
		}
		parts = append(parts, d)
	}
	return strings.Join(parts, "; ")
}

func evalSweep(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newEvalFlags("sweep", "Runs ASMR for every K x alpha over several seeds: the paper's Figure 3.\n"+
		"Writes DIR/sweep.jsonl (one answer a line, appended: a rerun skips what is done), DIR/sweep.csv,\n"+
		"DIR/sweep.md, DIR/sweep.png (the -metric) and DIR/sweep-<metric>.png for every metric.")
	ks := fs.String("k-values", joinInts(eval.DefaultSweepKs), "K values (heads steered per attribute)")
	alphas := fs.String("alphas", joinFloats(eval.DefaultSweepAlphas), "alpha values")
	seedsFlag := fs.String("seeds", "1,2,3", "seeds: each draws its -sample of items and seeds the sampler (-temperature > 0, in-process)")
	attrs := fs.String("attributes", "AC,CL", "attributes alpha steers: AC, CL or both")
	metric := fs.String("metric", eval.MetricF1, "metric of sweep.png: f1, em, bleu (xor-tydi), lang or r2kt")
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
		case config.AttributeAC:
			g.AC = true
		case config.AttributeCL:
			g.CL = true
		default:
			return fmt.Errorf("-attributes: %q is not AC or CL", a)
		}
	}
	if !g.AC && !g.CL {
		return errors.New("-attributes: name AC, CL or both")
	}
	if !contains(eval.Metrics(f.dataset), *metric) {
		return fmt.Errorf("-metric %q: want one of %s", *metric, strings.Join(eval.Metrics(f.dataset), ", "))
	}
	s, err := f.setup(true)
	if err != nil {
		return err
	}
	defer s.close()
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	store, err := eval.OpenStore(filepath.Join(f.out, "sweep.jsonl"))
	if err != nil {
		return err
	}
	defer store.Close()

	systems := g.Systems()
	update, finish := progress(f.quiet, "sweeping")
	o := f.options(s, systems, store, update)
	o.Seeds = seeds
	start := time.Now()
	st, err := eval.Run(ctx, o)
	finish()
	fmt.Fprintf(os.Stderr, "%d answers planned (%d grid points x %d seeds): %d already in %s, %d answered now in %s\n",
		st.Planned, len(systems), len(seeds), st.Skipped, store.Path(), st.Ran, time.Since(start).Round(time.Millisecond))
	if err != nil {
		return fmt.Errorf("%w (the answers so far are saved; run the same command again to go on)", err)
	}

	det, err := eval.NewLangDetector(s.langs...)
	if err != nil {
		return err
	}
	points, err := eval.ScoreSweep(f.dataset, s.items, f.sample, seeds, g, store, o.Key, det)
	if err != nil {
		return err
	}
	metrics := eval.Metrics(f.dataset)
	var b strings.Builder
	fmt.Fprintf(&b, "# Figure 3 layout: %s, K x alpha sweep\n\n", eval.DatasetName(f.dataset))
	for _, kv := range s.settings {
		fmt.Fprintf(&b, "- %s: %s\n", kv[0], kv[1])
	}
	attrNames := []string{}
	if g.AC {
		attrNames = append(attrNames, "alphaAC")
	}
	if g.CL {
		attrNames = append(attrNames, "alphaCL")
	}
	fmt.Fprintf(&b, "- grid: K %s x alpha %s (alpha sets %s; %s directions, %s tokens); seeds %s; %s\n- answers: %s\n\n",
		*ks, *alphas, strings.Join(attrNames, " and "), f.direction, f.scope, *seedsFlag, sampleNote(f.sample), store.Path())
	b.WriteString("Values are macro averages over the languages, in percent; with several seeds, mean ± standard deviation over seeds. alpha 0 is the unsteered reader (the same answers for every K).\n")
	for _, m := range metrics {
		title := eval.MetricTitle(f.dataset, m)
		b.WriteString("\n" + eval.SweepMarkdown(points, m, title))
		png := filepath.Join(f.out, "sweep-"+m+".png")
		if err := eval.WriteSweepPlot(png, points, m, metricAxis(m), fmt.Sprintf("%s: %s vs alpha, one line per K", eval.DatasetName(f.dataset), metricAxis(m))); err != nil {
			return err
		}
		if m == *metric {
			if err := eval.WriteSweepPlot(filepath.Join(f.out, "sweep.png"), points, m, metricAxis(m), fmt.Sprintf("%s: %s vs alpha, one line per K", eval.DatasetName(f.dataset), metricAxis(m))); err != nil {
				return err
			}
		}
	}
	md := b.String()
	if err := os.WriteFile(filepath.Join(f.out, "sweep.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if err := eval.WriteSweepCSV(filepath.Join(f.out, "sweep.csv"), points, metrics); err != nil {
		return err
	}
	if !f.quiet {
		fmt.Fprintln(stdout, md)
	}
	fmt.Fprintf(os.Stderr, "wrote %s: sweep.md, sweep.csv, sweep.png (%s) and sweep-<metric>.png\n", f.out, *metric)
	return nil
}

func sampleNote(n int) string {
	if n <= 0 {
		return "every item"
	}
	return fmt.Sprintf("%d items per language drawn with each seed", n)
}

func metricAxis(m string) string {
	switch m {
	case eval.MetricF1:
		return "F1"
	case eval.MetricEM:
		return "EM"
	case eval.MetricBLEU:
		return "BLEU"
	case eval.MetricLang:
		return "answer-language rate"
	case eval.MetricRecall:
		return "R@2kt"
	}
	return m
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
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

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func joinFloats(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

// localReader answers in-process over given passages: the module's prompt
// (eval.FillTemplate), the model's chat template, and steering from a
// profile file, as the module would do it for a groupedResult. A prompt
// over the context budget (context - max tokens) loses its worst-ranked
// passages until it fits (the module also shortens the last one).
type localReader struct {
	m          *steering.Model
	id         string
	profile    *config.Profile
	profileSum string
	det        *eval.LangDetector

	mu  sync.Mutex
	ivs map[eval.Steering]steering.Intervention
}

func newLocalReader(f *evalFlags, langs []string) (*localReader, error) {
	opts, err := f.rf.options()
	if err != nil {
		return nil, err
	}
	opts.Slots = max(1, f.parallel)
	m, err := steering.Load(f.model, opts)
	if err != nil {
		return nil, err
	}
	r := &localReader{m: m, ivs: map[eval.Steering]steering.Intervention{}}
	id, err := config.ModelFingerprint(m.Path())
	if err != nil {
		m.Close()
		return nil, err
	}
	r.id = id.Fingerprint
	if f.profile != "" {
		data, err := os.ReadFile(f.profile)
		if err != nil {
			m.Close()
			return nil, err
		}
		if r.profile, err = config.ParseProfile(data); err != nil {
			m.Close()
			return nil, fmt.Errorf("-profile %s: %w", f.profile, err)
		}
		if err := r.profile.CheckModel(id); err != nil {
			m.Close()
			return nil, fmt.Errorf("-profile %s does not fit -model %s: %w", f.profile, f.model, err)
		}
		sum := sha256.Sum256(data)
		r.profileSum = hex.EncodeToString(sum[:8])
	}
	if f.answerLang == "auto" {
		if r.det, err = eval.NewLangDetector(langs...); err != nil {
			m.Close()
			return nil, err
		}
	}
	return r, nil
}

func (r *localReader) Close() { r.m.Close() }

// Identity implements eval.Reader: the model's fingerprint, the profile's
// content and the context size (which decides how many passages fit).
func (r *localReader) Identity() map[string]any {
	return map[string]any{"model": r.id, "profile": r.profileSum, "context": r.m.ContextSize()}
}

func (r *localReader) intervention(st eval.Steering) (steering.Intervention, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if iv, ok := r.ivs[st]; ok {
		return iv, nil
	}
	if r.profile == nil {
		return nil, errors.New("steering needs a profile (-profile)")
	}
	kind, err := config.ParseDirectionKind(st.Direction)
	if err != nil {
		return nil, err
	}
	iv, err := steering.ProfileIntervention(r.profile, kind, st.AlphaAC, st.AlphaCL, st.TopK)
	if err != nil {
		return nil, err
	}
	if err := iv.Validate(r.m.Shape()); err != nil {
		return nil, err
	}
	r.ivs[st] = iv
	return iv, nil
}

// Read implements eval.Reader.
func (r *localReader) Read(ctx context.Context, req eval.Request) (eval.Response, error) {
	lang := req.Language
	if lang == "" && r.det != nil {
		lang = r.det.Detect(req.Item.Question)
	}
	language := eval.LanguageName(lang)
	budget := r.m.ContextSize() - req.MaxTokens
	used := len(req.Passages)
	var system, user string
	for {
		system, user = eval.FillTemplate(req.Template, req.Item.Question, language, req.Passages[:used])
		toks, _, err := r.m.TokenizePrompt(system, user)
		if err != nil {
			return eval.Response{}, err
		}
		if len(toks) <= budget {
			break
		}
		if used == 0 {
			return eval.Response{}, fmt.Errorf("the question and template alone have %d tokens, over the budget of %d (context %d - max tokens %d): raise -ctx",
				len(toks), budget, r.m.ContextSize(), req.MaxTokens)
		}
		used--
	}
	p := steering.Params{System: system, Temperature: float32(req.Temperature), MaxTokens: req.MaxTokens, Seed: uint32(req.Seed)}
	if st := req.System.Steer; st.Active() {
		iv, err := r.intervention(*st)
		if err != nil {
			return eval.Response{}, err
		}
		scope, err := steering.ParseScope(st.Scope)
		if err != nil {
			return eval.Response{}, err
		}
		p.Steer = &steering.Steer{Intervention: iv, Scope: scope}
	}
	res, err := r.m.Generate(ctx, user, p)
	if err != nil {
		return eval.Response{}, err
	}
	return eval.Response{
		Text: res.Text, Passages: req.Passages, PassagesUsed: used, SteeredHeads: res.SteeredHeads,
		PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens, StopReason: string(res.StopReason),
	}, nil
}
