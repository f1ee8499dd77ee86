package eval

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The sweep of the paper's Figure 3: steer the K best heads with strength
// alpha, for every K of a list and alpha of a list, over several seeds, and
// plot a metric against alpha with one line per K.

// DefaultSweepKs and DefaultSweepAlphas are the grid of the paper's
// Figure 3 (its best point is K = 64, alpha = 20).
var (
	DefaultSweepKs     = []int{16, 32, 64, 128}
	DefaultSweepAlphas = []float64{0, 5, 10, 15, 20, 25, 30}
)

// SweepGrid is what a sweep varies and how it steers.
type SweepGrid struct {
	Ks     []int
	Alphas []float64
	// AC and CL say which attributes alpha is applied to (both, as the
	// paper's best setting uses the same alpha for both).
	AC, CL    bool
	Direction string
	Scope     string
}

// SweepName names the system of one grid point: "K16-a20". Every K is the
// same unsteered system at alpha 0, named "a0".
func SweepName(k int, alpha float64) string {
	if alpha == 0 {
		return "a0"
	}
	return fmt.Sprintf("K%d-a%s", k, strconv.FormatFloat(alpha, 'g', -1, 64))
}

// Systems returns the grid's systems, alpha 0 once (it steers nothing
// whatever K is, so its answers are shared by every K's line).
func (g SweepGrid) Systems() []System {
	var out []System
	seen := map[string]bool{}
	for _, k := range g.Ks {
		for _, a := range g.Alphas {
			name := SweepName(k, a)
			if seen[name] {
				continue
			}
			seen[name] = true
			s := System{Name: name}
			if a != 0 {
				st := &Steering{TopK: k, Direction: g.Direction, Scope: g.Scope}
				if g.AC {
					st.AlphaAC = a
				}
				if g.CL {
					st.AlphaCL = a
				}
				s.Steer = st
			}
			out = append(out, s)
		}
	}
	return out
}

// SweepPoint is one (K, alpha, seed) of a sweep: the macro average of every
// metric over the seed's items.
type SweepPoint struct {
	K      int
	Alpha  float64
	Seed   uint64
	Values map[string]float64
}

// ScoreSweep scores every grid point of every seed from the store. keyOf
// gives a system's record key (Options.Key).
func ScoreSweep(dataset string, items []Item, sample int, seeds []uint64, g SweepGrid, store *Store, keyOf func(System) string, det *LangDetector) ([]SweepPoint, error) {
	systems := map[string]System{}
	for _, s := range g.Systems() {
		systems[s.Name] = s
	}
	var out []SweepPoint
	for _, seed := range seeds {
		sub := Subsample(items, sample, seed)
		macro := map[string]map[string]float64{}
		for name, s := range systems {
			preds, err := store.Select(keyOf(s), seed, sub)
			if err != nil {
				return nil, fmt.Errorf("%s, seed %d: %w", name, seed, err)
			}
			sc, err := ScorePredictions(dataset, sub, preds, det)
			if err != nil {
				return nil, fmt.Errorf("%s, seed %d: %w", name, seed, err)
			}
			macro[name] = map[string]float64{}
			for m, v := range sc {
				macro[name][m] = Summarize(v).Macro
			}
		}
		for _, k := range g.Ks {
			for _, a := range g.Alphas {
				out = append(out, SweepPoint{K: k, Alpha: a, Seed: seed, Values: macro[SweepName(k, a)]})
			}
		}
	}
	return out, nil
}

// SweepMean is the mean and sample standard deviation over seeds of one
// metric at one grid point.
type SweepMean struct {
	K        int
	Alpha    float64
	Mean, SD float64
	Seeds    int
}

// SummarizeSweep averages a metric over seeds, in grid order.
func SummarizeSweep(points []SweepPoint, metric string) []SweepMean {
	type gp struct {
		k int
		a float64
	}
	vals := map[gp][]float64{}
	var order []gp
	for _, p := range points {
		k := gp{p.K, p.Alpha}
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = append(vals[k], p.Values[metric])
	}
	out := make([]SweepMean, 0, len(order))
	for _, k := range order {
		v := vals[k]
		m := mean(v)
		sd := 0.0
		if len(v) > 1 {
			for _, x := range v {
				sd += (x - m) * (x - m)
			}
			sd = math.Sqrt(sd / float64(len(v)-1))
		}
		out = append(out, SweepMean{K: k.k, Alpha: k.a, Mean: m, SD: sd, Seeds: len(v)})
	}
	return out
}

