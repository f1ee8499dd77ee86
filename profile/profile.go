package config

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"
)

// ProfileVersion is the version of the steering-profile format that this
// build reads and writes. Bump it on any change that an older reader would
// misinterpret; ParseProfile refuses every other version rather than guess.
const ProfileVersion = 1

// ProfileKind is the value of the `kind` key, so that a steering profile is
// never mistaken for another YAML file (the ops config, a class config).
const ProfileKind = "asmr-steering-profile"

// Attribute names of the paper. Profiles may carry other attributes too;
// these are the two that ASMR steers.
const (
	// AttributeAC is "accuracy in content": the desired class is a passage
	// that contains the answer to the question.
	AttributeAC = "AC"
	// AttributeCL is "coherence in language": the desired class is two
	// sentences in the same language.
	AttributeCL = "CL"
)

// DefaultSignConvention is the text that NewProfile puts in
// Profile.SignConvention. It is stored in every profile so that a reader of
// the file does not have to know the code to know which way "+" steers.
const DefaultSignConvention = "Each direction is a unit vector pointing from the undesired class toward the desired class " +
	"(AC: passage contains the answer; CL: both sentences in the same language). " +
	"Steering adds alpha * sigma * direction to the head output before W_o."

// unitTolerance is how far from 1 the L2 norm of a stored direction may be.
// Directions are written as float32; 1e-3 accepts rounding and hand-made
// fixtures but catches a vector that was never normalized.
const unitTolerance = 1e-3

// Profile is a steering profile: which attention heads of one model carry
// each attribute, and the direction to push each of them. `asmr probe` writes
// it; the Weaviate module and `asmr` read it. The YAML form is versioned and
// decoded strictly (see ParseProfile).
type Profile struct {
	// Version is the format version; it must equal ProfileVersion.
	Version int `yaml:"version"`
	// Kind must be ProfileKind.
	Kind string `yaml:"kind"`
	// Model identifies the model the probes were trained on. Directions are
	// only meaningful for that model (see CheckModel).
	Model ModelIdentity `yaml:"model"`
	// CreatedBy names the tool and version that wrote the profile.
	CreatedBy string `yaml:"createdBy"`
	// SignConvention says in words which way the directions point.
	SignConvention string `yaml:"signConvention"`
	// Attributes maps an attribute name (AttributeAC, AttributeCL, ...) to
	// its probing results.
	Attributes map[string]*Attribute `yaml:"attributes"`
}

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

// DataInfo describes the labelled data an attribute was probed with, so that
// a profile can be reproduced and judged (a probe from 20 samples is not one
// from 7600).
type DataInfo struct {
	Description string `yaml:"description"`
	// Samples is the number of labelled prompts; Positive of them are of the
	// desired class, Negative of the other.
	Samples  int `yaml:"samples"`
	Positive int `yaml:"positive"`
	Negative int `yaml:"negative"`
	// Split is the train:validation ratio, e.g. "4:1" as in the paper.
	Split string `yaml:"split"`
	// Seed is the seed of the split (and of anything else random).
	Seed uint64 `yaml:"seed"`
}

// Attribute holds the probing result of one attribute.
type Attribute struct {
	// Desired names the class the directions point to, in words.
	Desired string   `yaml:"desired"`
	Data    DataInfo `yaml:"data"`
	// Accuracy is the validation accuracy of every head's probe,
	// Accuracy[layer][head]. It is kept whole (not only the selected heads)
	// because it is the paper's main diagnostic: where in the network the
	// attribute lives.
	Accuracy [][]float64 `yaml:"accuracy"`
	// Heads are the selected heads, best (highest accuracy) first. Steering
	// with top-K uses the first K.
	Heads []HeadEntry `yaml:"heads"`
}

// HeadEntry is one selected head with both of its candidate directions.
// Both are stored so that the direction kind can be chosen per query without
// re-probing.
type HeadEntry struct {
	Layer    int     `yaml:"layer"`
	Head     int     `yaml:"head"`
	Accuracy float64 `yaml:"accuracy"`
	// Probe is the logistic-regression weight vector (the paper's theta).
	Probe Direction `yaml:"probe"`
	// MassMean is the mean of the desired class minus the mean of the
	// other (ITI's default).
	MassMean Direction `yaml:"massMean"`
}

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

