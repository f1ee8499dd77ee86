package weaviatehttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weaviate/weaviate/entities/models"
)

// fake answers POST /prefix/v1/graphql with body (status 200), holds
// GET /prefix/v1/slow until the client gives up, and answers every other
// path with 404; it records the last GraphQL request body.
func fake(t *testing.T, body string) (*httptest.Server, *string) {
	t.Helper()
	var got string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /prefix/v1/graphql", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
		io.WriteString(w, body)
	})
	mux.HandleFunc("GET /prefix/v1/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":[{"message":"no such path"}]}`, http.StatusNotFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestGraphQL(t *testing.T) {
	srv, got := fake(t, `{"data":{"Get":{"P":[{"text":"a","n":3}]}}}`)
	c, err := New(srv.URL+"/prefix/", nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		Get map[string][]struct{ Text string }
	}
	if err := GraphQL(context.Background(), c, `{ Get { P { text } } }`, &data); err != nil {
		t.Fatal(err)
	}
	if len(data.Get["P"]) != 1 || data.Get["P"][0].Text != "a" {
		t.Errorf("data %+v", data)
	}
	if !strings.Contains(*got, `"query":"{ Get { P { text } } }"`) {
		t.Errorf("request body %s", *got)
	}

	srv, _ = fake(t, `{"errors":[{"message":"no such class"},{"message":"and another"}]}`)
	c, _ = New(srv.URL+"/prefix", nil, 0)
	if err := GraphQL(context.Background(), c, `{ Get { Q { x } } }`, nil); err == nil || err.Error() != "no such class; and another" {
		t.Errorf("GraphQL errors: %v", err)
	}
}

func TestError(t *testing.T) {
	srv, _ := fake(t, "")
	c, err := New(srv.URL+"/prefix", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	// An unexpected status: a *StatusError with the code and the body.
	_, err = c.Schema().ClassGetter().WithClassName("Missing").Do(context.Background())
	var se *StatusError
	if err = Error(err); !errors.As(err, &se) || se.Code != http.StatusNotFound || !strings.Contains(se.Body, "no such path") {
		t.Errorf("status error: %#v", err)
	}
	if !strings.HasPrefix(err.Error(), "HTTP 404: ") {
		t.Errorf("message %q", err)
	}
	// A cancelled request: errors.Is finds the context's error.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err = Do(ctx, nil, http.MethodGet, srv.URL, "/prefix/v1/slow", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do past the deadline: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = c.GraphQL().Raw().WithQuery("{}").Do(ctx)
	if err = Error(err); !errors.Is(err, context.Canceled) {
		t.Errorf("client call with a cancelled context: %v", err)
	}
	if Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
	plain := errors.New("plain")
	if Error(plain) != plain {
		t.Error("Error changed an error of another type")
	}
}

func TestNewRefusesBadURL(t *testing.T) {
	for _, u := range []string{"", "localhost:8080", "://x"} {
		if _, err := New(u, nil, 0); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}

func TestBatchError(t *testing.T) {
	ok := models.ObjectsGetResponse{Result: &models.ObjectsGetResponseAO2Result{}}
	var failed models.ObjectsGetResponse
	if err := Decode(map[string]any{"result": map[string]any{"errors": map[string]any{"error": []any{map[string]any{"message": "bad vector"}}}}}, &failed); err != nil {
		t.Fatal(err)
	}
	if err := BatchError([]models.ObjectsGetResponse{ok, {}}); err != nil {
		t.Errorf("no failures: %v", err)
	}
	if err := BatchError([]models.ObjectsGetResponse{ok, failed}); err == nil || err.Error() != "object 1: bad vector" {
		t.Errorf("failure: %v", err)
	}
}

func TestModelIsStrict(t *testing.T) {
	var c models.Class
	if err := Model(map[string]any{"class": "P", "vectorizer": "none"}, &c); err != nil || c.Class != "P" || c.Vectorizer != "none" {
		t.Fatalf("%+v %v", c, err)
	}
	if err := Model(map[string]any{"class": "P", "vectoriser": "none"}, &c); err == nil || !strings.Contains(err.Error(), "vectoriser") {
		t.Errorf("a misspelt key: %v", err)
	}
	var loose struct{ Class string }
	if err := Decode(map[string]any{"class": "P", "other": 1}, &loose); err != nil || loose.Class != "P" {
		t.Errorf("Decode: %+v %v", loose, err)
	}
}

func TestDo(t *testing.T) {
	srv, got := fake(t, `{"data":{}}`)
	status, body, err := Do(context.Background(), nil, http.MethodPost, srv.URL+"/", "/prefix/v1/graphql", map[string]any{"query": "q", "variables": map[string]any{"a": 1}})
	if err != nil || status != 200 || *got != `{"query":"q","variables":{"a":1}}` {
		t.Errorf("Do with a value: %d %v; sent %s", status, err, *got)
	}
	status, body, err = Do(context.Background(), nil, http.MethodPost, srv.URL, "/prefix/v1/graphql", []byte(`{"query":"raw"}`))
	if err != nil || status != 200 || string(body) != `{"data":{}}` || *got != `{"query":"raw"}` {
		t.Errorf("Do: %d %s %v; sent %s", status, body, err, *got)
	}
	status, _, err = Do(context.Background(), nil, http.MethodGet, srv.URL, "/v1/none", nil)
	if err != nil || status != http.StatusNotFound {
		t.Errorf("a 404 is a status, not an error: %d %v", status, err)
	}
}
