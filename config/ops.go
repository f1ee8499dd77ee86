package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The ops configuration is what an operator writes once per Weaviate
// deployment: which GGUF models the generative-asmr module may load, which
// steering profiles exist, the defaults of every per-request option, the
// limits that protect the server, and the languages to detect. It lives in
// the YAML file named by ASMR_CONFIG; env variables override its common
// fields (see ApplyEnv). A class's moduleConfig and a query can choose among
// what the ops file declares, never add to it: a query must not make the
// server open an arbitrary file.

// Env variables read by LoadOpsFromEnv.
const (
	EnvConfig         = "ASMR_CONFIG"            // path of the ops YAML file
	EnvModelPath      = "ASMR_MODEL_PATH"        // GGUF path of the default model (created if none is configured)
	EnvOllamaModel    = "ASMR_OLLAMA_MODEL"      // Ollama name of the default model (created if none is configured)
	EnvProfilePath    = "ASMR_PROFILE_PATH"      // steering profile of the default profile (created if none is configured)
	EnvThreads        = "ASMR_THREADS"           // threads of every model
	EnvSlots          = "ASMR_SLOTS"             // slots of every model
	EnvContextSize    = "ASMR_CONTEXT_SIZE"      // contextSize of every model
	EnvGPULayers      = "ASMR_GPU_LAYERS"        // gpuLayers of every model
	EnvQueueLength    = "ASMR_QUEUE_LENGTH"      // limits.queueLength
	EnvRequestTimeout = "ASMR_REQUEST_TIMEOUT"   // limits.requestTimeout, a duration such as 90s
	EnvMaxPassages    = "ASMR_MAX_PASSAGES"      // limits.maxPassages
	EnvMaxPrompt      = "ASMR_MAX_PROMPT_TOKENS" // limits.maxPromptTokens
	EnvLanguages      = "ASMR_LANGUAGES"         // languages, comma-separated codes or names
)

// EnvNames lists every env variable the ops configuration reads, for
// documentation and for tests that must clear them.
var EnvNames = []string{
	EnvConfig, EnvModelPath, EnvOllamaModel, EnvProfilePath, EnvThreads, EnvSlots,
	EnvContextSize, EnvGPULayers, EnvQueueLength, EnvRequestTimeout, EnvMaxPassages,
	EnvMaxPrompt, EnvLanguages,
}

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
	// Threads for decoding; 0 = every CPU.
	Threads int `yaml:"threads"`
	// ContextSize is the context of each slot in tokens; 0 = 4096 (capped at
	// the model's training context). Prompt and answer must fit in it.
	ContextSize int `yaml:"contextSize"`
	// BatchSize is the most prompt tokens per decode; 0 = 512.
	BatchSize int `yaml:"batchSize"`
	// GPULayers offloads layers to a GPU backend; 0 = CPU, -1 = all.
	GPULayers int `yaml:"gpuLayers"`
	// Slots is how many generations run at once, each with its own context
	// (memory grows with it); 0 = 1.
	Slots int `yaml:"slots"`
	// Mmap maps the weights instead of reading them; unset = off on CPU
	// (faster decoding), on with GPU layers.
	Mmap *bool `yaml:"mmap"`
	// FlashAttention: auto (default), on or off.
	FlashAttention FlashAttention `yaml:"flashAttention"`
	// KVCacheType: f16 (default), f32, q8_0 or q4_0.
	KVCacheType string `yaml:"kvCacheType"`
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

// EffectiveSlots applies the default of Slots.
func (m *ModelConfig) EffectiveSlots() int { return max(m.Slots, 1) }

// FlashAttention is auto, on or off; YAML true and false mean on and off.
type FlashAttention string

const (
	FlashAttentionAuto FlashAttention = "auto"
	FlashAttentionOn   FlashAttention = "on"
	FlashAttentionOff  FlashAttention = "off"
)

