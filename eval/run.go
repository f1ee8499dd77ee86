package eval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/asmr-search/generative-asmr/profile"
)

// The evaluation runner: it asks a Reader for the answer of every (item,
// system, seed) that the store does not hold yet, and appends each answer to
// the store as soon as it comes back, so that an interrupted run resumes
// where it stopped. Scoring (report.go) reads the store afterwards.

// System names of `asmr eval run`.
const (
	Baseline = "baseline" // zero-shot prompt, unsteered
	OneShot  = "1shot"    // one worked example in the prompt, unsteered
	ASMR     = "asmr"     // zero-shot prompt, steered with the profile
)

// Steering is how the ASMR system steers: the module's per-query options of
// the same names.
type Steering struct {
	AlphaAC   float64 `json:"alphaAC"`
	AlphaCL   float64 `json:"alphaCL"`
	TopK      int     `json:"topK"`
	Direction string  `json:"direction"`
	Scope     string  `json:"tokenScope"`
}

// Active reports whether s steers anything.
func (s *Steering) Active() bool { return s != nil && (s.AlphaAC != 0 || s.AlphaCL != 0) }

// System is one way of running the reader.
type System struct {
	Name    string    `json:"name"`
	OneShot bool      `json:"oneShot,omitempty"`
	Steer   *Steering `json:"steer,omitempty"`
}

// Label is the row label of a system in the tables: "ASMR (CL,
// mass-mean, α 4, K 32)" for asmr-cl:mass-mean@4/32.
func (s System) Label() string {
	switch s.Name {
	case Baseline:
		return "Baseline"
	case OneShot:
		return "1-shot"
	}
	n, err := parseASMRName(s.Name)
	if err != nil {
		return s.Name
	}
	var parts []string
	if n.attrs != "" {
		parts = append(parts, strings.ToUpper(n.attrs))
	}
	if n.dir != "" {
		parts = append(parts, n.dir)
	}
	if n.alpha != nil {
		parts = append(parts, "α "+strconv.FormatFloat(*n.alpha, 'g', -1, 64))
	}
	if n.topK != nil {
		parts = append(parts, fmt.Sprintf("K %d", *n.topK))
	}
	if len(parts) == 0 {
		return "ASMR"
	}
	return "ASMR (" + strings.Join(parts, ", ") + ")"
}

// asmrName is an ASMR system name taken apart:
// asmr[-ac|-cl][:direction][@alpha[/K]].
type asmrName struct {
	attrs string // "", "ac" or "cl"
	dir   string // "": the flag's
	alpha *float64
	topK  *int
}

// parseASMRName takes an ASMR system name apart; the error says what is
// wrong with a name that starts like one, and errNotASMR marks another.
func parseASMRName(s string) (asmrName, error) {
	var n asmrName
	rest, tail, hasAt := strings.Cut(s, "@")
	base, dir, _ := strings.Cut(rest, ":")
	switch base {
	case ASMR:
	case ASMR + "-ac":
		n.attrs = "ac"
	case ASMR + "-cl":
		n.attrs = "cl"
	default:
		return n, errNotASMR
	}
	n.dir = dir
	if hasAt {
		a, k, hasK := strings.Cut(tail, "/")
		alpha, err := strconv.ParseFloat(a, 64)
		if err != nil || alpha == 0 || math.IsNaN(alpha) || math.IsInf(alpha, 0) {
			return n, fmt.Errorf("system %q: @%s is not a non-zero strength (write e.g. @4 or @4/32 for alpha 4 over the 32 best heads)", s, a)
		}
		n.alpha = &alpha
		if hasK {
			topK, err := strconv.Atoi(k)
			if err != nil || topK < 1 {
				return n, fmt.Errorf("system %q: /%s is not a head count of 1 or more (write e.g. @4/32)", s, k)
			}
			n.topK = &topK
		}
	}
	return n, nil
}

var errNotASMR = errors.New("not an ASMR system name")

