package ollamastore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ollama/ollama/types/model"
)

// WriteStore adds name to the ollama model store rooted at dir, with the
// existing GGUF file gguf as its model layer and, if template is not empty,
// a template layer. It writes blobs and the manifest the way ollama's
// `ollama create` does (content-addressed blobs/sha256-<hex>, a config blob
// of type application/vnd.docker.container.image.v1+json, manifest schema
// version 2), so a real `ollama serve` pointed at dir (OLLAMA_MODELS) can use
// the entry too. The GGUF is hard-linked into blobs/ when possible and copied
// otherwise. An existing entry of the same name (compared ignoring case, as
// ollama does) is replaced.
//
// It is meant for tests and benchmarks; it returns the entry as ResolveIn
// sees it.
func WriteStore(dir, name string, gguf string, template string) (*Model, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	if err := checkGGUF(gguf); err != nil {
		return nil, err
	}
	blobs := filepath.Join(dir, "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return nil, fmt.Errorf("creating ollama store: %w", err)
	}

	modelLayer, err := addFileBlob(blobs, gguf)
	if err != nil {
		return nil, err
	}
	modelLayer.MediaType = MediaTypeModel
	layers := []layer{modelLayer}
	if template != "" {
		l, err := addBytesBlob(blobs, []byte(template), MediaTypeTemplate)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}

	// The config blob, as ollama's createConfigLayer writes it (the GGUF
	// metadata fields that ollama fills in are informational only).
	diffIDs := make([]string, len(layers))
	for i, l := range layers {
		diffIDs[i] = l.Digest
	}
	cfg := model.ConfigV2{
		ModelFormat:  "gguf",
		Architecture: "amd64",
		OS:           "linux",
		RootFS:       model.RootFS{Type: "layers", DiffIDs: diffIDs},
	}
	var cb bytes.Buffer
	if err := json.NewEncoder(&cb).Encode(cfg); err != nil {
		return nil, fmt.Errorf("encoding ollama config: %w", err)
	}
	cfgLayer, err := addBytesBlob(blobs, cb.Bytes(), MediaTypeConfig)
	if err != nil {
		return nil, err
	}

	mf := manifestFile{SchemaVersion: 2, MediaType: MediaTypeManifest, Config: cfgLayer, Layers: layers}
	var mb bytes.Buffer
	if err := json.NewEncoder(&mb).Encode(mf); err != nil {
		return nil, fmt.Errorf("encoding ollama manifest: %w", err)
	}
	// Like ollama create (getExistingName), reuse the spelling of a stored
	// name that differs only in case.
	mpath := filepath.Join(dir, "manifests", n.Filepath())
	if p, _, err := findManifest(dir, n); err == nil {
		mpath = p
	}
	if err := os.MkdirAll(filepath.Dir(mpath), 0o755); err != nil {
		return nil, fmt.Errorf("creating ollama manifest directory: %w", err)
	}
	if err := writeFileAtomic(mpath, mb.Bytes()); err != nil {
		return nil, fmt.Errorf("writing ollama manifest for %s: %w", n.DisplayShortest(), err)
	}
	return ResolveIn(dir, name)
}

// checkGGUF checks that path is a regular file that starts with the GGUF magic.
func checkGGUF(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening GGUF: %w", err)
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != "GGUF" {
		return fmt.Errorf("%s is not a GGUF file (no GGUF magic)", path)
	}
	return nil
}

// addFileBlob hashes src and places it into blobs as sha256-<hex>: a hard
// link if possible, otherwise a copy. An existing blob of the right size is
// reused.
func addFileBlob(blobs, src string) (layer, error) {
	f, err := os.Open(src)
	if err != nil {
		return layer{}, fmt.Errorf("opening %s: %w", src, err)
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return layer{}, fmt.Errorf("hashing %s: %w", src, err)
	}
	hexsum := hex.EncodeToString(h.Sum(nil))
	dst := filepath.Join(blobs, "sha256-"+hexsum)
	l := layer{Digest: "sha256:" + hexsum, Size: size}
	if fi, err := os.Stat(dst); err == nil && fi.Size() == size {
		return l, nil
	}
	_ = os.Remove(dst)
	if err := os.Link(src, dst); err == nil {
		return l, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return layer{}, fmt.Errorf("rewinding %s: %w", src, err)
	}
	if err := copyToFile(dst, f); err != nil {
		return layer{}, fmt.Errorf("copying %s into the ollama store: %w", src, err)
	}
	return l, nil
}

func addBytesBlob(blobs string, b []byte, mediaType string) (layer, error) {
	sum := sha256.Sum256(b)
	hexsum := hex.EncodeToString(sum[:])
	dst := filepath.Join(blobs, "sha256-"+hexsum)
	if fi, err := os.Stat(dst); err != nil || fi.Size() != int64(len(b)) {
		if err := writeFileAtomic(dst, b); err != nil {
			return layer{}, fmt.Errorf("writing %s blob: %w", mediaType, err)
		}
	}
	return layer{MediaType: mediaType, Digest: "sha256:" + hexsum, Size: int64(len(b))}, nil
}

func writeFileAtomic(dst string, b []byte) error {
	return copyToFile(dst, bytes.NewReader(b))
}

// copyToFile writes r to a temporary file next to dst and renames it into
// place, so that a reader never sees a partial file.
func copyToFile(dst string, r io.Reader) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, r); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), dst); err != nil {
		return errors.Join(err, os.Remove(tmp.Name()))
	}
	return nil
}
