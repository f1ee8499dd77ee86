package profile

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/asmr-search/generative-asmr/internal/problems"
)

// errSubject starts the message of an invalid profile's *problems.Error.
const errSubject = "invalid steering profile"

// unitTolerance is how far from 1 the L2 norm of a stored direction may be.
// Directions are written as float32; 1e-3 accepts rounding and hand-made
// fixtures but catches a vector that was never normalized.
const unitTolerance = 1e-3

// maxListed caps how many bad values of one map or vector are listed one by
// one; the rest are counted, so that a wholly broken 32x32 map does not
// produce a thousand lines.
const maxListed = 3

var (
	attributeName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
	fingerprintRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// versionProblem explains a version other than Version, with the fix.
func versionProblem(v int) string {
	switch {
	case v == 0:
		return fmt.Sprintf("version: missing; this build reads version %d", Version)
	case v > Version:
		return fmt.Sprintf("version: %d is newer than this build reads (%d): upgrade asmr, or regenerate the profile with this build's `asmr probe`", v, Version)
	}
	return fmt.Sprintf("version: %d is older than this build reads (%d): regenerate the profile with `asmr probe`", v, Version)
}

// Validate checks everything a reader relies on: version and kind, the
// model's shape, and for each attribute that the accuracy map is exactly
// [layers][heads] with values in [0,1], that the selected heads are in
// range, unique, sorted best first and agree with the map, and that every
// direction has length headDim, finite values, unit norm (within 1e-3) and a
// finite sigma > 0. It returns a *problems.Error listing every problem as
// "<path>: <what is wrong>", e.g.
// "attributes.CL.heads[3].probe.direction: norm 0.5, want 1", so that a
// hand-edited or half-written profile is fixed in one round.
func (p *Profile) Validate() error {
	if p == nil {
		return &problems.Error{Subject: errSubject, Problems: []string{"profile is nil"}}
	}
	var ps problems.List
	if p.Version != Version {
		ps = append(ps, versionProblem(p.Version))
	}
	if p.Kind != Kind {
		ps.Add("kind", "is %q, want %q", p.Kind, Kind)
	}
	m := p.Model
	if strings.TrimSpace(m.Architecture) == "" {
		ps.Add("model.architecture", "missing")
	}
	if m.Layers <= 0 {
		ps.Add("model.layers", "%d, must be > 0", m.Layers)
	}
	if m.Heads <= 0 {
		ps.Add("model.heads", "%d, must be > 0", m.Heads)
	}
	if m.HeadDim <= 0 {
		ps.Add("model.headDim", "%d, must be > 0", m.HeadDim)
	}
	if m.Fingerprint != "" && !fingerprintRE.MatchString(m.Fingerprint) {
		ps.Add("model.fingerprint", "%q is not of the form sha256:<64 lowercase hex digits>", m.Fingerprint)
	}
	if len(p.Attributes) == 0 {
		ps.Add("attributes", "none; a profile needs at least one attribute (%s, %s)", AttributeAC, AttributeCL)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Attributes)) {
		p.validateAttribute(&ps, name, p.Attributes[name])
	}
	return ps.Err(errSubject)
}

