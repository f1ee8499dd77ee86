package eval

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Datasets.
const (
	XORTyDi = "xor-tydi"
	MKQA    = "mkqa"
	// XQuAD is the cross-lingual task built from XQuAD (package
	// eval/xquad): English passages, questions in another language. It is
	// read by eval/harness, not LoadDataset (its reader needs cgo).
	XQuAD = "xquad"
)

// PaperLanguages are the languages of each dataset in the ASMR paper's
// tables (MKQA: the ten languages the CL probes were trained on).
var PaperLanguages = map[string][]string{
	XORTyDi: {"ar", "bn", "fi", "ja", "ko", "ru", "te"},
	MKQA:    {"de", "es", "fr", "it", "nl", "pt", "th", "tr", "vi", "zh"},
	// XQuAD: every language of XQuAD but English, the passages' language.
	XQuAD: {"ar", "de", "el", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"},
}

// LoadDataset reads a dataset by name (xor-tydi or mkqa) for langs (the
// paper's when empty), at most limit items per language (0 = all), and
// returns the items of every language in langs order, file order within a
// language.
func LoadDataset(name, path string, langs []string, limit int) ([]Item, []string, error) {
	if len(langs) == 0 {
		langs = PaperLanguages[name]
	}
	var byLang map[string][]Item
	var err error
	switch name {
	case XORTyDi:
		byLang, err = ReadXORTyDi(path, langs, Limit(limit))
	case MKQA:
		byLang, err = ReadMKQA(path, langs, Limit(limit))
	case XQuAD:
		return nil, nil, fmt.Errorf("dataset %s is read by eval/harness (eval/xquad builds its passages), not LoadDataset", XQuAD)
	default:
		return nil, nil, fmt.Errorf("unknown dataset %q: want %s or %s", name, XORTyDi, MKQA)
	}
	if err != nil {
		return nil, nil, err
	}
	var items []Item
	for _, l := range langs {
		if len(byLang[l]) == 0 {
			return nil, nil, fmt.Errorf("%s has no %s items in language %q", path, name, l)
		}
		items = append(items, byLang[l]...)
	}
	return items, langs, nil
}

// Metric names.
const (
	MetricF1        = "f1"
	MetricEM        = "em"
	MetricBLEU      = "bleu"
	MetricTokenBLEU = "token_bleu"
	MetricLang      = "lang"
	MetricRecall    = "r2kt"
	// MetricF1English is XQuAD's F1 against the English gold (MKQA's
	// English normalisation): the content, whatever its language.
	MetricF1English = "f1_en"
	// MetricLines is XQuAD's line-level pass rate (ScoreLinePass) over
	// every line of the reader's raw answer.
	MetricLines = "lines"
)

// Metrics are a dataset's metrics in table order. XQuAD has no R@2kt: its
// golds are in the question's language, its passages English.
func Metrics(dataset string) []string {
	switch dataset {
	case XORTyDi:
		return []string{MetricF1, MetricEM, MetricBLEU, MetricLang, MetricRecall}
	case XQuAD:
		return []string{MetricF1, MetricEM, MetricF1English, MetricLang, MetricLines}
	}
	return []string{MetricF1, MetricEM, MetricLang, MetricRecall}
}

// MetricTitle names a metric in a report.
func MetricTitle(dataset, m string) string {
	switch m {
	case MetricF1:
		if dataset == XQuAD {
			return "F1 (against the gold in the question's language, MKQA's normalisation)"
		}
		return "F1"
	case MetricEM:
		if dataset == XQuAD {
			return "EM (against the gold in the question's language, MKQA's normalisation)"
		}
		return "EM"
	case MetricF1English:
		return "F1 against the English gold (content, whatever the language)"
	case MetricLines:
		return "Line-level pass rate (every line of the raw answer detected in the question's language, as the Language Confusion Benchmark)"
	case MetricBLEU:
		return "BLEU (official: character BLEU, nltk sentence_bleu)"
	case MetricTokenBLEU:
		return "token BLEU (smoothed; not official)"
	case MetricLang:
		return "Answer-language rate (answer detected in the question's language)"
	case MetricRecall:
		return "R@2kt (an answer in the first 2000 tokens of the retrieved passages)"
	}
	return m
}

// ScorePredictions scores one system's predictions of items with every
// metric of the dataset: the official-style QA metrics (unanswerable XOR
// items skipped, MKQA's kept), the answer-language rate (every item) and
// R@2kt on the record's passages (items with an answer to look for). XQuAD
// has MKQA's F1 and EM in the item's language, F1 against the item's
// English golds (Item.English, required), the answer-language rate and the
// line-level pass rate of the raw answer (the prediction when a record
// has no raw text), and no R@2kt.
func ScorePredictions(dataset string, items []Item, preds Predictions, det *LangDetector) (map[string][]Score, error) {
	texts := make(map[Key]string, len(preds))
	for k, r := range preds {
		texts[k] = r.Prediction
	}
	var out map[string][]Score
	var err error
	switch dataset {
	case XORTyDi:
		out, err = ScoreXORTyDi(items, texts)
	case MKQA, XQuAD:
		out, err = ScoreMKQA(items, texts)
	default:
		return nil, fmt.Errorf("unknown dataset %q", dataset)
	}
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = map[string][]Score{}
	}
	if out[MetricLang], err = ScoreLanguage(items, texts, det); err != nil {
		return nil, err
	}
	if dataset == XQuAD {
		if err := scoreXQuAD(out, items, preds, texts, det); err != nil {
			return nil, err
		}
		return out, nil
	}
	out[MetricRecall] = []Score{}
	for _, it := range items {
		r, ok := preds[it.Key()]
		if !ok {
			return nil, fmt.Errorf("eval: no prediction for %s item %s", it.Lang, it.ID)
		}
		if hit, ok := RecallAt2kt(r.Passages, it); ok {
			out[MetricRecall] = append(out[MetricRecall], Score{it.Key(), b2f(hit)})
		}
	}
	return out, nil
}