// NewProfile returns an empty profile of the current version for model m,
// with the standard sign convention: what a probe run starts from.
func NewProfile(m ModelIdentity, createdBy string) *Profile {
	return &Profile{
		Version:        ProfileVersion,
		Kind:           ProfileKind,
		Model:          m,
		CreatedBy:      createdBy,
		SignConvention: DefaultSignConvention,
		Attributes:     map[string]*Attribute{},
	}
}

// ParseProfile decodes and validates a profile. Decoding is strict: an
// unknown or misspelled key is an error (naming the key and its line)
// instead of a silently ignored setting.
//
// The version is checked first, on its own: a profile from a newer asmr
// likely has keys this build does not know, and "upgrade asmr" is a more
// useful answer than "field x not found".
func ParseProfile(data []byte) (*Profile, error) {
	var head struct {
		Version int `yaml:"version"`
	}
	if err := yaml.Unmarshal(data, &head); err == nil && head.Version != 0 && head.Version != ProfileVersion {
		return nil, &ValidationError{Problems: []string{versionProblem(head.Version)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("steering profile is empty")
		}
		return nil, fmt.Errorf("parse steering profile: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse steering profile: more than one YAML document")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// LoadProfile reads and parses the profile at path.
func LoadProfile(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load profile %q: %w", path, err)
	}
	p, err := ParseProfile(data)
	if err != nil {
		return nil, fmt.Errorf("load profile %q: %w", path, err)
	}
	return p, nil
}

// ValidationError lists every problem Validate found, each as
// "<path>: <what is wrong>", e.g.
// "attributes.CL.heads[3].probe.direction: norm 0.5, want 1". All problems
// are reported at once so that a hand-edited or half-written profile is
// fixed in one round.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid steering profile: " + e.Problems[0]
	}
	return fmt.Sprintf("invalid steering profile: %d problems:\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// maxListed caps how many bad values of one map or vector are listed one by
// one; the rest are counted, so that a wholly broken 32x32 map does not
// produce a thousand lines.
const maxListed = 3

type problems []string

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, path+": "+fmt.Sprintf(format, args...))
}

