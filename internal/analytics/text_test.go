package analytics

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/callrec/callrec/internal/transcript"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want string // tokens joined by spaces, "|" before a token after punctuation
	}{
		{"Hello, World!", "hello |world"},
		{"I don't know", "i do not know"},
		{"It doesn’t work.", "it does not work"},
		{"I'll send you the customer's file", "i will send you the customer's file"},
		{"We can't, we won't", "we can not |we will not"},
		{"'quoted' e-mail", "quoted e mail"},
		{"  ", ""},
	}
	for _, tc := range tests {
		var parts []string
		for _, tok := range tokenize(tc.in) {
			p := tok.text
			if tok.breakBefore {
				p = "|" + p
			}
			parts = append(parts, p)
		}
		if got := strings.Join(parts, " "); got != tc.want {
			t.Errorf("tokenize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSentiment(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		label string
		score func(float64) bool
	}{
		{"positive", "This is good.", transcript.Positive, func(s float64) bool { return s > 2.5 && s < 3.5 }},
		{"negative", "This is bad.", transcript.Negative, func(s float64) bool { return s < -2 }},
		{"neutral", "The meeting is on Tuesday at nine.", transcript.Neutral, func(s float64) bool { return s == 0 }},
		{"negation flips good", "This is not good.", transcript.Negative, func(s float64) bool { return s < 0 }},
		{"negation flips bad", "That is not bad at all.", transcript.Positive, func(s float64) bool { return s > 0 }},
		{"contracted negation", "I don't like it, it isn't great.", transcript.Negative, func(s float64) bool { return s < 0 }},
		{"no problem", "No problem at all.", transcript.Positive, func(s float64) bool { return s > 0 }},
		{"negation stops at punctuation", "No. Good.", transcript.Positive, func(s float64) bool { return s > 0 }},
		{"phrase: does not work", "It does not work.", transcript.Negative, func(s float64) bool { return s < 0 }},
		{"thank you", "Thank you.", transcript.Positive, func(s float64) bool { return s > 0 }},
		{"mixed", "I love the design, but the delivery was terrible.", transcript.Mixed, nil},
		{"mixed thanks", "Thanks, but it still doesn't work.", transcript.Mixed, nil},
		{"weak mixed is not mixed", "Great service, slightly late.", transcript.Positive, nil},
		{"hypothetical", "Wonderful. If anything is wrong, call me.", transcript.Positive, nil},
		{"strong", "Absolutely fantastic, wonderful, brilliant work, I love it!", transcript.Positive, func(s float64) bool { return s > 4.5 && s <= 5 }},
		{"very strong negative", "This is a horrible, disgusting, outrageous scam.", transcript.Negative, func(s float64) bool { return s < -4.5 && s >= -5 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Sentiment(tc.text)
			if r.Label != tc.label {
				t.Errorf("Sentiment(%q) = %+v, want %s", tc.text, r, tc.label)
			}
			if tc.score != nil && !tc.score(r.Score) {
				t.Errorf("Sentiment(%q) score %v out of range", tc.text, r.Score)
			}
		})
	}
}

func TestIntensifiers(t *testing.T) {
	base := Sentiment("It is good.").Score
	tests := []struct {
		text string
		cmp  func(float64) bool
		want string
	}{
		{"It is very good.", func(s float64) bool { return s > base }, "stronger"},
		{"It is really really good.", func(s float64) bool { return s > Sentiment("It is really good.").Score }, "stronger than one booster"},
		{"It is slightly good.", func(s float64) bool { return s < base && s > 0 }, "weaker"},
		{"It is kind of good.", func(s float64) bool { return s < base && s > 0 }, "weaker"},
		{"It is not very good.", func(s float64) bool { return s < 0 }, "negative"},
		{"It is extremely bad.", func(s float64) bool { return s < Sentiment("It is bad.").Score }, "more negative"},
	}
	for _, tc := range tests {
		if got := Sentiment(tc.text).Score; !tc.cmp(got) {
			t.Errorf("Sentiment(%q) = %v: want %s than %v", tc.text, got, tc.want, base)
		}
	}
}

func TestLexiconRange(t *testing.T) {
	for _, w := range []string{"good", "great", "terrible", "problem", "fuck", "outstanding"} {
		v, ok := valence(w)
		if !ok || v < -5 || v > 5 {
			t.Errorf("valence(%q) = %v, %v", w, v, ok)
		}
	}
	for _, p := range phraseValences() {
		if p.score < -5 || p.score > 5 || len(p.words) < 2 {
			t.Errorf("phrase %v: %v", p.words, p.score)
		}
	}
}

func TestDetectIssues(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"Hi. I have a problem with my order. Thanks.", []string{"I have a problem with my order"}},
		{"Well, it doesn't work, and the screen is broken.", []string{"it doesn't work", "the screen is broken"}},
		{"The parcel never arrived", []string{"The parcel never arrived"}},
		{"There is no problem with the filters.", nil},
		{"If anything is wrong, call me.", nil},
		{"Everything works fine, thank you.", nil},
		{"I'm having trouble logging in since Monday", []string{"I'm having trouble logging in since Monday"}},
	}
	for _, tc := range tests {
		got := spans(tc.text, DetectIssues(tc.text))
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("DetectIssues(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestDetectActionItems(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"I'll send you the invoice tomorrow, okay?", []string{"I'll send you the invoice tomorrow"}},
		{"Please call me back when you can.", []string{"Please call me back"}},
		{"Could you email me the contract", []string{"Could you email me the contract"}},
		{"We will get back to you by Friday and then we will refund the fee.", []string{"We will get back to you by Friday", "we will refund the fee"}},
		{"I will.", nil},
		{"Nice weather today.", nil},
	}
	for _, tc := range tests {
		got := spans(tc.text, DetectActionItems(tc.text))
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("DetectActionItems(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestDetectOffsetsAreCharacters(t *testing.T) {
	text := "Ça coûte cher. I have a problem with the café’s bill."
	d := DetectIssues(text)
	if len(d) != 1 {
		t.Fatalf("DetectIssues = %+v", d)
	}
	o := d[0].CharacterOffsets
	if got := o.Text(text); got != "I have a problem with the café’s bill" {
		t.Errorf("span %+v = %q", o, got)
	}
	if o.End > utf8.RuneCountInString(text) || o.Begin != 15 {
		t.Errorf("offsets %+v are not in characters", o)
	}
}

func spans(text string, ds []transcript.Detection) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.CharacterOffsets.Text(text))
	}
	return out
}

func FuzzDetect(f *testing.F) {
	for _, s := range []string{"I have a problem with my order.", "I'll send you it", "not good, very bad", "’'", "a’b", "İstanbul’da sorun var", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := utf8.RuneCountInString(s)
		for _, d := range append(DetectIssues(s), DetectActionItems(s)...) {
			o := d.CharacterOffsets
			if o.Begin < 0 || o.End > n || o.Begin >= o.End {
				t.Fatalf("%q: offsets %+v (length %d)", s, o, n)
			}
		}
		r := Sentiment(s)
		if r.Score < -5 || r.Score > 5 || r.Positive < 0 || r.Negative < 0 {
			t.Fatalf("%q: %+v", s, r)
		}
		for _, tok := range tokenize(s) {
			if tok.start < 0 || tok.end > len(s) || tok.start >= tok.end || tok.text == "" {
				t.Fatalf("%q: token %+v", s, tok)
			}
		}
	})
}
