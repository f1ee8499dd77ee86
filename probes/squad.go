package probes

// SQuAD v1.1 / XQuAD data for probing: a strict reader, AC pairs built from
// questions and paragraphs (as the paper does with Natural Questions), and CL
// sentences split out of XQuAD's parallel paragraphs.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SQuAD is one file in the SQuAD v1.1 format, as used by SQuAD and XQuAD:
//
//	{"version": "1.1", "data": [{"title": "...", "paragraphs": [{"context": "...",
//	  "qas": [{"id": "...", "question": "...", "answers": [{"text": "...", "answer_start": N}]}]}]}]}
//
// Byte order marks (U+FEFF, found at the start of some XQuAD contexts) are
// removed from every string on reading, and answer offsets are shifted to
// match, so Context is the paragraph text as it should be shown.
type SQuAD struct {
	// Name is the path (ReadSQuAD) or the name given to ParseSQuAD.
	Name     string
	Version  string
	Articles []SQuADArticle
	// Unanswerable counts SQuAD 2.0 questions marked "is_impossible": true;
	// they have no answer in their paragraph and are left out of Questions.
	Unanswerable int
	// Warnings lists answers whose answer_start does not point at their
	// text although the text occurs in the context; their Start was moved
	// to the nearest occurrence. It is empty for every XQuAD file (measured
	// on the development half: all 612 answers of all 12 languages match).
	Warnings []string
}

// SQuADArticle is one entry of "data": a Wikipedia article.
type SQuADArticle struct {
	Title      string
	Paragraphs []SQuADParagraph
}

// SQuADParagraph is one paragraph with the questions asked about it.
type SQuADParagraph struct {
	Context   string
	Questions []SQuADQuestion
}

// SQuADQuestion is one entry of "qas".
type SQuADQuestion struct {
	ID      string
	Text    string // the "question" field
	Answers []SQuADAnswer
}

// SQuADAnswer is one accepted answer: Text occurs in the paragraph's Context
// at rune (Unicode code point) offset Start, the unit of SQuAD's
// answer_start (a Python string index).
type SQuADAnswer struct {
	Text  string
	Start int
}

// NumParagraphs is the number of paragraphs over all articles.
func (s *SQuAD) NumParagraphs() int {
	n := 0
	for _, a := range s.Articles {
		n += len(a.Paragraphs)
	}
	return n
}

// NumQuestions is the number of (answerable) questions over all paragraphs.
func (s *SQuAD) NumQuestions() int {
	n := 0
	for _, a := range s.Articles {
		for _, p := range a.Paragraphs {
			n += len(p.Questions)
		}
	}
	return n
}

// DataError reports every problem found in a data file (or set of files) at
// once; each problem starts with its location, e.g.
// "data[2].paragraphs[0].qas[3].answers[0]: empty text".
type DataError struct {
	Name     string
	Problems []string
}

// maxShownProblems bounds how many problems DataError.Error prints; all of
// them stay in Problems.
const maxShownProblems = 25

func (e *DataError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem", e.Name, len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString(":")
	for i, p := range e.Problems {
		if i == maxShownProblems {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Problems)-i)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(p)
	}
	return b.String()
}

// ReadSQuAD reads a SQuAD v1.1-format file (SQuAD, XQuAD, or any file of the
// same shape); see ParseSQuAD.
func ReadSQuAD(path string) (*SQuAD, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read SQuAD: %w", err)
	}
	defer f.Close()
	return ParseSQuAD(f, path)
}