// scoreXQuAD adds XQuAD's F1 against each item's English golds (MKQA's
// English normalisation, ScoreF1English) and the line-level pass rate to out.
func scoreXQuAD(out map[string][]Score, items []Item, preds Predictions, texts map[Key]string, det *LangDetector) error {
	var err error
	if out[MetricF1English], err = ScoreF1English(items, texts); err != nil {
		return err
	}
	raw := make(map[Key]string, len(preds))
	for _, it := range items {
		r := preds[it.Key()]
		raw[it.Key()] = unlabeled(r.Raw)
		if strings.TrimSpace(r.Raw) == "" {
			raw[it.Key()] = r.Prediction
		}
	}
	out[MetricLines], err = ScoreLinePass(items, raw, det)
	return err
}

// unlabeled drops an "Answer:" label from the start of every line of raw,
// as CleanAnswer does from the prediction: the label the 1-shot prompt
// invites is the prompt's, not the reader's choice of language.
func unlabeled(raw string) string {
	lines := strings.Split(raw, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if len(l) >= 7 && strings.EqualFold(l[:7], "answer:") {
			l = l[7:]
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// Cell is one table cell: a system's mean of a metric over one language's
// items, or the macro average, with its test against the baseline.
type Cell struct {
	Mean float64
	N    int
	// Empty: no item of this language has this metric (e.g. every XOR item
	// of the language is unanswerable).
	Empty bool
	// Test is the paired t-test of this system minus the baseline over the
	// same items; nil on the baseline's row.
	Test        *TTest
	Significant bool
}

// Row is one system's row: one cell per language, then the average.
type Row struct {
	System string
	Label  string
	Cells  []Cell
}

// Table is one metric of one report, laid out like the paper's tables:
// systems as rows, languages then the average as columns.
type Table struct {
	Metric string
	Title  string
	Langs  []string
	Rows   []Row
}

// SignificanceLevel is the p-value below which a difference is marked.
const SignificanceLevel = 0.05

// MinMarkedDifference is the smallest difference of means that is marked
// significant: half the last digit the tables show (0.05 points). A
// t-test finds "significant" differences of 1e-80 between the official
// BLEU's near-zero scores (nltk's sys.float_info.min floor), which the
// tables would show as 0.0* otherwise. The CSV keeps every t and p.
const MinMarkedDifference = 0.0005

// BuildTable makes the table of one metric from each system's scores, in
// systems order. Cells of systems other than baseline carry the paired
// t-test against it (per language over its items; the average over all
// items pooled, as eval.Compare does).
func BuildTable(metric, title string, langs []string, systems []System, scores map[string][]Score, baseline string) (Table, error) {
	t := Table{Metric: metric, Title: title, Langs: langs}
	for _, s := range systems {
		sc := scores[s.Name]
		agg := Summarize(sc)
		means := map[string]LangMean{}
		for _, lm := range agg.Langs {
			means[lm.Lang] = lm
		}
		row := Row{System: s.Name, Label: s.Label()}
		var cmp map[string]Comparison
		if s.Name != baseline {
			if base, ok := scores[baseline]; ok {
				cs, err := Compare(sc, base, SignificanceLevel)
				if err != nil {
					return t, fmt.Errorf("%s vs %s, %s: %w", s.Name, baseline, metric, err)
				}
				cmp = map[string]Comparison{}
				for _, c := range cs {
					cmp[c.Lang] = c
				}
			}
		}
		cell := func(key string, mean float64, n int, empty bool) Cell {
			c := Cell{Mean: mean, N: n, Empty: empty}
			if cc, ok := cmp[key]; ok && !empty {
				tt := cc.TTest
				c.Test = &tt
				c.Significant = cc.Significant && math.Abs(cc.A-cc.B) >= MinMarkedDifference
			}
			return c
		}
		total := 0
		for _, l := range langs {
			lm, ok := means[l]
			row.Cells = append(row.Cells, cell(l, lm.Mean, lm.N, !ok))
			total += lm.N
		}
		row.Cells = append(row.Cells, cell("all", agg.Macro, total, len(agg.Langs) == 0))
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// SystemStats summarises one system's records.
type SystemStats struct {
	System, Label          string
	Items, NoResults       int
	PromptTokens           float64 // mean
	CompletionTokens       float64 // mean
	PassagesUsed, Passages float64 // means
	SteeredHeads           int     // most heads steered in one request
	ShotLangs              map[string]int
	QuestionLanguageHits   int // server runs: detected question language == item language
	QuestionLanguageSeen   int
}

// Report is a Markdown and CSV report of one dataset: the layout of the
// paper's Table 1 (XOR-TyDi) or Table 2 (MKQA).
type Report struct {
	Title    string
	Dataset  string
	Langs    []string
	Systems  []System
	Baseline string
	Settings [][2]string
	Tables   []Table
	Stats    []SystemStats
	Notes    []string
}

// DatasetName is a dataset's name in titles.
func DatasetName(dataset string) string {
	switch dataset {
	case XORTyDi:
		return "XOR-TyDi QA (XOR-Full)"
	case MKQA:
		return "MKQA"
	case XQuAD:
		return "XQuAD cross-lingual (English passages, questions in another language)"
	}
	return dataset
}

// TableName is the paper's table a dataset's report is laid out like.
func TableName(dataset string) string {
	switch dataset {
	case XORTyDi:
		return "Table 1: " + DatasetName(dataset)
	case MKQA:
		return "Table 2: " + DatasetName(dataset)
	case XQuAD:
		return DatasetName(dataset)
	}
	return dataset
}

// BuildReport scores every system's predictions of items and lays the
// results out per metric. preds maps system name to its predictions.
func BuildReport(dataset string, langs []string, items []Item, systems []System, preds map[string]Predictions, det *LangDetector) (*Report, error) {
	r := &Report{Title: TableName(dataset), Dataset: dataset, Langs: langs, Systems: systems, Baseline: systems[0].Name}
	for _, s := range systems {
		if s.Name == Baseline {
			r.Baseline = Baseline
		}
	}
	scores := map[string]map[string][]Score{} // metric -> system -> scores
	for _, s := range systems {
		sc, err := ScorePredictions(dataset, items, preds[s.Name], det)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		for m, v := range sc {
			if scores[m] == nil {
				scores[m] = map[string][]Score{}
			}
			scores[m][s.Name] = v
		}
		r.Stats = append(r.Stats, systemStats(s, items, preds[s.Name]))
	}
	for _, m := range Metrics(dataset) {
		systemsOf := systems
		if m == MetricRecall && samePassages(systems, items, preds) {
			// Retrieval does not depend on the system: one row.
			systemsOf = []System{{Name: systems[0].Name}}
		}
		t, err := BuildTable(m, MetricTitle(dataset, m), langs, systemsOf, scores[m], r.Baseline)
		if err != nil {
			return nil, err
		}
		if len(systemsOf) == 1 && len(systems) > 1 {
			t.Rows[0].Label = "retrieval (same passages for every system)"
		}
		r.Tables = append(r.Tables, t)
	}
	return r, nil
}

func samePassages(systems []System, items []Item, preds map[string]Predictions) bool {
	for _, it := range items {
		first := preds[systems[0].Name][it.Key()].Passages
		for _, s := range systems[1:] {
			if !slices.Equal(first, preds[s.Name][it.Key()].Passages) {
				return false
			}
		}
	}
	return true
}

func systemStats(s System, items []Item, p Predictions) SystemStats {
	st := SystemStats{System: s.Name, Label: s.Label(), Items: len(items), ShotLangs: map[string]int{}}
	for _, it := range items {
		r := p[it.Key()]
		if r.NoResults {
			st.NoResults++
		}
		st.PromptTokens += float64(r.PromptTokens)
		st.CompletionTokens += float64(r.CompletionTokens)
		st.PassagesUsed += float64(r.PassagesUsed)
		st.Passages += float64(len(r.Passages))
		st.SteeredHeads = max(st.SteeredHeads, r.SteeredHeads)
		if r.ShotLang != "" {
			st.ShotLangs[r.ShotLang]++
		}
		if r.QuestionLanguage != "" || r.NoResults {
			st.QuestionLanguageSeen++
			if r.QuestionLanguage == baseLang(it.Lang) {
				st.QuestionLanguageHits++
			}
		}
	}
	if n := float64(len(items)); n > 0 {
		st.PromptTokens /= n
		st.CompletionTokens /= n
		st.PassagesUsed /= n
		st.Passages /= n
	}
	return st
}

// pct formats a mean in [0,1] as a percentage with one decimal.
func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) }

// Markdown renders the report.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", r.Title)
	if len(r.Settings) > 0 {
		for _, kv := range r.Settings {
			fmt.Fprintf(&b, "- %s: %s\n", kv[0], kv[1])
		}
		b.WriteString("\n")
	}
	base := r.Baseline
	for _, s := range r.Systems {
		if s.Name == base {
			base = s.Label()
		}
	}
	fmt.Fprintf(&b, "Scores are percentages. A language column is the mean over that language's items; **Avg** is the macro average over the languages "+
		"(each language weighs the same, as in the paper and the official scripts). `*` marks a difference from %s that is significant in a "+
		"two-tailed paired t-test over the same items (p < %.2g; Avg: all items pooled) and at least 0.05 points. The last row gives the number of items scored.\n", base, SignificanceLevel)
	for _, t := range r.Tables {
		fmt.Fprintf(&b, "\n### %s\n\n", t.Title)
		b.WriteString("| System |")
		for _, l := range t.Langs {
			fmt.Fprintf(&b, " %s |", l)
		}
		b.WriteString(" Avg |\n|:--|")
		for range len(t.Langs) + 1 {
			b.WriteString("--:|")
		}
		b.WriteString("\n")
		for _, row := range t.Rows {
			fmt.Fprintf(&b, "| %s |", row.Label)
			for _, c := range row.Cells {
				if c.Empty {
					b.WriteString(" – |")
					continue
				}
				mark := ""
				if c.Significant {
					mark = "*"
				}
				fmt.Fprintf(&b, " %s%s |", pct(c.Mean), mark)
			}
			b.WriteString("\n")
		}
		if len(t.Rows) > 0 {
			b.WriteString("| n |")
			for _, c := range t.Rows[0].Cells {
				fmt.Fprintf(&b, " %d |", c.N)
			}
			b.WriteString("\n")
		}
	}
	if len(r.Stats) > 0 {
		b.WriteString("\n### Runs\n\n| System | items | no search results | passages (used) | prompt tokens | answer tokens | steered heads | 1-shot example languages |\n|:--|--:|--:|--:|--:|--:|--:|:--|\n")
		for _, s := range r.Stats {
			shots := "–"
			if len(s.ShotLangs) > 0 {
				var parts []string
				for _, l := range sortedKeys(s.ShotLangs) {
					parts = append(parts, fmt.Sprintf("%s ×%d", l, s.ShotLangs[l]))
				}
				shots = strings.Join(parts, ", ")
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %.1f (%.1f) | %.0f | %.1f | %d | %s |\n",
				s.Label, s.Items, s.NoResults, s.Passages, s.PassagesUsed, s.PromptTokens, s.CompletionTokens, s.SteeredHeads, shots)
		}
		for _, s := range r.Stats {
			if s.QuestionLanguageSeen > 0 {
				fmt.Fprintf(&b, "\nThe server detected the question's language correctly for %d of %d questions.\n", s.QuestionLanguageHits, s.QuestionLanguageSeen)
				break
			}
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	return b.String()
}

// CSVHeader is the header of WriteCSV's file.
var CSVHeader = []string{"dataset", "metric", "system", "lang", "n", "mean", "baseline_mean", "diff", "t", "p", "significant"}

// WriteCSV writes every cell: one line per (metric, system, language or
// "avg"), means as fractions in [0,1], and the t-test against the
// baseline (empty on the baseline's rows).
func (r *Report) WriteCSV(path string) error {
	return writeFile(path, func(w *bufio.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(CSVHeader); err != nil {
			return err
		}
		f := func(v float64) string {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return strconv.FormatFloat(v, 'g', -1, 64)
			}
			return strconv.FormatFloat(v, 'g', 10, 64)
		}
		for _, t := range r.Tables {
			var baseRow *Row
			for i := range t.Rows {
				if t.Rows[i].System == r.Baseline {
					baseRow = &t.Rows[i]
				}
			}
			for _, row := range t.Rows {
				for i, c := range row.Cells {
					if c.Empty {
						continue
					}
					lang := "avg"
					if i < len(t.Langs) {
						lang = t.Langs[i]
					}
					rec := []string{r.Dataset, t.Metric, row.System, lang, strconv.Itoa(c.N), f(c.Mean), "", "", "", "", ""}
					if c.Test != nil && baseRow != nil {
						rec[6] = f(baseRow.Cells[i].Mean)
						rec[7] = f(c.Mean - baseRow.Cells[i].Mean)
						rec[8] = f(c.Test.T)
						rec[9] = f(c.Test.P)
						rec[10] = strconv.FormatBool(c.Significant)
					}
					if err := cw.Write(rec); err != nil {
						return err
					}
				}
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
