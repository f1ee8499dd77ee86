package probes

import (
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/color"
	draw2 "image/draw"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Heatmap image size: 8 x 6 inches at HeatmapDPI, i.e. 1200 x 900 pixels.
const (
	HeatmapWidth  = 8 * vg.Inch
	HeatmapHeight = 6 * vg.Inch
	HeatmapDPI    = 150
)

// Colour scale of the heatmap: chance (50%) to perfect (100%).
const (
	heatMin = 0.5
	heatMax = 1.0
)

// WriteHeatmap draws the paper's Figure 2 as a PNG: a layers x heads heatmap
// of validation accuracy (acc[layer][head], e.g. from AccuracyMap) in which
// each layer's row is sorted by accuracy, best first, so the x axis is the
// head's rank within its layer; layer 0 is at the bottom. The colour scale
// runs from the 50% chance baseline (values below clamp to its bottom
// colour) to 100%, with a colour bar on the right; NaN cells (heads with no
// result) are grey and sort last. Fonts are gonum/plot's embedded Liberation
// fonts, so no system fonts are needed.
func WriteHeatmap(path, title string, acc [][]float64) error {
	layers, heads, err := accShape(acc)
	if err != nil {
		return err
	}
	sorted := make([][]float64, layers)
	for l, row := range acc {
		r := slices.Clone(row)
		slices.SortStableFunc(r, func(a, b float64) int {
			switch {
			case math.IsNaN(a) && math.IsNaN(b):
				return 0
			case math.IsNaN(a):
				return 1
			case math.IsNaN(b):
				return -1
			case a > b:
				return -1
			case a < b:
				return 1
			}
			return 0
		})
		for h, v := range r {
			if !math.IsNaN(v) {
				r[h] = math.Min(heatMax, math.Max(heatMin, v))
			}
		}
		sorted[l] = r
	}

	cmap := moreland.Kindlmann()
	cmap.SetMin(heatMin)
	cmap.SetMax(heatMax)
	hm := plotter.NewHeatMap(accGrid(sorted), cmap.Palette(256))
	hm.Min, hm.Max = heatMin, heatMax
	hm.NaN = color.Gray{Y: 200}

	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = 14
	p.X.Label.Text = "head (sorted by accuracy)"
	p.Y.Label.Text = "layer"
	p.X.Tick.Marker = intTicks{}
	p.Y.Tick.Marker = intTicks{}
	p.X.Padding, p.Y.Padding = 0, 0
	p.Add(crispHeatMap{hm})
	p.X.Min, p.X.Max = -0.5, float64(heads)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(layers)-0.5

	bar := plot.New()
	bar.Add(&plotter.ColorBar{ColorMap: cmap, Vertical: true})
	bar.HideX()
	bar.Y.Padding = 0
	bar.Y.Label.Text = "validation accuracy"
	var ticks []plot.Tick
	for v := 50; v <= 100; v += 5 {
		t := plot.Tick{Value: float64(v) / 100}
		if v%10 == 0 {
			t.Label = strconv.Itoa(v) + "%"
		}
		ticks = append(ticks, t)
	}
	bar.Y.Tick.Marker = plot.ConstantTicks(ticks)

	img := vgimg.NewWith(vgimg.UseWH(HeatmapWidth, HeatmapHeight), vgimg.UseDPI(HeatmapDPI))
	dc := draw.New(img)
	// White background, a margin all round, the heatmap on the left and the
	// colour bar (with its axis) in a strip on the right.
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	dc = draw.Crop(dc, 0.15*vg.Inch, -0.15*vg.Inch, 0.1*vg.Inch, -0.1*vg.Inch)
	const barStrip = 1.35 * vg.Inch
	const barWidth = 0.3 * vg.Inch
	main := draw.Crop(dc, 0, -barStrip, 0, 0)
	p.Draw(main)
	// Align the colour bar vertically with the heatmap's data area.
	da := p.DataCanvas(main)
	bc := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: dc.Max.X - barWidth - 0.1*vg.Inch, Y: da.Min.Y},
		Max: vg.Point{X: dc.Max.X - 0.1*vg.Inch, Y: da.Max.Y},
	}}
	// The bar plot's Y axis (ticks and label) lies left of its data area:
	// give the plot a canvas wide enough for it and let the data area be
	// barWidth wide.
	bc = draw.Crop(bc, -(barStrip - barWidth - 0.25*vg.Inch), 0, 0, 0)
	// The plot shrinks its data area to keep the end tick labels inside its
	// canvas; grow the canvas by that much.
	bda := bar.DataCanvas(bc)
	bc.Min.Y -= bda.Min.Y - da.Min.Y
	bc.Max.Y += da.Max.Y - bda.Max.Y
	bar.Draw(bc)

	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("probes: heatmap: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("probes: heatmap %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("probes: heatmap %s: %w", path, err)
	}
	return nil
}

