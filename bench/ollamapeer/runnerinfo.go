package ollamapeer

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Engines that ollama v0.17.4 runs models on.
const (
	// EngineLlamaCpp is llama.cpp through cgo ("ollama runner",
	// runner/llamarunner), the same code our in-process reader uses.
	EngineLlamaCpp = "llama.cpp"
	// EngineOllama is ollama's own Go engine on ggml ("ollama runner
	// --ollama-engine", runner/ollamarunner).
	EngineOllama = "ollama"
)

// RunnerInfo is how the server ran the most recently loaded model, as read
// from its log. Fields the log does not show are left zero.
type RunnerInfo struct {
	Engine    string // EngineLlamaCpp or EngineOllama
	RunnerCmd string // the runner's command line

	// From the runner's load request.
	FlashAttention string // "Auto", "Enabled" or "Disabled"
	UseMmap        string // "true" or "false"
	NumThreads     int
	KvSize         int // num_ctx * parallel
	BatchSize      int
	Parallel       int
	KvCacheType    string // "" means f16

	// From llama.cpp's own log (llama.cpp engine only).
	FlashAttentionResolved string // "enabled" or "disabled" when "auto" was resolved
	LlamaMmap              string // "true" or "false", from load_tensors
}

var (
	reRunnerCmd   = regexp.MustCompile(`msg="starting runner" cmd="([^"]*)"`)
	reLoadRequest = regexp.MustCompile(`msg=load request="\{([^"]*)\}"`)
	reFAResolved  = regexp.MustCompile(`Flash Attention was auto, set to (\w+)`)
	reLlamaMmap   = regexp.MustCompile(`load_tensors: loading model tensors.*\(mmap = (\w+)\)`)
)

// RunnerInfo reads from the server log which runner served the last model
// load, and with which settings.
func (p *Peer) RunnerInfo() (RunnerInfo, error) {
	log, err := p.Log()
	if err != nil {
		return RunnerInfo{}, err
	}
	return ParseRunnerInfo(log)
}

// ParseRunnerInfo extracts a RunnerInfo from an `ollama serve` log. It looks
// at the last model load in the log.
func ParseRunnerInfo(log string) (RunnerInfo, error) {
	// ollama also starts runners, without a model, to discover devices at
	// startup; the model's runner is the last "starting runner" with --model.
	var info RunnerInfo
	start := -1
	for _, m := range reRunnerCmd.FindAllStringSubmatchIndex(log, -1) {
		cmd := log[m[2]:m[3]]
		if strings.Contains(cmd, " --model ") {
			info.RunnerCmd = cmd
			start = m[0]
		}
	}
	if start < 0 {
		return RunnerInfo{}, errors.New("ollamapeer: no model runner was started according to the server log (has a model been loaded?)")
	}
	info.Engine = EngineLlamaCpp
	if strings.Contains(info.RunnerCmd, " --ollama-engine") {
		info.Engine = EngineOllama
	}
	rest := log[start:]

	if m := reLoadRequest.FindStringSubmatch(rest); m != nil {
		for _, field := range strings.Fields(m[1]) {
			k, v, ok := strings.Cut(field, ":")
			if !ok {
				continue
			}
			switch k {
			case "FlashAttention":
				info.FlashAttention = v
			case "UseMmap":
				info.UseMmap = v
			case "KvCacheType":
				info.KvCacheType = v
			case "NumThreads", "KvSize", "BatchSize", "Parallel":
				n, err := strconv.Atoi(v)
				if err != nil {
					return info, fmt.Errorf("ollamapeer: load request field %s=%q: %w", k, v, err)
				}
				switch k {
				case "NumThreads":
					info.NumThreads = n
				case "KvSize":
					info.KvSize = n
				case "BatchSize":
					info.BatchSize = n
				case "Parallel":
					info.Parallel = n
				}
			}
		}
	}
	if m := reFAResolved.FindStringSubmatch(rest); m != nil {
		info.FlashAttentionResolved = m[1]
	}
	if m := reLlamaMmap.FindStringSubmatch(rest); m != nil {
		info.LlamaMmap = m[1]
	}
	return info, nil
}
