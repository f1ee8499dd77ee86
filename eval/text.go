package eval

import (
	"strings"
	"sync"
	"unicode"

	"github.com/ikawaha/kagome-dict/ipa"
	"github.com/ikawaha/kagome/v2/tokenizer"
)

// Helpers that reproduce the Python built-ins the official scripts use, so
// that normalised strings match theirs character for character.

// asciiPunct is Python's string.punctuation. Both official scripts remove
// only these: full-width and other Unicode punctuation (。、「」・) stays.
const asciiPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

func removeASCIIPunct(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && strings.ContainsRune(asciiPunct, r) {
			return -1
		}
		return r
	}, s)
}

// pyLower is Python's str.lower: Go's ToLower plus the one unconditional
// multi-rune mapping, İ -> i̇ (it matters for Turkish, an MKQA language).
// Python's context-dependent final sigma is not reproduced (no Greek here).
func pyLower(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "İ", "i\u0307"))
}

// pySpace is Python's str.isspace, which also counts U+001C..U+001F.
func pySpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// pySplit is Python's str.split() without arguments.
func pySplit(s string) []string { return strings.FieldsFunc(s, pySpace) }

// pyWord is a character of Python's Unicode \w: letters, numbers and "_".
// Combining marks are not \w in Python's re either.
func pyWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' }

var ja struct {
	once sync.Once
	tok  *tokenizer.Tokenizer
	err  error
}

// wakati segments Japanese text into words, standing in for the MeCab
// "-Owakati" tagger of the official XOR-TyDi script. kagome implements the
// same lattice algorithm as MeCab and ships the IPA dictionary
// (mecab-ipadic), so it agrees with MeCab + mecab-ipadic on ordinary text;
// the official setup's dictionary is whatever MeCab was installed with
// (ipadic or, with recent mecab-python3, unidic-lite), which can segment
// some words differently. Whitespace is a boundary and is dropped, as in
// MeCab.
func wakati(s string) []string {
	ja.once.Do(func() { ja.tok, ja.err = tokenizer.New(ipa.Dict(), tokenizer.OmitBosEos()) })
	if ja.err != nil {
		panic("eval: kagome IPA tokenizer: " + ja.err.Error())
	}
	var out []string
	for _, t := range ja.tok.Analyze(s, tokenizer.Normal) {
		if t.Class != tokenizer.DUMMY && strings.TrimFunc(t.Surface, pySpace) != "" {
			out = append(out, t.Surface)
		}
	}
	return out
}

// wakatiLine is what MeCab's wakati output string looks like (each word
// followed by a space, then a newline). The official BLEU runs on that string
// as characters, so its exact shape matters there.
func wakatiLine(s string) string {
	ws := wakati(s)
	if len(ws) == 0 {
		return "\n"
	}
	return strings.Join(ws, " ") + " \n"
}
