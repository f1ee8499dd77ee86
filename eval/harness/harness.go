// Package harness runs an evaluation end to end for `asmr eval run` and
// `asmr eval sweep`: it loads a dataset, builds the reader (in-process
// over given passages, or a Weaviate server that retrieves and
// generates), answers into a resumable store (package eval) and writes
// the paper's Tables 1 and 2 (RunTables) or its Figure 3 (RunSweep). It
// loads models through cgo (package steering), which package eval does
// not, so that eval's tests stay fast.
package harness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/eval"
	"github.com/asmr-search/generative-asmr/eval/xquad"
	"github.com/asmr-search/generative-asmr/internal/weaviatehttp"
	"github.com/asmr-search/generative-asmr/probes"
	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/steering"
)

// Config is what both runs take; its fields are the commands' flags.
// Exactly one of Contexts (given passages, an in-process reader) and
// Weaviate (a server that retrieves and generates) is set, except for
// eval.XQuAD, whose task gives each question its passages: there Contexts
// is never set, and the reader is in-process unless Weaviate is; with
// Weaviate, the task's paragraphs are loaded into Class (xquad.Load) and
// retrieved by nearVector, so Search, K, Properties, SearchProperties,
// HybridAlpha and QueryVectors do not apply.
type Config struct {
	// Dataset is eval.XORTyDi, eval.MKQA or eval.XQuAD; Data its file
	// (XQuAD: the folder of xquad.<lang>.json); Langs the languages (nil:
	// eval.PaperLanguages); Limit the most items read per language (0:
	// all); Sample the items scored per language, drawn with each seed
	// (0: all).
	Dataset, Data string
	Langs         []string
	Limit, Sample int
	// PassageSeed orders XQuAD's passages (the gold paragraph and its
	// distractors) for every question (xquad.Options.Seed).
	PassageSeed uint64
	// FromArticle and ToArticle keep XQuAD's questions of those articles
	// (xquad.Options).
	FromArticle, ToArticle int

	// Contexts is a JSONL of given passages ({id, passages}).
	Contexts string
	// ModelOptions load Model in-process (with Contexts).
	ModelOptions steering.Options
	// MaxPassages and MaxPromptTokens are the module's limits.maxPassages
	// and maxPromptTokens for the in-process reader (0: the module's
	// defaults, config.DefaultMaxPassages and no cap but the context).
	MaxPassages, MaxPromptTokens int
	// Stop ends each in-process answer at the first of these strings, as
	// an ops file's models.<name>.stop (the server applies its own).
	Stop []string

	// Weaviate is the server's base URL; the rest configure an
	// eval.WeaviateReader.
	Weaviate, Class, Search      string
	K                            int
	Properties, SearchProperties []string
	HybridAlpha                  float64
	QueryVectors                 string

	// Model and Profile are files (in-process: a GGUF or an Ollama name,
	// a profile YAML) or names of the server's ops file (Weaviate).
	Model, Profile string
	// Direction (probe or mass-mean) and Scope (generation or all) of
	// steering.
	Direction, Scope string
	// Shots is a JSONL of 1-shot examples and Template a file with the
	// zero-shot prompt template; "" takes the built-in ones.
	Shots, Template string
	// AnswerLanguage is "item" (tell the reader the item's language) or
	// "auto" (the reader detects the question's).
	AnswerLanguage string
	Temperature    float64
	// MaxTokens caps an answer; Parallel is the requests at once.
	MaxTokens, Parallel int
	// Out is the output folder.
	Out string
}

