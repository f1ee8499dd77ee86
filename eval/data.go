package eval

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Answer is one gold answer. Aliases (MKQA) are equally valid spellings.
// Type is MKQA's answer type (entity, long_answer, unanswerable, date,
// number, number_with_unit, short_phrase, binary); empty for XOR-TyDi.
type Answer struct {
	Text    string
	Aliases []string
	Type    string
}

// Item is one question in one language.
//
// Unanswerable follows each benchmark's own rule: XOR-TyDi items whose first
// answer is "No Answer" (the official script skips them), and MKQA items whose
// only valid answer is "" (types unanswerable and long_answer, whose text is
// null: mkqa_eval.py treats both as No Answer).
type Item struct {
	ID, Lang, Question string
	Answers            []Answer
	Unanswerable       bool
	// English holds the English golds of a question asked in another
	// language (XQuAD: the answers of xquad.en.json), which MetricF1English
	// scores against; nil for the other datasets.
	English []string
}

// Key identifies an item across systems. MKQA shares one example_id across
// languages, so the language is part of the key.
type Key struct{ Lang, ID string }

// Key returns the item's key.
func (it Item) Key() Key { return Key{it.Lang, it.ID} }

// Golds returns every valid answer string: each answer's text (possibly "",
// which MKQA uses for No Answer) followed by its aliases, without duplicates,
// in order.
func (it Item) Golds() []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range it.Answers {
		for _, s := range append([]string{a.Text}, a.Aliases...) {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// All concatenates items of every language, languages in sorted order.
func All(byLang map[string][]Item) []Item {
	langs := make([]string, 0, len(byLang))
	for l := range byLang {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	var out []Item
	for _, l := range langs {
		out = append(out, byLang[l]...)
	}
	return out
}

// FormatError is an invalid input line: file, 1-based line and JSON field.
type FormatError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *FormatError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: field %q: %s", e.File, e.Line, e.Field, e.Msg)
}

// ReadOption tunes a dataset reader.
type ReadOption func(*readConfig)

type readConfig struct{ limit int }

// Limit keeps at most n items per language (the first n in file order);
// n <= 0 keeps all.
func Limit(n int) ReadOption { return func(c *readConfig) { c.limit = n } }

// ReadXORTyDi reads XOR-TyDi QA's XOR-Full JSON lines (xor_dev_full_v1_1.jsonl:
// {"id", "lang", "question", "answers": [string...]}). langs selects languages
// (all when empty). A string "answers" is accepted as one answer, as the
// official script does. Items come back per language in file order.
func ReadXORTyDi(path string, langs []string, opts ...ReadOption) (map[string][]Item, error) {
	cfg := config(opts)
	want := set(langs)
	out := map[string][]Item{}
	seen := map[Key]bool{}
	err := jsonLines(path, func(line int, data []byte) error {
		bad := func(field, format string, a ...any) error {
			return &FormatError{path, line, field, fmt.Sprintf(format, a...)}
		}
		var rec struct {
			ID       json.RawMessage `json:"id"`
			Lang     *string         `json:"lang"`
			Question *string         `json:"question"`
			Answers  json.RawMessage `json:"answers"`
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			return bad("", "invalid JSON: %v", err)
		}
		id, err := idString(rec.ID)
		if err != nil {
			return bad("id", "%v", err)
		}
		if rec.Lang == nil || *rec.Lang == "" {
			return bad("lang", "missing or empty")
		}
		lang := *rec.Lang
		if rec.Question == nil || strings.TrimSpace(*rec.Question) == "" {
			return bad("question", "missing or empty")
		}
		answers, err := stringList(rec.Answers)
		if err != nil {
			return bad("answers", "%v", err)
		}
		if (len(want) > 0 && !want[lang]) || (cfg.limit > 0 && len(out[lang]) >= cfg.limit) {
			return nil
		}
		if seen[Key{lang, id}] {
			return bad("id", "duplicate id %q for language %q", id, lang)
		}
		seen[Key{lang, id}] = true
		it := Item{ID: id, Lang: lang, Question: *rec.Question}
		if answers[0] == "No Answer" {
			it.Unanswerable = true
		} else {
			for _, a := range answers {
				it.Answers = append(it.Answers, Answer{Text: a})
			}
		}
		out[lang] = append(out[lang], it)
		return nil
	})
	return out, err
}

// mkqaTypes are MKQA's answer types; text is null only for the last two.
var mkqaTypes = map[string]bool{
	"entity": true, "date": true, "number": true, "number_with_unit": true,
	"short_phrase": true, "binary": true, "long_answer": true, "unanswerable": true,
}

// MKQACode maps a paper language code to MKQA's key: MKQA spells Simplified
// Chinese zh_cn. Other codes are returned unchanged.
func MKQACode(lang string) string {
	if lang == "zh" {
		return "zh_cn"
	}
	return lang
}

// ReadMKQA reads MKQA's JSON lines (mkqa.jsonl, or mkqa.jsonl.gz as
// published): {"example_id", "query", "queries": {lang: question},
// "answers": {lang: [{"type", "text", "aliases"}]}}. langs are the languages
// to read, in paper codes or MKQA keys (zh reads zh_cn; the items keep the
// code asked for); all of "queries" when empty. Every requested language must
// be present on every line. example_id keeps all its digits (MKQA's ids
// exceed float64 precision). Items come back per language in file order.
func ReadMKQA(path string, langs []string, opts ...ReadOption) (map[string][]Item, error) {
	cfg := config(opts)
	out := map[string][]Item{}
	seen := map[Key]bool{}
	err := jsonLines(path, func(line int, data []byte) error {
		bad := func(field, format string, a ...any) error {
			return &FormatError{path, line, field, fmt.Sprintf(format, a...)}
		}
		type answer struct {
			Type    *string  `json:"type"`
			Text    *string  `json:"text"`
			Aliases []string `json:"aliases"`
		}
		var rec struct {
			ExampleID json.RawMessage     `json:"example_id"`
			Queries   map[string]*string  `json:"queries"`
			Answers   map[string][]answer `json:"answers"`
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			return bad("", "invalid JSON: %v", err)
		}
		id, err := idString(rec.ExampleID)
		if err != nil {
			return bad("example_id", "%v", err)
		}
		if len(rec.Queries) == 0 {
			return bad("queries", "missing or empty")
		}
		ls := langs
		if len(ls) == 0 {
			for l := range rec.Queries {
				ls = append(ls, l)
			}
			sort.Strings(ls)
		}
		for _, lang := range ls {
			code := MKQACode(lang)
			q := rec.Queries[code]
			if q == nil || strings.TrimSpace(*q) == "" {
				return bad("queries."+code, "missing or empty")
			}
			as := rec.Answers[code]
			if len(as) == 0 {
				return bad("answers."+code, "missing or empty")
			}
			it := Item{ID: id, Lang: lang, Question: *q, Unanswerable: true}
			for i, a := range as {
				field := fmt.Sprintf("answers.%s[%d]", code, i)
				if a.Type == nil || !mkqaTypes[*a.Type] {
					return bad(field+".type", "missing or unknown answer type")
				}
				nullable := *a.Type == "unanswerable" || *a.Type == "long_answer"
				if (a.Text == nil || *a.Text == "") && !nullable {
					return bad(field+".text", "missing or empty for type %q", *a.Type)
				}
				for j, al := range a.Aliases {
					if strings.TrimSpace(al) == "" {
						return bad(fmt.Sprintf("%s.aliases[%d]", field, j), "empty alias")
					}
				}
				ans := Answer{Type: *a.Type, Aliases: a.Aliases}
				if a.Text != nil {
					ans.Text = *a.Text
				}
				if ans.Text != "" || len(ans.Aliases) > 0 {
					it.Unanswerable = false
				}
				it.Answers = append(it.Answers, ans)
			}
			if cfg.limit > 0 && len(out[lang]) >= cfg.limit {
				continue
			}
			if seen[it.Key()] {
				return bad("example_id", "duplicate id %q", id)
			}
			seen[it.Key()] = true
			out[lang] = append(out[lang], it)
		}
		return nil
	})
	return out, err
}

// ReadContexts reads given passages, one JSON object a line:
// {"id": item id, "passages": [string...]}, in retrieval order. MKQA items
// share contexts across languages through their example_id.
func ReadContexts(path string) (map[string][]string, error) {
	out := map[string][]string{}
	err := jsonLines(path, func(line int, data []byte) error {
		bad := func(field, format string, a ...any) error {
			return &FormatError{path, line, field, fmt.Sprintf(format, a...)}
		}
		var rec struct {
			ID       json.RawMessage `json:"id"`
			Passages *[]*string      `json:"passages"`
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			return bad("", "invalid JSON: %v", err)
		}
		id, err := idString(rec.ID)
		if err != nil {
			return bad("id", "%v", err)
		}
		if rec.Passages == nil {
			return bad("passages", "missing")
		}
		if _, dup := out[id]; dup {
			return bad("id", "duplicate id %q", id)
		}
		ps := make([]string, len(*rec.Passages))
		for i, p := range *rec.Passages {
			if p == nil {
				return bad(fmt.Sprintf("passages[%d]", i), "null passage")
			}
			ps[i] = *p
		}
		out[id] = ps
		return nil
	})
	return out, err
}

func config(opts []ReadOption) readConfig {
	var c readConfig
	for _, o := range opts {
		o(&c)
	}
	return c
}

func set(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// idString accepts a JSON string or a JSON number, keeping a number's
// literal digits.
func idString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", errors.New("missing")
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", fmt.Errorf("want a string or a number: %v", err)
		}
		s = n.String()
	}
	if strings.TrimSpace(s) == "" {
		return "", errors.New("empty")
	}
	return s, nil
}

// stringList accepts a non-empty list of non-empty strings, or one string.
func stringList(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("missing")
	}
	var list []*string
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		list = []*string{&s}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("want a list of strings: %v", err)
	}
	if len(list) == 0 {
		return nil, errors.New("empty list")
	}
	out := make([]string, len(list))
	for i, s := range list {
		if s == nil || strings.TrimSpace(*s) == "" {
			return nil, fmt.Errorf("entry %d is null or empty", i)
		}
		out[i] = *s
	}
	return out, nil
}

// jsonLines calls fn with each non-blank line of path and its 1-based
// number. A path ending in .gz is decompressed (MKQA ships mkqa.jsonl.gz).
func jsonLines(path string, fn func(line int, data []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		data, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(data)) > 0 {
			if ferr := fn(line, data); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
}
