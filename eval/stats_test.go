package eval

import (
	"math"
	"testing"
)

func TestPairedTTest(t *testing.T) {
	for _, c := range []struct {
		name    string
		a, b    []float64
		t, df   float64
		p, mean float64
	}{
		// Student's sleep data (Cushny and Peebles), extra hours of sleep
		// under two drugs for the same 10 patients. R's
		// t.test(..., paired = TRUE): t = -4.0621, df = 9, p = 0.002833,
		// mean difference -1.58.
		{"sleep", []float64{0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0},
			[]float64{1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4},
			-4.062127683382037, 9, 0.00283289019738427, -1.58},
		// d = 1 2 3: mean 2, sd 1, t = 2/(1/sqrt 3) = 2 sqrt 3. With 2 df
		// the t CDF is 1/2 + t/(2 sqrt(2+t^2)), so p = 1 - sqrt(12/14).
		{"df 2 by hand", []float64{1, 2, 3}, []float64{0, 0, 0}, 2 * math.Sqrt(3), 2, 1 - math.Sqrt(6.0/7), 2},
		// d = 1 1 1 1 0: mean 0.8, sd sqrt(0.2), se 0.2, t = 4. With 4 df,
		// p = 1 - 11/(5 sqrt 5).
		{"df 4 by hand", []float64{1, 1, 1, 1, 1}, []float64{0, 0, 0, 0, 1}, 4, 4, 1 - 11/(5*math.Sqrt(5)), 0.8},
		{"no difference", []float64{1, 0, 1}, []float64{1, 0, 1}, 0, 2, 1, 0},
		{"constant difference", []float64{1, 1, 1}, []float64{0, 0, 0}, math.Inf(1), 2, 0, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := PairedTTest(c.a, c.b)
			if err != nil {
				t.Fatal(err)
			}
			if !(near(r.T, c.t) || r.T == c.t) || r.DF != c.df || !near(r.P, c.p) || !near(r.MeanDiff, c.mean) || r.N != len(c.a) {
				t.Errorf("got %+v, want t=%v df=%v p=%v mean=%v", r, c.t, c.df, c.p, c.mean)
			}
		})
	}
	if _, err := PairedTTest([]float64{1}, []float64{0}); err == nil {
		t.Error("one pair must be an error")
	}
	if _, err := PairedTTest([]float64{1, 2}, []float64{0}); err == nil {
		t.Error("unpaired input must be an error")
	}
}

func TestSummarizeCompare(t *testing.T) {
	mk := func(lang string, vals ...float64) []Score {
		var out []Score
		for i, v := range vals {
			out = append(out, Score{Key{lang, string(rune('a' + i))}, v})
		}
		return out
	}
	a := append(mk("de", 1, 1, 1, 1, 1), mk("fr", 1, 0, 1)...)
	b := append(mk("fr", 0, 1, 1), mk("de", 0, 0, 0, 0, 1)...) // order does not matter

	agg := Summarize(a)
	if len(agg.Langs) != 2 || agg.Langs[0] != (LangMean{"de", 1, 5}) || !near(agg.Langs[1].Mean, 2.0/3) || agg.Langs[1].N != 3 {
		t.Errorf("Summarize = %+v", agg)
	}
	if !near(agg.Macro, 5.0/6) { // (1 + 2/3) / 2, not the item mean 7/8
		t.Errorf("macro = %v, want 5/6", agg.Macro)
	}

	rows, err := Compare(a, b, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Lang != "de" || rows[1].Lang != "fr" || rows[2].Lang != "all" {
		t.Fatalf("rows %+v", rows)
	}
	// de: d = 1 1 1 1 0, t = 4, p = 0.0161: significant.
	if r := rows[0]; r.A != 1 || !near(r.B, 0.2) || !near(r.TTest.P, 1-11/(5*math.Sqrt(5))) || r.Mark() != "*" {
		t.Errorf("de %+v", r)
	}
	// fr: d = 1 -1 0, mean 0: t = 0, p = 1.
	if r := rows[1]; r.TTest.T != 0 || r.TTest.P != 1 || r.Mark() != "" {
		t.Errorf("fr %+v", r)
	}
	// all: macro means; pooled d = 1 1 1 1 0 1 -1 0: mean 1/2, SS 4, sd
	// sqrt(4/7), t = 0.5/(sd/sqrt 8) = 1.8708, df 7, p = 0.1036 (scipy's
	// ttest_rel agrees).
	if r := rows[2]; !near(r.A, 5.0/6) || !near(r.B, (0.2+2.0/3)/2) || !near(r.TTest.T, 1.8708286933869707) ||
		!near(r.TTest.P, 0.10355171027145907) || r.Significant {
		t.Errorf("all %+v", r)
	}

	if _, err := Compare(a, b[1:], 0.05); err == nil {
		t.Error("unmatched items must be an error")
	}
	one, err := Compare(mk("de", 1), mk("de", 0), 0.05)
	if err != nil || !math.IsNaN(one[0].TTest.P) || one[0].Significant {
		t.Errorf("single item: %+v, %v", one, err)
	}
}
