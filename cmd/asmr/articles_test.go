package main

import (
	"strings"
	"testing"
)

func TestParseArticles(t *testing.T) {
	for in, want := range map[string][2]int{"0:4": {0, 4}, "4:": {4, 0}, " 2 : 9 ": {2, 9}} {
		from, to, err := parseArticles(in)
		if err != nil || from != want[0] || to != want[1] {
			t.Errorf("%q: %d, %d, %v; want %v", in, from, to, err, want)
		}
	}
	for _, in := range []string{"4", "4:4", "5:2", "-1:3", "a:b", ":3x"} {
		if _, _, err := parseArticles(in); err == nil || !strings.Contains(err.Error(), "-articles") {
			t.Errorf("%q: %v", in, err)
		}
	}
}
