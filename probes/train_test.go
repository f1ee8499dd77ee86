package probes

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// plantedMatrix builds a HeadMatrix of Gaussian noise in which head
// (pl, ph) carries the label along the unit direction dir: its activation is
// offset + scale*(noise + strength*(2y-1)*dir). Labels alternate in blocks so
// that classes are balanced but not interleaved trivially.
func plantedMatrix(t testing.TB, layers, heads, dim, n, pl, ph int, strength float64, seed uint64) (*HeadMatrix, []int, []float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	m := NewHeadMatrix(layers, heads, dim, n)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = rng.IntN(2)
	}
	labels[0], labels[1] = 0, 1
	dir := make([]float64, dim)
	var nn float64
	for j := range dir {
		dir[j] = rng.NormFloat64()
		nn += dir[j] * dir[j]
	}
	for j := range dir {
		dir[j] /= math.Sqrt(nn)
	}
	offset := make([]float64, dim)
	for j := range offset {
		offset[j] = 3 * rng.NormFloat64()
	}
	const scale = 5.0
	v := make([]float32, dim)
	for s := range n {
		for l := range layers {
			for h := range heads {
				signal := l == pl && h == ph
				for j := range v {
					x := rng.NormFloat64()
					if signal {
						x = offset[j] + scale*(x+strength*float64(2*labels[s]-1)*dir[j])
					}
					v[j] = float32(x)
				}
				m.Set(s, l, h, v)
			}
		}
	}
	return m, labels, dir
}

func cosine32(a []float32, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * b[i]
		aa += float64(a[i]) * float64(a[i])
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb)
}