// session is what both runs run with.
type session struct {
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

func open(ctx context.Context, cfg Config, steered bool) (*session, error) {
	xq := cfg.Dataset == eval.XQuAD
	switch {
	case cfg.Dataset == "" || cfg.Data == "" || cfg.Out == "":
		return nil, errors.New("-dataset, -data and -out are required")
	case xq && cfg.Contexts != "":
		return nil, fmt.Errorf("-contexts: %s gives each question its passages itself (the English gold paragraph and %d of the same article, in the order of -passage-seed); drop -contexts", eval.XQuAD, xquadDistractors)
	case xq && cfg.QueryVectors != "":
		return nil, fmt.Errorf("-query-vectors: %s's question vectors come from its task (they retrieve each question's passages from the class it loads); drop -query-vectors", eval.XQuAD)
	case !xq && (cfg.Contexts == "") == (cfg.Weaviate == ""):
		return nil, errors.New("give -contexts (given passages, in-process) or -weaviate (retrieval and generation by the server), not both")
	case slices.Contains(cfg.Stop, ""):
		return nil, errors.New("-stop \"\": an empty stop string would end every answer at once; drop it, or give the string (e.g. -stop $'\\n' in bash)")
	case cfg.MaxTokens < 1:
		return nil, fmt.Errorf("-max-tokens %d: must be at least 1", cfg.MaxTokens)
	case cfg.MaxPassages < 0 || cfg.MaxPromptTokens < 0:
		return nil, fmt.Errorf("-max-passages %d, -max-prompt-tokens %d: want 0 (the module's default) or more", cfg.MaxPassages, cfg.MaxPromptTokens)
	case cfg.AnswerLanguage != "item" && cfg.AnswerLanguage != "auto":
		return nil, fmt.Errorf("-answer-language %q: want item or auto", cfg.AnswerLanguage)
	}
	if _, err := profile.ParseDirectionKind(cfg.Direction); err != nil {
		return nil, fmt.Errorf("-direction: %w", err)
	}
	if _, err := config.ParseTokenScope(cfg.Scope); err != nil {
		return nil, fmt.Errorf("-scope: %w", err)
	}
	s := &session{close: func() {}}
	var err error
	var task *xquad.Task
	if xq {
		task, s.items, s.langs, err = loadXQuAD(cfg)
	} else {
		s.items, s.langs, err = eval.LoadDataset(cfg.Dataset, cfg.Data, cfg.Langs, cfg.Limit)
	}
	if err != nil {
		return nil, err
	}
	s.template = config.DefaultPromptTemplate
	tmplNote := "the module's default"
	if cfg.Template != "" {
		b, err := os.ReadFile(cfg.Template)
		if err != nil {
			return nil, err
		}
		if err := config.CheckPromptTemplate(string(b)); err != nil {
			return nil, fmt.Errorf("-template %s: %w", cfg.Template, err)
		}
		s.template, tmplNote = string(b), cfg.Template
	}
	s.shots = eval.DefaultShots()
	shotNote := "built-in (\"What is the capital of France?\" in each language)"
	if cfg.Shots != "" {
		if s.shots, err = eval.ReadShots(cfg.Shots); err != nil {
			return nil, err
		}
		shotNote = cfg.Shots
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
		{"data", fmt.Sprintf("%s (%s%s): %s", cfg.Data, cfg.Dataset, articlesNote(cfg), strings.Join(perLang, ", "))},
	}

	if cfg.Weaviate == "" {
		passages := "given: " + cfg.Contexts
		if xq {
			s.contexts = task.Contexts
			s.passageSource = fmt.Sprintf("xquad:distractors=%d,seed=%d", xquadDistractors, cfg.PassageSeed)
			passages = fmt.Sprintf("given: the question's English gold paragraph and %d other paragraphs of its article, in an order drawn with passage seed %d (eval/xquad)", xquadDistractors, cfg.PassageSeed)
		} else {
			if s.contexts, err = eval.ReadContexts(cfg.Contexts); err != nil {
				return nil, err
			}
			s.passageSource = "contexts:" + filepath.Base(cfg.Contexts)
		}
		if cfg.Model == "" {
			return nil, errors.New("-model is required in-process (a GGUF file or an Ollama model name)")
		}
		if steered && cfg.Profile == "" {
			return nil, errors.New("the asmr system needs -profile (a steering profile from asmr probe)")
		}
		lr, err := NewInProcessReader(cfg, s.langs)
		if err != nil {
			return nil, err
		}
		s.reader, s.close = lr, lr.Close
		s.settings = append(s.settings,
			[2]string{"passages", passages},
			[2]string{"reader", fmt.Sprintf("in-process through the module's request path: %s (%s), context %d, at most %d passages, prompt cap %s",
				cfg.Model, lr.id, lr.m.ContextSize(), lr.limits.EffectiveMaxPassages(), promptCap(lr.limits.MaxPromptTokens))},
			[2]string{"profile", orNone(cfg.Profile)})
	} else if xq {
		w := xquadReader(cfg, task)
		if err := w.Check(); err != nil {
			return nil, fmt.Errorf("-weaviate: %w", err)
		}
		c, err := weaviatehttp.New(cfg.Weaviate, &http.Client{Timeout: 10 * time.Minute}, 0)
		if err != nil {
			return nil, fmt.Errorf("-weaviate: %w", err)
		}
		if err := xquad.Load(ctx, c, cfg.Class, task); err != nil {
			return nil, err
		}
		s.reader = w
		s.passageSource = fmt.Sprintf("weaviate:xquad:distractors=%d,seed=%d", xquadDistractors, cfg.PassageSeed)
		s.settings = append(s.settings,
			[2]string{"passages", fmt.Sprintf("retrieved by Weaviate %s, class %s (the task's %d English paragraphs, loaded by eval/xquad), nearVector top %d: "+
				"the question's English gold paragraph and %d other paragraphs of its article, in an order drawn with passage seed %d", cfg.Weaviate, cfg.Class, len(task.Paragraphs), w.K, xquadDistractors, cfg.PassageSeed)},
			[2]string{"reader", "generative-asmr in the server, model " + orDefault(cfg.Model)},
			[2]string{"profile", orDefault(cfg.Profile)})
	} else {
		w := &eval.WeaviateReader{
			URL: cfg.Weaviate, Class: cfg.Class, Search: cfg.Search, K: cfg.K,
			Properties: cfg.Properties, SearchProperties: cfg.SearchProperties,
			HybridAlpha: cfg.HybridAlpha, Model: cfg.Model, Profile: cfg.Profile,
		}
		if cfg.QueryVectors != "" {
			if w.Vectors, err = eval.ReadQueryVectors(cfg.QueryVectors); err != nil {
				return nil, err
			}
		}
		if err := w.Check(); err != nil {
			return nil, fmt.Errorf("-weaviate: %w", err)
		}
		s.reader = w
		s.passageSource = "weaviate"
		search := cfg.Search
		if len(w.SearchProperties) > 0 {
			search += " on " + strings.Join(w.SearchProperties, ", ")
		}
		s.settings = append(s.settings,
			[2]string{"passages", fmt.Sprintf("retrieved by Weaviate %s, class %s, %s, top %d, properties %s", cfg.Weaviate, cfg.Class, search, cfg.K, strings.Join(w.Properties, ", "))},
			[2]string{"reader", "generative-asmr in the server, model " + orDefault(cfg.Model)},
			[2]string{"profile", orDefault(cfg.Profile)})
	}
	s.settings = append(s.settings,
		[2]string{"generation", fmt.Sprintf("temperature %g, at most %d tokens, answer language: %s; prediction = first line of the answer, without an \"Answer:\" label", cfg.Temperature, cfg.MaxTokens, answerLangNote(cfg.AnswerLanguage))},
		[2]string{"prompt", "template " + tmplNote + "; 1-shot examples " + shotNote})
	return s, nil
}

// xquadDistractors is the number of same-article paragraphs given with
// XQuAD's gold paragraph: the paper's 2.
const xquadDistractors = 2

// loadXQuAD reads cfg.Data, a folder of xquad.<lang>.json, for cfg.Langs
// (eval.PaperLanguages[eval.XQuAD] when empty) and English, and builds the
// task: at most cfg.Limit questions per language, passages ordered with
// cfg.PassageSeed. The items, question by question with every language of
// a question in a row, carry their English golds (eval.Item.English).
func loadXQuAD(cfg Config) (*xquad.Task, []eval.Item, []string, error) {
	langs := cfg.Langs
	if len(langs) == 0 {
		langs = eval.PaperLanguages[eval.XQuAD]
	}
	for _, l := range langs {
		switch {
		case l == "en":
			return nil, nil, nil, fmt.Errorf("-langs: en is the language of %s's passages, not of a cross-lingual question; want some of %s", eval.XQuAD, strings.Join(eval.PaperLanguages[eval.XQuAD], ","))
		case !slices.Contains(probes.XQuADLanguages, l):
			return nil, nil, nil, fmt.Errorf("-langs: %q is not a language of XQuAD; want some of %s", l, strings.Join(eval.PaperLanguages[eval.XQuAD], ","))
		}
	}
	byLang, err := probes.ReadXQuADDir(cfg.Data, append([]string{"en"}, langs...))
	if err != nil {
		return nil, nil, nil, err
	}
	task, err := xquad.Build(byLang, xquad.Options{Distractors: xquadDistractors, Seed: cfg.PassageSeed, Limit: cfg.Limit, FromArticle: cfg.FromArticle, ToArticle: cfg.ToArticle})
	if err != nil {
		return nil, nil, nil, err
	}
	for _, l := range langs {
		if len(task.Items[l]) == 0 {
			return nil, nil, nil, fmt.Errorf("%s has no %s questions in language %q", cfg.Data, eval.XQuAD, l)
		}
	}
	// Question by question, every language of a question in a row: their
	// prompts share the passages, which a reader's prompt cache then
	// decodes once when the template puts the passages first.
	var items []eval.Item
	for i := range task.Items[langs[0]] {
		for _, l := range langs {
			it := task.Items[l][i]
			it.English = task.English[it.ID]
			items = append(items, it)
		}
	}
	return task, items, langs, nil
}

// xquadReader is the Weaviate reader of the XQuAD task: nearVector with
// the task's question vectors (xquad.Task.Vectors) over the class that
// xquad.Load fills, K the most passages a question is given, so that the
// server retrieves exactly each question's Contexts, in their order. The
// flags -search, -k, -properties, -search-properties, -hybrid-alpha and
// -query-vectors do not apply.
func xquadReader(cfg Config, task *xquad.Task) *eval.WeaviateReader {
	k := 0
	for _, c := range task.Contexts {
		k = max(k, len(c))
	}
	return &eval.WeaviateReader{
		URL: cfg.Weaviate, Class: cfg.Class, Search: eval.SearchNearVector, K: k,
		Properties: []string{"text"}, HybridAlpha: -1, Vectors: task.Vectors(),
		Model: cfg.Model, Profile: cfg.Profile,
	}
}

// options are the eval.Run options of the session's systems, answered
// into store.
func (s *session) options(cfg Config, systems []eval.System, store *eval.Store, progress func(int, int)) eval.Options {
	return eval.Options{
		Dataset: cfg.Dataset, Items: s.items, Sample: cfg.Sample, Systems: systems,
		Reader: s.reader, Contexts: s.contexts, PassageSource: s.passageSource,
		Shots: s.shots, Template: s.template, AnswerLanguage: cfg.AnswerLanguage,
		Temperature: cfg.Temperature, MaxTokens: cfg.MaxTokens, Parallel: cfg.Parallel,
		Store: store, Progress: progress,
	}
}

// answered is a run's answers: the session, its store, the options they
// were answered with and what eval.Run did.
type answered struct {
	*session
	store   *eval.Store
	opts    eval.Options
	stats   eval.RunStats
	elapsed time.Duration
}

// answer opens the session and the store cfg.Out/file and answers every
// system over the seeds. It returns nil when the run could not begin;
// otherwise the caller calls done, and an error is eval.Run's, saying
// that the answers so far are saved.
func answer(ctx context.Context, cfg Config, steered bool, file string, systems []eval.System, seeds []uint64, progress func(int, int)) (*answered, error) {
	s, err := open(ctx, cfg, steered)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		s.close()
		return nil, err
	}
	store, err := eval.OpenStore(filepath.Join(cfg.Out, file))
	if err != nil {
		s.close()
		return nil, err
	}
	a := &answered{session: s, store: store, opts: s.options(cfg, systems, store, progress)}
	a.opts.Seeds = seeds
	start := time.Now()
	a.stats, err = eval.Run(ctx, a.opts)
	a.elapsed = time.Since(start)
	if err != nil {
		return a, errResumable(err)
	}
	return a, nil
}