// accShape checks that acc is a non-empty rectangular [layer][head] grid.
func accShape(acc [][]float64) (layers, heads int, err error) {
	if len(acc) == 0 || len(acc[0]) == 0 {
		return 0, 0, errors.New("probes: empty accuracy map")
	}
	for l, row := range acc {
		if len(row) != len(acc[0]) {
			return 0, 0, fmt.Errorf("probes: accuracy map layer %d has %d heads, layer 0 has %d", l, len(row), len(acc[0]))
		}
	}
	return len(acc), len(acc[0]), nil
}

// crispHeatMap draws a HeatMap as a nearest-neighbour upscaled raster:
// HeatMap's vector cells leave anti-aliasing seams between cells, and its
// rasterised mode is smoothed into a blur when the image is scaled.
type crispHeatMap struct{ *plotter.HeatMap }

func (h crispHeatMap) Plot(c draw.Canvas, plt *plot.Plot) {
	cols, rows := h.GridXYZ.Dims()
	sx, sy := max(1, 1024/cols), max(1, 1024/rows)
	img := image.NewRGBA(image.Rect(0, 0, cols*sx, rows*sy))
	pal := h.Palette.Colors()
	ps := float64(len(pal)-1) / (h.Max - h.Min)
	for i := range cols {
		for j := range rows {
			var col color.Color
			switch v := h.GridXYZ.Z(i, j); {
			case math.IsNaN(v):
				col = h.NaN
			case v <= h.Min:
				col = pal[0]
			case v >= h.Max:
				col = pal[len(pal)-1]
			default:
				col = pal[int((v-h.Min)*ps+0.5)]
			}
			// Row 0 (layer 0) at the bottom of the image.
			draw2.Draw(img, image.Rect(i*sx, (rows-1-j)*sy, (i+1)*sx, (rows-j)*sy), image.NewUniform(col), image.Point{}, draw2.Src)
		}
	}
	xmin, xmax, ymin, ymax := h.DataRange()
	plotter.NewImage(img, xmin, ymin, xmax, ymax).Plot(c, plt)
}

// accGrid adapts [layer][column] to plotter.GridXYZ: column c at x = c,
// layer r at y = r.
type accGrid [][]float64

func (g accGrid) Dims() (c, r int)   { return len(g[0]), len(g) }
func (g accGrid) Z(c, r int) float64 { return g[r][c] }
func (g accGrid) X(c int) float64    { return float64(c) }
func (g accGrid) Y(r int) float64    { return float64(r) }

// intTicks marks integers with a step of 1, 2, 4, 5, 8, 10, 16, 20, ...
// chosen for at most about 16 labelled ticks.
type intTicks struct{}

func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := int(math.Ceil(lo)), int(math.Floor(hi))
	step := 1
	for _, s := range []int{1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100} {
		step = s
		if (last-first)/s+1 <= 16 {
			break
		}
	}
	var ticks []plot.Tick
	for v := first; v <= last; v++ {
		if v%step == 0 {
			ticks = append(ticks, plot.Tick{Value: float64(v), Label: strconv.Itoa(v)})
		}
	}
	return ticks
}

// WriteAccuracyCSV writes acc[layer][head] as CSV rows "layer,head,accuracy"
// after that header, every head in layer-major order; accuracies are written
// with the shortest representation that round-trips (NaN for a missing
// head).
func WriteAccuracyCSV(path string, acc [][]float64) error {
	if _, _, err := accShape(acc); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("probes: accuracy CSV: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"layer", "head", "accuracy"})
	for l, row := range acc {
		for h, v := range row {
			_ = w.Write([]string{strconv.Itoa(l), strconv.Itoa(h), strconv.FormatFloat(v, 'g', -1, 64)})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("probes: accuracy CSV %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("probes: accuracy CSV %s: %w", path, err)
	}
	return nil
}

// TopHeads formats the k best heads (by Select) as an aligned table for the
// terminal: rank (from 1), layer, head, validation accuracy, and the probe
// sigma.
func TopHeads(results []HeadResult, k int) string {
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rank\tlayer\thead\taccuracy\tsigma\t")
	for i, r := range Select(results, k) {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.4f\t%.4g\t\n", i+1, r.Layer, r.Head, r.ValAccuracy, r.ProbeSigma)
	}
	tw.Flush()
	return sb.String()
}
