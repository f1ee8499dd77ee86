package steering

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ollama/ollama/logutil"

	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// logLine is one record the test handler kept.
type logLine struct {
	level slog.Level
	msg   string
}

// captureHandler keeps the records at level and above that carry
// lib=llama.cpp.
type captureHandler struct {
	level slog.Level
	mu    sync.Mutex
	lines []logLine
}

func (h *captureHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "lib" && a.Value.String() == "llama.cpp" {
			h.mu.Lock()
			h.lines = append(h.lines, logLine{r.Level, r.Message})
			h.mu.Unlock()
			return false
		}
		return true
	})
	return nil
}

func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

// captureLogs makes the default slog logger keep records at level and
// above until the test ends.
func captureLogs(t *testing.T, level slog.Level) *captureHandler {
	h := &captureHandler{level: level}
	prev := slog.Default()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return h
}

// count returns how many kept records are at level and how many of those
// begin with prefix.
func (h *captureHandler) count(level slog.Level, prefix string) (n, withPrefix int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range h.lines {
		if l.level == level {
			n++
			if strings.HasPrefix(l.msg, prefix) {
				withPrefix++
			}
		}
	}
	return n, withPrefix
}

// Loading a model makes llama.cpp log at every level: a warning about the
// test vocabulary's end-of-sequence token, the model's keys and
// hyperparameters at INFO, and details at DEBUG. What reaches slog is
// what the default logger's level takes, at the mapped levels.
func TestLlamaLogFollowsSlogLevel(t *testing.T) {
	const (
		warning = "load: special_eos_id is not in special_eog_ids"
		info    = "print_info: arch"
	)
	for _, tc := range []struct {
		level              slog.Level
		wantDebug, wantTrc bool
	}{
		{slog.LevelInfo, false, false},
		{slog.LevelDebug, true, false},
		{logutil.LevelTrace, true, true},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			h := captureLogs(t, tc.level)
			load(t, writeModel(t, tinySpec(testmodel.F32), nil), Options{})
			if n, _ := h.count(slog.LevelInfo, ""); n != 0 {
				t.Errorf("%d records at slog Info, want none: llama.cpp's INFO is Debug", n)
			}
			if _, n := h.count(slog.LevelWarn, warning); n != 1 {
				t.Errorf("%d warnings %q at slog Warn, want 1", n, warning)
			}
			debug, arch := h.count(slog.LevelDebug, info)
			if tc.wantDebug != (debug > 0) || tc.wantDebug != (arch == 1) {
				t.Errorf("%d records at Debug, %d %q; want them: %v", debug, arch, info, tc.wantDebug)
			}
			if trace, _ := h.count(logutil.LevelTrace, ""); tc.wantTrc != (trace > 0) {
				t.Errorf("%d records at Trace, want them: %v", trace, tc.wantTrc)
			}
		})
	}
}

// llamaLogger joins continued messages, splits multi-line ones, logs an
// unfinished line when the next message starts, never reads the text
// of a message at a level the logger does not take, and logs the
// n_ctx_seq warning at Debug.
func TestLlamaLogLines(t *testing.T) {
	h := captureLogs(t, slog.LevelInfo)
	var l llamaLogger
	read := 0
	text := func(s string) func() string {
		return func() string { read++; return s }
	}
	l.write(slog.LevelInfo, false, text("load: one\n"))
	l.write(slog.LevelWarn, false, text("dots "))
	for range 3 {
		l.write(slog.LevelError, true, text("."))
	}
	l.write(slog.LevelError, true, text("\n"))
	l.write(slog.LevelError, false, text("two\nthree\n\n"))
	l.write(slog.LevelInfo, false, text("unfinished"))
	l.write(slog.LevelDebug, false, text("hidden"))
	l.write(slog.LevelError, true, text(" still hidden\n"))
	// n_ctx_seq counts every sequence's cells of a unified KV cache: Debug.
	l.write(slog.LevelWarn, false, text("llama_context: n_ctx_seq (1024) > n_ctx_train (512) -- possible training context overflow\n"))
	l.write(slog.LevelWarn, false, text("last\n"))

	want := []logLine{
		{slog.LevelInfo, "load: one"},
		{slog.LevelWarn, "dots ..."},
		{slog.LevelError, "two"},
		{slog.LevelError, "three"},
		{slog.LevelInfo, "unfinished"},
		{slog.LevelWarn, "last"},
	}
	if !slices.Equal(h.lines, want) {
		t.Errorf("records:\n%s\nwant:\n%s", fmt.Sprint(h.lines), fmt.Sprint(want))
	}
	if read != 10 {
		t.Errorf("read the text of %d calls, want the 10 at levels the logger takes", read)
	}
}
