package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Env variables read by LoadOpsFromEnv: ASMR_CONFIG names the ops file,
// the others override its common fields (see ApplyEnv).
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

// EnvDebug, set to anything, makes the asmr command log at debug level
// (llama.cpp's own log included; see steering).
const EnvDebug = "ASMR_DEBUG"

// ApplyEnv applies the env overrides. Each override names its variable in
// errors, and every bad variable is reported at once. Paths given by env are
// relative to the working directory.
func (o *Ops) ApplyEnv(lookup func(string) (string, bool)) error {
	if ps := o.applyEnv(lookup); len(ps) > 0 {
		return OpsError("environment", ps)
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
