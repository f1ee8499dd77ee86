package config

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/pemistahl/lingua-go"
)

// Options are the per-request settings of the generative-asmr module. The
// same struct, with the same camelCase names, is read from three places and
// merged in this order, each level overriding the one before it only where
// it sets a field:
//
//  1. the ops file's `defaults:` (and the built-in defaults under it),
//  2. a class's moduleConfig {"generative-asmr": {...}},
//  3. the query: generate(singleResult: {prompt: "...", asmr: {...}}).
//
// Unset is distinct from zero (alphaCL: 0 turns CL steering off), so the
// numbers are pointers and the strings use "" for unset.
type Options struct {
	// Model names an entry of the ops file's `models:`; "" = the default model.
	Model string `yaml:"model" json:"model,omitempty"`
	// Profile names an entry of the ops file's `profiles:`; "none" steers
	// nothing even when a lower level names a profile.
	Profile string `yaml:"profile" json:"profile,omitempty"`
	// AlphaAC and AlphaCL scale the steering of the "accuracy in content" and
	// "coherence in language" heads, in units of each head's activation
	// standard deviation (the ITI convention). 0 turns that attribute off.
	AlphaAC *float64 `yaml:"alphaAC" json:"alphaAC,omitempty"`
	AlphaCL *float64 `yaml:"alphaCL" json:"alphaCL,omitempty"`
	// TopK steers the K best heads of each attribute; 0 = every selected head
	// the profile stores.
	TopK *int `yaml:"topK" json:"topK,omitempty"`
	// Direction is "probe" (the probe's weights, as the paper) or "mass-mean"
	// (the class-mean difference, as ITI).
	Direction string `yaml:"direction" json:"direction,omitempty"`
	// TokenScope is "generation" (the last prompt token and every generated
	// one) or "all" (every position).
	TokenScope string `yaml:"tokenScope" json:"tokenScope,omitempty"`
	// MaxTokens caps the answer's length in tokens.
	MaxTokens *int `yaml:"maxTokens" json:"maxTokens,omitempty"`
	// Temperature 0 is greedy decoding (deterministic).
	Temperature *float64 `yaml:"temperature" json:"temperature,omitempty"`
	// Seed of the sampler's random draw when Temperature > 0: a whole
	// number from 0 to MaxSeed. Unset draws a fresh random seed for every
	// request (as Ollama does); set, the same request gives the same answer.
	// Greedy decoding (temperature 0) ignores it.
	Seed *int64 `yaml:"seed" json:"seed,omitempty"`
	// PromptTemplate shapes the groupedResult prompt; see DefaultPromptTemplate
	// for its placeholders.
	PromptTemplate string `yaml:"promptTemplate" json:"promptTemplate,omitempty"`
	// AnswerLanguage is "auto" (the language detected in the question) or a
	// language: ISO 639-1 or 639-3 code, or English name ("de", "deu",
	// "German").
	AnswerLanguage string `yaml:"answerLanguage" json:"answerLanguage,omitempty"`
}

// OptionNames lists the option keys as users write them, in documentation
// order. Unknown keys in a class's moduleConfig are rejected with this list.
var OptionNames = []string{
	"model", "profile", "alphaAC", "alphaCL", "topK", "direction", "tokenScope",
	"maxTokens", "temperature", "seed", "promptTemplate", "answerLanguage",
}

// ProfileNone is the profile name that turns steering off explicitly.
const ProfileNone = "none"

// AnswerLanguageAuto answers in the language detected in the question.
const AnswerLanguageAuto = "auto"

// Token scopes, as steering.ParseScope reads them. They are repeated here so
// that config does not import the cgo steering package.
const (
	TokenScopeGeneration = "generation"
	TokenScopeAll        = "all"
)

// Placeholders of a prompt template.
const (
	PlaceholderQuestion = "{{question}}"
	PlaceholderPassages = "{{passages}}"
	PlaceholderLanguage = "{{language}}"
	// PlaceholderQuestionLabel and PlaceholderAnswerLabel are the words
	// "Question" and "Answer" in the answer language (LabelsFor), to cue a
	// completion model in that language.
	PlaceholderQuestionLabel = "{{questionLabel}}"
	PlaceholderAnswerLabel   = "{{answerLabel}}"
)

