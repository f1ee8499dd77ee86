package ollamapeer

import "testing"

// An excerpt of a real `ollama serve` v0.17.4 log (CPU only, llama model).
const sampleLog = `time=2026-11-25T12:29:03.900Z level=INFO source=server.go:431 msg="starting runner" cmd="/tmp/ollama runner --ollama-engine --port 36519"
time=2026-11-25T12:29:04.488Z level=INFO source=server.go:431 msg="starting runner" cmd="/tmp/ollama-peer/ollama runner --model /tmp/models/blobs/sha256-81f2 --port 43323"
time=2026-11-25T12:29:04.503Z level=INFO source=runner.go:965 msg="starting go runner"
time=2026-11-25T12:29:04.513Z level=INFO source=runner.go:895 msg=load request="{Operation:commit LoraPath:[] Parallel:1 BatchSize:512 FlashAttention:Auto KvSize:512 KvCacheType: NumThreads:2 GPULayers:[] MultiUserCache:false ProjectorPath: MainGPU:0 UseMmap:false}"
load_tensors: loading model tensors, this can take a while... (mmap = false)
llama_context: flash_attn    = auto
llama_context: Flash Attention was auto, set to enabled
`

func TestParseRunnerInfo(t *testing.T) {
	got, err := ParseRunnerInfo(sampleLog)
	if err != nil {
		t.Fatal(err)
	}
	want := RunnerInfo{
		Engine:                 EngineLlamaCpp,
		RunnerCmd:              "/tmp/ollama-peer/ollama runner --model /tmp/models/blobs/sha256-81f2 --port 43323",
		FlashAttention:         "Auto",
		UseMmap:                "false",
		NumThreads:             2,
		KvSize:                 512,
		BatchSize:              512,
		Parallel:               1,
		FlashAttentionResolved: "enabled",
		LlamaMmap:              "false",
	}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	got, err = ParseRunnerInfo(`msg="starting runner" cmd="/x/ollama runner --ollama-engine --model /m --port 1"` + "\n" +
		`msg=load request="{Operation:commit Parallel:1 BatchSize:512 FlashAttention:Enabled KvSize:4096 KvCacheType:q8_0 NumThreads:4 UseMmap:false}"`)
	if err != nil {
		t.Fatal(err)
	}
	if got.Engine != EngineOllama || got.FlashAttention != "Enabled" || got.KvCacheType != "q8_0" || got.NumThreads != 4 {
		t.Errorf("ollama engine: got %+v", got)
	}

	if _, err := ParseRunnerInfo(`msg="starting runner" cmd="/x/ollama runner --ollama-engine --port 1"`); err == nil {
		t.Error("a discovery runner alone was taken for a model runner")
	}
}
