//go:build e2e

package integration_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestModuleLimits checks the module's protection of the server under
// load, on a real weaviate-asmr: a full queue answers "busy" at once, and a
// client that goes away frees its generation slot.
//
// Two model entries share one GGUF (8 layers, n_embd 512, Q4_0): "slow"
// with 2 slots of 1 thread for the queue, and "slow1" with 1 slot, 1
// thread and a 32768-token context for cancellation (a generation of 32000
// tokens there takes minutes). limits.queueLength is 2, so "slow" admits 4
// requests and "slow1" 3. (1 thread per slot: slots x threads above the
// cores, the polling threadpools of the slots slow each other down by an
// order of magnitude on this 2-core machine.)
func TestModuleLimits(t *testing.T) {
	skipShort(t)
	begin := time.Now()
	dir := t.TempDir()
	writeModel(t, filepath.Join(dir, "slow.gguf"), slowSpec())
	ops := writeOps(t, dir, `# written by TestModuleLimits
models:
  slow:
    path: slow.gguf
    threads: 1
    contextSize: 2048
    slots: 2
  slow1:
    path: slow.gguf
    threads: 1
    contextSize: 32768
    slots: 1
defaults:
  model: slow
  maxTokens: 64
limits:
  queueLength: 2
  requestTimeout: 90s
languages: [en, de]
languageDetection:
  accuracy: low
`)
	s := StartServer(t, asmrEnv(ops))
	waitModelsLoaded(t, s, "slow", "slow1")
	s.CreateClass(t, map[string]any{
		"class":        "Load",
		"properties":   []map[string]any{{"name": "title", "dataType": []string{"text"}}},
		"vectorConfig": map[string]any{"default": map[string]any{"vectorizer": map[string]any{"none": map[string]any{}}, "vectorIndexType": "hnsw"}},
		"moduleConfig": map[string]any{"generative-asmr": map[string]any{}},
	})
	s.BatchObjects(t, []map[string]any{{
		"class": "Load", "properties": map[string]any{"title": "the telephone"},
		"vectors": map[string]any{"default": []float32{1, 0}},
	}})

	// One generation of 64 tokens on slow1, for the speed of this machine.
	objs := generate(t, s, "Load", genQuery("Load", "limit: 1", `singleResult: {prompt: "Tell me about {title}.", asmr: {model: "slow1"}}`))
	if len(objs) != 1 || objs[0].Error != nil {
		t.Fatalf("warm-up: %+v", objs)
	}
	tokPerSec := objs[0].num("completionTokens") / (objs[0].num("decodeMs") / 1000)
	t.Logf("slow1: %.0f tokens/s decoding at the start of the context (64 tokens in %.0f ms); ready after %v", tokPerSec, objs[0].num("decodeMs"), time.Since(begin).Round(100*time.Millisecond))

	t.Run("queue overflow", func(t *testing.T) {
		const n = 32
		query := genQuery("Load", "limit: 1", `singleResult: {prompt: "Tell me about {title}.", asmr: {maxTokens: 300}}`)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		type outcome struct {
			answer, err string
			took        time.Duration
			decodeMs    float64
		}
		results := make([]outcome, n)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				r, err := postGraphQL(ctx, s, query)
				results[i].took = time.Since(t0)
				switch {
				case err != nil:
					results[i].err = "transport: " + err.Error()
				case len(r.Errors) > 0:
					results[i].err = "graphql: " + r.ErrorMessages()
				default:
					o, err := decodeGenerate(r.Data, "Load")
					if err != nil {
						results[i].err = err.Error()
					} else if len(o) != 1 {
						results[i].err = fmt.Sprintf("%d objects", len(o))
					} else if o[0].Error != nil {
						results[i].err = o[0].err()
					} else {
						results[i].answer = o[0].single()
						results[i].decodeMs = o[0].num("decodeMs")
					}
				}
			}()
		}
		wg.Wait()
		took := time.Since(start)
		answered, busy := 0, 0
		var longestBusy time.Duration
		for i, r := range results {
			switch {
			case r.err == "" && r.answer != "":
				answered++
				t.Logf("query %d answered in %v (decodeMs %.0f)", i, r.took.Round(time.Millisecond), r.decodeMs)
			case strings.Contains(r.err, "generative-asmr:") && strings.Contains(r.err, "is busy") && strings.Contains(r.err, "limits.queueLength 2"):
				busy++
				longestBusy = max(longestBusy, r.took)
				requireCleanError(t, r.err)
			default:
				t.Errorf("query %d: neither an answer nor a clean busy error: answer %q, error %q", i, r.answer, r.err)
			}
		}
		t.Logf("%d concurrent queries in %v: %d answered, %d busy (slowest busy reply %v)", n, took.Round(10*time.Millisecond), answered, busy, longestBusy.Round(time.Millisecond))
		// 2 slots + 2 waiting: at least the 2 slots answer, and more than
		// 4 at once cannot all be admitted.
		if answered < 2 || busy < 1 {
			t.Errorf("answered %d, busy %d: want at least 2 answers and at least 1 busy error", answered, busy)
		}
		if answered+busy == n {
			for _, r := range results {
				if strings.Contains(r.err, "is busy") {
					t.Logf("a busy error: %s", r.err)
					break
				}
			}
		}
		if ctx.Err() != nil {
			t.Errorf("queries were still running after 3 minutes")
		}
		requireReady(t, s)
	})

	t.Run("cancellation frees the slot", func(t *testing.T) {
		// A generation of up to 32000 tokens on the one-slot model. At the
		// speed measured at the start of the context it would take at least
		// minTime; attention over the growing context makes it far longer.
		long := genQuery("Load", "limit: 1", `singleResult: {prompt: "Tell me about {title}.", asmr: {model: "slow1", maxTokens: 32000}}`)
		minTime := time.Duration(32000 / tokPerSec * float64(time.Second))
		// The query after the cancellation must be answered well before the
		// long generation could have ended by itself.
		bound := min(15*time.Second, minTime/3)
		t.Logf("the long generation would take more than %v; the next query must be answered within %v", minTime.Round(time.Second), bound.Round(time.Second))
		if bound < 3*time.Second {
			t.Fatalf("slow1 decodes %.0f tokens/s here: 32000 tokens take only %v, too short to tell a freed slot from a finished generation; make slowSpec larger", tokPerSec, minTime)
		}
		ctx, cancel := context.WithCancel(context.Background())
		longDone := make(chan error, 1)
		go func() {
			r, err := postGraphQL(ctx, s, long)
			if err == nil {
				err = fmt.Errorf("the long query ended without being cancelled: %+v", r)
			}
			longDone <- err
		}()
		defer cancel()

		// While it runs, a probe on the same model waits for the slot: it
		// must not get an answer within 3 s. (The probe's own client gives
		// up, which exercises cancelling while queued.)
		time.Sleep(1500 * time.Millisecond)
		probeCtx, probeCancel := context.WithTimeout(context.Background(), 3*time.Second)
		r, err := postGraphQL(probeCtx, s, genQuery("Load", "limit: 1", `singleResult: {prompt: "Hi {title}", asmr: {model: "slow1", maxTokens: 2}}`))
		probeCancel()
		if err == nil {
			t.Fatalf("the probe was answered while the long generation should hold the only slot: %+v", r)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("probe: %v", err)
		}

		cancel()
		if err := <-longDone; !errors.Is(err, context.Canceled) {
			t.Fatalf("long query: %v", err)
		}
		cancelledAt := time.Now()

		// The next query gets the slot at once: it does not wait for the
		// rest of the 32000 tokens.
		fctx, fcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer fcancel()
		r, err = postGraphQL(fctx, s, genQuery("Load", "limit: 1", `singleResult: {prompt: "Hi {title}", asmr: {model: "slow1", maxTokens: 4}}`))
		took := time.Since(cancelledAt)
		if err != nil {
			t.Fatalf("query after the cancellation: %v (after %v)", err, took)
		}
		if len(r.Errors) > 0 {
			t.Fatalf("query after the cancellation: %s", r.ErrorMessages())
		}
		o := parseGenerate(t, r.Data, "Load")
		if len(o) != 1 || o[0].Error != nil || o[0].num("completionTokens") != 4 {
			t.Fatalf("query after the cancellation: %+v", o)
		}
		t.Logf("answered %v after the cancellation (durationMs %v)", took.Round(time.Millisecond), o[0].Asmr["durationMs"])
		if took > bound {
			t.Errorf("the query after the cancellation took %v: the cancelled generation kept its slot", took)
		}
		requireReady(t, s)
		if strings.Contains(s.LogTail(200), "panic") {
			t.Errorf("the server log shows a panic:\n%s", s.LogTail(60))
		}
	})
	t.Logf("TestModuleLimits took %v", time.Since(begin).Round(100*time.Millisecond))
}
