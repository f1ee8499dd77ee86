package eval

import "testing"

func TestLanguageRate(t *testing.T) {
	xor, err := NewLangDetector("ar", "bn", "fi", "ja", "ko", "ru", "te")
	if err != nil {
		t.Fatal(err)
	}
	mkqa, err := NewLangDetector("de", "es", "fr", "it", "nl", "pt", "th", "tr", "vi", "zh")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		d          *LangDetector
		pred, lang string
		want       bool
	}{
		// Kanji only: Japanese, since Chinese is not a candidate in XOR-TyDi.
		{xor, "富士山", "ja", true},
		{xor, "テキサス州ダラス", "ja", true},
		{xor, "Mount Fuji", "ja", false}, // English
		{xor, "Лев Толстой", "ru", true},
		{xor, "كانبرا", "ar", true},
		{xor, "서울", "ko", true},
		{xor, "Suomi itsenäistyi 6. joulukuuta 1917.", "fi", true},
		{xor, "న్యూఢిల్లీ", "te", true},
		{xor, "1867", "ja", false}, // digits: undetectable, counted wrong
		{xor, "", "ru", false},     // empty: wrong
		{mkqa, "Die Berliner Mauer fiel am 9. November 1989.", "de", true},
		{mkqa, "La tour Eiffel a été achevée en 1889.", "fr", true},
		{mkqa, "La tour Eiffel a été achevée en 1889.", "es", false},
		{mkqa, "米格尔·德·塞万提斯", "zh", true},
		{mkqa, "米格尔·德·塞万提斯", "zh_cn", true},
		{mkqa, "มิเกล เด เซร์บันเตส", "th", true},
		{mkqa, "Bức tường Berlin sụp đổ năm 1989.", "vi", true},
		{mkqa, "Berlin Duvarı 1989'da yıkıldı.", "tr", true},
		{mkqa, "The Berlin Wall fell in 1989.", "nl", false},
	} {
		if got := c.d.InLanguage(c.pred, c.lang); got != c.want {
			t.Errorf("InLanguage(%q, %s) = %v (detected %q), want %v", c.pred, c.lang, got, c.d.Detect(c.pred), c.want)
		}
	}

	items := []Item{{ID: "1", Lang: "de"}, {ID: "2", Lang: "de"}, {ID: "1", Lang: "fr"}, {ID: "2", Lang: "fr"}}
	preds := map[Key]string{
		{"de", "1"}: "Die Mauer fiel im Jahr 1989.",
		{"de", "2"}: "The wall fell in 1989.",
		{"fr", "1"}: "Le mur est tombé en 1989.",
		{"fr", "2"}: "",
	}
	scores, err := ScoreLanguage(items, preds, mkqa)
	if err != nil {
		t.Fatal(err)
	}
	if agg := Summarize(scores); agg.Macro != 0.5 || agg.Langs[0].Mean != 0.5 || agg.Langs[1].Mean != 0.5 {
		t.Errorf("rates %+v, want 1/2 per language", agg)
	}
	if _, err := NewLangDetector("xx"); err == nil {
		t.Error("unknown language must be an error")
	}
	if _, err := NewLangDetector("en"); err == nil {
		t.Error("English alone must be an error")
	}
}
