package eval

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Score is one item's value of one metric.
type Score struct {
	Key
	Value float64
}

// LangMean is a metric's mean over one language's items.
type LangMean struct {
	Lang string
	Mean float64
	N    int
}

// Aggregate summarises one metric of one system: a mean per language, in
// sorted language order, and their macro average (each language weighs the
// same, as the paper and both official scripts average languages).
type Aggregate struct {
	Langs []LangMean
	Macro float64
}

// Summarize aggregates scores per language.
func Summarize(scores []Score) Aggregate {
	sums, counts := map[string]float64{}, map[string]int{}
	for _, s := range scores {
		sums[s.Lang] += s.Value
		counts[s.Lang]++
	}
	var a Aggregate
	for l, n := range counts {
		a.Langs = append(a.Langs, LangMean{l, sums[l] / float64(n), n})
	}
	sort.Slice(a.Langs, func(i, j int) bool { return a.Langs[i].Lang < a.Langs[j].Lang })
	for _, lm := range a.Langs {
		a.Macro += lm.Mean / float64(len(a.Langs))
	}
	return a
}

// TTest is the result of a two-tailed paired t-test.
type TTest struct {
	N        int
	MeanDiff float64 // mean of a[i] - b[i]
	T, DF, P float64
}

// PairedTTest tests whether the paired differences a[i]-b[i] have mean 0:
// t = mean(d) / (sd(d)/sqrt(n)), sd with n-1, df = n-1, two-tailed p from
// Student's t. When every difference is equal, sd is 0: t is 0 with p = 1 if
// they are 0, and ±Inf with p = 0 otherwise.
func PairedTTest(a, b []float64) (TTest, error) {
	if len(a) != len(b) {
		return TTest{}, fmt.Errorf("eval: t-test needs pairs, got %d and %d values", len(a), len(b))
	}
	n := len(a)
	if n < 2 {
		return TTest{}, errors.New("eval: t-test needs at least 2 pairs")
	}
	sum := 0.0
	for i := range a {
		sum += a[i] - b[i]
	}
	mean := sum / float64(n)
	ss := 0.0
	for i := range a {
		d := a[i] - b[i] - mean
		ss += d * d
	}
	r := TTest{N: n, MeanDiff: mean, DF: float64(n - 1)}
	se := math.Sqrt(ss/float64(n-1)) / math.Sqrt(float64(n))
	switch {
	case se == 0 && mean == 0:
		r.T, r.P = 0, 1
	case se == 0:
		r.T, r.P = math.Copysign(math.Inf(1), mean), 0
	default:
		r.T = mean / se
		// 2*CDF(-|t|) rather than 2*(1-CDF(|t|)): same value, no cancellation.
		r.P = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: r.DF}.CDF(-math.Abs(r.T))
	}
	return r, nil
}

// Comparison is one row of a two-system comparison: the means of systems A
// and B, the paired t-test of A - B, and whether p < alpha.
type Comparison struct {
	Lang        string
	A, B        float64
	TTest       TTest
	Significant bool
}

// Mark is the significance mark for a table cell: "*" if significant.
func (c Comparison) Mark() string {
	if c.Significant {
		return "*"
	}
	return ""
}

// Compare pairs two systems' scores of one metric by item key and tests the
// difference per language (rows in sorted language order). A final row with
// Lang "all" has the macro averages as A and B and the t-test over all pairs
// pooled. Both systems must have scored the same items. alpha is the
// significance level (the paper uses 0.05). A language with a single item
// gets T and P NaN and is never significant.
func Compare(a, b []Score, alpha float64) ([]Comparison, error) {
	bv := make(map[Key]float64, len(b))
	for _, s := range b {
		if _, dup := bv[s.Key]; dup {
			return nil, fmt.Errorf("eval: system B scores %s item %s twice", s.Lang, s.ID)
		}
		bv[s.Key] = s.Value
	}
	if len(a) != len(b) {
		return nil, fmt.Errorf("eval: systems scored %d and %d items", len(a), len(b))
	}
	type pairs struct{ a, b []float64 }
	byLang := map[string]*pairs{}
	all := &pairs{}
	seen := map[Key]bool{}
	for _, s := range a {
		v, ok := bv[s.Key]
		if !ok || seen[s.Key] {
			return nil, fmt.Errorf("eval: %s item %s is not scored once by both systems", s.Lang, s.ID)
		}
		seen[s.Key] = true
		p := byLang[s.Lang]
		if p == nil {
			p = &pairs{}
			byLang[s.Lang] = p
		}
		p.a, p.b = append(p.a, s.Value), append(p.b, v)
		all.a, all.b = append(all.a, s.Value), append(all.b, v)
	}
	langs := make([]string, 0, len(byLang))
	for l := range byLang {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	// A language with a single item has no t-test: NaN, not significant.
	row := func(lang string, p *pairs, ma, mb float64) Comparison {
		t, err := PairedTTest(p.a, p.b)
		if err != nil {
			t = TTest{N: len(p.a), MeanDiff: mean(p.a) - mean(p.b), T: math.NaN(), P: math.NaN()}
		}
		return Comparison{lang, ma, mb, t, t.P < alpha}
	}
	var out []Comparison
	var macroA, macroB float64
	for _, l := range langs {
		p := byLang[l]
		c := row(l, p, mean(p.a), mean(p.b))
		macroA += c.A / float64(len(langs))
		macroB += c.B / float64(len(langs))
		out = append(out, c)
	}
	return append(out, row("all", all, macroA, macroB)), nil
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
