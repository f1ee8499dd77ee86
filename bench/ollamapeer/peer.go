// Package ollamapeer runs a stock `ollama serve`, built from the ollama
// version pinned in our go.mod, as the reference our benchmark compares the
// in-process reader with: same GGUF file, same thread count, same context
// size.
//
// Facts about ollama v0.17.4 that matter for a fair comparison (see
// llm/server.go):
//
//   - Runner: architectures listed in ggml.KV.OllamaEngineRequired (gemma3,
//     qwen3, llama4, ...) run on ollama's own Go engine ("ollama runner
//     --ollama-engine"); everything else, including "llama", runs on the
//     llama.cpp runner ("ollama runner", package runner/llamarunner), unless
//     OLLAMA_NEW_ENGINE=1 is set. RunnerInfo reads which one a log shows.
//   - Flash attention: unless OLLAMA_FLASH_ATTENTION is set, the llama.cpp
//     runner passes "auto" to llama.cpp (llama.cpp then decides per device),
//     and the Go engine enables it only for the architectures in
//     ggml.GGML.FlashAttention.
//   - mmap: with no GPU, and no use_mmap option, weights are loaded without
//     mmap (LoadRequest.UseMmap = false).
//   - The runner keeps the KV of the previous prompt per slot and evaluates
//     only the part of a new prompt that differs. The llama.cpp runner still
//     reports every prompt token in prompt_eval_count, while
//     prompt_eval_duration covers only the evaluated ones, so PrefillTPS is
//     inflated for a prompt that shares a prefix with the previous one:
//     measure prefill with prompts that differ from the first token on.
//   - `go build` of ollama compiles the ggml CPU backend in through cgo, with
//     ggml's cgo flags (no -march): the same code our reader links, unlike
//     the release binaries' per-CPU-variant backends.
//
// Start passes its own environment on to `ollama serve`, with the
// KEY=VALUE entries of its env argument on top, so callers can set
// OLLAMA_FLASH_ATTENTION, OLLAMA_NEW_ENGINE, OLLAMA_NUM_PARALLEL,
// OLLAMA_KEEP_ALIVE and the like for one peer.
//
// Create imports a GGUF with ollama's defaults; CreateWith bakes a template
// and parameters into the model, for clients that send only a prompt (such
// as Weaviate's generative-ollama module, which sends model, prompt, stream
// and at most a temperature).
package ollamapeer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// startTimeout bounds how long Start waits for the server to answer,
	// in addition to the caller's context.
	startTimeout = 2 * time.Minute
	// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
	stopGrace = 10 * time.Second
	// ollamaPkg is the main package of ollama.
	ollamaPkg = "github.com/ollama/ollama"
)

// Peer is a running `ollama serve`.
type Peer struct {
	// URL is the server's base URL, http://127.0.0.1:<port>.
	URL string
	// Binary, ModelsDir and LogPath are the arguments given to Start.
	Binary, ModelsDir, LogPath string

	cmd     *exec.Cmd
	logFile *os.File
	client  *http.Client

	done    chan struct{} // closed when the process has exited
	waitErr error         // cmd.Wait's result, valid after done

	stopOnce sync.Once
	stopErr  error
}

