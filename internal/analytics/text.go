package analytics

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is a word of a text, lower-cased, with its byte range in the text.
// A contraction becomes two tokens with the same range ("don't" → "do",
// "not"; "I'll" → "i", "will"), so that rules written in full match the
// short forms too.
type token struct {
	text       string
	start, end int
	// breakBefore is set when punctuation separates this token from the
	// previous one (a clause boundary).
	breakBefore bool
}

// tokenize splits s into word tokens. Letters and digits make words; an
// apostrophe (' or ’) between letters stays in the word; everything else
// separates words.
func tokenize(s string) []token {
	var out []token
	start := -1
	brk := false
	flush := func(end int) {
		if start < 0 {
			return
		}
		w := strings.ToLower(strings.ReplaceAll(s[start:end], "’", "'"))
		out = appendExpanded(out, w, start, end, brk)
		start, brk = -1, false
	}
	for i, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if start < 0 {
				start = i
			}
		case (r == '\'' || r == '’') && start >= 0 && nextIsLetter(s, i+utf8.RuneLen(r)):
			// inside a word
		default:
			flush(i)
			if strings.ContainsRune(".,;:!?", r) && len(out) > 0 {
				brk = true
			}
		}
	}
	flush(len(s))
	return out
}

func nextIsLetter(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r)
}

// appendExpanded appends the token(s) of the lower-case word w.
func appendExpanded(out []token, w string, start, end int, brk bool) []token {
	add := func(words ...string) []token {
		for i, x := range words {
			out = append(out, token{text: x, start: start, end: end, breakBefore: brk && i == 0})
		}
		return out
	}
	switch w {
	case "can't", "cannot":
		return add("can", "not")
	case "won't":
		return add("will", "not")
	case "shan't":
		return add("shall", "not")
	case "ain't":
		return add("is", "not")
	case "let's":
		return add("let", "us")
	case "it's", "that's", "there's", "here's", "what's", "he's", "she's", "who's", "where's", "how's":
		return add(strings.TrimSuffix(w, "'s"), "is")
	}
	if base, ok := strings.CutSuffix(w, "n't"); ok && base != "" {
		return add(base, "not")
	}
	for _, c := range [...]struct{ suffix, full string }{
		{"'ll", "will"}, {"'re", "are"}, {"'ve", "have"}, {"'m", "am"}, {"'d", "would"},
	} {
		if base, ok := strings.CutSuffix(w, c.suffix); ok && base != "" {
			return add(base, c.full)
		}
	}
	return add(w)
}

// phrase is a rule's text as tokens.
type phrase []string

func newPhrase(s string) phrase {
	t := tokenize(s)
	p := make(phrase, len(t))
	for i, x := range t {
		p[i] = x.text
	}
	return p
}

// matchAt reports whether p matches toks starting at token i.
func (p phrase) matchAt(toks []token, i int) bool {
	if len(p) == 0 || i+len(p) > len(toks) {
		return false
	}
	for k, w := range p {
		if toks[i+k].text != w {
			return false
		}
	}
	return true
}
