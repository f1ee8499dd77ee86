package probes

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"

	"github.com/asmr-search/generative-asmr/profile"
)

// LanguageOptions configures BuildLanguageDatasets; zero values mean the
// defaults.
type LanguageOptions struct {
	// Languages are the languages that get a dataset, ISO 639-1 codes (or
	// FLORES-200 codes of languages with an ISO code); default every
	// language of the sentences (with XQuAD's: XQuADLanguages).
	Languages []string
	// PerLanguage is the number of sentences of each language drawn (default
	// DefaultLanguageSentences): each dataset has that many sentences of its
	// language and as many of the others.
	PerLanguage int
	Seed        uint64
	// Source, when set, is recorded in the Description (e.g. the input path).
	Source string
}

// DefaultLanguageSentences is LanguageOptions.PerLanguage's default.
const DefaultLanguageSentences = 40

// minLanguageSentences is the fewest sentences per language that leave
// both classes of a dataset in training and in a 4:1 validation split
// with more than one sample each.
const minLanguageSentences = 10

// BuildLanguageDatasets builds the one-vs-rest datasets of the language
// attributes (profile.LanguageAttribute): for each language L, a dataset
// named "LANG.<L>" whose label-1 samples are PerLanguage single sentences
// of L and whose label-0 samples are as many sentences of the other
// languages, drawn evenly from them (each gives PerLanguage/(n-1) or one
// more; which ones give one more is seeded). Its mass-mean direction is
// the mean activation of L minus the mean over the other languages, what
// direction "language" steers along.
//
// PerLanguage distinct sentences are drawn per language once (seeded by
// Seed and the language, so a language's draw does not depend on the
// others listed), and every dataset takes its samples from these: the
// datasets of n languages share n*PerLanguage texts, so that
// CaptureDistinct captures each once. A language with fewer distinct
// sentences is an error that names it. The samples of each dataset are
// shuffled; the same sentences, options and seed give the same datasets,
// in the order of Languages.
func BuildLanguageDatasets(sents []Sentence, o LanguageOptions) ([]Dataset, error) {
	per := orDefault(o.PerLanguage, DefaultLanguageSentences)
	if per < minLanguageSentences {
		return nil, fmt.Errorf("build language datasets: need at least %d sentences per language, got %d", minLanguageSentences, per)
	}
	// Distinct sentences per canonical language, in input order.
	byLang := map[string][]string{}
	seen := map[string]bool{}
	for _, s := range sents {
		l := languageKey(s.Lang)
		t := strings.TrimSpace(s.Text)
		if t == "" || seen[l+"\x00"+t] {
			continue
		}
		seen[l+"\x00"+t] = true
		byLang[l] = append(byLang[l], t)
	}
	langs := o.Languages
	if len(langs) == 0 {
		langs = slices.Sorted(maps.Keys(byLang))
	}
	if len(langs) < 2 {
		return nil, fmt.Errorf("build language datasets: need at least 2 languages, got %v", langs)
	}

	names := make([]string, len(langs))
	pools := make([][]string, len(langs))
	for i, l := range langs {
		c := languageKey(l)
		if slices.Contains(names[:i], c) {
			return nil, fmt.Errorf("build language datasets: language %q listed twice", l)
		}
		if _, ok := profile.LanguageOfAttribute(profile.LanguagePrefix + c); !ok {
			return nil, fmt.Errorf("build language datasets: language %q has no ISO 639-1 code, which the attribute's name LANG.<code> needs", l)
		}
		names[i] = c
		have := byLang[c]
		switch {
		case len(have) == 0:
			return nil, fmt.Errorf("build language datasets: no sentences for language %q", l)
		case len(have) < per:
			return nil, fmt.Errorf("build language datasets: language %q has %d distinct sentences, need %d (lower the sentences per language)", l, len(have), per)
		}
		pick := slices.Clone(have)
		rng := newDataRNG(o.Seed ^ langHash(c))
		rng.Shuffle(len(pick), func(a, b int) { pick[a], pick[b] = pick[b], pick[a] })
		pools[i] = pick[:per:per]
	}

	out := make([]Dataset, 0, len(names))
	others := len(names) - 1
	for i, lang := range names {
		rng := newDataRNG(o.Seed ^ langHash("LANG."+lang))
		// counts[j]: sentences of the j-th other language (names without lang).
		counts := make([]int, others)
		for j := range counts {
			counts[j] = per / others
		}
		for _, j := range sampleIndices(rng, others, per%others) {
			counts[j]++
		}
		samples := make([]Sample, 0, 2*per)
		for _, t := range pools[i] {
			samples = append(samples, Sample{Text: t, Label: 1})
		}
		var drawn []string
		for j, n := range counts {
			k := j
			if k >= i {
				k++
			}
			for _, idx := range sampleIndices(rng, per, n) {
				samples = append(samples, Sample{Text: pools[k][idx], Label: 0})
			}
			drawn = append(drawn, fmt.Sprintf("%s %d", names[k], n))
		}
		rng.Shuffle(len(samples), func(a, b int) { samples[a], samples[b] = samples[b], samples[a] })
		desc := fmt.Sprintf("%s: %d sentences in %s (desired) vs %d in the %d other languages (%s), one sentence per sample, seed %d",
			profile.LanguageAttribute(lang), per, lang, per, others, strings.Join(drawn, ", "), o.Seed)
		if o.Source != "" {
			desc += ", from " + o.Source
		}
		out = append(out, Dataset{Attribute: profile.LanguageAttribute(lang), Description: desc, Samples: samples})
	}
	return out, nil
}

// languageKey is the canonical form of a language (canonicalLang), an
// ISO 639-1 code in lower case where it is one.
func languageKey(s string) string {
	c, _ := canonicalLang(s)
	if len(c) == 2 {
		c = strings.ToLower(c)
	}
	return c
}

// langHash mixes a language into a seed.
func langHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