// Build builds the ollama binary to out with `go build -o out
// github.com/ollama/ollama`, inside the Go module that contains the current
// working directory, so that the ollama version pinned in that module's
// go.mod applies (run it from within generative-asmr).
//
// Nothing in our module imports ollama's main package, so `go mod tidy`
// drops the go.sum lines its dependencies need. Build therefore works on a
// temporary copy of go.mod and go.sum (-modfile, -mod=mod): the pinned
// versions apply, missing checksums are added to the copy only, and the
// repository's go.mod and go.sum are never written.
//
// It needs cgo and the C headers our Makefile installs (nlohmann-json3-dev,
// libstb-dev, miniaudio/miniaudio.h). The environment, CGO_* flags included,
// is passed through; keep those identical to the rest of the build to reuse
// its cache. Cold, the build takes minutes on 2 cores.
func Build(ctx context.Context, out string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("ollamapeer: build: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return fmt.Errorf("ollamapeer: build: output directory: %w", err)
	}
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("ollamapeer: build: go env GOMOD: %w", err)
	}
	modFile := strings.TrimSpace(string(gomod))
	if modFile == "" || modFile == os.DevNull {
		return errors.New("ollamapeer: build: the working directory is not inside a Go module; run from within the generative-asmr module so that its go.mod pins the ollama version")
	}
	tmp, err := os.MkdirTemp("", "ollamapeer-build-")
	if err != nil {
		return fmt.Errorf("ollamapeer: build: %w", err)
	}
	defer os.RemoveAll(tmp)
	tmpMod := filepath.Join(tmp, "go.mod")
	if err := copyFile(modFile, tmpMod); err != nil {
		return fmt.Errorf("ollamapeer: build: copying go.mod: %w", err)
	}
	sum := strings.TrimSuffix(modFile, ".mod") + ".sum"
	if err := copyFile(sum, filepath.Join(tmp, "go.sum")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("ollamapeer: build: copying go.sum: %w", err)
	}

	cmd := exec.CommandContext(ctx, "go", "build", "-modfile="+tmpMod, "-mod=mod", "-o", abs, ollamaPkg)
	cmd.Dir = filepath.Dir(modFile)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ollamapeer: go build %s in %s failed after %s: %w\n%s",
			ollamaPkg, cmd.Dir, time.Since(start).Round(time.Second), err, tail(buf.Bytes(), 4096))
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// Start starts `binary serve` on a free loopback port (OLLAMA_HOST), with
// OLLAMA_MODELS = modelsDir, OLLAMA_NOPRUNE=1 (never delete blobs from that
// store) and its stdout and stderr written to logPath, and waits until GET /
// answers. env (KEY=VALUE entries) is added to this process's environment;
// it cannot change the three variables above. The server runs until Stop,
// independently of ctx, which bounds only the wait.
func Start(ctx context.Context, binary, modelsDir string, logPath string, env ...string) (*Peer, error) {
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("ollamapeer: start: environment entry %q: want KEY=VALUE", kv)
		}
	}
	bin, err := filepath.Abs(binary)
	if err != nil {
		return nil, fmt.Errorf("ollamapeer: start: %w", err)
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("ollamapeer: start: ollama binary: %w (build it with ollamapeer.Build)", err)
	}
	models, err := filepath.Abs(modelsDir)
	if err != nil {
		return nil, fmt.Errorf("ollamapeer: start: %w", err)
	}
	if err := os.MkdirAll(models, 0o755); err != nil {
		return nil, fmt.Errorf("ollamapeer: start: models dir: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("ollamapeer: start: finding a free port: %w", err)
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ollamapeer: start: log file: %w", err)
	}

	host := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "serve")
	// exec.Cmd uses the last value of a repeated key: the peer's own win.
	cmd.Env = append(append(os.Environ(), env...),
		"OLLAMA_HOST="+host,
		"OLLAMA_MODELS="+models,
		"OLLAMA_NOPRUNE=1",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("ollamapeer: start %s serve: %w", bin, err)
	}

	p := &Peer{
		URL:       "http://" + host,
		Binary:    bin,
		ModelsDir: models,
		LogPath:   logPath,
		cmd:       cmd,
		logFile:   logFile,
		client:    &http.Client{},
		done:      make(chan struct{}),
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()

	if err := p.waitReady(ctx); err != nil {
		_ = p.Stop()
		return nil, fmt.Errorf("ollamapeer: %w\n--- tail of %s ---\n%s", err, logPath, p.logTail(4096))
	}
	return p, nil
}

// waitReady polls GET / until the server answers 200.
func (p *Peer) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/", nil)
		if err != nil {
			return err
		}
		if resp, err := p.client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("ollama serve exited before it answered on %s: %v", p.URL, p.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("ollama serve did not answer GET %s/ within %s: %w", p.URL, time.Since(start).Round(time.Millisecond), ctx.Err())
		case <-tick.C:
		}
	}
}

// PID returns the process id of `ollama serve`.
func (p *Peer) PID() int { return p.cmd.Process.Pid }

// Log returns the server log written so far.
func (p *Peer) Log() (string, error) {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return "", fmt.Errorf("ollamapeer: reading log: %w", err)
	}
	return string(b), nil
}

