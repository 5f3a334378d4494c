package openai

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// whisperCppVerbose is the verbose_json shape whisper.cpp's server writes
// (examples/server/server.cpp): segments[] whose words[] are Whisper
// tokens with a leading space at word starts, a probability per token,
// t_dtw, and the language's English name.
const whisperCppVerbose = `{"task":"transcribe","language":"english","duration":3.0,
"text":" I'd like a refund, please.\n",
"segments":[{"id":0,"text":" I'd like a refund, please.","start":0.0,"end":3.0,
"tokens":[286,1116,411,257,28813,11,1767,13],
"words":[
 {"word":" I","start":0.1,"end":0.2,"t_dtw":-1,"probability":0.9},
 {"word":"'d","start":0.2,"end":0.3,"t_dtw":-1,"probability":0.7},
 {"word":" like","start":0.3,"end":0.6,"t_dtw":-1,"probability":0.95},
 {"word":" a","start":0.6,"end":0.7,"t_dtw":-1,"probability":0.99},
 {"word":" ref","start":0.7,"end":1.0,"t_dtw":-1,"probability":0.8},
 {"word":"und","start":1.0,"end":1.3,"t_dtw":-1,"probability":0.6},
 {"word":",","start":1.3,"end":1.3,"t_dtw":-1,"probability":0.4},
 {"word":" please","start":1.5,"end":2.0,"t_dtw":-1,"probability":0.97},
 {"word":".","start":2.0,"end":2.0,"t_dtw":-1,"probability":0.99},
 {"word":"[_TT_150]","start":3.0,"end":3.0,"t_dtw":-1,"probability":0.5}
],
"temperature":0.0,"avg_logprob":-0.3,"no_speech_prob":0.01}]}`