// UnmarshalYAML accepts auto/on/off and booleans.
func (f *FlashAttention) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("want auto, on or off")
	}
	switch strings.ToLower(n.Value) {
	case "auto", "":
		*f = FlashAttentionAuto
	case "on", "true", "yes":
		*f = FlashAttentionOn
	case "off", "false", "no":
		*f = FlashAttentionOff
	default:
		return fmt.Errorf("%q: want auto, on or off", n.Value)
	}
	return nil
}

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
	Profile *Profile `yaml:"-"`
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

// Duration is a time.Duration written as a Go duration string ("90s", "2m").
type Duration struct{ time.Duration }

// UnmarshalYAML reads a duration string; a bare number is refused because
// its unit would be a guess.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!int" || n.Tag == "!!float" {
		return fmt.Errorf("want a duration with a unit, such as \"90s\" or \"2m\", got %q", n.Value)
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return fmt.Errorf("want a duration such as \"90s\" or \"2m\", got %q", n.Value)
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// ConfigError lists every problem of an ops configuration, each as
// "<key path> (line N): <what is wrong>", so that a file is fixed in one
// round.
type ConfigError struct {
	Source   string
	Problems []string
}

func (e *ConfigError) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("ops config %s: %s", e.Source, e.Problems[0])
	}
	return fmt.Sprintf("ops config %s: %d problems:\n  %s", e.Source, len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// DefaultOps is the configuration without a file: no models (the module
// then answers every request with an error saying to configure one), the
// built-in defaults and limits, the default languages.
func DefaultOps() *Ops {
	return &Ops{Source: "built-in defaults", Models: map[string]*ModelConfig{}, Profiles: map[string]*ProfileConfig{}}
}

// LoadOpsFromEnv reads the file named by ASMR_CONFIG (built-in defaults
// when unset), applies the env overrides, validates, and loads the profiles.
func LoadOpsFromEnv() (*Ops, error) {
	return LoadOpsWithEnv(os.LookupEnv)
}

// LoadOpsWithEnv is LoadOpsFromEnv with the environment passed in, for
// tests. Every problem of the file, of the environment and of the result is
// reported at once, in one *ConfigError: a key error in the file does not
// hide a bad variable, nor a bad variable an unknown name.
func LoadOpsWithEnv(lookup func(string) (string, bool)) (*Ops, error) {
	ops, ps, usable := DefaultOps(), []string(nil), true
	if path, ok := lookup(EnvConfig); ok && strings.TrimSpace(path) != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			ops.Source = path
			ps, usable = []string{fmt.Sprintf("%s: cannot read the ops file: %v", EnvConfig, err)}, false
		} else {
			ops, ps, usable = parseOps(data, path)
		}
	}
	ps = append(ps, ops.applyEnv(lookup)...)
	if usable {
		ps = append(ps, ops.check()...)
	}
	if len(ps) > 0 {
		return nil, &ConfigError{Source: ops.Source, Problems: ps}
	}
	return ops, nil
}

// LoadOps reads, validates and finishes the ops file at path, without env
// overrides.
func LoadOps(path string) (*Ops, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ops config: %w", err)
	}
	return ParseOps(data, path)
}

// ParseOps parses an ops document; path is used for messages and to resolve
// relative paths (its directory), and may be "". Every problem of the
// document is reported at once, in one *ConfigError: unknown keys and
// values of the wrong type together with what the checks of the rest find
// (unknown model, profile, direction or language names, values out of
// range).
func ParseOps(data []byte, path string) (*Ops, error) {
	ops, ps, usable := parseOps(data, path)
	if usable {
		ps = append(ps, ops.check()...)
	}
	if len(ps) > 0 {
		return nil, &ConfigError{Source: ops.Source, Problems: ps}
	}
	return ops, nil
}