// Stop stops the server: SIGTERM (ollama then unloads its runners), SIGKILL
// to its process group after a grace period, and waits for it to exit. It is
// idempotent. It reports an error if the server had already exited on its
// own before Stop.
func (p *Peer) Stop() error {
	p.stopOnce.Do(func() {
		defer p.logFile.Close()
		select {
		case <-p.done:
			p.stopErr = fmt.Errorf("ollamapeer: ollama serve (pid %d) had exited before Stop: %v", p.PID(), p.waitErr)
			killProcessGroup(p.cmd)
			return
		default:
		}
		if err := terminate(p.cmd); err != nil {
			select {
			case <-p.done: // exited meanwhile
			default:
				p.stopErr = fmt.Errorf("ollamapeer: SIGTERM to pid %d: %w", p.PID(), err)
			}
		}
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			killProcessGroup(p.cmd)
			<-p.done
		}
		// Runners are children of the server, in its process group; make sure
		// none outlives it.
		killProcessGroup(p.cmd)
	})
	return p.stopErr
}

// Create imports the GGUF file ggufPath as model name, the way `ollama create
// name -f Modelfile` with "FROM <ggufPath>" does in v0.17.4 (cmd/cmd.go,
// parser.CreateRequest): upload the file as a blob (POST /api/blobs/<digest>,
// skipped if HEAD finds it), then POST /api/create with files = {<base
// name>: <digest>}. No template is set: the model gets the GGUF's chat
// template if it has one, otherwise ollama's default; Generate uses raw mode,
// which bypasses the template anyway.
func (p *Peer) Create(ctx context.Context, name, ggufPath string) error {
	return p.CreateWith(ctx, name, ggufPath, Modelfile{})
}

// Modelfile is what CreateWith bakes into a model besides its GGUF, as a
// Modelfile's TEMPLATE and PARAMETER lines would.
type Modelfile struct {
	// Template is the prompt template (Go template syntax, as in a
	// Modelfile's TEMPLATE); "{{ .Prompt }}" sends the prompt as it is.
	// Empty: the GGUF's chat template, or ollama's default.
	Template string
	// Parameters are the model's default options, by their API names:
	// num_ctx, num_thread, temperature, num_predict, stop ([]string) and
	// the like. A request's own options override them. ollama v0.17.4
	// stores them as given and, when it loads them, ignores a name it does
	// not know with an "invalid option provided" warning in its log.
	Parameters map[string]any
}

// CreateWith is Create with the template and parameters of mf, sent as
// /api/create's "template" and "parameters" (ollama v0.17.4,
// api.CreateRequest).
func (p *Peer) CreateWith(ctx context.Context, name, ggufPath string, mf Modelfile) error {
	digest, size, err := fileDigest(ggufPath)
	if err != nil {
		return fmt.Errorf("ollamapeer: create %s: %w", name, err)
	}
	blobURL := p.URL + "/api/blobs/" + digest
	head, err := http.NewRequestWithContext(ctx, http.MethodHead, blobURL, nil)
	if err != nil {
		return fmt.Errorf("ollamapeer: create %s: %w", name, err)
	}
	resp, err := p.client.Do(head)
	if err != nil {
		return fmt.Errorf("ollamapeer: create %s: HEAD blob: %w", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		f, err := os.Open(ggufPath)
		if err != nil {
			return fmt.Errorf("ollamapeer: create %s: %w", name, err)
		}
		defer f.Close()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, blobURL, f)
		if err != nil {
			return fmt.Errorf("ollamapeer: create %s: %w", name, err)
		}
		req.ContentLength = size
		if err := p.do(req, nil); err != nil {
			return fmt.Errorf("ollamapeer: create %s: uploading %s: %w", name, ggufPath, err)
		}
	}

	body := map[string]any{
		"model":  name,
		"files":  map[string]string{filepath.Base(ggufPath): digest},
		"stream": false,
	}
	if mf.Template != "" {
		body["template"] = mf.Template
	}
	if len(mf.Parameters) > 0 {
		body["parameters"] = mf.Parameters
	}
	var out struct {
		Status string `json:"status"`
	}
	if err := p.postJSON(ctx, "/api/create", body, &out); err != nil {
		return fmt.Errorf("ollamapeer: create %s from %s: %w", name, ggufPath, err)
	}
	if out.Status != "success" {
		return fmt.Errorf("ollamapeer: create %s from %s: final status %q, want \"success\"", name, ggufPath, out.Status)
	}
	return nil
}

