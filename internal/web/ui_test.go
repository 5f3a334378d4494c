package web

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/store"
)

// addCall stores a bare finished call.
func (f *fixture) addCall(id, dir, party string, started time.Time) {
	f.t.Helper()
	ended := started.Add(time.Minute)
	if err := f.store.InsertCall(context.Background(), &store.Call{
		ID: id, Direction: dir, OwnerNumber: "+15550100001", Party: party, ServiceNumber: "+15550100000",
		StartedAt: started, EndedAt: &ended, Status: store.StatusCompleted,
	}); err != nil {
		f.t.Fatal(err)
	}
}

var rowRE = regexp.MustCompile(`href="/calls/([^"]+)"`)

// listed returns the call ids a list page links to, in order.
func listed(page string) []string {
	var ids []string
	for _, m := range rowRE.FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[1], "/") {
			ids = append(ids, m[1])
		}
	}
	return ids
}

func TestCallsList(t *testing.T) {
	f := newFixture(t, "")
	day := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	f.addCall("out-old", store.DirectionOutbound, "+12125550100", day)
	f.addCall("in-mid", store.DirectionInbound, "+442071234567", day.AddDate(0, 0, 1))
	f.addCall("out-new", store.DirectionOutbound, "+12125550199", day.AddDate(0, 0, 2))
	c := f.client()
	f.login(c)

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"out-new", "in-mid", "out-old"}},
		{"q=212555", []string{"out-new", "out-old"}},
		{"q=%2B4420", []string{"in-mid"}},
		{"direction=inbound", []string{"in-mid"}},
		{"direction=outbound&q=0199", []string{"out-new"}},
		{"from=2026-03-11", []string{"out-new", "in-mid"}},
		{"to=2026-03-11", []string{"in-mid", "out-old"}},
		{"from=2026-03-11&to=2026-03-11", []string{"in-mid"}},
		{"q=nobody", nil},
	} {
		resp, body := f.do(c, "GET", "/?"+tc.query, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%q: status %d", tc.query, resp.StatusCode)
			continue
		}
		if got := listed(body); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: calls %v, want %v", tc.query, got, tc.want)
		}
	}
	resp, body := f.do(c, "GET", "/?from=yesterday", nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "2026-03-14") {
		t.Errorf("bad date: %d", resp.StatusCode)
	}
	resp, _ = f.do(c, "GET", "/?direction=sideways", nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad direction: %d", resp.StatusCode)
	}
}

func TestCallsListPaging(t *testing.T) {
	f := newFixture(t, "")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = pageSize + 7
	for i := range n {
		f.addCall(fmt.Sprintf("call-%03d", i), store.DirectionInbound, "+1555", start.Add(time.Duration(i)*time.Hour))
	}
	c := f.client()
	f.login(c)
	for _, q := range []string{"", "&from=2025-12-31"} { // store paging, then date paging
		_, body := f.do(c, "GET", "/?page=1"+q, nil)
		ids := listed(body)
		if len(ids) != pageSize || ids[0] != fmt.Sprintf("call-%03d", n-1) || !strings.Contains(body, "Older →") {
			t.Fatalf("%q page 1: %d calls from %v", q, len(ids), ids[:1])
		}
		if strings.Contains(body, "← Newer") {
			t.Errorf("%q page 1 links to newer calls", q)
		}
		_, body = f.do(c, "GET", "/?page=2"+q, nil)
		ids = listed(body)
		if len(ids) != 7 || ids[6] != "call-000" || strings.Contains(body, "Older →") || !strings.Contains(body, "← Newer") {
			t.Fatalf("%q page 2: %v", q, ids)
		}
	}
}

