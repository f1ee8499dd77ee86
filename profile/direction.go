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

// DirectionKind selects which directions steer: one of a head's two
// stored directions, or (DirectionLanguage) the answer language's.
type DirectionKind string

const (
	// DirectionProbe is the probe's weight vector, as in the ASMR paper.
	DirectionProbe DirectionKind = "probe"
	// DirectionMassMean is the class-mean difference, as ITI.
	DirectionMassMean DirectionKind = "mass-mean"
	// DirectionLanguage is language-targeted steering: the CL part steers
	// along the mass-mean directions of attribute LANG.<code> of the answer
	// language (the mean activation of sentences in that language minus
	// the mean over other languages; see LanguageAttribute), the AC part
	// along AC's mass-mean directions. It is no stored direction of a head:
	// the answer language is known only per request, so it is resolved
	// there (steering.ProfileIntervention), which falls back to CL's
	// mass-mean directions when the profile has no LANG.<code>.
	DirectionLanguage DirectionKind = "language"
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
	case "language":
		return DirectionLanguage, nil
	}
	return "", fmt.Errorf("unknown direction kind %q: want %q, %q or %q", s, DirectionProbe, DirectionMassMean, DirectionLanguage)
}

// DirectionOf returns the head's stored direction of the given kind
// (probe or mass-mean; language is no stored direction, see
// DirectionLanguage).
func (h *HeadEntry) DirectionOf(kind DirectionKind) (*Direction, error) {
	switch kind {
	case DirectionProbe:
		return &h.Probe, nil
	case DirectionMassMean:
		return &h.MassMean, nil
	}
	return nil, storedKindError(kind)
}

// storedKindError explains a kind that is not one of a head's stored
// directions.
func storedKindError(kind DirectionKind) error {
	if kind == DirectionLanguage {
		return fmt.Errorf("direction kind %q is chosen per request from the answer language (LANG.<code>'s %q directions); here want %q or %q",
			kind, DirectionMassMean, DirectionProbe, DirectionMassMean)
	}
	return fmt.Errorf("unknown direction kind %q: want %q or %q", kind, DirectionProbe, DirectionMassMean)
}