// ParseSystems reads a comma-separated list of systems: baseline, 1shot,
// and ASMR systems named asmr[-ac|-cl][:direction][@alpha[/K]]: asmr
// steers with steer (AC and CL), asmr-ac with its AC alpha only, asmr-cl
// with its CL alpha only; a :direction suffix (probe, mass-mean, language;
// see profile.ParseDirectionKind) replaces steer's direction, @alpha the
// alpha of the system's attributes (both for asmr) and /K the heads per
// attribute. So one run compares systems each at its own strength. Every
// problem of the list is reported at once.
func ParseSystems(list string, steer Steering) ([]System, error) {
	var out []System
	var problems []string
	seen := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		switch n {
		case "":
			continue
		case "1-shot", "oneshot":
			n = OneShot
		}
		if seen[n] {
			problems = append(problems, fmt.Sprintf("system %q listed twice", n))
			continue
		}
		seen[n] = true
		switch n {
		case Baseline:
			out = append(out, System{Name: Baseline})
			continue
		case OneShot:
			out = append(out, System{Name: OneShot, OneShot: true})
			continue
		}
		a, err := parseASMRName(n)
		if errors.Is(err, errNotASMR) {
			problems = append(problems, fmt.Sprintf("unknown system %q: want baseline, 1shot or asmr[-ac|-cl][:probe|mass-mean|language][@alpha[/K]]", n))
			continue
		}
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		st := steer
		if a.dir != "" {
			kind, err := profile.ParseDirectionKind(a.dir)
			if err != nil {
				problems = append(problems, fmt.Sprintf("system %q: unknown direction %q (%v)", n, a.dir, err))
				continue
			}
			st.Direction = string(kind)
		}
		if a.alpha != nil {
			st.AlphaAC, st.AlphaCL = *a.alpha, *a.alpha
		}
		if a.topK != nil {
			st.TopK = *a.topK
		}
		switch a.attrs {
		case "ac":
			st.AlphaCL = 0
			if st.AlphaAC == 0 {
				problems = append(problems, fmt.Sprintf("system %q steers AC only, but -alpha-ac is 0: give it a strength (-alpha-ac or @alpha)", n))
				continue
			}
		case "cl":
			st.AlphaAC = 0
			if st.AlphaCL == 0 {
				problems = append(problems, fmt.Sprintf("system %q steers CL only, but -alpha-cl is 0: give it a strength (-alpha-cl or @alpha)", n))
				continue
			}
		}
		out = append(out, System{Name: n, Steer: &st})
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	if len(out) == 0 {
		return nil, errors.New("no systems: give e.g. baseline,1shot,asmr")
	}
	return out, nil
}

// Request is one generation.
type Request struct {
	Item   Item
	System System
	// Template is the prompt template (see rag.FillTemplate), already made
	// 1-shot for a 1-shot system.
	Template string
	// Language is the code of the language the reader must answer in; ""
	// lets the reader detect the question's language (the module's
	// answerLanguage "auto").
	Language string
	// Passages are the given passages, best first; nil means the reader
	// retrieves them itself.
	Passages    []string
	Seed        uint64
	Temperature float64
	MaxTokens   int
}

// Response is what a reader answered.
type Response struct {
	Text string
	// Passages are the passages retrieved (or given) for the question, in
	// rank order: what R@2kt is computed on.
	Passages []string
	// PassagesUsed is how many of them were in the prompt (fewer when the
	// prompt had to be cut to fit the context).
	PassagesUsed int
	// NoResults: the search returned nothing, so no generation happened
	// (the prediction is empty).
	NoResults        bool
	SteeredHeads     int
	PromptTokens     int
	CompletionTokens int
	StopReason       string
	// QuestionLanguage is the language the reader detected in the
	// question (server runs; "" otherwise).
	QuestionLanguage string
}

// Reader answers requests: in-process over given passages, or through a
// Weaviate server that retrieves and generates.
type Reader interface {
	Read(ctx context.Context, req Request) (Response, error)
	// Identity describes what answers (model, profile, retrieval settings).
	// It is part of every record's key, so that results of other settings
	// are never mixed into a table. The entry "profile" is left out of the
	// key of unsteered systems.
	Identity() map[string]any
}

