package steering

import (
	"fmt"
	"strings"
)

// Message is one turn of a chat.
type Message struct {
	Role    string
	Content string
}

// Segment is a piece of a formatted prompt. Special segments come from the
// chat template (turn markers such as Gemma's "<start_of_turn>") and are
// tokenized with special-token parsing; the others are the caller's text
// (system and user messages), tokenized as text.
type Segment struct {
	Text    string
	Special bool
}

// Stand-ins for the messages while the template is applied. They are
// Unicode private-use characters: no template adds or rewrites them, and
// whatever the messages contain never reaches the template engine, so the
// messages cannot be mistaken for template text.
const (
	systemMark = "\uE000asmr-system\uE001"
	userMark   = "\uE000asmr-user\uE001"
)

// ChatTemplateNone, as Options.ChatTemplate, frames nothing: the model
// reads the system text, a blank line and the prompt, as a completion
// model (a base checkpoint such as Gemma 3 270M) is best prompted.
const ChatTemplateNone = "none"

// plainTemplate frames a prompt for models without a chat template.
func plainTemplate(system, prompt string) []Segment {
	var segs []Segment
	if system != "" {
		segs = append(segs, Segment{Text: system}, Segment{Text: "\n\n"})
	}
	return append(segs, Segment{Text: "User: "}, Segment{Text: prompt}, Segment{Text: "\nAssistant:"})
}

// PromptSegments frames system and prompt with the GGUF's chat template (or
// a plain "User: ...\nAssistant:" frame when the model has none or
// llama.cpp does not recognise it) and returns the result in segments:
// the template's own text marked Special, the messages as text. Messages
// are trimmed of surrounding white space, as llama.cpp's templates trim
// them. A template that has no place for a system message gets it in
// front of the user message, separated by a blank line.
func (m *Model) PromptSegments(system, prompt string) []Segment {
	system, prompt = strings.TrimSpace(system), strings.TrimSpace(prompt)
	switch m.template {
	case "":
		return plainTemplate(system, prompt)
	case ChatTemplateNone:
		if system == "" {
			return []Segment{{Text: prompt}}
		}
		return []Segment{{Text: system}, {Text: "\n\n"}, {Text: prompt}}
	}
	var msgs []Message
	if system != "" {
		msgs = append(msgs, Message{"system", systemMark})
	}
	msgs = append(msgs, Message{"user", userMark})
	out, ok := applyChatTemplate(m.template, msgs)
	if !ok || strings.Count(out, userMark) != 1 || strings.Count(out, systemMark) > 1 {
		return plainTemplate(system, prompt)
	}
	if system != "" && !strings.Contains(out, systemMark) {
		prompt = system + "\n\n" + prompt
	}
	var segs []Segment
	for out != "" {
		i, mark := strings.Index(out, userMark), userMark
		if j := strings.Index(out, systemMark); j >= 0 && (i < 0 || j < i) {
			i, mark = j, systemMark
		}
		if i < 0 {
			segs = append(segs, Segment{Text: out, Special: true})
			break
		}
		if i > 0 {
			segs = append(segs, Segment{Text: out[:i], Special: true})
		}
		if mark == userMark {
			segs = append(segs, Segment{Text: prompt})
		} else {
			segs = append(segs, Segment{Text: system})
		}
		out = out[i+len(mark):]
	}
	return segs
}

// FormatPrompt is the text of PromptSegments: what the model reads, as a
// string for display (debug output). Tokenizing this string is not the
// same as TokenizePrompt when the messages contain special-token names.
func (m *Model) FormatPrompt(system, prompt string) string {
	var b strings.Builder
	for _, s := range m.PromptSegments(system, prompt) {
		b.WriteString(s.Text)
	}
	return b.String()
}

// TokenizePrompt frames system and prompt with the chat template and
// tokenizes the result: the template's markers become the model's special
// tokens, the messages stay text whatever they contain. BOS is added when
// the model asks for it. It also returns the formatted text.
func (m *Model) TokenizePrompt(system, prompt string) ([]int, string, error) {
	if err := m.enter(); err != nil {
		return nil, "", err
	}
	defer m.leave()
	segs := m.PromptSegments(system, prompt)
	addBOS := m.model.AddBOSToken()
	var toks []int
	var b strings.Builder
	for i, s := range segs {
		if s.Text == "" {
			continue
		}
		t, err := m.model.Tokenize(s.Text, addBOS, s.Special)
		if err != nil {
			return nil, "", fmt.Errorf("tokenize prompt segment %d: %w", i, err)
		}
		addBOS = false
		toks = append(toks, t...)
		b.WriteString(s.Text)
	}
	if addBOS {
		// Nothing to tokenize: the prompt is BOS alone, as Tokenize("") gives.
		t, err := m.model.Tokenize("", true, false)
		return t, "", err
	}
	return toks, b.String(), nil
}
