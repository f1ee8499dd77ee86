// Package probing runs ASMR §3.2 end to end for `asmr probe`: it reads the
// labelled data of each attribute (AC: does the passage answer the
// question; CL: are two sentences in the same language; LANG.<code>: is a
// sentence in that language rather than another), captures every
// head's last-token activation on a loaded model, trains a probe per head
// (package probes), keeps the best heads, and writes the steering profile
// with a Figure-2 heatmap and an accuracy CSV per attribute.
package probing

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/asmr-search/generative-asmr/probes"
	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/steering"
)

// Config is one probe run.
type Config struct {
	// Model is a GGUF file or an Ollama model name, loaded with Options.
	Model   string
	Options steering.Options
	// Out is the profile to write; ReportDir the folder of the heatmaps
	// and CSVs ("": the profile's folder).
	Out, ReportDir string
	// AC and CL are the data of the attributes probed; nil leaves an
	// attribute out.
	AC *ACData
	CL *CLData
	// Lang is the data of the language attributes LANG.<code>, one per
	// language, whose sentences are captured once for all of them; nil
	// leaves them out.
	Lang *LangData
	// Seed seeds the CL pair builder, the NQ converter, the SQuAD draw and
	// the train/validation split.
	Seed uint64
	// TopK heads are kept per attribute; L2 is the probes' penalty (0: the
	// trainer's default).
	TopK int
	L2   float64
	// Progress, when set, is told of every step of a stage ("capture",
	// "train"), and Finish when an attribute's stages are over.
	Progress func(stage string, done, total int)
	Finish   func()
	// Log receives what the user reads: the data, the model, the best heads
	// and the files written; nil discards it.
	Log io.Writer
}

// Run reads the data, probes the model for each attribute, writes the
// reports, and saves the profile at cfg.Out.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	var datasets []probes.Dataset
	if cfg.AC != nil {
		ds, err := cfg.AC.dataset(cfg.Seed, cfg.Log)
		if err != nil {
			return err
		}
		datasets = append(datasets, ds)
	}
	if cfg.CL != nil {
		ds, err := cfg.CL.dataset(cfg.Seed)
		if err != nil {
			return err
		}
		datasets = append(datasets, ds)
	}
	var langSets []probes.Dataset
	if cfg.Lang != nil {
		var err error
		if langSets, err = cfg.Lang.datasets(cfg.Seed); err != nil {
			return err
		}
	}
	if len(datasets)+len(langSets) == 0 {
		return fmt.Errorf("no attributes to probe")
	}

	m, err := steering.Load(cfg.Model, cfg.Options)
	if err != nil {
		return err
	}
	defer m.Close()
	id, err := profile.ModelFingerprint(m.Path())
	if err != nil {
		return err
	}
	sh := m.Shape()
	fmt.Fprintf(cfg.Log, "model: %s (%d layers x %d heads, d_h %d)\n", m.Path(), sh.Layers, sh.Heads, sh.HeadDim)

	prof := profile.New(id, "asmr probe")
	reportDir := cfg.ReportDir
	if reportDir == "" {
		reportDir = filepath.Dir(cfg.Out)
	}
	for _, dir := range []string{reportDir, filepath.Dir(cfg.Out)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	base := strings.TrimSuffix(filepath.Base(cfg.Out), filepath.Ext(cfg.Out))
	opts := probes.ProbeOptions{TopK: cfg.TopK, Train: probes.TrainOptions{Seed: cfg.Seed, L2: cfg.L2}, Progress: cfg.Progress}
	finish := func() {
		if cfg.Finish != nil {
			cfg.Finish()
		}
	}
	// done records an attribute: into the profile, its heatmap and CSV,
	// and its best heads in the log.
	done := func(ds probes.Dataset, attr *profile.Attribute, results []probes.HeadResult, took time.Duration) error {
		prof.Attributes[ds.Attribute] = attr
		png := filepath.Join(reportDir, fmt.Sprintf("%s-%s-heatmap.png", base, ds.Attribute))
		csv := filepath.Join(reportDir, fmt.Sprintf("%s-%s-accuracy.csv", base, ds.Attribute))
		title := fmt.Sprintf("%s probe accuracy: %s", ds.Attribute, filepath.Base(m.Path()))
		if err := probes.WriteHeatmap(png, title, attr.Accuracy); err != nil {
			return err
		}
		if err := probes.WriteAccuracyCSV(csv, attr.Accuracy); err != nil {
			return err
		}
		fmt.Fprintf(cfg.Log, "%d samples probed in %s; heatmap %s, accuracies %s\n", len(ds.Samples), took.Round(time.Millisecond), png, csv)
		fmt.Fprint(cfg.Log, probes.TopHeads(results, 10))
		return nil
	}
	for _, ds := range datasets {
		fmt.Fprintf(cfg.Log, "\n%s: %s\n", ds.Attribute, ds.Description)
		start := time.Now()
		attr, results, err := probes.Probe(ctx, m, ds, opts)
		finish()
		if err != nil {
			return err
		}
		if err := done(ds, attr, results, time.Since(start)); err != nil {
			return err
		}
	}
	if len(langSets) > 0 {
		start := time.Now()
		captured, err := probes.CaptureDistinct(ctx, m, langSets, opts)
		finish()
		if err != nil {
			return err
		}
		fmt.Fprintf(cfg.Log, "\nlanguage attributes: %d sentences captured once for %d languages in %s\n",
			captured.Len(), len(langSets), time.Since(start).Round(time.Millisecond))
		for _, ds := range langSets {
			fmt.Fprintf(cfg.Log, "\n%s: %s\n", ds.Attribute, ds.Description)
			start := time.Now()
			attr, results, err := captured.Probe(ctx, ds, opts)
			finish()
			if err != nil {
				return err
			}
			if err := done(ds, attr, results, time.Since(start)); err != nil {
				return err
			}
		}
	}
	if err := prof.Save(cfg.Out); err != nil {
		return err
	}
	fmt.Fprintf(cfg.Log, "\nwrote %s\n", cfg.Out)
	return nil
}