func TestParseWhisperCppTokens(t *testing.T) {
	words, lang, err := parseVerbose([]byte(whisperCppVerbose), 1, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if lang != "en-US" {
		t.Errorf("language %q", lang)
	}
	ms := time.Millisecond
	want := []struct {
		text       string
		start, end time.Duration
		conf       float64
	}{
		{"I'd", 100 * ms, 300 * ms, 0.8},
		{"like", 300 * ms, 600 * ms, 0.95},
		{"a", 600 * ms, 700 * ms, 0.99},
		{"refund,", 700 * ms, 1300 * ms, 0.6},
		{"please.", 1500 * ms, 2000 * ms, 0.98},
	}
	if len(words) != len(want) {
		t.Fatalf("words %+v", words)
	}
	for i, w := range want {
		g := words[i]
		if g.Channel != 1 || g.Text != w.text || g.Start != w.start || g.End != w.end || math.Abs(g.Confidence-w.conf) > 1e-9 {
			t.Errorf("word %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestParseFasterWhisper(t *testing.T) {
	// faster-whisper servers: top-level words with leading spaces and a
	// probability each, ISO 639-1 language.
	const body = `{"task":"transcribe","language":"en","duration":1.5,"text":" Hello, world.",
"words":[{"start":0.0,"end":0.5,"word":" Hello,","probability":0.91},{"start":0.6,"end":1.1,"word":" world.","probability":0.87}],
"segments":[{"id":1,"seek":0,"start":0.0,"end":1.1,"text":" Hello, world.","tokens":[50365,2425,11,1002,13],"temperature":0.0,"avg_logprob":-0.2,"compression_ratio":0.7,"no_speech_prob":0.003,
"words":[{"start":0.0,"end":0.5,"word":" Hello,","probability":0.91},{"start":0.6,"end":1.1,"word":" world.","probability":0.87}]}]}`
	words, lang, err := parseVerbose([]byte(body), 0, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if lang != "en" {
		t.Errorf("language %q, want en passed through", lang)
	}
	if len(words) != 2 || words[0].Text != "Hello," || words[1].Text != "world." || words[1].Confidence != 0.87 || words[1].Start != 600*time.Millisecond {
		t.Errorf("words %+v", words)
	}
}

func TestParseDropsSilentSegments(t *testing.T) {
	// The second segment is what Whisper invents for silence: high
	// no_speech_prob and low avg_logprob.
	const body = `{"language":"english","text":" Yes. Thank you.",
"words":[{"word":"Yes","start":0.2,"end":0.5},{"word":"Thank","start":5.0,"end":5.2},{"word":"you","start":5.2,"end":5.4}],
"segments":[
 {"id":0,"start":0.0,"end":1.0,"text":" Yes.","avg_logprob":-0.2,"no_speech_prob":0.1},
 {"id":1,"start":4.8,"end":6.0,"text":" Thank you.","avg_logprob":-1.4,"no_speech_prob":0.9}]}`
	words, _, err := parseVerbose([]byte(body), 0, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(words) != 1 || words[0].Text != "Yes" {
		t.Errorf("words %+v, want only Yes", words)
	}

	// The same with segments only.
	const segs = `{"segments":[
 {"id":0,"start":0.0,"end":1.0,"text":" Yes.","avg_logprob":-0.2,"no_speech_prob":0.1},
 {"id":1,"start":4.8,"end":6.0,"text":" Thank you.","avg_logprob":-1.4,"no_speech_prob":0.9}]}`
	words, _, err = parseVerbose([]byte(segs), 0, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(words) != 1 || words[0].Text != "Yes." {
		t.Errorf("words %+v, want only Yes.", words)
	}
}

func TestParseEdgeCases(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name, body string
		nWords     int
		err        string
	}{
		{"silence", `{"task":"transcribe","language":"english","duration":5.0,"text":"","segments":[]}`, 0, ""},
		{"no language", `{"text":"","words":[]}`, 0, ""},
		{"plain json format", `{"text":"Hello there."}`, 0, "verbose_json"},
		{"not json", `Hello there.`, 0, "not verbose_json"},
		{"openai error object", `{"error":{"message":"Invalid file format.","type":"invalid_request_error","param":null,"code":null}}`, 0, "Invalid file format."},
		{"times beyond audio", `{"words":[{"word":"late","start":99,"end":100}]}`, 1, ""},
		{"end before start", `{"words":[{"word":"odd","start":0.5,"end":0.1}]}`, 1, ""},
		{"negative", `{"words":[{"word":"neg","start":-3,"end":-1,"probability":7}]}`, 1, ""},
		{"blank words", `{"words":[{"word":"  ","start":0,"end":1},{"word":"","start":0,"end":1}]}`, 0, ""},
	} {
		words, _, err := parseVerbose([]byte(tc.body), 0, 2*time.Second)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(words) != tc.nWords {
			t.Errorf("%s: %d words", tc.name, len(words))
		}
		for _, w := range words {
			if w.Start < 0 || w.End < w.Start || w.End > 2000*ms || w.Confidence < 0 || w.Confidence > 1 {
				t.Errorf("%s: word out of bounds: %+v", tc.name, w)
			}
		}
	}
	_, _, err := parseVerbose([]byte(`{"error":"busy"}`), 0, time.Second)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Message != "busy" {
		t.Errorf("whisper.cpp error: %v", err)
	}
}

func TestNormalizeLanguage(t *testing.T) {
	for in, want := range map[string]string{
		"english":          "en-US",
		"English":          "en-US",
		"spanish":          "es-ES",
		"en":               "en",
		"EN-us":            "en-US",
		"pt_br":            "pt-BR",
		"zh-hans-cn":       "zh-Hans-CN",
		"es-419":           "es-419",
		"":                 "",
		"klingon":          "",
		"e":                "",
		"en-":              "",
		"en-toolongsubtag": "",
		"é":                "",
	} {
		if got := normalizeLanguage(in); got != want {
			t.Errorf("normalizeLanguage(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"en-US": "en", "english": "en", "fr": "fr", "": "", "??": ""} {
		if got := isoLanguage(in); got != want {
			t.Errorf("isoLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"error":{"message":"m1","type":"t","code":"c"}}`: "m1",
		`{"error":"m2"}`:  "m2",
		`{"detail":"m3"}`: "m3",
		`{"detail":[{"loc":["body","file"],"msg":"field required","type":"value_error.missing"}]}`: "field required",
		`{"message":"m5"}`:           "m5",
		"<html>Bad   Gateway</html>": "<html>Bad Gateway</html>",
		strings.Repeat("x", 1000):    strings.Repeat("x", 300) + "…",
	} {
		if got := newAPIError(500, []byte(body)).Message; got != want {
			t.Errorf("message of %.40q = %q, want %q", body, got, want)
		}
	}
}

// FuzzParseVerbose checks that no answer, however malformed, makes the
// parser panic or produce words outside the channel, in the wrong order or
// with confidences outside 0..1.
func FuzzParseVerbose(f *testing.F) {
	f.Add([]byte(ownerVerbose))
	f.Add([]byte(customerVerbose))
	f.Add([]byte(whisperCppVerbose))
	f.Add([]byte(`{"segments":[{"start":1e308,"end":-1e308,"text":"a b c","avg_logprob":1e9,"no_speech_prob":1}]}`))
	f.Add([]byte(`{"words":[{"word":"x","start":1,"end":2,"probability":-5}],"segments":[{"start":0,"end":3,"avg_logprob":-1e9}]}`))
	f.Add([]byte(`{"error":{"message":null,"code":42}}`))
	f.Add([]byte(`{"language":"EN-gb","segments":[{"words":[{"word":"ab"},{"word":" c"}]}]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		const dur = 10 * time.Second
		words, lang, err := parseVerbose(data, 1, dur)
		if err != nil {
			if words != nil || lang != "" {
				t.Errorf("results with an error")
			}
			return
		}
		for i, w := range words {
			if w.Channel != 1 || w.Text == "" || w.Start < 0 || w.End < w.Start || w.End > dur ||
				math.IsNaN(w.Confidence) || w.Confidence < 0 || w.Confidence > 1 {
				t.Fatalf("bad word %+v", w)
			}
			if i > 0 && w.Start < words[i-1].Start {
				t.Fatalf("words out of order at %d", i)
			}
		}
		if lang != "" && normalizeLanguage(lang) != lang {
			t.Fatalf("language %q is not normalized", lang)
		}
	})
}
