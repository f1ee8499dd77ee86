package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Store is the per-item results file (JSON lines, one Record each),
// appended one line per answer. Opening it reads what is there, so a
// rerun skips finished requests. A last line cut off by a crash is
// dropped (the file is truncated to its last complete line); any other
// unreadable line is an error, since it means the file is not ours.
type Store struct {
	path string
	mu   sync.Mutex
	f    *os.File
	recs []Record
	idx  map[storeKey]int
}

type storeKey struct {
	key  string
	item Key
	seed uint64
}

// OpenStore opens (or creates) the results file at path for appending.
func OpenStore(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	s := &Store{path: path, f: f, idx: map[storeKey]int{}}
	if err := s.load(); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// ReadStore reads a results file without opening it for writing.
func ReadStore(path string) (*Store, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &Store{path: path, idx: map[storeKey]int{}}
	if _, err := s.parse(data); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) load() error {
	data, err := io.ReadAll(s.f)
	if err != nil {
		return err
	}
	good, err := s.parse(data)
	if err != nil {
		return err
	}
	if good != int64(len(data)) {
		if err := s.f.Truncate(good); err != nil {
			return err
		}
	}
	_, err = s.f.Seek(good, io.SeekStart)
	return err
}

// parse reads every complete line and returns the length of the data that
// is kept: everything up to the last newline, or all of it when the last
// line, though unterminated, is a complete record (a newline is then
// added by the next Append).
func (s *Store) parse(data []byte) (int64, error) {
	var off int64
	for line := 1; len(data) > 0; line++ {
		i := bytes.IndexByte(data, '\n')
		last := i < 0
		chunk := data
		if !last {
			chunk = data[:i]
		}
		if len(bytes.TrimSpace(chunk)) > 0 {
			var r Record
			if err := json.Unmarshal(chunk, &r); err != nil {
				if last {
					return off, nil // cut off by a crash: drop it
				}
				return 0, fmt.Errorf("%s:%d: not a result record: %v", s.path, line, err)
			}
			s.add(r)
		}
		if last {
			return off + int64(len(chunk)), nil
		}
		off += int64(i + 1)
		data = data[i+1:]
	}
	return off, nil
}

func (s *Store) add(r Record) {
	k := storeKey{r.Key, r.ItemKey(), r.Seed}
	if i, ok := s.idx[k]; ok {
		s.recs[i] = r // a later answer of the same request wins
		return
	}
	s.idx[k] = len(s.recs)
	s.recs = append(s.recs, r)
}

// Path is the file's path.
func (s *Store) Path() string { return s.path }

// Done reports whether the store has the answer of (key, item, seed).
func (s *Store) Done(key string, item Key, seed uint64) bool {
	_, ok := s.Lookup(key, item, seed)
	return ok
}

// Lookup returns the answer of (key, item, seed).
func (s *Store) Lookup(key string, item Key, seed uint64) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.idx[storeKey{key, item, seed}]
	if !ok {
		return Record{}, false
	}
	return s.recs[i], true
}

// Records returns every record, in file order (one per request).
func (s *Store) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.recs...)
}

// Append writes r as one line and keeps it.
func (s *Store) Append(r Record) error {
	if s.f == nil {
		return errors.New("eval: store opened read-only")
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A complete but unterminated last line (see parse) gets its newline.
	if off, err := s.f.Seek(0, io.SeekCurrent); err == nil && off > 0 {
		var last [1]byte
		if _, err := s.f.ReadAt(last[:], off-1); err == nil && last[0] != '\n' {
			b = append([]byte{'\n'}, b...)
		}
	}
	if _, err := s.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	s.add(r)
	return nil
}

// Close closes the file.
func (s *Store) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
