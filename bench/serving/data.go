package serving

import (
	"encoding/json"
	"fmt"
)

// passage is one object of both classes.
type passage struct {
	topic      int
	lang, text string
}

// The langs the passages are written in, in the order of their vector
// components.
var passageLangs = []string{"en", "de", "es", "ru"}

// passages are five facts, each in the four passageLangs: 20 objects of
// two short sentences (about 30 to 50 Gemma tokens each).
var passages = []passage{
	{0, "en", "Alexander Graham Bell was granted the first patent for the telephone in March 1876. His company later became the American Telephone and Telegraph Company."},
	{0, "de", "Alexander Graham Bell erhielt im März 1876 das erste Patent auf das Telefon. Aus seiner Firma ging später die American Telephone and Telegraph Company hervor."},
	{0, "es", "Alexander Graham Bell obtuvo en marzo de 1876 la primera patente del teléfono. Su empresa se convirtió más tarde en la American Telephone and Telegraph Company."},
	{0, "ru", "Александр Грейам Белл получил первый патент на телефон в марте 1876 года. Его компания позже стала American Telephone and Telegraph Company."},
	{1, "en", "The Eiffel Tower was completed in 1889 as the entrance arch of the World's Fair in Paris. It is 330 metres tall and was the tallest structure in the world until 1930."},
	{1, "de", "Der Eiffelturm wurde 1889 als Eingangsbogen der Weltausstellung in Paris fertiggestellt. Er ist 330 Meter hoch und war bis 1930 das höchste Bauwerk der Welt."},
	{1, "es", "La Torre Eiffel se terminó en 1889 como arco de entrada de la Exposición Universal de París. Mide 330 metros y fue la estructura más alta del mundo hasta 1930."},
	{1, "ru", "Эйфелева башня была достроена в 1889 году как входная арка Всемирной выставки в Париже. Её высота 330 метров, и до 1930 года она была самым высоким сооружением в мире."},
	{2, "en", "Marie Curie received the Nobel Prize in Physics in 1903 and the Nobel Prize in Chemistry in 1911. She was the first person to win Nobel Prizes in two sciences."},
	{2, "de", "Marie Curie erhielt 1903 den Nobelpreis für Physik und 1911 den Nobelpreis für Chemie. Sie war der erste Mensch, der Nobelpreise in zwei Wissenschaften gewann."},
	{2, "es", "Marie Curie recibió el Premio Nobel de Física en 1903 y el de Química en 1911. Fue la primera persona en ganar premios Nobel en dos ciencias."},
	{2, "ru", "Мария Кюри получила Нобелевскую премию по физике в 1903 году и по химии в 1911 году. Она первой получила Нобелевские премии в двух науках."},
	{3, "en", "The Amazon is the largest river in the world by discharge and flows about 6,400 kilometres to the Atlantic Ocean. Its basin covers much of Brazil, Peru and Colombia."},
	{3, "de", "Der Amazonas ist der wasserreichste Fluss der Erde und fließt etwa 6.400 Kilometer bis zum Atlantik. Sein Becken umfasst große Teile Brasiliens, Perus und Kolumbiens."},
	{3, "es", "El Amazonas es el río más caudaloso del mundo y recorre unos 6.400 kilómetros hasta el océano Atlántico. Su cuenca abarca gran parte de Brasil, Perú y Colombia."},
	{3, "ru", "Амазонка — самая полноводная река мира; она течёт около 6400 километров до Атлантического океана. Её бассейн занимает большую часть Бразилии, Перу и Колумбии."},
	{4, "en", "Apollo 11 landed on the Moon on 20 July 1969. Neil Armstrong was the first person to walk on its surface, followed by Buzz Aldrin."},
	{4, "de", "Apollo 11 landete am 20. Juli 1969 auf dem Mond. Neil Armstrong betrat als erster Mensch seine Oberfläche, nach ihm Buzz Aldrin."},
	{4, "es", "El Apolo 11 aterrizó en la Luna el 20 de julio de 1969. Neil Armstrong fue la primera persona en caminar sobre su superficie, seguido de Buzz Aldrin."},
	{4, "ru", "Аполлон-11 совершил посадку на Луну 20 июля 1969 года. Нил Армстронг первым ступил на её поверхность, за ним Базз Олдрин."},
}

// Passages is how many objects each class holds: the most a query's limit
// can be.
func Passages() int { return len(passages) }

// question is one question of the load, about passages of topic.
type question struct {
	topic int
	lang  string // its language, for the vector
	text  string
}

// questions are asked in turn, the same sequence on both classes: two
// per topic, in six languages.
var questions = []question{
	{0, "en", "When was the telephone patented?"},
	{1, "de", "Wie hoch ist der Eiffelturm?"},
	{2, "es", "¿En qué años recibió Marie Curie el Premio Nobel?"},
	{3, "ru", "В какой океан впадает Амазонка?"},
	{4, "fr", "Qui a marché le premier sur la Lune ?"},
	{0, "es", "¿Quién patentó el teléfono?"},
	{1, "en", "When was the Eiffel Tower completed?"},
	{2, "de", "Welche Nobelpreise erhielt Marie Curie?"},
	{3, "it", "Quanto è lungo il Rio delle Amazzoni?"},
	{4, "ru", "Когда Аполлон-11 сел на Луну?"},
}

// vectorDims is the length of the synthetic vectors: one component per
// topic, one per passage language, and the rest to tell passages apart.
const vectorDims = 16

// passageVector is the vector of passages[i]: its topic's component, its
// language's at 0.5, and a small component that grows with i, so that a
// query finds its topic's passages first and no two distances tie (the
// order of tied objects could differ between the two classes).
func passageVector(i int) []float32 {
	p := passages[i]
	v := make([]float32, vectorDims)
	v[p.topic] = 1
	for l, lang := range passageLangs {
		if lang == p.lang {
			v[5+l] = 0.5
		}
	}
	v[9+i%(vectorDims-9)] += 0.01 * float32(1+i)
	return v
}

// queryVector is the nearVector of questions[i%len(questions)]: its
// topic's component and, when it is one of passageLangs, a smaller pull
// towards the passage in its own language.
func queryVector(i int) string {
	q := questions[i%len(questions)]
	v := make([]float32, vectorDims)
	v[q.topic] = 1
	for l, lang := range passageLangs {
		if lang == q.lang {
			v[5+l] = 0.3
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// singlePrompt is the singleResult prompt of question i, the same text for
// both classes: each object's passage, the question and an answer cue.
func singlePrompt(i int) string {
	return fmt.Sprintf("Passage: {text}\n\nQuestion: %s\nAnswer:", questions[i%len(questions)].text)
}

// groupedTask is the groupedResult task of question i: the question
// alone, for both classes; each module builds its own prompt around it.
func groupedTask(i int) string { return questions[i%len(questions)].text }
