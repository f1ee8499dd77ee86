package module

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/steering"
	"github.com/asmr-search/generative-asmr/steering/ollamastore"
)

// ErrBusy is wrapped by the error a request gets when its model's slots are
// taken and its wait queue is full. The request fails at once: a generative
// query that piles up behind minutes of generation helps nobody, and an
// immediate error tells the client to back off.
var ErrBusy = errors.New("model is busy")

// ErrModelUnavailable is wrapped by errors about a model that could not be
// loaded (missing or broken file, not in the Ollama store).
var ErrModelUnavailable = errors.New("model is unavailable")

// defaultRetryAfter is how long a failed load is remembered before the next
// request tries again: long enough that a broken multi-GB file is not read
// on every request, short enough that a model file put in place after start
// is picked up without restarting Weaviate.
const defaultRetryAfter = 30 * time.Second

// modelEntry is one configured model: loaded at most once per process and
// shared by every class, with an admission gate in front of its slots.
type modelEntry struct {
	name   string
	cfg    *config.ModelConfig
	queue  int
	logger logrus.FieldLogger
	// admit holds one token per admitted request (running or waiting for a
	// slot); its capacity is slots + queue length.
	admit      chan struct{}
	retryAfter time.Duration
	// load is steering.Load; a field so that tests can count loads.
	load func(string, steering.Options) (*steering.Model, error)

	mu       sync.Mutex
	model    *steering.Model
	identity *profile.ModelIdentity
	err      error
	failedAt time.Time
	loading  chan struct{} // non-nil while a load runs; closed when it ends
	closed   bool
}

func newModelEntry(name string, cfg *config.ModelConfig, queue int, logger logrus.FieldLogger) *modelEntry {
	return &modelEntry{
		name:       name,
		cfg:        cfg,
		queue:      queue,
		logger:     logger.WithField("model", name),
		admit:      make(chan struct{}, cfg.EffectiveSlots()+queue),
		retryAfter: defaultRetryAfter,
		load:       steering.Load,
	}
}

// steeringOptions maps the ops file's model settings to steering's.
func (e *modelEntry) steeringOptions() steering.Options {
	c := e.cfg
	return steering.Options{
		Threads:        c.Threads,
		ContextSize:    c.ContextSize,
		BatchSize:      c.BatchSize,
		GPULayers:      c.GPULayers,
		Slots:          c.EffectiveSlots(),
		Mmap:           c.Mmap,
		FlashAttention: c.FlashAttention,
		KVCacheType:    c.KVCacheType,
		ChatTemplate:   c.ChatTemplate,
		PromptCache:    c.PromptCacheEnabled(),
	}
}

// where tells an operator which setting names the model's file.
func (e *modelEntry) where() string {
	if e.cfg.Path != "" {
		return fmt.Sprintf("models.%s.path in the ops file, or %s", e.name, config.EnvModelPath)
	}
	return fmt.Sprintf("models.%s.ollama in the ops file, or %s", e.name, config.EnvOllamaModel)
}

// ggufPath finds the model's GGUF file without loading it, with an error
// that says which setting to fix.
func (e *modelEntry) ggufPath() (string, error) {
	if e.cfg.Path != "" {
		st, err := os.Stat(e.cfg.Path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return "", fmt.Errorf("%w: model %q: GGUF file %s does not exist (%s)", ErrModelUnavailable, e.name, e.cfg.Path, e.where())
		case err != nil:
			return "", fmt.Errorf("%w: model %q: %v (%s)", ErrModelUnavailable, e.name, err, e.where())
		case st.IsDir():
			return "", fmt.Errorf("%w: model %q: %s is a directory, not a GGUF file (%s)", ErrModelUnavailable, e.name, e.cfg.Path, e.where())
		}
		return e.cfg.Path, nil
	}
	m, err := ollamastore.Resolve(e.cfg.Ollama)
	if err != nil {
		return "", fmt.Errorf("%w: model %q: %v; run `ollama pull %s` on this machine or point OLLAMA_MODELS at the store (%s)",
			ErrModelUnavailable, e.name, err, e.cfg.Ollama, e.where())
	}
	return m.ModelPath, nil
}

// Identity is the model's shape and layout fingerprint, read from the GGUF
// header (milliseconds, even for large files). It is what profiles are
// checked against; a success is cached, a failure is not, so that a file
// that appears later is seen.
func (e *modelEntry) Identity() (profile.ModelIdentity, error) {
	e.mu.Lock()
	if e.identity != nil {
		id := *e.identity
		e.mu.Unlock()
		return id, nil
	}
	e.mu.Unlock()
	path, err := e.ggufPath()
	if err != nil {
		return profile.ModelIdentity{}, err
	}
	id, err := profile.ModelFingerprint(path)
	if err != nil {
		return profile.ModelIdentity{}, fmt.Errorf("%w: model %q: %v (%s)", ErrModelUnavailable, e.name, err, e.where())
	}
	e.mu.Lock()
	e.identity = &id
	e.mu.Unlock()
	return id, nil
}

