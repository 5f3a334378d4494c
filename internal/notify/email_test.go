package notify

import (
	"bytes"
	"context"
	"errors"
	"html"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/store"
)

// emailTo returns an EmailConfig for the Mailpit server.
func emailTo(mp *mailpit, tls string) *EmailConfig {
	return &EmailConfig{
		To: "Owner <owner@example.org>", From: "callrec@example.org",
		Host: "127.0.0.1", Port: mp.smtpPort, TLS: tls,
		PublicURL: testPublicURL, Timeout: 10 * time.Second,
	}
}

func TestEmailDelivered(t *testing.T) {
	mp := startMailpit(t)
	b := newBlob(t)
	outputs := testOutputs(t, b, []byte("PK docx"))
	n := newNotifier(t, b, emailTo(mp, TLSNone), nil)
	ctx := context.Background()

	if err := n.Notify(ctx, testCall(), testDoc(), outputs); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	msgs := mp.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if want := "Call with +12125550123 (4 min 05 s)"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	if len(m.To) != 1 || m.To[0].Address != "owner@example.org" || m.From.Address != "callrec@example.org" {
		t.Errorf("from %v to %v", m.From, m.To)
	}
	for _, want := range []string{
		"Direction:  dialled out",
		"Party:      +12125550123",
		"When:       Tue 3 Mar 2026, 15:05 CET",
		"Duration:   4 min 05 s",
		"Talk split: you 45%, other party 40%, silence 15%",
		`- "my order never arrived" (other party, 0:05)`,
		`- "I was charged twice" (other party, 0:05)`,
		`- "Lieferung für München kam nie an" (other party, 1:05)`,
		"These links work until Tue 10 Mar 2026, 15:30 CET.",
		"Call page (sign-in required): " + testPublicURL + "/calls/" + testCallID,
		"Report (Word):",
		"Recording (WAV):",
	} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text body lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "refund") {
		t.Errorf("text body shows a fourth issue:\n%s", m.Text)
	}
	// Links: every download (the Word and web reports, the recording and
	// the transcript JSON), signed, each verifying with the signer; the
	// call page is not signed.
	found := verifyLinks(t, m.Text, outputs)
	for _, name := range []string{"report.html", "report.docx", "recording", "transcript.json"} {
		if !found[keyOf(outputs, name)] {
			t.Errorf("text body has no signed link to %s (%s)", name, keyOf(outputs, name))
		}
	}
	if htmlFound := verifyLinks(t, m.HTML, outputs); len(htmlFound) != len(found) {
		t.Errorf("HTML body links %d files, text body %d", len(htmlFound), len(found))
	}
	for _, want := range []string{"Call with +12125550123 (4 min 05 s)", "dialled out", "you 45% · other party 40% · silence 15%", "Lieferung für München kam nie an", `href="` + testPublicURL + `/calls/` + testCallID + `"`} {
		if !strings.Contains(html.UnescapeString(m.HTML), want) {
			t.Errorf("HTML body lacks %q:\n%s", want, m.HTML)
		}
	}
	if len(m.Attachments) != 0 {
		t.Errorf("attachments without Attach: %+v", m.Attachments)
	}
	h := mp.headers(t, m.ID)
	if got := h["Auto-Submitted"]; len(got) != 1 || got[0] != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", got)
	}
	if got := h["X-Callrec-Call-Id"]; len(got) != 1 || got[0] != testCallID {
		t.Errorf("X-Callrec-Call-Id = %q", got)
	}

	// The marker is written; a second Notify sends nothing, even through a
	// notifier whose server is down (it does not even connect).
	if _, err := b.Stat(ctx, calls.MarkerKey(testCallID, ChannelEmail)); err != nil {
		t.Errorf("no sent marker: %v", err)
	}
	if _, err := b.Stat(ctx, calls.OutputKey(testCallID, calls.Notification)); err != nil {
		t.Errorf("no notification record: %v", err)
	}
	if err := n.Notify(ctx, testCall(), testDoc(), outputs); err != nil {
		t.Fatalf("second Notify: %v", err)
	}
	down := *emailTo(mp, TLSNone)
	down.Port = freePort(t)
	if err := newNotifier(t, b, &down, nil).Notify(ctx, testCall(), testDoc(), outputs); err != nil {
		t.Fatalf("Notify after success, server down: %v", err)
	}
	if msgs := mp.messages(t); len(msgs) != 1 {
		t.Errorf("%d messages after repeated Notify, want 1", len(msgs))
	}
}

