package module

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/weaviate/weaviate/entities/modulecapabilities"
	"github.com/weaviate/weaviate/usecases/modulecomponents/generative"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/module/propertyorder"
	"github.com/asmr-search/generative-asmr/rag"
)

func TestSingleResult(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, "", defaultRest))
	res, err := single(t, m, "Wer hat {title} erfunden?", nil, classConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Result == nil || *res.Result == "" {
		t.Fatalf("empty result: %+v", res)
	}
	// The random model emits stray bytes; the result must still be valid
	// UTF-8, or a gRPC (protobuf) reply would fail to marshal.
	if !utf8.ValidString(*res.Result) {
		t.Errorf("result is not valid UTF-8: %q", *res.Result)
	}
	md := meta(t, res)
	if md[metaModel] != "tiny" || md[metaProfile] != "tiny" || md[metaSteered] != true || md[metaSteeredHeads].(int) < 4 {
		t.Errorf("steering metadata: %v", md)
	}
	if md[metaCompletionTokens] != 4 || md[metaStopReason] != "length" || md[metaPromptTokens].(int) < 10 {
		t.Errorf("token metadata: %v", md)
	}
	if md[metaLanguage] != "de" || md[metaAnswerLanguage] != "German" {
		t.Errorf("language metadata: %v", md)
	}
	// The prompt is filled in as Weaviate fills it, and tells the reader
	// the language.
	want, _ := generative.MakeSinglePrompt(map[string]string{"title": "the telephone"}, "Wer hat {title} erfunden?")
	if res.Debug == nil {
		t.Fatal("no debug information")
	}
	mustContain(t, "debug prompt", res.Debug.Prompt, want, "Answer in German.")

	// A property the object lacks is Weaviate's error, not a generation.
	_, err = single(t, m, "Tell me about {author}", nil, classConfig{})
	if err == nil || !strings.Contains(err.Error(), "Following property has empty value: 'author'") {
		t.Errorf("missing property: %v", err)
	}
}

func TestGroupedResult(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, "", defaultRest))
	ps := []*modulecapabilities.GenerateProperties{
		props("title", "Telephone", "body", "Alexander Graham Bell patented the telephone in 1876."),
		props("title", "Radio", "body", "Guglielmo Marconi sent the first radio signals."),
		nil, // Weaviate may pass objects without text properties
		props("body", "Antonio Meucci built a voice telegraph."),
	}
	res, err := client(m).GenerateAllResults(context.Background(), ps, "¿Quién inventó el {title}?", nil, true, classConfig{})
	if err != nil {
		t.Fatal(err)
	}
	md := meta(t, res)
	if md[metaPassagesGiven] != 3 || md[metaPassagesUsed] != 3 || md[metaPassagesCut] != 0 || md[metaPassageTruncated] != false {
		t.Errorf("passage metadata: %v", md)
	}
	if md[metaLanguage] != "es" {
		t.Errorf("language: %v", md)
	}
	mustContain(t, "debug prompt", res.Debug.Prompt,
		"Answer in Spanish.",
		"[1] body: Alexander Graham Bell patented the telephone in 1876.\ntitle: Telephone",
		"[2] body: Guglielmo Marconi",
		"[3] Antonio Meucci built a voice telegraph.",
		"Question: ¿Quién inventó el Telephone?", // {title} from the first object, as MakeTaskPrompt does
	)
	if i, j := strings.Index(res.Debug.Prompt, "[1]"), strings.Index(res.Debug.Prompt, "[3]"); i < 0 || j < i {
		t.Errorf("passages out of rank order")
	}

	// A custom template without {{language}} still tells the reader, as a
	// system message.
	q := Params{Options: config.Options{PromptTemplate: "{{passages}}\nQ: {{question}}"}}
	res, err = client(m).GenerateAllResults(context.Background(), ps, "Wer erfand das Telefon?", q, true, classConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "debug prompt", res.Debug.Prompt, "Answer in German.", "Q: Wer erfand das Telefon?")
}

