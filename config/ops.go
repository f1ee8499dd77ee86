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

// LoadOpsWithEnv is LoadOpsFromEnv with the environment passed in, for tests.
func LoadOpsWithEnv(lookup func(string) (string, bool)) (*Ops, error) {
	var ops *Ops
	if path, ok := lookup(EnvConfig); ok && strings.TrimSpace(path) != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read ops config (%s): %w", EnvConfig, err)
		}
		ops, err = parseOps(data, path)
		if err != nil {
			return nil, err
		}
	} else {
		ops = DefaultOps()
	}
	if err := ops.ApplyEnv(lookup); err != nil {
		return nil, err
	}
	if err := ops.finish(); err != nil {
		return nil, err
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
// relative paths (its directory), and may be "".
func ParseOps(data []byte, path string) (*Ops, error) {
	ops, err := parseOps(data, path)
	if err != nil {
		return nil, err
	}
	if err := ops.finish(); err != nil {
		return nil, err
	}
	return ops, nil
}

// parseOps decodes strictly and resolves relative paths, without
// validation.
func parseOps(data []byte, path string) (*Ops, error) {
	src := path
	if src == "" {
		src = "(inline)"
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			ops := DefaultOps()
			ops.Source = src
			return ops, nil
		}
		return nil, &ConfigError{Source: src, Problems: []string{"not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &ConfigError{Source: src, Problems: []string{"more than one YAML document; keep one"}}
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	var ps []string
	checkNode(doc, reflect.TypeFor[Ops](), "", &ps)
	if len(ps) > 0 {
		return nil, &ConfigError{Source: src, Problems: ps}
	}
	ops := DefaultOps()
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(ops); err != nil {
		// checkNode should have caught everything; keep yaml's words if not.
		return nil, &ConfigError{Source: src, Problems: []string{err.Error()}}
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
	return ops, nil
}

// checkNode walks a YAML node against the Go type it decodes into and
// reports unknown keys, repeated keys and values of the wrong type, each
// with its key path ("models.tiny.threads") and line. yaml.v3's own errors
// name Go types and lines only, which does not tell an operator which of
// twenty "threads" keys is wrong.
func checkNode(n *yaml.Node, t reflect.Type, path string, ps *[]string) {
	where := func() string {
		p := path
		if p == "" {
			p = "(top level)"
		}
		return fmt.Sprintf("%s (line %d)", p, n.Line)
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // null leaves the field unset
	}
	// Types that decode themselves: try them.
	if t == reflect.TypeFor[yaml.Node]() {
		return
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		v := reflect.New(t)
		if err := n.Decode(v.Interface()); err != nil {
			*ps = append(*ps, fmt.Sprintf("%s: %s", where(), cleanYAMLError(err)))
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkNode(n, t.Elem(), path, ps)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			*ps = append(*ps, fmt.Sprintf("%s: want a mapping with keys %s, got %s", where(), strings.Join(yamlKeys(t), ", "), nodeKind(n)))
			return
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
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kp := join(path, k.Value)
			if seen[k.Value] {
				*ps = append(*ps, fmt.Sprintf("%s (line %d): key repeated", kp, k.Line))
				continue
			}
			seen[k.Value] = true
			f, ok := fields[k.Value]
			if !ok {
				msg := fmt.Sprintf("%s (line %d): unknown key", kp, k.Line)
				if s := suggest(k.Value, slices.Collect(maps.Keys(fields))); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				*ps = append(*ps, msg+"; the keys here are "+strings.Join(yamlKeys(t), ", "))
				continue
			}
			checkNode(v, f.Type, kp, ps)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			*ps = append(*ps, fmt.Sprintf("%s: want a mapping of names, got %s", where(), nodeKind(n)))
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kp := join(path, k.Value)
			if seen[k.Value] {
				*ps = append(*ps, fmt.Sprintf("%s (line %d): name repeated", kp, k.Line))
				continue
			}
			seen[k.Value] = true
			if strings.TrimSpace(k.Value) == "" {
				*ps = append(*ps, fmt.Sprintf("%s (line %d): empty name", path, k.Line))
				continue
			}
			checkNode(v, t.Elem(), kp, ps)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			*ps = append(*ps, fmt.Sprintf("%s: want a list, got %s", where(), nodeKind(n)))
			return
		}
		for i, item := range n.Content {
			checkNode(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), ps)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			*ps = append(*ps, fmt.Sprintf("%s: want %s, got %s", where(), kindWord(t), nodeKind(n)))
			return
		}
		v := reflect.New(t)
		// yaml.v3 truncates 1.5 into an int field without a word.
		isInt := t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64
		if err := n.Decode(v.Interface()); err != nil || (isInt && n.Tag == "!!float") {
			*ps = append(*ps, fmt.Sprintf("%s: want %s, got %q", where(), kindWord(t), n.Value))
			return
		}
		// yaml.v3 decodes any scalar into a string, quoting numbers and
		// booleans silently; a string field given `true` is almost always
		// a mistake (e.g. an unquoted "on").
		if t.Kind() == reflect.String && (n.Tag == "!!bool") {
			*ps = append(*ps, fmt.Sprintf("%s: want a string, got the boolean %s (quote it if you mean the text)", where(), n.Value))
		}
	}
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
// errors. Paths given by env are relative to the working directory.
func (o *Ops) ApplyEnv(lookup func(string) (string, bool)) error {
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	var ps []string
	intVar := func(name string, min int) (int, bool) {
		v, ok := get(name)
		if !ok {
			return 0, false
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			ps = append(ps, fmt.Sprintf("%s=%q: want a whole number >= %d", name, v, min))
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
		if hasPath {
			if abs, err := filepath.Abs(path); err == nil {
				path = abs
			}
			m.Path, m.Ollama = path, ""
		} else {
			m.Path, m.Ollama = "", ollama
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
	}
	for _, v := range []struct {
		env string
		min int
		set func(*ModelConfig, int)
	}{
		{EnvThreads, 0, func(m *ModelConfig, n int) { m.Threads = n }},
		{EnvSlots, 1, func(m *ModelConfig, n int) { m.Slots = n }},
		{EnvContextSize, 0, func(m *ModelConfig, n int) { m.ContextSize = n }},
		{EnvGPULayers, -1, func(m *ModelConfig, n int) { m.GPULayers = n }},
	} {
		if n, ok := intVar(v.env, v.min); ok {
			for _, m := range o.Models {
				if m != nil {
					v.set(m, n)
				}
			}
		}
	}
	if n, ok := intVar(EnvQueueLength, 0); ok {
		o.Limits.QueueLength = &n
	}
	if v, ok := get(EnvRequestTimeout); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			ps = append(ps, fmt.Sprintf("%s=%q: want a positive duration such as 90s or 2m", EnvRequestTimeout, v))
		} else {
			o.Limits.RequestTimeout = &Duration{d}
		}
	}
	if n, ok := intVar(EnvMaxPassages, 1); ok {
		o.Limits.MaxPassages = n
	}
	if n, ok := intVar(EnvMaxPrompt, 0); ok {
		o.Limits.MaxPromptTokens = n
	}
	if v, ok := get(EnvLanguages); ok {
		var langs []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				langs = append(langs, s)
			}
		}
		o.Languages = langs
	}
	if len(ps) > 0 {
		return &ConfigError{Source: "environment", Problems: ps}
	}
	return nil
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

// finish validates the configuration and loads the profiles.
func (o *Ops) finish() error {
	var ps []string
	add := func(format string, args ...any) { ps = append(ps, fmt.Sprintf(format, args...)) }

	for _, name := range slices.Sorted(maps.Keys(o.Models)) {
		m := o.Models[name]
		p := "models." + name
		if m == nil {
			add("%s: empty; give path: <file.gguf> or ollama: <name>", p)
			continue
		}
		switch {
		case m.Path == "" && m.Ollama == "":
			add("%s: give path: <file.gguf> or ollama: <name such as llama3.2:1b>", p)
		case m.Path != "" && m.Ollama != "":
			add("%s: path and ollama are both set; keep one", p)
		}
		if m.Threads < 0 {
			add("%s.threads: %d; give 0 (every CPU) or more", p, m.Threads)
		}
		if m.ContextSize < 0 || (m.ContextSize > 0 && m.ContextSize < 64) {
			add("%s.contextSize: %d; give 0 (4096) or at least 64 tokens", p, m.ContextSize)
		}
		if m.BatchSize < 0 {
			add("%s.batchSize: %d; give 0 (512) or more", p, m.BatchSize)
		}
		if m.GPULayers < -1 {
			add("%s.gpuLayers: %d; give -1 (all), 0 (CPU) or a layer count", p, m.GPULayers)
		}
		if m.Slots < 0 {
			add("%s.slots: %d; give 0 (1) or more", p, m.Slots)
		}
		switch strings.ToLower(m.KVCacheType) {
		case "", "f16", "f32", "q8_0", "q4_0":
		default:
			add("%s.kvCacheType: %q; want f16, f32, q8_0 or q4_0", p, m.KVCacheType)
		}
		if m.FlashAttention == "" {
			m.FlashAttention = FlashAttentionAuto
		}
	}

	for _, name := range slices.Sorted(maps.Keys(o.Profiles)) {
		pc := o.Profiles[name]
		p := "profiles." + name
		if name == ProfileNone {
			add("%s: %q is reserved (it turns steering off); rename the profile", p, ProfileNone)
			continue
		}
		if pc == nil {
			add("%s: empty; give path: <profile.yaml> or inline: <profile>", p)
			continue
		}
		hasInline := pc.Inline.Kind != 0 && pc.Inline.Tag != "!!null"
		switch {
		case pc.Path == "" && !hasInline:
			add("%s: give path: <profile.yaml> or inline: <profile document>", p)
			continue
		case pc.Path != "" && hasInline:
			add("%s: path and inline are both set; keep one", p)
			continue
		}
		if pc.Model != "" && o.Models[pc.Model] == nil {
			add("%s.model: %q is not a configured model (have: %s)", p, pc.Model, nameList(o.Models))
		}
		if pc.Path != "" {
			prof, err := LoadProfile(pc.Path)
			if err != nil {
				add("%s.path: %v", p, err)
				continue
			}
			pc.Profile = prof
		} else {
			data, err := yaml.Marshal(&pc.Inline)
			if err != nil {
				add("%s.inline: %v", p, err)
				continue
			}
			prof, err := ParseProfile(data)
			if err != nil {
				add("%s.inline (from line %d): %v", p, pc.Inline.Line, err)
				continue
			}
			pc.Profile = prof
		}
	}

	if o.Defaults.Model != "" && o.Models[o.Defaults.Model] == nil {
		add("defaults.model: %q is not a configured model (have: %s)", o.Defaults.Model, nameList(o.Models))
	}
	if o.Defaults.Model == "" && len(o.Models) > 1 {
		add("defaults.model: %d models are configured (%s); name the default one", len(o.Models), nameList(o.Models))
	}
	if pr := o.Defaults.Profile; pr != "" && pr != ProfileNone && o.Profiles[pr] == nil {
		add("defaults.profile: %q is not a configured profile (have: %s)", pr, nameList(o.Profiles))
	}
	if _, err := o.Defaults.Resolve("defaults"); err != nil {
		var oe *OptionsError
		if errors.As(err, &oe) {
			for _, pr := range oe.Problems {
				add("defaults.%s", pr)
			}
		} else {
			add("defaults: %v", err)
		}
	}

	if q := o.Limits.QueueLength; q != nil && *q < 0 {
		add("limits.queueLength: %d; give 0 (no waiting) or more", *q)
	}
	if d := o.Limits.RequestTimeout; d != nil && d.Duration <= 0 {
		add("limits.requestTimeout: %v; give a positive duration such as 2m", d.Duration)
	}
	if o.Limits.MaxPassages < 0 {
		add("limits.maxPassages: %d; give 0 (%d) or more", o.Limits.MaxPassages, DefaultMaxPassages)
	}
	if o.Limits.MaxPromptTokens < 0 {
		add("limits.maxPromptTokens: %d; give 0 (the context decides) or more", o.Limits.MaxPromptTokens)
	}

	if len(o.Languages) == 0 {
		o.Languages = slices.Clone(DefaultLanguages)
	}
	seen := map[string]int{}
	for i, s := range o.Languages {
		l, err := ParseLanguage(s)
		if err != nil {
			add("languages[%d]: %v", i, err)
			continue
		}
		if j, dup := seen[l.String()]; dup {
			add("languages[%d]: %s repeats languages[%d]", i, l, j)
		}
		seen[l.String()] = i
	}
	switch strings.ToLower(o.LanguageDetection.Accuracy) {
	case "", "high", "low":
	default:
		add("languageDetection.accuracy: %q; want high (default) or low", o.LanguageDetection.Accuracy)
	}

	if len(ps) > 0 {
		return &ConfigError{Source: o.Source, Problems: ps}
	}
	return nil
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
// options steer. where names the last layer for messages.
func (o *Ops) Resolve(where string, layers ...Options) (Resolved, error) {
	opts := o.Defaults
	for _, l := range layers {
		opts = opts.Merge(l)
	}
	r, err := opts.Resolve(where)
	if err != nil {
		return Resolved{}, err
	}
	if r.Model == "" {
		r.Model = o.DefaultModel()
	}
	var ps []string
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
	if len(ps) > 0 {
		return Resolved{}, &OptionsError{Where: where, Problems: ps}
	}
	return r, nil
}