var (
	attributeName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
	fingerprintRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// versionProblem explains a version other than ProfileVersion, with the fix.
func versionProblem(v int) string {
	switch {
	case v == 0:
		return fmt.Sprintf("version: missing; this build reads version %d", ProfileVersion)
	case v > ProfileVersion:
		return fmt.Sprintf("version: %d is newer than this build reads (%d): upgrade asmr, or regenerate the profile with this build's `asmr probe`", v, ProfileVersion)
	}
	return fmt.Sprintf("version: %d is older than this build reads (%d): regenerate the profile with `asmr probe`", v, ProfileVersion)
}

// Validate checks everything a reader relies on: version and kind, the
// model's shape, and for each attribute that the accuracy map is exactly
// [layers][heads] with values in [0,1], that the selected heads are in
// range, unique, sorted best first and agree with the map, and that every
// direction has length headDim, finite values, unit norm (within 1e-3) and a
// finite sigma > 0. It returns a *ValidationError listing every problem
// with its path.
func (p *Profile) Validate() error {
	if p == nil {
		return &ValidationError{Problems: []string{"profile is nil"}}
	}
	var ps problems
	if p.Version != ProfileVersion {
		ps = append(ps, versionProblem(p.Version))
	}
	if p.Kind != ProfileKind {
		ps.add("kind", "is %q, want %q", p.Kind, ProfileKind)
	}
	m := p.Model
	if strings.TrimSpace(m.Architecture) == "" {
		ps.add("model.architecture", "missing")
	}
	if m.Layers <= 0 {
		ps.add("model.layers", "%d, must be > 0", m.Layers)
	}
	if m.Heads <= 0 {
		ps.add("model.heads", "%d, must be > 0", m.Heads)
	}
	if m.HeadDim <= 0 {
		ps.add("model.headDim", "%d, must be > 0", m.HeadDim)
	}
	if m.Fingerprint != "" && !fingerprintRE.MatchString(m.Fingerprint) {
		ps.add("model.fingerprint", "%q is not of the form sha256:<64 lowercase hex digits>", m.Fingerprint)
	}
	if len(p.Attributes) == 0 {
		ps.add("attributes", "none; a profile needs at least one attribute (%s, %s)", AttributeAC, AttributeCL)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Attributes)) {
		p.validateAttribute(&ps, name, p.Attributes[name])
	}
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

func (p *Profile) validateAttribute(ps *problems, name string, a *Attribute) {
	path := "attributes." + name
	if !attributeName.MatchString(name) {
		ps.add(path, "attribute name %q must be a letter followed by letters, digits, '_' or '-'", name)
	}
	if a == nil {
		ps.add(path, "empty")
		return
	}
	if strings.TrimSpace(a.Desired) == "" {
		ps.add(path+".desired", "missing; say in words which class the directions point to")
	}
	d := a.Data
	if d.Samples < 0 || d.Positive < 0 || d.Negative < 0 {
		ps.add(path+".data", "negative counts (samples %d, positive %d, negative %d)", d.Samples, d.Positive, d.Negative)
	} else if d.Positive+d.Negative > 0 && d.Positive+d.Negative != d.Samples {
		ps.add(path+".data", "positive %d + negative %d != samples %d", d.Positive, d.Negative, d.Samples)
	}

	m := p.Model
	mapOK := m.Layers > 0 && m.Heads > 0 && len(a.Accuracy) == m.Layers
	if len(a.Accuracy) != m.Layers {
		ps.add(path+".accuracy", "has %d layers, want %d (model.layers)", len(a.Accuracy), m.Layers)
	}
	bad := 0
	for l, row := range a.Accuracy {
		if len(row) != m.Heads {
			ps.add(fmt.Sprintf("%s.accuracy[%d]", path, l), "has %d heads, want %d (model.heads)", len(row), m.Heads)
			mapOK = false
			continue
		}
		for h, v := range row {
			if !(v >= 0 && v <= 1) {
				bad++
				if bad <= maxListed {
					ps.add(fmt.Sprintf("%s.accuracy[%d][%d]", path, l, h), "%v is not in [0,1]", v)
				}
			}
		}
	}
	if bad > maxListed {
		ps.add(path+".accuracy", "%d more values not in [0,1]", bad-maxListed)
	}

	if len(a.Heads) == 0 {
		ps.add(path+".heads", "no heads selected")
	}
	seen := map[[2]int]int{}
	for i, h := range a.Heads {
		hp := fmt.Sprintf("%s.heads[%d]", path, i)
		inRange := true
		if h.Layer < 0 || h.Layer >= m.Layers {
			ps.add(hp+".layer", "%d out of range [0,%d)", h.Layer, m.Layers)
			inRange = false
		}
		if h.Head < 0 || h.Head >= m.Heads {
			ps.add(hp+".head", "%d out of range [0,%d)", h.Head, m.Heads)
			inRange = false
		}
		key := [2]int{h.Layer, h.Head}
		if j, dup := seen[key]; dup {
			ps.add(hp, "layer %d head %d already selected at heads[%d]", h.Layer, h.Head, j)
		} else {
			seen[key] = i
		}
		if !(h.Accuracy >= 0 && h.Accuracy <= 1) {
			ps.add(hp+".accuracy", "%v is not in [0,1]", h.Accuracy)
		} else if inRange && mapOK {
			if mv := a.Accuracy[h.Layer][h.Head]; math.Abs(mv-h.Accuracy) > 1e-9 {
				ps.add(hp+".accuracy", "%v differs from accuracy[%d][%d] = %v", h.Accuracy, h.Layer, h.Head, mv)
			}
		}
		if i > 0 && h.Accuracy > a.Heads[i-1].Accuracy {
			ps.add(hp+".accuracy", "%v is higher than heads[%d]'s %v: heads must be sorted best first", h.Accuracy, i-1, a.Heads[i-1].Accuracy)
		}
		validateDirection(ps, hp+".probe", h.Probe, m.HeadDim)
		validateDirection(ps, hp+".massMean", h.MassMean, m.HeadDim)
	}
}

func validateDirection(ps *problems, path string, d Direction, headDim int) {
	if !(d.Sigma > 0) || math.IsInf(d.Sigma, 0) {
		ps.add(path+".sigma", "%v, must be finite and > 0", d.Sigma)
	}
	vp := path + ".direction"
	if len(d.Vector) != headDim {
		ps.add(vp, "has %d values, want %d (model.headDim)", len(d.Vector), headDim)
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
				ps.add(fmt.Sprintf("%s[%d]", vp, i), "%v is not finite", x)
			}
			continue
		}
		ss += f * f
	}
	if bad > maxListed {
		ps.add(vp, "%d more values not finite", bad-maxListed)
	}
	if bad == 0 {
		if n := math.Sqrt(ss); math.Abs(n-1) > unitTolerance {
			ps.add(vp, "norm %.6g, want a unit vector (1 within %g)", n, unitTolerance)
		}
	}
}

