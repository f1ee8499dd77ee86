// Package ollamastore resolves Ollama model names (for example "llama3.2:1b",
// "llama3.2", "myuser/mymodel:q4" or "registry.example.com/ns/model:tag") to
// the GGUF blob that a local Ollama installation keeps in its model store.
//
// The layout matches ollama v0.17.4 (packages types/model and manifest):
//
//	$OLLAMA_MODELS (default ~/.ollama/models)
//	  manifests/<host>/<namespace>/<model>/<tag>   JSON manifest
//	  blobs/sha256-<hex>                           content-addressed blobs
//
// Names are parsed with ollama's own parser, so the defaults are the same as
// ollama's: host "registry.ollama.ai", namespace "library", tag "latest".
// Like ollama's server (getExistingName in server/routes.go), a name that
// differs from a stored one only in letter case resolves to the stored one.
//
// The package is pure Go and reads the store only; it never talks to an
// Ollama server and never verifies blob digests (that would mean hashing
// gigabytes), but it does check that the model blob exists and has the size
// the manifest records.
package ollamastore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ollama/ollama/types/model"
)

// Media types of manifest layers, as written by ollama.
const (
	MediaTypeModel     = "application/vnd.ollama.image.model"
	MediaTypeTemplate  = "application/vnd.ollama.image.template"
	MediaTypePrompt    = "application/vnd.ollama.image.prompt" // legacy name of the template layer
	MediaTypeParams    = "application/vnd.ollama.image.params"
	MediaTypeSystem    = "application/vnd.ollama.image.system"
	MediaTypeAdapter   = "application/vnd.ollama.image.adapter"
	MediaTypeProjector = "application/vnd.ollama.image.projector"
	MediaTypeLicense   = "application/vnd.ollama.image.license"
	MediaTypeConfig    = "application/vnd.docker.container.image.v1+json"
	MediaTypeManifest  = "application/vnd.docker.distribution.manifest.v2+json"
)

// Sentinel errors; every error returned by Resolve wraps one of them, so that
// callers can test with errors.Is.
var (
	ErrInvalidName  = errors.New("invalid ollama model name")
	ErrStoreMissing = errors.New("ollama model store not found")
	ErrNotFound     = errors.New("model not found in the ollama store")
	ErrBadManifest  = errors.New("unreadable ollama manifest")
	ErrNoModelLayer = errors.New("ollama manifest has no model layer")
	ErrBlobMissing  = errors.New("ollama blob missing")
	ErrBlobSize     = errors.New("ollama blob size does not match its manifest")
	errNoHomeForDir = errors.New("cannot locate the ollama model store")
)

const validNameExample = `a valid name looks like "llama3.2", "llama3.2:1b", "myuser/mymodel:q4" or "registry.example.com/namespace/model:tag" ` +
	`(letters, digits, "_", "-" and "."; each part starts with a letter, digit or "_")`

// Model is a resolved model.
type Model struct {
	// Name is the fully qualified name, host/namespace/model:tag, spelled as
	// the store spells it (which may differ in case from what was asked).
	Name string
	// ShortName is the name as ollama displays it ("llama3.2:1b").
	ShortName string
	// ModelPath is the GGUF blob, $OLLAMA_MODELS/blobs/sha256-<hex>.
	ModelPath string
	// Manifest is the path of the manifest file.
	Manifest string
	// Template is the contents of the template layer, "" if the manifest has
	// none (ollama then falls back to its default "{{ .Prompt }}" template).
	Template string
	// System is the contents of the system-prompt layer, "" if none.
	System string
	// Params is the parsed params layer (Modelfile PARAMETER lines), nil if
	// the manifest has none.
	Params map[string]any
	// Digest is the digest of the model layer, "sha256:<hex>".
	Digest string
	// Size is the size of the model blob in bytes.
	Size int64
	// Adapters and Projectors are the blobs of LoRA adapter and multimodal
	// projector layers, if any. A reader that does not support them should
	// refuse models that have them rather than silently ignore them.
	Adapters   []string
	Projectors []string
}

