package sip

import (
	"strconv"
	"strings"
	"testing"
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