// WriteSweepCSV writes one line per (K, alpha, seed, metric), then one per
// (K, alpha, metric) with seed "mean" and the standard deviation over seeds.
// Values are fractions in [0,1].
func WriteSweepCSV(path string, points []SweepPoint, metrics []string) error {
	return writeFile(path, func(w *bufio.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"k", "alpha", "seed", "metric", "value", "sd", "seeds"})
		f := func(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
		for _, p := range points {
			for _, m := range metrics {
				cw.Write([]string{strconv.Itoa(p.K), f(p.Alpha), strconv.FormatUint(p.Seed, 10), m, f(p.Values[m]), "", "1"})
			}
		}
		for _, m := range metrics {
			for _, s := range SummarizeSweep(points, m) {
				cw.Write([]string{strconv.Itoa(s.K), f(s.Alpha), "mean", m, f(s.Mean), f(s.SD), strconv.Itoa(s.Seeds)})
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

// SweepMarkdown is a table of one metric: K as rows, alpha as columns,
// percentages (± standard deviation over seeds when there are several).
func SweepMarkdown(points []SweepPoint, metric, title string) string {
	ms := SummarizeSweep(points, metric)
	var ks []int
	var alphas []float64
	cell := map[[2]float64]SweepMean{}
	for _, m := range ms {
		if !slices.Contains(ks, m.K) {
			ks = append(ks, m.K)
		}
		if !slices.Contains(alphas, m.Alpha) {
			alphas = append(alphas, m.Alpha)
		}
		cell[[2]float64{float64(m.K), m.Alpha}] = m
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n| K \\ alpha |", title)
	for _, a := range alphas {
		fmt.Fprintf(&b, " %s |", strconv.FormatFloat(a, 'g', -1, 64))
	}
	b.WriteString("\n|--:|")
	for range alphas {
		b.WriteString("--:|")
	}
	b.WriteString("\n")
	for _, k := range ks {
		fmt.Fprintf(&b, "| %d |", k)
		for _, a := range alphas {
			m := cell[[2]float64{float64(k), a}]
			if m.Seeds > 1 {
				fmt.Fprintf(&b, " %s ± %s |", pct(m.Mean), pct(m.SD))
			} else {
				fmt.Fprintf(&b, " %s |", pct(m.Mean))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// sweepColors are distinguishable line colours (Okabe-Ito).
var sweepColors = []color.RGBA{
	{0, 114, 178, 255}, {213, 94, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{230, 159, 0, 255}, {86, 180, 233, 255}, {0, 0, 0, 255}, {240, 228, 66, 255},
}

type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// WriteSweepPlot draws the paper's Figure 3 as a PNG (or SVG/PDF by the
// path's extension): metric (in %) against alpha, one line per K, with
// error bars of one standard deviation over seeds when there are several.
func WriteSweepPlot(path string, points []SweepPoint, metric, yLabel, title string) error {
	ms := SummarizeSweep(points, metric)
	byK := map[int][]SweepMean{}
	var ks []int
	for _, m := range ms {
		if _, ok := byK[m.K]; !ok {
			ks = append(ks, m.K)
		}
		byK[m.K] = append(byK[m.K], m)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "alpha (steering strength, × sigma)"
	p.Y.Label.Text = yLabel + " (%)"
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(8)
	p.Legend.YOffs = vg.Points(8)
	p.Add(plotter.NewGrid())
	top := 0.0
	for _, m := range ms {
		top = max(top, 100*(m.Mean+m.SD))
	}
	p.Y.Min, p.Y.Max = 0, min(100, max(1, top*1.1))
	for i, k := range ks {
		pts := byK[k]
		slices.SortFunc(pts, func(a, b SweepMean) int { return cmp.Compare(a.Alpha, b.Alpha) })
		e := errPoints{XYs: make(plotter.XYs, len(pts)), YErrors: make(plotter.YErrors, len(pts))}
		withErr := false
		for j, m := range pts {
			e.XYs[j] = plotter.XY{X: m.Alpha, Y: 100 * m.Mean}
			e.YErrors[j].Low, e.YErrors[j].High = 100*m.SD, 100*m.SD
			withErr = withErr || m.SD > 0
		}
		c := sweepColors[i%len(sweepColors)]
		line, scatter, err := plotter.NewLinePoints(e.XYs)
		if err != nil {
			return err
		}
		line.Color = c
		line.Width = vg.Points(1.5)
		scatter.Color = c
		scatter.Shape = draw.CircleGlyph{}
		scatter.Radius = vg.Points(2.5)
		p.Add(line, scatter)
		p.Legend.Add(fmt.Sprintf("K = %d", k), line, scatter)
		if withErr {
			bars, err := plotter.NewYErrorBars(e)
			if err != nil {
				return err
			}
			bars.Color = c
			p.Add(bars)
		}
	}
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}
