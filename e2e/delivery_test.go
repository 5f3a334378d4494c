package e2e

// The whole path across the issues: a SIPp call through `callrec serve` is
// recorded, processed (the openai engine against a local stand-in for the
// remote API), rendered, and the owner is emailed through a real SMTP
// server (Mailpit on loopback); the signed link in the email opens the
// report through callrec's web server, and stops working when altered or
// expired.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mailpit is a running Mailpit (SMTP + HTTP API).
type mailpit struct {
	smtpPort int
	api      string
}

func startMailpit(t *testing.T) *mailpit {
	t.Helper()
	bin, err := exec.LookPath("mailpit")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		bin = filepath.Join(strings.TrimSpace(string(gopath)), "bin", "mailpit")
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("mailpit is not installed (make test installs it)")
			}
			t.Skip("mailpit not installed: go install github.com/axllent/mailpit@v1.27.11")
		}
	}
	smtp, httpPort := freePorts(t, 1, true), freePorts(t, 1, true)
	cmd := exec.Command(bin, "--smtp", fmt.Sprintf("127.0.0.1:%d", smtp), "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--database", filepath.Join(t.TempDir(), "mail.db"), "--disable-version-check", "--smtp-disable-rdns")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	m := &mailpit{smtpPort: smtp, api: fmt.Sprintf("http://127.0.0.1:%d", httpPort)}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if res, err := http.Get(m.api + "/api/v1/messages"); err == nil {
			res.Body.Close()
			return m
		}
		if time.Now().After(deadline) {
			t.Fatal("mailpit did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitMessage returns the first message's subject and text body.
func (m *mailpit) waitMessage(t *testing.T, d time.Duration) (subject, text string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		var list struct {
			Messages []struct {
				ID      string
				Subject string
			} `json:"messages"`
		}
		if res, err := http.Get(m.api + "/api/v1/messages"); err == nil {
			json.NewDecoder(res.Body).Decode(&list)
			res.Body.Close()
		}
		if len(list.Messages) > 0 {
			res, err := http.Get(m.api + "/api/v1/message/" + list.Messages[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var msg struct{ Subject, Text string }
			if err := json.NewDecoder(res.Body).Decode(&msg); err != nil {
				t.Fatal(err)
			}
			if len(list.Messages) != 1 {
				t.Errorf("%d messages, want 1", len(list.Messages))
			}
			return msg.Subject, msg.Text
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatal("no email arrived")
	return "", ""
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

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
