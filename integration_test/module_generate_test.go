//go:build e2e

package integration_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// passages are the objects of the Passage class. Their vectors make
// nearVector and nearObject rankings fixed.
var passages = []struct {
	id, title, text, lang string
	vec                   []float32
}{
	{"00000000-0000-0000-0000-00000000000a", "Telefon", "Das Telefon wurde 1876 von Alexander Graham Bell patentiert.", "de", []float32{1, 0, 0, 0}},
	{"00000000-0000-0000-0000-00000000000b", "telephone", "Alexander Graham Bell patented the telephone in 1876.", "en", []float32{0.9, 0.1, 0, 0}},
	{"00000000-0000-0000-0000-00000000000c", "téléphone", "Alexander Graham Bell a breveté le téléphone en 1876.", "fr", []float32{0.8, 0, 0.2, 0}},
	{"00000000-0000-0000-0000-00000000000d", "Glühbirne", "Thomas Edison verbesserte 1879 die Glühbirne.", "de", []float32{0, 0, 0, 1}},
}

// classTemplate is the Passage class's groupedResult prompt; its first
// line shows that the class's moduleConfig reached the reader.
const classTemplate = "Beantworte die Frage mit den Passagen (class template). Answer in {{language}}.\n\nPassages:\n{{passages}}\n\nQuestion: {{question}}"

// passageClass is a class with named vectors (so that Weaviate asks the
// module to validate its moduleConfig) and every moduleConfig field.
func passageClass() map[string]any {
	return map[string]any{
		"class": "Passage",
		"properties": []map[string]any{
			{"name": "title", "dataType": []string{"text"}},
			{"name": "text", "dataType": []string{"text"}},
			{"name": "lang", "dataType": []string{"text"}},
		},
		"vectorConfig": map[string]any{
			"default": map[string]any{"vectorizer": map[string]any{"none": map[string]any{}}, "vectorIndexType": "hnsw"},
		},
		"moduleConfig": map[string]any{
			"generative-asmr": map[string]any{
				"model":          "tiny",
				"profile":        "tiny",
				"alphaAC":        8,
				"alphaCL":        8,
				"topK":           4,
				"direction":      "probe",
				"tokenScope":     "generation",
				"maxTokens":      12,
				"temperature":    0,
				"promptTemplate": classTemplate,
				"answerLanguage": "auto",
			},
		},
	}
}

func passageObjects() []map[string]any {
	var objs []map[string]any
	for _, p := range passages {
		objs = append(objs, map[string]any{
			"class":      "Passage",
			"id":         p.id,
			"properties": map[string]any{"title": p.title, "text": p.text, "lang": p.lang},
			"vectors":    map[string]any{"default": p.vec},
		})
	}
	return objs
}

// Queries shared by several subtests. bm25 "Bell" finds the first three
// passages.
const (
	searchArgs   = `bm25: {query: "Bell"}, limit: 3`
	singlePrompt = "Wer hat {title} erfunden und in welchem Jahr wurde es patentiert?"
	groupedTask  = "Wer hat das Telefon erfunden und wann wurde es patentiert?"
)

func singleArgs(asmr string) string {
	s := fmt.Sprintf(`singleResult: {prompt: %q, debug: true`, singlePrompt)
	if asmr != "" {
		s += ", asmr: {" + asmr + "}"
	}
	return s + "}"
}

func groupedArgs(asmr string) string {
	s := fmt.Sprintf(`groupedResult: {task: %q, properties: ["title", "text"], debug: true`, groupedTask)
	if asmr != "" {
		s += ", asmr: {" + asmr + "}"
	}
	return s + "}"
}