// TestGRPCPathUsesClassConfig: Weaviate's gRPC API cannot carry this
// module's per-query options (its provider options are a closed oneof), so
// gRPC generative search calls the client with nil requestParams and the
// class's moduleConfig decides.
func TestGRPCPathUsesClassConfig(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, "", defaultRest))
	cfg := classConfig{settings: map[string]any{"alphaCL": 0.0, "alphaAC": 3.0, "topK": 2.0, "maxTokens": 3.0, "direction": "mass-mean", "answerLanguage": "fr"}}
	res, err := client(m).GenerateSingleResult(context.Background(), props("title", "x"), "Who made {title}?", nil, false, cfg)
	if err != nil {
		t.Fatal(err)
	}
	md := meta(t, res)
	if md[metaAlphaCL] != 0.0 || md[metaAlphaAC] != 3.0 || md[metaTopK] != 2 || md[metaCompletionTokens] != 3 ||
		md[metaDirection] != "mass-mean" || md[metaAnswerLanguage] != "French" || md[metaSteeredHeads] != 2 {
		t.Errorf("class config not applied: %v", md)
	}
	if res.Debug != nil {
		t.Error("debug returned without being asked")
	}
	// Grouped over gRPC, and a cross-class query (nil cfg): ops defaults.
	res, err = client(m).GenerateAllResults(context.Background(), []*modulecapabilities.GenerateProperties{props("body", "text")}, "What is it?", nil, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if md := meta(t, res); md[metaTopK] != 4 || md[metaCompletionTokens] != 4 {
		t.Errorf("defaults not applied: %v", md)
	}
}

func TestSteeringChangesTheAnswer(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, "", defaultRest))
	gen := func(o config.Options) (string, map[string]any) {
		t.Helper()
		o.MaxTokens = intp(12)
		res, err := single(t, m, "Who invented {title}?", Params{Options: o}, classConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return *res.Result, meta(t, res)
	}
	off, md := gen(config.Options{Profile: config.ProfileNone})
	if md[metaSteered] != false || md[metaSteeredHeads] != 0 || md[metaProfile] != "" {
		t.Errorf("unsteered metadata: %v", md)
	}
	zero, md := gen(config.Options{AlphaAC: f64(0), AlphaCL: f64(0)})
	if md[metaSteered] != false {
		t.Errorf("alpha 0 metadata: %v", md)
	}
	on, md := gen(config.Options{AlphaAC: f64(20), AlphaCL: f64(20), TopK: intp(0)})
	if md[metaSteered] != true || md[metaSteeredHeads] != 8 {
		t.Errorf("steered metadata: %v", md)
	}
	if off != zero {
		t.Errorf("profile none and alpha 0 differ: %q vs %q", off, zero)
	}
	if on == off {
		t.Errorf("steering did not change the answer: %q", on)
	}
	scopeAll, _ := gen(config.Options{AlphaAC: f64(20), AlphaCL: f64(20), TopK: intp(0), TokenScope: "all"})
	if scopeAll == on {
		t.Errorf("token scope all gave the same answer as generation: %q", on)
	}
	// Greedy and steered is still deterministic.
	again, _ := gen(config.Options{AlphaAC: f64(20), AlphaCL: f64(20), TopK: intp(0)})
	if again != on {
		t.Errorf("steered generation not deterministic: %q vs %q", on, again)
	}
}

