package web

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/store"
)

// addStatusCall stores a finished call with status st.
func (f *fixture) addStatusCall(id, st string, started time.Time) {
	f.t.Helper()
	ended := started.Add(time.Minute)
	if err := f.store.InsertCall(context.Background(), &store.Call{
		ID: id, Direction: store.DirectionInbound, OwnerNumber: "+15550100001", Party: "+12125550100", ServiceNumber: "+15550100000",
		StartedAt: started, EndedAt: &ended, Status: st,
	}); err != nil {
		f.t.Fatal(err)
	}
}

func TestListHidesRefusedCallsByDefault(t *testing.T) {
	f := newFixture(t, "")
	day := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	for i, st := range []string{store.StatusCompleted, store.StatusRejected, store.StatusFailed, store.StatusUnanswered, store.StatusInterrupted} {
		f.addStatusCall(st, st, day.Add(time.Duration(i)*time.Minute))
	}
	c := f.client()
	f.login(c)
	for _, tc := range []struct {
		query string
		want  []string
		total string
	}{
		{"", []string{"interrupted", "unanswered", "completed"}, "3 calls"},
		{"?status=all", []string{"interrupted", "unanswered", "failed", "rejected", "completed"}, "5 calls"},
		{"?status=rejected", []string{"rejected"}, "1 call"},
	} {
		resp, body := f.do(c, "GET", "/"+tc.query, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%q: %d", tc.query, resp.StatusCode)
			continue
		}
		if got := listed(body); !slices.Equal(got, tc.want) {
			t.Errorf("%q lists %v, want %v", tc.query, got, tc.want)
		}
		if !strings.Contains(body, tc.total) {
			t.Errorf("%q does not say %q", tc.query, tc.total)
		}
	}
	if resp, body := f.do(c, "GET", "/?status=bogus", nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "bogus") {
		t.Errorf("unknown status: %d", resp.StatusCode)
	}
	// The API lists every call unless asked.
	resp, body := f.do(c, "GET", "/api/v1/calls", nil, "Authorization", "Bearer "+testToken)
	if resp.StatusCode != http.StatusOK || strings.Count(body, `"status": "`) != 5 {
		t.Errorf("API: %d, %d calls", resp.StatusCode, strings.Count(body, `"status": "`))
	}
	resp, body = f.do(c, "GET", "/api/v1/calls?status=failed", nil, "Authorization", "Bearer "+testToken)
	if resp.StatusCode != http.StatusOK || strings.Count(body, `"status": "failed"`) != 1 || strings.Count(body, `"status": "`) != 1 {
		t.Errorf("API status=failed: %d\n%s", resp.StatusCode, body)
	}
}

func TestBulkDelete(t *testing.T) {
	f := newFixture(t, "")
	day := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	a := f.seedCall("a", "+12125550100", day)
	f.seedCall("b", "+12125550101", day.Add(time.Minute))
	f.seedCall("keep", "+12125550102", day.Add(2*time.Minute))
	f.addStatusCall("busy", store.StatusCompleted, day.Add(3*time.Minute))
	if err := f.store.SaveStage(context.Background(), &store.Stage{CallID: "busy", Name: calls.StageRender, State: store.StageRunning}); err != nil {
		t.Fatal(err)
	}
	c := f.client()
	csrf := f.login(c)
	form := url.Values{"csrf": {csrf}, "id": {"a", "b", "missing", "a"}}
	// Without confirmation: a page asking, nothing deleted.
	resp, body := f.do(c, "POST", "/calls/delete", form, "Origin", f.ts.URL)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Delete 2 calls?") {
		t.Fatalf("confirmation: %d\n%s", resp.StatusCode, body)
	}
	if _, err := f.store.GetCall(context.Background(), "a"); err != nil {
		t.Fatal("deleted before confirmation")
	}
	// Without the CSRF token: refused.
	if resp, _ := f.do(c, "POST", "/calls/delete", url.Values{"id": {"a"}, "confirm": {"yes"}}, "Origin", f.ts.URL); resp.StatusCode != http.StatusForbidden {
		t.Errorf("bulk delete without CSRF: %d", resp.StatusCode)
	}
	form.Set("confirm", "yes")
	resp, _ = f.do(c, "POST", "/calls/delete", form, "Origin", f.ts.URL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?deleted=2" {
		t.Fatalf("bulk delete: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, id := range []string{"a", "b"} {
		if _, err := f.store.GetCall(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("call %s not deleted: %v", id, err)
		}
	}
	if _, err := f.blob.Stat(context.Background(), a.RecordingKey); err == nil {
		t.Error("a deleted call's recording is still there")
	}
	if _, body := f.do(c, "GET", "/?deleted=2", nil); !strings.Contains(body, "2 calls were deleted") || !slices.Equal(listed(body), []string{"busy", "keep"}) {
		t.Errorf("list after the bulk delete: %v", listed(body))
	}
	// A call that cannot go now is reported, the others go.
	resp, body = f.do(c, "POST", "/calls/delete", url.Values{"csrf": {csrf}, "id": {"busy", "keep"}, "confirm": {"yes"}}, "Origin", f.ts.URL)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "render stage is running") || !strings.Contains(body, "1 deleted") {
		t.Errorf("bulk delete with a busy call: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := f.do(c, "POST", "/calls/delete", url.Values{"csrf": {csrf}}, "Origin", f.ts.URL); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bulk delete of nothing: %d", resp.StatusCode)
	}
}