// Marshal validates the profile and encodes it as YAML. It refuses an
// invalid profile, so that what it writes always loads.
func (p *Profile) Marshal() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString("# ASMR steering profile (asmr probe). Directions are base64 of little-endian float32.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("encode steering profile: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode steering profile: %w", err)
	}
	return buf.Bytes(), nil
}

// Save writes the profile to path atomically (a temporary file in the same
// folder, then rename), so that a running module that reloads the file
// never sees half of it.
func (p *Profile) Save(path string) (err error) {
	data, err := p.Marshal()
	if err != nil {
		return fmt.Errorf("save profile %q: %w", path, err)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("save profile %q: %w", path, err)
		}
	}()
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
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

// Merge combines profiles of the same model into one, e.g. an AC-only and a
// CL-only profile probed separately. It fails when the models differ (see
// CheckModel) or when two profiles define the same attribute (which one to
// keep is the user's decision). The result is a deep copy; it takes the
// fingerprint and file name from the first profile that has them.
func Merge(profiles ...*Profile) (*Profile, error) {
	if len(profiles) == 0 {
		return nil, errors.New("merge profiles: no profiles")
	}
	for i, p := range profiles {
		if p == nil {
			return nil, fmt.Errorf("merge profiles: profile %d is nil", i+1)
		}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("merge profiles: profile %d: %w", i+1, err)
		}
	}
	first := profiles[0]
	out := &Profile{
		Version:    first.Version,
		Kind:       first.Kind,
		Model:      first.Model,
		Attributes: map[string]*Attribute{},
	}
	from := map[string]int{}
	var createdBy, conventions []string
	for i, p := range profiles {
		if i > 0 {
			if err := p.CheckModel(out.Model); err != nil {
				return nil, fmt.Errorf("merge profiles: profile %d does not match profile 1: %w", i+1, err)
			}
		}
		if out.Model.Fingerprint == "" {
			out.Model.Fingerprint = p.Model.Fingerprint
		}
		if out.Model.File == "" {
			out.Model.File = p.Model.File
		}
		if out.Model.Architecture == "" {
			out.Model.Architecture = p.Model.Architecture
		}
		if p.CreatedBy != "" && !slices.Contains(createdBy, p.CreatedBy) {
			createdBy = append(createdBy, p.CreatedBy)
		}
		if p.SignConvention != "" && !slices.Contains(conventions, p.SignConvention) {
			conventions = append(conventions, p.SignConvention)
		}
		for _, name := range slices.Sorted(maps.Keys(p.Attributes)) {
			if j, dup := from[name]; dup {
				return nil, fmt.Errorf("merge profiles: attribute %q is defined by both profile %d and profile %d; merge profiles that probe different attributes", name, j+1, i+1)
			}
			from[name] = i
			out.Attributes[name] = p.Attributes[name].clone()
		}
	}
	out.CreatedBy = strings.Join(createdBy, "; ")
	out.SignConvention = strings.Join(conventions, "\n")
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("merge profiles: %w", err)
	}
	return out, nil
}

func (a *Attribute) clone() *Attribute {
	c := *a
	c.Accuracy = make([][]float64, len(a.Accuracy))
	for i, row := range a.Accuracy {
		c.Accuracy[i] = slices.Clone(row)
	}
	c.Heads = make([]HeadEntry, len(a.Heads))
	for i, h := range a.Heads {
		h.Probe.Vector = slices.Clone(h.Probe.Vector)
		h.MassMean.Vector = slices.Clone(h.MassMean.Vector)
		c.Heads[i] = h
	}
	return &c
}

// HeadShift is what steering adds to one head's output (before W_o).
type HeadShift struct {
	Layer, Head int
	Vector      []float32
}

