package probing

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/asmr-search/generative-asmr/probes"
)

// ACData names the AC data: at most one of AC, NQ and SQuAD; none takes
// the shipped 50 questions.
type ACData struct {
	// AC is a JSONL of {question, passage, label}.
	AC string
	// NQ is Natural Questions as JSONL of {question, answers[],
	// passages[]}, converted on the fly.
	NQ string
	// SQuAD is a SQuAD v1.1-format file: each question with its paragraph
	// and with a paragraph of another article; SQuADMax questions are
	// drawn from it (0: all).
	SQuAD    string
	SQuADMax int
}

// Sentences names where monolingual sentences come from: at most one of
// Sentences, Flores and XQuAD; none takes the shipped 20 sentences x 10
// languages.
type Sentences struct {
	// Sentences is a JSONL of {lang, text}; Flores a FLORES-200 folder
	// (devtest/<code>.devtest); XQuAD a folder of xquad.<lang>.json, split
	// into sentences.
	Sentences, Flores, XQuAD string
}

// read reads the sentences of langs (FLORES and XQuAD read only those;
// nil: XQuAD's every language, FLORES's probes.DefaultCLLanguages) and
// describes their source.
func (src Sentences) read(langs []string, seed uint64) (sents []probes.Sentence, source string, err error) {
	switch {
	case countSet(src.Sentences, src.Flores, src.XQuAD) > 1:
		return nil, "", fmt.Errorf("give one of -sentences, -flores and -xquad")
	case src.XQuAD != "":
		byLang, err := probes.ReadXQuADDir(src.XQuAD, langs)
		if err != nil {
			return nil, "", err
		}
		// All sentences; the dataset builders draw what they need.
		return probes.SentencesFromSQuAD(byLang, 0, seed), src.XQuAD + " (XQuAD paragraphs split into sentences)", nil
	case src.Flores != "":
		sents, err = probes.ReadFlores(src.Flores, langs)
		return sents, src.Flores + " (FLORES-200 devtest)", err
	case src.Sentences != "":
		sents, err = probes.ReadSentences(src.Sentences)
		return sents, src.Sentences, err
	}
	sents, err = probes.ShippedSentences()
	return sents, probes.ShippedSourceSentences, err
}

// CLData names the CL data: its sentences, and how the pairs are built.
type CLData struct {
	Sentences
	// Pairs says how the pairs are built: languages, sentences per
	// language, same- and different-language pairs (its Seed is
	// Config.Seed).
	Pairs probes.PairOptions
}

// LangData names the data of the language attributes (LANG.<code>): its
// sentences, and how the one-vs-rest datasets are built.
type LangData struct {
	Sentences
	// Languages says which languages get an attribute (none: every
	// language of the sentences) and how many sentences each draws (its
	// Seed is Config.Seed).
	Languages probes.LanguageOptions
}

// dataset reads the AC data; the SQuAD and NQ conversions print their
// counts to log.
func (src *ACData) dataset(seed uint64, log io.Writer) (probes.Dataset, error) {
	switch {
	case countSet(src.AC, src.NQ, src.SQuAD) > 1:
		return probes.Dataset{}, fmt.Errorf("give one of -ac, -nq and -squad")
	case src.SQuAD != "":
		s, err := probes.ReadSQuAD(src.SQuAD)
		if err != nil {
			return probes.Dataset{}, err
		}
		recs, st, err := probes.ACFromSQuAD(s, s, probes.SQuADACOptions{MaxQuestions: src.SQuADMax, Seed: seed})
		if err != nil {
			return probes.Dataset{}, err
		}
		fmt.Fprintf(log, "SQuAD: %d questions, %d pairs written, %d without a negative paragraph", st.Questions, st.Pairs, st.SkippedNoNegative)
		if n := len(s.Warnings); n > 0 {
			fmt.Fprintf(log, "; %d answers not at their answer_start (first: %s)", n, s.Warnings[0])
		}
		fmt.Fprintln(log)
		return probes.ACDataset(recs, src.SQuAD+" (SQuAD format)"), nil
	case src.NQ != "":
		in, err := os.Open(src.NQ)
		if err != nil {
			return probes.Dataset{}, err
		}
		defer in.Close()
		var buf strings.Builder
		st, err := probes.ConvertNQ(in, &buf, seed)
		if err != nil {
			return probes.Dataset{}, err
		}
		recs, err := probes.ParseAC(strings.NewReader(buf.String()), src.NQ)
		if err != nil {
			return probes.Dataset{}, err
		}
		fmt.Fprintf(log, "Natural Questions: %d questions, %d pairs written, %d without an answering passage, %d without a non-answering one\n",
			st.Questions, st.Written, st.SkippedNoPositive, st.SkippedNoNegative)
		return probes.ACDataset(recs, src.NQ+" (Natural Questions, converted)"), nil
	case src.AC != "":
		recs, err := probes.ReadAC(src.AC)
		if err != nil {
			return probes.Dataset{}, err
		}
		return probes.ACDataset(recs, src.AC), nil
	}
	recs, err := probes.ShippedAC()
	if err != nil {
		return probes.Dataset{}, err
	}
	return probes.ACDataset(recs, probes.ShippedSourceAC), nil
}

// dataset reads the CL sentences and builds the pairs.
func (src *CLData) dataset(seed uint64) (probes.Dataset, error) {
	o := src.Pairs
	o.Seed = seed
	sents, source, err := src.read(o.Languages, seed)
	if err != nil {
		return probes.Dataset{}, err
	}
	o.Source = source
	return probes.BuildCLPairs(sents, o)
}

// datasets reads the sentences and builds one dataset per language.
func (src *LangData) datasets(seed uint64) ([]probes.Dataset, error) {
	o := src.Languages
	o.Seed = seed
	sents, source, err := src.read(o.Languages, seed)
	if err != nil {
		return nil, err
	}
	o.Source = source
	return probes.BuildLanguageDatasets(sents, o)
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