// parseOps decodes data and resolves relative paths, without the semantic
// checks. It returns the key and type problems too: a value with one is
// reported here, left out of ops (as if unset) and remembered in
// ops.dropped, so that the checks of the rest still run without reporting
// it twice. usable is false when nothing could be decoded (not YAML, not a
// mapping); ops is then the built-in defaults.
func parseOps(data []byte, path string) (ops *Ops, ps []string, usable bool) {
	src := path
	if src == "" {
		src = "(inline)"
	}
	ops = DefaultOps()
	ops.Source = src
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return ops, nil, true
		}
		return ops, []string{"not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return ops, []string{"not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}, false
		}
		ps = append(ps, fmt.Sprintf("line %d: a second YAML document; keep one (the first is read)", extra.Line))
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	c := &nodeChecker{lines: map[string]int{}, seen: map[aliasUse]aliasState{}}
	if !c.check(doc, reflect.TypeFor[Ops](), "") {
		return ops, append(ps, c.problems...), false
	}
	ps = append(ps, c.problems...)
	ops.lines, ops.dropped = c.lines, c.dropped
	// checkNode removed unknown and repeated keys and nulled every value it
	// reported, so what is left decodes; keep yaml's words if not.
	if err := doc.Decode(ops); err != nil {
		return ops, append(ps, cleanYAMLError(err)), false
	}
	ops.Source = src
	if ops.Models == nil {
		ops.Models = map[string]*ModelConfig{}
	}
	if ops.Profiles == nil {
		ops.Profiles = map[string]*ProfileConfig{}
	}
	dir := ""
	if path != "" {
		dir = filepath.Dir(path)
	}
	for _, m := range ops.Models {
		if m != nil && m.Path != "" && !filepath.IsAbs(m.Path) && dir != "" {
			m.Path = filepath.Join(dir, m.Path)
		}
	}
	for _, p := range ops.Profiles {
		if p != nil && p.Path != "" && !filepath.IsAbs(p.Path) && dir != "" {
			p.Path = filepath.Join(dir, p.Path)
		}
	}
	return ops, ps, true
}

// nodeChecker walks a YAML node against the Go type it decodes into and
// reports unknown keys, repeated keys and values of the wrong type, each
// with its key path ("models.tiny.threads") and line. yaml.v3's own errors
// name Go types and lines only, which does not tell an operator which of
// twenty "threads" keys is wrong, and yaml.v3 stops at the first custom
// type that fails.
//
// It also mends the tree so that the rest can be decoded and checked:
// unknown and repeated keys are removed, and a value of the wrong type is
// replaced by null (unset), its key path added to dropped.
type nodeChecker struct {
	problems []string
	// lines maps each key path to the line of its key (of its item, in a
	// list).
	lines map[string]int
	// dropped lists the key paths whose values were reported and nulled.
	dropped []string
	// seen holds the aliases expanded for a type, so that a document of
	// nested aliases costs one walk per anchor and a recursive one ends.
	seen map[aliasUse]aliasState
}

type aliasUse struct {
	n *yaml.Node
	t reflect.Type
}

type aliasState int

const (
	aliasUnseen aliasState = iota
	aliasChecking
	aliasGood
	aliasBad
)

// null is what a dropped value becomes: unset.
func null(line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: line}
}

// zeroNode is the YAML of t's zero value.
func zeroNode(t reflect.Type, line int) *yaml.Node {
	var z yaml.Node
	if err := z.Encode(reflect.Zero(t).Interface()); err != nil {
		return null(line)
	}
	z.Line = line
	return &z
}