// Record is one answered request, one line of the results JSONL.
type Record struct {
	// Key identifies the settings the answer was made with (see Options.Key).
	Key     string  `json:"key"`
	System  string  `json:"system"`
	Dataset string  `json:"dataset"`
	Lang    string  `json:"lang"`
	ID      string  `json:"id"`
	Seed    uint64  `json:"seed"`
	TopK    int     `json:"topK,omitempty"`
	AlphaAC float64 `json:"alphaAC"`
	AlphaCL float64 `json:"alphaCL"`
	// ShotLang is the language of the 1-shot example ("" otherwise).
	ShotLang string `json:"shotLang,omitempty"`
	Question string `json:"question"`
	// Prediction is what is scored: CleanAnswer(Raw).
	Prediction       string   `json:"prediction"`
	Raw              string   `json:"raw"`
	Passages         []string `json:"passages"`
	PassagesUsed     int      `json:"passagesUsed"`
	NoResults        bool     `json:"noResults,omitempty"`
	SteeredHeads     int      `json:"steeredHeads"`
	PromptTokens     int      `json:"promptTokens"`
	CompletionTokens int      `json:"completionTokens"`
	StopReason       string   `json:"stopReason"`
	QuestionLanguage string   `json:"questionLanguage,omitempty"`
	Ms               float64  `json:"ms"`
	Time             string   `json:"time"`
}

// ItemKey is the record's item.
func (r Record) ItemKey() Key { return Key{r.Lang, r.ID} }

// Options configure Run.
type Options struct {
	Dataset string
	// Items are the candidate items of every language, in file order.
	Items []Item
	// Sample keeps that many items per language, drawn with each seed
	// (Subsample); 0 keeps all.
	Sample int
	// Seeds: each is a data subsample seed (with Sample) and the sampler
	// seed of the reader (with Temperature > 0). Default {1}.
	Seeds   []uint64
	Systems []System
	Reader  Reader
	// Contexts are the given passages by item ID; nil: the reader retrieves.
	Contexts map[string][]string
	// PassageSource describes where passages come from, for the key (e.g.
	// the contexts file's name).
	PassageSource string
	// Shots are the 1-shot examples (DefaultShots when nil).
	Shots map[string]Shot
	// Template is the zero-shot prompt template (config.DefaultPromptTemplate
	// when empty).
	Template string
	// AnswerLanguage is "item" (the reader is told the item's language, the
	// default) or "auto" (the reader detects the question's language).
	AnswerLanguage string
	Temperature    float64
	MaxTokens      int
	// Parallel requests at once; default 1.
	Parallel int
	Store    *Store
	// Progress is called after each answered request with the counts of
	// this run (skipped requests are not in total).
	Progress func(done, total int)
}

// cleanVersion changes when CleanAnswer changes: records cleaned the old
// way then get another key and are answered again.
const cleanVersion = 1