// ParseSQuAD parses and validates SQuAD v1.1-format JSON; name is used in
// errors. Validation is strict and complete: "data" must be a non-empty list
// of articles, each with a title and at least one paragraph; every paragraph
// needs a non-empty context and a "qas" list (possibly empty); every
// question a unique non-empty id, a non-empty question and at least one
// answer (unless SQuAD 2.0's "is_impossible" is true, then it is counted in
// Unanswerable and skipped); every answer a non-empty text and an integer
// answer_start >= 0. An answer whose text does not occur in its context is an
// error; one whose text occurs but not at answer_start is a Warning. Unknown
// fields are ignored. All problems are returned together in a *DataError.
func ParseSQuAD(r io.Reader, name string) (*SQuAD, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read SQuAD %s: %w", name, err)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(data, se.Offset)
			return nil, fmt.Errorf("%s:%d:%d: %w", name, line, col, err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%s: top level: not a JSON object", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &squadParser{s: &SQuAD{Name: name}, ids: map[string]string{}}
	if v, ok := top["version"]; ok && !isNull(v) {
		if err := json.Unmarshal(v, &p.s.Version); err != nil {
			p.problem("version: not a string")
		}
	}
	articles := p.array(top, "data", "")
	if articles != nil && len(articles) == 0 {
		p.problem("data: no articles")
	}
	for i, raw := range articles {
		p.article(raw, fmt.Sprintf("data[%d]", i))
	}
	if len(p.problems) > 0 {
		return nil, &DataError{Name: name, Problems: p.problems}
	}
	return p.s, nil
}

// lineCol converts a byte offset (as in json.SyntaxError, the offset after
// the bad byte) into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	off = min(max(off, 1), int64(len(data)))
	before := data[:off-1]
	line = bytes.Count(before, []byte("\n")) + 1
	return line, len(before) - bytes.LastIndexByte(before, '\n')
}

type squadParser struct {
	s        *SQuAD
	problems []string
	ids      map[string]string // question id -> location of first use
}

func (p *squadParser) problem(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func at(loc, key string) string {
	if loc == "" {
		return key
	}
	return loc + "." + key
}

// object decodes raw as a JSON object, reporting a problem at loc otherwise.
func (p *squadParser) object(raw json.RawMessage, loc string) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &m) != nil {
		p.problem("%s: not an object", loc)
		return nil
	}
	return m
}

// array decodes m[key] as a JSON array; a missing key or a value of another
// type is a problem and gives nil.
func (p *squadParser) array(m map[string]json.RawMessage, key, loc string) []json.RawMessage {
	raw, ok := m[key]
	if !ok || isNull(raw) {
		p.problem("%s: missing %s", locOr(loc), key)
		return nil
	}
	var a []json.RawMessage
	if json.Unmarshal(raw, &a) != nil {
		p.problem("%s: not a list", at(loc, key))
		return nil
	}
	if a == nil {
		a = []json.RawMessage{}
	}
	return a
}

// text decodes m[key] as a string with byte order marks removed; a missing,
// non-string or blank value is a problem.
func (p *squadParser) text(m map[string]json.RawMessage, key, loc string) (string, bool) {
	raw, ok := m[key]
	if !ok || isNull(raw) {
		p.problem("%s: missing %s", locOr(loc), key)
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		p.problem("%s: not a string", at(loc, key))
		return "", false
	}
	s = strings.ReplaceAll(s, "\ufeff", "")
	if strings.TrimSpace(s) == "" {
		p.problem("%s: empty %s", locOr(loc), key)
		return "", false
	}
	return s, true
}

func locOr(loc string) string {
	if loc == "" {
		return "top level"
	}
	return loc
}

func (p *squadParser) article(raw json.RawMessage, loc string) {
	m := p.object(raw, loc)
	if m == nil {
		return
	}
	var a SQuADArticle
	a.Title, _ = p.text(m, "title", loc)
	paras := p.array(m, "paragraphs", loc)
	if paras != nil && len(paras) == 0 {
		p.problem("%s: no paragraphs", loc)
	}
	for i, raw := range paras {
		if para, ok := p.paragraph(raw, fmt.Sprintf("%s.paragraphs[%d]", loc, i)); ok {
			a.Paragraphs = append(a.Paragraphs, para)
		}
	}
	p.s.Articles = append(p.s.Articles, a)
}

