package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLogin(t *testing.T) {
	f := newFixture(t, "")
	c := f.client()

	resp, body := f.do(c, "GET", "/login", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `type="password"`) {
		t.Fatalf("log-in form: %d\n%s", resp.StatusCode, body)
	}

	resp, body = f.do(c, "POST", "/login", url.Values{"password": {"wrong"}}, "Origin", f.ts.URL)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong password") {
		t.Fatalf("wrong password: %d\n%s", resp.StatusCode, body)
	}
	if len(resp.Cookies()) != 0 {
		t.Fatalf("wrong password set cookies %v", resp.Cookies())
	}

	resp, _ = f.do(c, "POST", "/login", url.Values{"password": {testPassword}, "next": {"/calls/x?y=1"}}, "Origin", f.ts.URL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/calls/x?y=1" {
		t.Fatalf("log-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			cookie = ck
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || len(cookie.Value) < 43 {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, not Secure on http, 32 random bytes", cookie)
	}
	resp, body = f.do(c, "GET", "/", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Log out") {
		t.Fatalf("calls page: %d", resp.StatusCode)
	}

	// Log out: the session is gone server-side too.
	csrf := csrfOf(t, body)
	resp, _ = f.do(c, "POST", "/logout", url.Values{"csrf": {csrf}}, "Origin", f.ts.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("log-out: %d", resp.StatusCode)
	}
	bare := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", f.ts.URL+"/", nil)
	req.AddCookie(cookie)
	resp, err := bare.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("old session cookie after log-out: %d, want a redirect to the log-in", resp.StatusCode)
	}
}

func TestLoginNextIsLocal(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "/",
		"/calls/1":              "/calls/1",
		"//evil.example/x":      "/",
		"https://evil.example/": "/",
		"/\\evil.example":       "/",
		"calls":                 "/",
		"/l/abc":                "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoginSecureCookie(t *testing.T) {
	f := newFixture(t, "")
	f.srv.secure = true
	resp, _ := f.do(f.client(), "POST", "/login", url.Values{"password": {testPassword}}, "Origin", f.ts.URL)
	if len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure {
		t.Fatalf("cookies %v: want one Secure cookie", resp.Cookies())
	}
}

