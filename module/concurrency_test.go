package module

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/config"
)

// longRun starts a generation that runs for minutes on the tiny model
// unless cancelled, and waits until it holds its model's admission.
func longRun(t *testing.T, m *Module, ctx context.Context) <-chan error {
	t.Helper()
	e := m.generative.models["tiny"]
	before := len(e.admit)
	done := make(chan error, 1)
	go func() {
		_, err := client(m).GenerateSingleResult(ctx, props("title", "x"), "Tell a very long story about {title}.",
			Params{Options: config.Options{MaxTokens: intp(3000)}}, false, classConfig{})
		done <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for len(e.admit) == before {
		if time.Now().After(deadline) {
			t.Fatal("long generation never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return done
}

const bigContext = `
models:
  tiny:
    path: %s
    threads: 2
    contextSize: 4096
    slots: 1
`

func TestQueueOverflowIsImmediateAndCancellationFreesTheSlot(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, sprintfModel(t, bigContext), defaultRest+"limits: {queueLength: 1}\n"))

	// A holds the only slot.
	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	doneA := longRun(t, m, ctxA)

	// B waits in the queue (its one place).
	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	doneB := longRun(t, m, ctxB)

	// C finds slots and queue full: an error at once, not a wait. It
	// returns while A and B still hold both places, so it waited for
	// neither.
	e := m.generative.models["tiny"]
	_, err := single(t, m, "hello", nil, classConfig{})
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("overflow: %v", err)
	}
	if n := len(e.admit); n != 2 {
		t.Errorf("overflow returned with %d admission places held, want 2 (A running, B queued)", n)
	}
	select {
	case err := <-doneA:
		t.Fatalf("A ended before the overflow was answered (%v): the test proves nothing", err)
	default:
	}
	mustContain(t, "busy error", err.Error(), `model "tiny" has 1 generation slots busy and 1 requests waiting`, "limits.queueLength", config.EnvQueueLength)

	// Cancelling the waiting B returns at once, with the client's cancellation.
	cancelB()
	select {
	case err := <-doneB:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cancelled by the client") {
			t.Errorf("cancelled waiter: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled waiter did not return")
	}
	// Cancelling the running A stops it between tokens.
	cancelA()
	select {
	case err := <-doneA:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled generation: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelled generation did not stop")
	}
	// Slot and queue places are free again.
	if n := len(m.generative.models["tiny"].admit); n != 0 {
		t.Errorf("%d admission places still held", n)
	}
	if _, err := single(t, m, "hello", nil, classConfig{}); err != nil {
		t.Errorf("after cancellations: %v", err)
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, "", defaultRest))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := client(m).GenerateSingleResult(ctx, props("title", "x"), "hi {title}", nil, false, classConfig{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("pre-cancelled: %v", err)
	}
	if _, err := single(t, m, "hello", nil, classConfig{}); err != nil {
		t.Errorf("after: %v", err)
	}
}

func TestRequestTimeout(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, sprintfModel(t, bigContext), defaultRest+"limits: {requestTimeout: 300ms}\n"))
	_, err := client(m).GenerateSingleResult(context.Background(), props("title", "x"), "Tell a long story about {title}.",
		Params{Options: config.Options{MaxTokens: intp(3000)}}, false, classConfig{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}
	mustContain(t, "timeout error", err.Error(), "longer than 300ms", "limits.requestTimeout", config.EnvRequestTimeout)
}

func TestConcurrentRequestsShareOneModel(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, "", defaultRest))
	want, err := single(t, m, "Who invented {title}?", nil, classConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// As Weaviate's singleResult fan-out does: several at once, one slot.
	errs := make(chan error, 6)
	for range 6 {
		go func() {
			r, err := single(t, m, "Who invented {title}?", nil, classConfig{})
			if err == nil && *r.Result != *want.Result {
				err = errors.New("different answer under concurrency: " + *r.Result)
			}
			errs <- err
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// sprintfModel fills a models: section template with the tiny model's path.
func sprintfModel(t *testing.T, tmpl string) string {
	return fmt.Sprintf(tmpl, filepath.Join(testModels(t), "tiny.gguf"))
}