func TestEmailAttachment(t *testing.T) {
	mp := startMailpit(t)
	docx := append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0, 1, 2, 0xff}, 5000)...)
	tests := []struct {
		name     string
		docx     []byte
		deleteIt bool
		want     bool
	}{
		{"docx attached", docx, false, true},
		{"no docx output", nil, false, false},
		{"docx output missing in the store", docx, true, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBlob(t)
			call := testCall()
			call.ID = "attach-" + strconv.Itoa(i)
			outputs := callOutputs(t, b, call, tt.docx)
			if tt.deleteIt {
				if err := b.Delete(context.Background(), keyOf(outputs, "report.docx")); err != nil {
					t.Fatal(err)
				}
			}
			cfg := emailTo(mp, TLSNone)
			cfg.Attach = true
			if err := newNotifier(t, b, cfg, nil).Notify(context.Background(), call, testDoc(), outputs); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			var m *mpMessage
			for _, x := range mp.messages(t) {
				if x.Text != "" && strings.Contains(x.Text, "/calls/"+call.ID) {
					m = &x
				}
			}
			if m == nil {
				t.Fatal("message not found")
			}
			if !tt.want {
				if len(m.Attachments) != 0 {
					t.Errorf("attachments %+v, want none", m.Attachments)
				}
				return
			}
			if len(m.Attachments) != 1 {
				t.Fatalf("attachments %+v, want the DOCX", m.Attachments)
			}
			a := m.Attachments[0]
			if a.FileName != "call-2026-03-03-1505-+12125550123.docx" || a.ContentType != docxType {
				t.Errorf("attachment %q (%s)", a.FileName, a.ContentType)
			}
			if got := mp.part(t, m.ID, a.PartID); !bytes.Equal(got, tt.docx) {
				t.Errorf("attachment is %d bytes, differs from the DOCX (%d bytes)", len(got), len(tt.docx))
			}
			if !strings.Contains(m.Text, "The Word report is attached ("+a.FileName+")") {
				t.Errorf("text body does not mention the attachment:\n%s", m.Text)
			}
		})
	}
}

func TestEmailUnknownPartyAndEscaping(t *testing.T) {
	mp := startMailpit(t)
	b := newBlob(t)
	tests := []struct {
		name, party, subject string
		htmlWants            []string
		htmlNots             []string
	}{
		{"unknown party", "", "Call with an unknown number (4 min 05 s)", []string{"unknown (number withheld)"}, nil},
		{"markup in party", `<img src=x onerror=alert(1)>`, "Call with <img src=x onerror=alert(1)> (4 min 05 s)",
			[]string{"&lt;img src=x onerror=alert(1)&gt;"}, []string{"<img"}},
		{"header injection", "+1555\r\nBcc: victim@example.org", "Call with +1555 Bcc: victim@example.org (4 min 05 s)", nil, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call := testCall()
			call.ID = "esc-" + strconv.Itoa(i)
			call.Party = tt.party
			call.Direction = "inbound"
			if err := newNotifier(t, b, emailTo(mp, TLSNone), nil).Notify(context.Background(), call, nil, []calls.Download{{Name: calls.Recording, Label: "Recording (WAV)", Key: call.RecordingKey}}); err != nil {
				t.Fatal(err)
			}
			var m *mpMessage
			for _, x := range mp.messages(t) {
				if strings.Contains(x.Text, "/calls/"+call.ID) {
					m = &x
				}
			}
			if m == nil {
				t.Fatal("message not found")
			}
			if m.Subject != tt.subject {
				t.Errorf("subject %q, want %q", m.Subject, tt.subject)
			}
			if len(m.To) != 1 {
				t.Errorf("recipients %v", m.To)
			}
			if !strings.Contains(m.Text, "Direction:  called in") || strings.Contains(m.Text, "Talk split") || strings.Contains(m.Text, "Top issues") {
				t.Errorf("text body:\n%s", m.Text)
			}
			for _, w := range tt.htmlWants {
				if !strings.Contains(m.HTML, w) {
					t.Errorf("HTML lacks %q:\n%s", w, m.HTML)
				}
			}
			for _, w := range tt.htmlNots {
				if strings.Contains(m.HTML, w) {
					t.Errorf("HTML contains %q:\n%s", w, m.HTML)
				}
			}
		})
	}
}

