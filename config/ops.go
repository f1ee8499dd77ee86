package config

import (
	"maps"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/asmr-search/generative-asmr/profile"
)

// The ops configuration is what an operator writes once per Weaviate
// deployment: which GGUF models the generative-asmr module may load, which
// steering profiles exist, the defaults of every per-request option, the
// limits that protect the server, and the languages to detect. It lives in
// the YAML file named by ASMR_CONFIG; env variables override its common
// fields (see ApplyEnv). A class's moduleConfig and a query can choose among
// what the ops file declares, never add to it: a query must not make the
// server open an arbitrary file.

// DefaultModelName and DefaultProfileName are the names that the env
// overrides give to a model or profile they create.
const (
	DefaultModelName   = "default"
	DefaultProfileName = "default"
)

// Built-in limits.
const (
	// DefaultQueueLength must exceed Weaviate's own fan-out: a singleResult
	// query runs up to 10 objects at once, so a smaller queue would refuse
	// parts of a single query on a one-slot model.
	DefaultQueueLength    = 64
	DefaultRequestTimeout = 2 * time.Minute
	DefaultMaxPassages    = 20
	// MinContextSize is the smallest context (tokens) a model may be
	// given: models.<name>.contextSize and asmr's -ctx.
	MinContextSize = 64
	// DefaultBatchSize is models.<name>.batchSize when it is 0, as
	// steering.Options.BatchSize.
	DefaultBatchSize = 512
	// MaxSlots is the most slots a model may have: llama.cpp's
	// LLAMA_MAX_SEQ, the sequences one context decodes.
	MaxSlots = 256
)

// DefaultLanguages are the languages detected when the ops file names none:
// the 17 of the ASMR paper's experiments and English.
var DefaultLanguages = []string{"de", "es", "fr", "it", "nl", "pt", "th", "tr", "vi", "zh", "ar", "bn", "fi", "ja", "ko", "ru", "te", "en"}

// Ops is the parsed ops configuration.
type Ops struct {
	// Models maps a model name, as classes and queries refer to it, to how
	// it is loaded.
	Models map[string]*ModelConfig `yaml:"models"`
	// Profiles maps a profile name to its steering profile.
	Profiles map[string]*ProfileConfig `yaml:"profiles"`
	// Defaults are the per-request options where a class and a query set
	// none. defaults.model names the default model (needed when several are
	// configured).
	Defaults Options `yaml:"defaults"`
	// Limits protect the server.
	Limits Limits `yaml:"limits"`
	// Languages are the languages the question's language is detected among
	// (codes or names, see ParseLanguage); fewer candidates mean less memory
	// and fewer confusions.
	Languages []string `yaml:"languages"`
	// LanguageDetection tunes the detector.
	LanguageDetection LanguageDetection `yaml:"languageDetection"`

	// Source is where the configuration came from: the file's path, or
	// "built-in defaults".
	Source string `yaml:"-"`

	// lines maps a key path ("models.tiny.threads", "languages[1]") to its
	// line in the file, origin a key path set by an env override to its
	// variable, and dropped lists the key paths whose values parseOps
	// reported and left unset: all three only shape problem messages.
	lines   map[string]int
	origin  map[string]string
	dropped []string
}

// ModelConfig says how to load one model. Exactly one of Path and Ollama is
// set. Zero numbers take steering's defaults.
type ModelConfig struct {
	// Path is a GGUF file; relative paths are relative to the ops file.
	Path string `yaml:"path"`
	// Ollama is a model name in the local Ollama store ($OLLAMA_MODELS,
	// default ~/.ollama/models), such as "llama3.2:1b".
	Ollama string `yaml:"ollama"`
	// Threads for decoding: the one threadpool that decodes all of the
	// model's running generations together; 0 = every CPU.
	Threads int `yaml:"threads"`
	// ContextSize is the context of each generation in tokens; 0 = 4096
	// (capped at the model's training context). Prompt and answer must fit
	// in it; the model's KV cache holds slots × contextSize tokens.
	ContextSize int `yaml:"contextSize"`
	// BatchSize is the most tokens per decode (prompt chunks and one
	// token of each running generation); 0 = DefaultBatchSize. It must
	// exceed Slots.
	BatchSize int `yaml:"batchSize"`
	// GPULayers offloads layers to a GPU backend; 0 = CPU, -1 = all.
	GPULayers int `yaml:"gpuLayers"`
	// Slots is how many generations run at once, decoded together as the
	// sequences of one context (continuous batching; memory grows with
	// it); 0 = 1.
	Slots int `yaml:"slots"`
	// Mmap maps the weights instead of reading them; unset = off on CPU
	// (faster decoding), on with GPU layers.
	Mmap *bool `yaml:"mmap"`
	// FlashAttention: auto (default), on or off.
	FlashAttention FlashAttention `yaml:"flashAttention"`
	// KVCacheType: f16 (default), f32, q8_0 or q4_0.
	KVCacheType KVCacheType `yaml:"kvCacheType"`
	// ChatTemplate overrides the GGUF's chat template: the name of one of
	// llama.cpp's built-in templates ("gemma", "chatml", "llama3", ...) or
	// a template text, or "none" for no frame at all, the right choice for
	// a base (completion) checkpoint such as Gemma 3 270M, whose GGUF has
	// no template. Unset: the GGUF's own, or a plain "User:/Assistant:"
	// frame when it has none.
	ChatTemplate string `yaml:"chatTemplate"`
	// Stop ends every answer of this model at the first of these strings
	// (not included), besides the model's end-of-generation tokens. A
	// completion model needs one, e.g. "\n\n", or it writes on past its
	// answer.
	Stop []string `yaml:"stop"`
	// Preload loads the model in the background when the module starts
	// (default true), so that the first query does not wait for it and a
	// broken file shows in the log at once. false loads it on first use.
	Preload *bool `yaml:"preload"`
	// PromptCache keeps each slot's last prompt in its KV cells so that a
	// prompt sharing its beginning (the same instruction and passages),
	// given the slot whose cells serve the longest beginning, decodes only
	// the rest, as llama.cpp's server and ollama do (default
	// true). Reused cells were computed with the same steering; greedy
	// answers can still differ from an uncached run in rare near-ties,
	// because the prefix was decoded in other batches. false decodes every
	// prompt whole.
	PromptCache *bool `yaml:"promptCache"`
}

