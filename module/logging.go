package module

import (
	"context"
	"log/slog"

	"github.com/sirupsen/logrus"
)

// logrusHandler is a slog.Handler that writes to the logrus logger Weaviate
// hands the module. The module's own packages (steering, and through it
// llama.cpp's log) log with slog; inside Weaviate their records so come out
// in Weaviate's format and follow its LOG_LEVEL: with LOG_LEVEL=debug,
// llama.cpp's INFO lines (slog's Debug) show, and at the default info level
// only its warnings and errors.
type logrusHandler struct {
	l      logrus.FieldLogger
	fields logrus.Fields
	group  string
}

func newLogrusHandler(l logrus.FieldLogger) *logrusHandler {
	return &logrusHandler{l: l, fields: logrus.Fields{}}
}

// logrusLevel maps a slog level to logrus's: below Debug is Trace.
func logrusLevel(l slog.Level) logrus.Level {
	switch {
	case l >= slog.LevelError:
		return logrus.ErrorLevel
	case l >= slog.LevelWarn:
		return logrus.WarnLevel
	case l >= slog.LevelInfo:
		return logrus.InfoLevel
	case l >= slog.LevelDebug:
		return logrus.DebugLevel
	}
	return logrus.TraceLevel
}

// leveled is what *logrus.Logger and *logrus.Entry's Logger answer.
type leveled interface{ IsLevelEnabled(logrus.Level) bool }

func (h *logrusHandler) Enabled(_ context.Context, l slog.Level) bool {
	switch x := h.l.(type) {
	case leveled:
		return x.IsLevelEnabled(logrusLevel(l))
	case *logrus.Entry:
		return x.Logger.IsLevelEnabled(logrusLevel(l))
	}
	return l >= slog.LevelInfo
}

func (h *logrusHandler) Handle(_ context.Context, r slog.Record) error {
	fields := make(logrus.Fields, len(h.fields)+r.NumAttrs())
	for k, v := range h.fields {
		fields[k] = v
	}
	r.Attrs(func(a slog.Attr) bool {
		h.add(fields, a)
		return true
	})
	h.l.WithFields(fields).Log(logrusLevel(r.Level), r.Message)
	return nil
}

func (h *logrusHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := &logrusHandler{l: h.l, fields: make(logrus.Fields, len(h.fields)+len(attrs)), group: h.group}
	for k, v := range h.fields {
		n.fields[k] = v
	}
	for _, a := range attrs {
		h.add(n.fields, a)
	}
	return n
}

func (h *logrusHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.group = h.key(name)
	return &n
}

func (h *logrusHandler) key(k string) string {
	if h.group == "" {
		return k
	}
	return h.group + "." + k
}

// add puts a into fields under its key (with the handler's group), groups
// flattened with dots; empty attributes are dropped, as slog's handlers do.
func (h *logrusHandler) add(fields logrus.Fields, a slog.Attr) {
	v := a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if v.Kind() == slog.KindGroup {
		sub := &logrusHandler{group: h.key(a.Key)}
		if a.Key == "" {
			sub.group = h.group
		}
		for _, g := range v.Group() {
			sub.add(fields, g)
		}
		return
	}
	fields[h.key(a.Key)] = v.Any()
}
