package integration_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Raw sends a request with body encoded as JSON (nil: no body; []byte or
// json.RawMessage: sent as is) and returns the status and the response
// body. It fails the test only when the request cannot be made.
func (s *Server) Raw(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case json.RawMessage:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("%s %s: encode body: %v", method, path, err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read response: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// Do sends a JSON request (see Raw), fails the test with the response body
// if the status is not 2xx, and decodes a non-empty response into out
// (unless out is nil).
func (s *Server) Do(t testing.TB, method, path string, body, out any) {
	t.Helper()
	status, resp := s.Raw(t, method, path, body)
	if status < 200 || status > 299 {
		t.Fatalf("%s %s: HTTP %d: %s", method, path, status, clip(resp))
	}
	if out != nil && len(bytes.TrimSpace(resp)) > 0 {
		if err := json.Unmarshal(resp, out); err != nil {
			t.Fatalf("%s %s: decode %T: %v; body: %s", method, path, out, err, clip(resp))
		}
	}
}

// GetJSON is Do with GET.
func (s *Server) GetJSON(t testing.TB, path string, out any) {
	t.Helper()
	s.Do(t, http.MethodGet, path, nil, out)
}

// PostJSON is Do with POST.
func (s *Server) PostJSON(t testing.TB, path string, body, out any) {
	t.Helper()
	s.Do(t, http.MethodPost, path, body, out)
}

// GraphQLError is one entry of a GraphQL response's "errors".
type GraphQLError struct {
	Message   string `json:"message"`
	Path      []any  `json:"path,omitempty"`
	Locations []struct {
		Line   int `json:"line"`
		Column int `json:"column"`
	} `json:"locations,omitempty"`
}

// GraphQLResponse is a whole /v1/graphql response.
type GraphQLResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []GraphQLError  `json:"errors"`
}

// ErrorMessages joins the messages of r.Errors.
func (r *GraphQLResponse) ErrorMessages() string {
	var m []string
	for _, e := range r.Errors {
		m = append(m, e.Message)
	}
	return strings.Join(m, "; ")
}

// GraphQLResponse posts query (with variables, may be nil) to /v1/graphql
// and returns the response, GraphQL errors included; it fails the test on
// an HTTP error.
func (s *Server) GraphQLResponse(t testing.TB, query string, variables map[string]any) *GraphQLResponse {
	t.Helper()
	body := map[string]any{"query": query}
	if variables != nil {
		body["variables"] = variables
	}
	var r GraphQLResponse
	s.PostJSON(t, "/v1/graphql", body, &r)
	return &r
}

// GraphQL posts query and decodes the response's "data" into out (unless
// out is nil); it fails the test on an HTTP error or any GraphQL error.
// A generative module's per-object error is data
// (_additional { generate { error } }), not a GraphQL error.
func (s *Server) GraphQL(t testing.TB, query string, variables map[string]any, out any) {
	t.Helper()
	r := s.GraphQLResponse(t, query, variables)
	if len(r.Errors) > 0 {
		t.Fatalf("GraphQL errors: %s\nquery: %s", r.ErrorMessages(), query)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			t.Fatalf("GraphQL: decode data into %T: %v; data: %s", out, err, clip(r.Data))
		}
	}
}

// CreateClass posts a class definition to /v1/schema.
func (s *Server) CreateClass(t testing.TB, class any) {
	t.Helper()
	s.PostJSON(t, "/v1/schema", class, nil)
}

// Class returns a class definition from /v1/schema/<name>.
func (s *Server) Class(t testing.TB, name string) map[string]any {
	t.Helper()
	var c map[string]any
	s.GetJSON(t, "/v1/schema/"+name, &c)
	return c
}

// DeleteClass deletes a class and its objects.
func (s *Server) DeleteClass(t testing.TB, name string) {
	t.Helper()
	s.Do(t, http.MethodDelete, "/v1/schema/"+name, nil, nil)
}

// BatchResult is one object's entry in a /v1/batch/objects response.
type BatchResult struct {
	ID     string `json:"id"`
	Class  string `json:"class"`
	Result struct {
		Status string `json:"status"`
		Errors *struct {
			Error []struct {
				Message string `json:"message"`
			} `json:"error"`
		} `json:"errors"`
	} `json:"result"`
}

// BatchObjects imports objects (each {"class": …, "properties": {…},
// optionally "id", "vector"}) through /v1/batch/objects and fails the test
// if any object failed.
func (s *Server) BatchObjects(t testing.TB, objects []map[string]any) []BatchResult {
	t.Helper()
	var res []BatchResult
	s.PostJSON(t, "/v1/batch/objects", map[string]any{"objects": objects}, &res)
	if len(res) != len(objects) {
		t.Fatalf("batch: %d results for %d objects", len(res), len(objects))
	}
	for i, r := range res {
		if r.Result.Errors != nil && len(r.Result.Errors.Error) > 0 {
			t.Fatalf("batch: object %d (%s) failed: %s", i, r.ID, r.Result.Errors.Error[0].Message)
		}
	}
	return res
}

// Meta is the part of /v1/meta the tests read.
type Meta struct {
	Version string                    `json:"version"`
	Modules map[string]map[string]any `json:"modules"`
}

// Meta returns /v1/meta.
func (s *Server) Meta(t testing.TB) Meta {
	t.Helper()
	var m Meta
	s.GetJSON(t, "/v1/meta", &m)
	return m
}

// Count returns the number of objects of class, through GraphQL Aggregate.
func (s *Server) Count(t testing.TB, class string) int {
	t.Helper()
	var data map[string]map[string][]struct {
		Meta struct {
			Count int `json:"count"`
		} `json:"meta"`
	}
	s.GraphQL(t, fmt.Sprintf("{ Aggregate { %s { meta { count } } } }", class), nil, &data)
	rows := data["Aggregate"][class]
	if len(rows) != 1 {
		t.Fatalf("Aggregate %s: %d rows", class, len(rows))
	}
	return rows[0].Meta.Count
}

// Lookup follows keys (string: object key, int: array index) through
// decoded JSON and returns what it finds, or nil.
func Lookup(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k < 0 || k >= len(a) {
				return nil
			}
			v = a[k]
		default:
			return nil
		}
	}
	return v
}

func clip(b []byte) string {
	const max = 4000
	if len(b) > max {
		return string(b[:max]) + fmt.Sprintf("… (%d bytes)", len(b))
	}
	return string(b)
}
