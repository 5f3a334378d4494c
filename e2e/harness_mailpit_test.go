package e2e

// A real SMTP server for the delivery test: Mailpit on loopback, read back
// through its HTTP API; and a plain HTTP GET.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

// subjects lists the subjects of every message received.
func (m *mailpit) subjects(t *testing.T) []string {
	t.Helper()
	res, err := http.Get(m.api + "/api/v1/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list struct {
		Messages []struct{ Subject string } `json:"messages"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, msg := range list.Messages {
		out = append(out, msg.Subject)
	}
	return out
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
