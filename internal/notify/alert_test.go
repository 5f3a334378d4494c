package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/blob"
)

// alertMessages returns Mailpit's messages that are alerts of kind.
func alertMessages(t *testing.T, mp *mailpit, kind string) []mpMessage {
	t.Helper()
	var out []mpMessage
	for _, m := range mp.messages(t) {
		if h := mp.headers(t, m.ID)["X-Callrec-Alert"]; len(h) == 1 && h[0] == kind {
			out = append(out, m)
		}
	}
	return out
}

// TestAlert: an owner alert is emailed once per kind per interval, also
// across a restart (its marker in the blob store), and again once the
// interval has passed; kinds are independent.
func TestAlert(t *testing.T) {
	mp := startMailpit(t)
	b := newBlob(t)
	ctx := context.Background()
	now := testNow
	n := clockNotifier(t, b, emailTo(mp, TLSNone), nil, &now)
	disk := Alert{Kind: "disk-space", Subject: "Disk nearly full", Text: "Only 2% of the disk holding data_dir is free.\nFree some space."}

	if err := n.Alert(ctx, disk); err != nil {
		t.Fatalf("Alert: %v", err)
	}
	msgs := alertMessages(t, mp, "disk-space")
	if len(msgs) != 1 {
		t.Fatalf("%d alert messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Subject != "Disk nearly full" || len(m.To) != 1 || m.To[0].Address != "owner@example.org" {
		t.Errorf("alert to %v, subject %q", m.To, m.Subject)
	}
	text := strings.ReplaceAll(m.Text, "\r\n", "\n")
	for _, want := range []string{disk.Text + "\n", "at most once every 24 h 00 min", testPublicURL} {
		if !strings.Contains(text, want) {
			t.Errorf("alert text lacks %q:\n%s", want, m.Text)
		}
	}
	if h := mp.headers(t, m.ID)["Auto-Submitted"]; len(h) != 1 || h[0] != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", h)
	}
	rc, err := b.Open(ctx, AlertKey("disk-space"))
	if err != nil {
		t.Fatalf("no alert marker: %v", err)
	}
	var mk AlertMarker
	err = json.NewDecoder(rc).Decode(&mk)
	rc.Close()
	if err != nil || mk.Kind != "disk-space" || !mk.SentAt.Equal(testNow) || mk.To != "\"Owner\" <owner@example.org>" {
		t.Errorf("marker %+v (%v)", mk, err)
	}
	if AlertKey("disk-space") != "system/alerts/disk-space.json" {
		t.Errorf("AlertKey = %q", AlertKey("disk-space"))
	}

	// Within the interval: not again, not after a restart either.
	now = testNow.Add(time.Hour)
	if err := n.Alert(ctx, disk); err != nil {
		t.Fatal(err)
	}
	now = testNow.Add(23 * time.Hour)
	if err := clockNotifier(t, b, emailTo(mp, TLSNone), nil, &now).Alert(ctx, disk); err != nil {
		t.Fatal(err)
	}
	if got := len(alertMessages(t, mp, "disk-space")); got != 1 {
		t.Errorf("%d disk-space alerts within the interval, want 1", got)
	}
	// Another kind is sent; the default subject names it.
	if err := n.Alert(ctx, Alert{Kind: "queue_stuck", Text: "Stages have waited for an hour."}); err != nil {
		t.Fatal(err)
	}
	if got := alertMessages(t, mp, "queue_stuck"); len(got) != 1 || got[0].Subject != "callrec alert: queue_stuck" {
		t.Errorf("queue_stuck alerts %+v, want one with the default subject", got)
	}
	// Once the interval has passed, it is sent again.
	now = testNow.Add(24*time.Hour + time.Minute)
	if err := n.Alert(ctx, disk); err != nil {
		t.Fatal(err)
	}
	if got := len(alertMessages(t, mp, "disk-space")); got != 2 {
		t.Errorf("%d disk-space alerts after the interval, want 2", got)
	}
}