// DefaultPromptTemplate is the reader's prompt for groupedResult, in the
// spirit of the paper's reader prompt: passages first, the question last
// (closest to where the answer starts), and the answer language named
// explicitly, because a multilingual reader otherwise drifts into the
// language of the passages.
//
// {{passages}} becomes the retrieved passages, best ranked first, as
// "[1] ...", one block each; {{question}} the groupedResult task with its
// {property} references filled in as Weaviate fills them; {{language}} the
// English name of the answer language (or "the language of the question"
// when it could not be detected).
const DefaultPromptTemplate = "Answer the question using the passages below. Answer in {{language}}.\n\n" +
	"Passages:\n{{passages}}\n\n" +
	"Question: {{question}}"

// Built-in defaults: the best setting of the paper (K = 64, alpha = 20 for
// both attributes, probe directions) and the ITI token scope.
const (
	DefaultAlpha = 20.0
	// MaxAlpha bounds |alphaAC| and |alphaCL|. Alpha is in units of each
	// head's activation standard deviation (sigma): the paper's best is 20
	// and its F1 falls past 20; Gemma 3 270M's sweep (docs/) stays under
	// 40. Far past the bound the reader writes noise ("hhhh...") or, with
	// overflowing activations, nothing at all.
	MaxAlpha           = 100.0
	DefaultTopK        = 64
	DefaultMaxTokens   = 256
	DefaultTemperature = 0.0
	// MaxMaxTokens bounds maxTokens so that a typo cannot make a request run
	// for hours; the model's context is the real limit and is checked per
	// request.
	MaxMaxTokens = 32768
	// MaxTemperature bounds temperature; past it sampling is noise.
	MaxTemperature = 5.0
	// MaxSeed is the largest seed: the sampler's seed is a uint32.
	MaxSeed = math.MaxUint32
)

// BuiltinDefaults returns the options that apply where neither the ops file
// nor a class nor the query sets a field. Model and Profile stay unset: the
// default model is chosen by the ops file, and no profile means no steering.
func BuiltinDefaults() Options {
	return Options{
		AlphaAC:        ptr(DefaultAlpha),
		AlphaCL:        ptr(DefaultAlpha),
		TopK:           ptr(DefaultTopK),
		Direction:      string(DefaultDirectionKind),
		TokenScope:     TokenScopeGeneration,
		MaxTokens:      ptr(DefaultMaxTokens),
		Temperature:    ptr(DefaultTemperature),
		PromptTemplate: DefaultPromptTemplate,
		AnswerLanguage: AnswerLanguageAuto,
	}
}

func ptr[T any](v T) *T { return &v }

// Merge returns o with every field that over sets replacing o's. It copies
// the numbers, so that the result shares no memory with either input.
func (o Options) Merge(over Options) Options {
	o = o.clone()
	over = over.clone()
	str := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	str(&o.Model, over.Model)
	str(&o.Profile, over.Profile)
	str(&o.Direction, over.Direction)
	str(&o.TokenScope, over.TokenScope)
	str(&o.PromptTemplate, over.PromptTemplate)
	str(&o.AnswerLanguage, over.AnswerLanguage)
	o.AlphaAC = cmp.Or(over.AlphaAC, o.AlphaAC)
	o.AlphaCL = cmp.Or(over.AlphaCL, o.AlphaCL)
	o.TopK = cmp.Or(over.TopK, o.TopK)
	o.MaxTokens = cmp.Or(over.MaxTokens, o.MaxTokens)
	o.Temperature = cmp.Or(over.Temperature, o.Temperature)
	o.Seed = cmp.Or(over.Seed, o.Seed)
	return o
}

func (o Options) clone() Options {
	o.AlphaAC = clonePtr(o.AlphaAC)
	o.AlphaCL = clonePtr(o.AlphaCL)
	o.TopK = clonePtr(o.TopK)
	o.MaxTokens = clonePtr(o.MaxTokens)
	o.Temperature = clonePtr(o.Temperature)
	o.Seed = clonePtr(o.Seed)
	return o
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	return ptr(*p)
}

