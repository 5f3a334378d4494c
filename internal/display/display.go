// Package display writes the values callrec shows people (in the call
// browser, emails, webhooks' summaries, reports and the CLI) one way
// everywhere: lengths of time, positions in a call, and the other party.
package display

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Duration writes a length for a reader: "0 s", "4.2 s", "38 s",
// "4 min 12 s", "10 min", "1 h 02 min".
func Duration(d time.Duration) string {
	if d <= 0 {
		return "0 s"
	}
	if d < 10*time.Second {
		return strings.Replace(fmt.Sprintf("%.1f s", d.Seconds()), ".0 s", " s", 1)
	}
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600 && s%60 == 0:
		return fmt.Sprintf("%d min", s/60)
	case s < 3600:
		return fmt.Sprintf("%d min %02d s", s/60, s%60)
	}
	m := int64(d.Round(time.Minute) / time.Minute)
	return fmt.Sprintf("%d h %02d min", m/60, m%60)
}

// Clock writes a position in a call, rounded to the second, as m:ss, or
// h:mm:ss when long (pass long for every position of a call that lasts an
// hour or more, so that they line up). Negative positions are 0:00.
func Clock(d time.Duration, long bool) string {
	s := int64(max(d, 0).Round(time.Second) / time.Second)
	if long || s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// ClockMillis is Clock for a position given in milliseconds, long only
// when it is an hour or more in.
func ClockMillis(ms int64) string {
	return Clock(time.Duration(ms)*time.Millisecond, false)
}

// unknownParty is how the other party is named when its number is not
// known.
const unknownParty = "an unknown number"

// Party names the other party of a call by its number, made safe to show
// on one line (OneLine, at most 64 characters), or "an unknown number".
func Party(number string) string {
	if p := OneLine(number, 64); p != "" {
		return p
	}
	return unknownParty
}

// OneLine makes s safe to show on one line: control characters and runs of
// white space become one space, bidirectional controls (which could make
// "+1555…1234" read "+1555…4321") are removed, leading and trailing space
// goes, and it is cut to at most limit characters (then ending in "…").
func OneLine(s string, limit int) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if unicode.Is(unicode.Bidi_Control, r) {
			continue
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == unicode.ReplacementChar {
			space = b.Len() > 0
			continue
		}
		// The space before r and r itself must both fit.
		if space && n+1 >= limit || n >= limit {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
			n++
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// Size writes a byte count: "512 bytes", "12 KiB", "3.4 MiB", "1.2 GiB".
func Size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
