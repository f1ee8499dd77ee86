package profile

import (
	"errors"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/asmr-search/generative-asmr/internal/problems"
	"github.com/asmr-search/generative-asmr/internal/strictyaml"
)

// Parse decodes and validates a profile. Decoding is strict (see
// strictyaml.Decode): an unknown or misspelled key is an error (naming the
// key and its line) instead of a silently ignored setting, and so is a
// second YAML document. An invalid profile is a *problems.Error listing
// every problem (see Validate).
//
// The version is checked first, on its own: a profile from a newer asmr
// likely has keys this build does not know, and "upgrade asmr" is a more
// useful answer than "field x not found".
func Parse(data []byte) (*Profile, error) {
	var head struct {
		Version int `yaml:"version"`
	}
	if err := yaml.Unmarshal(data, &head); err == nil && head.Version != 0 && head.Version != Version {
		return nil, &problems.Error{Subject: errSubject, Problems: []string{versionProblem(head.Version)}}
	}
	var p Profile
	var second *strictyaml.SecondDocumentError
	switch err := strictyaml.Decode(data, &p); {
	case errors.Is(err, strictyaml.ErrEmpty):
		return nil, errors.New("steering profile is empty")
	case errors.As(err, &second):
		return nil, errors.New("parse steering profile: more than one YAML document")
	case err != nil:
		return nil, fmt.Errorf("parse steering profile: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Load reads and parses the profile at path.
func Load(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load profile %q: %w", path, err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load profile %q: %w", path, err)
	}
	return p, nil
}
