package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate/entities/models"

	asmrconfig "github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/internal/weaviatehttp"
)

// Search operators of WeaviateReader.
const (
	SearchBM25       = "bm25"
	SearchNearText   = "nearText"
	SearchNearVector = "nearVector"
	SearchHybrid     = "hybrid"
)

// WeaviateReader retrieves and answers through a Weaviate server with the
// generative-asmr module, in one GraphQL query per request (sent with the
// official Go client's raw GraphQL, internal/weaviatehttp): the class's
// search (bm25, nearText, nearVector or hybrid, top K) with
// generate(groupedResult: {task: <question>, properties, asmr: {...}}), so
// that retrieval, prompt building, language handling, steering and
// generation are all the product's own. The retrieved objects come back
// with the answer and are the passages R@2kt is computed on.
type WeaviateReader struct {
	// URL is the server's base URL, e.g. http://localhost:8080.
	URL string
	// Class is the collection searched.
	Class string
	// Search is the operator; K the number of objects retrieved (limit).
	Search string
	K      int
	// Properties are the text properties that make a passage (the
	// groupedResult's properties); default ["text"].
	Properties []string
	// SearchProperties restrict bm25 and hybrid to these properties (all
	// indexed text properties when empty).
	SearchProperties []string
	// HybridAlpha is hybrid's alpha (0 = pure keyword, 1 = pure vector);
	// negative leaves Weaviate's default.
	HybridAlpha float64
	// Vectors are the question vectors of nearVector, by item key (a key
	// with an empty Lang serves every language of the item).
	Vectors map[Key][]float32
	// Model and Profile are names from the server's ops file; "" uses the
	// server's defaults. Profile is what the ASMR system steers with; the
	// other systems send profile "none".
	Model, Profile string
	// Client defaults to one with a 10-minute timeout (CPU generation is
	// slow).
	Client *http.Client

	mu sync.Mutex
	wc *weaviate.Client // made from URL and Client on first use
}

