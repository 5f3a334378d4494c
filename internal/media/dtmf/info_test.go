package dtmf

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseInfoRealWorldBodies(t *testing.T) {
	for _, c := range []struct {
		name, contentType, body string
		digit                   byte
		duration                time.Duration
	}{
		{"Cisco", "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', 160 * time.Millisecond},
		{"Asterisk", "application/dtmf-relay", "Signal=#\r\nDuration=250\r\n", '#', 250 * time.Millisecond},
		{"FreeSWITCH", "application/dtmf-relay", "Signal=1\nDuration=2000\n", '1', 2 * time.Second},
		{"Polycom, spaces after =", "application/dtmf-relay", "Signal= 9\r\nDuration= 160\r\n", '9', 160 * time.Millisecond},
		{"spaces around =, Duration first", "Application/DTMF-Relay", "Duration = 100\r\nSignal = *\r\n", '*', 100 * time.Millisecond},
		{"gateway event code for *", "application/dtmf-relay", "Signal=10\r\nDuration=120\r\n", '*', 120 * time.Millisecond},
		{"gateway event code for #", "application/dtmf-relay;charset=UTF-8", "Signal=11\r\nDuration=120\r\n", '#', 120 * time.Millisecond},
		{"letter digit, lower case", "application/dtmf-relay", "signal=d\r\n", 'D', 0},
		{"no Duration, no final newline", "application/dtmf-relay", "Signal=0", '0', 0},
		{"unknown keys ignored", "application/dtmf-relay", "Signal=3\r\nDuration=80\r\nVolume=10\r\n", '3', 80 * time.Millisecond},
		{"blank lines", "application/dtmf-relay", "\r\nSignal=4\r\n\r\n", '4', 0},
		{"application/dtmf", "application/dtmf", "5", '5', 0},
		{"application/dtmf with white space", " application/dtmf ; charset=us-ascii", "#\r\n", '#', 0},
	} {
		digit, duration, err := ParseInfo(c.contentType, []byte(c.body))
		if err != nil || digit != c.digit || duration != c.duration {
			t.Errorf("%s: ParseInfo = %q, %v, %v; want %q, %v", c.name, digit, duration, err, c.digit, c.duration)
		}
	}
}

func TestParseInfoOtherContentTypes(t *testing.T) {
	for _, ct := range []string{"", "application/sdp", "application/dtmf-relayx", "text/plain", "application/media_control+xml", "application/broadsoft"} {
		_, _, err := ParseInfo(ct, []byte("Signal=5\r\n"))
		if !errors.Is(err, ErrNotDTMF) {
			t.Errorf("content type %q: err %v, want ErrNotDTMF", ct, err)
		}
	}
}

func TestParseInfoBadBodies(t *testing.T) {
	for _, c := range []struct {
		name, contentType, body, errorSays string
	}{
		{"no Signal", ContentTypeDTMFRelay, "Duration=160\r\n", "no Signal"},
		{"empty", ContentTypeDTMFRelay, "", "no Signal"},
		{"two Signals", ContentTypeDTMFRelay, "Signal=1\r\nSignal=2\r\n", "more than one Signal"},
		{"two Durations", ContentTypeDTMFRelay, "Signal=1\r\nDuration=1\r\nDuration=2\r\n", "more than one Duration"},
		{"bad digit", ContentTypeDTMFRelay, "Signal=E\r\n", "not a DTMF digit"},
		{"flash is no digit", ContentTypeDTMFRelay, "Signal=16\r\n", "not a DTMF digit"},
		{"empty signal", ContentTypeDTMFRelay, "Signal=\r\n", "not a DTMF digit"},
		{"huge Duration", ContentTypeDTMFRelay, "Signal=1\r\nDuration=99999999999999999999\r\n", "duration"},
		{"Duration past a minute", ContentTypeDTMFRelay, "Signal=1\r\nDuration=60001\r\n", "duration"},
		{"negative Duration", ContentTypeDTMFRelay, "Signal=1\r\nDuration=-5\r\n", "duration"},
		{"no =", ContentTypeDTMFRelay, "Signal 1\r\n", "no '='"},
		{"too long", ContentTypeDTMFRelay, "Signal=1\r\n" + strings.Repeat(" ", 2000), "longer than"},
		{"dtmf: two digits", ContentTypeDTMF, "12", "not a DTMF digit"},
		{"dtmf: empty", ContentTypeDTMF, " \r\n", "not a DTMF digit"},
	} {
		digit, _, err := ParseInfo(c.contentType, []byte(c.body))
		if err == nil || errors.Is(err, ErrNotDTMF) || !strings.Contains(err.Error(), c.errorSays) {
			t.Errorf("%s: ParseInfo = %q, %v; want an error saying %q", c.name, digit, err, c.errorSays)
		}
	}
}

func TestInfoBody(t *testing.T) {
	ct, body, err := InfoBody('5', 160*time.Millisecond)
	if err != nil || ct != "application/dtmf-relay" || string(body) != "Signal=5\r\nDuration=160\r\n" {
		t.Fatalf("InfoBody = %q, %q, %v", ct, body, err)
	}
	_, body, err = InfoBody('b', 1499*time.Microsecond)
	if err != nil || string(body) != "Signal=B\r\nDuration=1\r\n" {
		t.Fatalf("InfoBody(b, 1.499 ms) = %q, %v", body, err)
	}
	for _, digit := range []byte(keys) {
		ct, body, err := InfoBody(digit, 250*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		got, duration, err := ParseInfo(ct, body)
		if err != nil || got != digit || duration != 250*time.Millisecond {
			t.Errorf("round trip of %c: %q, %v, %v", digit, got, duration, err)
		}
	}
	for _, bad := range []struct {
		digit    byte
		duration time.Duration
	}{{'E', time.Second}, {0, time.Second}, {'1', -time.Millisecond}, {'1', 2 * time.Minute}} {
		if _, _, err := InfoBody(bad.digit, bad.duration); err == nil {
			t.Errorf("InfoBody(%q, %v) accepted", bad.digit, bad.duration)
		}
	}
}

func FuzzParseInfo(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"},
		{"application/dtmf-relay", "Signal= 11\nDuration= 100\n"},
		{"Application/DTMF-Relay; charset=utf-8", "Duration=1\r\nSignal=a\r\n"},
		{"application/dtmf", "5\r\n"},
		{"application/dtmf-relay", "Signal=1\r\nSignal=2"},
		{"application/sdp", "v=0\r\n"},
	} {
		f.Add(seed.ct, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		digit, duration, err := ParseInfo(contentType, body)
		if err != nil {
			return
		}
		if indexOfKey(digit) < 0 || duration < 0 || duration > MaxInfoDuration {
			t.Fatalf("parsed %q, %v from %q", digit, duration, body)
		}
		ct, again, err := InfoBody(digit, duration)
		if err != nil {
			t.Fatalf("InfoBody(%q, %v): %v", digit, duration, err)
		}
		digit2, duration2, err := ParseInfo(ct, again)
		if err != nil || digit2 != digit || duration2 != duration {
			t.Fatalf("re-encoded %q parses to %q, %v, %v; want %q, %v", again, digit2, duration2, err, digit, duration)
		}
	})
}
