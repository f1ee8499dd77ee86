// Package stats holds the summary statistics the benchmark reports share.
package stats

import "slices"

// Median is the median of v: the middle value, or the mean of the two
// middle values for an even count; 0 for none. v is not modified.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	return (s[(n-1)/2] + s[n/2]) / 2
}
