package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// setupToken returns the token of a set-up link.
func setupToken(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Path != "/setup" || u.Query().Get("token") == "" {
		t.Fatalf("set-up link %q", link)
	}
	return u.Query().Get("token")
}

func TestSetupLinkChoosesThePassword(t *testing.T) {
	f := newFixture(t, noPassword)
	ctx := context.Background()
	c := f.client()
	// Until a password is chosen, log-in is disabled and says why.
	resp, body := f.do(c, "GET", "/login", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "set-up link") {
		t.Errorf("log-in form without a password: %d\n%s", resp.StatusCode, body)
	}
	link, err := f.srv.SetupLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	token := setupToken(t, link)
	resp, body = f.do(c, "GET", "/setup?token="+url.QueryEscape(token), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="token" value="`+token+`"`) {
		t.Fatalf("set-up form: %d\n%s", resp.StatusCode, body)
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Error("the set-up page may leak its token in Referer")
	}
	post := func(pw, confirm, origin string) (*http.Response, string) {
		return f.do(c, "POST", "/setup", url.Values{"token": {token}, "password": {pw}, "confirm": {confirm}}, "Origin", origin)
	}
	// Mistakes keep the link usable.
	if resp, body := post("short", "short", f.ts.URL); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "at least 8") {
		t.Errorf("short password: %d", resp.StatusCode)
	}
	if resp, body := post("correct horse", "correct house", f.ts.URL); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "differ") {
		t.Errorf("mismatch: %d", resp.StatusCode)
	}
	if resp, _ := post("correct horse", "correct horse", "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site set-up: %d, want 403", resp.StatusCode)
	}
	// The right form sets the password and opens the call browser.
	resp, _ = post("correct horse", "correct horse", f.ts.URL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("set-up: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := f.do(c, "GET", "/", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("call browser after set-up: %d, want 200 (logged in)", resp.StatusCode)
	}
	// Once only: the link is spent and set-up is closed.
	if resp, _ := post("another one", "another one", f.ts.URL); resp.StatusCode != http.StatusGone {
		t.Errorf("second use: %d, want 410", resp.StatusCode)
	}
	if resp, _ := f.do(f.client(), "GET", "/setup?token="+url.QueryEscape(token), nil); resp.StatusCode != http.StatusGone {
		t.Errorf("link after set-up: %d, want 410", resp.StatusCode)
	}
	if link, err := f.srv.SetupLink(ctx); link != "" || err != nil {
		t.Errorf("SetupLink with a password set = %q, %v", link, err)
	}
	// The chosen password logs in; another does not.
	other := f.client()
	if resp, _ := f.do(other, "POST", "/login", url.Values{"password": {"wrong password"}}, "Origin", f.ts.URL); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	if resp, _ := f.do(other, "POST", "/login", url.Values{"password": {"correct horse"}}, "Origin", f.ts.URL); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("chosen password: %d", resp.StatusCode)
	}
}

func TestSetupLinkRefusals(t *testing.T) {
	f := newFixture(t, noPassword)
	ctx := context.Background()
	old, err := f.srv.SetupLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	link, err := f.srv.SetupLink(ctx) // a restart: the old link stops working
	if err != nil {
		t.Fatal(err)
	}
	c := f.client()
	for name, token := range map[string]string{"replaced": setupToken(t, old), "altered": setupToken(t, link) + "x", "none": ""} {
		if resp, _ := f.do(c, "GET", "/setup?token="+url.QueryEscape(token), nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s token: %d, want 404", name, resp.StatusCode)
		}
	}
	f.clock.Add(SetupTTL + time.Second)
	if resp, _ := f.do(c, "GET", "/setup?token="+url.QueryEscape(setupToken(t, link)), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("expired token: %d, want 404", resp.StatusCode)
	}
}

func TestSetupRace(t *testing.T) {
	f := newFixture(t, noPassword)
	link, err := f.srv.SetupLink(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	token := setupToken(t, link)
	var wg sync.WaitGroup
	codes := make(chan int, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := "password number " + string(rune('a'+i))
			resp, _ := f.do(f.client(), "POST", "/setup", url.Values{"token": {token}, "password": {pw}, "confirm": {pw}}, "Origin", f.ts.URL)
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	won := 0
	for code := range codes {
		if code == http.StatusSeeOther {
			won++
		}
	}
	if won != 1 {
		t.Errorf("%d set-ups succeeded with one link, want 1", won)
	}
}

func TestConfiguredPasswordWins(t *testing.T) {
	f := newFixture(t, "")
	if link, err := f.srv.SetupLink(context.Background()); link != "" || err != nil {
		t.Errorf("SetupLink with web.password_hash set = %q, %v", link, err)
	}
	if resp, _ := f.do(f.client(), "GET", "/setup?token=x", nil); resp.StatusCode != http.StatusGone {
		t.Errorf("set-up with a configured password: %d, want 410", resp.StatusCode)
	}
	f.login(f.client())
}
