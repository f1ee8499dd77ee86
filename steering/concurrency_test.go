package steering

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

func TestSlotsRunConcurrently(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	m := load(t, writeModel(t, spec, nil), Options{Slots: 2, Threads: 1})
	prompts := []string{"one", "deux", "drei", "quattro", "五", "six"}
	want := make([]string, len(prompts))
	for i, p := range prompts {
		r, err := m.Generate(context.Background(), p, Params{MaxTokens: 12})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = r.Text
	}
	var wg sync.WaitGroup
	got := make([]string, len(prompts))
	errs := make([]error, len(prompts))
	for i, p := range prompts {
		wg.Go(func() {
			r, err := m.Generate(context.Background(), p, Params{MaxTokens: 12})
			errs[i] = err
			if err == nil {
				got[i] = r.Text
			}
		})
	}
	wg.Wait()
	for i := range prompts {
		if errs[i] != nil || got[i] != want[i] {
			t.Errorf("prompt %q: concurrent %q (%v), sequential %q", prompts[i], got[i], errs[i], want[i])
		}
	}
}

func TestCancellationStopsBetweenTokens(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	spec.ContextLength = 4096
	w := testmodel.Random(spec)
	noEOS(spec, w)
	m := load(t, writeModel(t, spec, w), Options{ContextSize: 4096, Slots: 1})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Generate(ctx, "abc", Params{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before start: err = %v", err)
	}

	// A generation that would fill a 4096-token context is cancelled after
	// its third token, observed through OnToken: it must stop before the
	// fourth, with what it had. No wall clock is involved.
	const stopAfter = 3
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	r, err := m.Generate(ctx, "abc", Params{MaxTokens: -1, Raw: true, OnToken: func(n int) {
		if n == stopAfter {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || r == nil || r.StopReason != StopCancelled {
		t.Fatalf("cancelled run: err %v, result %+v", err, r)
	}
	if r.CompletionTokens != stopAfter {
		t.Fatalf("cancelled after token %d, the run made %d tokens: it did not stop between tokens", stopAfter, r.CompletionTokens)
	}
	// What it returned is what an uncancelled run of that length says.
	full, err := m.Generate(context.Background(), "abc", Params{MaxTokens: r.CompletionTokens, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	if full.Text != r.Text {
		t.Fatalf("cancelled run said %q, a run of %d tokens %q", r.Text, r.CompletionTokens, full.Text)
	}
	// The slot is free again.
	if _, err := m.Generate(context.Background(), "abc", Params{MaxTokens: 2}); err != nil {
		t.Fatalf("after cancellation: %v", err)
	}
}

// Close during a generation ends it at its next token (the caller gets
// ErrClosed) and returns; calls waiting for the slot get ErrClosed too.
func TestCloseDuringGeneration(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	spec.ContextLength = 4096
	w := testmodel.Random(spec)
	noEOS(spec, w)
	m, err := Load(writeModel(t, spec, w), Options{ContextSize: 4096, Slots: 1, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	var once sync.Once
	type outcome struct {
		r   *Result
		err error
	}
	running := make(chan outcome, 1)
	go func() {
		r, err := m.Generate(context.Background(), "abc", Params{MaxTokens: -1, Raw: true, OnToken: func(int) { once.Do(func() { close(started) }) }})
		running <- outcome{r, err}
	}()
	<-started
	// A second caller waits for the only slot.
	waiting := make(chan error, 1)
	go func() {
		_, err := m.Generate(context.Background(), "x", Params{MaxTokens: 2})
		waiting <- err
	}()
	m.Close() // must return: it used to wait forever for the busy slot
	got := <-running
	if !errors.Is(got.err, ErrClosed) || got.r == nil || got.r.StopReason != StopCancelled {
		t.Fatalf("generation during Close: %+v, %v; want stopped with ErrClosed", got.r, got.err)
	}
	if got.r.PromptTokens+got.r.CompletionTokens >= 4096 {
		t.Fatalf("the generation ran to the end of the context (%d tokens) instead of stopping", got.r.CompletionTokens)
	}
	if err := <-waiting; !errors.Is(err, ErrClosed) {
		t.Fatalf("waiting caller: %v, want ErrClosed", err)
	}
	if _, err := m.Generate(context.Background(), "x", Params{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	m.Close() // twice is fine
}

// Close while a capture runs waits for it (the capture context is not a
// slot, and freed weights under it would crash), and later calls get
// ErrClosed.
func TestCloseDuringCapture(t *testing.T) {
	spec := tinySpec(testmodel.F32)
	m, err := Load(writeModel(t, spec, nil), Options{ContextSize: 256, Threads: 2, CaptureSequences: 1})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := m.Tokenize(testPrompt)
	if err != nil {
		t.Fatal(err)
	}
	prompts := make([][]int, 40)
	for i := range prompts {
		prompts[i] = toks
	}
	started := make(chan struct{})
	var once sync.Once
	var finished atomic.Int64 // prompts the capture had finished, as its progress said
	done := make(chan error, 1)
	go func() {
		acts, err := m.CaptureTokens(context.Background(), prompts, nil, func(n int) {
			finished.Store(int64(n))
			once.Do(func() { close(started) })
		})
		if err == nil && len(acts) != len(prompts) {
			err = errors.New("capture returned too few activations")
		}
		done <- err
	}()
	<-started
	m.Close()
	if n := finished.Load(); n != int64(len(prompts)) {
		t.Fatalf("Close returned when the capture had finished %d of %d prompts", n, len(prompts))
	}
	if err := <-done; err != nil {
		t.Fatalf("capture during Close: %v", err)
	}
	if _, err := m.CaptureTokens(context.Background(), prompts[:1], nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("capture after Close: %v", err)
	}
}
