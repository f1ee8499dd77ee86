package profile

import (
	"errors"
	"fmt"
)

// ModelIdentity is what a profile records about its model: the shape that
// per-head directions depend on, and a fingerprint of the GGUF so that a
// profile is not silently applied to another model of the same shape.
type ModelIdentity struct {
	Architecture string `yaml:"architecture"`
	Layers       int    `yaml:"layers"`
	Heads        int    `yaml:"heads"`
	// HeadDim is d_h, the width of one head's output in kqv_out.
	HeadDim int `yaml:"headDim"`
	// Fingerprint is "sha256:<hex>" of the GGUF's tensor layout (see
	// ModelFingerprint). Optional; when both sides have one they must match.
	Fingerprint string `yaml:"fingerprint,omitempty"`
	// File is the GGUF's file name when the profile was made. Informational
	// only: files get renamed, the fingerprint is what counts.
	File string `yaml:"file,omitempty"`
}

// String renders the identity as "llama, 22 layers x 32 heads x d_h 64", the
// form used in mismatch errors and in Summary.
func (m ModelIdentity) String() string {
	arch := m.Architecture
	if arch == "" {
		arch = "unknown architecture"
	}
	return fmt.Sprintf("%s, %d layers x %d heads x d_h %d", arch, m.Layers, m.Heads, m.HeadDim)
}

// Errors that CheckModel wraps, so that a caller can tell a different shape
// (never usable) from only a different fingerprint (same shape; another
// GGUF, perhaps another quantization of the same weights).
var (
	ErrModelMismatch       = errors.New("steering profile does not fit the model")
	ErrFingerprintMismatch = errors.New("steering profile was made for another GGUF")
)

// CheckModel tells whether the profile may steer model m. Layers, heads and
// head dim must match (the directions index them), the architecture when
// both name one, and the fingerprint when both have one: a different
// fingerprint with the same shape means another GGUF, whose heads need not
// carry the same attributes. The error names both models and the fix.
func (p *Profile) CheckModel(m ModelIdentity) error {
	pm := p.Model
	if pm.Layers != m.Layers || pm.Heads != m.Heads || pm.HeadDim != m.HeadDim ||
		(pm.Architecture != "" && m.Architecture != "" && pm.Architecture != m.Architecture) {
		return fmt.Errorf("%w: the profile is for %s%s, the model is %s%s; re-run `asmr probe` on this model",
			ErrModelMismatch, pm, fileNote(pm.File), m, fileNote(m.File))
	}
	if pm.Fingerprint != "" && m.Fingerprint != "" && pm.Fingerprint != m.Fingerprint {
		return fmt.Errorf("%w: the profile's model (%s%s) has fingerprint %s, this model (%s%s) has %s; the shapes agree, but the tensor layout differs (another model or quantization); re-run `asmr probe` on this model",
			ErrFingerprintMismatch, pm, fileNote(pm.File), pm.Fingerprint, m, fileNote(m.File), m.Fingerprint)
	}
	return nil
}

func fileNote(file string) string {
	if file == "" {
		return ""
	}
	return ", file " + file
}
