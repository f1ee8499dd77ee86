package profile

import (
	"fmt"
	"strings"
)

// Direction is a unit vector in a head's output space and the scale of the
// activations along it.
//
// In YAML, Vector is stored under the key `direction` as base64 of its
// little-endian float32 bytes: exact (no decimal rounding), and compact
// enough that a 64-head profile of a 7B model stays readable.
type Direction struct {
	// Sigma is the standard deviation of the head's activations projected on
	// the direction; steering adds alpha*Sigma*Vector (the ITI convention,
	// which makes alpha comparable across heads and models).
	Sigma float64
	// Vector has length HeadDim and unit L2 norm, and points toward the
	// desired class.
	Vector []float32
}

// DirectionKind selects which of a head's two stored directions steers.
type DirectionKind string

const (
	// DirectionProbe is the probe's weight vector, as in the ASMR paper.
	DirectionProbe DirectionKind = "probe"
	// DirectionMassMean is the class-mean difference, as ITI.
	DirectionMassMean DirectionKind = "mass-mean"
)

// DefaultDirectionKind is the paper's choice.
const DefaultDirectionKind = DirectionProbe

// ParseDirectionKind parses a direction kind as users write it (in the
// module config, per query, on the command line). The empty string means
// DefaultDirectionKind, so that an unset option needs no special case.
func ParseDirectionKind(s string) (DirectionKind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return DefaultDirectionKind, nil
	case "probe":
		return DirectionProbe, nil
	case "mass-mean", "massmean", "mass_mean":
		return DirectionMassMean, nil
	}
	return "", fmt.Errorf("unknown direction kind %q: want %q or %q", s, DirectionProbe, DirectionMassMean)
}

// DirectionOf returns the head's direction of the given kind.
func (h *HeadEntry) DirectionOf(kind DirectionKind) (*Direction, error) {
	switch kind {
	case DirectionProbe:
		return &h.Probe, nil
	case DirectionMassMean:
		return &h.MassMean, nil
	}
	return nil, fmt.Errorf("unknown direction kind %q: want %q or %q", kind, DirectionProbe, DirectionMassMean)
}
