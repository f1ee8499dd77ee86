package serving

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
)

// tokenCount is what the counting proxy saw of /api/generate answers.
type tokenCount struct {
	// Generations answered (2xx, done), with their prompt_eval_count and
	// eval_count summed; Errors: answers that were not (non-2xx, an
	// "error" field, or an answer that does not decode).
	Generations, PromptTokens, EvalTokens, Errors int
}

func (c tokenCount) minus(o tokenCount) tokenCount {
	return tokenCount{c.Generations - o.Generations, c.PromptTokens - o.PromptTokens, c.EvalTokens - o.EvalTokens, c.Errors - o.Errors}
}

// countingProxy is a reverse proxy between Weaviate's generative-ollama
// module and `ollama serve` that reads prompt_eval_count and eval_count
// from every /api/generate answer (generative-ollama reads neither) and
// passes the answer on unchanged.
type countingProxy struct {
	URL string // http://127.0.0.1:<port>

	srv *http.Server
	mu  sync.Mutex
	n   tokenCount
}

// startProxy serves a counting proxy to target on a free loopback port.
func startProxy(target string) (*countingProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &countingProxy{URL: "http://" + ln.Addr().String()}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error {
		if r.Request.URL.Path != "/api/generate" {
			return nil
		}
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(b))
		p.count(r.StatusCode, b, err)
		return nil
	}
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if r.URL.Path == "/api/generate" {
			p.count(0, nil, err)
		}
		w.WriteHeader(http.StatusBadGateway)
		json.NewEncoder(w).Encode(map[string]string{"error": "counting proxy: " + err.Error()})
	}
	p.srv = &http.Server{Handler: rp}
	go p.srv.Serve(ln)
	return p, nil
}

// count adds one /api/generate answer: a JSON object, or with stream on,
// a line of JSON per chunk, the last one done and carrying the counts.
func (p *countingProxy) count(status int, body []byte, readErr error) {
	ok := readErr == nil && status/100 == 2
	var prompt, eval int
	done := false
	if ok {
		dec := json.NewDecoder(bytes.NewReader(body))
		for {
			var a struct {
				Done            bool   `json:"done"`
				Error           string `json:"error"`
				PromptEvalCount int    `json:"prompt_eval_count"`
				EvalCount       int    `json:"eval_count"`
			}
			err := dec.Decode(&a)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil || a.Error != "" {
				ok = false
				break
			}
			if a.Done {
				done, prompt, eval = true, a.PromptEvalCount, a.EvalCount
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !ok || !done {
		p.n.Errors++
		return
	}
	p.n.Generations++
	p.n.PromptTokens += prompt
	p.n.EvalTokens += eval
}

// counts returns the totals so far.
func (p *countingProxy) counts() tokenCount {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (p *countingProxy) Close() error { return p.srv.Close() }