// manifestFile mirrors ollama's manifest.Manifest JSON encoding.
type manifestFile struct {
	SchemaVersion int     `json:"schemaVersion"`
	MediaType     string  `json:"mediaType"`
	Config        layer   `json:"config"`
	Layers        []layer `json:"layers"`
}

// layer mirrors ollama's manifest.Layer JSON encoding.
type layer struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	From      string `json:"from,omitempty"`
	Name      string `json:"name,omitempty"`
}

// digestRE is the digest format that ollama's manifest.BlobsPath accepts.
var digestRE = regexp.MustCompile(`^sha256[:-][0-9a-fA-F]{64}$`)

// Dir returns the ollama model store directory: $OLLAMA_MODELS if set (with
// surrounding spaces and quotes removed, as ollama's envconfig does), else
// ~/.ollama/models. It does not check that the directory exists.
func Dir() (string, error) {
	if s := strings.Trim(strings.TrimSpace(os.Getenv("OLLAMA_MODELS")), `"'`); s != "" {
		return s, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("%w: $OLLAMA_MODELS is not set and the home directory is unknown: %v", errNoHomeForDir, err)
	}
	return filepath.Join(home, ".ollama", "models"), nil
}

// Resolve resolves name in the store given by Dir.
func Resolve(name string) (*Model, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	return ResolveIn(dir, name)
}

// LooksLikeName reports whether s should be treated as an ollama model name
// rather than a file path: it is not an existing file or directory, it does
// not end in ".gguf" (a missing GGUF file should be reported as a missing
// file, not as a model to pull), and it parses as a valid ollama name.
func LooksLikeName(s string) bool {
	if s == "" {
		return false
	}
	if _, err := os.Stat(s); err == nil {
		return false
	}
	if strings.HasSuffix(strings.ToLower(s), ".gguf") {
		return false
	}
	return model.ParseName(s).IsValid()
}

// ParseName parses s with ollama's parser and its defaults, and returns the
// fully qualified name, or an error wrapping ErrInvalidName.
func ParseName(s string) (model.Name, error) {
	n := model.ParseName(strings.TrimSpace(s))
	if s == "" || !n.IsValid() {
		return model.Name{}, fmt.Errorf("%w %q: %s", ErrInvalidName, s, validNameExample)
	}
	return n, nil
}

