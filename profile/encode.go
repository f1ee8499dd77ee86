package profile

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"

	"gopkg.in/yaml.v3"
)

// directionYAML is the on-disk form of Direction.
type directionYAML struct {
	Sigma     float64 `yaml:"sigma"`
	Direction string  `yaml:"direction"`
}

// EncodeVector returns base64 of v as little-endian float32: the on-disk form
// of Direction.Vector.
func EncodeVector(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// DecodeVector is the inverse of EncodeVector.
func DecodeVector(s string) ([]float32, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("direction is not valid base64: %w", err)
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("direction has %d bytes, not a whole number of float32 values", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// MarshalYAML writes {sigma, direction: base64}.
func (d Direction) MarshalYAML() (any, error) {
	return directionYAML{Sigma: d.Sigma, Direction: EncodeVector(d.Vector)}, nil
}

// UnmarshalYAML reads {sigma, direction: base64}. It checks for unknown and
// repeated keys itself: yaml.v3's KnownFields does not reach into custom
// unmarshalers.
func (d *Direction) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a direction must be a mapping with keys sigma and direction", n.Line)}}
	}
	var out Direction
	var problems []string
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			problems = append(problems, fmt.Sprintf("line %d: key %q repeated in direction", k.Line, k.Value))
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "sigma":
			if err := v.Decode(&out.Sigma); err != nil {
				problems = append(problems, fmt.Sprintf("line %d: sigma: %v", v.Line, err))
			}
		case "direction":
			var s string
			if err := v.Decode(&s); err != nil {
				problems = append(problems, fmt.Sprintf("line %d: direction: %v", v.Line, err))
				continue
			}
			vec, err := DecodeVector(s)
			if err != nil {
				problems = append(problems, fmt.Sprintf("line %d: %v", v.Line, err))
				continue
			}
			out.Vector = vec
		default:
			problems = append(problems, fmt.Sprintf("line %d: field %s not found in direction (want sigma, direction)", k.Line, k.Value))
		}
	}
	if len(problems) > 0 {
		return &yaml.TypeError{Errors: problems}
	}
	*d = out
	return nil
}

// MarshalYAML writes the accuracy map one layer per line, in flow style with
// a "layer N" comment, so that the map stays readable (22 lines, not 704).
func (a Attribute) MarshalYAML() (any, error) {
	var acc yaml.Node
	if err := acc.Encode(a.Accuracy); err != nil {
		return nil, err
	}
	if acc.Kind == yaml.SequenceNode {
		for l, row := range acc.Content {
			row.Style = yaml.FlowStyle
			row.LineComment = fmt.Sprintf("layer %d", l)
		}
	}
	return struct {
		Desired  string      `yaml:"desired"`
		Data     DataInfo    `yaml:"data"`
		Accuracy *yaml.Node  `yaml:"accuracy"`
		Heads    []HeadEntry `yaml:"heads"`
	}{a.Desired, a.Data, &acc, a.Heads}, nil
}
