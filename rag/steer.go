package rag

import (
	"fmt"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/profile"
	"github.com/asmr-search/generative-asmr/steering"
)

// Steering is how a request steers: the per-query options of the module
// (config.Resolved) that concern steering.
type Steering struct {
	// Profile names the profile, for errors and metadata; "" means no
	// steering.
	Profile          string
	Direction        profile.DirectionKind
	AlphaAC, AlphaCL float64
	TopK             int
	Scope            config.TokenScope
}

// SteeringOf takes the steering options of resolved options.
func SteeringOf(o config.Resolved) Steering {
	return Steering{Profile: o.Profile, Direction: o.Direction, AlphaAC: o.AlphaAC, AlphaCL: o.AlphaCL, TopK: o.TopK, Scope: o.TokenScope}
}

// Active reports whether s asks for any steering: a profile and a
// non-zero alpha (config.Resolved.Steered).
func (s Steering) Active() bool {
	return s.Profile != "" && (s.AlphaAC != 0 || s.AlphaCL != 0)
}

// ResolveSteer turns the profile p (named s.Profile) into the steering of
// one generation on model (its name, for errors) of the given shape. lang
// is the answer language's ISO 639-1 code ("" when unknown), which
// direction language steers toward (steering.ProfileIntervention). It is
// nil, without error, when s is not Active. Errors name the profile, and
// the model when the intervention does not fit its shape; warning (named
// by the profile too) says when direction language fell back to CL.
func ResolveSteer(p *profile.Profile, s Steering, lang, model string, shape steering.Shape) (st *steering.Steer, warning string, err error) {
	if !s.Active() {
		return nil, "", nil
	}
	if p == nil {
		return nil, "", fmt.Errorf("profile %q: not loaded", s.Profile)
	}
	iv, warning, err := steering.ProfileIntervention(p, s.Direction, lang, s.AlphaAC, s.AlphaCL, s.TopK)
	if err != nil {
		return nil, "", fmt.Errorf("profile %q: %w", s.Profile, err)
	}
	if err := iv.Validate(shape); err != nil {
		return nil, "", fmt.Errorf("profile %q on model %q: %w", s.Profile, model, err)
	}
	if warning != "" {
		warning = fmt.Sprintf("profile %q: %s", s.Profile, warning)
	}
	return &steering.Steer{Intervention: iv, Scope: s.Scope}, warning, nil
}
