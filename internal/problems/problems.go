// Package problems holds the one error type of everything an operator or a
// user writes (the ops file, a class's or a query's options, a steering
// profile): a list of problems, all reported at once, so that the input is
// fixed in one round instead of one error at a time.
package problems

import (
	"fmt"
	"strings"
)

// Error lists every problem found in one input. Each problem is
// "<where>: <what is wrong and the fix>", where is a key path such as
// "models.tiny.threads (line 5)" or an option name such as "topK".
//
// The message is "<Subject>: <problem>" for one problem, and for several
// "<Subject>: N problems:" followed by the problems one per indented line,
// or, when Inline is set, after a space and separated by "; ".
type Error struct {
	// Subject names the input and starts the message: "ops config
	// /etc/asmr.yaml", "invalid class moduleConfig", "invalid steering
	// profile".
	Subject string
	// Problems are the problems, in the order found; never empty in an
	// error that is returned.
	Problems []string
	// Inline keeps the message on one line, for an answer to a request
	// (a GraphQL error); files and start-up errors list one problem a line.
	Inline bool
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return e.Subject + ": " + e.Problems[0]
	}
	if e.Inline {
		return fmt.Sprintf("%s: %d problems: %s", e.Subject, len(e.Problems), strings.Join(e.Problems, "; "))
	}
	return fmt.Sprintf("%s: %d problems:\n  %s", e.Subject, len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// List gathers problems for an Error.
type List []string

// Add appends the problem "<where>: <format filled with args>".
func (l *List) Add(where, format string, args ...any) {
	*l = append(*l, where+": "+fmt.Sprintf(format, args...))
}

// Err is nil when l is empty, else an *Error of subject listing l's
// problems one a line.
func (l List) Err(subject string) error {
	if len(l) == 0 {
		return nil
	}
	return &Error{Subject: subject, Problems: l}
}
