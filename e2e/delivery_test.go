package e2e

// The whole path across the issues: a SIPp call through `callrec serve` is
// recorded, processed (the openai engine against a local stand-in for the
// remote API), rendered, and the owner is emailed through a real SMTP
// server (Mailpit on loopback); the signed link in the email opens the
// report through callrec's web server, and stops working when altered or
// expired.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCallToEmailToReport(t *testing.T) {
	t.Parallel()
	mp := startMailpit(t)
	stub := startWhisperStub(t, false)
	webPort := freePorts(t, 1, true)
	const ttl = 20 * time.Second
	cr := startCallrec(t, config{
		Processing: processingYAML(stub.url),
		Web: fmt.Sprintf("public_url: \"http://127.0.0.1:%d\"\nweb:\n  listen: \"127.0.0.1:%d\"\n  link_ttl: %q\n"+
			"notify:\n  email:\n    to: \"owner@example.org\"\n    from: \"callrec@example.org\"\n"+
			"    smtp: {host: \"127.0.0.1\", port: %d, tls: \"none\"}\n", webPort, webPort, ttl.String(), mp.smtpPort),
	})
	id := strangerCall(t, cr)
	cr.waitStages(t, id, 90*time.Second)
	sent := time.Now()
	subject, text := mp.waitMessage(t, 30*time.Second)
	if !strings.Contains(subject, "+14155550199") {
		t.Errorf("subject %q does not name the other party", subject)
	}
	for _, want := range []string{"+14155550199", "called in"} {
		if !strings.Contains(strings.ToLower(text), strings.ToLower(want)) {
			t.Errorf("email text lacks %q:\n%s", want, text)
		}
	}
	links := regexp.MustCompile(`http://127\.0\.0\.1:\d+/l/[A-Za-z0-9_-]+`).FindAllString(text, -1)
	if len(links) == 0 {
		t.Fatalf("no signed link in the email:\n%s", text)
	}
	var report string
	for _, l := range links {
		code, body := get(t, l)
		if code != http.StatusOK {
			t.Errorf("link %s: %d", l, code)
		}
		if strings.Contains(body, "great call") || strings.Contains(body, "PK") {
			report = l
		}
		if strings.Contains(body, "<html") || strings.Contains(body, "<!doctype") || strings.Contains(body, "<!DOCTYPE") {
			if !strings.Contains(body, "great") {
				t.Errorf("report at %s lacks the transcript", l)
			}
		}
	}
	if report == "" {
		t.Fatalf("no link in the email opened the report with the transcript: %v", links)
	}
	// One character changed: refused.
	altered := report[:len(report)-1] + map[bool]string{true: "A", false: "B"}[report[len(report)-1] != 'A']
	if code, _ := get(t, altered); code != http.StatusNotFound {
		t.Errorf("altered link: %d, want 404", code)
	}
	// Expired: gone.
	time.Sleep(time.Until(sent.Add(ttl + time.Second)))
	if code, _ := get(t, report); code != http.StatusGone {
		t.Errorf("expired link: %d, want 410", code)
	}
}

// TestEmailLinksEveryDownload: the email after a call links to every
// object the call offers: the Word document, the PDF (when LibreOffice
// is there to make it), the HTML report, the recording and the transcript
// JSON; each link downloads content of the right type.
func TestEmailLinksEveryDownload(t *testing.T) {
	t.Parallel()
	mp := startMailpit(t)
	stub := startWhisperStub(t, false)
	webPort := freePorts(t, 1, true)
	cr := startCallrec(t, config{
		Processing: processingYAML(stub.url),
		Web: fmt.Sprintf("public_url: \"http://127.0.0.1:%d\"\nweb:\n  listen: \"127.0.0.1:%d\"\n"+
			"notify:\n  email:\n    to: \"owner@example.org\"\n    from: \"callrec@example.org\"\n"+
			"    smtp: {host: \"127.0.0.1\", port: %d, tls: \"none\"}\n", webPort, webPort, mp.smtpPort),
	})
	id := strangerCall(t, cr)
	cr.waitStages(t, id, 120*time.Second)
	_, text := mp.waitMessage(t, 30*time.Second)

	// The text body lists each link under its label: "Label:\n  URL".
	links := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^([^\r\n:]+):\r?\n  (http://\S+/l/[A-Za-z0-9_-]+)\r?$`).FindAllStringSubmatch(text, -1) {
		links[m[1]] = m[2]
	}
	type want struct {
		label, ctype, magic string
	}
	wants := []want{
		{"Report (Word)", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "PK\x03\x04"},
		{"Report (web page)", "text/html; charset=utf-8", "<!"},
		{"Recording (WAV)", "audio/wav", "RIFF"},
		{"Transcript (JSON)", "application/json", "{"},
	}
	if _, err := exec.LookPath("soffice"); err == nil {
		wants = append(wants, want{"Report (PDF)", "application/pdf", "%PDF"})
	} else if os.Getenv("CI") == "true" {
		t.Fatal("LibreOffice (soffice) is missing on CI: the PDF link is not tested")
	}
	for _, w := range wants {
		u, ok := links[w.label]
		if !ok {
			t.Errorf("the email has no %q link; it has %v\n%s", w.label, links, text)
			continue
		}
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != w.ctype || !strings.HasPrefix(string(body), w.magic) {
			t.Errorf("%s: %d %q, starts %q; want 200 %q starting %q", w.label, res.StatusCode, res.Header.Get("Content-Type"), body[:min(len(body), 8)], w.ctype, w.magic)
		}
	}
	if len(links) != len(wants) {
		t.Errorf("links %v, want exactly %d", links, len(wants))
	}
}