// TestAlertInterval: Config.AlertInterval sets the interval.
func TestAlertInterval(t *testing.T) {
	mp := startMailpit(t)
	b := newBlob(t)
	now := testNow
	n, err := New(Config{Email: emailTo(mp, TLSNone), Signer: newSigner(t), Blob: b, Logger: testLogger(t),
		Now: func() time.Time { return now }, AlertInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a := Alert{Kind: "disk-space", Subject: "Disk nearly full", Text: "2% free"}
	for _, at := range []time.Duration{0, 59 * time.Minute, time.Hour, 90 * time.Minute} {
		now = testNow.Add(at)
		if err := n.Alert(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(alertMessages(t, mp, "disk-space")); got != 2 {
		t.Errorf("%d alerts at 0, 59, 60 and 90 min with an hourly interval, want 2", got)
	}
	if _, err := New(Config{Email: emailTo(mp, TLSNone), Signer: newSigner(t), Blob: b, AlertInterval: -time.Second}); err == nil {
		t.Error("a negative alert interval was accepted")
	}
}

// TestAlertServerDown: an alert that could not be sent is not remembered,
// so the next one is sent when the server is back.
func TestAlertServerDown(t *testing.T) {
	b := newBlob(t)
	ctx := context.Background()
	now := testNow
	port := freePort(t)
	cfg := emailTo(&mailpit{smtpPort: port}, TLSNone)
	n := clockNotifier(t, b, cfg, nil, &now)
	a := Alert{Kind: "disk-space", Subject: "Disk nearly full", Text: "2% free"}
	err := n.Alert(ctx, a)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || IsPermanent(err) {
		t.Fatalf("Alert with the server down: %v, want a transient connection refused", err)
	}
	if _, err := b.Stat(ctx, AlertKey("disk-space")); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("marker after a failed alert: %v", err)
	}
	mp := startMailpitOn(t, port)
	now = now.Add(time.Minute)
	if err := n.Alert(ctx, a); err != nil {
		t.Fatalf("Alert with the server back: %v", err)
	}
	if got := len(alertMessages(t, mp, "disk-space")); got != 1 {
		t.Errorf("%d alerts, want 1", got)
	}
}

// fullDisk is a blob store where nothing can be written under system/.
type fullDisk struct{ blob.Store }

func (f fullDisk) Put(ctx context.Context, key string, r io.Reader) error {
	if strings.HasPrefix(key, "system/") {
		return errors.New("write " + key + ": no space left on device")
	}
	return f.Store.Put(ctx, key, r)
}

// TestAlertMarkerNotWritten: when the marker cannot be written (the disk
// the alert is about is full), the alert is still sent once per interval.
func TestAlertMarkerNotWritten(t *testing.T) {
	mp := startMailpit(t)
	now := testNow
	n := clockNotifier(t, fullDisk{newBlob(t)}, emailTo(mp, TLSNone), nil, &now)
	a := Alert{Kind: "disk-space", Subject: "Disk full", Text: "0% free"}
	for range 3 {
		if err := n.Alert(context.Background(), a); err != nil {
			t.Fatalf("Alert: %v", err)
		}
		now = now.Add(time.Minute)
	}
	if got := len(alertMessages(t, mp, "disk-space")); got != 1 {
		t.Errorf("%d alerts without a marker, want 1", got)
	}
}

// TestAlertWithoutEmail: without email, Alert sends nothing and returns
// nil; LogNotifier logs it; an invalid kind is refused.
func TestAlertWithoutEmail(t *testing.T) {
	b := newBlob(t)
	ctx := context.Background()
	a := Alert{Kind: "disk-space", Subject: "Disk nearly full", Text: "2% free"}
	hook := &WebhookConfig{URL: "http://127.0.0.1:1/hook", Secret: []byte("0123456789abcdef"), PublicURL: testPublicURL}
	if err := newNotifier(t, b, nil, hook).Alert(ctx, a); err != nil {
		t.Errorf("Alert with only a webhook: %v, want nil", err)
	}
	if _, err := b.Stat(ctx, AlertKey("disk-space")); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("marker without email: %v", err)
	}

	var logs bytes.Buffer
	ln := LogNotifier{Blob: b, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	var alerter Alerter = ln
	if err := alerter.Alert(ctx, a); err != nil {
		t.Errorf("LogNotifier.Alert: %v", err)
	}
	if !strings.Contains(logs.String(), "Disk nearly full") || !strings.Contains(logs.String(), "alert=disk-space") {
		t.Errorf("LogNotifier.Alert logged %q", logs.String())
	}

	for _, kind := range []string{"", "../x", "a/b", "disk space", "x.json", strings.Repeat("k", 65)} {
		if err := newNotifier(t, b, nil, hook).Alert(ctx, Alert{Kind: kind}); err == nil || !IsPermanent(err) {
			t.Errorf("Alert kind %q: %v, want a permanent error", kind, err)
		}
		if err := ln.Alert(ctx, Alert{Kind: kind}); err == nil {
			t.Errorf("LogNotifier.Alert kind %q accepted", kind)
		}
	}
}
