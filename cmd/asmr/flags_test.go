package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// captureStderr runs f with os.Stderr sent to a pipe and returns what f
// wrote there.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	defer func() { os.Stderr = old }()
	f()
	w.Close()
	os.Stderr = old
	return string(<-done)
}

func wantAll(t *testing.T, what string, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: accepted", what)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%s: error does not say %q:\n%v", what, f, err)
		}
	}
}

// `asmr generate -max-tokens 0` meant 256 and `-ctx -5` was accepted: both
// are refused before any model is opened, with the flag and its range, and
// every bad flag is reported at once.
func TestFlagsGenerateRanges(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.gguf") // never opened
	gen := func(args ...string) error {
		return runGenerate(context.Background(), append([]string{"-model", missing, "-prompt", "hi"}, args...))
	}
	wantAll(t, "-max-tokens 0", gen("-max-tokens", "0"),
		"-max-tokens 0: want a positive number of tokens, or -1 (until the context is full)")
	wantAll(t, "-max-tokens -2", gen("-max-tokens", "-2"), "-max-tokens -2: want a positive number")
	wantAll(t, "-ctx -5", gen("-ctx", "-5"),
		"-ctx -5: want 0 (4096, capped at the model's training context) or at least 64 tokens")
	wantAll(t, "several", gen("-ctx", "10", "-max-tokens", "0", "-threads", "-1", "-gpu-layers", "-3", "-poll", "101",
		"-kv-type", "f8", "-mmap", "maybe", "-temperature", "-1", "-top-k", "-1", "-top-p", "1.5", "-seed", "4294967296"),
		"11 flag problems",
		"-ctx 10: want 0", "-max-tokens 0:", "-threads -1: want 0 (every CPU) or more",
		"-gpu-layers -3: want -1 (all), 0 (CPU only) or a layer count", "-poll 101: want -1",
		`-kv-type "f8": want f16, f32, q8_0 or q4_0`, `-mmap "maybe": want auto, on or off`,
		"-temperature -1: want 0 (greedy) or more", "-top-k -1: want 0 (off) or more",
		"-top-p 1.5: want 0 to 1", "-seed 4294967296: want 0 to 4294967295")
	wantAll(t, "no model", runGenerate(context.Background(), []string{"-max-tokens", "0"}),
		"-model and -prompt are required", "-max-tokens 0:")

	// Valid flags get past the checks: the error is the missing file's.
	err := gen("-max-tokens", "-1", "-ctx", "0", "-seed", "4294967295")
	if err == nil || strings.Contains(err.Error(), "want") {
		t.Errorf("valid flags refused, or the missing model accepted: %v", err)
	}

	// The reader flags of probe, bench and eval are checked the same way.
	var rf readerFlags
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	rf.register(fs)
	if err := fs.Parse([]string{"-ctx", "-5"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rf.options(); err == nil || !strings.Contains(err.Error(), "-ctx -5: want 0") {
		t.Errorf("readerFlags.options with -ctx -5: %v", err)
	}
	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	rf = readerFlags{}
	rf.register(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := rf.options(); err != nil {
		t.Errorf("default reader flags refused: %v", err)
	}
}

// `asmr profile -h` printed `profile "-h": want show or merge`; it prints
// the usage now, and exits as -h does elsewhere (flag.ErrHelp).
func TestFlagsProfileHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help", "help"} {
		var err error
		out := captureStderr(t, func() { err = runProfile(context.Background(), []string{arg}) })
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("asmr profile %s: %v, want flag.ErrHelp", arg, err)
		}
		for _, want := range []string{"usage: asmr profile show p.yaml", "asmr profile merge -o out.yaml", "asmr profile merge -h"} {
			if !strings.Contains(out, want) {
				t.Errorf("asmr profile %s printed no %q:\n%s", arg, want, out)
			}
		}
	}
	var err error
	captureStderr(t, func() { err = runProfile(context.Background(), []string{"shwo"}) })
	if err == nil || !strings.Contains(err.Error(), `profile "shwo": want show or merge (see asmr profile -h)`) {
		t.Errorf("unknown subcommand: %v", err)
	}
	out := captureStderr(t, func() { err = runProfile(context.Background(), nil) })
	if err == nil || !strings.Contains(out, "usage: asmr profile") {
		t.Errorf("no subcommand: %v\n%s", err, out)
	}
}

// Progress written to a file (a log) is plain lines now and then, never a
// bar's carriage returns.
func TestFlagsStageBarsPlainWhenNotATerminal(t *testing.T) {
	// Standard error redirected to a file: plain.
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stderr
	os.Stderr = f
	b := newStageBars(false)
	os.Stderr = old
	if !b.plain {
		t.Fatal("a file was taken for a terminal")
	}

	var buf bytes.Buffer
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b = &stageBars{plain: true, out: &buf, now: func() time.Time { return clock }}
	for i := 0; i <= 400; i++ {
		b.update("capture", i, 400)
		clock = clock.Add(100 * time.Millisecond) // 40 s in all
	}
	for i := 0; i <= 50; i++ {
		b.update("train", i, 50)
	}
	b.finish()
	b.finish() // twice is harmless
	out := buf.String()
	if strings.Contains(out, "\r") {
		t.Errorf("carriage returns in plain progress:\n%q", out)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	// capture: start, one line per 10 s (4), end; train: start, end.
	if len(lines) != 8 {
		t.Errorf("want 8 lines, got %d:\n%s", len(lines), out)
	}
	for _, want := range []string{"capturing activations: 0/400\n", "capturing activations: 100/400 (25%, 10s)\n",
		"capturing activations: 400/400, done in 40.1s\n", "training probes: 0/50\n", "training probes: 50/50, done in 0s\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("plain progress lacks %q:\n%s", want, out)
		}
	}

	// Quiet prints nothing.
	buf.Reset()
	b = &stageBars{quiet: true, plain: true, out: &buf, now: time.Now}
	b.update("capture", 1, 2)
	b.finish()
	if buf.Len() != 0 {
		t.Errorf("quiet printed %q", buf.String())
	}
}

// TestFlagsEvalModelAsServed: the in-process eval takes the model settings
// an ops file gives a served model (chatTemplate, stop), so it can read
// Gemma 3 270M as the module serves it.
func TestFlagsEvalModelAsServed(t *testing.T) {
	fs, f := newEvalFlags("run", "test")
	fs.SetOutput(io.Discard)
	if err := fs.Parse([]string{"-dataset", "xquad", "-data", "d", "-model", "m.gguf", "-out", "o",
		"-chat-template", "none", "-stop", "\n", "-stop", "Question:"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := f.config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ModelOptions.ChatTemplate != "none" || strings.Join(cfg.Stop, "|") != "\n|Question:" {
		t.Errorf("chat template %q, stop %q", cfg.ModelOptions.ChatTemplate, cfg.Stop)
	}
}
