package module

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// TestSlogFollowsWeaviateLogger: slog records (steering's, llama.cpp's)
// reach Weaviate's logrus logger with their attributes, at the mapped
// level, and only when that logger's level takes them.
func TestSlogFollowsWeaviateLogger(t *testing.T) {
	for _, c := range []struct {
		level logrus.Level
		want  []string // messages that come through, in order
	}{
		{logrus.InfoLevel, []string{"warn line", "error line"}},
		{logrus.DebugLevel, []string{"debug line", "warn line", "error line"}},
		{logrus.TraceLevel, []string{"trace line", "debug line", "warn line", "error line"}},
	} {
		var buf bytes.Buffer
		l := logrus.New()
		l.SetOutput(&buf)
		l.SetFormatter(&logrus.JSONFormatter{})
		l.SetLevel(c.level)
		log := slog.New(newLogrusHandler(l.WithField("module", Name))).With("lib", "llama.cpp")
		log.Log(t.Context(), slog.LevelDebug-4, "trace line")
		log.Debug("debug line")
		log.Warn("warn line", slog.Group("g", "n", 3))
		log.Error("error line")

		var got []string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if line == "" {
				continue
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			got = append(got, rec["msg"].(string))
			if rec["lib"] != "llama.cpp" || rec["module"] != Name {
				t.Errorf("level %v: record without its fields: %v", c.level, rec)
			}
			wantLevel := map[string]string{"trace line": "trace", "debug line": "debug", "warn line": "warning", "error line": "error"}[rec["msg"].(string)]
			if rec["level"] != wantLevel {
				t.Errorf("%q at logrus level %v, want %s", rec["msg"], rec["level"], wantLevel)
			}
			if rec["msg"] == "warn line" && rec["g.n"] != float64(3) {
				t.Errorf("group attribute: %v", rec)
			}
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("logger at %v: got %q, want %q", c.level, got, c.want)
		}
	}
}
