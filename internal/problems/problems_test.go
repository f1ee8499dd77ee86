package problems

import "testing"

func TestErrorText(t *testing.T) {
	for _, c := range []struct {
		e    Error
		want string
	}{
		{Error{Subject: "invalid x", Problems: []string{"a: 1"}}, "invalid x: a: 1"},
		{Error{Subject: "invalid x", Problems: []string{"a: 1"}, Inline: true}, "invalid x: a: 1"},
		{Error{Subject: "ops config f", Problems: []string{"a: 1", "b: 2"}}, "ops config f: 2 problems:\n  a: 1\n  b: 2"},
		{Error{Subject: "invalid x", Problems: []string{"a: 1", "b: 2"}, Inline: true}, "invalid x: 2 problems: a: 1; b: 2"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.e, got, c.want)
		}
	}
}

func TestList(t *testing.T) {
	var l List
	if err := l.Err("invalid x"); err != nil {
		t.Fatalf("empty list: %v", err)
	}
	l.Add("kind", "is %q, want %q", "x", "y")
	if err := l.Err("invalid x"); err == nil || err.Error() != `invalid x: kind: is "x", want "y"` {
		t.Fatalf("one problem: %v", err)
	}
}
