package steering

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
)

// llamaLog turns the log output of llama.cpp and ggml (asmrLlamaLog in
// cgo.go) into records of the default slog logger, one per line, with the
// attribute lib=llama.cpp. The default logger's level decides what is
// kept, as in ollama's llama package; text at a level it does not take is
// never copied out of C.
var llamaLog llamaLogger

type llamaLogger struct {
	mu      sync.Mutex
	level   slog.Level // of the message being assembled
	enabled bool       // whether the default logger takes level
	partial []byte     // text after the last newline
}

// write takes one call of the log callback: text at level, or with cont
// more text of the message before, at that message's level. A line is
// logged when its newline arrives, or when the next message starts.
func (l *llamaLogger) write(level slog.Level, cont bool, text func() string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !cont {
		l.emit(l.partial)
		l.partial = l.partial[:0]
		l.level = level
		l.enabled = slog.Default().Enabled(context.Background(), level)
	}
	if !l.enabled {
		return
	}
	l.partial = append(l.partial, text()...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return
		}
		l.emit(l.partial[:i])
		l.partial = append(l.partial[:0], l.partial[i+1:]...)
	}
}

// emit logs one line at the current message's level; blank lines are
// dropped, and llama.cpp's comparison of n_ctx_seq with the training
// context goes to Debug: with several sequences in one unified KV cache
// n_ctx_seq counts the cells of all of them, while each sequence stays
// within ContextSize, capped at the training context.
func (l *llamaLogger) emit(line []byte) {
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	level := l.level
	if bytes.Contains(line, []byte("n_ctx_seq (")) && bytes.Contains(line, []byte("n_ctx_train (")) {
		level = min(level, slog.LevelDebug)
	}
	slog.Default().LogAttrs(context.Background(), level, string(line), slog.String("lib", "llama.cpp"))
}