func TestLoginRateLimit(t *testing.T) {
	f := newFixture(t, "")
	c := f.client()
	for i := range loginMaxFailures {
		resp, _ := f.do(c, "POST", "/login", url.Values{"password": {"guess" + strconv.Itoa(i)}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i+1, resp.StatusCode)
		}
		f.clock.Add(time.Second)
	}
	// Blocked now, even with the right password.
	resp, body := f.do(c, "POST", "/login", url.Values{"password": {testPassword}})
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after %d failures: status %d", loginMaxFailures, resp.StatusCode)
	}
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 60 {
		t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	if ra != 55 {
		t.Errorf("Retry-After %d, want 55 (the first failure leaves the minute then)", ra)
	}
	if !strings.Contains(body, "Too many") {
		t.Errorf("429 page does not say why:\n%s", body)
	}
	// Once the first failure is a minute old, one more try is allowed.
	f.clock.Add(time.Duration(ra) * time.Second)
	resp, _ = f.do(c, "POST", "/login", url.Values{"password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after waiting: status %d", resp.StatusCode)
	}
	// Success clears the count.
	resp, _ = f.do(f.client(), "POST", "/login", url.Values{"password": {"nope"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after success, a wrong password: %d, want 401", resp.StatusCode)
	}
}

func TestLoginDisabledWithoutHash(t *testing.T) {
	f := newFixture(t, "")
	f.srv.hash = ""
	resp, body := f.do(f.client(), "POST", "/login", url.Values{"password": {""}})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "callrec passwd") {
		t.Fatalf("status %d\n%s", resp.StatusCode, body)
	}
}

func TestSessionRequired(t *testing.T) {
	f := newFixture(t, "")
	f.seedCall("c1", "+12125550123", f.clock.Now().Add(-time.Hour))
	c := f.client()
	for _, p := range []string{"/", "/calls/c1", "/calls/c1/delete", "/?q=212"} {
		resp, _ := f.do(c, "GET", p, nil)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
			t.Errorf("GET %s: %d to %q, want a redirect to the log-in", p, resp.StatusCode, loc)
		}
	}
	for _, p := range []string{"/calls/c1/retry", "/calls/c1/delete", "/logout"} {
		resp, _ := f.do(c, "POST", p, url.Values{"stage": {"render"}, "confirm": {"yes"}, "csrf": {"x"}}, "Origin", f.ts.URL)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without a session: %d, want 403", p, resp.StatusCode)
		}
	}
	if got := f.retrier.Calls(); len(got) != 0 {
		t.Errorf("retrier called: %v", got)
	}
	if _, err := f.store.GetCall(t.Context(), "c1"); err != nil {
		t.Errorf("call gone: %v", err)
	}
	// An expired session is no session.
	c2 := f.client()
	f.login(c2)
	f.clock.Add(sessionTTL)
	resp, _ := f.do(c2, "GET", "/", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the session's lifetime: %d, want a redirect", resp.StatusCode)
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t, "")
	f.seedCall("c1", "+12125550123", f.clock.Now().Add(-time.Hour))
	c := f.client()
	csrf := f.login(c)
	other := f.client()
	otherCSRF := f.login(other)

	cases := []struct {
		name string
		form url.Values
		hdr  []string
	}{
		{"no token", url.Values{"stage": {"render"}}, []string{"Origin", f.ts.URL}},
		{"wrong token", url.Values{"stage": {"render"}, "csrf": {csrf + "x"}}, []string{"Origin", f.ts.URL}},
		{"another session's token", url.Values{"stage": {"render"}, "csrf": {otherCSRF}}, []string{"Origin", f.ts.URL}},
		{"cross-origin", url.Values{"stage": {"render"}, "csrf": {csrf}}, []string{"Origin", "https://evil.example"}},
		{"null origin", url.Values{"stage": {"render"}, "csrf": {csrf}}, []string{"Origin", "null"}},
		{"cross-site referer", url.Values{"stage": {"render"}, "csrf": {csrf}}, []string{"Referer", "https://evil.example/page"}},
		{"cross-site fetch", url.Values{"stage": {"render"}, "csrf": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"same-site fetch", url.Values{"stage": {"render"}, "csrf": {csrf}}, []string{"Sec-Fetch-Site", "same-site", "Origin", f.ts.URL}},
	}
	for _, tc := range cases {
		resp, _ := f.do(c, "POST", "/calls/c1/retry", tc.form, tc.hdr...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tc.name, resp.StatusCode)
		}
		resp, _ = f.do(c, "POST", "/calls/c1/delete", url.Values{"confirm": {"yes"}, "csrf": tc.form["csrf"]}, tc.hdr...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: delete status %d, want 403", tc.name, resp.StatusCode)
		}
	}
	// A cross-site log-in attempt is refused too.
	resp, _ := f.do(f.client(), "POST", "/login", url.Values{"password": {testPassword}}, "Origin", "https://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin log-in: %d, want 403", resp.StatusCode)
	}
	if got := f.retrier.Calls(); len(got) != 0 {
		t.Fatalf("retrier called by a refused POST: %v", got)
	}
	if _, err := f.store.GetCall(t.Context(), "c1"); err != nil {
		t.Fatalf("call deleted by a refused POST: %v", err)
	}
	// The right token from this site works, with Origin, with Referer, or
	// with neither (a non-browser client).
	for i, hdr := range [][]string{{"Origin", f.ts.URL}, {"Referer", f.ts.URL + "/calls/c1"}, nil} {
		if i > 0 {
			if err := f.store.SaveStage(t.Context(), stageFailed("c1", "render")); err != nil {
				t.Fatal(err)
			}
		}
		resp, _ = f.do(c, "POST", "/calls/c1/retry", url.Values{"stage": {"render"}, "csrf": {csrf}}, hdr...)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("valid retry %v: %d", hdr, resp.StatusCode)
		}
	}
	if got := f.retrier.Calls(); len(got) != 3 {
		t.Fatalf("retrier calls %v, want 3", got)
	}
}

func TestPublicURLOrigin(t *testing.T) {
	f := newFixture(t, "")
	f.srv.publicHost = "calls.example.org"
	f.seedCall("c1", "+1", f.clock.Now())
	c := f.client()
	csrf := f.login(c)
	resp, _ := f.do(c, "POST", "/calls/c1/retry", url.Values{"stage": {"render"}, "csrf": {csrf}}, "Origin", "https://calls.example.org")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST from the public URL's origin: %d", resp.StatusCode)
	}
}

func TestNewRejectsBadHash(t *testing.T) {
	f := newFixture(t, "")
	cfg := Config{Store: f.store, Blob: f.blob, Signer: f.signer, PasswordHash: "plaintext"}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "callrec passwd") {
		t.Errorf("New with a plain-text password: %v", err)
	}
	cfg.PasswordHash = ""
	if _, err := New(cfg); err != nil {
		t.Errorf("New without a password: %v", err)
	}
	cfg.PublicURL = "calls.example.org"
	if _, err := New(cfg); err == nil {
		t.Error("New accepted a public URL without a scheme")
	}
	if _, err := New(Config{Blob: f.blob, Signer: f.signer}); err == nil {
		t.Error("New without a store")
	}
}
