package probes

import (
	"bytes"
	_ "embed"
)

// The hand-written data in testdata/ is also compiled in, so `asmr probe`
// and `make run` have a default that needs no files.
var (
	//go:embed testdata/sentences.jsonl
	embeddedSentences []byte
	//go:embed testdata/ac.jsonl
	embeddedAC []byte
)

// ShippedSourceSentences and ShippedSourceAC name the compiled-in data in
// dataset descriptions.
const (
	ShippedSourceSentences = "generative-asmr probes/testdata/sentences.jsonl (20 hand-written sentences per language)"
	ShippedSourceAC        = "generative-asmr probes/testdata/ac.jsonl (50 hand-written questions)"
)

// ShippedSentences returns the 200 compiled-in CL sentences (20 in each of
// de es fr it nl pt th tr vi zh).
func ShippedSentences() ([]Sentence, error) {
	return ParseSentences(bytes.NewReader(embeddedSentences), "testdata/sentences.jsonl")
}

// ShippedAC returns the compiled-in AC records (50 questions, each with an
// answering and a non-answering passage).
func ShippedAC() ([]ACRecord, error) {
	return ParseAC(bytes.NewReader(embeddedAC), "testdata/ac.jsonl")
}
