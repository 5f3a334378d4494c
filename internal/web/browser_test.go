package web

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/password"
	"github.com/callrec/callrec/internal/store"
)

// chromiumPath finds Debian's Chromium. Without it the browser tests skip,
// except on CI (CI=true), where they fail.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; CI needs the Debian package chromium")
	}
	t.Skip("chromium not installed (apt-get install chromium): skipping the browser test")
	return ""
}

// artifactsDir is where tests keep screenshots: $CALLREC_TEST_ARTIFACTS,
// or a temporary directory.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CALLREC_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts headless Chromium with a fresh profile and returns a
// tab's context. Every action the test runs is bounded by the test's
// deadline through actions run under timeouts of their own.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	profile, err := os.MkdirTemp("", "callrec-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		// Chromium's helper processes may still write to the profile for
		// a moment after the browser exits.
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// The first action starts the browser; it must not run under a
	// timeout, which would stop the browser when it ends.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// step runs actions with a time limit.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that returns a value, with a time limit.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// TestBrowser drives the call browser in headless Chromium: a wrong
// password is refused; the owner logs in, finds the call, plays its
// recording, reads its transcript, retries a failed stage and deletes the
// call.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	ctx := newBrowser(t)
	hash, err := password.Hash(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, hash)
	f.srv.now = time.Now // the browser checks cookies against the real clock
	c := f.seedCall("3f2c9a1e-5b7d-4e21-9c33-a8d4e6f10b25", "+12125550123", time.Now().Add(-2*time.Hour))
	f.addCall("older-call", store.DirectionInbound, "+442071234567", time.Now().Add(-26*time.Hour))
	art := artifactsDir(t)
	// shot saves a screenshot of the whole page. The viewport is made as
	// tall as the page first: a full-page capture beyond the viewport
	// leaves framed documents (the report) blank.
	shot := func(name string) {
		t.Helper()
		h := get(t, ctx, "page height", chromedp.Evaluate[int64](`Math.ceil(document.documentElement.scrollHeight)`))
		step(t, ctx, "resize", chromedp.EmulateViewport(1280, max(h, 800)), chromedp.Sleep(300*time.Millisecond))
		png := get(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot())
		step(t, ctx, "restore", chromedp.ResetViewport())
		p := filepath.Join(art, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// Not logged in: the call list sends us to the log-in form, where a
	// wrong password is refused.
	step(t, ctx, "open the calls", chromedp.Navigate(f.ts.URL+"/"), chromedp.WaitVisible(css("#password")))
	if loc := get(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "/login") {
		t.Fatalf("unauthenticated page went to %s, want the log-in", loc)
	}
	step(t, ctx, "wrong password",
		chromedp.SendKeys(css("#password"), "not the password"),
		chromedp.Submit(css("#password")),
		chromedp.WaitVisible(css(".alert-bad")))
	alert := get(t, ctx, "alert", chromedp.Text(css(".alert-bad")))
	if loc := get(t, ctx, "location", chromedp.Location()); !strings.Contains(alert, "Wrong password") || !strings.Contains(loc, "/login") {
		t.Fatalf("wrong password: alert %q at %s", alert, loc)
	}
	shot("login-refused.png")

	// The right password: the list shows the calls.
	// The refused form comes back with the password field empty.
	step(t, ctx, "log in",
		chromedp.SendKeys(css("#password"), testPassword),
		chromedp.Submit(css("#password")),
		chromedp.WaitVisible(css("table.calls")))
	list := get(t, ctx, "calls list", chromedp.Text(css("table.calls")))
	if !strings.Contains(list, "+12125550123") || !strings.Contains(list, "+442071234567") {
		t.Fatalf("calls list:\n%s", list)
	}
	shot("calls-list.png")

	// Open the call: the recording loads in the player, and the transcript
	// is on the page.
	step(t, ctx, "open the call",
		chromedp.Click(css(`a.rowlink[href="/calls/`+c.ID+`"]`)),
		chromedp.WaitVisible(css("#player")))
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = chromedp.Run(pctx, chromedp.Poll[bool](`(() => { const a = document.getElementById("player"); return a.readyState >= 1 && a.duration > 0; })()`))
	cancel()
	if err != nil {
		msg := get(t, ctx, "player error", chromedp.Evaluate[string](`(() => { const e = document.getElementById("player").error; return e ? e.code + " " + e.message : "no error, readyState " + document.getElementById("player").readyState; })()`))
		t.Fatalf("the recording did not load in the player: %v (%s)", err, msg)
	}
	if d := get(t, ctx, "duration", chromedp.Evaluate[float64](`document.getElementById("player").duration`)); d < 1.9 || d > 2.1 {
		t.Errorf("player duration %.3f s, want 2 s (the recording)", d)
	}
	text := get(t, ctx, "transcript", chromedp.Text(css("#transcript")))
	for _, want := range []string{ownerLine, partyLine} {
		if !strings.Contains(text, want) {
			t.Errorf("transcript on the page lacks %q:\n%s", want, text)
		}
	}
	if stages := get(t, ctx, "stages", chromedp.Text(css("table.stages"))); !strings.Contains(strings.ToLower(stages), "failed") {
		t.Errorf("stages table:\n%s", stages)
	}
	// The report is framed from a signed link and loads.
	if src := get(t, ctx, "report frame", chromedp.Evaluate[string](`document.querySelector("iframe.report").getAttribute("src")`)); !strings.HasPrefix(src, "/l/") {
		t.Errorf("report frame src %q, want a signed link", src)
	}
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	_, err = chromedp.Run(rctx, chromedp.Poll[bool](`performance.getEntriesByType("resource").some(e => e.initiatorType === "iframe" && e.name.includes("/l/") && e.responseStatus === 200)`))
	cancel()
	if err != nil {
		t.Errorf("the report frame did not load: %v", err)
	}
	shot("call-page.png")

	// Retry the failed stage.
	step(t, ctx, "retry",
		chromedp.Click(css(`button[data-retry="render"]`)),
		chromedp.WaitVisible(css(".alert-ok")))
	if got := f.retrier.Calls(); fmt.Sprint(got) != "["+c.ID+"/render]" {
		t.Fatalf("retrier calls %v, want the render stage of %s", got, c.ID)
	}
	if notice := get(t, ctx, "notice", chromedp.Text(css(".alert-ok"))); !strings.Contains(notice, "render") {
		t.Errorf("notice after retry: %q", notice)
	}

	// Delete the call, through the confirmation page.
	step(t, ctx, "delete", chromedp.Click(css("#delete-link")), chromedp.WaitVisible(css("#confirm-delete")))
	shot("delete-confirm.png")
	step(t, ctx, "confirm", chromedp.Click(css("#confirm-delete")), chromedp.WaitVisible(css(".alert-ok")))
	deleted := get(t, ctx, "notice", chromedp.Text(css(".alert-ok")))
	list = get(t, ctx, "calls list", chromedp.Text(css("table.calls")))
	if !strings.Contains(deleted, "deleted") || strings.Contains(list, "+12125550123") || !strings.Contains(list, "+442071234567") {
		t.Errorf("after delete: notice %q, list:\n%s", deleted, list)
	}
	if _, err := f.store.GetCall(context.Background(), c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("call record after delete: %v", err)
	}
	if _, err := f.blob.Stat(context.Background(), c.RecordingKey); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("recording after delete: %v", err)
	}
}
