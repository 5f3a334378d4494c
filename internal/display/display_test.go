package display

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0 s"},
		{-time.Second, "0 s"},
		{400 * time.Millisecond, "0.4 s"},
		{4200 * time.Millisecond, "4.2 s"},
		{4 * time.Second, "4 s"},
		{38 * time.Second, "38 s"},
		{59 * time.Second, "59 s"},
		{59600 * time.Millisecond, "1 min"},
		{time.Minute, "1 min"},
		{4*time.Minute + 5*time.Second, "4 min 05 s"},
		{252 * time.Second, "4 min 12 s"},
		{10 * time.Minute, "10 min"},
		{59*time.Minute + 59*time.Second + 600*time.Millisecond, "1 h 00 min"},
		{time.Hour, "1 h 00 min"},
		{2*time.Hour + 90*time.Second, "2 h 02 min"},
		{26*time.Hour + 3*time.Minute + 4*time.Second, "26 h 03 min"},
	}
	for _, tt := range tests {
		if got := Duration(tt.d); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestClock(t *testing.T) {
	tests := []struct {
		d    time.Duration
		long bool
		want string
	}{
		{0, false, "0:00"},
		{-time.Second, false, "0:00"},
		{65 * time.Second, false, "1:05"},
		{65*time.Second + 600*time.Millisecond, false, "1:06"},
		{65 * time.Second, true, "0:01:05"},
		{3725 * time.Second, true, "1:02:05"},
		{3725 * time.Second, false, "1:02:05"},
	}
	for _, tt := range tests {
		if got := Clock(tt.d, tt.long); got != tt.want {
			t.Errorf("Clock(%v, %v) = %q, want %q", tt.d, tt.long, got, tt.want)
		}
	}
	if got := ClockMillis(125_000); got != "2:05" {
		t.Errorf("ClockMillis(125000) = %q, want 2:05", got)
	}
}

func TestParty(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+12125550123", "+12125550123"},
		{"", "an unknown number"},
		{"  \t", "an unknown number"},
		{"anonymous", "anonymous"},
		{"+1\r\nBcc: x@example.org", "+1 Bcc: x@example.org"},
		{strings.Repeat("9", 100), strings.Repeat("9", 64) + "…"},
	}
	for _, tt := range tests {
		if got := Party(tt.in); got != tt.want {
			t.Errorf("Party(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"  a  b\t\nc ", 10, "a b c"},
		{"a\x00b\x1bc", 10, "a b c"},
		{"a\u2028b", 10, "a b"},
		{"abcdef", 3, "abc…"},
		{"\xff\xfeok", 10, "ok"},
		{"+15550199\u202e1234", 20, "+155501991234"},
		{"Jane\u2066 Doe\u2069", 20, "Jane Doe"},
		{"", 10, ""},
	}
	for _, tt := range tests {
		if got := OneLine(tt.in, tt.limit); got != tt.want {
			t.Errorf("OneLine(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}

// FuzzOneLine: whatever comes in, what goes out is one line of valid
// UTF-8 without control or bidirectional characters, within the limit.
func FuzzOneLine(f *testing.F) {
	for _, s := range []string{"", "+15550199\u202e1234", "a\r\nb", "\xff\xfe", strings.Repeat("é", 100)} {
		f.Add(s, 64)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		limit = max(0, limit%200)
		out := OneLine(s, limit)
		if !utf8.ValidString(out) {
			t.Fatalf("OneLine(%q) = %q: not UTF-8", s, out)
		}
		n := 0
		for _, r := range out {
			if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\n' {
				t.Fatalf("OneLine(%q) = %q holds %U", s, out, r)
			}
			n++
		}
		if n > limit+1 {
			t.Fatalf("OneLine(%q, %d) has %d characters", s, limit, n)
		}
		if p := Party(s); p == "" {
			t.Fatalf("Party(%q) is empty", s)
		}
	})
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 512: "512 bytes", 12 << 10: "12 KiB", 3584 << 10: "3.5 MiB", 5 << 30: "5.0 GiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
