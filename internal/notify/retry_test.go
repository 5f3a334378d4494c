package notify

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestEmailAfterServerDown: a notification retried while the SMTP server
// is down goes out once when it is back, with links signed then (valid
// for the link lifetime from the send, not from the first attempt) and
// the date of the send; later retries send nothing.
func TestEmailAfterServerDown(t *testing.T) {
	b := newBlob(t)
	ctx := context.Background()
	port := freePort(t)
	now := testNow
	n := clockNotifier(t, b, emailTo(&mailpit{smtpPort: port}, TLSNone), nil, &now)
	outputs := testOutputs(t, b, nil)

	for range 3 {
		if err := n.Notify(ctx, testCall(), testDoc(), outputs); err == nil || IsPermanent(err) {
			t.Fatalf("Notify with the server down: %v, want a transient error", err)
		}
		now = now.Add(time.Hour)
	}
	// Back after more than a link lifetime: links made at the first
	// attempt would have expired.
	sentAt := testNow.Add(DefaultLinkTTL + 2*time.Hour)
	now = sentAt
	mp := startMailpitOn(t, port)
	if err := n.Notify(ctx, testCall(), testDoc(), outputs); err != nil {
		t.Fatalf("Notify with the server back: %v", err)
	}
	msgs := mp.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	text := msgs[0].Text
	s := newSigner(t)
	found := 0
	for _, u := range linkRE.FindAllString(text, -1) {
		tok := strings.TrimPrefix(u, testPublicURL+"/l/")
		found++
		if _, err := s.Verify(tok, sentAt.Add(DefaultLinkTTL-time.Second)); err != nil {
			t.Errorf("link %s does not work until a link lifetime after the send: %v", u, err)
		}
		if _, err := s.Verify(tok, sentAt.Add(DefaultLinkTTL+time.Second)); err == nil {
			t.Errorf("link %s works past a link lifetime after the send", u)
		}
	}
	if found == 0 {
		t.Fatalf("no links in the email:\n%s", text)
	}
	if want := "These links work until " + formatTime(sentAt.Add(DefaultLinkTTL), testZone); !strings.Contains(text, want) {
		t.Errorf("text lacks %q:\n%s", want, text)
	}
	// The pipeline retrying the stage again (the webhook failing, or a
	// crash before the stage was recorded) sends nothing more.
	for range 2 {
		now = now.Add(time.Hour)
		if err := n.Notify(ctx, testCall(), testDoc(), outputs); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(mp.messages(t)); got != 1 {
		t.Errorf("%d messages after more retries, want 1", got)
	}
}
