// Package probing runs ASMR §3.2 end to end for `asmr probe`: it reads the
// labelled data of each attribute (AC: does the passage answer the
// question; CL: are two sentences in the same language), captures every
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

	profile := profile.New(id, "asmr probe")
	reportDir := cfg.ReportDir
	if reportDir == "" {
		reportDir = filepath.Dir(cfg.Out)
	}
	if err := os.MkdirAll(reportDir, 0o755); err != nil {
		return err
	}
	base := strings.TrimSuffix(filepath.Base(cfg.Out), filepath.Ext(cfg.Out))
	for _, ds := range datasets {
		fmt.Fprintf(cfg.Log, "\n%s: %s\n", ds.Attribute, ds.Description)
		start := time.Now()
		attr, results, err := probes.Probe(ctx, m, ds, probes.ProbeOptions{
			TopK: cfg.TopK, Train: probes.TrainOptions{Seed: cfg.Seed, L2: cfg.L2}, Progress: cfg.Progress,
		})
		if cfg.Finish != nil {
			cfg.Finish()
		}
		if err != nil {
			return err
		}
		profile.Attributes[ds.Attribute] = attr
		png := filepath.Join(reportDir, fmt.Sprintf("%s-%s-heatmap.png", base, ds.Attribute))
		csv := filepath.Join(reportDir, fmt.Sprintf("%s-%s-accuracy.csv", base, ds.Attribute))
		title := fmt.Sprintf("%s probe accuracy: %s", ds.Attribute, filepath.Base(m.Path()))
		if err := probes.WriteHeatmap(png, title, attr.Accuracy); err != nil {
			return err
		}
		if err := probes.WriteAccuracyCSV(csv, attr.Accuracy); err != nil {
			return err
		}
		fmt.Fprintf(cfg.Log, "%d samples probed in %s; heatmap %s, accuracies %s\n", len(ds.Samples), time.Since(start).Round(time.Millisecond), png, csv)
		fmt.Fprint(cfg.Log, probes.TopHeads(results, 10))
	}
	if err := profile.Save(cfg.Out); err != nil {
		return err
	}
	fmt.Fprintf(cfg.Log, "\nwrote %s\n", cfg.Out)
	return nil
}
