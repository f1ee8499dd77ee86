package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate/entities/models"

	"github.com/asmr-search/generative-asmr/internal/weaviatehttp"
)

// Raw sends a request the official client cannot express (any method,
// path and body, such as a class the server must refuse) with body
// encoded as JSON (nil: no body; []byte or json.RawMessage: sent as is)
// and returns the status and the response body. It fails the test only
// when the request cannot be made.
func (s *Server) Raw(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	status, out, err := weaviatehttp.Do(context.Background(), s.Client, method, s.URL, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, out
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
// an HTTP error. Without variables it goes through the official client's
// raw GraphQL, which has no variables.
func (s *Server) GraphQLResponse(t testing.TB, query string, variables map[string]any) *GraphQLResponse {
	t.Helper()
	if variables != nil {
		var r GraphQLResponse
		s.PostJSON(t, "/v1/graphql", map[string]any{"query": query, "variables": variables}, &r)
		return &r
	}
	r, err := s.GraphQLContext(context.Background(), query)
	if err != nil {
		t.Fatalf("POST /v1/graphql: %v", err)
	}
	return r
}

// GraphQLContext posts query through the official client with ctx (which
// may be cancelled: errors.Is sees the context's error) and returns the
// response, GraphQL errors included, or the HTTP or transport error.
func (s *Server) GraphQLContext(ctx context.Context, query string) (*GraphQLResponse, error) {
	c, err := clientFor(s.URL, helperTimeout)
	if err != nil {
		return nil, err
	}
	return graphQL(ctx, c, query)
}

// graphQL runs query through c and returns its response in this package's
// shape.
func graphQL(ctx context.Context, c *weaviate.Client, query string) (*GraphQLResponse, error) {
	resp, err := c.GraphQL().Raw().WithQuery(query).Do(ctx)
	if err != nil {
		return nil, weaviatehttp.Error(err)
	}
	var r GraphQLResponse
	if resp.Data != nil {
		if r.Data, err = json.Marshal(resp.Data); err != nil {
			return nil, err
		}
	}
	if err := weaviatehttp.Decode(resp.Errors, &r.Errors); err != nil {
		return nil, err
	}
	return &r, nil
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

// CreateClass creates a class, given as a models.Class or as its JSON
// shape (a map), through the official client; a key that models.Class
// does not have fails the test.
func (s *Server) CreateClass(t testing.TB, class any) {
	t.Helper()
	var c models.Class
	if err := weaviatehttp.Model(class, &c); err != nil {
		t.Fatalf("class: %v", err)
	}
	if err := s.weaviate(t).Schema().ClassCreator().WithClass(&c).Do(context.Background()); err != nil {
		t.Fatalf("create class %s: %v", c.Class, weaviatehttp.Error(err))
	}
}

// Class returns a class definition, in its JSON shape.
func (s *Server) Class(t testing.TB, name string) map[string]any {
	t.Helper()
	c, err := s.weaviate(t).Schema().ClassGetter().WithClassName(name).Do(context.Background())
	if err != nil {
		t.Fatalf("get class %s: %v", name, weaviatehttp.Error(err))
	}
	var m map[string]any
	if err := weaviatehttp.Decode(c, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// DeleteClass deletes a class and its objects.
func (s *Server) DeleteClass(t testing.TB, name string) {
	t.Helper()
	if err := s.weaviate(t).Schema().ClassDeleter().WithClassName(name).Do(context.Background()); err != nil {
		t.Fatalf("delete class %s: %v", name, weaviatehttp.Error(err))
	}
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
// optionally "id", "vector", "vectors"}) in one batch through the official
// client and fails the test if any object failed.
func (s *Server) BatchObjects(t testing.TB, objects []map[string]any) []BatchResult {
	t.Helper()
	objs := make([]*models.Object, len(objects))
	for i, o := range objects {
		objs[i] = &models.Object{}
		if err := weaviatehttp.Model(o, objs[i]); err != nil {
			t.Fatalf("batch: object %d: %v", i, err)
		}
	}
	resp, err := s.weaviate(t).Batch().ObjectsBatcher().WithObjects(objs...).Do(context.Background())
	if err != nil {
		t.Fatalf("batch: %v", weaviatehttp.Error(err))
	}
	var res []BatchResult
	if err := weaviatehttp.Decode(resp, &res); err != nil {
		t.Fatal(err)
	}
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
	m, err := s.weaviate(t).Misc().MetaGetter().Do(context.Background())
	if err != nil {
		t.Fatalf("meta: %v", weaviatehttp.Error(err))
	}
	var out Meta
	if err := weaviatehttp.Decode(m, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Ready reports whether the server answers /v1/.well-known/ready with 200
// within d.
func (s *Server) Ready(d time.Duration) (bool, error) {
	c, err := clientFor(s.URL, d)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	ok, err := c.Misc().ReadyChecker().Do(ctx)
	return ok, weaviatehttp.Error(err)
}

// weaviate returns the official client of the server, failing the test if
// its URL is not one.
func (s *Server) weaviate(t testing.TB) *weaviate.Client {
	t.Helper()
	c, err := clientFor(s.URL, helperTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// helperTimeout bounds every request of the helpers but Ready: generation
// on a CPU is slow.
const helperTimeout = 10 * time.Minute

type clientKey struct {
	url     string
	timeout time.Duration
}

var (
	clientsMu sync.Mutex
	clients   = map[clientKey]*weaviate.Client{}
)

// clientFor returns the official client of the server at url whose every
// request times out after timeout, made on first use and shared by every
// later caller (a server restarted on the same port keeps it). Making one
// asks the server for its version, within the same timeout.
func clientFor(url string, timeout time.Duration) (*weaviate.Client, error) {
	clientsMu.Lock()
	defer clientsMu.Unlock()
	k := clientKey{url, timeout}
	if c := clients[k]; c != nil {
		return c, nil
	}
	c, err := weaviatehttp.New(url, nil, timeout)
	if err != nil {
		return nil, err
	}
	clients[k] = c
	return c, nil
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