func TestLanguageDetection(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, "", defaultRest))
	cases := []struct{ question, code, name string }{
		{"Wer hat das Telefon erfunden?", "de", "German"},
		{"¿Quién inventó el teléfono?", "es", "Spanish"},
		{"Qui a inventé le téléphone ?", "fr", "French"},
		{"Wie heeft de telefoon uitgevonden?", "nl", "Dutch"},
		{"Telefonu kim icat etti?", "tr", "Turkish"},
		{"Кто изобрёл телефон?", "ru", "Russian"},
		{"電話を発明したのは誰ですか？", "ja", "Japanese"},
		{"谁发明了电话？", "zh", "Chinese"},
		{"من اخترع الهاتف؟", "ar", "Arabic"},
		{"ใครเป็นผู้ประดิษฐ์โทรศัพท์", "th", "Thai"},
		{"Who invented the telephone?", "en", "English"},
	}
	ps := []*modulecapabilities.GenerateProperties{props("body", "Alexander Graham Bell patented the telephone in 1876.")}
	q := Params{Options: config.Options{MaxTokens: intp(1)}}
	for _, c := range cases {
		res, err := client(m).GenerateAllResults(context.Background(), ps, c.question, q, true, classConfig{})
		if err != nil {
			t.Fatalf("%s: %v", c.question, err)
		}
		md := meta(t, res)
		if md[metaLanguage] != c.code || md[metaLanguageName] != c.name || md[metaLanguageDetected] != true {
			t.Errorf("%q: detected %v (%v), want %s", c.question, md[metaLanguage], md[metaLanguageName], c.code)
		}
		mustContain(t, "prompt for "+c.code, res.Debug.Prompt, "Answer in "+c.name+".")
	}

	// The question's language, not the passages': a German prompt over an
	// English property value is German.
	res, err := single(t, m, "Erkläre bitte kurz: {body}", q, classConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if md := meta(t, res); md[metaLanguage] != "de" {
		t.Errorf("prompt language with an English property: %v", md[metaLanguage])
	}
	// Nothing to detect: the reader is told to follow the question.
	res, err = single(t, m, "{title}", Params{Options: config.Options{MaxTokens: intp(1)}}, classConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if md := meta(t, res); md[metaLanguageDetected] != true {
		// "the telephone" is English; detection falls back to the filled prompt.
		t.Errorf("filled-in prompt not used for detection: %v", md)
	}
	res, err = client(m).GenerateAllResults(context.Background(), ps, "1876?", q, true, classConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if md := meta(t, res); md[metaLanguageDetected] != false || md[metaLanguage] != "" {
		t.Errorf("digits detected as a language: %v", md)
	}
	mustContain(t, "prompt", res.Debug.Prompt, "Answer in the language of the question.")

	// A fixed answer language overrides detection.
	res, err = single(t, m, "Wer hat {title} erfunden?", Params{Options: config.Options{AnswerLanguage: "ja", MaxTokens: intp(1)}}, classConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if md := meta(t, res); md[metaLanguage] != "de" || md[metaAnswerLanguage] != "Japanese" {
		t.Errorf("answerLanguage ja: %v", md)
	}
	mustContain(t, "prompt", res.Debug.Prompt, "Answer in Japanese.")
}

// TestLanguagesRestrictDetection: only the configured languages are
// candidates.
func TestLanguagesRestrictDetection(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, "", defaultRest+"languages: [en, fr]\nlanguageDetection: {accuracy: low}\n"))
	res, err := client(m).GenerateAllResults(context.Background(), []*modulecapabilities.GenerateProperties{props("b", "x")},
		"Wer hat das Telefon erfunden und wann war das?", Params{Options: config.Options{MaxTokens: intp(1)}}, false, classConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if md := meta(t, res); md[metaLanguage] != "en" && md[metaLanguage] != "fr" {
		t.Errorf("detected %v outside the configured languages", md[metaLanguage])
	}
}

func TestPassagesCutToFitTheContext(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, "", defaultRest+"limits: {maxPassages: 8}\n"))
	var ps []*modulecapabilities.GenerateProperties
	for i := range 12 {
		ps = append(ps, props("body", fmt.Sprintf("Passage %d: %s", i+1, strings.Repeat("lorem ipsum dolor sit amet ", 3))))
	}
	// The 512-token context less maxTokens 4 holds the template and all
	// eight passages (about 95 byte tokens each)? No: about five.
	res, err := client(m).GenerateAllResults(context.Background(), ps, "What do the passages say?", nil, true, classConfig{})
	if err != nil {
		t.Fatal(err)
	}
	md := meta(t, res)
	used, cut := md[metaPassagesUsed].(int), md[metaPassagesCut].(int)
	if md[metaPassagesGiven] != 12 || used < 2 || used >= 8 || used+cut != 12 {
		t.Errorf("passages given %v used %v cut %v", md[metaPassagesGiven], used, cut)
	}
	if pt := md[metaPromptTokens].(int); pt > 508 || md[metaPromptBudget] != 508 {
		t.Errorf("prompt %d tokens over the budget %v", pt, md[metaPromptBudget])
	}
	warnings := strings.Join(md[metaWarnings].([]string), "\n")
	mustContain(t, "warnings", warnings, "4 of 12 passages left out: limits.maxPassages is 8", "of 8 passages left out to fit the prompt budget of 508 tokens")
	// Best ranked first: passage 1 is in, passage 8 is not.
	mustContain(t, "debug prompt", res.Debug.Prompt, "[1] Passage 1:")
	if strings.Contains(res.Debug.Prompt, "Passage 8:") {
		t.Error("a worse-ranked passage was kept over better ones")
	}
	if md[metaPassageTruncated] == true {
		mustContain(t, "debug prompt", res.Debug.Prompt, rag.TruncationMark)
	}

	// maxPromptTokens caps it further.
	m2, _ := newTestModule(t, baseOps(t, "", defaultRest+"limits: {maxPromptTokens: 200}\n"))
	res, err = client(m2).GenerateAllResults(context.Background(), ps, "What do the passages say?", nil, false, classConfig{})
	if err != nil {
		t.Fatal(err)
	}
	md = meta(t, res)
	if md[metaPromptBudget] != 200 || md[metaPromptTokens].(int) > 200 || md[metaPassagesUsed].(int) >= used {
		t.Errorf("maxPromptTokens 200: %v", md)
	}

	// A question that alone exceeds the budget is an error that says so.
	_, err = client(m2).GenerateAllResults(context.Background(), ps, strings.Repeat("why ", 80), nil, false, classConfig{})
	if err == nil || !strings.Contains(err.Error(), "over the budget of 200") {
		t.Errorf("oversized question: %v", err)
	}
	// So is a single prompt.
	_, err = single(t, m2, strings.Repeat("why ", 80), nil, classConfig{})
	if err == nil || !strings.Contains(err.Error(), "over the budget of 200") {
		t.Errorf("oversized single prompt: %v", err)
	}
	// And maxTokens that leaves no room.
	_, err = single(t, m, "hi", Params{Options: config.Options{MaxTokens: intp(600)}}, classConfig{})
	if err == nil || !strings.Contains(err.Error(), "maxTokens 600 leaves no room") {
		t.Errorf("maxTokens over the context: %v", err)
	}
}

func TestMissingModelFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.gguf")
	ops := fmt.Sprintf("models:\n  gone:\n    path: %s\n", missing)
	m, hook := newTestModule(t, ops)
	res, err := single(t, m, "hello", nil, classConfig{})
	if err == nil || res != nil {
		t.Fatalf("missing model: %v %v", res, err)
	}
	if !errors.Is(err, ErrModelUnavailable) {
		t.Errorf("error does not wrap ErrModelUnavailable: %v", err)
	}
	mustContain(t, "error", err.Error(), "generative-asmr:", `model "gone"`, missing, "does not exist", "models.gone.path", config.EnvModelPath)

	// The preload logged it at start.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var logged bool
		for _, e := range hook.AllEntries() {
			if e.Level.String() == "error" && strings.Contains(fmt.Sprint(e.Data["error"]), "does not exist") {
				logged = true
			}
		}
		if logged {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("missing model was not logged as an error")
		}
		time.Sleep(20 * time.Millisecond)
	}
	info, err := m.MetaInfo()
	if err != nil {
		t.Fatal(err)
	}
	st := info["models"].(map[string]any)["gone"].(map[string]any)
	if st["state"] != "error" || !strings.Contains(st["error"].(string), "does not exist") {
		t.Errorf("meta state: %v", st)
	}
}

func TestNoModelsConfigured(t *testing.T) {
	m, hook := newTestModule(t, "")
	_, err := single(t, m, "hello", nil, classConfig{})
	if err == nil || !strings.Contains(err.Error(), "no models are configured") || !strings.Contains(err.Error(), config.EnvConfig) {
		t.Errorf("no models: %v", err)
	}
	var warned bool
	for _, e := range hook.AllEntries() {
		warned = warned || strings.Contains(e.Message, "no models configured")
	}
	if !warned {
		t.Error("no warning logged at start")
	}
}

