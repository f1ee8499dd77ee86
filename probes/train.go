package probes

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// HeadMatrix holds the activations of every attention head at the last token
// of N labelled prompts, laid out for training: Data[layer*Heads+head] is the
// N x Dim row-major matrix of that head (row i = sample i), so that one
// head's probe reads one contiguous block.
type HeadMatrix struct {
	Layers, Heads, Dim, N int
	Data                  [][]float32
}

// NewHeadMatrix allocates a zeroed HeadMatrix. It panics if a size is not
// positive. The memory is Layers*Heads*N*Dim*4 bytes (a 7B model with 32x32
// heads of 128 dims and N = 7600 takes 4 GB).
func NewHeadMatrix(layers, heads, dim, n int) *HeadMatrix {
	if layers <= 0 || heads <= 0 || dim <= 0 || n <= 0 {
		panic(fmt.Sprintf("probes: NewHeadMatrix(%d, %d, %d, %d): sizes must be positive", layers, heads, dim, n))
	}
	m := &HeadMatrix{Layers: layers, Heads: heads, Dim: dim, N: n, Data: make([][]float32, layers*heads)}
	for i := range m.Data {
		m.Data[i] = make([]float32, n*dim)
	}
	return m
}

// Set copies v (len Dim) as the activation of (layer, head) for sample. It
// panics on an index out of range or a wrong length, like a slice would.
func (m *HeadMatrix) Set(sample, layer, head int, v []float32) {
	if len(v) != m.Dim {
		panic(fmt.Sprintf("probes: HeadMatrix.Set: len(v) = %d, want Dim = %d", len(v), m.Dim))
	}
	if sample < 0 || sample >= m.N || layer < 0 || layer >= m.Layers || head < 0 || head >= m.Heads {
		panic(fmt.Sprintf("probes: HeadMatrix.Set(%d, %d, %d) out of range (N %d, layers %d, heads %d)",
			sample, layer, head, m.N, m.Layers, m.Heads))
	}
	copy(m.Data[layer*m.Heads+head][sample*m.Dim:(sample+1)*m.Dim], v)
}

// Row returns sample's activation of (layer, head); the slice aliases Data.
func (m *HeadMatrix) Row(sample, layer, head int) []float32 {
	off := sample * m.Dim
	return m.Data[layer*m.Heads+head][off : off+m.Dim : off+m.Dim]
}

func (m *HeadMatrix) check() error {
	if m == nil {
		return errors.New("probes: nil HeadMatrix")
	}
	if m.Layers <= 0 || m.Heads <= 0 || m.Dim <= 0 || m.N <= 0 {
		return fmt.Errorf("probes: HeadMatrix sizes must be positive (layers %d, heads %d, dim %d, N %d)", m.Layers, m.Heads, m.Dim, m.N)
	}
	if len(m.Data) != m.Layers*m.Heads {
		return fmt.Errorf("probes: HeadMatrix has %d head blocks, want layers*heads = %d", len(m.Data), m.Layers*m.Heads)
	}
	for i, d := range m.Data {
		if len(d) != m.N*m.Dim {
			return fmt.Errorf("probes: HeadMatrix block of layer %d head %d has %d values, want N*Dim = %d",
				i/m.Heads, i%m.Heads, len(d), m.N*m.Dim)
		}
	}
	return nil
}

// TrainOptions configures Train. Zero values select the defaults.
type TrainOptions struct {
	// Seed of the train/validation split (default 1). The split is the same
	// for every head.
	Seed uint64
	// ValFraction is the share of each class held out for validation
	// (default 0.2, the paper's 4:1 split). Must be in (0, 1).
	ValFraction float64
	// L2 is the ridge penalty lambda (default 1e-2). The objective minimised
	// per head is
	//
	//	mean_i [ log(1+exp(z_i)) - y_i*z_i ] + lambda/2 * ||v||^2,   z_i = v.s_i + c
	//
	// where s_i is the activation standardised with the training mean and
	// standard deviation of each coordinate (as scikit-learn's
	// StandardScaler + LogisticRegression(C = 1/(lambda*n_train))); the
	// intercept c is not penalised. Negative values are an error; 0 means
	// the default, so pass a tiny positive value for a nearly unpenalised fit.
	L2 float64
	// MaxIter bounds the L-BFGS iterations per head (default 100).
	MaxIter int
	// Tol stops a head's optimisation once every component of the gradient
	// of the objective above (in standardised units) is at most Tol
	// (default 1e-4, scikit-learn's default for its L-BFGS solver). At 1e-4
	// the probe direction is within a cosine of about 0.9998 of the exact
	// optimum; the float32 data bound useful values to about 1e-6.
	Tol float64
	// Workers is the number of heads trained in parallel (default
	// runtime.NumCPU()). Results do not depend on it.
	Workers int
	// Progress, if set, is called after each head finishes with the number
	// of finished heads and the total; calls never overlap.
	Progress func(done, total int)
}