// check reports n's problems and returns false when n itself is of the
// wrong type, so that the caller drops it.
func (c *nodeChecker) check(n *yaml.Node, t reflect.Type, path string) bool {
	where := func() string {
		p := path
		if p == "" {
			p = "(top level)"
		}
		return fmt.Sprintf("%s (line %d)", p, n.Line)
	}
	bad := func(format string, args ...any) bool {
		c.problems = append(c.problems, where()+": "+fmt.Sprintf(format, args...))
		if path != "" {
			c.dropped = append(c.dropped, path)
		}
		return false
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return bad("an alias without its anchor")
		}
		use := aliasUse{n.Alias, t}
		switch c.seen[use] {
		case aliasChecking: // a recursive alias, which yaml refuses to decode
			return bad("alias *%s contains itself", n.Value)
		case aliasGood:
			return true
		case aliasBad: // reported where the anchor was first used
			if path != "" {
				c.dropped = append(c.dropped, path)
			}
			return false
		}
		c.seen[use] = aliasChecking
		ok := c.check(n.Alias, t, path)
		c.seen[use] = aliasBad
		if ok {
			c.seen[use] = aliasGood
		}
		return ok
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return true // null leaves the field unset
	}
	// Types that decode themselves: try them.
	if t == reflect.TypeFor[yaml.Node]() {
		return true
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		v := reflect.New(t)
		if err := n.Decode(v.Interface()); err != nil {
			return bad("%s", cleanYAMLError(err))
		}
		return true
	}
	switch t.Kind() {
	case reflect.Pointer:
		return c.check(n, t.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return bad("want a mapping with keys %s, got %s", strings.Join(yamlKeys(t), ", "), nodeKind(n))
		}
		fields := map[string]reflect.StructField{}
		for i := range t.NumField() {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			fields[name] = f
		}
		seen := map[string]bool{}
		content, kept := n.Content, n.Content[:0:0]
		for i := 0; i+1 < len(content); i += 2 {
			k, v := content[i], content[i+1]
			kp := join(path, k.Value)
			if seen[k.Value] {
				c.problems = append(c.problems, fmt.Sprintf("%s (line %d): key repeated", kp, k.Line))
				continue
			}
			seen[k.Value] = true
			f, ok := fields[k.Value]
			if !ok {
				msg := fmt.Sprintf("%s (line %d): unknown key", kp, k.Line)
				if s := suggest(k.Value, slices.Collect(maps.Keys(fields))); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				c.problems = append(c.problems, msg+"; the keys here are "+strings.Join(yamlKeys(t), ", "))
				continue
			}
			c.lines[kp] = k.Line
			if !c.check(v, f.Type, kp) {
				v = null(v.Line)
			}
			kept = append(kept, k, v)
		}
		n.Content = kept
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return bad("want a mapping of names, got %s", nodeKind(n))
		}
		seen := map[string]bool{}
		content, kept := n.Content, n.Content[:0:0]
		for i := 0; i+1 < len(content); i += 2 {
			k, v := content[i], content[i+1]
			kp := join(path, k.Value)
			if seen[k.Value] {
				c.problems = append(c.problems, fmt.Sprintf("%s (line %d): name repeated", kp, k.Line))
				continue
			}
			seen[k.Value] = true
			if k.Kind != yaml.ScalarNode || strings.TrimSpace(k.Value) == "" {
				c.problems = append(c.problems, fmt.Sprintf("%s (line %d): empty name; give each entry a name", path, k.Line))
				continue
			}
			c.lines[kp] = k.Line
			if !c.check(v, t.Elem(), kp) {
				v = null(v.Line)
			}
			kept = append(kept, k, v)
		}
		n.Content = kept
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return bad("want a list, got %s", nodeKind(n))
		}
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			c.lines[ip] = item.Line
			if !c.check(item, t.Elem(), ip) {
				// The zero value, not null, which yaml would leave out of
				// the list, shifting the indices of the items after it.
				n.Content[i] = zeroNode(t.Elem(), item.Line)
			}
		}
	default:
		if n.Kind != yaml.ScalarNode {
			return bad("want %s, got %s", kindWord(t), nodeKind(n))
		}
		v := reflect.New(t)
		// yaml.v3 truncates 1.5 into an int field without a word.
		isInt := t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64
		if err := n.Decode(v.Interface()); err != nil || (isInt && n.Tag == "!!float") {
			return bad("want %s, got %q", kindWord(t), n.Value)
		}
		// yaml.v3 decodes any scalar into a string, quoting numbers and
		// booleans silently; a string field given `true` is almost always
		// a mistake (e.g. an unquoted "on").
		if t.Kind() == reflect.String && n.Tag == "!!bool" {
			return bad("want a string, got the boolean %s (quote it if you mean the text)", n.Value)
		}
	}
	return true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func yamlKeys(t reflect.Type) []string {
	var ks []string
	for i := range t.NumField() {
		name := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if name != "" && name != "-" && t.Field(i).IsExported() {
			ks = append(ks, name)
		}
	}
	return ks
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "something else"
}

