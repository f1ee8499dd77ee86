package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

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
	squadPath := fs.String("squad", "", "AC data from a SQuAD v1.1-format file (SQuAD, one XQuAD language): each question with its paragraph and with a paragraph of another article")
	squadMax := fs.Int("squad-max", 0, "questions drawn from -squad (0 = all)")
	sentPath := fs.String("sentences", "", "CL data: JSONL of {lang, text} (default: the shipped 20 sentences x 10 languages)")
	flores := fs.String("flores", "", "CL data: a FLORES-200 folder (devtest/<code>.devtest)")
	xquad := fs.String("xquad", "", "CL data: sentences of an XQuAD folder (xquad.<lang>.json); XQuAD has ar de el en es hi ro ru th tr vi zh, so pass e.g. -langs de,es,ru,th,tr,vi,zh,ar,hi,el")
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
		ds, err := acDatasetFrom(acSources{ac: *acPath, nq: *nqPath, squad: *squadPath, squadMax: *squadMax}, *seed)
		if err != nil {
			return err
		}
		datasets = append(datasets, ds)
	}
	if want[config.AttributeCL] {
		ds, err := clDatasetFrom(clSources{sentences: *sentPath, flores: *flores, xquad: *xquad}, *langs, probes.PairOptions{PerLanguage: *perLang, Same: *same, Different: *diff, Seed: *seed})
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

// acSources are the AC data flags; at most one of ac, nq and squad is set.
type acSources struct {
	ac, nq, squad string
	squadMax      int
}

func acDataset(acPath, nqPath string, seed uint64) (probes.Dataset, error) {
	return acDatasetFrom(acSources{ac: acPath, nq: nqPath}, seed)
}

func acDatasetFrom(src acSources, seed uint64) (probes.Dataset, error) {
	acPath, nqPath := src.ac, src.nq
	switch {
	case countSet(src.ac, src.nq, src.squad) > 1:
		return probes.Dataset{}, fmt.Errorf("give one of -ac, -nq and -squad")
	case src.squad != "":
		s, err := probes.ReadSQuAD(src.squad)
		if err != nil {
			return probes.Dataset{}, err
		}
		recs, st, err := probes.ACFromSQuAD(s, s, probes.SQuADACOptions{MaxQuestions: src.squadMax, Seed: seed})
		if err != nil {
			return probes.Dataset{}, err
		}
		fmt.Printf("SQuAD: %d questions, %d pairs written, %d without a negative paragraph", st.Questions, st.Pairs, st.SkippedNoNegative)
		if n := len(s.Warnings); n > 0 {
			fmt.Printf("; %d answers not at their answer_start (first: %s)", n, s.Warnings[0])
		}
		fmt.Println()
		return probes.ACDataset(recs, src.squad+" (SQuAD format)"), nil
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

// clSources are the CL data flags; at most one is set.
type clSources struct{ sentences, flores, xquad string }

func clDataset(sentPath, flores, langs string, o probes.PairOptions) (probes.Dataset, error) {
	return clDatasetFrom(clSources{sentences: sentPath, flores: flores}, langs, o)
}

func clDatasetFrom(src clSources, langs string, o probes.PairOptions) (probes.Dataset, error) {
	sentPath, flores := src.sentences, src.flores
	o.Languages = strings.Split(langs, ",")
	var sents []probes.Sentence
	var err error
	switch {
	case countSet(src.sentences, src.flores, src.xquad) > 1:
		return probes.Dataset{}, fmt.Errorf("give one of -sentences, -flores and -xquad")
	case src.xquad != "":
		var byLang map[string]*probes.SQuAD
		byLang, err = probes.ReadXQuADDir(src.xquad, o.Languages)
		// All sentences; BuildCLPairs draws PerLanguage of them per language.
		sents = probes.SentencesFromSQuAD(byLang, 0, o.Seed)
		o.Source = src.xquad + " (XQuAD paragraphs split into sentences)"
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

func countSet(values ...string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}

// stageBars shows the progress of each stage of a probe run: a bar on a
// terminal; elsewhere (a log file, a pipe) a plain line at the start of a
// stage, every plainEvery, and at its end, because a bar's carriage
// returns would fill a log with thousands of redrawn lines.
type stageBars struct {
	quiet bool
	// plain writes lines to out instead of drawing a bar.
	plain bool
	out   io.Writer
	now   func() time.Time

	stage, desc string
	bar         *progressbar.ProgressBar
	// plain mode: the last count and when the stage began and last printed.
	done, total int
	start, last time.Time
}

// plainEvery is how often a plain progress line is printed during a stage.
const plainEvery = 10 * time.Second

func newStageBars(quiet bool) *stageBars {
	return &stageBars{quiet: quiet, plain: !isTerminal(os.Stderr), out: os.Stderr, now: time.Now}
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func (b *stageBars) update(stage string, done, total int) {
	if b.quiet {
		return
	}
	if stage != b.stage {
		b.finish()
		b.stage = stage
		b.desc = map[string]string{"capture": "capturing activations", "train": "training probes"}[stage]
		if b.desc == "" {
			b.desc = stage
		}
		if b.plain {
			b.done, b.total = done, total
			b.start = b.now()
			b.last = b.start
			fmt.Fprintf(b.out, "%s: %d/%d\n", b.desc, done, total)
			return
		}
		b.bar = progressbar.NewOptions(total, progressbar.OptionSetDescription(fmt.Sprintf("%-22s", b.desc)),
			progressbar.OptionSetWriter(b.out), progressbar.OptionShowCount(), progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionShowIts())
	}
	if b.plain {
		b.done, b.total = done, total
		if t := b.now(); t.Sub(b.last) >= plainEvery {
			b.last = t
			fmt.Fprintf(b.out, "%s: %d/%d (%d%%, %s)\n", b.desc, done, total, percent(done, total), t.Sub(b.start).Round(time.Second))
		}
		return
	}
	_ = b.bar.Set(done)
}

func (b *stageBars) finish() {
	switch {
	case b.plain && b.stage != "":
		fmt.Fprintf(b.out, "%s: %d/%d, done in %s\n", b.desc, b.done, b.total, b.now().Sub(b.start).Round(100*time.Millisecond))
	case b.bar != nil:
		_ = b.bar.Finish()
		fmt.Fprintln(b.out)
	}
	b.bar, b.stage = nil, ""
}

func percent(done, total int) int {
	if total <= 0 {
		return 0
	}
	return 100 * done / total
}