func (p *squadParser) paragraph(raw json.RawMessage, loc string) (SQuADParagraph, bool) {
	m := p.object(raw, loc)
	if m == nil {
		return SQuADParagraph{}, false
	}
	var para SQuADParagraph
	// The context is read without the BOM-stripping of text, because answer
	// offsets count the BOMs of the file's context.
	var rawCtx string
	ctxOK := false
	if c, ok := m["context"]; !ok || isNull(c) {
		p.problem("%s: missing context", loc)
	} else if json.Unmarshal(c, &rawCtx) != nil {
		p.problem("%s.context: not a string", loc)
	} else if strings.TrimSpace(strings.ReplaceAll(rawCtx, "\ufeff", "")) == "" {
		p.problem("%s: empty context", loc)
	} else {
		ctxOK = true
	}
	ctx := newContextIndex(rawCtx)
	para.Context = ctx.text
	for i, raw := range p.array(m, "qas", loc) {
		if q, ok := p.question(raw, fmt.Sprintf("%s.qas[%d]", loc, i), ctx, ctxOK); ok {
			para.Questions = append(para.Questions, q)
		}
	}
	return para, true
}

func (p *squadParser) question(raw json.RawMessage, loc string, ctx *contextIndex, ctxOK bool) (SQuADQuestion, bool) {
	m := p.object(raw, loc)
	if m == nil {
		return SQuADQuestion{}, false
	}
	var q SQuADQuestion
	ok := true
	if id, idOK := p.text(m, "id", loc); idOK {
		if first, dup := p.ids[id]; dup {
			p.problem("%s: duplicate id %q (first at %s)", loc, id, first)
		} else {
			p.ids[id] = loc
		}
		q.ID = id
	} else {
		ok = false
	}
	if t, tOK := p.text(m, "question", loc); tOK {
		q.Text = strings.TrimSpace(t)
	} else {
		ok = false
	}
	impossible := false
	if v, has := m["is_impossible"]; has && !isNull(v) {
		if json.Unmarshal(v, &impossible) != nil {
			p.problem("%s.is_impossible: not a boolean", loc)
		}
	}
	answers := p.array(m, "answers", loc)
	if impossible {
		p.s.Unanswerable++
		return q, false
	}
	if answers != nil && len(answers) == 0 {
		p.problem("%s: no answers", loc)
	}
	for i, raw := range answers {
		if a, aOK := p.answer(raw, fmt.Sprintf("%s.answers[%d]", loc, i), ctx, ctxOK); aOK {
			q.Answers = append(q.Answers, a)
		}
	}
	return q, ok && len(q.Answers) > 0
}

func (p *squadParser) answer(raw json.RawMessage, loc string, ctx *contextIndex, ctxOK bool) (SQuADAnswer, bool) {
	m := p.object(raw, loc)
	if m == nil {
		return SQuADAnswer{}, false
	}
	text, textOK := p.text(m, "text", loc)
	start, startOK := -1, false
	switch v, has := m["answer_start"]; {
	case !has || isNull(v):
		p.problem("%s: missing answer_start", loc)
	default:
		var f float64
		if json.Unmarshal(v, &f) != nil || f != math.Trunc(f) || f < 0 || f > math.MaxInt32 {
			p.problem("%s: answer_start %s is not an integer >= 0", loc, bytes.TrimSpace(v))
		} else {
			start, startOK = int(f), true
		}
	}
	if !textOK || !startOK || !ctxOK {
		return SQuADAnswer{}, false
	}
	want := []rune(text)
	s := ctx.shift(start)
	if s >= 0 && slices.Equal(ctx.runes[s:min(s+len(want), len(ctx.runes))], want) {
		return SQuADAnswer{Text: text, Start: s}, true
	}
	found := ctx.nearest(want, max(s, 0))
	if found < 0 {
		p.problem("%s: text %q does not occur in the context", loc, text)
		return SQuADAnswer{}, false
	}
	p.s.Warnings = append(p.s.Warnings, fmt.Sprintf("%s: answer_start %d does not point at %q; using its occurrence at %d", loc, start, text, found))
	return SQuADAnswer{Text: text, Start: found}, true
}

// contextIndex is a context with its byte order marks removed, as runes, and
// the map from the file's rune offsets (which count the BOMs) to offsets in
// the cleaned text.
type contextIndex struct {
	text      string
	runes     []rune
	bomBefore []int // bomBefore[i]: BOMs among the first i runes of the raw context; nil if none
}

