package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/asmr-search/generative-asmr/internal/probing"
	"github.com/asmr-search/generative-asmr/probes"
	"github.com/asmr-search/generative-asmr/profile"
)

// runProbe is ASMR §3.2 (internal/probing): capture every head's
// last-token activation on labelled prompts, train a probe per head, keep
// the best heads, and write the steering profile with a Figure-2 heatmap
// and a CSV per attribute.
func runProbe(ctx context.Context, args []string) error {
	fs := newFlags("probe", "-model m.gguf -o profile.yaml [flags]")
	var rf readerFlags
	rf.register(fs)
	model := fs.String("model", "", "GGUF file or Ollama model name (required)")
	out := fs.String("o", "", "profile to write (required)")
	report := fs.String("report", "", "folder for the heatmaps and CSVs (default: next to the profile)")
	attrs := fs.String("attributes", "AC,CL", "attributes to probe, comma-separated: AC, CL and LANG (the language attributes LANG.<code>, one per language of -lang-languages, from the sentences of -xquad, -flores or -sentences; add them to an existing profile with asmr profile merge)")
	acPath := fs.String("ac", "", "AC data: JSONL of {question, passage, label} (default: the shipped 50 questions)")
	nqPath := fs.String("nq", "", "AC data from Natural Questions: JSONL of {question, answers[], passages[]} (converted on the fly)")
	squadPath := fs.String("squad", "", "AC data from a SQuAD v1.1-format file (SQuAD, one XQuAD language): each question with its paragraph and with a paragraph of another article")
	squadMax := fs.Int("squad-max", 0, "questions drawn from -squad (0 = all)")
	sentPath := fs.String("sentences", "", "CL and LANG data: JSONL of {lang, text} (default: the shipped 20 sentences x 10 languages)")
	flores := fs.String("flores", "", "CL and LANG data: a FLORES-200 folder (devtest/<code>.devtest)")
	xquad := fs.String("xquad", "", "CL and LANG data: sentences of an XQuAD folder (xquad.<lang>.json); XQuAD has ar de el en es hi ro ru th tr vi zh, so pass e.g. -langs de,es,ru,th,tr,vi,zh,ar,hi,el")
	langs := fs.String("langs", strings.Join(probes.DefaultCLLanguages, ","), "CL languages")
	perLang := fs.Int("per-language", 20, "CL sentences picked per language")
	langLangs := fs.String("lang-languages", "", "LANG: the languages that get an attribute LANG.<code> (default: every language of the sentences; with -xquad the 12 XQuAD languages)")
	langPer := fs.Int("lang-per-language", probes.DefaultLanguageSentences, "LANG: sentences drawn per language; each language's attribute has as many of its own as of the others")
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
	cfg := probing.Config{
		Model: *model, Out: *out, ReportDir: *report, Seed: *seed, TopK: *topK, L2: *l2, Log: os.Stdout,
	}
	sentences := probing.Sentences{Sentences: *sentPath, Flores: *flores, XQuAD: *xquad}
	for _, a := range strings.Split(*attrs, ",") {
		switch a = strings.ToUpper(strings.TrimSpace(a)); a {
		case profile.AttributeAC:
			cfg.AC = &probing.ACData{AC: *acPath, NQ: *nqPath, SQuAD: *squadPath, SQuADMax: *squadMax}
		case profile.AttributeCL:
			cfg.CL = &probing.CLData{Sentences: sentences,
				Pairs: probes.PairOptions{Languages: strings.Split(*langs, ","), PerLanguage: *perLang, Same: *same, Different: *diff}}
		case "LANG":
			cfg.Lang = &probing.LangData{Sentences: sentences,
				Languages: probes.LanguageOptions{Languages: splitList(*langLangs), PerLanguage: *langPer}}
		default:
			return fmt.Errorf("-attributes: %q is not AC, CL or LANG", a)
		}
	}
	var err error
	if cfg.Options, err = rf.options(); err != nil {
		return err
	}
	bars := newStageBars(*quiet)
	cfg.Progress, cfg.Finish = bars.update, bars.finish
	return probing.Run(ctx, cfg)
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