// Key is the key of a system's records: a hash of every setting that
// changes its answers. Records of another key are ignored by Run and by
// scoring.
func (o *Options) Key(s System) string {
	reader := maps.Clone(o.Reader.Identity())
	if !s.Steer.Active() {
		delete(reader, "profile") // the profile does not change unsteered answers
	}
	m := map[string]any{
		"dataset":        o.Dataset,
		"reader":         reader,
		"passages":       o.PassageSource,
		"system":         s,
		"template":       o.template(),
		"answerLanguage": o.answerLanguage(),
		"temperature":    o.Temperature,
		"maxTokens":      o.MaxTokens,
		"clean":          cleanVersion,
	}
	if s.OneShot {
		m["shots"] = o.shots()
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // plain values only
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func (o *Options) template() string {
	if o.Template == "" {
		return defaultTemplate
	}
	return o.Template
}

func (o *Options) shots() map[string]Shot {
	if o.Shots == nil {
		return DefaultShots()
	}
	return o.Shots
}

func (o *Options) answerLanguage() string {
	if o.AnswerLanguage == "" {
		return "item"
	}
	return o.AnswerLanguage
}

func (o *Options) seeds() []uint64 {
	if len(o.Seeds) == 0 {
		return []uint64{1}
	}
	return o.Seeds
}

// Subsample keeps n items per language (all when n <= 0 or fewer exist),
// drawn with seed, in their original order. The draw of a language depends
// only on the seed, the language and its items, so adding a language does
// not change the others.
func Subsample(items []Item, n int, seed uint64) []Item {
	if n <= 0 {
		return items
	}
	byLang := map[string][]int{}
	var langs []string
	for i, it := range items {
		if _, ok := byLang[it.Lang]; !ok {
			langs = append(langs, it.Lang)
		}
		byLang[it.Lang] = append(byLang[it.Lang], i)
	}
	keep := map[int]bool{}
	for _, l := range langs {
		idx := byLang[l]
		if len(idx) <= n {
			for _, i := range idx {
				keep[i] = true
			}
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(l))
		r := rand.New(rand.NewPCG(seed, h.Sum64()))
		for _, j := range r.Perm(len(idx))[:n] {
			keep[idx[j]] = true
		}
	}
	var out []Item
	for i, it := range items {
		if keep[i] {
			out = append(out, it)
		}
	}
	return out
}

// RunStats counts what Run did.
type RunStats struct {
	Planned   int // requests of this configuration
	Skipped   int // already in the store
	Ran       int // answered now
	NoResults int // answered now with an empty search result
}

type job struct {
	item   Item
	system System
	seed   uint64
	key    string
}

// systemGroups splits the systems into the zero-shot ones and the 1-shot
// ones, each in their order. Run answers a block of items (sameID) one
// group at a time, so that the zero-shot prompts of a question, in every
// language and system, follow one another, and a reader's prompt cache
// (steering.Options.PromptCache) decodes what they share once.
func (o *Options) systemGroups() [][]System {
	var zero, one []System
	for _, s := range o.Systems {
		if s.OneShot {
			one = append(one, s)
		} else {
			zero = append(zero, s)
		}
	}
	return slices.DeleteFunc([][]System{zero, one}, func(g []System) bool { return len(g) == 0 })
}

// sameID splits items into runs of consecutive items with the same ID
// (XQuAD's parallel questions, one per language).
func sameID(items []Item) [][]Item {
	var out [][]Item
	for i := 0; i < len(items); {
		j := i + 1
		for j < len(items) && items[j].ID == items[i].ID {
			j++
		}
		out = append(out, items[i:j])
		i = j
	}
	return out
}

// Run answers every planned request that the store lacks, appending each
// answer as it arrives. It stops at the first error (what was answered
// before it stays in the store, so a rerun resumes).
func Run(ctx context.Context, o Options) (RunStats, error) {
	var st RunStats
	if o.Reader == nil || o.Store == nil {
		return st, errors.New("eval: Run needs a Reader and a Store")
	}
	if len(o.Systems) == 0 {
		return st, errors.New("eval: no systems to run")
	}
	switch o.answerLanguage() {
	case "item", "auto":
	default:
		return st, fmt.Errorf("eval: answer language %q: want item or auto", o.AnswerLanguage)
	}
	if o.Contexts != nil {
		var missing []string
		for _, it := range o.Items {
			if _, ok := o.Contexts[it.ID]; !ok {
				missing = append(missing, it.Lang+"/"+it.ID)
			}
		}
		if len(missing) > 0 {
			return st, fmt.Errorf("eval: the contexts have no passages for %d items (first: %s)", len(missing), strings.Join(missing[:min(3, len(missing))], ", "))
		}
	}
	keys := map[string]string{}
	for _, s := range o.Systems {
		keys[s.Name] = o.Key(s)
	}
	var jobs []job
	for _, seed := range o.seeds() {
		for _, block := range sameID(Subsample(o.Items, o.Sample, seed)) {
			for _, group := range o.systemGroups() {
				for _, it := range block {
					for _, s := range group {
						st.Planned++
						if o.Store.Done(keys[s.Name], it.Key(), seed) {
							st.Skipped++
							continue
						}
						jobs = append(jobs, job{it, s, seed, keys[s.Name]})
					}
				}
			}
		}
	}
	if len(jobs) == 0 {
		return st, nil
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(1, o.Parallel)
	ch := make(chan job)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				// After the first error (or a cancel) no job starts: the
				// feeder's select may still hand one over.
				if ctx.Err() != nil {
					continue
				}
				rec, err := o.answer(ctx, j)
				if err != nil {
					fail(fmt.Errorf("%s, %s item %s (seed %d): %w", j.system.Name, j.item.Lang, j.item.ID, j.seed, err))
					continue
				}
				if err := o.Store.Append(rec); err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				st.Ran++
				if rec.NoResults {
					st.NoResults++
				}
				done := st.Ran
				mu.Unlock()
				if o.Progress != nil {
					o.Progress(done, len(jobs))
				}
			}
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		return st, firstErr
	}
	return st, ctx.Err()
}

func (o *Options) answer(ctx context.Context, j job) (Record, error) {
	it := j.item
	req := Request{
		Item: it, System: j.system, Template: o.template(), Seed: j.seed,
		Temperature: o.Temperature, MaxTokens: o.MaxTokens,
	}
	if o.answerLanguage() == "item" {
		req.Language = it.Lang
	}
	var shotLang string
	if j.system.OneShot {
		s, ok := ShotFor(o.shots(), it.Lang)
		if !ok {
			return Record{}, fmt.Errorf("no 1-shot example for %s and no English one", it.Lang)
		}
		shotLang = s.Lang
		req.Template = OneShotTemplate(req.Template, s)
	}
	if o.Contexts != nil {
		req.Passages = o.Contexts[it.ID]
	}
	start := time.Now()
	resp, err := o.Reader.Read(ctx, req)
	if err != nil {
		return Record{}, err
	}
	raw := strings.ToValidUTF8(resp.Text, "\uFFFD")
	rec := Record{
		Key: j.key, System: j.system.Name, Dataset: o.Dataset, Lang: it.Lang, ID: it.ID, Seed: j.seed,
		ShotLang: shotLang, Question: it.Question, Prediction: CleanAnswer(raw), Raw: raw,
		Passages: resp.Passages, PassagesUsed: resp.PassagesUsed, NoResults: resp.NoResults,
		SteeredHeads: resp.SteeredHeads, PromptTokens: resp.PromptTokens, CompletionTokens: resp.CompletionTokens,
		StopReason: resp.StopReason, QuestionLanguage: resp.QuestionLanguage,
		Ms: float64(time.Since(start).Microseconds()) / 1000, Time: time.Now().UTC().Format(time.RFC3339),
	}
	if rec.Passages == nil {
		rec.Passages = []string{}
	}
	if s := j.system.Steer; s != nil {
		rec.TopK, rec.AlphaAC, rec.AlphaCL = s.TopK, s.AlphaAC, s.AlphaCL
	}
	if !utf8.ValidString(rec.Prediction) {
		rec.Prediction = strings.ToValidUTF8(rec.Prediction, "\uFFFD")
	}
	return rec, nil
}

// Predictions are the records of one system and seed, by item.
type Predictions map[Key]Record

// Select returns the store's records of key and seed for items. Every item
// must have one: scoring a partial run would compare systems on different
// items.
func (s *Store) Select(key string, seed uint64, items []Item) (Predictions, error) {
	out := make(Predictions, len(items))
	var missing []string
	for _, it := range items {
		r, ok := s.Lookup(key, it.Key(), seed)
		if !ok {
			missing = append(missing, it.Lang+"/"+it.ID)
			continue
		}
		out[it.Key()] = r
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("eval: %d items have no answer in %s (first: %s); run again to finish them",
			len(missing), s.path, strings.Join(missing[:min(3, len(missing))], ", "))
	}
	return out, nil
}