func newContextIndex(raw string) *contextIndex {
	c := &contextIndex{text: raw}
	if strings.ContainsRune(raw, '\ufeff') {
		rs := []rune(raw)
		c.bomBefore = make([]int, len(rs)+1)
		for i, r := range rs {
			c.bomBefore[i+1] = c.bomBefore[i]
			if r == '\ufeff' {
				c.bomBefore[i+1]++
			}
		}
		c.text = strings.ReplaceAll(raw, "\ufeff", "")
	}
	c.runes = []rune(c.text)
	return c
}

// shift maps a raw offset to a cleaned one; -1 when it is out of range.
func (c *contextIndex) shift(raw int) int {
	if c.bomBefore == nil {
		if raw > len(c.runes) {
			return -1
		}
		return raw
	}
	if raw >= len(c.bomBefore) {
		return -1
	}
	return raw - c.bomBefore[raw]
}

// nearest is the rune offset of the occurrence of want closest to near, or
// -1 when want does not occur.
func (c *contextIndex) nearest(want []rune, near int) int {
	best := -1
	for i := 0; i+len(want) <= len(c.runes); i++ {
		if slices.Equal(c.runes[i:i+len(want)], want) && (best < 0 || abs(i-near) < abs(best-near)) {
			best = i
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// XQuADLanguages are the twelve languages of XQuAD (English is the
// original, the others professional translations).
var XQuADLanguages = []string{"ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"}

// ReadXQuADDir reads <dir>/xquad.<lang>.json for each language of langs
// (XQuADLanguages when empty; ISO 639-1 or FLORES-200 codes, keyed by the
// ISO code) and checks that the files are parallel (CheckParallel against
// the first language). Every unreadable or invalid file and every mismatch
// is reported in one *DataError.
func ReadXQuADDir(dir string, langs []string) (map[string]*SQuAD, error) {
	if len(langs) == 0 {
		langs = XQuADLanguages
	}
	out := map[string]*SQuAD{}
	var problems []string
	var order []string
	for _, l := range langs {
		lang, _ := canonicalLang(l)
		if lang == "" {
			problems = append(problems, "empty language in the list")
			continue
		}
		if slices.Contains(order, lang) {
			problems = append(problems, fmt.Sprintf("language %q listed twice", l))
			continue
		}
		order = append(order, lang)
		path := filepath.Join(dir, "xquad."+lang+".json")
		s, err := ReadSQuAD(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			problems = append(problems, fmt.Sprintf("%s: no such file (XQuAD languages are %s)", path, strings.Join(XQuADLanguages, " ")))
		case err != nil:
			problems = append(problems, err.Error())
		default:
			out[lang] = s
		}
	}
	var ref string
	for _, lang := range order {
		s := out[lang]
		if s == nil {
			continue
		}
		if ref == "" {
			ref = lang
			continue
		}
		problems = append(problems, CheckParallel(out[ref], s)...)
	}
	if len(problems) > 0 {
		return nil, &DataError{Name: "read XQuAD " + dir, Problems: problems}
	}
	return out, nil
}

// CheckParallel lists where b is not parallel to a: a different number of
// articles, of paragraphs in an article, or of questions in a paragraph, or
// a different question id at the same position. Each line names both files
// (SQuAD.Name) and the location; nil means parallel.
func CheckParallel(a, b *SQuAD) []string {
	var out []string
	if len(a.Articles) != len(b.Articles) {
		out = append(out, fmt.Sprintf("data: %d articles in %s, %d in %s", len(b.Articles), b.Name, len(a.Articles), a.Name))
	}
	for i := range min(len(a.Articles), len(b.Articles)) {
		pa, pb := a.Articles[i].Paragraphs, b.Articles[i].Paragraphs
		if len(pa) != len(pb) {
			out = append(out, fmt.Sprintf("data[%d]: %d paragraphs in %s, %d in %s", i, len(pb), b.Name, len(pa), a.Name))
		}
		for j := range min(len(pa), len(pb)) {
			qa, qb := pa[j].Questions, pb[j].Questions
			loc := fmt.Sprintf("data[%d].paragraphs[%d]", i, j)
			if len(qa) != len(qb) {
				out = append(out, fmt.Sprintf("%s: %d questions in %s, %d in %s", loc, len(qb), b.Name, len(qa), a.Name))
			}
			for k := range min(len(qa), len(qb)) {
				if qa[k].ID != qb[k].ID {
					out = append(out, fmt.Sprintf("%s.qas[%d]: id %q in %s, %q in %s", loc, k, qb[k].ID, b.Name, qa[k].ID, a.Name))
				}
			}
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// AC pairs

// SQuADACOptions configures ACFromSQuAD.
type SQuADACOptions struct {
	// MaxQuestions is how many questions to use, drawn uniformly without
	// replacement and kept in file order; 0 (or more than there are) means
	// all.
	MaxQuestions int
	Seed         uint64
}

// SQuADACStats counts what ACFromSQuAD did: Questions drawn, Pairs written
// (two per kept question) and questions skipped because no paragraph of
// another article was found without one of their answers.
type SQuADACStats struct {
	Questions         int
	Pairs             int
	SkippedNoNegative int
}

// negativeTries bounds the redraws of a negative paragraph that happens to
// contain the answer text.
const negativeTries = 50

// ACFromSQuAD builds AC records the way the paper builds them from Natural
// Questions: for each question, a positive pair (the question, its own
// paragraph; label 1) followed by a negative pair (the question, a paragraph
// of another article; label 0). Questions come from questions and
// paragraphs from passages, which may be the same value; when they differ
// they must be parallel (CheckParallel), e.g. XQuAD German questions with
// English paragraphs for the cross-lingual setting. The negative paragraph is
// drawn uniformly among the paragraphs of all other articles with an RNG
// seeded by o.Seed, and redrawn (up to 50 times, then the question is
// skipped) while it contains any answer text of the question in either
// file (compared as in ConvertNQ), so it neither comes from the question's
// article nor contains its answer. The output is deterministic for a seed.
func ACFromSQuAD(questions, passages *SQuAD, o SQuADACOptions) ([]ACRecord, SQuADACStats, error) {
	var st SQuADACStats
	if questions == nil || passages == nil {
		return nil, st, errors.New("AC from SQuAD: nil data")
	}
	if o.MaxQuestions < 0 {
		return nil, st, fmt.Errorf("AC from SQuAD: MaxQuestions %d < 0", o.MaxQuestions)
	}
	if questions != passages {
		if bad := CheckParallel(passages, questions); len(bad) > 0 {
			return nil, st, &DataError{Name: "AC from SQuAD: questions not parallel to passages", Problems: bad}
		}
	}
	// Paragraphs of passages, flattened; article a owns [first[a], first[a+1]).
	type para struct {
		text, norm string
	}
	var paras []para
	first := make([]int, len(passages.Articles)+1)
	withParas := 0
	for a, art := range passages.Articles {
		first[a] = len(paras)
		for _, p := range art.Paragraphs {
			t := strings.TrimSpace(p.Context)
			paras = append(paras, para{text: t, norm: normalizeForMatch(t)})
		}
		if len(art.Paragraphs) > 0 {
			withParas++
		}
	}
	first[len(passages.Articles)] = len(paras)
	if withParas < 2 {
		return nil, st, fmt.Errorf("AC from SQuAD: %s has %d articles with paragraphs; negatives need at least 2", passages.Name, withParas)
	}

	type qref struct{ a, p, k int }
	var qs []qref
	for a, art := range questions.Articles {
		for p, para := range art.Paragraphs {
			for k := range para.Questions {
				qs = append(qs, qref{a, p, k})
			}
		}
	}
	if len(qs) == 0 {
		return nil, st, fmt.Errorf("AC from SQuAD: %s has no questions", questions.Name)
	}
	rng := newDataRNG(o.Seed)
	if o.MaxQuestions > 0 && o.MaxQuestions < len(qs) {
		idx := sampleIndices(rng, len(qs), o.MaxQuestions)
		sort.Ints(idx)
		sub := make([]qref, len(idx))
		for i, j := range idx {
			sub[i] = qs[j]
		}
		qs = sub
	}

	recs := make([]ACRecord, 0, 2*len(qs))
	for _, r := range qs {
		st.Questions++
		q := questions.Articles[r.a].Paragraphs[r.p].Questions[r.k]
		var answers []string
		for _, ans := range [][]SQuADAnswer{q.Answers, passages.Articles[r.a].Paragraphs[r.p].Questions[r.k].Answers} {
			for _, a := range ans {
				if n := normalizeForMatch(a.Text); n != "" {
					answers = append(answers, n)
				}
			}
		}
		own := first[r.a+1] - first[r.a]
		neg := -1
		for range negativeTries {
			k := rng.IntN(len(paras) - own)
			if k >= first[r.a] {
				k += own
			}
			if !containsAnswer(paras[k].norm, answers) {
				neg = k
				break
			}
		}
		if neg < 0 {
			st.SkippedNoNegative++
			continue
		}
		recs = append(recs,
			ACRecord{Question: q.Text, Passage: paras[first[r.a]+r.p].text, Label: 1},
			ACRecord{Question: q.Text, Passage: paras[neg].text, Label: 0})
		st.Pairs += 2
	}
	if len(recs) == 0 {
		return nil, st, fmt.Errorf("AC from SQuAD: no pairs (%d questions without a negative paragraph)", st.SkippedNoNegative)
	}
	return recs, st, nil
}

// ---------------------------------------------------------------------------
// CL sentences

// Sentences kept by SentencesFromSQuAD have MinSentenceRunes to
// MaxSentenceRunes runes (Unicode code points).
const (
	MinSentenceRunes = 20
	MaxSentenceRunes = 300
)

// thaiChunkRunes is the length after which SplitSentences closes a Thai
// chunk at the next clause boundary (see there).
const thaiChunkRunes = 120

// SplitSentences splits a paragraph of language lang (ISO 639-1 or
// FLORES-200 code) into sentences, trimmed, in order, with no length filter.
// Square-bracketed notes of up to 60 runes (Wikipedia's "[citation needed]",
// "[1]", kept in XQuAD) are removed first.
//
// A sentence ends after a run of terminators and closing quotes or
// brackets. The CJK and Devanagari full stops (。！？｡ । ॥) always end one.
// The other terminators (. ! ? … and the Arabic ؟ and Urdu ۔, the Greek
// question mark U+037E, and ';' for Greek, where it is the question mark)
// end one only when followed by whitespace or the end of the text, and not
// when the next word starts lower-case or with another terminator ("„Fürchtet
// sie!“ als auch", ". . ."); a '.' or '…' moreover not after an
// abbreviation: a single letter (initials; "U.S." and "z.B." count as words
// with dots), a common abbreviation such as "Dr" or "Mio", or, in languages
// writing ordinals with a dot (de, tr, ...), a number of at most two digits
// or a Roman numeral ("am 7. Februar", "Ludwig XIV."). In Chinese, Japanese
// and languages written in Devanagari or Bengali '.' is not a terminator
// (their full stop is another character; '.' appears in initials and
// numbers). A piece without letters or digits (a stray "." after a
// sentence) is appended to the sentence before.
//
// Thai (th) marks no sentence end: a space separates clauses and sentences
// alike. Thai text is therefore cut only at whitespace between two Thai
// characters (spaces next to numbers or Latin words, and the space before
// the repetition mark ๆ, are inside a clause), and consecutive clauses are
// joined with one space into chunks, a chunk being closed at the first
// clause boundary after it reaches 120 runes, which gives Thai chunks about
// the median sentence length of the other XQuAD languages (Thai paragraphs
// have about as many runes as English ones); a last chunk under 40 runes is
// joined to the one before.
func SplitSentences(lang, text string) []string {
	lang, _ = canonicalLang(lang)
	text = removeBracketNotes(strings.ReplaceAll(text, "\ufeff", ""))
	if lang == "th" {
		return splitThai(text)
	}
	rs := []rune(text)
	var out []string
	emit := func(seg []rune) {
		s := strings.TrimSpace(string(seg))
		switch {
		case s == "":
		case len(out) > 0 && strings.IndexFunc(s, isWordRune) < 0:
			out[len(out)-1] += s // stray punctuation: "sentence. ." or "。 。"
		default:
			out = append(out, s)
		}
	}
	start := 0
	for i := 0; i < len(rs); i++ {
		if !isTerminator(lang, rs[i]) {
			continue
		}
		j := i + 1
		for j < len(rs) && (isTerminator(lang, rs[j]) || isCloser(rs[j])) {
			j++
		}
		if sentenceEnds(lang, rs, i, j) {
			emit(rs[start:j])
			start = j
		}
		i = j - 1
	}
	emit(rs[start:])
	return out
}

func isWordRune(r rune) bool { return unicode.In(r, unicode.L, unicode.M, unicode.N) }

// maxBracketNote is the longest square-bracketed note removeBracketNotes
// removes, in runes including the brackets.
const maxBracketNote = 60

// removeBracketNotes removes square-bracketed notes of at most
// maxBracketNote runes, such as Wikipedia's "[citation needed]" and "[1]"
// kept in XQuAD's paragraphs, with the spaces before a note that is followed
// by punctuation or ends the text ("word [1]." becomes "word.").
func removeBracketNotes(text string) string {
	if !strings.Contains(text, "[") {
		return text
	}
	rs := []rune(text)
	out := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); i++ {
		if rs[i] == '[' {
			end := -1
			for k := i + 1; k < len(rs) && k-i < maxBracketNote; k++ {
				if rs[k] == '[' {
					break
				}
				if rs[k] == ']' {
					end = k
					break
				}
			}
			if end > 0 {
				if end+1 == len(rs) || !unicode.IsSpace(rs[end+1]) && !isWordRune(rs[end+1]) {
					for len(out) > 0 && unicode.IsSpace(out[len(out)-1]) {
						out = out[:len(out)-1]
					}
				}
				i = end
				continue
			}
		}
		out = append(out, rs[i])
	}
	return string(out)
}

func isHardTerminator(r rune) bool {
	switch r {
	case '。', '！', '？', '｡', '।', '॥':
		return true
	}
	return false
}

// noDotLangs write their full stop with another character than '.'.
var noDotLangs = map[string]bool{"zh": true, "ja": true, "hi": true, "mr": true, "ne": true, "bn": true}

func isTerminator(lang string, r rune) bool {
	switch r {
	case '!', '?', '…', '؟', '۔', '\u037e':
		return true
	case '.':
		return !noDotLangs[lang]
	case ';':
		return lang == "el"
	}
	return isHardTerminator(r)
}

func isCloser(r rune) bool {
	return r == '"' || r == '\'' || unicode.In(r, unicode.Pe, unicode.Pf, unicode.Pi)
}

// sentenceEnds decides whether the terminator run rs[i:j] (terminators and
// closers, starting with the terminator rs[i]) ends a sentence.
func sentenceEnds(lang string, rs []rune, i, j int) bool {
	dotOnly := true
	for _, r := range rs[i:j] {
		if isHardTerminator(r) {
			return true
		}
		if isTerminator(lang, r) && r != '.' && r != '…' {
			dotOnly = false
		}
	}
	if j < len(rs) && !unicode.IsSpace(rs[j]) {
		return false
	}
	k := j
	for k < len(rs) && unicode.IsSpace(rs[k]) {
		k++
	}
	switch {
	case k == len(rs):
		return true
	case unicode.IsLower(rs[k]) || isTerminator(lang, rs[k]):
		return false // "„Fürchtet sie!“ als auch", ". . ."
	}
	return !dotOnly || !isAbbreviation(lang, wordBefore(rs, i))
}

// wordBefore is the run of letters, marks, digits and dots ending at rs[i-1].
func wordBefore(rs []rune, i int) string {
	k := i
	for k > 0 && (unicode.In(rs[k-1], unicode.L, unicode.M, unicode.Nd) || rs[k-1] == '.') {
		k--
	}
	return string(rs[k:i])
}

// ordinalDotLangs write ordinal numbers with a dot ("7. Februar").
var ordinalDotLangs = map[string]bool{
	"de": true, "tr": true, "da": true, "nb": true, "no": true, "fi": true, "cs": true, "sk": true,
	"pl": true, "hu": true, "hr": true, "sl": true, "sr": true, "et": true, "lv": true, "is": true,
}

// abbreviations are common abbreviations written with a final dot, lower
// case, without the dot.
var abbreviations = map[string]bool{}

func init() {
	for _, a := range strings.Fields(`
		mr mrs ms dr prof st jr sr vs no nos fig figs approx ca inc ltd co corp dept est
		gen gov sen rep lt col capt sgt mt ft vol pp ed eds jan feb mar apr jun jul aug sep sept oct nov dec
		bzw usw vgl ggf sog nr str jh jhd mio mrd tsd evtl inkl bspw geb gest chr
		sra srta dra núm aprox pág
		гг вв тыс млн млрд см др пр ул им напр рис стр гл ум род
		απεβ γενν
		örn yy`) {
		abbreviations[a] = true
	}
}

func isAbbreviation(lang, w string) bool {
	if w == "" {
		return false
	}
	if strings.Contains(w, ".") {
		return true
	}
	if r, size := utf8.DecodeRuneInString(w); size == len(w) && unicode.IsLetter(r) {
		return true
	}
	if abbreviations[strings.ToLower(w)] {
		return true
	}
	if ordinalDotLangs[lang] {
		if len(w) <= 2 && strings.Trim(w, "0123456789") == "" {
			return true
		}
		if strings.Trim(w, "IVXLC") == "" {
			return true
		}
	}
	return false
}

func isThai(r rune) bool { return unicode.Is(unicode.Thai, r) }

func splitThai(text string) []string {
	var out []string
	var cur strings.Builder
	n := 0
	prevLast := rune(0)
	for _, w := range strings.Fields(text) {
		firstR, _ := utf8.DecodeRuneInString(w)
		boundary := isThai(prevLast) && isThai(firstR) && firstR != 'ๆ'
		if n >= thaiChunkRunes && boundary {
			out = append(out, cur.String())
			cur.Reset()
			n = 0
		}
		if n > 0 {
			cur.WriteByte(' ')
			n++
		}
		cur.WriteString(w)
		n += utf8.RuneCountInString(w)
		prevLast, _ = utf8.DecodeLastRuneInString(w)
	}
	switch {
	case n == 0:
	case n < thaiChunkRunes/3 && len(out) > 0:
		out[len(out)-1] += " " + cur.String() // a short tail joins the chunk before
	default:
		out = append(out, cur.String())
	}
	return out
}

// SentencesFromSQuAD splits every paragraph of every language of byLang
// (keyed by ISO 639-1 or FLORES-200 code) with SplitSentences and keeps the
// distinct sentences of MinSentenceRunes..MaxSentenceRunes runes. With
// perLanguage > 0, perLanguage of them per language are drawn without
// replacement (all when there are fewer; BuildCLPairs reports a shortage),
// with an RNG seeded by seed and the language, so a language's choice does
// not depend on which other languages are present. Sentences are returned
// by language in sorted order, each language's in paragraph order, with
// Lang the canonical code. Each language's sentences are chosen
// independently: XQuAD is parallel, but sentences of different languages
// are not aligned.
func SentencesFromSQuAD(byLang map[string]*SQuAD, perLanguage int, seed uint64) []Sentence {
	var out []Sentence
	for _, key := range slices.Sorted(maps.Keys(byLang)) {
		s := byLang[key]
		if s == nil {
			continue
		}
		lang, _ := canonicalLang(key)
		var sents []string
		seen := map[string]bool{}
		for _, a := range s.Articles {
			for _, p := range a.Paragraphs {
				for _, t := range SplitSentences(lang, p.Context) {
					if n := utf8.RuneCountInString(t); n < MinSentenceRunes || n > MaxSentenceRunes || seen[t] {
						continue
					}
					seen[t] = true
					sents = append(sents, t)
				}
			}
		}
		if perLanguage > 0 && perLanguage < len(sents) {
			h := fnv.New64a()
			h.Write([]byte(lang))
			idx := sampleIndices(newDataRNG(seed^h.Sum64()), len(sents), perLanguage)
			sort.Ints(idx)
			pick := make([]string, len(idx))
			for i, j := range idx {
				pick[i] = sents[j]
			}
			sents = pick
		}
		for _, t := range sents {
			out = append(out, Sentence{Lang: lang, Text: t})
		}
	}
	return out
}