const (
	defaultValFraction = 0.2
	defaultL2          = 1e-2
	defaultMaxIter     = 100
	defaultTol         = 1e-4
)

func (o TrainOptions) withDefaults() (TrainOptions, error) {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.ValFraction == 0 {
		o.ValFraction = defaultValFraction
	}
	if !(o.ValFraction > 0 && o.ValFraction < 1) {
		return o, fmt.Errorf("probes: ValFraction %v must be in (0, 1)", o.ValFraction)
	}
	if o.L2 == 0 {
		o.L2 = defaultL2
	}
	if !(o.L2 > 0) || math.IsInf(o.L2, 0) {
		return o, fmt.Errorf("probes: L2 %v must be positive and finite", o.L2)
	}
	if o.MaxIter == 0 {
		o.MaxIter = defaultMaxIter
	}
	if o.MaxIter < 0 {
		return o, fmt.Errorf("probes: MaxIter %d must not be negative", o.MaxIter)
	}
	if o.Tol == 0 {
		o.Tol = defaultTol
	}
	if !(o.Tol > 0) {
		return o, fmt.Errorf("probes: Tol %v must be positive", o.Tol)
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	return o, nil
}

// HeadResult is the trained probe of one attention head.
type HeadResult struct {
	Layer, Head   int
	ValAccuracy   float64 // accuracy on the held-out validation samples
	TrainAccuracy float64 // accuracy on the training samples
	// Probe is the unit logistic-regression weight direction in the head's
	// raw activation space, oriented toward label 1 (the desired class):
	// moving an activation along Probe raises the probe's P(label 1). Zero
	// if the fitted weights are zero (e.g. constant activations).
	Probe []float32
	// ProbeSigma is the standard deviation (population, divide by N) of all
	// N activations projected on Probe.
	ProbeSigma float64
	// MassMean is the unit vector mean(label 1) - mean(label 0) over the
	// training samples (zero if the means coincide).
	MassMean []float32
	// MassMeanSigma is the standard deviation of all N activations projected
	// on MassMean.
	MassMeanSigma float64
}

// StratifiedSplit splits sample indices into training and validation sets:
// each class contributes round(valFraction * its count) samples, picked by a
// Fisher-Yates shuffle seeded with seed, to validation, the rest to training.
// Both returned slices are sorted ascending. It fails unless labels are 0 or
// 1 and both classes end up in both sets.
func StratifiedSplit(labels []int, valFraction float64, seed uint64) (train, val []int, err error) {
	if !(valFraction > 0 && valFraction < 1) {
		return nil, nil, fmt.Errorf("probes: validation fraction %v must be in (0, 1)", valFraction)
	}
	var byClass [2][]int
	for i, l := range labels {
		if l != 0 && l != 1 {
			return nil, nil, fmt.Errorf("probes: label of sample %d is %d, want 0 or 1", i, l)
		}
		byClass[l] = append(byClass[l], i)
	}
	rng := splitMix64(seed)
	for c, idx := range byClass {
		nv := int(math.Round(valFraction * float64(len(idx))))
		if nv < 1 || nv >= len(idx) {
			return nil, nil, fmt.Errorf("probes: class %d has %d samples: too few for a %.3g validation split with both classes in training and validation",
				c, len(idx), valFraction)
		}
		for i := len(idx) - 1; i > 0; i-- {
			j := int(rng.next() % uint64(i+1))
			idx[i], idx[j] = idx[j], idx[i]
		}
		val = append(val, idx[:nv]...)
		train = append(train, idx[nv:]...)
	}
	slices.Sort(train)
	slices.Sort(val)
	return train, val, nil
}

// splitMix64 is a tiny PRNG whose stream is fixed forever (unlike library
// shuffles, which may change between Go releases), so a split seed means the
// same split everywhere.
type splitMix64 uint64

func (s *splitMix64) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Train fits one L2-regularised logistic-regression probe sigmoid(w.x + b) per
// (layer, head) of m on a stratified, seeded train/validation split of
// labels (1 = desired class), and returns one result per head in layer-major
// order (index layer*Heads+head).
//
// Features are standardised with training statistics and the problem is
// solved by L-BFGS (float32 data, float64 optimiser state); the weights are
// mapped back to raw activation space before Probe is taken. Output is
// bit-identical for the same inputs whatever Workers is. Cancelling ctx stops
// the work and returns ctx.Err().
func Train(ctx context.Context, m *HeadMatrix, labels []int, o TrainOptions) ([]HeadResult, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(labels) != m.N {
		return nil, fmt.Errorf("probes: %d labels for N = %d samples", len(labels), m.N)
	}
	trainIdx, valIdx, err := StratifiedSplit(labels, o.ValFraction, o.Seed)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	total := m.Layers * m.Heads
	results := make([]HeadResult, total)
	errs := make([]error, total)
	var (
		next     atomic.Int64
		firstErr atomic.Int64 // lowest head index that failed; total if none
		progMu   sync.Mutex
		done     int
		wg       sync.WaitGroup
	)
	firstErr.Store(int64(total))
	workers := min(o.Workers, total)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := newHeadTrainer(m, labels, trainIdx, valIdx, o)
			for {
				k := int(next.Add(1) - 1)
				if k >= total || int64(k) > firstErr.Load() || ctx.Err() != nil {
					return
				}
				res, err := t.train(ctx, k)
				if err != nil {
					errs[k] = err
					for {
						cur := firstErr.Load()
						if int64(k) >= cur || firstErr.CompareAndSwap(cur, int64(k)) {
							break
						}
					}
					continue
				}
				results[k] = res
				if o.Progress != nil {
					progMu.Lock()
					done++
					o.Progress(done, total)
					progMu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if k := firstErr.Load(); k < int64(total) {
		return nil, errs[k]
	}
	return results, nil
}

// lbfgsMemory is the number of correction pairs kept by L-BFGS.
const lbfgsMemory = 8

// gradBlock is the number of rows whose float32 gradient contributions are
// summed before being added to the float64 gradient.
const gradBlock = 256

// headTrainer holds one worker's scratch buffers, reused for every head so
// that the optimiser loop allocates nothing.
type headTrainer struct {
	m                     *HeadMatrix
	labels                []int
	trainIdx, valIdx      []int
	isTrain               []bool
	y                     []float64 // training labels as 0/1
	n1, n0                float64   // training class counts
	l2                    float64
	maxIter               int
	xs                    []float32 // standardised training rows, nTrain x dim
	z, r                  []float32 // per training row: v.s_i, then sigmoid residual
	v32, gblk             []float32
	shift, sum1, sum0, sq []float64
	mean, invStd          []float64
	x, g, xNew, gNew      []float64 // optimiser variables: dim weights + intercept
	dir                   []float64
	s, yv                 [lbfgsMemory][]float64
	rho, alpha            [lbfgsMemory]float64
	w, mm, uP, uM         []float64
	projP, projM          []float64
	bufA, bufB            evalBuf
	tol                   float64
}

func newHeadTrainer(m *HeadMatrix, labels, trainIdx, valIdx []int, o TrainOptions) *headTrainer {
	d, n := m.Dim, len(trainIdx)
	f64 := func(n int) []float64 { return make([]float64, n) }
	t := &headTrainer{
		m: m, labels: labels, trainIdx: trainIdx, valIdx: valIdx,
		isTrain: make([]bool, m.N),
		l2:      o.L2, maxIter: o.MaxIter,
		y:     f64(n),
		xs:    make([]float32, n*d),
		z:     make([]float32, n),
		r:     make([]float32, n),
		v32:   make([]float32, d),
		gblk:  make([]float32, d),
		shift: f64(d), sum1: f64(d), sum0: f64(d), sq: f64(d),
		mean: f64(d), invStd: f64(d),
		x: f64(d + 1), g: f64(d + 1), xNew: f64(d + 1), gNew: f64(d + 1), dir: f64(d + 1),
		w: f64(d), mm: f64(d), uP: f64(d), uM: f64(d),
		projP: f64(m.N), projM: f64(m.N),
		bufA: evalBuf{zc: f64(n), e: f64(n)},
		bufB: evalBuf{zc: f64(n), e: f64(n)},
		tol:  o.Tol,
	}
	for i, s := range trainIdx {
		t.isTrain[s] = true
		t.y[i] = float64(labels[s])
		if labels[s] == 1 {
			t.n1++
		} else {
			t.n0++
		}
	}
	for k := range lbfgsMemory {
		t.s[k] = f64(d + 1)
		t.yv[k] = f64(d + 1)
	}
	return t
}

// train fits head k (= layer*Heads + head).
func (t *headTrainer) train(ctx context.Context, k int) (HeadResult, error) {
	m := t.m
	d := m.Dim
	raw := m.Data[k]
	layer, head := k/m.Heads, k%m.Heads

	// One pass over all samples: finiteness check, and, over the training
	// samples, per-class sums and the sum of squares, shifted by the first
	// training row for numerical stability.
	shift := t.shift
	for j, v := range raw[t.trainIdx[0]*d : (t.trainIdx[0]+1)*d] {
		shift[j] = float64(v)
	}
	clear(t.sum1)
	clear(t.sum0)
	clear(t.sq)
	var chk float64 // x*0 is NaN for NaN and +-Inf, 0 otherwise
	for s := range m.N {
		row := raw[s*d : (s+1)*d : (s+1)*d]
		if !t.isTrain[s] {
			for _, v := range row {
				chk += float64(v) * 0
			}
			continue
		}
		acc := t.sum0
		if t.labels[s] == 1 {
			acc = t.sum1
		}
		acc, sq := acc[:len(row)], t.sq[:len(row)]
		for j, v := range row {
			x := float64(v) - shift[j]
			acc[j] += x
			sq[j] += x * x
			chk += x * 0
		}
	}
	if chk != 0 {
		for i, v := range raw {
			if x := float64(v); x-x != 0 {
				return HeadResult{}, fmt.Errorf("probes: activation of sample %d, layer %d, head %d, dim %d is %v", i/d, layer, head, i%d, v)
			}
		}
	}
	nTrain := float64(len(t.trainIdx))
	for j := range d {
		dm := (t.sum1[j] + t.sum0[j]) / nTrain
		t.mean[j] = shift[j] + dm
		sd := math.Sqrt(math.Max(0, t.sq[j]/nTrain-dm*dm))
		if sd > 1e-12*(1+math.Abs(t.mean[j])) {
			t.invStd[j] = 1 / sd
		} else {
			t.invStd[j] = 0 // constant coordinate: carries no information
		}
		t.mm[j] = t.sum1[j]/t.n1 - t.sum0[j]/t.n0 // mean(label 1) - mean(label 0)
	}
	for i, s := range t.trainIdx {
		row := raw[s*d : (s+1)*d]
		dst := t.xs[i*d : (i+1)*d]
		for j, v := range row {
			dst[j] = float32((float64(v) - t.mean[j]) * t.invStd[j])
		}
	}

	if err := t.minimize(ctx); err != nil {
		return HeadResult{}, err
	}

	// Back to raw space: w_j = v_j/std_j, b = c - sum_j w_j mean_j.
	b := t.x[d]
	for j := range d {
		t.w[j] = t.x[j] * t.invStd[j]
		b -= t.w[j] * t.mean[j]
	}
	res := HeadResult{Layer: layer, Head: head}
	res.Probe = unit32(t.w, t.uP)
	res.MassMean = unit32(t.mm, t.uM)

	// One pass over all samples: the probe's decision, and the projections
	// on both (float32) unit directions.
	var okTrain, okVal int
	w, uP, uM := t.w[:d], t.uP[:d], t.uM[:d]
	for s := range m.N {
		row := raw[s*d : (s+1)*d : (s+1)*d]
		z, pp, pm := b, 0.0, 0.0
		for j, v := range row {
			x := float64(v)
			z += w[j] * x
			pp += uP[j] * x
			pm += uM[j] * x
		}
		t.projP[s], t.projM[s] = pp, pm
		pred := 0
		if z > 0 {
			pred = 1
		}
		if pred == t.labels[s] {
			if t.isTrain[s] {
				okTrain++
			} else {
				okVal++
			}
		}
	}
	res.TrainAccuracy = float64(okTrain) / nTrain
	res.ValAccuracy = float64(okVal) / float64(len(t.valIdx))
	res.ProbeSigma = stdDev(t.projP)
	res.MassMeanSigma = stdDev(t.projM)
	return res, nil
}

// unit32 returns dir/||dir|| as float32 and stores the same float32 values
// widened into u64; zero (and zero sigma downstream) if dir is zero.
func unit32(dir, u64 []float64) []float32 {
	u := make([]float32, len(dir))
	var nn float64
	for _, v := range dir {
		nn += v * v
	}
	nn = math.Sqrt(nn)
	for j, v := range dir {
		if nn > 0 {
			u[j] = float32(v / nn)
		}
		u64[j] = float64(u[j])
	}
	return u
}

// stdDev is the population standard deviation (two passes).
func stdDev(x []float64) float64 {
	var sum float64
	for _, v := range x {
		sum += v
	}
	mu := sum / float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - mu) * (v - mu)
	}
	return math.Sqrt(ss / float64(len(x)))
}

// evalBuf holds the per-training-row state of one evaluation point, so that
// its loss can be computed later without redoing the matrix product.
type evalBuf struct {
	zc []float64 // z_i = v.s_i + c
	e  []float64 // exp(-|z_i|)
}

// grad computes the gradient of the objective at x (weights of the
// standardised features, then the intercept) into g, and leaves z and
// exp(-|z|) of every training row in buf for loss.
func (t *headTrainer) grad(x, g []float64, buf *evalBuf) {
	d := t.m.Dim
	n := len(t.trainIdx)
	for j := range d {
		t.v32[j] = float32(x[j])
	}
	c := x[d]
	a := blas32.General{Rows: n, Cols: d, Stride: d, Data: t.xs}
	blas32.Gemv(blas.NoTrans, 1, a, blas32.Vector{N: d, Inc: 1, Data: t.v32}, 0, blas32.Vector{N: n, Inc: 1, Data: t.z})
	var sumR float64
	zc, ee, r, y := buf.zc[:n], buf.e[:n], t.r[:n], t.y[:n]
	for i, zi32 := range t.z[:n] {
		zi := float64(zi32) + c
		e := math.Exp(-math.Abs(zi))
		p := 1 / (1 + e) // sigmoid(|z|)
		if zi < 0 {
			p = e * p
		}
		ri := p - y[i]
		sumR += ri
		r[i] = float32(ri)
		zc[i], ee[i] = zi, e
	}
	clear(g)
	for lo := 0; lo < n; lo += gradBlock {
		hi := min(lo+gradBlock, n)
		blk := blas32.General{Rows: hi - lo, Cols: d, Stride: d, Data: t.xs[lo*d : hi*d]}
		blas32.Gemv(blas.Trans, 1, blk, blas32.Vector{N: hi - lo, Inc: 1, Data: t.r[lo:hi]}, 0, blas32.Vector{N: d, Inc: 1, Data: t.gblk})
		for j, v := range t.gblk {
			g[j] += float64(v)
		}
	}
	inv := 1 / float64(n)
	for j := range d {
		g[j] = g[j]*inv + t.l2*x[j]
	}
	g[d] = sumR * inv
}

// loss is the objective at x, from the rows' state that grad left in buf:
// mean_i [log(1+exp(z_i)) - y_i z_i] + lambda/2 ||v||^2.
func (t *headTrainer) loss(x []float64, buf *evalBuf) float64 {
	d := t.m.Dim
	var l float64
	y := t.y[:len(buf.zc)]
	for i, zi := range buf.zc {
		// log(1+exp(z)) = max(z, 0) + log(1+exp(-|z|))
		l += math.Log(1+buf.e[i]) + math.Max(zi, 0) - y[i]*zi
	}
	var pen float64
	for _, v := range x[:d] {
		pen += v * v
	}
	return l/float64(len(buf.zc)) + 0.5*t.l2*pen
}

// minimize runs L-BFGS from v = 0, c = logit(training prior), leaving the
// solution in t.x. It stops when the largest gradient component is at most
// tol, after maxIter iterations, or when no step makes progress at working
// precision.
//
// Line search: the objective is convex, so along a descent direction
// phi(t) = f(x + t*dir) has phi(t) <= phi(0) + t*phi'(t). A trial step whose
// directional derivative phi'(t) = g(x+t*dir).dir is still <= 0 therefore
// decreases f (by at least what an exact line search would up to a
// constant, since it lies before the line minimum) and is accepted from the
// gradient alone. Only a step that overshoots (phi'(t) > 0) computes the
// loss, for the Armijo test; if that fails, the step shrinks to the secant
// estimate of the line minimum. Skipping most loss evaluations saves the
// log per sample, a third of an evaluation.
func (t *headTrainer) minimize(ctx context.Context) error {
	d := t.m.Dim
	clear(t.x)
	p := t.n1 / (t.n1 + t.n0)
	t.x[d] = math.Log(p / (1 - p))
	cur, trial := &t.bufA, &t.bufB
	t.grad(t.x, t.g, cur)
	var f float64
	fKnown := false
	const (
		c1     = 1e-4 // Armijo constant
		maxBkt = 12
	)
	count, newest := 0, -1
	for iter := 0; iter < t.maxIter; iter++ {
		if normInf(t.g) <= t.tol {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		// Two-loop recursion: dir = -H g.
		copy(t.dir, t.g)
		for i := range count {
			k := (newest - i + lbfgsMemory) % lbfgsMemory
			t.alpha[k] = t.rho[k] * dot64(t.s[k], t.dir)
			axpy64(-t.alpha[k], t.yv[k], t.dir)
		}
		gamma := 1.0
		if count > 0 {
			gamma = 1 / (t.rho[newest] * dot64(t.yv[newest], t.yv[newest]))
		}
		for j := range t.dir {
			t.dir[j] *= gamma
		}
		for i := count - 1; i >= 0; i-- {
			k := (newest - i + lbfgsMemory) % lbfgsMemory
			beta := t.rho[k] * dot64(t.yv[k], t.dir)
			axpy64(t.alpha[k]-beta, t.s[k], t.dir)
		}
		for j := range t.dir {
			t.dir[j] = -t.dir[j]
		}
		slope := dot64(t.g, t.dir)
		if !(slope < 0) { // not a descent direction: restart from steepest descent
			count = 0
			for j := range t.dir {
				t.dir[j] = -t.g[j]
			}
			slope = dot64(t.g, t.dir)
		}
		step := 1.0
		if count == 0 {
			step = math.Min(1, 1/math.Sqrt(-slope)) // first step: at most unit length
		}
		accepted, fTrialKnown := false, false
		var fTrial float64
		for range maxBkt {
			for j := range t.x {
				t.xNew[j] = t.x[j] + step*t.dir[j]
			}
			t.grad(t.xNew, t.gNew, trial)
			dphi := dot64(t.gNew, t.dir)
			if dphi <= 0 {
				accepted = true
				break
			}
			if !fKnown {
				f, fKnown = t.loss(t.x, cur), true
			}
			fTrial = t.loss(t.xNew, trial)
			if fTrial <= f+c1*step*slope {
				accepted, fTrialKnown = true, true
				break
			}
			step *= math.Min(0.75, math.Max(0.1, slope/(slope-dphi)))
		}
		if !accepted {
			return nil // no further progress at working precision
		}
		newest = (newest + 1) % lbfgsMemory
		sv, yv := t.s[newest], t.yv[newest]
		for j := range t.x {
			sv[j] = t.xNew[j] - t.x[j]
			yv[j] = t.gNew[j] - t.g[j]
		}
		if sy := dot64(sv, yv); sy > 1e-12*dot64(yv, yv) && sy > 0 {
			t.rho[newest] = 1 / sy
			count = min(count+1, lbfgsMemory)
		} else {
			newest = (newest - 1 + lbfgsMemory) % lbfgsMemory // drop the pair
		}
		t.x, t.xNew = t.xNew, t.x
		t.g, t.gNew = t.gNew, t.g
		cur, trial = trial, cur
		f, fKnown = fTrial, fTrialKnown
	}
	return nil
}

func dot64(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func axpy64(alpha float64, x, y []float64) {
	for i, v := range x {
		y[i] += alpha * v
	}
}

func normInf(a []float64) float64 {
	var m float64
	for _, v := range a {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// Select returns the k heads with the highest validation accuracy, best
// first; ties are broken by layer, then head, so the choice is
// deterministic. results is not modified. k <= 0 gives none, k beyond
// len(results) gives all.
func Select(results []HeadResult, k int) []HeadResult {
	if k <= 0 {
		return nil
	}
	out := slices.Clone(results)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ValAccuracy != b.ValAccuracy {
			return a.ValAccuracy > b.ValAccuracy
		}
		if a.Layer != b.Layer {
			return a.Layer < b.Layer
		}
		return a.Head < b.Head
	})
	if k < len(out) {
		out = out[:k:k]
	}
	return out
}

// AccuracyMap returns the validation accuracies as [layer][head]. Heads with
// no result (or out of range) are NaN.
func AccuracyMap(results []HeadResult, layers, heads int) [][]float64 {
	acc := make([][]float64, layers)
	for l := range acc {
		acc[l] = make([]float64, heads)
		for h := range acc[l] {
			acc[l][h] = math.NaN()
		}
	}
	for _, r := range results {
		if r.Layer >= 0 && r.Layer < layers && r.Head >= 0 && r.Head < heads {
			acc[r.Layer][r.Head] = r.ValAccuracy
		}
	}
	return acc
}
