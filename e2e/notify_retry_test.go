package e2e

// An SMTP server that is down for longer than the stages' retries last
// (pipeline.max_attempts) still gets the owner's email, exactly once,
// when it comes back: the notify stage is retried for notify.retry_for,
// and the call page says meanwhile that the email is pending, why, and
// when it is tried next.

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestNotifyRetryUntilSMTPBack(t *testing.T) {
	t.Parallel()
	requireMailpit(t)
	stub := startWhisperStub(t, false)
	// Nothing listens on the SMTP port until Mailpit starts on it below.
	smtpPort := freePorts(t, 1, true)
	webPort := freePorts(t, 1, true)
	site := fmt.Sprintf("http://127.0.0.1:%d", webPort)
	const pw = "owner's password for the retry test"
	const maxAttempts = 3 // processingYAML's pipeline.max_attempts
	cr := startCallrec(t, config{
		Processing: processingYAML(stub.url),
		Web: fmt.Sprintf("public_url: %q\nweb:\n  listen: \"127.0.0.1:%d\"\n  password_hash: %q\n"+
			"notify:\n  retry_for: \"3m\"\n  retry_backoff_max: \"5s\"\n"+
			"  email:\n    to: \"owner@example.org\"\n    from: \"callrec@example.org\"\n"+
			"    smtp: {host: \"127.0.0.1\", port: %d, tls: \"none\"}\n", site, webPort, passwordHash(t, pw), smtpPort),
	})
	id := strangerCall(t, cr)

	// The notify stage fails, and is retried past pipeline.max_attempts,
	// saying why and when it tries next.
	pending := waitNotifyStage(t, cr, id, 150*time.Second, func(s stageRecord) bool {
		return s.State == "retry" && s.Attempts > maxAttempts
	})
	if !strings.Contains(pending.LastError, "connection refused") || pending.NextAttemptAt == nil {
		t.Errorf("notify stage waiting: %+v, want the SMTP error and a next attempt time", pending)
	}
	for _, s := range pending.all {
		if s.Name != "notify" && s.State != "done" {
			t.Errorf("stage %s is %s, want done", s.Name, s.State)
		}
	}
	page := callPage(t, site, pw, id)
	if !regexp.MustCompile(`Email pending: smtp 127\.0\.0\.1:\d+: connection refused[^<]*, next try at \w{3} \d{1,2} \w{3} \d{4}, \d\d:\d\d:\d\d`).MatchString(page) {
		t.Errorf("the call page does not say the email is pending, why and when it is tried next:\n%s", processingSection(page))
	}

	// The server comes back: the email goes out, once.
	mp := startMailpitOn(t, smtpPort)
	done := waitNotifyStage(t, cr, id, 60*time.Second, func(s stageRecord) bool { return s.State == "done" })
	if done.LastError != "" || done.NextAttemptAt != nil || done.Attempts <= maxAttempts {
		t.Errorf("notify stage done: %+v, want no error, no next attempt, and more than %d attempts", done, maxAttempts)
	}
	subject, text := mp.waitMessage(t, 30*time.Second)
	if !strings.Contains(subject, strangerNum) {
		t.Errorf("subject %q does not name the other party", subject)
	}
	// Its links were signed when it was sent, and work.
	links := regexp.MustCompile(`http://127\.0\.0\.1:\d+/l/[A-Za-z0-9_-]+`).FindAllString(text, -1)
	if len(links) == 0 {
		t.Fatalf("no signed link in the email:\n%s", text)
	}
	for _, l := range links {
		if code, _ := get(t, l); code != http.StatusOK {
			t.Errorf("link %s: %d, want 200", l, code)
		}
	}
	// Well past another retry's time: still one email, and nothing pending.
	time.Sleep(15 * time.Second)
	if n := mp.count(t); n != 1 {
		t.Errorf("%d emails, want exactly 1", n)
	}
	if s := waitNotifyStage(t, cr, id, 10*time.Second, func(stageRecord) bool { return true }); s.State != "done" || s.Attempts != done.Attempts {
		t.Errorf("notify stage after the email: %+v, want done after %d attempts", s, done.Attempts)
	}
	if page := callPage(t, site, pw, id); strings.Contains(page, "Email pending") || strings.Contains(page, "next try at") {
		t.Errorf("the call page still says the email is pending:\n%s", processingSection(page))
	}
}

