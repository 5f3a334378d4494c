package notify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
)

func TestNewValidates(t *testing.T) {
	okEmail := func() *EmailConfig {
		return &EmailConfig{To: "owner@example.org", From: "callrec@example.org", Host: "smtp.example.org", PublicURL: testPublicURL}
	}
	okHook := func() *WebhookConfig {
		return &WebhookConfig{URL: "https://hooks.example.org/x", Secret: hookSecret, PublicURL: testPublicURL}
	}
	tests := []struct {
		name  string
		email func(*EmailConfig)
		hook  func(*WebhookConfig)
		none  bool
		want  string // "" means valid
	}{
		{name: "email ok"},
		{name: "nothing configured", none: true, want: "configure notify.email or notify.webhook"},
		{name: "no to", email: func(c *EmailConfig) { c.To = " " }, want: "notify.email.to is empty"},
		{name: "bad to", email: func(c *EmailConfig) { c.To = "owner" }, want: "notify.email.to"},
		{name: "two recipients", email: func(c *EmailConfig) { c.To = "a@example.org, B <b@example.org>" }},
		{name: "no from", email: func(c *EmailConfig) { c.From = "" }, want: "notify.email.from is empty"},
		{name: "bad from", email: func(c *EmailConfig) { c.From = "callrec@" }, want: "notify.email.from"},
		{name: "no host", email: func(c *EmailConfig) { c.Host = "" }, want: "notify.email.smtp.host"},
		{name: "host with port", email: func(c *EmailConfig) { c.Host = "smtp.example.org:25" }, want: "notify.email.smtp.host"},
		{name: "IPv6 host", email: func(c *EmailConfig) { c.Host = "::1" }},
		{name: "bad tls", email: func(c *EmailConfig) { c.TLS = "ssl" }, want: "notify.email.smtp.tls \"ssl\" is not one of none, starttls, tls"},
		{name: "bad port", email: func(c *EmailConfig) { c.Port = 70000 }, want: "notify.email.smtp.port"},
		{name: "password without user", email: func(c *EmailConfig) { c.Password = "x" }, want: "username is empty"},
		{name: "no public url", email: func(c *EmailConfig) { c.PublicURL = "" }, want: "public_url is empty"},
		{name: "bad public url", email: func(c *EmailConfig) { c.PublicURL = "calls.example.org" }, want: "public_url \"calls.example.org\""},
		{name: "negative ttl", email: func(c *EmailConfig) { c.LinkTTL = -time.Hour }, want: "negative"},
		{name: "webhook ok", none: true, hook: func(*WebhookConfig) {}},
		{name: "webhook no url", none: true, hook: func(c *WebhookConfig) { c.URL = "" }, want: "notify.webhook.url is empty"},
		{name: "webhook bad url", none: true, hook: func(c *WebhookConfig) { c.URL = "ftp://x/y" }, want: "notify.webhook.url"},
		{name: "webhook no secret", none: true, hook: func(c *WebhookConfig) { c.Secret = nil }, want: "notify.webhook.secret is empty"},
		{name: "webhook negative attempts", none: true, hook: func(c *WebhookConfig) { c.MaxAttempts = -1 }, want: "negative"},
		{name: "webhook no public url", none: true, hook: func(c *WebhookConfig) { c.PublicURL = "" }, want: "public_url is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Signer: newSigner(t), Blob: newBlob(t)}
			if !tt.none {
				cfg.Email = okEmail()
				if tt.email != nil {
					tt.email(cfg.Email)
				}
			}
			if tt.hook != nil {
				cfg.Webhook = okHook()
				tt.hook(cfg.Webhook)
			}
			n, err := New(cfg)
			if tt.want == "" {
				if err != nil || n == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v; want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("signer and blob required", func(t *testing.T) {
		if _, err := New(Config{Email: okEmail(), Blob: newBlob(t)}); err == nil {
			t.Error("no signer accepted")
		}
		if _, err := New(Config{Email: okEmail(), Signer: newSigner(t)}); err == nil {
			t.Error("no blob store accepted")
		}
	})
}

func TestEmailDefaults(t *testing.T) {
	tests := []struct {
		tls      string
		wantTLS  string
		wantPort int
	}{
		{"", TLSStartTLS, 587},
		{TLSNone, TLSNone, 25},
		{TLSStartTLS, TLSStartTLS, 587},
		{TLSImplicit, TLSImplicit, 465},
	}
	for _, tt := range tests {
		e, err := newEmailSender(EmailConfig{To: "a@example.org", From: "b@example.org", Host: "h", TLS: tt.tls, PublicURL: testPublicURL})
		if err != nil {
			t.Fatal(err)
		}
		if e.cfg.TLS != tt.wantTLS || e.cfg.Port != tt.wantPort || e.cfg.LinkTTL != DefaultLinkTTL || e.cfg.Timeout != DefaultEmailTimeout {
			t.Errorf("TLS %q: got %q port %d ttl %s timeout %s", tt.tls, e.cfg.TLS, e.cfg.Port, e.cfg.LinkTTL, e.cfg.Timeout)
		}
	}
}

func TestNotifyRejectsBadCallID(t *testing.T) {
	r := newReceiver(t, "", 200)
	n := newNotifier(t, newBlob(t), nil, r.config())
	for _, id := range []string{"", "..", "a/b", "../x"} {
		call := testCall()
		call.ID = id
		if err := n.Notify(context.Background(), call, nil, nil); err == nil || !IsPermanent(err) {
			t.Errorf("call id %q: %v", id, err)
		}
	}
	if err := n.Notify(context.Background(), nil, nil, nil); !IsPermanent(err) {
		t.Errorf("nil call: %v", err)
	}
	if r.count() != 0 {
		t.Errorf("%d requests for bad calls", r.count())
	}
}

func TestSubject(t *testing.T) {
	tests := []struct {
		party string
		ms    int64
		want  string
	}{
		{"+12125550123", 245000, "Call with +12125550123 (4 min 05 s)"},
		{"", 245000, "Call with an unknown number (4 min 05 s)"},
		{"  \t", 1000, "Call with an unknown number (1 s)"},
		{"anonymous", 0, "Call with anonymous (0 s)"},
		{"+1\r\nBcc: x@example.org", 3_725_000, "Call with +1 Bcc: x@example.org (1 h 02 min)"},
		{strings.Repeat("9", 100), 59_600, "Call with " + strings.Repeat("9", 64) + "… (1 min)"},
	}
	for _, tt := range tests {
		got := subject(&store.Call{Party: tt.party}, Summary{DurationMillis: tt.ms})
		if got != tt.want {
			t.Errorf("subject(%q, %d ms) = %q, want %q", tt.party, tt.ms, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name    string
		call    func(*store.Call)
		doc     *transcript.Document
		wantMS  int64
		wantPct [3]float64
		issues  int
	}{
		{"full", nil, testDoc(), 245000, [3]float64{45, 40, 15}, 4},
		{"no doc: recording length", nil, nil, 245000, [3]float64{}, 0},
		{"no doc, no recording length: answered to end", func(c *store.Call) { c.RecordingDurationMS = 0 }, nil, 245000, [3]float64{}, 0},
		{"nothing known", func(c *store.Call) { c.RecordingDurationMS = 0; c.AnsweredAt = nil }, nil, 0, [3]float64{}, 0},
		{"empty doc falls back to the call", nil, &transcript.Document{}, 245000, [3]float64{}, 0},
		{"doc duration from turns", nil, &transcript.Document{Transcript: []transcript.Turn{{ParticipantRole: transcript.Agent, EndOffsetMillis: 10000}}}, 10000, [3]float64{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call := testCall()
			if tt.call != nil {
				tt.call(call)
			}
			s := summarize(call, tt.doc)
			if s.DurationMillis != tt.wantMS {
				t.Errorf("duration %d ms, want %d", s.DurationMillis, tt.wantMS)
			}
			if got := [3]float64{s.TalkSplit.OwnerPercent, s.TalkSplit.OtherPercent, s.TalkSplit.SilencePercent}; got != tt.wantPct {
				t.Errorf("split %v, want %v", got, tt.wantPct)
			}
			if len(s.Issues) != tt.issues || s.Issues == nil || s.Categories == nil {
				t.Errorf("issues %v (want %d), categories %v", s.Issues, tt.issues, s.Categories)
			}
		})
	}
}

func TestIssues(t *testing.T) {
	doc := testDoc()
	got := issues(doc, 3)
	want := []Issue{
		{"my order never arrived", "other", 5000},
		{"I was charged twice", "other", 5000},
		{"Lieferung für München kam nie an", "other", 65000},
	}
	if len(got) != len(want) {
		t.Fatalf("issues = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("issue %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// Bad offsets never panic and yield nothing.
	bad := &transcript.Document{Transcript: []transcript.Turn{{ParticipantRole: transcript.Agent, Content: "short",
		IssuesDetected: []transcript.Detection{{CharacterOffsets: transcript.CharacterOffsets{Begin: 10, End: 20}}, {CharacterOffsets: transcript.CharacterOffsets{Begin: -5, End: 2}}}}}}
	if got := issues(bad, 3); len(got) != 1 || got[0].Text != "sh" || got[0].Speaker != "owner" {
		t.Errorf("bad offsets: %+v", got)
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		part, whole int64
		want        float64
	}{
		{0, 0, 0}, {5, 0, 0}, {-5, 10, 0}, {1, 3, 33.3}, {2, 3, 66.7}, {11, 10, 100}, {110250, 245000, 45},
	}
	for _, tt := range tests {
		if got := percent(tt.part, tt.whole); got != tt.want {
			t.Errorf("percent(%d, %d) = %v, want %v", tt.part, tt.whole, got, tt.want)
		}
	}
}

func TestLinksOrderAndInvalidKeys(t *testing.T) {
	m := &message{
		downloads: []calls.Download{
			{Name: "report.pdf", Label: "Report (PDF)", Key: "calls/x/report.pdf"},
			{Name: "recording", Label: "Recording (WAV)", Key: "recordings/2026/03/03/x.wav"},
			{Name: "evil", Label: "evil", Key: "../../etc/passwd"},
			{Name: "transcript.json", Label: "Transcript (JSON)", Key: "calls/x/transcript.json"},
			{Name: "empty", Label: "empty", Key: ""},
			{Name: "alpha", Label: "alpha", Key: "calls/x/alpha.txt"},
		},
		log: testLogger(t),
	}
	var names []string
	for _, l := range m.links(newSigner(t), testPublicURL, testNow.Add(time.Hour)) {
		names = append(names, l.Name)
	}
	want := "report.pdf recording transcript.json alpha"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("links %q, want %q", got, want)
	}
}

func TestMarkerCheckFailureDoesNotSend(t *testing.T) {
	r := newReceiver(t, "", 200)
	n := newNotifier(t, failingStat{newBlob(t)}, nil, r.config())
	err := n.Notify(context.Background(), testCall(), testDoc(), nil)
	if err == nil || !strings.Contains(err.Error(), "already sent") || IsPermanent(err) {
		t.Errorf("err = %v", err)
	}
	if r.count() != 0 {
		t.Errorf("sent although the marker could not be checked")
	}
}

// failingStat is a blob store whose Stat fails.
type failingStat struct{ blob.Store }

func (failingStat) Stat(context.Context, string) (blob.Info, error) {
	return blob.Info{}, errors.New("disk on fire")
}
