package sip

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestParseSessionExpires reads intervals and the refresher parameter,
// and refuses what is not delta-seconds.
func TestParseSessionExpires(t *testing.T) {
	tests := []struct {
		in        string
		secs      uint32
		refresher string
		ok        bool
	}{
		{"1800", 1800, "", true},
		{"90;refresher=uac", 90, "uac", true},
		{" 600 ; refresher = UAS ;foo=bar", 600, "uas", true},
		{"600;refresher=proxy", 600, "", true},
		{"4294967295", 4294967295, "", true},
		{"4294967296", 0, "", false},
		{"", 0, "", false},
		{"-5", 0, "", false},
		{"1e3", 0, "", false},
		{";refresher=uac", 0, "", false},
	}
	for _, tc := range tests {
		secs, refresher, err := parseSessionExpires(tc.in)
		if (err == nil) != tc.ok || secs != tc.secs || refresher != tc.refresher {
			t.Errorf("parseSessionExpires(%q) = %d, %q, %v; want %d, %q, ok %v", tc.in, secs, refresher, err, tc.secs, tc.refresher, tc.ok)
		}
	}
	if m, err := parseMinSE("120;x=y"); err != nil || m != 120 {
		t.Errorf("parseMinSE = %d, %v; want 120", m, err)
	}
}

// TestParseRAck reads the three fields of RAck and refuses anything else.
func TestParseRAck(t *testing.T) {
	tests := []struct {
		in         string
		rseq, cseq uint32
		method     string
		ok         bool
	}{
		{"776656 1 INVITE", 776656, 1, "INVITE", true},
		{"  1   314159  INVITE ", 1, 314159, "INVITE", true},
		{"1 2", 0, 0, "", false},
		{"1 2 INVITE x", 0, 0, "", false},
		{"a 2 INVITE", 0, 0, "", false},
		{"1 -2 INVITE", 0, 0, "", false},
		{"1 2 IN<VITE", 0, 0, "", false},
	}
	for _, tc := range tests {
		rseq, cseq, method, err := parseRAck(tc.in)
		if (err == nil) != tc.ok || rseq != tc.rseq || cseq != tc.cseq || method != tc.method {
			t.Errorf("parseRAck(%q) = %d, %d, %q, %v; want %d, %d, %q, ok %v", tc.in, rseq, cseq, method, err, tc.rseq, tc.cseq, tc.method, tc.ok)
		}
	}
}

// TestParseInfoDigit reads both INFO DTMF packages, leniently, and
// refuses bodies without a digit.
func TestParseInfoDigit(t *testing.T) {
	tests := []struct {
		ct, body string
		digit    byte
		d        time.Duration
		ok       bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', 160 * time.Millisecond, true},
		{"Application/DTMF-Relay; charset=x", "signal = #\nduration= 100", '#', 100 * time.Millisecond, true},
		{"application/dtmf-relay", "Signal=10\r\n", '*', defaultInfoDuration, true},
		{"application/dtmf-relay", "Signal=d\r\nDuration=abc\r\n", 'D', defaultInfoDuration, true},
		{"application/dtmf", "7", '7', defaultInfoDuration, true},
		{"application/dtmf", " * \r\n", '*', defaultInfoDuration, true},
		{"application/dtmf-relay", "Duration=100\r\n", 0, 0, false},
		{"application/dtmf-relay", "Signal=E\r\n", 0, 0, false},
		{"application/dtmf", "16", 0, 0, false},
		{"application/media_control+xml", "<x/>", 0, 0, false},
		{"", "Signal=1", 0, 0, false},
	}
	for _, tc := range tests {
		digit, d, err := parseInfoDigit(tc.ct, []byte(tc.body))
		if (err == nil) != tc.ok || digit != tc.digit || d != tc.d {
			t.Errorf("parseInfoDigit(%q, %q) = %q, %v, %v; want %q, %v, ok %v", tc.ct, tc.body, digit, d, err, tc.digit, tc.d, tc.ok)
		}
	}
	// What SendInfoDigit sends reads back.
	for _, c := range []byte("0123456789*#ABCD") {
		digit, d, err := parseInfoDigit(contentDTMFRelay, infoRelayBody(c, 120*time.Millisecond))
		if err != nil || digit != c || d != 120*time.Millisecond {
			t.Errorf("round trip of %q: %q, %v, %v", c, digit, d, err)
		}
	}
}

// FuzzSessionExpires: any header value is read without panicking, and
// an accepted one names a known refresher and writes back as read.
func FuzzSessionExpires(f *testing.F) {
	for _, s := range []string{"1800", "90;refresher=uac", "600;refresher=uas;x=1", "", ";", "99999999999", "12;refresher"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		secs, refresher, err := parseSessionExpires(v)
		if err != nil {
			return
		}
		if refresher != "" && refresher != "uac" && refresher != "uas" {
			t.Fatalf("refresher %q", refresher)
		}
		first, _, _ := strings.Cut(v, ";")
		if n, perr := strconv.ParseUint(strings.TrimSpace(first), 10, 32); perr != nil || uint32(n) != secs {
			t.Fatalf("%q read as %d", v, secs)
		}
		if m, err := parseMinSE(v); err != nil || m != secs {
			t.Fatalf("Min-SE of %q = %d, %v; Session-Expires %d", v, m, err, secs)
		}
	})
}

// FuzzRAck: any value is read without panicking, and an accepted one
// writes back to what it reads as.
func FuzzRAck(f *testing.F) {
	for _, s := range []string{"1 1 INVITE", "776656 314159 INVITE", "1 2", "x y z", "4294967296 1 INVITE", "\t1\t2\tINVITE"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		rseq, cseq, method, err := parseRAck(v)
		if err != nil {
			return
		}
		again := strconv.FormatUint(uint64(rseq), 10) + " " + strconv.FormatUint(uint64(cseq), 10) + " " + method
		r2, c2, m2, err := parseRAck(again)
		if err != nil || r2 != rseq || c2 != cseq || m2 != method {
			t.Fatalf("%q read as %q, which reads as %d %d %q %v", v, again, r2, c2, m2, err)
		}
	})
}

// FuzzParseInfoDigit: any body is read without panicking, and a digit
// found is one SendInfoDigit could send.
func FuzzParseInfoDigit(f *testing.F) {
	f.Add(contentDTMFRelay, []byte("Signal=5\r\nDuration=160\r\n"))
	f.Add(contentDTMF, []byte("#"))
	f.Add("application/dtmf-relay;x=\"", []byte("Signal=11"))
	f.Add("text/plain", []byte("Signal=1"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		digit, d, err := parseInfoDigit(ct, body)
		if err != nil {
			return
		}
		if !strings.ContainsRune("0123456789*#ABCD", rune(digit)) {
			t.Fatalf("digit %q", digit)
		}
		if d <= 0 || d > time.Minute {
			t.Fatalf("duration %v", d)
		}
	})
}