// IsZero reports whether no field is set.
func (o Options) IsZero() bool { return o == (Options{}) }

// Resolved is a complete, validated set of options: what one request runs
// with.
type Resolved struct {
	// Model is a configured model's name ("" only before the ops file picks
	// the default).
	Model string
	// Profile is a configured profile's name, or "" for no steering.
	Profile     string
	AlphaAC     float64
	AlphaCL     float64
	TopK        int
	Direction   DirectionKind
	TokenScope  string
	MaxTokens   int
	Temperature float64
	// Seed is the sampler's seed; nil means unset: draw a fresh random
	// seed for this request.
	Seed           *uint32
	PromptTemplate string
	// AnswerLanguage is nil for "auto".
	AnswerLanguage *lingua.Language
}

// Steered reports whether the options ask for any steering at all.
func (r Resolved) Steered() bool {
	return r.Profile != "" && (r.AlphaAC != 0 || r.AlphaCL != 0)
}

// OptionsError lists every problem found in one set of options, each naming
// the field and the fix, so that a class definition is fixed in one round.
type OptionsError struct {
	// Where says whose options these are: "class moduleConfig", "query
	// asmr options", "defaults".
	Where    string
	Problems []string
}

func (e *OptionsError) Error() string {
	where := e.Where
	if where == "" {
		where = "options"
	}
	if len(e.Problems) == 1 {
		return "invalid " + where + ": " + e.Problems[0]
	}
	return fmt.Sprintf("invalid %s: %d problems: %s", where, len(e.Problems), strings.Join(e.Problems, "; "))
}

// Resolve fills unset fields from BuiltinDefaults and validates every field.
// Names of models and profiles are checked against the ops file elsewhere
// (Ops.Resolve), since Options do not know it.
func (o Options) Resolve(where string) (Resolved, error) {
	r, ps := o.resolve()
	if len(ps) > 0 {
		return Resolved{}, &OptionsError{Where: where, Problems: ps}
	}
	return r, nil
}

// resolve is Resolve without the error: the fields it could read, and every
// problem, each as "<field>: <what is wrong and the fix>".
func (o Options) resolve() (Resolved, []string) {
	o = BuiltinDefaults().Merge(o)
	var ps []string
	add := func(format string, args ...any) { ps = append(ps, fmt.Sprintf(format, args...)) }

	r := Resolved{Model: strings.TrimSpace(o.Model), TokenScope: strings.ToLower(strings.TrimSpace(o.TokenScope))}
	if p := strings.TrimSpace(o.Profile); p != ProfileNone {
		r.Profile = p
	}
	alpha := func(name string, v float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > MaxAlpha {
			add("%s: %v is outside -%v..%v (units of each head's sigma); give e.g. %v (the paper's best) or 0 to turn it off", name, v, MaxAlpha, MaxAlpha, DefaultAlpha)
			return 0
		}
		return v
	}
	r.AlphaAC = alpha("alphaAC", *o.AlphaAC)
	r.AlphaCL = alpha("alphaCL", *o.AlphaCL)
	r.TopK = *o.TopK
	if r.TopK < 0 {
		add("topK: %d is negative; give the number of heads to steer per attribute (%d in the paper) or 0 for every selected head", r.TopK, DefaultTopK)
	}
	d, err := ParseDirectionKind(o.Direction)
	if err != nil {
		add("direction: %v", err)
	}
	r.Direction = d
	switch r.TokenScope {
	case TokenScopeGeneration, TokenScopeAll:
	default:
		add("tokenScope: %q is not a scope; want %q (last prompt token and generated tokens) or %q (every token)", o.TokenScope, TokenScopeGeneration, TokenScopeAll)
	}
	r.MaxTokens = *o.MaxTokens
	if r.MaxTokens < 1 || r.MaxTokens > MaxMaxTokens {
		add("maxTokens: %d is out of range; give 1 to %d (it must also leave room for the prompt in the model's context)", r.MaxTokens, MaxMaxTokens)
	}
	r.Temperature = *o.Temperature
	if math.IsNaN(r.Temperature) || r.Temperature < 0 || r.Temperature > MaxTemperature {
		add("temperature: %v is out of range; give 0 (greedy, deterministic) to %v", r.Temperature, MaxTemperature)
	}
	if o.Seed != nil {
		if *o.Seed < 0 || *o.Seed > MaxSeed {
			add("%s", seedRangeProblem(fmt.Sprint(*o.Seed)))
		} else {
			r.Seed = ptr(uint32(*o.Seed))
		}
	}
	r.PromptTemplate = NormalizeTemplate(o.PromptTemplate)
	if err := CheckPromptTemplate(o.PromptTemplate); err != nil {
		add("promptTemplate: %v", err)
	}
	if lang := strings.TrimSpace(o.AnswerLanguage); !strings.EqualFold(lang, AnswerLanguageAuto) {
		l, err := ParseLanguage(lang)
		if err != nil {
			add("answerLanguage: %v; or %q for the language of the question", err, AnswerLanguageAuto)
		} else {
			r.AnswerLanguage = &l
		}
	}
	return r, ps
}

