package probes

import (
	"encoding/csv"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// figureAcc is a 32 x 32 accuracy map shaped like the paper's figure: chance
// in the early layers, a few strong heads in the middle ones.
func figureAcc() [][]float64 {
	acc := make([][]float64, 32)
	for l := range acc {
		acc[l] = make([]float64, 32)
		for h := range acc[l] {
			// deterministic pseudo-noise around 0.5, rising with depth
			noise := math.Sin(float64(l*131+h*17)) * 0.03
			peak := math.Exp(-math.Pow(float64(l-16)/6, 2)) * 0.45 * math.Exp(-float64((h*7+l)%32)/6)
			acc[l][h] = 0.5 + noise + peak
		}
	}
	acc[0][3] = 0.3 // below chance: clamps to the bottom colour
	return acc
}

func TestWriteHeatmap(t *testing.T) {
	dir := t.TempDir()
	if out := os.Getenv("PROBES_HEATMAP_OUT"); out != "" {
		dir = out // keep the picture for a look
	}
	path := filepath.Join(dir, "heatmap.png")
	if err := WriteHeatmap(path, "CL (coherence in language): probe validation accuracy", figureAcc()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
		t.Errorf("heatmap is %dx%d, want 1200x900", b.Dx(), b.Dy())
	}

	// Small and odd shapes, NaN cells.
	small := [][]float64{{0.5, math.NaN(), 1}, {0.9, 0.7, 0.6}}
	if err := WriteHeatmap(filepath.Join(dir, "small.png"), "small", small); err != nil {
		t.Fatal(err)
	}
	// Layer 0 (bottom) sorted: 1.0 (top colour, white), 0.5 (bottom colour,
	// black), NaN (grey), left to right, each a third of the data width.
	sf, err := os.Open(filepath.Join(dir, "small.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	simg, err := png.Decode(sf)
	if err != nil {
		t.Fatal(err)
	}
	grey, white, black := 0, 0, 0
	for y := 450; y < 800; y++ { // lower half of the data area
		for x := 100; x < 960; x++ { // inside the data area
			r, g, b, _ := simg.At(x, y).RGBA()
			switch {
			case r>>8 == 200 && g>>8 == 200 && b>>8 == 200:
				grey++
			case r>>8 > 250 && g>>8 > 250 && b>>8 > 250:
				white++
			case r>>8 < 5 && g>>8 < 5 && b>>8 < 5:
				black++
			}
		}
	}
	if grey < 50000 || white < 50000 || black < 50000 {
		t.Errorf("small heatmap, lower half: %d grey, %d white, %d black pixels; want the three cells", grey, white, black)
	}
	for _, bad := range [][][]float64{nil, {{}}, {{0.5, 0.6}, {0.7}}} {
		if err := WriteHeatmap(filepath.Join(dir, "bad.png"), "bad", bad); err == nil {
			t.Errorf("WriteHeatmap(%v) accepted", bad)
		}
	}
	if err := WriteHeatmap(filepath.Join(dir, "no-such-dir", "x.png"), "x", small); err == nil {
		t.Error("unwritable path accepted")
	}
}

func TestWriteAccuracyCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acc.csv")
	acc := [][]float64{{0.5, 0.75}, {0.875, math.NaN()}}
	if err := WriteAccuracyCSV(path, acc); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "layer,head,accuracy\n0,0,0.5\n0,1,0.75\n1,0,0.875\n1,1,NaN\n"
	if string(data) != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", data, want)
	}
	recs, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil || len(recs) != 5 {
		t.Errorf("CSV does not parse back: %v, %d records", err, len(recs))
	}
	if err := WriteAccuracyCSV(path, [][]float64{{1}, {}}); err == nil {
		t.Error("ragged map accepted")
	}
}

func TestTopHeads(t *testing.T) {
	rs := []HeadResult{
		{Layer: 0, Head: 0, ValAccuracy: 0.6, ProbeSigma: 1.5},
		{Layer: 12, Head: 7, ValAccuracy: 0.975, ProbeSigma: 2.25},
		{Layer: 3, Head: 1, ValAccuracy: 0.8, ProbeSigma: 0.125},
	}
	got := TopHeads(rs, 2)
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("TopHeads:\n%s", got)
	}
	for i, want := range [][]string{
		{"rank", "layer", "head", "accuracy", "sigma"},
		{"1", "12", "7", "0.9750", "2.25"},
		{"2", "3", "1", "0.8000", "0.125"},
	} {
		if f := strings.Fields(lines[i]); strings.Join(f, " ") != strings.Join(want, " ") {
			t.Errorf("line %d = %q, want fields %v", i, lines[i], want)
		}
	}
	if len(lines[0]) != len(lines[1]) || len(lines[1]) != len(lines[2]) {
		t.Errorf("columns not aligned:\n%s", got)
	}
}