func TestEmailStartTLSAuth(t *testing.T) {
	cert, key := selfSignedCert(t)
	mp := startMailpit(t, "--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-starttls",
		"--smtp-auth-file", authFile(t, "owner", "correct-horse"))
	b := newBlob(t)
	outputs := testOutputs(t, b, nil)
	ctx := context.Background()

	cfg := emailTo(mp, TLSStartTLS)
	cfg.Username, cfg.Password = "owner", "wrong"
	cfg.InsecureSkipVerify = true
	err := newNotifier(t, b, cfg, nil).Notify(ctx, testCall(), testDoc(), outputs)
	if err == nil || !strings.Contains(err.Error(), "login refused") || !strings.Contains(err.Error(), "notify.email.smtp.username/password") || !IsPermanent(err) {
		t.Errorf("wrong password: %v (permanent %v)", err, IsPermanent(err))
	}

	cfg = emailTo(mp, TLSStartTLS)
	cfg.Username, cfg.Password = "owner", "correct-horse"
	err = newNotifier(t, b, cfg, nil).Notify(ctx, testCall(), testDoc(), outputs)
	if err == nil || !strings.Contains(err.Error(), "certificate not trusted") || !IsPermanent(err) {
		t.Errorf("self-signed certificate without InsecureSkipVerify: %v", err)
	}

	cfg.InsecureSkipVerify = true
	if err := newNotifier(t, b, cfg, nil).Notify(ctx, testCall(), testDoc(), outputs); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	msgs := mp.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	if msgs[0].Subject != "Call with +12125550123 (4 min 05 s)" {
		t.Errorf("subject %q", msgs[0].Subject)
	}
	// The server requires a login (so the message above logged in).
	cfg.Username, cfg.Password = "", ""
	err = newNotifier(t, newBlob(t), cfg, nil).Notify(ctx, testCall(), testDoc(), outputs)
	if err == nil || !strings.Contains(err.Error(), "requires a login") || !IsPermanent(err) {
		t.Errorf("no credentials: %v", err)
	}
	verifyLinks(t, msgs[0].Text, outputs)

	// A server without STARTTLS is an error in starttls mode, never a
	// silent fall back to plain text.
	plain := startMailpit(t)
	err = newNotifier(t, newBlob(t), emailTo(plain, TLSStartTLS), nil).Notify(ctx, testCall(), testDoc(), outputs)
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Errorf("starttls to a plain server: %v", err)
	}
}

func TestEmailImplicitTLS(t *testing.T) {
	cert, key := selfSignedCert(t)
	mp := startMailpit(t, "--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-tls",
		"--smtp-auth-file", authFile(t, "owner", "pw"))
	ctx := context.Background()
	b := newBlob(t)
	outputs := testOutputs(t, b, []byte("docx"))
	cfg := emailTo(mp, TLSImplicit)
	cfg.Username, cfg.Password, cfg.InsecureSkipVerify, cfg.Attach = "owner", "pw", true, true
	if err := newNotifier(t, b, cfg, nil).Notify(ctx, testCall(), testDoc(), outputs); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	msgs := mp.messages(t)
	if len(msgs) != 1 || len(msgs[0].Attachments) != 1 {
		t.Fatalf("messages: %+v", msgs)
	}

	// starttls against a TLS port: both sides wait; the timeout says what
	// to check.
	cfg = emailTo(mp, TLSStartTLS)
	cfg.Timeout = time.Second
	err := newNotifier(t, newBlob(t), cfg, nil).Notify(ctx, testCall(), testDoc(), outputs)
	if err == nil || !strings.Contains(err.Error(), "timed out") || !strings.Contains(err.Error(), "465: tls") || IsPermanent(err) {
		t.Errorf("starttls to a TLS port: %v", err)
	}
}

