package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/store"
)

func TestAPIAuth(t *testing.T) {
	f := newFixture(t, "")
	f.seedCall("c1", "+12125550123", f.clock.Now().Add(-time.Hour))
	c := f.client()
	for _, hdr := range [][]string{
		nil,
		{"Authorization", "Bearer wrong-token"},
		{"Authorization", "Bearer " + testToken + "x"},
		{"Authorization", "Basic " + testToken},
		{"Authorization", "Bearer "},
		{"Authorization", testToken},
	} {
		for _, p := range []string{"/api/v1/calls", "/api/v1/calls/c1", "/api/v1/nothing"} {
			resp, body := f.do(c, "GET", p, nil, hdr...)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with %v: status %d, want 401", p, hdr, resp.StatusCode)
			}
			var e apiError
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s with %v: body %q is not a JSON error", p, hdr, body)
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: WWW-Authenticate %q", p, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
	// A browser session is not an API credential.
	f.login(c)
	resp, _ := f.do(c, "GET", "/api/v1/calls", nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with a session cookie only: %d, want 401", resp.StatusCode)
	}
}

func TestAPICalls(t *testing.T) {
	f := newFixture(t, "")
	f.srv.publicURL = "https://calls.example.org"
	f.seedCall("c1", "+12125550123", f.clock.Now().Add(-time.Hour))
	f.addCall("c2", store.DirectionInbound, "+442071234567", f.clock.Now().Add(-2*time.Hour))
	c := f.client()
	auth := []string{"Authorization", "Bearer " + testToken}

	resp, body := f.do(c, "GET", "/api/v1/calls", nil, auth...)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	var calls []APICall
	if err := json.Unmarshal([]byte(body), &calls); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0].ID != "c1" || calls[1].ID != "c2" {
		t.Fatalf("calls %+v", calls)
	}
	a := calls[0]
	if len(a.Stages) != 4 || a.Stages[0].Name != "transcribe" || a.Stages[2].State != store.StageFailed {
		t.Errorf("stages %+v", a.Stages)
	}
	for _, name := range []string{"recording", "report.html", "report.docx", "transcript.json"} {
		if !strings.HasPrefix(a.Links[name], "https://calls.example.org/l/") {
			t.Errorf("link %s = %q", name, a.Links[name])
		}
	}
	if _, ok := a.Links["report.pdf"]; ok {
		t.Error("link to a PDF that does not exist")
	}
	if a.RecordingFile != a.Links["recording"] || a.PageURL != "https://calls.example.org/calls/c1" {
		t.Errorf("recording_file %q, page_url %q", a.RecordingFile, a.PageURL)
	}
	if !a.LinksExpireAt.Equal(f.clock.Now().Add(time.Hour)) {
		t.Errorf("links_expire_at %v", a.LinksExpireAt)
	}
	// The links work (served here under any host).
	path := strings.TrimPrefix(a.Links["recording"], "https://calls.example.org")
	if resp, body := f.do(c, "GET", path, nil); resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "RIFF") {
		t.Errorf("recording link: %d", resp.StatusCode)
	}
	if len(calls[1].Links) != 0 || calls[1].Stages == nil {
		t.Errorf("bare call: links %v, stages %v", calls[1].Links, calls[1].Stages)
	}

	for q, want := range map[string]int{"?q=4420": 1, "?direction=outbound": 1, "?limit=1": 1, "?offset=1": 1, "?limit=1&offset=5": 0, "?q=nobody": 0} {
		resp, body := f.do(c, "GET", "/api/v1/calls"+q, nil, auth...)
		var got []APICall
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || len(got) != want {
			t.Errorf("%s: %d, %d calls, want %d", q, resp.StatusCode, len(got), want)
		}
	}
	for _, q := range []string{"?limit=0", "?limit=100000", "?limit=x", "?offset=-1", "?direction=up", "?from=today"} {
		resp, body := f.do(c, "GET", "/api/v1/calls"+q, nil, auth...)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s", q, resp.StatusCode, body)
		}
	}

	resp, body = f.do(c, "GET", "/api/v1/calls/c1", nil, auth...)
	var one APICall
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &one) != nil || one.ID != "c1" || one.Party != "+12125550123" {
		t.Fatalf("one call: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(c, "GET", "/api/v1/calls/nope", nil, auth...)
	var e apiError
	if resp.StatusCode != http.StatusNotFound || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
		t.Fatalf("unknown call: %d %s", resp.StatusCode, body)
	}
}

func TestAPIDisabledWithoutTokens(t *testing.T) {
	f := newFixture(t, "")
	f.srv.tokens = nil
	resp, body := f.do(f.client(), "GET", "/api/v1/calls", nil, "Authorization", "Bearer "+testToken)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "disabled") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}