// Timing is the server's own measurement of one generation.
type Timing struct {
	PromptTokens int           // prompt_eval_count: prompt tokens (llama.cpp runner: cached ones included)
	PromptDur    time.Duration // prompt_eval_duration: time spent evaluating the uncached prompt tokens
	EvalTokens   int           // eval_count: tokens generated
	EvalDur      time.Duration // eval_duration
	LoadDur      time.Duration // load_duration (model load, if this request loaded it)
	TotalDur     time.Duration // total_duration
	Response     string        // the generated text
}

// PrefillTPS returns prompt tokens per second, 0 if unmeasured.
func (t Timing) PrefillTPS() float64 { return perSecond(t.PromptTokens, t.PromptDur) }

// DecodeTPS returns generated tokens per second, 0 if unmeasured.
func (t Timing) DecodeTPS() float64 { return perSecond(t.EvalTokens, t.EvalDur) }

func perSecond(n int, d time.Duration) float64 {
	if n <= 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// KeepAlive is the keep_alive Generate sends: the model stays loaded until
// the server stops.
const KeepAlive = "24h"

// Generate runs one non-streaming, raw (no template) generation of up to
// numPredict tokens with num_thread = threads, num_ctx = numCtx, temperature
// 0, seed 0 and no repeat penalty, and returns the server's timings. Note that ollama clamps
// num_ctx to the model's training context and num_batch (512) to num_ctx.
func (p *Peer) Generate(ctx context.Context, name, prompt string, numPredict, threads, numCtx int) (Timing, error) {
	// Greedy with no repeat penalty (ollama's default is 1.1), like our
	// reader's defaults, so both pick the same tokens.
	opts := map[string]any{
		"temperature":    0,
		"seed":           0,
		"repeat_penalty": 1,
	}
	if numPredict != 0 {
		opts["num_predict"] = numPredict
	}
	if threads > 0 {
		opts["num_thread"] = threads
	}
	if numCtx > 0 {
		opts["num_ctx"] = numCtx
	}
	body := map[string]any{
		"model":      name,
		"prompt":     prompt,
		"raw":        true,
		"stream":     false,
		"keep_alive": KeepAlive,
		"options":    opts,
	}
	var out struct {
		Response           string `json:"response"`
		Done               bool   `json:"done"`
		DoneReason         string `json:"done_reason"`
		TotalDuration      int64  `json:"total_duration"`
		LoadDuration       int64  `json:"load_duration"`
		PromptEvalCount    int    `json:"prompt_eval_count"`
		PromptEvalDuration int64  `json:"prompt_eval_duration"`
		EvalCount          int    `json:"eval_count"`
		EvalDuration       int64  `json:"eval_duration"`
	}
	if err := p.postJSON(ctx, "/api/generate", body, &out); err != nil {
		return Timing{}, fmt.Errorf("ollamapeer: generate with %s: %w", name, err)
	}
	if !out.Done {
		return Timing{}, fmt.Errorf("ollamapeer: generate with %s: response not done (done_reason %q)", name, out.DoneReason)
	}
	return Timing{
		PromptTokens: out.PromptEvalCount,
		PromptDur:    time.Duration(out.PromptEvalDuration),
		EvalTokens:   out.EvalCount,
		EvalDur:      time.Duration(out.EvalDuration),
		LoadDur:      time.Duration(out.LoadDuration),
		TotalDur:     time.Duration(out.TotalDuration),
		Response:     out.Response,
	}, nil
}

func (p *Peer) postJSON(ctx context.Context, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return p.do(req, out)
}

// do sends req and decodes a JSON answer into out (if not nil). Non-2xx
// answers become errors carrying ollama's {"error": ...} message.
func (p *Peer) do(req *http.Request, out any) error {
	resp, err := p.client.Do(req)
	if err != nil {
		select {
		case <-p.done:
			return fmt.Errorf("%s %s: %w (ollama serve has exited: %v; see %s)", req.Method, req.URL.Path, err, p.waitErr, p.LogPath)
		default:
		}
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading answer: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return fmt.Errorf("%s %s: %s: %s (server log: %s)", req.Method, req.URL.Path, resp.Status, msg, p.LogPath)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decoding answer %q: %w", req.Method, req.URL.Path, tail(b, 512), err)
	}
	return nil
}

// logTail returns at most n bytes from the end of the log.
func (p *Peer) logTail(n int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	return tail(b, n)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
			b = b[i+1:]
		}
		return "..." + string(b)
	}
	return string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// fileDigest returns "sha256:<hex>" and the size of the file.
func fileDigest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hashing %s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), n, nil
}
