package probes

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Sample is one labelled prompt; Label 1 is always the desired class (answer
// present / same language), so a probe trained on it points its weight vector
// towards the direction the reader is steered to.
type Sample struct {
	Text  string `json:"text"`
	Label int    `json:"label"`
}

// Dataset is the labelled prompt set of one attribute, ready for activation
// capture.
type Dataset struct {
	// Attribute is "AC" (accuracy in content) or "CL" (coherence in language).
	Attribute string `json:"attribute"`
	// Description is a human summary of how the set was built; it is
	// recorded in the steering profile so that a profile can be traced back
	// to its data, e.g. "CL: 20 sentences x 10 languages (de es ...),
	// 3800+3800 pairs, seed 1, from probes/testdata/sentences.jsonl".
	Description string   `json:"description"`
	Samples     []Sample `json:"samples"`
}

// dataRNGStream is the fixed second word of every PCG seed used here, so that
// a single user-facing uint64 seed fully determines the output.
const dataRNGStream = 0x41534d52 // "ASMR"

func newDataRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, dataRNGStream)) }

// maxJSONLLine bounds one JSONL line; NQ passages can be long.
const maxJSONLLine = 64 << 20

// forEachJSONL calls fn for every non-blank line of r with its 1-based line
// number. name is only used in error messages.
func forEachJSONL(r io.Reader, name string, fn func(line int, data []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLLine)
	for n := 1; sc.Scan(); n++ {
		data := bytes.TrimSpace(sc.Bytes())
		if len(data) == 0 {
			continue
		}
		if err := fn(n, data); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// ---------------------------------------------------------------------------
// AC: accuracy in content

// ACRecord is one (question, passage) pair for the AC attribute; Label is 1
// when the passage contains the answer and 0 when it does not.
type ACRecord struct {
	Question string `json:"question"`
	Passage  string `json:"passage"`
	Label    int    `json:"label"`
}

// ReadAC reads AC records from a JSONL file, one {question, passage, label}
// object per line (blank lines ignored). Every line is validated: question
// and passage must be non-empty and label must be present and 0 or 1, so a
// broken data file fails before minutes of activation capture; errors name
// the file, line number and field.
func ReadAC(path string) ([]ACRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read AC data: %w", err)
	}
	defer f.Close()
	return ParseAC(f, path)
}

// ParseAC is ReadAC for a reader; name is used in error messages.
func ParseAC(r io.Reader, path string) ([]ACRecord, error) {
	var recs []ACRecord
	err := forEachJSONL(r, path, func(n int, data []byte) error {
		var raw struct {
			Question *string `json:"question"`
			Passage  *string `json:"passage"`
			Label    *int    `json:"label"`
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
		var rec ACRecord
		for _, fld := range []struct {
			name string
			src  *string
			dst  *string
		}{{"question", raw.Question, &rec.Question}, {"passage", raw.Passage, &rec.Passage}} {
			if fld.src == nil || strings.TrimSpace(*fld.src) == "" {
				return fmt.Errorf("%s:%d: field %q is missing or empty", path, n, fld.name)
			}
			*fld.dst = strings.TrimSpace(*fld.src)
		}
		switch {
		case raw.Label == nil:
			return fmt.Errorf("%s:%d: field \"label\" is missing", path, n)
		case *raw.Label != 0 && *raw.Label != 1:
			return fmt.Errorf("%s:%d: field \"label\" is %d, want 0 or 1", path, n, *raw.Label)
		}
		rec.Label = *raw.Label
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: no AC records", path)
	}
	return recs, nil
}

// ACPrompt is the text probed for the AC attribute:
//
//	Question: <question>
//	Passage: <passage>
//	Does the passage answer the question?
//
// The fixed closing question makes the last token (the one whose head
// activations are captured) the same for every sample, so the probe sees the
// model's judgement of the pair rather than the accident of how the passage
// ends.
func ACPrompt(question, passage string) string {
	return "Question: " + strings.TrimSpace(question) +
		"\nPassage: " + strings.TrimSpace(passage) +
		"\nDoes the passage answer the question?"
}

// ACDataset turns AC records into the AC dataset, one ACPrompt per record in
// input order; source (a path or short name) is recorded in the description.
func ACDataset(recs []ACRecord, source string) Dataset {
	ds := Dataset{Attribute: "AC", Samples: make([]Sample, 0, len(recs))}
	var pos int
	questions := map[string]bool{}
	for _, r := range recs {
		ds.Samples = append(ds.Samples, Sample{Text: ACPrompt(r.Question, r.Passage), Label: r.Label})
		pos += r.Label
		questions[r.Question] = true
	}
	ds.Description = fmt.Sprintf("AC: %d questions, %d with-answer + %d without-answer passages", len(questions), pos, len(recs)-pos)
	if source != "" {
		ds.Description += ", from " + source
	}
	return ds
}

// NQRecord is one input record of ConvertNQ, a JSONL line
//
//	{"question": "...", "answers": ["...", ...], "passages": ["...", ...]}
//
// Question is the query; Answers are its accepted short answers (as in
// Natural Questions, any one is correct); Passages are candidate texts, e.g.
// the positive and (hard) negative contexts of a DPR NQ-dev record. A passage
// "contains an answer" if any non-empty answer string occurs in it, compared
// case-insensitively after collapsing runs of whitespace to one space.
type NQRecord struct {
	Question string   `json:"question"`
	Answers  []string `json:"answers"`
	Passages []string `json:"passages"`
}

// ConvertStats counts what ConvertNQ did. Questions counts input records,
// Written the AC records written (two per kept question), and the Skipped
// fields the questions dropped because no passage contains an answer
// (SkippedNoPositive, checked first) or every passage does
// (SkippedNoNegative).
type ConvertStats struct {
	Questions         int
	Written           int
	SkippedNoPositive int
	SkippedNoNegative int
}

// ConvertNQ converts NQRecord JSONL from r into AC JSONL (ACRecord lines, the
// input of ReadAC) on w. For each question it writes exactly one positive
// pair (a passage containing an answer, label 1) followed by one negative
// pair (a passage without any answer, label 0), each chosen uniformly among
// its kind with an RNG seeded by seed, so the classes stay balanced and the
// output is reproducible. Questions lacking either kind are skipped and
// counted.
func ConvertNQ(r io.Reader, w io.Writer, seed uint64) (ConvertStats, error) {
	var st ConvertStats
	rng := newDataRNG(seed)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	err := forEachJSONL(r, "NQ input", func(n int, data []byte) error {
		var rec NQRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			return fmt.Errorf("NQ input line %d: %w", n, err)
		}
		if strings.TrimSpace(rec.Question) == "" {
			return fmt.Errorf("NQ input line %d: field \"question\" is missing or empty", n)
		}
		st.Questions++
		var answers []string
		for _, a := range rec.Answers {
			if a = normalizeForMatch(a); a != "" {
				answers = append(answers, a)
			}
		}
		var pos, neg []string
		for _, p := range rec.Passages {
			if strings.TrimSpace(p) == "" {
				continue
			}
			if containsAnswer(normalizeForMatch(p), answers) {
				pos = append(pos, p)
			} else {
				neg = append(neg, p)
			}
		}
		switch {
		case len(pos) == 0:
			st.SkippedNoPositive++
			return nil
		case len(neg) == 0:
			st.SkippedNoNegative++
			return nil
		}
		q := strings.TrimSpace(rec.Question)
		for _, out := range []ACRecord{
			{Question: q, Passage: strings.TrimSpace(pos[rng.IntN(len(pos))]), Label: 1},
			{Question: q, Passage: strings.TrimSpace(neg[rng.IntN(len(neg))]), Label: 0},
		} {
			if err := enc.Encode(out); err != nil {
				return fmt.Errorf("write AC record: %w", err)
			}
			st.Written++
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("convert NQ: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("convert NQ: write: %w", err)
	}
	return st, nil
}

// normalizeForMatch lower-cases s and collapses whitespace, the comparison
// form used to decide whether a passage contains an answer.
func normalizeForMatch(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

func containsAnswer(normPassage string, normAnswers []string) bool {
	for _, a := range normAnswers {
		if strings.Contains(normPassage, a) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// CL: coherence in language

// Sentence is one monolingual sentence; Lang is an ISO 639-1 code ("de") or,
// for languages without one in floresCodes, a FLORES-200 code.
type Sentence struct {
	Lang string `json:"lang"`
	Text string `json:"text"`
}

// DefaultCLLanguages are the paper's ten CL probing languages.
var DefaultCLLanguages = []string{"de", "es", "fr", "it", "nl", "pt", "th", "tr", "vi", "zh"}

// floresCodes maps ISO 639-1 codes to FLORES-200 file codes. Arabic is
// Modern Standard Arabic, arb_Arab in FLORES-200 (ara_Arab is also tried).
var floresCodes = map[string][]string{
	"ar": {"arb_Arab", "ara_Arab"}, "bn": {"ben_Beng"}, "cs": {"ces_Latn"},
	"da": {"dan_Latn"}, "de": {"deu_Latn"}, "el": {"ell_Grek"},
	"en": {"eng_Latn"}, "es": {"spa_Latn"}, "fa": {"pes_Arab"},
	"fi": {"fin_Latn"}, "fr": {"fra_Latn"}, "he": {"heb_Hebr"},
	"hi": {"hin_Deva"}, "hu": {"hun_Latn"}, "id": {"ind_Latn"},
	"it": {"ita_Latn"}, "ja": {"jpn_Jpan"}, "ko": {"kor_Hang"},
	"nl": {"nld_Latn"}, "pl": {"pol_Latn"}, "pt": {"por_Latn"},
	"ro": {"ron_Latn"}, "ru": {"rus_Cyrl"}, "sv": {"swe_Latn"},
	"sw": {"swh_Latn"}, "te": {"tel_Telu"}, "th": {"tha_Thai"},
	"tr": {"tur_Latn"}, "uk": {"ukr_Cyrl"}, "vi": {"vie_Latn"},
	"zh": {"zho_Hans"},
}

// canonicalLang maps a language given as an ISO 639-1 code or a FLORES-200
// code (any case) to the name used in Sentence.Lang: the ISO code when one is
// known, otherwise the FLORES code as "xxx_Scrp". ok is false for a code that
// is neither a known ISO code nor FLORES-shaped.
func canonicalLang(s string) (string, bool) {
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	if _, ok := floresCodes[lower]; ok {
		return lower, true
	}
	for iso, codes := range floresCodes {
		for _, c := range codes {
			if strings.EqualFold(c, s) {
				return iso, true
			}
		}
	}
	if lang, script, ok := strings.Cut(s, "_"); ok && len(lang) == 3 && len(script) == 4 {
		return strings.ToLower(lang) + "_" + strings.ToUpper(script[:1]) + strings.ToLower(script[1:]), true
	}
	return s, false
}

// ReadSentences reads CL sentences from a JSONL file of {lang, text} objects
// (blank lines ignored); lang and text must be non-empty.
func ReadSentences(path string) ([]Sentence, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read sentences: %w", err)
	}
	defer f.Close()
	return ParseSentences(f, path)
}

// ParseSentences is ReadSentences for a reader; name is used in errors.
func ParseSentences(r io.Reader, path string) ([]Sentence, error) {
	var out []Sentence
	err := forEachJSONL(r, path, func(n int, data []byte) error {
		var s Sentence
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
		s.Lang, s.Text = strings.TrimSpace(s.Lang), strings.TrimSpace(s.Text)
		switch {
		case s.Lang == "":
			return fmt.Errorf("%s:%d: field \"lang\" is missing or empty", path, n)
		case s.Text == "":
			return fmt.Errorf("%s:%d: field \"text\" is missing or empty", path, n)
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no sentences", path)
	}
	return out, nil
}

// ReadFlores reads the devtest split of a FLORES-200 directory for langs
// (DefaultCLLanguages when empty). A language is an ISO 639-1 code ("de",
// mapped to deu_Latn) or a FLORES-200 code ("deu_Latn"). Files are looked up
// as <dir>/devtest/<code>.devtest, then <dir>/<code>.devtest (dir is the
// devtest folder itself), then the same two without the extension; one
// sentence per line, blank lines skipped. Returned sentences carry the
// canonical language (the ISO code where known), in langs order then file
// order.
func ReadFlores(dir string, langs []string) ([]Sentence, error) {
	if len(langs) == 0 {
		langs = DefaultCLLanguages
	}
	var out []Sentence
	for _, l := range langs {
		lang, ok := canonicalLang(l)
		if !ok {
			return nil, fmt.Errorf("read FLORES: unknown language %q: use an ISO 639-1 code with a known FLORES mapping or a FLORES-200 code such as deu_Latn", l)
		}
		codes := floresCodes[lang]
		if codes == nil {
			codes = []string{lang}
		}
		var candidates []string
		for _, c := range codes {
			candidates = append(candidates,
				filepath.Join(dir, "devtest", c+".devtest"), filepath.Join(dir, c+".devtest"),
				filepath.Join(dir, "devtest", c), filepath.Join(dir, c))
		}
		path, err := firstRegularFile(candidates)
		if err != nil {
			return nil, fmt.Errorf("read FLORES: language %q: %w", l, err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read FLORES: %w", err)
		}
		n := len(out)
		for line := range strings.Lines(string(data)) {
			if t := strings.TrimSpace(line); t != "" {
				out = append(out, Sentence{Lang: lang, Text: t})
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("read FLORES: %s: no sentences", path)
		}
	}
	return out, nil
}

// firstRegularFile returns the first candidate that is a regular file; when
// none is, the error names the first (the expected layout) and the others
// tried.
func firstRegularFile(candidates []string) (string, error) {
	for _, p := range candidates {
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("expected file %s (also tried %s)", candidates[0], strings.Join(candidates[1:], ", "))
}

// PairOptions configures BuildCLPairs; zero values mean the paper's settings.
type PairOptions struct {
	Languages   []string // ISO 639-1 or FLORES-200 codes; default DefaultCLLanguages
	PerLanguage int      // sentences drawn per language; default 20
	Same        int      // same-language (label 1) pairs; default 3800
	Different   int      // different-language (label 0) pairs; default 3800
	Seed        uint64
	// Source, when set, is recorded in the Description (e.g. the input path).
	Source string
}

// BuildCLPairs builds the CL dataset with the paper's recipe. It draws
// PerLanguage distinct sentences per language (seeded; an error names a
// language with too few), then makes Same label-1 pairs of two different
// sentences of one language and Different label-0 pairs of sentences from two
// different languages, each pair's text being s1 + " " + s2. Pairs are
// sampled from all ordered pairs of their kind, so the language of a
// same-language pair is uniform: without replacement when there are enough
// (20 sentences x 10 languages give 10*20*19 = 3800 ordered same-language
// pairs, exactly the paper's count, and 200*180 different-language ones),
// otherwise every pair is used equally often, up to one. The output is
// shuffled; the same sentences, options and seed give the same dataset.
func BuildCLPairs(sents []Sentence, o PairOptions) (Dataset, error) {
	langs := o.Languages
	if len(langs) == 0 {
		langs = DefaultCLLanguages
	}
	per, same, diff := orDefault(o.PerLanguage, 20), orDefault(o.Same, 3800), orDefault(o.Different, 3800)
	switch {
	case per < 2 || same < 0 || diff < 0:
		return Dataset{}, fmt.Errorf("build CL pairs: need PerLanguage >= 2 and non-negative pair counts, got %d, %d, %d", per, same, diff)
	case len(langs) < 2:
		return Dataset{}, fmt.Errorf("build CL pairs: need at least 2 languages, got %v", langs)
	}

	// Distinct sentences per canonical language, in input order.
	byLang := map[string][]string{}
	seen := map[string]bool{}
	for _, s := range sents {
		l, _ := canonicalLang(s.Lang)
		t := strings.TrimSpace(s.Text)
		if t == "" || seen[l+"\x00"+t] {
			continue
		}
		seen[l+"\x00"+t] = true
		byLang[l] = append(byLang[l], t)
	}

	rng := newDataRNG(o.Seed)
	names := make([]string, len(langs))
	pool := make([]string, 0, len(langs)*per) // language blocks of `per` sentences
	for i, l := range langs {
		c, _ := canonicalLang(l)
		for _, prev := range names[:i] {
			if prev == c {
				return Dataset{}, fmt.Errorf("build CL pairs: language %q listed twice", l)
			}
		}
		names[i] = c
		have := byLang[c]
		switch {
		case len(have) == 0:
			return Dataset{}, fmt.Errorf("build CL pairs: no sentences for language %q", l)
		case len(have) < per:
			return Dataset{}, fmt.Errorf("build CL pairs: language %q has %d distinct sentences, need %d", l, len(have), per)
		}
		pick := append([]string(nil), have...)
		rng.Shuffle(len(pick), func(a, b int) { pick[a], pick[b] = pick[b], pick[a] })
		pool = append(pool, pick[:per]...)
	}

	L, T := len(langs), len(langs)*per
	samples := make([]Sample, 0, same+diff)
	// Same-language ordered pair k: language k/(per*(per-1)), then first and
	// (different) second sentence within it.
	for _, k := range sampleIndices(rng, L*per*(per-1), same) {
		l, r := k/(per*(per-1)), k%(per*(per-1))
		i, j := r/(per-1), r%(per-1)
		if j >= i {
			j++
		}
		samples = append(samples, Sample{Text: pool[l*per+i] + " " + pool[l*per+j], Label: 1})
	}
	// Different-language ordered pair k: first sentence a = k/(T-per), second
	// the (k%(T-per))-th sentence outside a's language block.
	for _, k := range sampleIndices(rng, T*(T-per), diff) {
		a, b := k/(T-per), k%(T-per)
		if b >= a/per*per {
			b += per
		}
		samples = append(samples, Sample{Text: pool[a] + " " + pool[b], Label: 0})
	}
	rng.Shuffle(len(samples), func(a, b int) { samples[a], samples[b] = samples[b], samples[a] })

	desc := fmt.Sprintf("CL: %d sentences x %d languages (%s), %d+%d pairs, seed %d",
		per, L, strings.Join(names, " "), same, diff, o.Seed)
	if o.Source != "" {
		desc += ", from " + o.Source
	}
	return Dataset{Attribute: "CL", Description: desc, Samples: samples}, nil
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// sampleIndices draws count indices from [0, n): without replacement when
// count <= n (Floyd's algorithm, O(count) memory even for large n), otherwise
// every index count/n times plus a without-replacement draw for the rest, so
// repeats are as few and as even as possible. Callers shuffle the result.
func sampleIndices(rng *rand.Rand, n, count int) []int {
	out := make([]int, 0, count)
	for ; count >= n && n > 0; count -= n {
		for i := range n {
			out = append(out, i)
		}
	}
	if count == 0 || n == 0 {
		return out
	}
	chosen := make(map[int]bool, count)
	for j := n - count; j < n; j++ {
		t := rng.IntN(j + 1)
		if chosen[t] {
			t = j
		}
		chosen[t] = true
		out = append(out, t)
	}
	return out
}