// seedRangeProblem is the problem of a seed outside 0..MaxSeed.
func seedRangeProblem(v string) string {
	return fmt.Sprintf("seed: %s is out of range; give 0 to %d (or leave it unset for a fresh random seed per request)", v, uint64(MaxSeed))
}

var placeholderRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// NormalizeTemplate writes every placeholder without inner spaces
// ("{{ question }}" becomes "{{question}}"), so that both spellings work.
func NormalizeTemplate(t string) string { return placeholderRE.ReplaceAllString(t, "{{$1}}") }

// CheckPromptTemplate requires {{question}} and {{passages}} (a RAG prompt
// without either answers nothing useful) and rejects unknown placeholders,
// which would otherwise reach the reader verbatim.
func CheckPromptTemplate(t string) error {
	if strings.TrimSpace(t) == "" {
		return fmt.Errorf("empty; leave it unset for the default, or write one with %s and %s", PlaceholderQuestion, PlaceholderPassages)
	}
	t = NormalizeTemplate(t)
	var unknown []string
	for _, m := range placeholderRE.FindAllStringSubmatch(t, -1) {
		switch "{{" + m[1] + "}}" {
		case PlaceholderQuestion, PlaceholderPassages, PlaceholderLanguage, PlaceholderQuestionLabel, PlaceholderAnswerLabel:
		default:
			unknown = append(unknown, m[0])
		}
	}
	var missing []string
	for _, p := range []string{PlaceholderQuestion, PlaceholderPassages} {
		if !strings.Contains(t, p) {
			missing = append(missing, p)
		}
	}
	switch {
	case len(unknown) > 0:
		return fmt.Errorf("unknown placeholder %s; the placeholders are %s, %s, %s, %s and %s", strings.Join(unknown, ", "),
			PlaceholderQuestion, PlaceholderPassages, PlaceholderLanguage, PlaceholderQuestionLabel, PlaceholderAnswerLabel)
	case len(missing) > 0:
		return fmt.Errorf("missing %s; a template needs %s and %s (and may use %s)", strings.Join(missing, " and "), PlaceholderQuestion, PlaceholderPassages, PlaceholderLanguage)
	}
	return nil
}

// ParseLanguage reads a language as users write it: an ISO 639-1 code
// ("de"), an ISO 639-3 code ("deu") or lingua's English name ("German"),
// in any letter case.
func ParseLanguage(s string) (lingua.Language, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return lingua.Unknown, fmt.Errorf("empty language; give an ISO 639-1 code such as \"de\" or a name such as \"German\"")
	}
	if c := lingua.GetIsoCode639_1FromValue(t); c != lingua.UnknownIsoCode639_1 {
		return lingua.GetLanguageFromIsoCode639_1(c), nil
	}
	if c := lingua.GetIsoCode639_3FromValue(t); c != lingua.UnknownIsoCode639_3 {
		return lingua.GetLanguageFromIsoCode639_3(c), nil
	}
	for _, l := range lingua.AllLanguages() {
		if strings.EqualFold(l.String(), t) {
			return l, nil
		}
	}
	return lingua.Unknown, fmt.Errorf("unknown language %q; give an ISO 639-1 code such as \"de\" or a name such as \"German\"", s)
}

