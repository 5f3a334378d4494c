package report

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/callrec/callrec/internal/display"
)

// clockRange formats [a, b) as two clock times.
func clockRange(a, b time.Duration, long bool) string {
	return display.Clock(a, long) + "–" + display.Clock(b, long)
}

// percent formats a share 0…1 as a whole percentage ("55%"); a share that
// is not zero never shows as "0%".
func percent(x float64) string {
	if math.IsNaN(x) || x <= 0 {
		return "0%"
	}
	if x < 0.005 {
		return "<1%"
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}

// score formats a sentiment score with its sign ("+1.8", "−0.3", "0.0").
func score(v float64) string {
	if math.Abs(v) < 0.05 {
		return "0.0"
	}
	if v < 0 {
		return fmt.Sprintf("−%.1f", -v)
	}
	return fmt.Sprintf("+%.1f", v)
}

// sentimentOf names the tone of a score on the −5…+5 scale.
func sentimentOf(v float64) string {
	switch {
	case v >= 1:
		return "positive"
	case v <= -1:
		return "negative"
	}
	return "neutral"
}

// plural returns "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%s %s", thousands(n), many)
}

// thousands formats n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// clean makes text safe for every output (see sanitize) and trims it.
func clean(s string) string { return strings.TrimSpace(sanitize(s)) }

// sanitize makes text safe for every output: valid UTF-8, no control
// characters (line breaks and tabs become spaces) and no characters that
// XML forbids.
func sanitize(s string) string {
	bad := func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\uFFFE' || r == '\uFFFF' || unicode.Is(unicode.Cs, r)
	}
	if utf8.ValidString(s) && strings.IndexFunc(s, bad) < 0 {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case bad(r):
			return -1
		}
		return r
	}, s)
}

// dateTime formats a moment in loc for the summary:
// "Tuesday 4 March 2025, 14:03:05 CET (UTC+01:00)".
func dateTime(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	name, _ := t.Zone()
	off := t.Format("-07:00")
	if off == "+00:00" || off == "-00:00" {
		off = ""
	}
	s := t.Format("Monday 2 January 2006, 15:04:05")
	switch {
	case name == "UTC" || name == "GMT" && off == "":
		return s + " UTC"
	case name == "" || name[0] == '+' || name[0] == '-':
		return s + " UTC" + off
	case off == "":
		return s + " " + name + " (UTC)"
	}
	return s + " " + name + " (UTC" + off + ")"
}

// shortDateTime formats a moment in loc for the subtitle:
// "4 March 2025, 14:03 CET".
func shortDateTime(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	name, _ := t.Zone()
	if name == "" || name[0] == '+' || name[0] == '-' {
		name = "UTC" + t.Format("-07:00")
	}
	return t.Format("Mon 2 January 2006, 15:04") + " " + name
}

// shortLength formats a turn's length for a narrow column: "4.2 s",
// "38 s", "1:05".
func shortLength(d time.Duration) string {
	if d < time.Minute {
		return display.Duration(d)
	}
	return display.Clock(d, d >= time.Hour)
}

// sentimentLabel names a turn's sentiment ("" when it has none).
func sentimentLabel(s string) string {
	switch s {
	case "POSITIVE":
		return "Positive"
	case "NEGATIVE":
		return "Negative"
	case "MIXED":
		return "Mixed"
	case "NEUTRAL":
		return "Neutral"
	}
	return ""
}

// scoreText formats an optional sentiment score.
func scoreText(v *float64) string {
	if v == nil {
		return "—"
	}
	return score(*v)
}

// orDash returns s, or "—" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// joinNotes joins a transcript row's notes.
func joinNotes(notes []string) string { return strings.Join(notes, " · ") }

// rightToLeft reports whether text starts, in its first letter, with a
// right-to-left script (Arabic, Hebrew…), so that its paragraph should be
// laid out right to left.
func rightToLeft(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Arabic, unicode.Hebrew, unicode.Syriac, unicode.Thaana, unicode.Nko, unicode.Samaritan, unicode.Mandaic, unicode.Adlam) {
			return true
		}
		if unicode.IsLetter(r) {
			return false
		}
	}
	return false
}