func kindWord(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number >= 0"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return t.String()
}

func cleanYAMLError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return err.Error()
}

// ApplyEnv applies the env overrides. Each override names its variable in
// errors, and every bad variable is reported at once. Paths given by env are
// relative to the working directory.
func (o *Ops) ApplyEnv(lookup func(string) (string, bool)) error {
	if ps := o.applyEnv(lookup); len(ps) > 0 {
		return &ConfigError{Source: "environment", Problems: ps}
	}
	return nil
}

// applyEnv applies the env overrides and returns their problems. It records
// in o.origin which variable set which key path, so that a later check of
// such a value names the variable rather than the file.
func (o *Ops) applyEnv(lookup func(string) (string, bool)) []string {
	if o.origin == nil {
		o.origin = map[string]string{}
	}
	if o.Models == nil {
		o.Models = map[string]*ModelConfig{}
	}
	if o.Profiles == nil {
		o.Profiles = map[string]*ProfileConfig{}
	}
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	var ps []string
	intVar := func(name string, min int, what string) (int, bool) {
		v, ok := get(name)
		if !ok {
			return 0, false
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			ps = append(ps, fmt.Sprintf("%s=%q: want a whole number >= %d (%s)", name, v, min, what))
			return 0, false
		}
		return n, true
	}

	path, hasPath := get(EnvModelPath)
	ollama, hasOllama := get(EnvOllamaModel)
	switch {
	case hasPath && hasOllama:
		ps = append(ps, fmt.Sprintf("%s and %s are both set; set one", EnvModelPath, EnvOllamaModel))
	case hasPath || hasOllama:
		name := o.defaultModelName()
		if name == "" {
			name = DefaultModelName
			if o.Models[name] != nil || len(o.Models) > 1 {
				ps = append(ps, fmt.Sprintf("%s/%s: several models are configured and defaults.model names none; set defaults.model in the ops file", EnvModelPath, EnvOllamaModel))
				break
			}
		}
		m := o.Models[name]
		if m == nil {
			m = &ModelConfig{}
			o.Models[name] = m
		}
		p := "models." + name
		if hasPath {
			if abs, err := filepath.Abs(path); err == nil {
				path = abs
			}
			m.Path, m.Ollama = path, ""
			o.origin[p], o.origin[p+".path"] = EnvModelPath, EnvModelPath
		} else {
			m.Path, m.Ollama = "", ollama
			o.origin[p], o.origin[p+".ollama"] = EnvOllamaModel, EnvOllamaModel
		}
		if o.Defaults.Model == "" {
			o.Defaults.Model = name
		}
	}
	if p, ok := get(EnvProfilePath); ok {
		name := o.Defaults.Profile
		if name == "" || name == ProfileNone {
			name = DefaultProfileName
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		o.Profiles[name] = &ProfileConfig{Path: p, Model: profileModel(o.Profiles[name])}
		o.Defaults.Profile = name
		o.origin["profiles."+name], o.origin["profiles."+name+".path"] = EnvProfilePath, EnvProfilePath
	}
	for _, v := range []struct {
		env, key string
		min      int
		what     string
		set      func(*ModelConfig, int)
	}{
		{EnvThreads, "threads", 0, "0 = every CPU", func(m *ModelConfig, n int) { m.Threads = n }},
		{EnvSlots, "slots", 1, "generations at once", func(m *ModelConfig, n int) { m.Slots = n }},
		{EnvContextSize, "contextSize", 0, "0 = 4096", func(m *ModelConfig, n int) { m.ContextSize = n }},
		{EnvGPULayers, "gpuLayers", -1, "-1 = all, 0 = CPU", func(m *ModelConfig, n int) { m.GPULayers = n }},
	} {
		if n, ok := intVar(v.env, v.min, v.what); ok {
			for name, m := range o.Models {
				if m != nil {
					v.set(m, n)
					o.origin["models."+name+"."+v.key] = v.env
				}
			}
		}
	}
	if n, ok := intVar(EnvQueueLength, 0, "0 = none wait"); ok {
		o.Limits.QueueLength = &n
		o.origin["limits.queueLength"] = EnvQueueLength
	}
	if v, ok := get(EnvRequestTimeout); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			ps = append(ps, fmt.Sprintf("%s=%q: want a positive duration such as 90s or 2m", EnvRequestTimeout, v))
		} else {
			o.Limits.RequestTimeout = &Duration{d}
			o.origin["limits.requestTimeout"] = EnvRequestTimeout
		}
	}
	if n, ok := intVar(EnvMaxPassages, 1, "passages per groupedResult prompt"); ok {
		o.Limits.MaxPassages = n
		o.origin["limits.maxPassages"] = EnvMaxPassages
	}
	if n, ok := intVar(EnvMaxPrompt, 0, "0 = no cap but the context"); ok {
		o.Limits.MaxPromptTokens = n
		o.origin["limits.maxPromptTokens"] = EnvMaxPrompt
	}
	if v, ok := get(EnvLanguages); ok {
		var langs []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				langs = append(langs, s)
			}
		}
		o.Languages = langs
		o.origin["languages"] = EnvLanguages
		for i := range langs {
			o.origin[fmt.Sprintf("languages[%d]", i)] = EnvLanguages
		}
	}
	return ps
}