// TestModuleGenerate runs one weaviate-asmr with a generated tiny model and
// the fixture profile, and checks generate end to end: raw GraphQL over
// HTTP, the Go, TypeScript and Python clients, configuration errors, a missing
// model file, and a restart with the data kept.
func TestModuleGenerate(t *testing.T) {
	skipShort(t)
	begin := time.Now()
	dir := t.TempDir()
	writeModel(t, filepath.Join(dir, "tiny.gguf"), tinySpec())
	ops := writeOps(t, dir, fmt.Sprintf(`# written by TestModuleGenerate
models:
  tiny:
    path: tiny.gguf
    threads: 2
    contextSize: 1024
    slots: 2
  missing:
    path: does-not-exist.gguf
    contextSize: 256
profiles:
  tiny:
    path: %s
    model: tiny
defaults:
  model: tiny
  profile: tiny
  alphaAC: 8
  alphaCL: 8
  topK: 4
  maxTokens: 32
limits:
  queueLength: 16
  requestTimeout: 60s
languages: [de, en, fr]
`, fixtureProfile(t)))

	s := StartServer(t, asmrEnv(ops))
	waitModelsLoaded(t, s, "tiny")
	s.CreateClass(t, passageClass())
	s.BatchObjects(t, passageObjects())
	t.Logf("server ready and data loaded after %v", time.Since(begin).Round(100*time.Millisecond))

	// Answers recorded by early subtests and compared by later ones
	// (clients, restart).
	var steeredSingle, steeredGrouped []genObject

	t.Run("singleResult", func(t *testing.T) {
		objs := generate(t, s, "Passage", genQuery("Passage", searchArgs, singleArgs("")))
		if len(objs) != 3 {
			t.Fatalf("%d objects, want 3: %+v", len(objs), objs)
		}
		for _, o := range objs {
			if o.Error != nil {
				t.Errorf("%s: error %q", o.Title, o.err())
				continue
			}
			if o.Single == nil || o.single() == "" {
				t.Errorf("%s: empty singleResult", o.Title)
			}
			// {title} is filled in from the object, as Weaviate's own modules do.
			mustContainAll(t, o.Title+" debug prompt", o.Debug, "Wer hat "+o.Title+" erfunden und in welchem Jahr wurde es patentiert?")
			// The class moduleConfig applies: model, profile, maxTokens 12.
			if o.str("model") != "tiny" || o.str("profile") != "tiny" || o.Asmr["steered"] != true || o.num("steeredHeads") < 1 {
				t.Errorf("%s: asmr metadata %v, want model tiny, profile tiny, steered", o.Title, o.Asmr)
			}
			if o.num("completionTokens") != 12 || o.str("stopReason") != "length" {
				t.Errorf("%s: completionTokens %v stopReason %v, want 12 (class maxTokens) and length", o.Title, o.Asmr["completionTokens"], o.Asmr["stopReason"])
			}
			if o.num("alphaAC") != 8 || o.num("alphaCL") != 8 || o.num("topK") != 4 || o.str("direction") != "probe" || o.str("tokenScope") != "generation" {
				t.Errorf("%s: options in metadata %v, want the class's", o.Title, o.Asmr)
			}
			// The question's language, detected without the {title} values.
			if o.str("language") != "de" || o.str("answerLanguage") != "German" || o.Asmr["languageDetected"] != true {
				t.Errorf("%s: language %v / %v / detected %v, want de / German / true", o.Title, o.Asmr["language"], o.Asmr["answerLanguage"], o.Asmr["languageDetected"])
			}
			if o.num("promptTokens") < 1 || o.num("promptBudget") != 1024-12 || o.num("passagesGiven") != 0 {
				t.Errorf("%s: promptTokens %v promptBudget %v passagesGiven %v", o.Title, o.Asmr["promptTokens"], o.Asmr["promptBudget"], o.Asmr["passagesGiven"])
			}
			if o.num("durationMs") <= 0 || o.num("decodeMs") <= 0 {
				t.Errorf("%s: durations %v %v", o.Title, o.Asmr["durationMs"], o.Asmr["decodeMs"])
			}
		}
		steeredSingle = objs
	})

	t.Run("groupedResult", func(t *testing.T) {
		objs := generate(t, s, "Passage", genQuery("Passage", searchArgs, groupedArgs("")))
		if len(objs) != 3 {
			t.Fatalf("%d objects, want 3", len(objs))
		}
		g := objs[0]
		if g.Error != nil || g.grouped() == "" {
			t.Fatalf("groupedResult %q, error %q", g.grouped(), g.err())
		}
		mustContainAll(t, "grouped debug prompt", g.Debug, "(class template)", "[1] ", "[2] ", "[3] ", "Question: "+groupedTask)
		// Each passage lists the properties in the query's order (title,
		// text), not in name order; the Python client's grouped answer,
		// compared with this one in testPyClient, checks gRPC.
		for _, p := range passages[:3] {
			mustContainAll(t, "grouped debug prompt", g.Debug, "title: "+p.title+"\ntext: "+p.text)
		}
		if strings.Contains(g.Debug, passages[3].text) {
			t.Errorf("grouped prompt has a passage bm25 did not find:\n%s", g.Debug)
		}
		if g.num("passagesGiven") != 3 || g.num("passagesUsed") != 3 || g.num("passagesCut") != 0 || g.Asmr["passageTruncated"] != false {
			t.Errorf("passages metadata %v", g.Asmr)
		}
		if g.num("completionTokens") != 12 || g.str("language") != "de" || g.Asmr["steered"] != true {
			t.Errorf("grouped metadata %v", g.Asmr)
		}
		steeredGrouped = objs
	})

	t.Run("per-query options", func(t *testing.T) {
		objs := generate(t, s, "Passage", genQuery("Passage", searchArgs,
			singleArgs(`alphaAC: 4, alphaCL: 10, topK: 2, direction: "mass-mean", tokenScope: "all", maxTokens: 5, answerLanguage: "fr"`)))
		if len(objs) != 3 {
			t.Fatalf("%d objects, want 3", len(objs))
		}
		for _, o := range objs {
			if o.Error != nil {
				t.Fatalf("%s: error %q", o.Title, o.err())
			}
			if o.num("alphaAC") != 4 || o.num("alphaCL") != 10 || o.num("topK") != 2 || o.str("direction") != "mass-mean" ||
				o.str("tokenScope") != "all" || o.num("completionTokens") != 5 || o.str("answerLanguage") != "French" {
				t.Errorf("%s: metadata %v does not show the query's options", o.Title, o.Asmr)
			}
			// topK 2 per attribute: at most 4 heads (AC and CL may share).
			if h := o.num("steeredHeads"); h < 2 || h > 4 {
				t.Errorf("%s: steeredHeads %v, want 2..4 for topK 2", o.Title, h)
			}
			mustContainAll(t, o.Title+" debug prompt", o.Debug, "French")
		}
		objs = generate(t, s, "Passage", genQuery("Passage", searchArgs,
			groupedArgs(`maxTokens: 7, promptTemplate: "Frage: {{question}} Quellen: {{passages}} Sprache: {{language}}"`)))
		g := objs[0]
		if g.Error != nil {
			t.Fatalf("grouped error %q", g.err())
		}
		mustContainAll(t, "grouped debug prompt", g.Debug, "Frage: "+groupedTask+" Quellen: [1] ", "Sprache: German")
		if strings.Contains(g.Debug, "(class template)") {
			t.Errorf("the query's promptTemplate did not replace the class's:\n%s", g.Debug)
		}
		if g.num("completionTokens") != 7 {
			t.Errorf("completionTokens %v, want 7", g.Asmr["completionTokens"])
		}
	})

	t.Run("steering on and off", func(t *testing.T) {
		run := func(asmr string) genObject {
			objs := generate(t, s, "Passage", genQuery("Passage", searchArgs, groupedArgs(asmr)))
			if len(objs) == 0 || objs[0].Error != nil {
				t.Fatalf("asmr {%s}: %+v", asmr, objs)
			}
			return objs[0]
		}
		on := run(`alphaAC: 20, alphaCL: 20, topK: 0, maxTokens: 24`)
		alpha0 := run(`alphaAC: 0, alphaCL: 0, maxTokens: 24`)
		none := run(`profile: "none", maxTokens: 24`)
		t.Logf("steered:   %q (%v heads)", on.grouped(), on.Asmr["steeredHeads"])
		t.Logf("alpha 0:   %q", alpha0.grouped())
		t.Logf("no profile: %q", none.grouped())
		if on.Asmr["steered"] != true || on.num("steeredHeads") < 1 || on.str("profile") != "tiny" {
			t.Errorf("steered metadata %v", on.Asmr)
		}
		for name, o := range map[string]genObject{"alpha 0": alpha0, "profile none": none} {
			if o.Asmr["steered"] != false || o.num("steeredHeads") != 0 || o.str("profile") != "" {
				t.Errorf("%s: metadata %v, want unsteered", name, o.Asmr)
			}
		}
		if alpha0.grouped() != none.grouped() {
			t.Errorf("the two unsteered answers differ: %q vs %q", alpha0.grouped(), none.grouped())
		}
		if on.grouped() == alpha0.grouped() {
			t.Errorf("steering did not change the answer: %q", on.grouped())
		}
		// The same holds per object for singleResult.
		unsteered := generate(t, s, "Passage", genQuery("Passage", searchArgs, singleArgs(`profile: "none"`)))
		if steeredSingle != nil && len(unsteered) == len(steeredSingle) {
			same := 0
			for i := range unsteered {
				if unsteered[i].single() == steeredSingle[i].single() {
					same++
				}
			}
			if same == len(unsteered) {
				t.Errorf("steering changed no singleResult answer")
			}
		}
	})

	t.Run("greedy answers are deterministic", func(t *testing.T) {
		if steeredSingle == nil || steeredGrouped == nil {
			t.Skip("needs the singleResult and groupedResult subtests' answers")
		}
		for i := 0; i < 2; i++ {
			single := generate(t, s, "Passage", genQuery("Passage", searchArgs, singleArgs("")))
			grouped := generate(t, s, "Passage", genQuery("Passage", searchArgs, groupedArgs("")))
			for j := range single {
				if single[j].single() != steeredSingle[j].single() {
					t.Errorf("run %d, %s: %q, first run %q", i+2, single[j].Title, single[j].single(), steeredSingle[j].single())
				}
			}
			if grouped[0].grouped() != steeredGrouped[0].grouped() {
				t.Errorf("run %d grouped: %q, first run %q", i+2, grouped[0].grouped(), steeredGrouped[0].grouped())
			}
		}
	})

	t.Run("bad query options", func(t *testing.T) {
		for _, c := range []struct {
			asmr string
			want []string
		}{
			{`direction: "sideways"`, []string{"generative-asmr: invalid query asmr options", "direction", "sideways"}},
			{`tokenScope: "x"`, []string{"invalid query asmr options", `tokenScope: "x" is not a scope`}},
			{`maxTokens: 0`, []string{"maxTokens: 0 is out of range"}},
			{`answerLanguage: "Klingon"`, []string{"answerLanguage", "Klingon"}},
			{`profile: "nope"`, []string{`profile: "nope" is not a configured profile`}},
		} {
			objs := generate(t, s, "Passage", genQuery("Passage", searchArgs, singleArgs(c.asmr)))
			if len(objs) != 3 {
				t.Fatalf("{%s}: %d objects", c.asmr, len(objs))
			}
			for _, o := range objs {
				if o.Error == nil {
					t.Errorf("{%s} %s: no error; answer %q", c.asmr, o.Title, o.single())
					continue
				}
				mustContainAll(t, fmt.Sprintf("{%s} error", c.asmr), o.err(), c.want...)
				requireCleanError(t, o.err())
			}
			g := generate(t, s, "Passage", genQuery("Passage", searchArgs, groupedArgs(c.asmr)))
			if len(g) == 0 || g[0].Error == nil {
				t.Errorf("grouped {%s}: no error: %+v", c.asmr, g)
			} else {
				mustContainAll(t, fmt.Sprintf("grouped {%s} error", c.asmr), g[0].err(), c.want...)
			}
		}
		// An unknown option is refused by GraphQL itself.
		r := s.GraphQLResponse(t, genQuery("Passage", searchArgs, singleArgs(`alpha: 3`)), nil)
		if len(r.Errors) == 0 || !strings.Contains(r.ErrorMessages(), "alpha") {
			t.Errorf("unknown option alpha: errors %q, want one naming it", r.ErrorMessages())
		}
		requireReady(t, s)
	})

	t.Run("bad class config", func(t *testing.T) {
		for i, c := range []struct {
			cfg  map[string]any
			want []string
		}{
			{map[string]any{"model": "nope"}, []string{`model: "nope" is not a configured model`, "missing, tiny"}},
			{map[string]any{"profile": "nope"}, []string{`profile: "nope" is not a configured profile`}},
			{map[string]any{"topK": -1}, []string{"topK: -1 is negative"}},
			{map[string]any{"direction": "up"}, []string{"direction:", "up"}},
			{map[string]any{"topk": 3}, []string{`topk: unknown option (did you mean "topK"?)`}},
			{map[string]any{"maxTokens": "many"}, []string{"maxTokens"}},
			{map[string]any{"temperature": 9}, []string{"temperature: 9 is out of range"}},
			{map[string]any{"promptTemplate": "no placeholders"}, []string{"promptTemplate", "{{question}}"}},
		} {
			name := fmt.Sprintf("BadClass%d", i)
			class := map[string]any{
				"class":        name,
				"properties":   []map[string]any{{"name": "text", "dataType": []string{"text"}}},
				"vectorConfig": map[string]any{"default": map[string]any{"vectorizer": map[string]any{"none": map[string]any{}}, "vectorIndexType": "hnsw"}},
				"moduleConfig": map[string]any{"generative-asmr": c.cfg},
			}
			status, body := s.Raw(t, http.MethodPost, "/v1/schema", class)
			msg := errorMessage(body)
			if status != http.StatusUnprocessableEntity {
				t.Errorf("%v: HTTP %d %s, want 422", c.cfg, status, body)
				continue
			}
			mustContainAll(t, fmt.Sprintf("class %v error", c.cfg), msg, append([]string{"class moduleConfig"}, c.want...)...)
			if st, _ := s.Raw(t, http.MethodGet, "/v1/schema/"+name, nil); st != http.StatusNotFound {
				t.Errorf("%s exists after a refused creation (HTTP %d)", name, st)
			}
		}
		// A legacy class ("vectorizer": "none", no named vectors) is not
		// validated by Weaviate at creation; the same message comes back in
		// each result instead.
		s.CreateClass(t, map[string]any{
			"class":        "LegacyBad",
			"vectorizer":   "none",
			"properties":   []map[string]any{{"name": "title", "dataType": []string{"text"}}},
			"moduleConfig": map[string]any{"generative-asmr": map[string]any{"topk": 3}},
		})
		s.BatchObjects(t, []map[string]any{{"class": "LegacyBad", "properties": map[string]any{"title": "a"}, "vector": []float32{1, 0}}})
		objs := generate(t, s, "LegacyBad", genQuery("LegacyBad", "limit: 1", `singleResult: {prompt: "Was ist {title}?"}`))
		if len(objs) != 1 {
			t.Fatalf("LegacyBad: %d objects", len(objs))
		}
		mustContainAll(t, "LegacyBad result error", objs[0].err(), `generative-asmr: invalid class moduleConfig: topk: unknown option (did you mean "topK"?)`)
	})

	t.Run("missing model file", func(t *testing.T) {
		m := s.Meta(t)
		if st := Lookup(m.Modules["generative-asmr"], "models", "missing", "state"); st != "error" {
			t.Errorf("/v1/meta models.missing.state = %v, want error", st)
		}
		objs := generate(t, s, "Passage", genQuery("Passage", searchArgs, singleArgs(`model: "missing"`)))
		if len(objs) != 3 {
			t.Fatalf("%d objects", len(objs))
		}
		for _, o := range objs {
			mustContainAll(t, o.Title+" error", o.err(), "generative-asmr:", "does-not-exist.gguf does not exist", "models.missing.path")
			requireCleanError(t, o.err())
		}
		// A class may name the model (the file may come later); its queries
		// fail cleanly, per result.
		s.CreateClass(t, map[string]any{
			"class":        "Orphan",
			"properties":   []map[string]any{{"name": "title", "dataType": []string{"text"}}},
			"vectorConfig": map[string]any{"default": map[string]any{"vectorizer": map[string]any{"none": map[string]any{}}, "vectorIndexType": "hnsw"}},
			"moduleConfig": map[string]any{"generative-asmr": map[string]any{"model": "missing", "profile": "none"}},
		})
		s.BatchObjects(t, []map[string]any{
			{"class": "Orphan", "properties": map[string]any{"title": "a"}, "vectors": map[string]any{"default": []float32{1, 0}}},
			{"class": "Orphan", "properties": map[string]any{"title": "b"}, "vectors": map[string]any{"default": []float32{0, 1}}},
		})
		objs = generate(t, s, "Orphan", genQuery("Orphan", "limit: 5", `singleResult: {prompt: "Was ist {title}?"}`))
		if len(objs) != 2 {
			t.Fatalf("Orphan: %d objects", len(objs))
		}
		for _, o := range objs {
			if o.Single != nil {
				t.Errorf("Orphan %s: answer %q from a missing model", o.Title, o.single())
			}
			mustContainAll(t, "Orphan "+o.Title+" error", o.err(), "does not exist", "models.missing.path")
		}
		requireReady(t, s)
		// The other model still answers.
		objs = generate(t, s, "Passage", genQuery("Passage", searchArgs, singleArgs("")))
		if len(objs) != 3 || objs[0].Error != nil {
			t.Errorf("after the missing model: %+v", objs)
		}
	})

	t.Run("Go client", func(t *testing.T) { testGoClient(t, s, steeredSingle, steeredGrouped) })
	t.Run("TypeScript client over gRPC", func(t *testing.T) { testTSClient(t, s) })
	t.Run("Python client over gRPC", func(t *testing.T) { testPyClient(t, s) })

	t.Run("restart keeps data and class config", func(t *testing.T) {
		s.Restart(t)
		waitModelsLoaded(t, s, "tiny")
		if n := s.Count(t, "Passage"); n != len(passages) {
			t.Errorf("count after restart = %d, want %d", n, len(passages))
		}
		c := s.Class(t, "Passage")
		if got := Lookup(c, "moduleConfig", "generative-asmr", "promptTemplate"); got != classTemplate {
			t.Errorf("class moduleConfig after restart: %v", Lookup(c, "moduleConfig"))
		}
		if got := Lookup(c, "moduleConfig", "generative-asmr", "maxTokens"); got != float64(12) {
			t.Errorf("class maxTokens after restart = %v, want 12", got)
		}
		single := generate(t, s, "Passage", genQuery("Passage", searchArgs, singleArgs("")))
		grouped := generate(t, s, "Passage", genQuery("Passage", searchArgs, groupedArgs("")))
		if len(single) != 3 || len(grouped) != 3 {
			t.Fatalf("after restart: %d and %d objects", len(single), len(grouped))
		}
		for i, o := range single {
			if o.Error != nil || o.num("completionTokens") != 12 {
				t.Errorf("after restart %s: error %q, metadata %v", o.Title, o.err(), o.Asmr)
			}
			if steeredSingle != nil && o.single() != steeredSingle[i].single() {
				t.Errorf("after restart %s: %q, before %q", o.Title, o.single(), steeredSingle[i].single())
			}
		}
		if grouped[0].Error != nil || (steeredGrouped != nil && grouped[0].grouped() != steeredGrouped[0].grouped()) {
			t.Errorf("grouped after restart: %q (error %q)", grouped[0].grouped(), grouped[0].err())
		}
		requireReady(t, s)
	})
	t.Logf("TestModuleGenerate took %v", time.Since(begin).Round(100*time.Millisecond))
}

// requireCleanError fails the test unless msg reads as the module's own
// message: "generative-asmr: ..." as is, not Go's print of an error struct
// such as "{generative-asmr: ... 0xc000123456}".
func requireCleanError(t testing.TB, msg string) {
	t.Helper()
	if !strings.HasPrefix(msg, "generative-asmr: ") || regexp.MustCompile(` 0x[0-9a-f]+\}?$`).MatchString(msg) {
		t.Errorf("result error is not the module's plain message: %q", msg)
	}
}

// errorMessage returns the messages of a Weaviate REST error body
// {"error": [{"message": ...}]}, or the body itself.
func errorMessage(body []byte) string {
	var e struct {
		Error []struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Error) == 0 {
		return string(body)
	}
	var m []string
	for _, x := range e.Error {
		m = append(m, x.Message)
	}
	return strings.Join(m, "; ")
}
