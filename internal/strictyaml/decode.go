// Package strictyaml reads YAML that people write strictly: an unknown or
// repeated key, a value of the wrong type and a second document are
// reported, with the key's path and line and, for a misspelt key, the key
// it probably means, instead of being ignored or reported one at a time by
// yaml.v3's terse errors. The ops file (config) and steering profiles
// (profile) are read through it.
package strictyaml

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrEmpty is Decode's error for data without a document: empty, or only
// comments.
var ErrEmpty = errors.New("no YAML document")

// SecondDocumentError is Decode's error when a second document follows the
// first, where a file holds one. The first is decoded all the same.
type SecondDocumentError struct {
	// Line is the line where the second document starts.
	Line int
	// Err is yaml.v3's error when the second document is not valid YAML,
	// else nil.
	Err error
}

func (e *SecondDocumentError) Error() string {
	if e.Err != nil {
		return "a second YAML document, not valid: " + e.Err.Error()
	}
	return "a second YAML document"
}

// Decode decodes the first YAML document of data into v (a *yaml.Node or
// a pointer to a Go value) strictly: a mapping key that v's struct type
// lacks is an error naming the key and its line (yaml.v3's KnownFields).
// It returns ErrEmpty when data holds no document, yaml.v3's error when
// the first document is not valid YAML or does not fit v, and a
// *SecondDocumentError when another document follows it.
func Decode(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return ErrEmpty
		}
		return err
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return &SecondDocumentError{Err: err}
	}
	return &SecondDocumentError{Line: extra.Line}
}

// Message is the text of a yaml.v3 decoding error as a problem: the errors
// of a *yaml.TypeError joined by "; " (without its "unmarshal errors"
// heading), else the error's own text.
func Message(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return err.Error()
}