func profileModel(p *ProfileConfig) string {
	if p == nil {
		return ""
	}
	return p.Model
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

// at is a key path as problems name it: with the variable that set it, or
// the line of the file where it is written, when known.
func (o *Ops) at(path string) string {
	if env, ok := o.origin[path]; ok {
		return fmt.Sprintf("%s (from %s)", path, env)
	}
	if line, ok := o.lines[path]; ok {
		return fmt.Sprintf("%s (line %d)", path, line)
	}
	return path
}

// wasDropped reports whether path, or a key above it, had a value that
// parseOps already reported and dropped (unless an env override set it
// since).
func (o *Ops) wasDropped(path string) bool {
	if _, ok := o.origin[path]; ok {
		return false
	}
	for _, d := range o.dropped {
		if path == d || strings.HasPrefix(path, d+".") || strings.HasPrefix(path, d+"[") {
			return true
		}
	}
	return false
}

// check validates the configuration and loads the profiles. It returns
// every problem, each as "<key path> (line N | from VARIABLE): <what is
// wrong and the fix>".
func (o *Ops) check() []string {
	var ps []string
	add := func(path, format string, args ...any) {
		if !o.wasDropped(path) {
			ps = append(ps, o.at(path)+": "+fmt.Sprintf(format, args...))
		}
	}

	for _, name := range slices.Sorted(maps.Keys(o.Models)) {
		m := o.Models[name]
		p := "models." + name
		if m == nil {
			add(p, "empty; give path: <file.gguf> or ollama: <name>")
			continue
		}
		switch {
		case m.Path == "" && m.Ollama == "":
			add(p, "give path: <file.gguf> or ollama: <name such as llama3.2:1b>")
		case m.Path != "" && m.Ollama != "":
			add(p, "path and ollama are both set; keep one")
		}
		if m.Threads < 0 {
			add(p+".threads", "%d; give 0 (every CPU) or more", m.Threads)
		}
		if m.ContextSize < 0 || (m.ContextSize > 0 && m.ContextSize < 64) {
			add(p+".contextSize", "%d; give 0 (4096) or at least 64 tokens", m.ContextSize)
		}
		if m.BatchSize < 0 {
			add(p+".batchSize", "%d; give 0 (512) or more", m.BatchSize)
		}
		if m.GPULayers < -1 {
			add(p+".gpuLayers", "%d; give -1 (all), 0 (CPU) or a layer count", m.GPULayers)
		}
		if m.Slots < 0 {
			add(p+".slots", "%d; give 0 (1) or more", m.Slots)
		}
		switch strings.ToLower(m.KVCacheType) {
		case "", "f16", "f32", "q8_0", "q4_0":
		default:
			add(p+".kvCacheType", "%q; want f16, f32, q8_0 or q4_0", m.KVCacheType)
		}
		for k, st := range m.Stop {
			if st == "" {
				add(fmt.Sprintf("%s.stop[%d]", p, k), "empty; remove it")
			}
		}
		if m.FlashAttention == "" {
			m.FlashAttention = FlashAttentionAuto
		}
	}

	for _, name := range slices.Sorted(maps.Keys(o.Profiles)) {
		pc := o.Profiles[name]
		p := "profiles." + name
		if name == ProfileNone {
			add(p, "%q is reserved (it turns steering off); rename the profile", ProfileNone)
			continue
		}
		if pc == nil {
			add(p, "empty; give path: <profile.yaml> or inline: <profile>")
			continue
		}
		hasInline := pc.Inline.Kind != 0 && pc.Inline.Tag != "!!null"
		switch {
		case pc.Path == "" && !hasInline:
			add(p, "give path: <profile.yaml> or inline: <profile document>")
			continue
		case pc.Path != "" && hasInline:
			add(p, "path and inline are both set; keep one")
			continue
		}
		if _, ok := o.Models[pc.Model]; pc.Model != "" && !ok {
			add(p+".model", "%q is not a configured model (have: %s)", pc.Model, nameList(o.Models))
		}
		if pc.Path != "" {
			prof, err := LoadProfile(pc.Path)
			if err != nil {
				add(p+".path", "%v", err)
				continue
			}
			pc.Profile = prof
		} else {
			data, err := yaml.Marshal(&pc.Inline)
			if err != nil {
				add(p+".inline", "%v", err)
				continue
			}
			prof, err := ParseProfile(data)
			if err != nil {
				// Lines in the profile's errors count from the inline
				// document's first line.
				if !o.wasDropped(p + ".inline") {
					ps = append(ps, fmt.Sprintf("%s.inline (from line %d): %v", p, pc.Inline.Line, err))
				}
				continue
			}
			pc.Profile = prof
		}
	}

	if _, ok := o.Models[o.Defaults.Model]; o.Defaults.Model != "" && !ok {
		add("defaults.model", "%q is not a configured model (have: %s)", o.Defaults.Model, nameList(o.Models))
	}
	if o.Defaults.Model == "" && len(o.Models) > 1 {
		add("defaults.model", "%d models are configured (%s); name the default one", len(o.Models), nameList(o.Models))
	}
	if _, ok := o.Profiles[o.Defaults.Profile]; o.Defaults.Profile != "" && o.Defaults.Profile != ProfileNone && !ok {
		add("defaults.profile", "%q is not a configured profile (have: %s)", o.Defaults.Profile, nameList(o.Profiles))
	}
	_, dps := o.Defaults.resolve()
	for _, pr := range dps {
		field, msg, _ := strings.Cut(pr, ": ")
		add("defaults."+field, "%s", msg)
	}

	if q := o.Limits.QueueLength; q != nil && *q < 0 {
		add("limits.queueLength", "%d; give 0 (no waiting) or more", *q)
	}
	if d := o.Limits.RequestTimeout; d != nil && d.Duration <= 0 {
		add("limits.requestTimeout", "%v; give a positive duration such as 2m", d.Duration)
	}
	if o.Limits.MaxPassages < 0 {
		add("limits.maxPassages", "%d; give 0 (%d) or more", o.Limits.MaxPassages, DefaultMaxPassages)
	}
	if o.Limits.MaxPromptTokens < 0 {
		add("limits.maxPromptTokens", "%d; give 0 (the context decides) or more", o.Limits.MaxPromptTokens)
	}

	if len(o.Languages) == 0 {
		o.Languages = slices.Clone(DefaultLanguages)
	}
	seen := map[string]int{}
	for i, s := range o.Languages {
		p := fmt.Sprintf("languages[%d]", i)
		if o.wasDropped(p) {
			continue
		}
		l, err := ParseLanguage(s)
		if err != nil {
			add(p, "%v", err)
			continue
		}
		if j, dup := seen[l.String()]; dup {
			add(p, "%s repeats languages[%d]", l, j)
		}
		seen[l.String()] = i
	}
	switch strings.ToLower(o.LanguageDetection.Accuracy) {
	case "", "high", "low":
	default:
		add("languageDetection.accuracy", "%q; want high (default) or low", o.LanguageDetection.Accuracy)
	}

	// The defaults alone must make a request that resolves: a default
	// profile needs an attribute for each default alpha that is not 0.
	// (Without models every request fails anyway, and says so.)
	if len(ps) == 0 && len(o.Models) > 0 {
		_, rps := o.resolve(o.Defaults)
		for _, pr := range rps {
			field, msg, _ := strings.Cut(pr, ": ")
			add("defaults."+field, "%s", msg)
		}
	}
	return ps
}

func nameList[V any](m map[string]V) string {
	if len(m) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

// ModelNames lists the configured models, sorted.
func (o *Ops) ModelNames() []string { return slices.Sorted(maps.Keys(o.Models)) }

// ProfileNames lists the configured profiles, sorted.
func (o *Ops) ProfileNames() []string { return slices.Sorted(maps.Keys(o.Profiles)) }

// Resolve merges the ops defaults, then each of layers in order (class,
// query), validates, fills in the default model, and checks that the model
// and profile are configured and that the profile has every attribute the
// options steer. where names the last layer for messages. Every problem is
// reported at once: bad values together with unknown names.
func (o *Ops) Resolve(where string, layers ...Options) (Resolved, error) {
	opts := o.Defaults
	for _, l := range layers {
		opts = opts.Merge(l)
	}
	r, ps := o.resolve(opts)
	if len(ps) > 0 {
		return Resolved{}, &OptionsError{Where: where, Problems: ps}
	}
	return r, nil
}

// resolve is Resolve of merged options, returning the problems.
func (o *Ops) resolve(opts Options) (Resolved, []string) {
	r, ps := opts.resolve()
	if r.Model == "" {
		r.Model = o.DefaultModel()
	}
	switch {
	case len(o.Models) == 0:
		ps = append(ps, fmt.Sprintf("model: no models are configured; name a GGUF file in the ops file (%s) or set %s", EnvConfig, EnvModelPath))
	case o.Models[r.Model] == nil:
		ps = append(ps, fmt.Sprintf("model: %q is not a configured model; the ops file has %s", r.Model, nameList(o.Models)))
	}
	if r.Profile != "" {
		pc := o.Profiles[r.Profile]
		if pc == nil {
			ps = append(ps, fmt.Sprintf("profile: %q is not a configured profile; the ops file has %s (or use %q for no steering)", r.Profile, nameList(o.Profiles), ProfileNone))
		} else if pc.Profile != nil {
			for _, a := range []struct {
				attr, field string
				alpha       float64
			}{{AttributeAC, "alphaAC", r.AlphaAC}, {AttributeCL, "alphaCL", r.AlphaCL}} {
				if a.alpha != 0 && pc.Profile.Attributes[a.attr] == nil {
					ps = append(ps, fmt.Sprintf("%s: %v, but profile %q has no %s attribute; set %s: 0 or use a profile probed for %s",
						a.field, a.alpha, r.Profile, a.attr, a.field, a.attr))
				}
			}
		}
	}
	return r, ps
}

// OptionsFromMap reads a class's moduleConfig like the package-level
// OptionsFromMap and checks it against this configuration as Resolve does
// (the model and profile it names, the attributes its profile must have),
// reporting every problem of the map at once: a wrong type does not hide an
// unknown model. It returns the class's options, to be merged with a
// query's.
func (o *Ops) OptionsFromMap(m map[string]any, where string) (Options, error) {
	opts, ps := optionsFromMap(m)
	_, rps := o.resolve(o.Defaults.Merge(opts))
	for _, p := range rps {
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return Options{}, &OptionsError{Where: where, Problems: ps}
	}
	return opts, nil
}