// Shifts returns what steering adds for attribute attr: for the best
// min(topK, len) selected heads (topK <= 0: all of them), best first,
// alpha * sigma * unit(direction of the given kind). The direction is
// renormalized here so that the shift's norm is exactly |alpha|*sigma even
// though the stored vector is unit only to float32 precision.
func (p *Profile) Shifts(attr string, kind DirectionKind, alpha float64, topK int) ([]HeadShift, error) {
	if p == nil {
		return nil, errors.New("no steering profile")
	}
	a, ok := p.Attributes[attr]
	if !ok || a == nil {
		have := slices.Sorted(maps.Keys(p.Attributes))
		return nil, fmt.Errorf("steering profile has no attribute %q (it has: %s)", attr, strings.Join(have, ", "))
	}
	if kind != DirectionProbe && kind != DirectionMassMean {
		return nil, fmt.Errorf("unknown direction kind %q: want %q or %q", kind, DirectionProbe, DirectionMassMean)
	}
	if math.IsNaN(alpha) || math.IsInf(alpha, 0) {
		return nil, fmt.Errorf("alpha %v is not finite", alpha)
	}
	heads := slices.Clone(a.Heads)
	// Validate requires best-first order; a stable sort keeps that order and
	// makes a profile built in code without Validate behave the same.
	slices.SortStableFunc(heads, func(x, y HeadEntry) int { return cmp.Compare(y.Accuracy, x.Accuracy) })
	n := len(heads)
	if topK > 0 && topK < n {
		n = topK
	}
	out := make([]HeadShift, 0, n)
	for _, h := range heads[:n] {
		d, _ := h.DirectionOf(kind)
		var ss float64
		for _, x := range d.Vector {
			ss += float64(x) * float64(x)
		}
		norm := math.Sqrt(ss)
		if len(d.Vector) == 0 || norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
			return nil, fmt.Errorf("attribute %s, layer %d head %d: %s direction is empty or not finite", attr, h.Layer, h.Head, kind)
		}
		scale := alpha * d.Sigma / norm
		v := make([]float32, len(d.Vector))
		for i, x := range d.Vector {
			v[i] = float32(scale * float64(x))
		}
		out = append(out, HeadShift{Layer: h.Layer, Head: h.Head, Vector: v})
	}
	return out, nil
}

// Summary is a human summary for `asmr profile show`: the model, and per
// attribute the data, the accuracy map's statistics and the top 10 heads.
func (p *Profile) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ASMR steering profile, version %d\n", p.Version)
	fmt.Fprintf(&b, "model:       %s\n", p.Model)
	if p.Model.Fingerprint != "" {
		fmt.Fprintf(&b, "fingerprint: %s\n", p.Model.Fingerprint)
	}
	if p.Model.File != "" {
		fmt.Fprintf(&b, "file:        %s\n", p.Model.File)
	}
	if p.CreatedBy != "" {
		fmt.Fprintf(&b, "created by:  %s\n", p.CreatedBy)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Attributes)) {
		a := p.Attributes[name]
		if a == nil {
			fmt.Fprintf(&b, "\nattribute %s: empty\n", name)
			continue
		}
		fmt.Fprintf(&b, "\nattribute %s (desired: %s)\n", name, a.Desired)
		d := a.Data
		if d.Description != "" {
			fmt.Fprintf(&b, "  data:     %s\n", d.Description)
		}
		fmt.Fprintf(&b, "  samples:  %d (%d positive, %d negative), split %s, seed %d\n", d.Samples, d.Positive, d.Negative, cmp.Or(d.Split, "?"), d.Seed)
		var n, high int
		var sum float64
		maxAcc := math.Inf(-1)
		for _, row := range a.Accuracy {
			for _, v := range row {
				n++
				sum += v
				maxAcc = max(maxAcc, v)
				if v >= 0.9 {
					high++
				}
			}
		}
		if n > 0 {
			fmt.Fprintf(&b, "  accuracy: mean %.3f, max %.3f, %d of %d heads >= 0.9\n", sum/float64(n), maxAcc, high, n)
		}
		fmt.Fprintf(&b, "  selected: %d heads\n", len(a.Heads))
		top := a.Heads[:min(10, len(a.Heads))]
		if len(top) == 0 {
			continue
		}
		fmt.Fprintf(&b, "  top %d:\n", len(top))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "    rank\tlayer\thead\taccuracy\tsigma probe\tsigma mass-mean\t\n")
		for i, h := range top {
			fmt.Fprintf(tw, "    %d\t%d\t%d\t%.3f\t%.4g\t%.4g\t\n", i+1, h.Layer, h.Head, h.Accuracy, h.Probe.Sigma, h.MassMean.Sigma)
		}
		tw.Flush()
	}
	return b.String()
}
