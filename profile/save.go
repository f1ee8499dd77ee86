package profile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

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