var classNameRE = regexp.MustCompile(`^[A-Z][_0-9A-Za-z]*$`)
var propertyRE = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]*$`)

// Check validates the settings.
func (w *WeaviateReader) Check() error {
	var ps []string
	if w.URL == "" {
		ps = append(ps, "no server URL")
	}
	if !classNameRE.MatchString(w.Class) {
		ps = append(ps, fmt.Sprintf("class %q is not a Weaviate class name (capitalised, letters, digits, _)", w.Class))
	}
	switch w.Search {
	case SearchBM25, SearchNearText, SearchHybrid:
	case SearchNearVector:
		if len(w.Vectors) == 0 {
			ps = append(ps, "nearVector needs question vectors (a JSONL of {id, lang, vector})")
		}
	default:
		ps = append(ps, fmt.Sprintf("search %q: want bm25, nearText, nearVector or hybrid", w.Search))
	}
	if w.K < 1 {
		ps = append(ps, fmt.Sprintf("k %d: retrieve at least 1 object", w.K))
	}
	for _, p := range append(slices.Clone(w.props()), w.SearchProperties...) {
		if !propertyRE.MatchString(p) {
			ps = append(ps, fmt.Sprintf("property %q is not a property name", p))
		}
	}
	if len(ps) > 0 {
		return errors.New(strings.Join(ps, "; "))
	}
	return nil
}

func (w *WeaviateReader) props() []string {
	if len(w.Properties) == 0 {
		return []string{"text"}
	}
	return w.Properties
}

// Identity implements Reader.
func (w *WeaviateReader) Identity() map[string]any {
	return map[string]any{
		"weaviate": strings.TrimRight(w.URL, "/"), "class": w.Class, "search": w.Search, "k": w.K,
		"properties": w.props(), "searchProperties": w.SearchProperties, "hybridAlpha": w.HybridAlpha,
		"model": w.Model, "profile": w.Profile,
	}
}

// gql writes a GraphQL string literal (JSON's escapes are GraphQL's).
func gql(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func gqlList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = gql(x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func gqlNumber(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Query returns the GraphQL query of a request.
func (w *WeaviateReader) Query(req Request) (string, error) {
	q := req.Item.Question
	var search string
	switch w.Search {
	case SearchBM25:
		search = "bm25: {query: " + gql(q)
		if len(w.SearchProperties) > 0 {
			search += ", properties: " + gqlList(w.SearchProperties)
		}
		search += "}"
	case SearchNearText:
		search = "nearText: {concepts: [" + gql(q) + "]}"
	case SearchHybrid:
		search = "hybrid: {query: " + gql(q)
		if w.HybridAlpha >= 0 {
			search += ", alpha: " + gqlNumber(w.HybridAlpha)
		}
		if len(w.SearchProperties) > 0 {
			search += ", properties: " + gqlList(w.SearchProperties)
		}
		search += "}"
	case SearchNearVector:
		v, ok := w.Vectors[req.Item.Key()]
		if !ok {
			v, ok = w.Vectors[Key{"", req.Item.ID}]
		}
		if !ok {
			return "", fmt.Errorf("no question vector for %s item %s", req.Item.Lang, req.Item.ID)
		}
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = strconv.FormatFloat(float64(x), 'g', -1, 32)
		}
		search = "nearVector: {vector: [" + strings.Join(parts, ", ") + "]}"
	default:
		return "", fmt.Errorf("search %q: want bm25, nearText, nearVector or hybrid", w.Search)
	}

	opts := []string{
		"temperature: " + gqlNumber(req.Temperature),
		"maxTokens: " + strconv.Itoa(req.MaxTokens),
		"promptTemplate: " + gql(req.Template),
	}
	if req.Language != "" {
		opts = append(opts, "answerLanguage: "+gql(baseLang(req.Language)))
	} else {
		opts = append(opts, `answerLanguage: "auto"`)
	}
	if w.Model != "" {
		opts = append(opts, "model: "+gql(w.Model))
	}
	if s := req.System.Steer; s.Active() {
		if w.Profile != "" {
			opts = append(opts, "profile: "+gql(w.Profile))
		}
		opts = append(opts, "alphaAC: "+gqlNumber(s.AlphaAC), "alphaCL: "+gqlNumber(s.AlphaCL), "topK: "+strconv.Itoa(s.TopK))
		if s.Direction != "" {
			opts = append(opts, "direction: "+gql(s.Direction))
		}
		if s.Scope != "" {
			opts = append(opts, "tokenScope: "+gql(s.Scope))
		}
	} else {
		opts = append(opts, `profile: "none"`)
	}
	props := strings.Join(w.props(), " ")
	return fmt.Sprintf(`{ Get { %s(%s, limit: %d) { %s _additional { generate(groupedResult: {task: %s, properties: %s, asmr: {%s}}) { groupedResult error asmr { steered steeredHeads language answerLanguage promptTokens completionTokens stopReason passagesGiven passagesUsed passagesCut } } } } } }`,
		w.Class, search, w.K, props, gql(q), gqlList(w.props()), strings.Join(opts, ", ")), nil
}

// Read implements Reader.
func (w *WeaviateReader) Read(ctx context.Context, req Request) (Response, error) {
	query, err := w.Query(req)
	if err != nil {
		return Response{}, err
	}
	c, err := w.client()
	if err != nil {
		return Response{}, err
	}
	resp, err := c.GraphQL().Raw().WithQuery(query).Do(ctx)
	if err != nil {
		err = weaviatehttp.Error(err)
		var se *weaviatehttp.StatusError
		if errors.As(err, &se) {
			return Response{}, fmt.Errorf("weaviate: HTTP %d: %s", se.Code, clipText(se.Body, 500))
		}
		return Response{}, fmt.Errorf("weaviate: %w", err)
	}
	return w.parse(resp, req)
}

// client is the official Weaviate client of w.URL, made on first use.
func (w *WeaviateReader) client() (*weaviate.Client, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wc == nil {
		hc := w.Client
		if hc == nil {
			hc = &http.Client{Timeout: 10 * time.Minute}
		}
		c, err := weaviatehttp.New(w.URL, hc, 0)
		if err != nil {
			return nil, err
		}
		w.wc = c
	}
	return w.wc, nil
}

type generateMeta struct {
	Steered          bool   `json:"steered"`
	SteeredHeads     int    `json:"steeredHeads"`
	Language         string `json:"language"`
	AnswerLanguage   string `json:"answerLanguage"`
	PromptTokens     int    `json:"promptTokens"`
	CompletionTokens int    `json:"completionTokens"`
	StopReason       string `json:"stopReason"`
	PassagesGiven    int    `json:"passagesGiven"`
	PassagesUsed     int    `json:"passagesUsed"`
	PassagesCut      int    `json:"passagesCut"`
}

func (w *WeaviateReader) parse(resp *models.GraphQLResponse, req Request) (Response, error) {
	if len(resp.Errors) > 0 {
		return Response{}, fmt.Errorf("weaviate: GraphQL: %w", weaviatehttp.GraphQLError(resp.Errors))
	}
	var gr struct {
		Get map[string][]map[string]json.RawMessage `json:"Get"`
	}
	if err := weaviatehttp.Decode(resp.Data, &gr); err != nil {
		return Response{}, fmt.Errorf("weaviate: unreadable GraphQL data: %w", err)
	}
	objs := gr.Get[w.Class]
	var out Response
	if len(objs) == 0 {
		// Weaviate generates only over results: nothing retrieved, nothing
		// answered. The prediction stays empty (scored as a wrong answer).
		out.NoResults = true
		return out, nil
	}
	var gen *struct {
		GroupedResult *string       `json:"groupedResult"`
		Error         *string       `json:"error"`
		ASMR          *generateMeta `json:"asmr"`
	}
	for _, o := range objs {
		out.Passages = append(out.Passages, passageText(o, w.props())...)
		var add struct {
			Generate *struct {
				GroupedResult *string       `json:"groupedResult"`
				Error         *string       `json:"error"`
				ASMR          *generateMeta `json:"asmr"`
			} `json:"generate"`
		}
		if raw, ok := o["_additional"]; ok {
			_ = json.Unmarshal(raw, &add)
		}
		if gen == nil && add.Generate != nil && (add.Generate.GroupedResult != nil || add.Generate.Error != nil) {
			gen = add.Generate
		}
	}
	switch {
	case gen == nil:
		return Response{}, errors.New("weaviate: the response has no groupedResult (is generative-asmr the class's generative module?)")
	case gen.Error != nil && *gen.Error != "":
		return Response{}, fmt.Errorf("weaviate: generate: %s", *gen.Error)
	case gen.GroupedResult == nil:
		return Response{}, errors.New("weaviate: generate returned neither a result nor an error")
	}
	out.Text = *gen.GroupedResult
	if m := gen.ASMR; m != nil {
		out.SteeredHeads = m.SteeredHeads
		out.PromptTokens = m.PromptTokens
		out.CompletionTokens = m.CompletionTokens
		out.StopReason = m.StopReason
		out.PassagesUsed = m.PassagesUsed
		out.QuestionLanguage = m.Language
		if req.System.Steer.Active() && !m.Steered {
			return Response{}, errors.New("weaviate: the ASMR request came back unsteered: name a profile the server's ops file configures (-profile), or set a default profile there")
		}
		if !req.System.Steer.Active() && m.Steered {
			return Response{}, errors.New("weaviate: an unsteered request came back steered")
		}
	}
	return out, nil
}

// passageText renders one retrieved object as the module renders it for the
// reader, with config.PassageText over its text properties in the order of
// props (the groupedResult's properties). An object without text gives
// nothing.
func passageText(o map[string]json.RawMessage, props []string) []string {
	var fields []asmrconfig.PassageField
	for _, p := range props {
		raw, ok := o[p]
		if !ok || slices.ContainsFunc(fields, func(f asmrconfig.PassageField) bool { return f.Name == p }) {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			var list []string
			if json.Unmarshal(raw, &list) != nil {
				continue // null or not text
			}
			s = strings.Join(list, " ")
		}
		fields = append(fields, asmrconfig.PassageField{Name: p, Value: s})
	}
	if text := asmrconfig.PassageText(fields); text != "" {
		return []string{text}
	}
	return nil
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
