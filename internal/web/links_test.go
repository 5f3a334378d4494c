package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/signed"
)

// mustSigner is a Signer whose secret is 32 bytes of b.
func mustSigner(t *testing.T, b byte) *signed.Signer {
	t.Helper()
	s, err := signed.New(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLinkServesObject(t *testing.T) {
	f := newFixture(t, "")
	c := f.seedCall("c1", "+12125550123", f.clock.Now().Add(-time.Hour))
	f.put(calls.OutputKey("c1", "report.pdf"), []byte("%PDF-1.7 test"))
	wav := stereoWAV(2 * time.Second)

	cases := []struct {
		key, ctype, disposition string
	}{
		{c.RecordingKey, "audio/wav", `inline; filename="call-c1-recording.wav"`},
		{calls.OutputKey("c1", "report.html"), "text/html; charset=utf-8", `inline; filename="call-c1-report.html"`},
		{calls.OutputKey("c1", "report.docx"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", `attachment; filename="call-c1-report.docx"`},
		{calls.OutputKey("c1", "report.pdf"), "application/pdf", `attachment; filename="call-c1-report.pdf"`},
		{calls.OutputKey("c1", "transcript.json"), "application/json", `attachment; filename="call-c1-transcript.json"`},
	}
	for _, tc := range cases {
		resp, body := f.do(f.client(), "GET", f.link(tc.key, time.Hour), nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d: %s", tc.key, resp.StatusCode, body)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s: Content-Type %q, want %q", tc.key, got, tc.ctype)
		}
		if got := resp.Header.Get("Content-Disposition"); got != tc.disposition {
			t.Errorf("%s: Content-Disposition %q, want %q", tc.key, got, tc.disposition)
		}
		if resp.Header.Get("Accept-Ranges") != "bytes" {
			t.Errorf("%s: Accept-Ranges %q", tc.key, resp.Header.Get("Accept-Ranges"))
		}
	}

	// The whole recording, then a range of it.
	link := f.link(c.RecordingKey, time.Hour)
	resp, body := f.do(f.client(), "GET", link, nil)
	if resp.StatusCode != http.StatusOK || body != string(wav) {
		t.Fatalf("recording: status %d, %d bytes, want %d", resp.StatusCode, len(body), len(wav))
	}
	resp, body = f.do(f.client(), "GET", link, nil, "Range", "bytes=100-199")
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("range: status %d", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Content-Range"), "bytes 100-199/"+strconv.Itoa(len(wav)); got != want {
		t.Errorf("Content-Range %q, want %q", got, want)
	}
	if body != string(wav[100:200]) {
		t.Errorf("range body differs")
	}
	resp, _ = f.do(f.client(), "HEAD", link, nil)
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(wav)) {
		t.Errorf("HEAD: %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	resp, _ = f.do(f.client(), "POST", link, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
}

// notLocal hides a blob store's LocalPath, as a remote store would.
type notLocal struct{ blob.Store }

func TestLinkRemoteStoreRange(t *testing.T) {
	f := newFixture(t, "")
	c := f.seedCall("c1", "+1", f.clock.Now())
	f.srv.blob = notLocal{f.blob}
	wav := stereoWAV(time.Second)
	resp, body := f.do(f.client(), "GET", f.link(c.RecordingKey, time.Hour), nil, "Range", "bytes=-10")
	if resp.StatusCode != http.StatusPartialContent || body != string(wav[len(wav)-10:]) {
		t.Fatalf("status %d, %d bytes", resp.StatusCode, len(body))
	}
}

func TestLinkRefused(t *testing.T) {
	f := newFixture(t, "")
	c := f.seedCall("c1", "+12125550123", f.clock.Now().Add(-time.Hour))
	good := f.link(c.RecordingKey, time.Hour)
	token := strings.TrimPrefix(good, "/l/")

	// Change one character of the token (not the last, whose low bits
	// base64 may ignore).
	alt := []byte(token)
	if alt[10] == 'A' {
		alt[10] = 'B'
	} else {
		alt[10] = 'A'
	}
	otherSigner := "/l/" + mustSigner(t, 9).Token(c.RecordingKey, f.clock.Now().Add(time.Hour))

	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"altered", "/l/" + string(alt), http.StatusNotFound},
		{"truncated", good[:len(good)-3], http.StatusNotFound},
		{"other secret", otherSigner, http.StatusNotFound},
		{"garbage", "/l/hello", http.StatusNotFound},
		{"empty", "/l/", http.StatusNotFound},
		{"expired", f.link(c.RecordingKey, -time.Second), http.StatusGone},
		{"expired now", f.link(c.RecordingKey, 0), http.StatusGone},
		{"dot dot", "/l/../callrec.db", http.StatusNotFound},
		{"dot dot deeper", "/l/" + token + "/../../../etc/passwd", http.StatusNotFound},
		{"encoded dots", "/l/%2e%2e/%2e%2e/etc/passwd", http.StatusNotFound},
		{"encoded slash", "/l/..%2f..%2fetc%2fpasswd", http.StatusNotFound},
		{"encoded backslash", "/l/..%5c..%5cetc%5cpasswd", http.StatusNotFound},
		{"token then slash", "/l/" + token + "/", http.StatusNotFound},
		{"token with encoded slash", "/l/" + token + "%2f..", http.StatusNotFound},
		{"double slash", "/l//" + token, http.StatusNotFound},
		{"nul", "/l/" + token + "%00", http.StatusNotFound},
	} {
		resp, body := f.do(f.client(), "GET", tc.path, nil)
		if resp.StatusCode != tc.status {
			t.Errorf("%s (%s): status %d, want %d", tc.name, tc.path, resp.StatusCode, tc.status)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("%s: Content-Type %q, want plain text", tc.name, ct)
		}
		if strings.Contains(body, "RIFF") || resp.Header.Get("Content-Disposition") != "" {
			t.Errorf("%s: served the object", tc.name)
		}
	}

	// The same through the handler directly, with paths an HTTP client
	// would clean up before sending.
	for _, p := range []string{"/l/../../etc/passwd", "/l/./" + token, "/l/" + token + "/.."} {
		req := httptest.NewRequest("GET", "http://x"+"/l/x", nil)
		req.URL.Path = p
		req.URL.RawPath = ""
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Errorf("direct %s: status %d, want 404", p, rec.Code)
		}
	}

	// A valid link to an object that is gone.
	if err := f.blob.Delete(t.Context(), c.RecordingKey); err != nil {
		t.Fatal(err)
	}
	resp, _ := f.do(f.client(), "GET", good, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted object: %d, want 404", resp.StatusCode)
	}
}

func TestDownloadName(t *testing.T) {
	for key, want := range map[string]string{
		"calls/abc/report.docx":                "call-abc-report.docx",
		"recordings/2026/03/14/abc.wav":        "call-abc-recording.wav",
		"calls/a\"b/report.pdf":                "call-a_b-report.pdf",
		"other/thing.bin":                      "thing.bin",
		"calls/abc/sub/x.json":                 "x.json",
		"recordings/2026/03/14/ü mlaut;x=.wav": "call-___mlaut_x_-recording.wav",
	} {
		if got := downloadName(key); got != want {
			t.Errorf("downloadName(%q) = %q, want %q", key, got, want)
		}
	}
}