func TestBanners(t *testing.T) {
	f := newFixture(t, "")
	storageErr := errors.New("2.1 GB free of 100 GB, below storage.min_free (5 GB)")
	var full atomic.Bool
	f.srv.storage = func() error {
		if full.Load() {
			return storageErr
		}
		return nil
	}
	c := f.client()
	f.login(c)
	if _, body := f.do(c, "GET", "/", nil); strings.Contains(body, "banner") {
		t.Error("a banner with nothing wrong")
	}
	if resp, _ := f.do(c, "GET", "/readyz", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("readyz: %d", resp.StatusCode)
	}
	full.Store(true)
	f.addStatusCall("n1", store.StatusCompleted, time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	if err := f.store.SaveStage(context.Background(), &store.Stage{CallID: "n1", Name: calls.StageNotify, State: store.StageRetry}); err != nil {
		t.Fatal(err)
	}
	_, body := f.do(c, "GET", "/", nil)
	for _, want := range []string{html.EscapeString("Storage: " + storageErr.Error()), "notification of one call is waiting to be retried"} {
		if !strings.Contains(body, want) {
			t.Errorf("list page lacks the banner %q", want)
		}
	}
	if _, body := f.do(c, "GET", "/calls/n1", nil); !strings.Contains(body, "storage.min_free") {
		t.Error("call page lacks the storage banner")
	}
	resp, body := f.do(c, "GET", "/readyz", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "storage.min_free") {
		t.Errorf("readyz with storage low: %d %q", resp.StatusCode, body)
	}
	// Logged out: no banners (they are for the owner).
	if _, body := f.do(f.client(), "GET", "/login", nil); strings.Contains(body, "storage.min_free") {
		t.Error("the log-in page shows the owner's banners")
	}
}

func TestPartyNameAndRawShownEscaped(t *testing.T) {
	f := newFixture(t, "")
	ended := time.Date(2026, 3, 10, 9, 1, 0, 0, time.UTC)
	if err := f.store.InsertCall(context.Background(), &store.Call{
		ID: "raw", Direction: store.DirectionInbound, OwnerNumber: "+15550100001", ServiceNumber: "+15550100000",
		PartyRaw: "<script>alert(1)</script>", PartyName: "Jane <b>Doe</b>",
		StartedAt: ended.Add(-time.Minute), EndedAt: &ended, Status: store.StatusCompleted,
	}); err != nil {
		t.Fatal(err)
	}
	c := f.client()
	f.login(c)
	_, body := f.do(c, "GET", "/calls/raw", nil)
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<b>Doe") {
		t.Error("the caller's raw ID or name reached the page unescaped")
	}
	for _, want := range []string{"Call with <span class=\"party\">an unknown number</span>", html.EscapeString("Jane <b>Doe</b>"), html.EscapeString("<script>alert(1)</script>")} {
		if !strings.Contains(body, want) {
			t.Errorf("call page lacks %q", want)
		}
	}
	_, body = f.do(c, "GET", "/", nil)
	if !strings.Contains(body, "an unknown number") || !strings.Contains(body, html.EscapeString("Jane <b>Doe</b>")) {
		t.Error("the list does not show the unknown number with the caller's name")
	}
}