// admitRequest takes a place among the running and waiting requests, or
// fails at once with ErrBusy. The returned function gives the place back.
func (e *modelEntry) admitRequest() (func(), error) {
	select {
	case e.admit <- struct{}{}:
		return func() { <-e.admit }, nil
	default:
		slots := e.cfg.EffectiveSlots()
		return nil, fmt.Errorf("%w: model %q has %d generation slots busy and %d requests waiting (limits.queueLength %d); retry later, or raise models.%s.slots (more memory) or limits.queueLength (%s)",
			ErrBusy, e.name, slots, e.queue, e.queue, e.name, config.EnvQueueLength)
	}
}

// Get returns the loaded model, loading it on first use (or joining the
// load already under way) while ctx allows. A load that failed less than
// retryAfter ago returns its error again without touching the file.
func (e *modelEntry) Get(ctx context.Context) (*steering.Model, error) {
	for {
		e.mu.Lock()
		switch {
		case e.closed:
			e.mu.Unlock()
			return nil, fmt.Errorf("model %q: %w", e.name, steering.ErrClosed)
		case e.model != nil:
			m := e.model
			e.mu.Unlock()
			return m, nil
		case e.loading == nil && e.err != nil && time.Since(e.failedAt) < e.retryAfter:
			err := e.err
			e.mu.Unlock()
			return nil, err
		case e.loading == nil:
			e.startLoadLocked()
		}
		done := e.loading
		e.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for model %q to load: %w", e.name, ctx.Err())
		}
	}
}

// Preload starts loading in the background, if not loaded or loading.
func (e *modelEntry) Preload() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.model == nil && e.loading == nil && !e.closed {
		e.startLoadLocked()
	}
}

// startLoadLocked runs the load in its own goroutine, so that a request
// whose context ends stops waiting without abandoning a half-done load (a
// cgo call cannot be interrupted) and the next request finds the result.
func (e *modelEntry) startLoadLocked() {
	done := make(chan struct{})
	e.loading = done
	go func() {
		start := time.Now()
		m, err := e.doLoad()
		e.mu.Lock()
		defer e.mu.Unlock()
		defer close(done)
		e.loading = nil
		if err != nil {
			e.err, e.failedAt = err, time.Now()
			e.logger.WithError(err).Error("generative-asmr: model could not be loaded; requests that use it fail until it can be")
			return
		}
		if e.closed {
			m.Close()
			return
		}
		e.model, e.err = m, nil
		sh := m.Shape()
		e.logger.WithFields(logrus.Fields{
			"path": m.Path(), "layers": sh.Layers, "heads": sh.Heads, "head_dim": sh.HeadDim,
			"context": m.ContextSize(), "slots": e.cfg.EffectiveSlots(), "took": time.Since(start).Round(time.Millisecond).String(),
		}).Info("generative-asmr: model loaded")
	}()
}

func (e *modelEntry) doLoad() (*steering.Model, error) {
	// Check the file first: a missing file gets an error naming the
	// setting, and llama.cpp never sees a path that is not there.
	if _, err := e.ggufPath(); err != nil {
		return nil, err
	}
	if _, err := e.Identity(); err != nil {
		return nil, err
	}
	m, err := e.load(e.cfg.Source(), e.steeringOptions())
	if err != nil {
		return nil, fmt.Errorf("%w: model %q: %v (%s)", ErrModelUnavailable, e.name, err, e.where())
	}
	return m, nil
}

// state describes the entry for MetaInfo.
func (e *modelEntry) state() map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := map[string]any{"source": e.cfg.Source(), "slots": e.cfg.EffectiveSlots()}
	switch {
	case e.model != nil:
		s["state"] = "loaded"
		s["contextSize"] = e.model.ContextSize()
	case e.loading != nil:
		s["state"] = "loading"
	case e.err != nil:
		s["state"] = "error"
		s["error"] = e.err.Error()
	default:
		s["state"] = "not loaded"
	}
	return s
}

// Close frees the model once its running generations end; a load under way
// frees its model when it finishes.
func (e *modelEntry) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	m := e.model
	e.model = nil
	e.mu.Unlock()
	if m != nil {
		m.Close()
	}
}