func TestBadQueryOptionsAreResultErrors(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, "", defaultRest))
	for _, c := range []struct {
		opts config.Options
		want string
	}{
		{config.Options{Direction: "sideways"}, `invalid query asmr options: direction: unknown direction kind "sideways"`},
		{config.Options{Model: "huge"}, `model: "huge" is not a configured model; the ops file has tiny`},
		{config.Options{Profile: "other"}, `profile: "other" is not a configured profile`},
		{config.Options{TopK: intp(-2)}, "topK: -2 is negative"},
	} {
		_, err := single(t, m, "hi", Params{Options: c.opts}, classConfig{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want %q", c.opts, err, c.want)
		}
	}
	// Options of another provider are refused, not silently ignored.
	if _, err := single(t, m, "hi", struct{ Model string }{"x"}, classConfig{}); err == nil {
		t.Error("foreign options accepted")
	}
}

// TestModelFileAppearingLaterIsPickedUp: a missing file is retried (after
// retryAfter, 30 s by default), so an operator can put it in place without
// restarting Weaviate.
func TestModelFileAppearingLaterIsPickedUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late.gguf")
	m, _ := newTestModule(t, fmt.Sprintf("models:\n  late: {path: %s, threads: 2, contextSize: 256}\ndefaults: {maxTokens: 2}\n", path))
	e := m.generative.models["late"]
	if _, err := single(t, m, "hi", nil, classConfig{}); !errors.Is(err, ErrModelUnavailable) {
		t.Fatalf("before the file exists: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(testModels(t), "tiny.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// Within the retry window the remembered error is returned without
	// touching the file.
	if _, err := single(t, m, "hi", nil, classConfig{}); !errors.Is(err, ErrModelUnavailable) {
		t.Errorf("within the retry window: %v", err)
	}
	e.mu.Lock()
	e.retryAfter = 0
	e.mu.Unlock()
	res, err := single(t, m, "hi", nil, classConfig{})
	if err != nil {
		t.Fatalf("after the file appeared: %v", err)
	}
	if md := meta(t, res); md[metaModel] != "late" || md[metaCompletionTokens] != 2 {
		t.Errorf("metadata: %v", md)
	}
	// No passages at all is answered, with a warning.
	res, err = client(m).GenerateAllResults(context.Background(), nil, "What?", nil, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := meta(t, res)[metaWarnings].([]string); len(w) != 1 || !strings.Contains(w[0], "no passages") {
		t.Errorf("warnings: %v", w)
	}
}

// TestGroupedPropertiesKeepTheirOrder: a passage with several properties
// lists them in the order the groupedResult's properties gave (which the
// patched Weaviate puts on the context), and in name order without one.
func TestGroupedPropertiesKeepTheirOrder(t *testing.T) {
	m, _ := newTestModule(t, baseOps(t, "", defaultRest))
	ps := []*modulecapabilities.GenerateProperties{{Text: map[string]string{
		"title": "Telephone", "body": "Bell patented it in 1876.", "year": "1876",
	}}}
	for _, c := range []struct {
		order []string
		want  string
	}{
		{[]string{"title", "year", "body"}, "title: Telephone\nyear: 1876\nbody: Bell patented it in 1876."},
		{[]string{"year", "body", "title"}, "year: 1876\nbody: Bell patented it in 1876.\ntitle: Telephone"},
		// A name the request listed that the object lacks is skipped; one
		// it did not list follows in name order.
		{[]string{"title", "missing"}, "title: Telephone\nbody: Bell patented it in 1876.\nyear: 1876"},
		{nil, "body: Bell patented it in 1876.\ntitle: Telephone\nyear: 1876"},
	} {
		ctx := propertyorder.WithGroupedProperties(context.Background(), c.order)
		res, err := client(m).GenerateAllResults(ctx, ps, "When?", nil, true, classConfig{})
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, fmt.Sprintf("debug prompt, order %q", c.order), res.Debug.Prompt, "[1] "+c.want)
	}
}
