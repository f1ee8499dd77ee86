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

// Sweep is the grid of `asmr eval sweep`.
type Sweep struct {
	Grid  eval.SweepGrid
	Seeds []uint64
	// Metric is the metric of sweep.png (one of eval.Metrics).
	Metric string
	// Progress is called with the answers done and planned; nil for none.
	Progress func(done, total int)
}

// SweepResult is what RunSweep answered and wrote.
type SweepResult struct {
	// Stats count the answers planned (Points grid points x the seeds),
	// found in the store and made now, in Elapsed.
	Stats   eval.RunStats
	Points  int
	Elapsed time.Duration
	// Store is the answers file (DIR/sweep.jsonl).
	Store string
	// Markdown is DIR/sweep.md.
	Markdown string
}

// RunSweep runs ASMR for every K x alpha of the grid over the seeds, each
// seed drawing its own Config.Sample items per language: the paper's
// Figure 3. It answers into cfg.Out/sweep.jsonl (appended: a rerun skips
// what is done) and writes sweep.md, sweep.csv, sweep.png (sw.Metric) and
// sweep-<metric>.png for every metric there. The result is nil when the
// run did not begin; otherwise it is returned with an error too.
func RunSweep(ctx context.Context, cfg Config, sw Sweep) (*SweepResult, error) {
	g := sw.Grid
	systems := g.Systems()
	a, err := answer(ctx, cfg, true, "sweep.jsonl", systems, sw.Seeds, sw.Progress)
	if a == nil {
		return nil, err
	}
	defer a.done()
	res := &SweepResult{Stats: a.stats, Points: len(systems), Elapsed: a.elapsed, Store: a.store.Path()}
	if err != nil {
		return res, err
	}

	det, err := eval.NewLangDetector(a.langs...)
	if err != nil {
		return res, err
	}
	points, err := eval.ScoreSweep(cfg.Dataset, a.items, cfg.Sample, sw.Seeds, g, a.store, a.opts.Key, det)
	if err != nil {
		return res, err
	}
	metrics := eval.Metrics(cfg.Dataset)
	var b strings.Builder
	fmt.Fprintf(&b, "# Figure 3 layout: %s, K x alpha sweep\n\n", eval.DatasetName(cfg.Dataset))
	for _, kv := range a.settings {
		fmt.Fprintf(&b, "- %s: %s\n", kv[0], kv[1])
	}
	attrNames := []string{}
	if g.AC {
		attrNames = append(attrNames, "alphaAC")
	}
	if g.CL {
		attrNames = append(attrNames, "alphaCL")
	}
	fmt.Fprintf(&b, "- grid: K %s x alpha %s (alpha sets %s; %s directions, %s tokens); seeds %s; %s\n- answers: %s\n\n",
		Ints(g.Ks), Floats(g.Alphas), strings.Join(attrNames, " and "), cfg.Direction, cfg.Scope, Uints(sw.Seeds), sampleNote(cfg.Sample), a.store.Path())
	b.WriteString("Values are macro averages over the languages, in percent; with several seeds, mean ± standard deviation over seeds. alpha 0 is the unsteered reader (the same answers for every K).\n")
	for _, m := range metrics {
		title := eval.MetricTitle(cfg.Dataset, m)
		b.WriteString("\n" + eval.SweepMarkdown(points, m, title))
		plotTitle := fmt.Sprintf("%s: %s vs alpha, one line per K", eval.DatasetName(cfg.Dataset), metricAxis(m))
		if err := eval.WriteSweepPlot(filepath.Join(cfg.Out, "sweep-"+m+".png"), points, m, metricAxis(m), plotTitle); err != nil {
			return res, err
		}
		if m == sw.Metric {
			if err := eval.WriteSweepPlot(filepath.Join(cfg.Out, "sweep.png"), points, m, metricAxis(m), plotTitle); err != nil {
				return res, err
			}
		}
	}
	res.Markdown = b.String()
	if err := os.WriteFile(filepath.Join(cfg.Out, "sweep.md"), []byte(res.Markdown), 0o644); err != nil {
		return res, err
	}
	if err := eval.WriteSweepCSV(filepath.Join(cfg.Out, "sweep.csv"), points, metrics); err != nil {
		return res, err
	}
	return res, nil
}

func sampleNote(n int) string {
	if n <= 0 {
		return "every item"
	}
	return fmt.Sprintf("%d items per language drawn with each seed", n)
}

func metricAxis(m string) string {
	switch m {
	case eval.MetricF1:
		return "F1"
	case eval.MetricEM:
		return "EM"
	case eval.MetricBLEU:
		return "BLEU"
	case eval.MetricLang:
		return "answer-language rate"
	case eval.MetricRecall:
		return "R@2kt"
	case eval.MetricF1English:
		return "F1 (English gold)"
	case eval.MetricLines:
		return "line-level pass rate"
	}
	return m
}
