package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/callrec/callrec/internal/transcribe"
)

// verbose is the verbose_json answer, as OpenAI documents it, with the
// fields whisper.cpp's server and faster-whisper servers add.
type verbose struct {
	Task     string          `json:"task"`
	Language string          `json:"language"`
	Duration float64         `json:"duration"`
	Text     string          `json:"text"`
	Words    []verboseWord   `json:"words"`
	Segments []segment       `json:"segments"`
	Error    json.RawMessage `json:"error"`
}

// verboseWord is one entry of words[] (top level or within a segment).
type verboseWord struct {
	Word  string  `json:"word"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	// Probability is sent by whisper.cpp and faster-whisper, not by OpenAI.
	Probability *float64 `json:"probability"`
}

// segment is one entry of segments[].
type segment struct {
	Start        float64       `json:"start"`
	End          float64       `json:"end"`
	Text         string        `json:"text"`
	AvgLogprob   *float64      `json:"avg_logprob"`
	NoSpeechProb float64       `json:"no_speech_prob"`
	Words        []verboseWord `json:"words"`
}

// Whisper's own thresholds for a segment that is really silence: it skips a
// segment whose no_speech_prob is above 0.6 when its avg_logprob is also
// below -1.
const (
	noSpeechThreshold = 0.6
	logprobThreshold  = -1.0
)

// maxSeconds bounds times read from the server (a day), so that absurd
// values cannot overflow a time.Duration.
const maxSeconds = 24 * 60 * 60

// parseVerbose turns a verbose_json answer for one channel into words in
// time order, and the language the server reports as a BCP 47 tag.
// channelDur is the channel's length, the bound for every time.
func parseVerbose(data []byte, channel int, channelDur time.Duration) ([]transcribe.Word, string, error) {
	var v verbose
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, "", fmt.Errorf("response is not verbose_json: %w: %q", err, clip(string(data)))
	}
	if len(v.Error) > 0 && string(v.Error) != "null" {
		msg, typ, code := errorMessage(data)
		if msg == "" {
			msg = clip(string(v.Error))
		}
		return nil, "", &APIError{StatusCode: http.StatusOK, Message: msg, Type: typ, Code: code}
	}

	limit := channelDur
	if limit <= 0 {
		limit = seconds(v.Duration)
	}
	if limit <= 0 {
		limit = maxSeconds * time.Second
	}

	// Segments Whisper would have judged silent: their words are
	// hallucinations.
	var keep []segment
	var dropped []segment
	for _, s := range v.Segments {
		if s.NoSpeechProb > noSpeechThreshold && s.AvgLogprob != nil && *s.AvgLogprob < logprobThreshold {
			dropped = append(dropped, s)
			continue
		}
		keep = append(keep, s)
	}

	var words []transcribe.Word
	switch {
	case len(v.Words) > 0:
		// OpenAI, faster-whisper: words[] are words.
		for _, w := range v.Words {
			text := strings.TrimSpace(w.Word)
			if text == "" || special(text) {
				continue
			}
			start, end := span(w.Start, w.End, limit)
			mid := (start + end) / 2
			if within(dropped, mid) {
				continue
			}
			conf, ok := probability(w.Probability)
			if !ok {
				conf = segmentConfidence(keep, mid)
			}
			words = append(words, transcribe.Word{Channel: channel, Start: start, End: end, Text: text, Confidence: conf})
		}
	case hasSegmentWords(keep):
		// whisper.cpp: each segment's words[] are Whisper tokens.
		for _, s := range keep {
			words = append(words, joinTokens(s, channel, limit)...)
		}
	case len(keep) > 0:
		for _, s := range keep {
			words = append(words, spread(s, channel, limit)...)
		}
	case len(dropped) == 0 && strings.TrimSpace(v.Text) != "":
		return nil, "", errors.New("response has text but neither words[] nor segments[]: the server ignored response_format=verbose_json, so there are no word times")
	}

	sort.SliceStable(words, func(i, j int) bool { return words[i].Start < words[j].Start })
	return words, normalizeLanguage(v.Language), nil
}

// hasSegmentWords reports whether any segment carries its own words[].
func hasSegmentWords(segs []segment) bool {
	for _, s := range segs {
		if len(s.Words) > 0 {
			return true
		}
	}
	return false
}

// joinTokens turns a segment's words[] into words. whisper.cpp lists
// Whisper tokens there: a token that starts with a space begins a word, the
// others continue it (" Ameri", "ca", ","). When no entry starts with a
// space, the entries are taken as whole words.
func joinTokens(s segment, channel int, limit time.Duration) []transcribe.Word {
	tokens := false
	for _, w := range s.Words {
		if w.Word != "" && unicode.IsSpace(rune(w.Word[0])) {
			tokens = true
			break
		}
	}
	fallback := logprobConfidence(s.AvgLogprob)
	var out []transcribe.Word
	var sum float64
	var n int
	flush := func() {
		if n > 0 && len(out) > 0 {
			out[len(out)-1].Confidence = sum / float64(n)
		}
		sum, n = 0, 0
	}
	for _, w := range s.Words {
		text := strings.TrimSpace(w.Word)
		if text == "" || special(text) {
			continue
		}
		start, end := span(w.Start, w.End, limit)
		conf, ok := probability(w.Probability)
		if !ok {
			conf = fallback
		}
		startsWord := !tokens || unicode.IsSpace(rune(w.Word[0]))
		if !startsWord && len(out) > 0 {
			last := &out[len(out)-1]
			last.Text += text
			last.End = max(last.End, end)
			sum += conf
			n++
			continue
		}
		flush()
		out = append(out, transcribe.Word{Channel: channel, Start: start, End: end, Text: text})
		sum, n = conf, 1
	}
	flush()
	return out
}

// spread gives each word of a segment's text an equal share of the
// segment's time.
func spread(s segment, channel int, limit time.Duration) []transcribe.Word {
	fields := strings.Fields(s.Text)
	var texts []string
	for _, f := range fields {
		if !special(f) {
			texts = append(texts, f)
		}
	}
	if len(texts) == 0 {
		return nil
	}
	start, end := span(s.Start, s.End, limit)
	conf := logprobConfidence(s.AvgLogprob)
	d := end - start
	n := time.Duration(len(texts))
	out := make([]transcribe.Word, len(texts))
	for i, t := range texts {
		out[i] = transcribe.Word{
			Channel:    channel,
			Start:      start + d*time.Duration(i)/n,
			End:        start + d*time.Duration(i+1)/n,
			Text:       t,
			Confidence: conf,
		}
	}
	return out
}

// special reports whether text is a Whisper special token such as
// "[_BEG_]" or "[_TT_150]", which some servers leak into their output.
func special(text string) bool {
	return strings.HasPrefix(text, "[_") && strings.HasSuffix(text, "]")
}

// within reports whether t falls in one of segs.
func within(segs []segment, t time.Duration) bool {
	for _, s := range segs {
		start, end := span(s.Start, s.End, maxSeconds*time.Second)
		if t >= start && t <= end {
			return true
		}
	}
	return false
}

// segmentConfidence is the confidence of the segment that holds t, or 1
// when the server gave no confidence at all.
func segmentConfidence(segs []segment, t time.Duration) float64 {
	for _, s := range segs {
		start, end := span(s.Start, s.End, maxSeconds*time.Second)
		if t >= start && t <= end {
			return logprobConfidence(s.AvgLogprob)
		}
	}
	return 1
}

// logprobConfidence turns a segment's average token log probability into a
// 0..1 confidence: exp(avg_logprob), or 1 when absent.
func logprobConfidence(lp *float64) float64 {
	if lp == nil || math.IsNaN(*lp) {
		return 1
	}
	return clamp01(math.Exp(min(*lp, 0)))
}

// probability reads a word's probability, if usable.
func probability(p *float64) (float64, bool) {
	if p == nil || math.IsNaN(*p) {
		return 0, false
	}
	return clamp01(*p), true
}

func clamp01(f float64) float64 {
	switch {
	case math.IsNaN(f), f < 0:
		return 0
	case f > 1:
		return 1
	}
	return f
}

// span turns start and end seconds into times within [0, limit], with
// end ≥ start.
func span(start, end float64, limit time.Duration) (time.Duration, time.Duration) {
	s := min(seconds(start), limit)
	e := min(seconds(end), limit)
	if e < s {
		e = s
	}
	return s, e
}

// seconds converts seconds to a duration rounded to the millisecond,
// clamping nonsense (negative, NaN, beyond a day).
func seconds(f float64) time.Duration {
	if math.IsNaN(f) || f <= 0 {
		return 0
	}
	f = min(f, maxSeconds)
	return time.Duration(math.Round(f*1000)) * time.Millisecond
}

// normalizeLanguage turns a server's language into a BCP 47 tag: Whisper's
// English names of the common languages ("english", as whisper.cpp and
// OpenAI report them) become a tag with the usual region ("en-US"), tags
// ("en", "pt-BR") pass through with canonical case. Anything else gives "".
func normalizeLanguage(lang string) string {
	lang = strings.TrimSpace(lang)
	if lang == "" {
		return ""
	}
	if tag := languageByName(strings.ToLower(lang)); tag != "" {
		return tag
	}
	parts := strings.Split(strings.ReplaceAll(lang, "_", "-"), "-")
	if n := len(parts[0]); n < 2 || n > 3 || !letters(parts[0]) {
		return ""
	}
	parts[0] = strings.ToLower(parts[0])
	for i := 1; i < len(parts); i++ {
		p := parts[i]
		if p == "" || len(p) > 8 {
			return ""
		}
		for _, r := range p {
			if r > unicode.MaxASCII || !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return ""
			}
		}
		switch {
		case len(p) == 2 && letters(p):
			parts[i] = strings.ToUpper(p)
		case len(p) == 4 && letters(p):
			parts[i] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
		default:
			parts[i] = strings.ToLower(p)
		}
	}
	return strings.Join(parts, "-")
}

// letters reports whether s is ASCII letters only.
func letters(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII || !unicode.IsLetter(r) {
			return false
		}
	}
	return s != ""
}

// languageByName maps Whisper's names of common languages to BCP 47 tags
// with the region Amazon Transcribe uses for them.
func languageByName(name string) string {
	switch name {
	case "english":
		return "en-US"
	case "spanish":
		return "es-ES"
	case "french":
		return "fr-FR"
	case "german":
		return "de-DE"
	case "italian":
		return "it-IT"
	case "portuguese":
		return "pt-BR"
	case "dutch":
		return "nl-NL"
	case "polish":
		return "pl-PL"
	case "russian":
		return "ru-RU"
	case "turkish":
		return "tr-TR"
	case "arabic":
		return "ar-SA"
	case "hindi":
		return "hi-IN"
	case "japanese":
		return "ja-JP"
	case "korean":
		return "ko-KR"
	case "chinese":
		return "zh-CN"
	case "swedish":
		return "sv-SE"
	case "danish":
		return "da-DK"
	}
	return ""
}

// isoLanguage is the ISO 639-1 part of a configured language ("en-US" →
// "en"), which is what the API's language field takes.
func isoLanguage(lang string) string {
	tag := normalizeLanguage(lang)
	if tag == "" {
		return ""
	}
	primary, _, _ := strings.Cut(tag, "-")
	return primary
}