func (p *Profile) validateAttribute(ps *problems.List, name string, a *Attribute) {
	path := "attributes." + name
	switch _, isLang := LanguageOfAttribute(name); {
	case isLang:
	case strings.HasPrefix(strings.ToUpper(name), LanguagePrefix):
		ps.Add(path, "language attribute name %q must be %s<ISO 639-1 code in lower case>, e.g. %s", name, LanguagePrefix, LanguageAttribute("de"))
	case !attributeName.MatchString(name):
		ps.Add(path, "attribute name %q must be a letter followed by letters, digits, '_' or '-' (or %s<ISO 639-1 code> for a language)", name, LanguagePrefix)
	}
	if a == nil {
		ps.Add(path, "empty")
		return
	}
	if strings.TrimSpace(a.Desired) == "" {
		ps.Add(path+".desired", "missing; say in words which class the directions point to")
	}
	d := a.Data
	if d.Samples < 0 || d.Positive < 0 || d.Negative < 0 {
		ps.Add(path+".data", "negative counts (samples %d, positive %d, negative %d)", d.Samples, d.Positive, d.Negative)
	} else if d.Positive+d.Negative > 0 && d.Positive+d.Negative != d.Samples {
		ps.Add(path+".data", "positive %d + negative %d != samples %d", d.Positive, d.Negative, d.Samples)
	}

	m := p.Model
	mapOK := m.Layers > 0 && m.Heads > 0 && len(a.Accuracy) == m.Layers
	if len(a.Accuracy) != m.Layers {
		ps.Add(path+".accuracy", "has %d layers, want %d (model.layers)", len(a.Accuracy), m.Layers)
	}
	bad := 0
	for l, row := range a.Accuracy {
		if len(row) != m.Heads {
			ps.Add(fmt.Sprintf("%s.accuracy[%d]", path, l), "has %d heads, want %d (model.heads)", len(row), m.Heads)
			mapOK = false
			continue
		}
		for h, v := range row {
			if !(v >= 0 && v <= 1) {
				bad++
				if bad <= maxListed {
					ps.Add(fmt.Sprintf("%s.accuracy[%d][%d]", path, l, h), "%v is not in [0,1]", v)
				}
			}
		}
	}
	if bad > maxListed {
		ps.Add(path+".accuracy", "%d more values not in [0,1]", bad-maxListed)
	}

	if len(a.Heads) == 0 {
		ps.Add(path+".heads", "no heads selected")
	}
	seen := map[[2]int]int{}
	for i, h := range a.Heads {
		hp := fmt.Sprintf("%s.heads[%d]", path, i)
		inRange := true
		if h.Layer < 0 || h.Layer >= m.Layers {
			ps.Add(hp+".layer", "%d out of range [0,%d)", h.Layer, m.Layers)
			inRange = false
		}
		if h.Head < 0 || h.Head >= m.Heads {
			ps.Add(hp+".head", "%d out of range [0,%d)", h.Head, m.Heads)
			inRange = false
		}
		key := [2]int{h.Layer, h.Head}
		if j, dup := seen[key]; dup {
			ps.Add(hp, "layer %d head %d already selected at heads[%d]", h.Layer, h.Head, j)
		} else {
			seen[key] = i
		}
		if !(h.Accuracy >= 0 && h.Accuracy <= 1) {
			ps.Add(hp+".accuracy", "%v is not in [0,1]", h.Accuracy)
		} else if inRange && mapOK {
			if mv := a.Accuracy[h.Layer][h.Head]; math.Abs(mv-h.Accuracy) > 1e-9 {
				ps.Add(hp+".accuracy", "%v differs from accuracy[%d][%d] = %v", h.Accuracy, h.Layer, h.Head, mv)
			}
		}
		if i > 0 && h.Accuracy > a.Heads[i-1].Accuracy {
			ps.Add(hp+".accuracy", "%v is higher than heads[%d]'s %v: heads must be sorted best first", h.Accuracy, i-1, a.Heads[i-1].Accuracy)
		}
		validateDirection(ps, hp+".probe", h.Probe, m.HeadDim)
		validateDirection(ps, hp+".massMean", h.MassMean, m.HeadDim)
	}
}

func validateDirection(ps *problems.List, path string, d Direction, headDim int) {
	if !(d.Sigma > 0) || math.IsInf(d.Sigma, 0) {
		ps.Add(path+".sigma", "%v, must be finite and > 0", d.Sigma)
	}
	vp := path + ".direction"
	if len(d.Vector) != headDim {
		ps.Add(vp, "has %d values, want %d (model.headDim)", len(d.Vector), headDim)
		if len(d.Vector) == 0 {
			return
		}
	}
	bad := 0
	var ss float64
	for i, x := range d.Vector {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			bad++
			if bad <= maxListed {
				ps.Add(fmt.Sprintf("%s[%d]", vp, i), "%v is not finite", x)
			}
			continue
		}
		ss += f * f
	}
	if bad > maxListed {
		ps.Add(vp, "%d more values not finite", bad-maxListed)
	}
	if bad == 0 {
		if n := math.Sqrt(ss); math.Abs(n-1) > unitTolerance {
			ps.Add(vp, "norm %.6g, want a unit vector (1 within %g)", n, unitTolerance)
		}
	}
}
