package sphinx

import (
	"strings"
	"testing"
	"unicode"
)

func TestCleanWord(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"hello", "hello", true},
		{"read(2)", "read", true},
		{"the(12)", "the", true},
		{"don't", "don't", true},
		{"a(b)", "a(b)", true},
		{"(2)", "(2)", true},
		{"<s>", "", false},
		{"</s>", "", false},
		{"<sil>", "", false},
		{"[NOISE]", "", false},
		{"[SPEECH]", "", false},
		{"++BREATH++", "", false},
		{"+SMACK+", "", false},
		{"", "", false},
		{"  ", "", false},
	}
	for _, tt := range tests {
		got, ok := cleanWord(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("cleanWord(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWER(t *testing.T) {
	tests := []struct {
		ref, hyp string
		want     float64
	}{
		{"Hello, world!", "hello world", 0},
		{"the cat sat", "the cat sat on", 1.0 / 3},
		{"the cat sat", "the sat", 1.0 / 3},
		{"the cat sat", "a dog sat", 2.0 / 3},
		{"Don't stop.", "don't stop", 0},
		{"one two", "", 1},
		{"", "", 0},
		{"", "noise", 1},
	}
	for _, tt := range tests {
		if got, _, _ := wer(tt.ref, tt.hyp); got != tt.want {
			t.Errorf("wer(%q, %q) = %v, want %v", tt.ref, tt.hyp, got, tt.want)
		}
	}
}

// normWords lowercases text and splits it into words without punctuation
// (apostrophes inside words are kept: "don't").
func normWords(text string) []string {
	var words []string
	for _, f := range strings.Fields(strings.ToLower(text)) {
		w := strings.TrimFunc(strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' {
				return r
			}
			return -1
		}, f), func(r rune) bool { return r == '\'' })
		if w != "" {
			words = append(words, w)
		}
	}
	return words
}

// editDistance is the Levenshtein distance between two word sequences.
func editDistance(ref, hyp []string) int {
	prev := make([]int, len(hyp)+1)
	cur := make([]int, len(hyp)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ref); i++ {
		cur[0] = i
		for j := 1; j <= len(hyp); j++ {
			sub := prev[j-1]
			if ref[i-1] != hyp[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(hyp)]
}

// wer is the word error rate of hyp against ref: edits / reference words.
func wer(ref, hyp string) (rate float64, edits, n int) {
	r, h := normWords(ref), normWords(hyp)
	edits = editDistance(r, h)
	if len(r) == 0 {
		if len(h) == 0 {
			return 0, 0, 0
		}
		return 1, edits, 0
	}
	return float64(edits) / float64(len(r)), edits, len(r)
}
