package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/asmr-search/generative-asmr/eval"
)

// Tables are the systems of `asmr eval run` and how they are sampled.
type Tables struct {
	// Systems to answer with (eval.ParseSystems).
	Systems []eval.System
	// Seed draws Config.Sample's items and seeds the sampler when
	// Config.Temperature > 0 (in-process).
	Seed uint64
	// Progress is called with the answers done and planned; nil for none.
	Progress func(done, total int)
}

// TablesResult is what RunTables answered and wrote.
type TablesResult struct {
	// Stats count the answers planned, found in the store and made now,
	// in Elapsed.
	Stats   eval.RunStats
	Elapsed time.Duration
	// Store is the answers file (DIR/items.jsonl).
	Store string
	// Markdown is the report, written to Report (DIR/report.md); CSV is
	// DIR/results.csv.
	Markdown    string
	Report, CSV string
}

// RunTables scores every system on every item, the paper's Table 1
// (XOR-TyDi QA) or Table 2 (MKQA) with paired t-tests: it answers into
// cfg.Out/items.jsonl (appended: a rerun skips what is done) and writes
// report.md and results.csv there. The result is nil when the run did not
// begin (a bad Config, an unreadable file); otherwise it is returned with
// an error too, which says the answers so far are saved when answering
// failed.
func RunTables(ctx context.Context, cfg Config, t Tables) (*TablesResult, error) {
	steered := false
	for _, s := range t.Systems {
		steered = steered || s.Steer.Active()
	}
	a, err := answer(ctx, cfg, steered, "items.jsonl", t.Systems, []uint64{t.Seed}, t.Progress)
	if a == nil {
		return nil, err
	}
	defer a.done()
	res := &TablesResult{Stats: a.stats, Elapsed: a.elapsed, Store: a.store.Path()}
	if err != nil {
		return res, err
	}

	items := eval.Subsample(a.items, cfg.Sample, t.Seed)
	preds := map[string]eval.Predictions{}
	for _, sys := range t.Systems {
		if preds[sys.Name], err = a.store.Select(a.opts.Key(sys), t.Seed, items); err != nil {
			return res, err
		}
	}
	det, err := eval.NewLangDetector(a.langs...)
	if err != nil {
		return res, err
	}
	rep, err := eval.BuildReport(cfg.Dataset, a.langs, items, t.Systems, preds, det)
	if err != nil {
		return res, err
	}
	rep.Settings = append(a.settings, [2]string{"systems", describeSystems(t.Systems)})
	if cfg.Sample > 0 {
		rep.Settings = append(rep.Settings, [2]string{"sample", fmt.Sprintf("%d items per language drawn with seed %d", cfg.Sample, t.Seed)})
	}
	rep.Settings = append(rep.Settings, [2]string{"answers", a.store.Path()})
	res.Markdown = rep.Markdown()
	res.Report, res.CSV = filepath.Join(cfg.Out, "report.md"), filepath.Join(cfg.Out, "results.csv")
	if err := os.WriteFile(res.Report, []byte(res.Markdown), 0o644); err != nil {
		return res, err
	}
	if err := rep.WriteCSV(res.CSV); err != nil {
		return res, err
	}
	return res, nil
}

func describeSystems(systems []eval.System) string {
	var parts []string
	for _, s := range systems {
		d := s.Label()
		switch {
		case s.OneShot:
			d += " (one worked example in the prompt, unsteered)"
		case s.Steer.Active():
			d += fmt.Sprintf(" (alphaAC %g, alphaCL %g, top %d heads per attribute, %s directions, %s tokens)",
				s.Steer.AlphaAC, s.Steer.AlphaCL, s.Steer.TopK, s.Steer.Direction, s.Steer.Scope)
		default:
			d += " (zero-shot, unsteered)"
		}
		parts = append(parts, d)
	}
	return strings.Join(parts, "; ")
}
