package steering

import "github.com/asmr-search/generative-asmr/profile"

// ProfileIntervention turns a steering profile into steering vectors: alphaAC times the AC
// shifts plus alphaCL times the CL shifts, each over its best topK heads
// (0 = all), along the chosen direction kind. Attributes the profile lacks
// are skipped only when their alpha is 0.
func ProfileIntervention(p *profile.Profile, kind profile.DirectionKind, alphaAC, alphaCL float64, topK int) (Intervention, error) {
	iv := Intervention{}
	for _, a := range []struct {
		name  string
		alpha float64
	}{{profile.AttributeAC, alphaAC}, {profile.AttributeCL, alphaCL}} {
		if a.alpha == 0 {
			continue
		}
		shifts, err := p.Shifts(a.name, kind, a.alpha, topK)
		if err != nil {
			return nil, err
		}
		for _, s := range shifts {
			iv.Add(s.Layer, s.Head, s.Vector)
		}
	}
	return iv, nil
}