// done closes the store, then the reader.
func (a *answered) done() {
	a.store.Close()
	a.session.close()
}

// errResumable wraps an error of eval.Run: the answers so far are saved.
func errResumable(err error) error {
	return fmt.Errorf("%w (the answers so far are saved; run the same command again to go on)", err)
}

// articlesNote describes an XQuAD article range, "" for every article.
func articlesNote(cfg Config) string {
	switch {
	case cfg.FromArticle == 0 && cfg.ToArticle == 0:
		return ""
	case cfg.ToArticle == 0:
		return fmt.Sprintf(", articles %d to the last", cfg.FromArticle)
	}
	return fmt.Sprintf(", articles %d to %d", cfg.FromArticle, cfg.ToArticle-1)
}

func answerLangNote(mode string) string {
	if mode == "auto" {
		return "detected in the question"
	}
	return "the item's"
}

func promptCap(n int) string {
	if n <= 0 {
		return "none"
	}
	return strconv.Itoa(n) + " tokens"
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

// Ints, Floats and Uints write a list as the commands' flags take it:
// comma-separated, numbers in their shortest form.
func Ints(xs []int) string { return join(xs, strconv.Itoa) }

// Floats: see Ints.
func Floats(xs []float64) string {
	return join(xs, func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) })
}

// Uints: see Ints.
func Uints(xs []uint64) string {
	return join(xs, func(x uint64) string { return strconv.FormatUint(x, 10) })
}

func join[T any](xs []T, f func(T) string) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = f(x)
	}
	return strings.Join(s, ",")
}
