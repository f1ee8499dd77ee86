package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/probes"
	"github.com/asmr-search/generative-asmr/steering"
)

// runProbe is ASMR §3.2: capture every head's last-token activation on
// labelled prompts, train a probe per head, keep the best heads, and write
// the steering profile with a Figure-2 heatmap and a CSV per attribute.
func runProbe(ctx context.Context, args []string) error {
	fs := newFlags("probe", "-model m.gguf -o profile.yaml [flags]")
	var rf readerFlags
	rf.register(fs)
	model := fs.String("model", "", "GGUF file or Ollama model name (required)")
	out := fs.String("o", "", "profile to write (required)")
	report := fs.String("report", "", "folder for the heatmaps and CSVs (default: next to the profile)")
	attrs := fs.String("attributes", "AC,CL", "attributes to probe: AC, CL or both")
	acPath := fs.String("ac", "", "AC data: JSONL of {question, passage, label} (default: the shipped 50 questions)")
	nqPath := fs.String("nq", "", "AC data from Natural Questions: JSONL of {question, answers[], passages[]} (converted on the fly)")
	sentPath := fs.String("sentences", "", "CL data: JSONL of {lang, text} (default: the shipped 20 sentences x 10 languages)")
	flores := fs.String("flores", "", "CL data: a FLORES-200 folder (devtest/<code>.devtest)")
	langs := fs.String("langs", strings.Join(probes.DefaultCLLanguages, ","), "CL languages")
	perLang := fs.Int("per-language", 20, "CL sentences picked per language")
	same := fs.Int("same", 3800, "CL same-language pairs")
	diff := fs.Int("different", 3800, "CL different-language pairs")
	seed := fs.Uint64("seed", 1, "seed of the pair builder, the NQ converter and the train/validation split")
	topK := fs.Int("top-k", 64, "heads kept per attribute")
	l2 := fs.Float64("l2", 0, "L2 penalty of the probes (0 = the trainer's default)")
	quiet := fs.Bool("quiet", false, "no progress bars")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" || *out == "" {
		return fmt.Errorf("-model and -o are required (see asmr probe -h)")
	}
	want := map[string]bool{}
	for _, a := range strings.Split(*attrs, ",") {
		a = strings.ToUpper(strings.TrimSpace(a))
		if a != config.AttributeAC && a != config.AttributeCL {
			return fmt.Errorf("-attributes: %q is not AC or CL", a)
		}
		want[a] = true
	}
	var datasets []probes.Dataset
	if want[config.AttributeAC] {
		ds, err := acDataset(*acPath, *nqPath, *seed)
		if err != nil {
			return err
		}
		datasets = append(datasets, ds)
	}
	if want[config.AttributeCL] {
		ds, err := clDataset(*sentPath, *flores, *langs, probes.PairOptions{PerLanguage: *perLang, Same: *same, Different: *diff, Seed: *seed})
		if err != nil {
			return err
		}
		datasets = append(datasets, ds)
	}

	opts, err := rf.options()
	if err != nil {
		return err
	}
	m, err := steering.Load(*model, opts)
	if err != nil {
		return err
	}
	defer m.Close()
	id, err := config.ModelFingerprint(m.Path())
	if err != nil {
		return err
	}
	sh := m.Shape()
	fmt.Printf("model: %s (%d layers x %d heads, d_h %d)\n", m.Path(), sh.Layers, sh.Heads, sh.HeadDim)

	profile := config.NewProfile(id, "asmr probe")
	reportDir := *report
	if reportDir == "" {
		reportDir = filepath.Dir(*out)
	}
	if err := os.MkdirAll(reportDir, 0o755); err != nil {
		return err
	}
	base := strings.TrimSuffix(filepath.Base(*out), filepath.Ext(*out))
	for _, ds := range datasets {
		fmt.Printf("\n%s: %s\n", ds.Attribute, ds.Description)
		bars := newStageBars(*quiet)
		start := time.Now()
		attr, results, err := probes.Probe(ctx, m, ds, probes.ProbeOptions{
			TopK: *topK, Train: probes.TrainOptions{Seed: *seed, L2: *l2}, Progress: bars.update,
		})
		bars.finish()
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
		fmt.Printf("%d samples probed in %s; heatmap %s, accuracies %s\n", len(ds.Samples), time.Since(start).Round(time.Millisecond), png, csv)
		fmt.Print(probes.TopHeads(results, 10))
	}
	if err := profile.Save(*out); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s\n", *out)
	return nil
}

func acDataset(acPath, nqPath string, seed uint64) (probes.Dataset, error) {
	switch {
	case acPath != "" && nqPath != "":
		return probes.Dataset{}, fmt.Errorf("give -ac or -nq, not both")
	case nqPath != "":
		in, err := os.Open(nqPath)
		if err != nil {
			return probes.Dataset{}, err
		}
		defer in.Close()
		var buf strings.Builder
		st, err := probes.ConvertNQ(in, &buf, seed)
		if err != nil {
			return probes.Dataset{}, err
		}
		recs, err := probes.ParseAC(strings.NewReader(buf.String()), nqPath)
		if err != nil {
			return probes.Dataset{}, err
		}
		fmt.Printf("Natural Questions: %d questions, %d pairs written, %d without an answering passage, %d without a non-answering one\n",
			st.Questions, st.Written, st.SkippedNoPositive, st.SkippedNoNegative)
		return probes.ACDataset(recs, nqPath+" (Natural Questions, converted)"), nil
	case acPath != "":
		recs, err := probes.ReadAC(acPath)
		if err != nil {
			return probes.Dataset{}, err
		}
		return probes.ACDataset(recs, acPath), nil
	}
	recs, err := probes.ShippedAC()
	if err != nil {
		return probes.Dataset{}, err
	}
	return probes.ACDataset(recs, probes.ShippedSourceAC), nil
}

func clDataset(sentPath, flores, langs string, o probes.PairOptions) (probes.Dataset, error) {
	o.Languages = strings.Split(langs, ",")
	var sents []probes.Sentence
	var err error
	switch {
	case sentPath != "" && flores != "":
		return probes.Dataset{}, fmt.Errorf("give -sentences or -flores, not both")
	case flores != "":
		sents, err = probes.ReadFlores(flores, o.Languages)
		o.Source = flores + " (FLORES-200 devtest)"
	case sentPath != "":
		sents, err = probes.ReadSentences(sentPath)
		o.Source = sentPath
	default:
		sents, err = probes.ShippedSentences()
		o.Source = probes.ShippedSourceSentences
	}
	if err != nil {
		return probes.Dataset{}, err
	}
	return probes.BuildCLPairs(sents, o)
}

// stageBars shows one progress bar per stage of a probe run.
type stageBars struct {
	quiet bool
	stage string
	bar   *progressbar.ProgressBar
}

func newStageBars(quiet bool) *stageBars { return &stageBars{quiet: quiet} }

func (b *stageBars) update(stage string, done, total int) {
	if b.quiet {
		return
	}
	if stage != b.stage {
		b.finish()
		b.stage = stage
		desc := map[string]string{"capture": "capturing activations", "train": "training probes"}[stage]
		b.bar = progressbar.NewOptions(total, progressbar.OptionSetDescription(fmt.Sprintf("%-22s", desc)),
			progressbar.OptionSetWriter(os.Stderr), progressbar.OptionShowCount(), progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionShowIts())
	}
	_ = b.bar.Set(done)
}

func (b *stageBars) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
		fmt.Fprintln(os.Stderr)
		b.bar = nil
	}
}