func TestEmailAuthWithoutTLSOnLoopback(t *testing.T) {
	mp := startMailpit(t, "--smtp-auth-file", authFile(t, "owner", "pw"), "--smtp-auth-allow-insecure")
	b := newBlob(t)
	cfg := emailTo(mp, TLSNone)
	cfg.Username, cfg.Password = "owner", "pw"
	if err := newNotifier(t, b, cfg, nil).Notify(context.Background(), testCall(), testDoc(), testOutputs(t, b, nil)); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if msgs := mp.messages(t); len(msgs) != 1 {
		t.Fatalf("messages: %+v", msgs)
	}
}

func TestEmailTLSToPlainServer(t *testing.T) {
	mp := startMailpit(t)
	cfg := emailTo(mp, TLSImplicit)
	cfg.Timeout = 5 * time.Second
	b := newBlob(t)
	err := newNotifier(t, b, cfg, nil).Notify(context.Background(), testCall(), testDoc(), testOutputs(t, b, nil))
	if err == nil || !strings.Contains(err.Error(), "does not speak TLS") {
		t.Errorf("tls to a plain server: %v", err)
	}
}

func TestEmailConnectionRefused(t *testing.T) {
	port := freePort(t)
	b := newBlob(t)
	cfg := &EmailConfig{To: "owner@example.org", From: "callrec@example.org", Host: "127.0.0.1", Port: port, TLS: TLSNone, PublicURL: testPublicURL}
	n := newNotifier(t, b, cfg, nil)
	err := n.Notify(context.Background(), testCall(), testDoc(), testOutputs(t, b, nil))
	want := "smtp 127.0.0.1:" + strconv.Itoa(port) + ": connection refused; check notify.email.smtp.host/port"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if IsPermanent(err) {
		t.Error("connection refused is permanent; it should be retried")
	}
	if _, err := b.Stat(context.Background(), calls.MarkerKey(testCallID, ChannelEmail)); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("marker after a failed send: %v", err)
	}
}

func TestEmailContextCanceled(t *testing.T) {
	b := newBlob(t)
	cfg := &EmailConfig{To: "owner@example.org", From: "callrec@example.org", Host: "127.0.0.1", Port: freePort(t), TLS: TLSNone, PublicURL: testPublicURL}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := newNotifier(t, b, cfg, nil).Notify(ctx, testCall(), testDoc(), testOutputs(t, b, nil))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestEmailIncompleteRecording: the email of a call whose recording is not
// the whole call says so, in the subject and the body; a complete one
// does not.
func TestEmailIncompleteRecording(t *testing.T) {
	mp := startMailpit(t)
	tests := []struct {
		state, subject, note string
	}{
		{store.RecordingPartial, "Call with +12125550123 (4 min 05 s, recording incomplete)", "The recording is incomplete: the call ended abnormally"},
		{store.RecordingTruncated, "Call with +12125550123 (4 min 05 s, recording cut short)", "The recording was cut short: the server's disk filled up during the call"},
		{store.RecordingComplete, "Call with +12125550123 (4 min 05 s)", ""},
	}
	for i, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			b := newBlob(t)
			call := testCall()
			call.ID = "state-" + strconv.Itoa(i)
			call.RecordingState = tt.state
			if err := newNotifier(t, b, emailTo(mp, TLSNone), nil).Notify(context.Background(), call, testDoc(), callOutputs(t, b, call, nil)); err != nil {
				t.Fatal(err)
			}
			var m *mpMessage
			for _, x := range mp.messages(t) {
				if strings.Contains(x.Text, "/calls/"+call.ID) {
					m = &x
				}
			}
			if m == nil {
				t.Fatal("message not found")
			}
			if m.Subject != tt.subject {
				t.Errorf("subject %q, want %q", m.Subject, tt.subject)
			}
			if tt.note == "" {
				if strings.Contains(m.Text, "Note:") || strings.Contains(m.Text, "recording is incomplete") {
					t.Errorf("a complete recording's email has a note:\n%s", m.Text)
				}
				return
			}
			if !strings.Contains(m.Text, "Note: "+tt.note) {
				t.Errorf("text body lacks %q:\n%s", tt.note, m.Text)
			}
			if !strings.Contains(html.UnescapeString(m.HTML), tt.note) {
				t.Errorf("HTML body lacks %q:\n%s", tt.note, m.HTML)
			}
		})
	}
}
