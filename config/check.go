package config

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/asmr-search/generative-asmr/profile"
)

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

// opsCheck gathers the problems of one check of an ops configuration.
type opsCheck struct {
	o  *Ops
	ps []string
}

// add reports a problem of the value at key path, named as at names it,
// unless parseOps already reported that value.
func (c *opsCheck) add(path, format string, args ...any) {
	if !c.o.wasDropped(path) {
		c.ps = append(c.ps, c.o.at(path)+": "+fmt.Sprintf(format, args...))
	}
}

// addFields reports option problems ("<field>: <what>") as problems of the
// key paths under prefix ("defaults.").
func (c *opsCheck) addFields(prefix string, ps []string) {
	for _, pr := range ps {
		field, msg, _ := strings.Cut(pr, ": ")
		c.add(prefix+field, "%s", msg)
	}
}

// check validates the configuration and loads the profiles. It returns
// every problem, each as "<key path> (line N | from VARIABLE): <what is
// wrong and the fix>".
func (o *Ops) check() []string {
	c := &opsCheck{o: o}
	for _, name := range slices.Sorted(maps.Keys(o.Models)) {
		c.model("models."+name, o.Models[name])
	}
	for _, name := range slices.Sorted(maps.Keys(o.Profiles)) {
		c.profile(name, o.Profiles[name])
	}
	c.defaults()
	c.limits()
	c.languages()
	// The defaults alone must make a request that resolves: a default
	// profile needs an attribute for each default alpha that is not 0.
	// (Without models every request fails anyway, and says so.)
	if len(c.ps) == 0 && len(o.Models) > 0 {
		_, rps := o.resolve(o.Defaults)
		c.addFields("defaults.", rps)
	}
	return c.ps
}

// model checks the model at key path p and fills in its defaults.
func (c *opsCheck) model(p string, m *ModelConfig) {
	if m == nil {
		c.add(p, "empty; give path: <file.gguf> or ollama: <name>")
		return
	}
	switch {
	case m.Path == "" && m.Ollama == "":
		c.add(p, "give path: <file.gguf> or ollama: <name such as llama3.2:1b>")
	case m.Path != "" && m.Ollama != "":
		c.add(p, "path and ollama are both set; keep one")
	}
	if m.Threads < 0 {
		c.add(p+".threads", "%d; give 0 (every CPU) or more", m.Threads)
	}
	if m.ContextSize < 0 || (m.ContextSize > 0 && m.ContextSize < MinContextSize) {
		c.add(p+".contextSize", "%d; give 0 (4096) or at least %d tokens", m.ContextSize, MinContextSize)
	}
	if m.BatchSize < 0 {
		c.add(p+".batchSize", "%d; give 0 (%d) or more", m.BatchSize, DefaultBatchSize)
	}
	if m.GPULayers < -1 {
		c.add(p+".gpuLayers", "%d; give -1 (all), 0 (CPU) or a layer count", m.GPULayers)
	}
	if m.Slots < 0 {
		c.add(p+".slots", "%d; give 0 (1) or more", m.Slots)
	}
	if m.Slots > MaxSlots {
		c.add(p+".slots", "%d; llama.cpp decodes at most %d sequences in one context: give %d or fewer", m.Slots, MaxSlots, MaxSlots)
	} else if batch := cmp.Or(m.BatchSize, DefaultBatchSize); m.BatchSize >= 0 && m.Slots >= batch {
		c.add(p+".slots", "%d slots need a batchSize above them (batchSize %d): every decode carries one token of each running generation and room for prompts; lower slots or raise batchSize", m.Slots, batch)
	}
	if kv, err := ParseKVCacheType(string(m.KVCacheType)); err != nil {
		c.add(p+".kvCacheType", "%v", err)
	} else {
		m.KVCacheType = kv
	}
	for k, st := range m.Stop {
		if st == "" {
			c.add(fmt.Sprintf("%s.stop[%d]", p, k), "empty; remove it")
		}
	}
	if m.FlashAttention == "" {
		m.FlashAttention = FlashAttentionAuto
	}
}