func TestCallPage(t *testing.T) {
	f := newFixture(t, "")
	c := f.seedCall("c1", "+12125550123", f.clock.Now().Add(-time.Hour))
	cl := f.client()
	f.login(cl)
	resp, body := f.do(cl, "GET", "/calls/c1", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{
		"Kept until", "13 Apr 2026", // retention: 30 days after the start
		"+12125550123", ownerLine, partyLine, "<audio", `<iframe class="report"`,
		"Report (Word)", "Recording (WAV)", "Transcript (JSON)", "render: LibreOffice crashed",
		`data-retry="render"`, "/calls/c1/delete",
	} {
		if !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("call page lacks %q", want)
		}
	}
	if strings.Contains(body, "Report (PDF)") {
		t.Error("call page offers a PDF that does not exist")
	}
	// Only the failed stage has a Retry button.
	if n := strings.Count(body, "data-retry="); n != 1 {
		t.Errorf("%d retry buttons, want 1", n)
	}
	// The player's source is a working signed link to the recording.
	m := regexp.MustCompile(`<audio[^>]*src="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no audio src")
	}
	resp, wav := f.do(f.client(), "GET", m[1], nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(wav, "RIFF") {
		t.Errorf("audio src %s: %d", m[1], resp.StatusCode)
	}
	if resp.Header.Get("Content-Type") != "audio/wav" {
		t.Errorf("audio Content-Type %q", resp.Header.Get("Content-Type"))
	}
	_ = c

	for _, p := range []string{"/calls/nope", "/calls/..%2fx", "/calls/%2e%2e"} {
		resp, _ := f.do(cl, "GET", p, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestRetry(t *testing.T) {
	f := newFixture(t, "")
	f.seedCall("c1", "+12125550123", f.clock.Now().Add(-time.Hour))
	c := f.client()
	csrf := f.login(c)
	post := func(id, stage string) int {
		resp, _ := f.do(c, "POST", "/calls/"+id+"/retry", url.Values{"stage": {stage}, "csrf": {csrf}}, "Origin", f.ts.URL)
		return resp.StatusCode
	}
	for _, tc := range []struct {
		id, stage string
		status    int
	}{
		{"c1", "bogus", http.StatusBadRequest},
		{"c1", "", http.StatusBadRequest},
		{"c1", "../render", http.StatusBadRequest},
		{"c1", calls.StageTranscribe, http.StatusConflict}, // done
		{"c1", calls.StageNotify, http.StatusConflict},     // pending
		{"nope", calls.StageRender, http.StatusNotFound},
	} {
		if got := post(tc.id, tc.stage); got != tc.status {
			t.Errorf("retry %s/%q: %d, want %d", tc.id, tc.stage, got, tc.status)
		}
	}
	if got := f.retrier.Calls(); len(got) != 0 {
		t.Fatalf("retrier called for invalid stages: %v", got)
	}
	resp, _ := f.do(c, "POST", "/calls/c1/retry", url.Values{"stage": {"render"}, "csrf": {csrf}}, "Origin", f.ts.URL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/calls/c1?retried=render" {
		t.Fatalf("retry render: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := f.retrier.Calls(); fmt.Sprint(got) != "[c1/render]" {
		t.Fatalf("retrier calls %v", got)
	}
	_, body := f.do(c, "GET", "/calls/c1?retried=render", nil)
	if !strings.Contains(body, "queued again") || strings.Contains(body, `data-retry="render"`) {
		t.Errorf("after retry the page should say so and offer no retry")
	}

	// Without a pipeline there is nothing to retry with.
	f.srv.retrier = nil
	if err := f.store.SaveStage(t.Context(), stageFailed("c1", "render")); err != nil {
		t.Fatal(err)
	}
	if got := post("c1", "render"); got != http.StatusServiceUnavailable {
		t.Errorf("retry without a retrier: %d, want 503", got)
	}
}

func TestDelete(t *testing.T) {
	f := newFixture(t, "")
	c1 := f.seedCall("c1", "+12125550123", f.clock.Now().Add(-time.Hour))
	c2 := f.seedCall("c2", "+12125550999", f.clock.Now().Add(-2*time.Hour))
	extra := calls.OutputKey("c1", "charts/talk.png")
	f.put(extra, []byte("png"))
	f.put(calls.OutputKey("c1", "notified-email.json"), []byte("{}"))
	c := f.client()
	csrf := f.login(c)
	recLink := f.link(c1.RecordingKey, time.Hour)

	resp, body := f.do(c, "GET", "/calls/c1/delete", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="confirm" value="yes"`) {
		t.Fatalf("confirmation page: %d", resp.StatusCode)
	}
	// Without the confirmation nothing happens.
	resp, _ = f.do(c, "POST", "/calls/c1/delete", url.Values{"csrf": {csrf}}, "Origin", f.ts.URL)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unconfirmed delete: %d", resp.StatusCode)
	}
	if _, err := f.store.GetCall(t.Context(), "c1"); err != nil {
		t.Fatal("unconfirmed delete deleted the call")
	}

	resp, _ = f.do(c, "POST", "/calls/c1/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}, "Origin", f.ts.URL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?deleted=1" {
		t.Fatalf("delete: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := f.store.GetCall(t.Context(), "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("call record after delete: %v", err)
	}
	if st, _ := f.store.Stages(t.Context(), "c1"); len(st) != 0 {
		t.Errorf("stage records after delete: %v", st)
	}
	for _, k := range []string{c1.RecordingKey, extra, calls.OutputKey("c1", "transcript.json"), calls.OutputKey("c1", "report.html"), calls.OutputKey("c1", "notified-email.json")} {
		if _, err := f.blob.Stat(t.Context(), k); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("object %s after delete: %v", k, err)
		}
	}
	if _, err := os.Stat(filepath.Join(f.blob.Dir(), "calls", "c1")); !os.IsNotExist(err) {
		t.Errorf("calls/c1 directory left behind: %v", err)
	}
	resp, _ = f.do(f.client(), "GET", recLink, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("link to the deleted recording: %d, want 404", resp.StatusCode)
	}
	_, body = f.do(c, "GET", "/?deleted=1", nil)
	if got := listed(body); fmt.Sprint(got) != "[c2]" || !strings.Contains(body, "was deleted") {
		t.Errorf("list after delete: %v", got)
	}
	// The other call is untouched.
	if _, err := f.blob.Stat(t.Context(), c2.RecordingKey); err != nil {
		t.Errorf("other call's recording: %v", err)
	}
	resp, _ = f.do(c, "POST", "/calls/c1/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}, "Origin", f.ts.URL)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleting again: %d, want 404", resp.StatusCode)
	}
}

func TestDeleteRefusedWhileBusy(t *testing.T) {
	f := newFixture(t, "")
	f.seedCall("c1", "+1", f.clock.Now())
	f.addCall("live", store.DirectionInbound, "+2", f.clock.Now())
	live, err := f.store.GetCall(t.Context(), "live")
	if err != nil {
		t.Fatal(err)
	}
	live.Status, live.EndedAt = store.StatusActive, nil
	if err := f.store.UpdateCall(t.Context(), live); err != nil {
		t.Fatal(err)
	}
	if err := f.store.SaveStage(t.Context(), &store.Stage{CallID: "c1", Name: "notify", State: store.StageRunning}); err != nil {
		t.Fatal(err)
	}
	c := f.client()
	csrf := f.login(c)
	for _, id := range []string{"c1", "live"} {
		resp, body := f.do(c, "POST", "/calls/"+id+"/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}, "Origin", f.ts.URL)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Not deleted") {
			t.Errorf("delete %s: %d", id, resp.StatusCode)
		}
		if _, err := f.store.GetCall(t.Context(), id); err != nil {
			t.Errorf("%s deleted: %v", id, err)
		}
	}
}
