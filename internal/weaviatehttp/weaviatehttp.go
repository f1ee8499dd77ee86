// Package weaviatehttp is the one place where this project talks to
// Weaviate's HTTP API. Calls that the official Go client
// (github.com/weaviate/weaviate-go-client/v5) expresses go through it:
// New makes that client from a base URL. What the client cannot express
// is here as well, and nowhere else:
//
//   - Error turns the client's *fault.WeaviateClientError into an error
//     that errors.Is and errors.As can look into (the client's error type
//     has no Unwrap, so context.Canceled and the HTTP status are hidden in
//     it);
//   - BatchError and GraphQLError turn per-object batch failures and
//     GraphQL errors, which the client returns as data, into errors;
//   - Do sends a JSON request the client has no builder for: a body that
//     must reach the server as written (a class the server is expected to
//     refuse, with its status code), GraphQL variables, a path such as
//     /v1/objects/{class}/{id}?include=vector read as plain JSON.
package weaviatehttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/fault"
	"github.com/weaviate/weaviate/entities/models"
)

// New returns an official client for the server at baseURL, such as
// http://127.0.0.1:8080 (a path after the host is kept as a prefix of
// /v1). Requests use hc, or, when hc is nil, a client whose every request
// times out after timeout (0: the official client's 60 s). New does not
// wait for the server; it asks /v1/meta for the server's version once,
// and carries on without it if the server does not answer.
func New(baseURL string, hc *http.Client, timeout time.Duration) (*weaviate.Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("weaviate URL %q: %w", baseURL, err)
	}
	if u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("weaviate URL %q: want scheme://host[:port]", baseURL)
	}
	c, err := weaviate.NewClient(weaviate.Config{
		Scheme: u.Scheme, Host: u.Host + u.Path, ConnectionClient: hc, Timeout: timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("weaviate client for %s: %w", baseURL, err)
	}
	return c, nil
}

// StatusError is an HTTP answer with an unexpected status code.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Body is the response body, as sent.
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Code, strings.TrimSpace(e.Body))
}

// Error returns err with the official client's error type opened up: an
// unexpected status becomes a *StatusError, a transport or decoding error
// is wrapped (so that errors.Is(err, context.Canceled) holds), and
// anything else, nil included, is returned as it is.
func Error(err error) error {
	var ce *fault.WeaviateClientError
	if !errors.As(err, &ce) {
		return err
	}
	if ce.IsUnexpectedStatusCode {
		return &StatusError{Code: ce.StatusCode, Body: ce.Msg}
	}
	if ce.DerivedFromError != nil {
		// The client wraps its own errors once more ("check the
		// DerivedFromError field ...").
		return Error(ce.DerivedFromError)
	}
	return errors.New(ce.Msg)
}

// BatchError is the first per-object failure of a batch import's
// response, as "object <i>: <message>", or nil when every object was
// stored.
func BatchError(res []models.ObjectsGetResponse) error {
	for i, r := range res {
		if r.Result != nil && r.Result.Errors != nil && len(r.Result.Errors.Error) > 0 {
			return fmt.Errorf("object %d: %s", i, r.Result.Errors.Error[0].Message)
		}
	}
	return nil
}

// GraphQLError joins the messages of a GraphQL response's errors with
// "; ", or returns nil when there are none.
func GraphQLError(errs []*models.GraphQLError) error {
	if len(errs) == 0 {
		return nil
	}
	m := make([]string, 0, len(errs))
	for _, e := range errs {
		if e != nil {
			m = append(m, e.Message)
		}
	}
	return errors.New(strings.Join(m, "; "))
}

// GraphQL runs query through the official client's raw GraphQL and
// decodes the response's data into out (unless out is nil). An HTTP
// failure and GraphQL errors are errors (see Error and GraphQLError); a
// generative module's per-object error is data, not an error.
func GraphQL(ctx context.Context, c *weaviate.Client, query string, out any) error {
	resp, err := c.GraphQL().Raw().WithQuery(query).Do(ctx)
	if err != nil {
		return Error(err)
	}
	if err := GraphQLError(resp.Errors); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return Decode(resp.Data, out)
}

// Decode copies in into out through JSON, as json.Unmarshal would decode
// in's encoding: it reads the client's decoded answers (GraphQL data,
// meta, a class) into the caller's types.
func Decode(in, out any) error { return convert(in, out, false) }

// Model is Decode refusing fields that out does not have: it turns a
// class or an object written as a map into the client's models type
// (*models.Class, *models.Object), so that a misspelt key is an error
// instead of a setting silently dropped.
func Model(in, out any) error { return convert(in, out, true) }

func convert(in, out any, strict bool) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode %T: %w", in, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("decode %T as %T: %w", in, out, err)
	}
	return nil
}

// Do sends a request to baseURL+path with body encoded as JSON (nil: no
// body; []byte or json.RawMessage: sent as it is) and returns the status
// code and the response body, whatever the status. Use it only for what
// the official client cannot send; hc nil is http.DefaultClient.
func Do(ctx context.Context, hc *http.Client, method, baseURL, path string, body any) (int, []byte, error) {
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
			return 0, nil, fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(baseURL, "/")+path, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	return resp.StatusCode, out, nil
}