// profile checks the profile entry name and loads its steering profile.
func (c *opsCheck) profile(name string, pc *ProfileConfig) {
	p := "profiles." + name
	if name == ProfileNone {
		c.add(p, "%q is reserved (it turns steering off); rename the profile", ProfileNone)
		return
	}
	if pc == nil {
		c.add(p, "empty; give path: <profile.yaml> or inline: <profile>")
		return
	}
	hasInline := pc.Inline.Kind != 0 && pc.Inline.Tag != "!!null"
	switch {
	case pc.Path == "" && !hasInline:
		c.add(p, "give path: <profile.yaml> or inline: <profile document>")
		return
	case pc.Path != "" && hasInline:
		c.add(p, "path and inline are both set; keep one")
		return
	}
	if _, ok := c.o.Models[pc.Model]; pc.Model != "" && !ok {
		c.add(p+".model", "%q is not a configured model (have: %s)", pc.Model, nameList(c.o.Models))
	}
	if pc.Path != "" {
		prof, err := profile.Load(pc.Path)
		if err != nil {
			c.add(p+".path", "%v", err)
			return
		}
		pc.Profile = prof
		return
	}
	data, err := yaml.Marshal(&pc.Inline)
	if err != nil {
		c.add(p+".inline", "%v", err)
		return
	}
	prof, err := profile.Parse(data)
	if err != nil {
		// Lines in the profile's errors count from the inline document's
		// first line.
		if !c.o.wasDropped(p + ".inline") {
			c.ps = append(c.ps, fmt.Sprintf("%s.inline (from line %d): %v", p, pc.Inline.Line, err))
		}
		return
	}
	pc.Profile = prof
}

// defaults checks that the default model and profile are configured and
// that the default options are valid.
func (c *opsCheck) defaults() {
	o, d := c.o, c.o.Defaults
	if _, ok := o.Models[d.Model]; d.Model != "" && !ok {
		c.add("defaults.model", "%q is not a configured model (have: %s)", d.Model, nameList(o.Models))
	}
	if d.Model == "" && len(o.Models) > 1 {
		c.add("defaults.model", "%d models are configured (%s); name the default one", len(o.Models), nameList(o.Models))
	}
	if _, ok := o.Profiles[d.Profile]; d.Profile != "" && d.Profile != ProfileNone && !ok {
		c.add("defaults.profile", "%q is not a configured profile (have: %s)", d.Profile, nameList(o.Profiles))
	}
	_, dps := d.resolve()
	c.addFields("defaults.", dps)
}

// limits checks the limits' ranges.
func (c *opsCheck) limits() {
	l := c.o.Limits
	if q := l.QueueLength; q != nil && *q < 0 {
		c.add("limits.queueLength", "%d; give 0 (no waiting) or more", *q)
	}
	if d := l.RequestTimeout; d != nil && d.Duration <= 0 {
		c.add("limits.requestTimeout", "%v; give a positive duration such as 2m", d.Duration)
	}
	if l.MaxPassages < 0 {
		c.add("limits.maxPassages", "%d; give 0 (%d) or more", l.MaxPassages, DefaultMaxPassages)
	}
	if l.MaxPromptTokens < 0 {
		c.add("limits.maxPromptTokens", "%d; give 0 (the context decides) or more", l.MaxPromptTokens)
	}
}

// languages checks the languages to detect, filling in DefaultLanguages
// when none are given, and the detector's accuracy.
func (c *opsCheck) languages() {
	o := c.o
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
			c.add(p, "%v", err)
			continue
		}
		if j, dup := seen[l.String()]; dup {
			c.add(p, "%s repeats languages[%d]", l, j)
		}
		seen[l.String()] = i
	}
	switch strings.ToLower(o.LanguageDetection.Accuracy) {
	case "", "high", "low":
	default:
		c.add("languageDetection.accuracy", "%q; want high (default) or low", o.LanguageDetection.Accuracy)
	}
}

func nameList[V any](m map[string]V) string {
	if len(m) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}