// LanguageCode is the ISO 639-1 code of l in lower case ("de").
func LanguageCode(l lingua.Language) string {
	return strings.ToLower(l.IsoCode639_1().String())
}

// OptionsFromMap reads options from a class's moduleConfig, as Weaviate
// hands it over: decoded JSON, numbers as float64 or json.Number. It is
// strict: an unknown key, a value of the wrong type or a value out of range
// is an error that names the key and the accepted form, because a
// misspelled "alphaCl" silently ignored would steer with the default. Every
// problem of the map is reported at once, in one *OptionsError. Names of
// models and profiles need the ops file: Ops.OptionsFromMap checks them
// too.
func OptionsFromMap(m map[string]any, where string) (Options, error) {
	o, ps := optionsFromMap(m)
	if len(ps) > 0 {
		return Options{}, &OptionsError{Where: where, Problems: ps}
	}
	return o, nil
}

// optionsFromMap returns the options whose values could be read, and every
// problem of the map: unknown keys, wrong types and values out of range,
// sorted by key.
func optionsFromMap(m map[string]any) (Options, []string) {
	var o Options
	type problem struct{ key, text string }
	var ps []problem
	add := func(k, format string, args ...any) {
		ps = append(ps, problem{k, k + ": " + fmt.Sprintf(format, args...)})
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		if v == nil {
			continue // JSON null: unset
		}
		switch k {
		case "model", "profile", "direction", "tokenScope", "promptTemplate", "answerLanguage":
			s, ok := v.(string)
			if !ok {
				add(k, "want a string, got %s", describe(v))
				continue
			}
			switch k {
			case "model":
				o.Model = s
			case "profile":
				o.Profile = s
			case "direction":
				o.Direction = s
			case "tokenScope":
				o.TokenScope = s
			case "promptTemplate":
				o.PromptTemplate = s
			case "answerLanguage":
				o.AnswerLanguage = s
			}
		case "alphaAC", "alphaCL", "temperature":
			f, ok := number(v)
			if !ok {
				add(k, "want a number, got %s", describe(v))
				continue
			}
			switch k {
			case "alphaAC":
				o.AlphaAC = &f
			case "alphaCL":
				o.AlphaCL = &f
			case "temperature":
				o.Temperature = &f
			}
		case "topK", "maxTokens":
			f, ok := number(v)
			if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
				add(k, "want a whole number, got %s", describe(v))
				continue
			}
			n := int(f)
			if k == "topK" {
				o.TopK = &n
			} else {
				o.MaxTokens = &n
			}
		case "seed":
			f, ok := number(v)
			if !ok || f != math.Trunc(f) || math.IsInf(f, 0) {
				add(k, "want a whole number from 0 to %d, got %s", uint64(MaxSeed), describe(v))
				continue
			}
			if f < 0 || f > MaxSeed {
				v := fmt.Sprint(f)
				if math.Abs(f) < 1<<63 {
					v = fmt.Sprint(int64(f)) // 4294967296, not 4.294967296e+09
				}
				ps = append(ps, problem{k, seedRangeProblem(v)})
				continue
			}
			n := int64(f)
			o.Seed = &n
		default:
			msg := "unknown option"
			if s := suggest(k, OptionNames); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			add(k, "%s; the options are %s", msg, strings.Join(OptionNames, ", "))
		}
	}
	// The values that were read: ranges, kinds, templates and languages.
	// Unset fields take the built-in defaults, which are valid, so every
	// problem here is one of m's.
	_, vps := o.resolve()
	for _, p := range vps {
		k, _, _ := strings.Cut(p, ":")
		ps = append(ps, problem{k, p})
	}
	slices.SortStableFunc(ps, func(a, b problem) int { return strings.Compare(a.key, b.key) })
	texts := make([]string, len(ps))
	for i, p := range ps {
		texts[i] = p.text
	}
	return o, texts
}

// number accepts the numeric forms that reach a module from Weaviate's JSON
// decoding (float64, json.Number) and from Go callers (ints, float32).
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case float64, json.Number:
		return fmt.Sprintf("the number %v", x)
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

// suggest returns the candidate closest to s when it is a plausible typo:
// equal but for letter case, or within edit distance 2.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if strings.EqualFold(s, c) {
			return c
		}
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