// ResolveIn resolves name in the store rooted at dir.
func ResolveIn(dir, name string) (*Model, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		detail := "not a directory"
		if err != nil {
			detail = err.Error()
		}
		return nil, fmt.Errorf("%w at %s (%s): set $OLLAMA_MODELS to the directory that holds ollama's manifests/ and blobs/ (default ~/.ollama/models), or pull a model first with `ollama pull %s`",
			ErrStoreMissing, dir, detail, n.DisplayShortest())
	}

	mpath, n, err := findManifest(dir, n)
	if err != nil {
		return nil, err
	}

	raw, err := os.ReadFile(mpath)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrBadManifest, mpath, err)
	}
	var mf manifestFile
	if err := json.Unmarshal(raw, &mf); err != nil {
		return nil, fmt.Errorf("%w %s: %v (re-pull with `ollama pull %s`)", ErrBadManifest, mpath, err, n.DisplayShortest())
	}

	m := &Model{
		Name:      n.String(),
		ShortName: n.DisplayShortest(),
		Manifest:  mpath,
	}
	var modelLayer *layer
	for i := range mf.Layers {
		l := &mf.Layers[i]
		switch l.MediaType {
		case MediaTypeModel:
			// ollama's GetModel keeps the last model layer; so do we.
			modelLayer = l
		case MediaTypeTemplate, MediaTypePrompt:
			b, err := readBlob(dir, n, l)
			if err != nil {
				return nil, err
			}
			m.Template = string(b)
		case MediaTypeSystem:
			b, err := readBlob(dir, n, l)
			if err != nil {
				return nil, err
			}
			m.System = string(b)
		case MediaTypeParams:
			b, err := readBlob(dir, n, l)
			if err != nil {
				return nil, err
			}
			var p map[string]any
			if err := json.Unmarshal(b, &p); err != nil {
				return nil, fmt.Errorf("%w: params layer %s of %s: %v", ErrBadManifest, l.Digest, n.DisplayShortest(), err)
			}
			m.Params = p
		case MediaTypeAdapter, MediaTypeProjector:
			p, err := blobPath(dir, n, l)
			if err != nil {
				return nil, err
			}
			if l.MediaType == MediaTypeAdapter {
				m.Adapters = append(m.Adapters, p)
			} else {
				m.Projectors = append(m.Projectors, p)
			}
		}
	}
	if modelLayer == nil {
		return nil, fmt.Errorf("%w: %s (manifest %s) has no %s layer; it may be a cloud/remote model or a non-GGUF model, which cannot be run locally",
			ErrNoModelLayer, n.DisplayShortest(), mpath, MediaTypeModel)
	}
	p, err := blobPath(dir, n, modelLayer)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%w: model blob of %s: %v (re-pull with `ollama pull %s`)", ErrBlobMissing, n.DisplayShortest(), err, n.DisplayShortest())
	}
	if fi.Size() != modelLayer.Size {
		return nil, fmt.Errorf("%w: %s is %d bytes, manifest %s says %d (incomplete or corrupt; re-pull with `ollama pull %s`)",
			ErrBlobSize, p, fi.Size(), mpath, modelLayer.Size, n.DisplayShortest())
	}
	m.ModelPath = p
	m.Digest = strings.Replace(modelLayer.Digest, "-", ":", 1)
	m.Size = modelLayer.Size
	return m, nil
}

// findManifest returns the manifest path for n, and n spelled as stored.
// It tries the exact path first (what ollama's ParseNamedManifest does) and
// then a case-insensitive match over all stored manifests (what ollama's
// getExistingName does before every request).
func findManifest(dir string, n model.Name) (string, model.Name, error) {
	root := filepath.Join(dir, "manifests")
	p := filepath.Join(root, n.Filepath())
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
		return p, n, nil
	}
	matches, _ := filepath.Glob(filepath.Join(root, "*", "*", "*", "*"))
	for _, match := range matches {
		rel, err := filepath.Rel(root, match)
		if err != nil {
			continue
		}
		e := model.ParseNameFromFilepath(rel)
		if !e.IsValid() || !e.EqualFold(n) {
			continue
		}
		if fi, err := os.Stat(match); err == nil && fi.Mode().IsRegular() {
			e.ProtocolScheme = n.ProtocolScheme
			return match, e, nil
		}
	}
	return "", n, fmt.Errorf("%w: %s (no manifest at %s); pull it with `ollama pull %s`, or set $OLLAMA_MODELS if your models live elsewhere",
		ErrNotFound, n.DisplayShortest(), p, n.DisplayShortest())
}

// blobPath maps a layer to its blob file, checking the digest format the way
// ollama's manifest.BlobsPath does.
func blobPath(dir string, n model.Name, l *layer) (string, error) {
	if !digestRE.MatchString(l.Digest) {
		return "", fmt.Errorf("%w: layer %s of %s has invalid digest %q", ErrBadManifest, l.MediaType, n.DisplayShortest(), l.Digest)
	}
	return filepath.Join(dir, "blobs", strings.Replace(l.Digest, ":", "-", 1)), nil
}

func readBlob(dir string, n model.Name, l *layer) ([]byte, error) {
	p, err := blobPath(dir, n, l)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s layer of %s: %s (re-pull with `ollama pull %s`)", ErrBlobMissing, l.MediaType, n.DisplayShortest(), p, n.DisplayShortest())
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s layer of %s: %w", l.MediaType, n.DisplayShortest(), err)
	}
	return b, nil
}