// Source is what steering.Load is given: the path or the Ollama name.
func (m *ModelConfig) Source() string {
	if m.Path != "" {
		return m.Path
	}
	return m.Ollama
}

// PreloadEnabled applies the default of Preload.
func (m *ModelConfig) PreloadEnabled() bool { return m.Preload == nil || *m.Preload }

// PromptCacheEnabled applies the default of PromptCache.
func (m *ModelConfig) PromptCacheEnabled() bool { return m.PromptCache == nil || *m.PromptCache }

// EffectiveSlots applies the default of Slots.
func (m *ModelConfig) EffectiveSlots() int { return max(m.Slots, 1) }

// ProfileConfig names one steering profile: a file (Path) or the profile
// document itself (Inline). Model optionally names the configured model the
// profile was probed on; the module then checks the two against each other
// at start-up, before any class uses them.
type ProfileConfig struct {
	// Path is a profile YAML written by `asmr probe`; relative paths are
	// relative to the ops file.
	Path string `yaml:"path"`
	// Inline is a whole profile document (version, kind, model, attributes).
	Inline yaml.Node `yaml:"inline"`
	// Model is the name of a configured model this profile belongs to.
	Model string `yaml:"model"`

	// Profile is the parsed profile, set by LoadOps.
	Profile *profile.Profile `yaml:"-"`
}

// Limits protect the server from overload and from runaway requests.
type Limits struct {
	// QueueLength is how many requests may wait per model for a free slot;
	// past it a request fails at once with a "busy" error instead of
	// piling up. 0 = none wait. Unset = DefaultQueueLength.
	QueueLength *int `yaml:"queueLength"`
	// RequestTimeout bounds one generation, the wait for a slot included.
	// Unset = DefaultRequestTimeout.
	RequestTimeout *Duration `yaml:"requestTimeout"`
	// MaxPassages is the most passages a groupedResult prompt gets (the best
	// ranked); 0 = DefaultMaxPassages.
	MaxPassages int `yaml:"maxPassages"`
	// MaxPromptTokens caps the prompt in tokens below what the context
	// allows (context size minus maxTokens); 0 = no cap but the context.
	MaxPromptTokens int `yaml:"maxPromptTokens"`
}

// EffectiveQueueLength applies the default of QueueLength.
func (l Limits) EffectiveQueueLength() int {
	if l.QueueLength == nil {
		return DefaultQueueLength
	}
	return *l.QueueLength
}

// EffectiveRequestTimeout applies the default of RequestTimeout.
func (l Limits) EffectiveRequestTimeout() time.Duration {
	if l.RequestTimeout == nil {
		return DefaultRequestTimeout
	}
	return l.RequestTimeout.Duration
}

// EffectiveMaxPassages applies the default of MaxPassages.
func (l Limits) EffectiveMaxPassages() int {
	if l.MaxPassages <= 0 {
		return DefaultMaxPassages
	}
	return l.MaxPassages
}

// LanguageDetection tunes lingua-go.
type LanguageDetection struct {
	// Accuracy "high" (default) uses 1- to 5-gram models: right on short
	// questions; with the 18 default languages the server measured 733 MB
	// resident against 188 MB with "low". "low" uses
	// trigrams only, but is unreliable under about five words.
	Accuracy string `yaml:"accuracy"`
}

// LowAccuracy reports whether the low-accuracy mode is chosen.
func (d LanguageDetection) LowAccuracy() bool { return strings.EqualFold(d.Accuracy, "low") }

// DefaultOps is the configuration without a file: no models (the module
// then answers every request with an error saying to configure one), the
// built-in defaults and limits, the default languages.
func DefaultOps() *Ops {
	return &Ops{Source: "built-in defaults", Models: map[string]*ModelConfig{}, Profiles: map[string]*ProfileConfig{}}
}

// defaultModelName is defaults.model, or the only model's name.
func (o *Ops) defaultModelName() string {
	if o.Defaults.Model != "" {
		return o.Defaults.Model
	}
	if len(o.Models) == 1 {
		for name := range o.Models {
			return name
		}
	}
	return ""
}

// DefaultModel is the model used where neither a class nor a query names
// one: defaults.model, or the only configured model. "" when none is
// configured.
func (o *Ops) DefaultModel() string { return o.defaultModelName() }

// ModelNames lists the configured models, sorted.
func (o *Ops) ModelNames() []string { return slices.Sorted(maps.Keys(o.Models)) }

// ProfileNames lists the configured profiles, sorted.
func (o *Ops) ProfileNames() []string { return slices.Sorted(maps.Keys(o.Profiles)) }
