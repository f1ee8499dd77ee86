// Package profile is the steering-profile format: which attention heads of
// one model carry each attribute (AC, CL) and the directions to push them,
// as `asmr probe` (probes) writes it and steering and the Weaviate module
// read it. It holds the versioned YAML form (Parse, Load, Marshal, Save),
// its validation, the GGUF fingerprint that ties a profile to its model
// (ModelFingerprint, CheckModel), Merge, and the shifts that steering adds
// per head (Shifts).
package profile

// Version is the version of the steering-profile format that this build
// reads and writes. Bump it on any change that an older reader would
// misinterpret; Parse refuses every other version rather than guess.
const Version = 1

// Kind is the value of the `kind` key, so that a steering profile is never
// mistaken for another YAML file (the ops config, a class config).
const Kind = "asmr-steering-profile"

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

// DefaultSignConvention is the text that New puts in
// Profile.SignConvention. It is stored in every profile so that a reader of
// the file does not have to know the code to know which way "+" steers.
const DefaultSignConvention = "Each direction is a unit vector pointing from the undesired class toward the desired class " +
	"(AC: passage contains the answer; CL: both sentences in the same language). " +
	"Steering adds alpha * sigma * direction to the head output before W_o."

// Profile is a steering profile: which attention heads of one model carry
// each attribute, and the direction to push each of them. `asmr probe` writes
// it; the Weaviate module and `asmr` read it. The YAML form is versioned and
// decoded strictly (see Parse).
type Profile struct {
	// Version is the format version; it must equal the constant Version.
	Version int `yaml:"version"`
	// Kind must be the constant Kind.
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

// New returns an empty profile of the current version for model m, with
// the standard sign convention: what a probe run starts from.
func New(m ModelIdentity, createdBy string) *Profile {
	return &Profile{
		Version:        Version,
		Kind:           Kind,
		Model:          m,
		CreatedBy:      createdBy,
		SignConvention: DefaultSignConvention,
		Attributes:     map[string]*Attribute{},
	}
}
