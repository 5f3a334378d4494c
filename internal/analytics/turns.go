package analytics

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcript"
)

// checkWords rejects words that no turn can be built from.
func checkWords(words []transcribe.Word) error {
	for i, w := range words {
		if w.Channel != 0 && w.Channel != 1 {
			return fmt.Errorf("analytics: word %d (%q): channel %d: want 0 (owner) or 1 (other party)", i, w.Text, w.Channel)
		}
		if w.End < w.Start || w.Start < 0 {
			return fmt.Errorf("analytics: word %d (%q): bad time %v–%v", i, w.Text, w.Start, w.End)
		}
	}
	return nil
}

// buildTurns groups the words into turns: consecutive words of one channel
// form a turn, which ends at a pause of pause or more, or where the other
// side says a word that lies wholly inside the pause (the other side spoke
// in between). An interruption therefore does not split the interrupted
// turn unless its speaker paused around the interrupting words. The turns
// are in order of their start.
func buildTurns(words []transcribe.Word, pause time.Duration, job string) []transcript.Turn {
	var byCh [2][]transcribe.Word
	for _, w := range words {
		if strings.TrimSpace(w.Text) != "" {
			byCh[w.Channel] = append(byCh[w.Channel], w)
		}
	}
	for c := range byCh {
		slices.SortStableFunc(byCh[c], func(a, b transcribe.Word) int { return cmpDur(a.Start, b.Start) })
	}
	var turns []transcript.Turn
	for c, ws := range byCh {
		other := byCh[1-c]
		first := 0
		for i := 1; i <= len(ws); i++ {
			if i < len(ws) && !splits(ws[i-1], ws[i], other, pause) {
				continue
			}
			turns = append(turns, makeTurn(transcript.Role(c), ws[first:i]))
			first = i
		}
	}
	slices.SortStableFunc(turns, func(a, b transcript.Turn) int {
		if a.BeginOffsetMillis != b.BeginOffsetMillis {
			return int(a.BeginOffsetMillis - b.BeginOffsetMillis)
		}
		return strings.Compare(a.ParticipantRole, b.ParticipantRole)
	})
	for i := range turns {
		turns[i].ID = turnID(job, i, &turns[i])
	}
	return turns
}

func cmpDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// splits reports whether a turn ends between words a and b.
func splits(a, b transcribe.Word, other []transcribe.Word, pause time.Duration) bool {
	if b.Start-a.End >= pause {
		return true
	}
	// The first word of the other side that starts in the pause.
	k, _ := slices.BinarySearchFunc(other, a.End, func(w transcribe.Word, t time.Duration) int { return cmpDur(w.Start, t) })
	return k < len(other) && other[k].Start < b.Start && other[k].End <= b.Start
}

// makeTurn builds a turn from words of one channel. Punctuation attached to
// a word ("Hello," "there.") becomes its own punctuation item, as in
// Transcribe's output; Content is the words joined by spaces with the
// punctuation attached.
func makeTurn(role string, ws []transcribe.Word) transcript.Turn {
	t := transcript.Turn{
		ParticipantRole:   role,
		BeginOffsetMillis: millis(ws[0].Start),
		EndOffsetMillis:   millis(ws[len(ws)-1].End),
		Items:             make([]transcript.Item, 0, len(ws)),
	}
	var b strings.Builder
	for _, w := range ws {
		t.EndOffsetMillis = max(t.EndOffsetMillis, millis(w.End))
		word, punct := splitPunct(strings.TrimSpace(w.Text))
		if word != "" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(word)
			t.Items = append(t.Items, transcript.Item{
				BeginOffsetMillis: millis(w.Start),
				EndOffsetMillis:   millis(w.End),
				Content:           word,
				Confidence:        round4(min(1, max(0, w.Confidence))),
				Type:              transcript.Pronunciation,
			})
		}
		if punct != "" && b.Len() > 0 {
			b.WriteString(punct)
			t.Items = append(t.Items, transcript.Item{Content: punct, Type: transcript.Punctuation})
		}
	}
	t.Content = b.String()
	return t
}

// splitPunct separates a word from the punctuation around it: leading
// punctuation (quotes, brackets) is dropped, trailing punctuation returned.
func splitPunct(s string) (word, punct string) {
	s = strings.TrimLeftFunc(s, func(r rune) bool { return unicode.IsPunct(r) && r != '\'' })
	word = strings.TrimRightFunc(s, func(r rune) bool { return unicode.IsPunct(r) && r != '\'' && r != '%' })
	punct = strings.TrimFunc(s[len(word):], func(r rune) bool { return !strings.ContainsRune(".,;:!?", r) })
	if len(punct) > 1 {
		punct = punct[:1]
	}
	return word, punct
}

// turnID is a stable UUID-shaped identifier of a turn.
func turnID(job string, i int, t *transcript.Turn) string {
	h := fnv.New128a()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%d\x00%d", job, i, t.ParticipantRole, t.BeginOffsetMillis, t.EndOffsetMillis)
	s := h.Sum(nil)
	s[6] = s[6]&0x0f | 0x80 // version 8: custom
	s[8] = s[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

func round4(x float64) float64 { return float64(int64(x*10000+0.5)) / 10000 }