// stageRecord is one stage of `callrec calls show --json`, with the
// stage's next attempt; all holds every stage of the call.
type stageRecord struct {
	Name          string     `json:"name"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	all           []stageRecord
}

// waitNotifyStage polls `callrec calls show --json` until the call's
// notify stage satisfies cond, and returns it; d is a failure guard.
func waitNotifyStage(t *testing.T, cr *callrec, id string, d time.Duration, cond func(stageRecord) bool) stageRecord {
	t.Helper()
	deadline := time.Now().Add(d)
	var last stageRecord
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, env.callrec, "calls", "show", "--json", "--config", cr.cfgPath, id)
		cmd.Env = cleanEnv()
		out, err := cmd.Output()
		cancel()
		var cs struct {
			Stages []stageRecord `json:"stages"`
		}
		if err == nil && json.Unmarshal(out, &cs) == nil {
			for _, s := range cs.Stages {
				if s.Name == "notify" {
					s.all = cs.Stages
					last = s
					if s.State == "failed" {
						t.Fatalf("notify stage failed for good: %s", s.LastError)
					}
					if cond(s) {
						return s
					}
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("notify stage not as expected after %s: %+v\n%s", d, last, cr.log.String())
	return last
}

// passwordHash is `callrec passwd` of pw.
func passwordHash(t *testing.T, pw string) string {
	t.Helper()
	cmd := exec.Command(env.callrec, "passwd")
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(pw + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("callrec passwd: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// callPage logs in to site with pw and returns the call's page, unescaped.
func callPage(t *testing.T, site, pw, id string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", site+"/login", strings.NewReader(url.Values{"password": {pw}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", site)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("log-in: %d", res.StatusCode)
	}
	res, err = c.Get(site + "/calls/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("call page: %d", res.StatusCode)
	}
	return html.UnescapeString(string(b))
}

// processingSection is the processing table of a call page, for messages.
func processingSection(page string) string {
	if i := strings.Index(page, "<h2>Processing</h2>"); i >= 0 {
		page = page[i:]
		if j := strings.Index(page, "</section>"); j >= 0 {
			page = page[:j]
		}
	}
	return page
}

// count is how many messages Mailpit holds.
func (m *mailpit) count(t *testing.T) int {
	t.Helper()
	res, err := http.Get(m.api + "/api/v1/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list struct {
		Total int `json:"total"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	return list.Total
}

// mailpitPath finds mailpit in PATH or $(go env GOPATH)/bin; without it
// the test skips, except on CI, where it fails.
func mailpitPath(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("mailpit"); err == nil {
		return bin
	}
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	bin := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "mailpit")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mailpit is not installed (make test installs it)")
		}
		t.Skip("mailpit not installed: go install github.com/axllent/mailpit@v1.27.11")
	}
	return bin
}

// requireMailpit skips (or, on CI, fails) before anything starts when
// there is no Mailpit to start later.
func requireMailpit(t *testing.T) {
	t.Helper()
	mailpitPath(t)
}

// startMailpitOn starts Mailpit with its SMTP server on smtpPort, as a
// mail server coming back, until the test ends.
func startMailpitOn(t *testing.T, smtpPort int) *mailpit {
	t.Helper()
	bin := mailpitPath(t)
	httpPort := freePorts(t, 1, true)
	cmd := exec.Command(bin, "--smtp", fmt.Sprintf("127.0.0.1:%d", smtpPort), "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--database", filepath.Join(t.TempDir(), "mail.db"), "--disable-version-check", "--smtp-disable-rdns")
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	m := &mailpit{smtpPort: smtpPort, api: fmt.Sprintf("http://127.0.0.1:%d", httpPort)}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("mailpit exited: %s", log.String())
		default:
		}
		if res, err := http.Get(m.api + "/api/v1/messages"); err == nil {
			res.Body.Close()
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not start: %s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