func norm32(a []float32) float64 {
	var s float64
	for _, v := range a {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// projStd is the population std of every sample of head k projected on u.
func projStd(m *HeadMatrix, k int, u []float32) float64 {
	p := make([]float64, m.N)
	var mu float64
	for i := range m.N {
		for j := range m.Dim {
			p[i] += float64(u[j]) * float64(m.Data[k][i*m.Dim+j])
		}
		mu += p[i]
	}
	mu /= float64(m.N)
	var v float64
	for _, x := range p {
		v += (x - mu) * (x - mu)
	}
	return math.Sqrt(v / float64(m.N))
}

func TestTrainPlantedSignal(t *testing.T) {
	const layers, heads, dim, n, pl, ph = 3, 4, 32, 1000, 2, 1
	m, labels, dir := plantedMatrix(t, layers, heads, dim, n, pl, ph, 3, 1)
	res, err := Train(context.Background(), m, labels, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != layers*heads {
		t.Fatalf("%d results, want %d", len(res), layers*heads)
	}
	for k, r := range res {
		if r.Layer != k/heads || r.Head != k%heads {
			t.Fatalf("result %d is layer %d head %d: not layer-major", k, r.Layer, r.Head)
		}
		if math.Abs(norm32(r.Probe)-1) > 1e-5 || math.Abs(norm32(r.MassMean)-1) > 1e-5 {
			t.Fatalf("head %d: probe norm %v, mass-mean norm %v, want 1", k, norm32(r.Probe), norm32(r.MassMean))
		}
		if got := projStd(m, k, r.Probe); math.Abs(got-r.ProbeSigma) > 1e-9*math.Max(1, got) {
			t.Errorf("head %d: ProbeSigma %v, std of projections %v", k, r.ProbeSigma, got)
		}
		if got := projStd(m, k, r.MassMean); math.Abs(got-r.MassMeanSigma) > 1e-9*math.Max(1, got) {
			t.Errorf("head %d: MassMeanSigma %v, std of projections %v", k, r.MassMeanSigma, got)
		}
	}
	best := Select(res, 1)[0]
	if best.Layer != pl || best.Head != ph {
		t.Fatalf("best head is (%d, %d), want the planted (%d, %d)", best.Layer, best.Head, pl, ph)
	}
	if best.ValAccuracy < 0.95 || best.TrainAccuracy < 0.95 {
		t.Errorf("planted head: val %.3f train %.3f, want >= 0.95", best.ValAccuracy, best.TrainAccuracy)
	}
	if c := cosine32(best.Probe, dir); c < 0.9 {
		t.Errorf("cos(probe, planted) = %.3f, want > 0.9", c)
	}
	if c := cosine32(best.MassMean, dir); c < 0.9 {
		t.Errorf("cos(mass-mean, planted) = %.3f, want > 0.9", c)
	}
	// The planted head's sigma: the activations are scaled by 5 and the
	// signal adds +-5*3 along dir, so the std along dir is 5*sqrt(1+9).
	if want := 5 * math.Sqrt(10); math.Abs(best.MassMeanSigma-want) > 0.1*want {
		t.Errorf("mass-mean sigma %.2f, want about %.2f", best.MassMeanSigma, want)
	}
	var noiseSum float64
	var noiseN int
	for _, r := range res {
		if r.Layer == pl && r.Head == ph {
			continue
		}
		noiseSum += r.ValAccuracy
		noiseN++
		if r.ValAccuracy > 0.7 {
			t.Errorf("noise head (%d, %d) val accuracy %.3f", r.Layer, r.Head, r.ValAccuracy)
		}
	}
	if mean := noiseSum / float64(noiseN); mean < 0.4 || mean > 0.6 {
		t.Errorf("noise heads mean val accuracy %.3f, want about 0.5", mean)
	}

	// Flipping the labels flips both directions.
	flipped := make([]int, n)
	for i, l := range labels {
		flipped[i] = 1 - l
	}
	resF, err := Train(context.Background(), m, flipped, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bf := resF[pl*heads+ph]
	if c := cosine32(bf.Probe, dir); c > -0.9 {
		t.Errorf("flipped labels: cos(probe, planted) = %.3f, want < -0.9", c)
	}
	if c := cosine32(bf.MassMean, dir); c > -0.9 {
		t.Errorf("flipped labels: cos(mass-mean, planted) = %.3f, want < -0.9", c)
	}
}

// TestTrainMatchesReference checks the solver against the optimality
// condition of the documented objective: the gradient at the returned
// weights, recomputed in float64 from the raw data, must vanish.
func TestTrainMatchesReference(t *testing.T) {
	const dim, n = 8, 300
	m, labels, _ := plantedMatrix(t, 1, 1, dim, n, 0, 0, 0.4, 3)
	o := TrainOptions{L2: 0.05}
	res, err := Train(context.Background(), m, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	train, _, _ := StratifiedSplit(labels, 0.2, 1)
	raw := m.Data[0]
	// Standardise in float64 the way the objective is defined.
	mean := make([]float64, dim)
	sd := make([]float64, dim)
	for _, s := range train {
		for j := range dim {
			mean[j] += float64(raw[s*dim+j])
		}
	}
	for j := range mean {
		mean[j] /= float64(len(train))
	}
	for _, s := range train {
		for j := range dim {
			d := float64(raw[s*dim+j]) - mean[j]
			sd[j] += d * d
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j] / float64(len(train)))
	}
	// Solve the same problem by plain gradient descent in float64 for many
	// iterations and compare directions.
	v := make([]float64, dim+1)
	g := make([]float64, dim+1)
	for range 20000 {
		clear(g)
		for _, s := range train {
			z := v[dim]
			for j := range dim {
				z += v[j] * (float64(raw[s*dim+j]) - mean[j]) / sd[j]
			}
			r := 1/(1+math.Exp(-z)) - float64(labels[s])
			for j := range dim {
				g[j] += r * (float64(raw[s*dim+j]) - mean[j]) / sd[j]
			}
			g[dim] += r
		}
		for j := range g {
			g[j] /= float64(len(train))
			if j < dim {
				g[j] += o.L2 * v[j]
			}
			v[j] -= 1.0 * g[j]
		}
	}
	w := make([]float64, dim)
	for j := range w {
		w[j] = v[j] / sd[j]
	}
	if c := cosine32(res[0].Probe, w); c < 0.99999 {
		t.Errorf("cos(probe, float64 reference) = %.7f, want ~1", c)
	}
}

func TestTrainDeterministicAcrossWorkers(t *testing.T) {
	m, labels, _ := plantedMatrix(t, 4, 4, 16, 300, 1, 3, 1, 5)
	r1, err := Train(context.Background(), m, labels, TrainOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	r4, err := Train(context.Background(), m, labels, TrainOptions{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r1, r4) {
		t.Fatal("Workers=1 and Workers=4 gave different results")
	}
	r4b, _ := Train(context.Background(), m, labels, TrainOptions{Workers: 4})
	if !reflect.DeepEqual(r4, r4b) {
		t.Fatal("two runs with Workers=4 differ")
	}
	rs, _ := Train(context.Background(), m, labels, TrainOptions{Workers: 4, Seed: 2})
	if reflect.DeepEqual(r4, rs) {
		t.Fatal("a different split seed gave identical results")
	}
}

func TestStratifiedSplit(t *testing.T) {
	labels := make([]int, 503)
	n1 := 0
	for i := range labels {
		if i%3 == 0 {
			labels[i] = 1
			n1++
		}
	}
	n0 := len(labels) - n1
	train, val, err := StratifiedSplit(labels, 0.2, 42)
	if err != nil {
		t.Fatal(err)
	}
	count := func(idx []int, c int) int {
		k := 0
		for _, i := range idx {
			if labels[i] == c {
				k++
			}
		}
		return k
	}
	if got, want := count(val, 1), int(math.Round(0.2*float64(n1))); got != want {
		t.Errorf("val has %d of class 1, want %d", got, want)
	}
	if got, want := count(val, 0), int(math.Round(0.2*float64(n0))); got != want {
		t.Errorf("val has %d of class 0, want %d", got, want)
	}
	if !slices.IsSorted(train) || !slices.IsSorted(val) {
		t.Error("split not sorted")
	}
	all := append(slices.Clone(train), val...)
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatalf("train+val is not a partition of 0..%d", len(labels)-1)
		}
	}
	train2, val2, _ := StratifiedSplit(labels, 0.2, 42)
	if !slices.Equal(train, train2) || !slices.Equal(val, val2) {
		t.Error("same seed, different split")
	}
	_, val3, _ := StratifiedSplit(labels, 0.2, 43)
	if slices.Equal(val, val3) {
		t.Error("different seed, same split")
	}
	// The validation set is spread over the samples, not a prefix.
	if val[len(val)-1] < len(labels)/2 {
		t.Errorf("validation indices look like a prefix: %v", val)
	}
	// Pin the stream: the split of a given seed must never change (a
	// profile records its seed and must be reproducible).
	small := []int{0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 1}
	for _, c := range []struct {
		frac       float64
		seed       uint64
		train, val []int
	}{
		{0.2, 1, []int{0, 1, 2, 3, 4, 6, 7, 8, 10, 11, 13, 14}, []int{5, 9, 12}},
		{0.4, 7, []int{0, 1, 2, 4, 6, 7, 10, 11, 14}, []int{3, 5, 8, 9, 12, 13}},
	} {
		tr, v, err := StratifiedSplit(small, c.frac, c.seed)
		if err != nil || !slices.Equal(tr, c.train) || !slices.Equal(v, c.val) {
			t.Errorf("StratifiedSplit(small, %v, %d) = %v, %v, %v; want %v, %v", c.frac, c.seed, tr, v, err, c.train, c.val)
		}
	}
}

func TestTrainErrors(t *testing.T) {
	ctx := context.Background()
	m, labels, _ := plantedMatrix(t, 2, 2, 4, 50, 0, 0, 1, 1)
	bad := func(name string, m *HeadMatrix, labels []int, o TrainOptions, want string) {
		t.Helper()
		_, err := Train(ctx, m, labels, o)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, want)
		}
	}
	bad("short labels", m, labels[:49], TrainOptions{}, "49 labels for N = 50")
	l2 := slices.Clone(labels)
	l2[7] = 2
	bad("label 2", m, l2, TrainOptions{}, "label of sample 7 is 2")
	bad("one class", m, make([]int, 50), TrainOptions{}, "class 1 has 0 samples")
	lone := make([]int, 50)
	lone[3] = 1
	bad("class too small", m, lone, TrainOptions{}, "class 1 has 1 samples")
	bad("val fraction", m, labels, TrainOptions{ValFraction: 1.5}, "ValFraction")
	bad("negative L2", m, labels, TrainOptions{L2: -1}, "L2")
	bad("negative MaxIter", m, labels, TrainOptions{MaxIter: -1}, "MaxIter")
	bad("nil matrix", nil, labels, TrainOptions{}, "nil HeadMatrix")
	short := &HeadMatrix{Layers: 2, Heads: 2, Dim: 4, N: 50, Data: slices.Clone(m.Data)}
	short.Data[3] = short.Data[3][:10]
	bad("short block", short, labels, TrainOptions{}, "layer 1 head 1 has 10 values")
	missing := &HeadMatrix{Layers: 2, Heads: 2, Dim: 4, N: 50, Data: m.Data[:3]}
	bad("missing block", missing, labels, TrainOptions{}, "3 head blocks")

	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		nan := &HeadMatrix{Layers: 2, Heads: 2, Dim: 4, N: 50, Data: make([][]float32, 4)}
		for i := range nan.Data {
			nan.Data[i] = slices.Clone(m.Data[i])
		}
		nan.Data[2][5*4+3] = v
		nan.Data[3][0] = v // a later head fails too; the first one is reported
		for _, w := range []int{1, 4} {
			bad("non-finite", nan, labels, TrainOptions{Workers: w}, "sample 5, layer 1, head 0, dim 3")
		}
	}
}

func TestTrainContextAndProgress(t *testing.T) {
	m, labels, _ := plantedMatrix(t, 3, 3, 8, 200, 0, 0, 1, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, m, labels, TrainOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}

	var seen []int
	_, err := Train(context.Background(), m, labels, TrainOptions{Workers: 3, Progress: func(done, total int) {
		if total != 9 {
			t.Errorf("total %d, want 9", total)
		}
		seen = append(seen, done)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []int{1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("progress calls %v", seen)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	_, err = Train(ctx, m, labels, TrainOptions{Workers: 1, Progress: func(done, total int) {
		calls++
		cancel()
	}})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("cancel mid-way: err = %v after %d heads", err, calls)
	}
}

func TestTrainConstantHead(t *testing.T) {
	m, labels, _ := plantedMatrix(t, 1, 2, 4, 100, 0, 0, 3, 1)
	clear(m.Data[1]) // head 1: all activations zero
	res, err := Train(context.Background(), m, labels, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := res[1]
	if norm32(r.Probe) != 0 || r.ProbeSigma != 0 || norm32(r.MassMean) != 0 || r.MassMeanSigma != 0 {
		t.Errorf("constant head: %+v, want zero directions", r)
	}
	if res[0].ValAccuracy < 0.95 {
		t.Errorf("planted head val %.3f", res[0].ValAccuracy)
	}
}

func TestSelectAndAccuracyMap(t *testing.T) {
	rs := []HeadResult{
		{Layer: 0, Head: 0, ValAccuracy: 0.6},
		{Layer: 0, Head: 1, ValAccuracy: 0.9},
		{Layer: 1, Head: 0, ValAccuracy: 0.9},
		{Layer: 1, Head: 1, ValAccuracy: 0.7},
		{Layer: 0, Head: 2, ValAccuracy: 0.9},
	}
	orig := slices.Clone(rs)
	got := Select(rs, 4)
	want := [][2]int{{0, 1}, {0, 2}, {1, 0}, {1, 1}}
	for i, r := range got {
		if [2]int{r.Layer, r.Head} != want[i] {
			t.Fatalf("Select order %v, want %v", got, want)
		}
	}
	if len(got) != 4 || !reflect.DeepEqual(rs, orig) {
		t.Error("Select: wrong length or input modified")
	}
	if len(Select(rs, 0)) != 0 || len(Select(rs, 99)) != 5 {
		t.Error("Select bounds")
	}
	acc := AccuracyMap(rs, 2, 3)
	if acc[0][2] != 0.9 || acc[1][1] != 0.7 || !math.IsNaN(acc[1][2]) {
		t.Errorf("AccuracyMap %v", acc)
	}
}

func TestHeadMatrixSet(t *testing.T) {
	m := NewHeadMatrix(2, 3, 2, 4)
	m.Set(3, 1, 2, []float32{7, 8})
	if got := m.Data[1*3+2][3*2 : 4*2]; got[0] != 7 || got[1] != 8 {
		t.Errorf("Set wrote %v", got)
	}
	if got := m.Row(3, 1, 2); got[0] != 7 || got[1] != 8 {
		t.Errorf("Row %v", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("Set with a wrong length did not panic")
		}
	}()
	m.Set(0, 0, 0, []float32{1})
}

// benchMatrix fills a HeadMatrix with N balanced samples: every head is
// correlated noise with an offset, and every 64th head (from head 17 on)
// also carries a planted signal, stronger in later layers.
func benchMatrix(layers, heads, dim, n int) (*HeadMatrix, []int) {
	m := &HeadMatrix{Layers: layers, Heads: heads, Dim: dim, N: n, Data: make([][]float32, layers*heads)}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 2
	}
	var st uint64 = 12345
	uni := func() float32 { // xorshift64*, uniform in [-1, 1)
		st ^= st >> 12
		st ^= st << 25
		st ^= st >> 27
		return float32(int64(st*2685821657736338717)>>11) / float32(1<<52)
	}
	dir := make([]float32, dim)
	for j := range dir {
		dir[j] = uni()
	}
	u := make([]float32, dim+1)
	for k := range m.Data {
		d := make([]float32, n*dim)
		strength := float32(0)
		if k%64 == 17 {
			strength = 0.05 * float32(1+k/64)
		}
		for i := range n {
			for j := range u {
				u[j] = uni()
			}
			common := uni()
			y := float32(2*labels[i] - 1)
			row := d[i*dim : (i+1)*dim]
			for j := range row {
				row[j] = u[j] + 0.8*u[j+1] + common*dir[(j+k)%dim] + 0.5 + strength*y*dir[j]
			}
		}
		m.Data[k] = d
	}
	return m, labels
}

// BenchmarkTrain32x32 trains a LLaMA-7B-sized probe set: 32 layers x 32 heads
// of 128 dims, N = 7600 (the paper's CL set). The activations take 4 GB.
func BenchmarkTrain32x32(b *testing.B) {
	m, labels := benchMatrix(32, 32, 128, 7600)
	var res []HeadResult
	for b.Loop() {
		var err error
		res, err = Train(context.Background(), m, labels, TrainOptions{})
		if err != nil {
			b.Fatal(err)
		}
	}
	best := Select(res, 3)
	b.Logf("best heads: (%d,%d) %.3f, (%d,%d) %.3f, (%d,%d) %.3f", best[0].Layer, best[0].Head, best[0].ValAccuracy,
		best[1].Layer, best[1].Head, best[1].ValAccuracy, best[2].Layer, best[2].Head, best[2].ValAccuracy)
}

// TestTrainTolerance: the default Tol leaves the probe within a cosine of
// 0.999 of a tightly converged one, and accuracies essentially unchanged.
func TestTrainTolerance(t *testing.T) {
	m, labels, _ := plantedMatrix(t, 1, 3, 64, 2000, 0, 1, 0.3, 9)
	loose, err := Train(context.Background(), m, labels, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tight, err := Train(context.Background(), m, labels, TrainOptions{Tol: 1e-6, MaxIter: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for k := range loose {
		ref := make([]float64, len(tight[k].Probe))
		for j, v := range tight[k].Probe {
			ref[j] = float64(v)
		}
		if c := cosine32(loose[k].Probe, ref); c < 0.999 {
			t.Errorf("head %d: cos(default tol, tol 1e-6) = %.6f", k, c)
		}
		if d := math.Abs(loose[k].ValAccuracy - tight[k].ValAccuracy); d > 0.01 {
			t.Errorf("head %d: val accuracy %v vs %v", k, loose[k].ValAccuracy, tight[k].ValAccuracy)
		}
	}
	if _, err := Train(context.Background(), m, labels, TrainOptions{Tol: -1}); err == nil {
		t.Error("negative Tol accepted")
	}
}
