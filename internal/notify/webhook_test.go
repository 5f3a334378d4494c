package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/transcript"
)

var hookSecret = []byte("webhook-shared-secret")

// receiver is a webhook receiver that verifies every request and answers
// with the next status of a script (the last one repeats).
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	script  []int
	message string
	calls   int
	bodies  [][]byte
	headers []http.Header
}

func newReceiver(t *testing.T, message string, script ...int) *receiver {
	r := &receiver{t: t, script: script, message: message}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Errorf("receiver: read body: %v", err)
	}
	if req.Method != http.MethodPost || req.URL.Path != "/hooks/callrec" {
		r.t.Errorf("receiver: %s %s", req.Method, req.URL.Path)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		r.t.Errorf("receiver: Content-Type %q", ct)
	}
	if !VerifySignature(hookSecret, body, req.Header.Get(SignatureHeader)) {
		r.t.Errorf("receiver: signature %q does not verify", req.Header.Get(SignatureHeader))
	}
	r.mu.Lock()
	status := r.script[min(r.calls, len(r.script)-1)]
	r.calls++
	r.bodies = append(r.bodies, body)
	r.headers = append(r.headers, req.Header.Clone())
	r.mu.Unlock()
	w.WriteHeader(status)
	_, _ = io.WriteString(w, r.message)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func (r *receiver) config() *WebhookConfig {
	return &WebhookConfig{URL: r.srv.URL + "/hooks/callrec", Secret: hookSecret, MaxAttempts: 4, Backoff: time.Millisecond, PublicURL: testPublicURL}
}

func TestWebhookDelivered(t *testing.T) {
	r := newReceiver(t, "ok", http.StatusNoContent)
	b := newBlob(t)
	outputs := testOutputs(t, b, []byte("docx"))
	n := newNotifier(t, b, nil, r.config())
	ctx := context.Background()
	if err := n.Notify(ctx, testCall(), testDoc(), outputs); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if r.count() != 1 {
		t.Fatalf("%d requests, want 1", r.count())
	}
	body, h := r.bodies[0], r.headers[0]
	if got := h.Get(TimestampHeader); got != strconv.FormatInt(testNow.Unix(), 10) {
		t.Errorf("%s = %q", TimestampHeader, got)
	}
	if h.Get(EventHeader) != EventCallProcessed || len(h.Get(DeliveryHeader)) != 32 {
		t.Errorf("event %q, delivery %q", h.Get(EventHeader), h.Get(DeliveryHeader))
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Event != "call.processed" || p.DeliveryID != h.Get(DeliveryHeader) || !p.SentAt.Equal(testNow) {
		t.Errorf("event %q, delivery %q, sent_at %v", p.Event, p.DeliveryID, p.SentAt)
	}
	if p.Call == nil || p.Call.ID != testCallID || p.Call.Party != "+12125550123" || p.Call.Direction != "outbound" {
		t.Fatalf("call %+v", p.Call)
	}
	if p.CallURL != testPublicURL+"/calls/"+testCallID {
		t.Errorf("call_url %q", p.CallURL)
	}
	if !p.LinksExpireAt.Equal(testNow.Add(DefaultLinkTTL)) {
		t.Errorf("links_expire_at %v", p.LinksExpireAt)
	}
	// Every output has a link, and each verifies to its own key.
	s := newSigner(t)
	for _, d := range outputs {
		name, key := d.Name, d.Key
		u, ok := p.Links[name]
		if !ok {
			t.Errorf("no link for %s", name)
			continue
		}
		got, err := s.Verify(strings.TrimPrefix(u, testPublicURL+"/l/"), testNow)
		if err != nil || got != key {
			t.Errorf("link %s = %q, %v; want %q", name, got, err, key)
		}
	}
	if len(p.Links) != len(outputs) {
		t.Errorf("links %v, want one per output", p.Links)
	}
	if p.Call.RecordingFile != p.Links["recording"] {
		t.Errorf("call.recording_file %q, want the recording's link", p.Call.RecordingFile)
	}
	sm := p.Summary
	if sm.DurationMillis != 245000 || sm.TalkSplit.OwnerPercent != 45 || sm.TalkSplit.OtherPercent != 40 || sm.TalkSplit.SilencePercent != 15 {
		t.Errorf("summary %+v", sm)
	}
	if sm.Sentiment.Owner != 1.5 || sm.Sentiment.Other != -2.25 || sm.Interruptions != 2 {
		t.Errorf("sentiment %+v, interruptions %d", sm.Sentiment, sm.Interruptions)
	}
	if len(sm.Issues) != 4 || sm.Issues[3].Text != `The <b>refund</b> & "credit" failed` || len(sm.Categories) != 1 {
		t.Errorf("issues %+v, categories %v", sm.Issues, sm.Categories)
	}
	// The signature covers the exact body: any change breaks it.
	sig := h.Get(SignatureHeader)
	altered := append([]byte(nil), body...)
	altered[len(altered)/2] ^= 1
	if VerifySignature(hookSecret, altered, sig) {
		t.Error("signature verifies an altered body")
	}

	// Idempotent: a second Notify posts nothing.
	if err := n.Notify(ctx, testCall(), testDoc(), outputs); err != nil {
		t.Fatalf("second Notify: %v", err)
	}
	if r.count() != 1 {
		t.Errorf("%d requests after a second Notify, want 1", r.count())
	}
	if _, err := b.Stat(ctx, calls.MarkerKey(testCallID, ChannelWebhook)); err != nil {
		t.Errorf("no marker: %v", err)
	}
}

func TestWebhookRetries(t *testing.T) {
	tests := []struct {
		name          string
		script        []int
		message       string
		wantCalls     int
		wantErr       string // "" for success
		wantPermanent bool
	}{
		{"500 then success", []int{500, 200}, "busy", 2, "", false},
		{"502, 503 then success", []int{502, 503, 201}, "", 3, "", false},
		{"429 then success", []int{429, 200}, "slow down", 2, "", false},
		{"400 is final", []int{400}, "unknown event type", 1, "refused the delivery: 400 Bad Request: unknown event type", true},
		{"401 is final", []int{401}, "bad signature", 1, "401 Unauthorized: bad signature", true},
		{"404 is final", []int{404}, "", 1, "404 Not Found: (no message)", true},
		{"redirect is final", []int{302}, "", 1, "a redirect to", true},
		{"always 503", []int{503}, "down for maintenance", 4, "answered 503 Service Unavailable: down for maintenance (gave up after 4 attempts)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t, tt.message, tt.script...)
			b := newBlob(t)
			err := newNotifier(t, b, nil, r.config()).Notify(context.Background(), testCall(), testDoc(), testOutputs(t, b, nil))
			if r.count() != tt.wantCalls {
				t.Errorf("%d requests, want %d", r.count(), tt.wantCalls)
			}
			_, markErr := b.Stat(context.Background(), calls.MarkerKey(testCallID, ChannelWebhook))
			if tt.wantErr == "" {
				if err != nil || markErr != nil {
					t.Fatalf("Notify: %v; marker: %v", err, markErr)
				}
				// Retries repeat the same delivery, byte for byte.
				for i := 1; i < len(r.bodies); i++ {
					if string(r.bodies[i]) != string(r.bodies[0]) || r.headers[i].Get(DeliveryHeader) != r.headers[0].Get(DeliveryHeader) {
						t.Errorf("attempt %d differs from the first", i+1)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "webhook "+r.srv.URL+" ") {
				t.Errorf("err %q does not start with the receiver", err)
			}
			if strings.Contains(err.Error(), "/hooks/callrec") {
				t.Errorf("err %q shows the URL's path, which may hold a secret", err)
			}
			if IsPermanent(err) != tt.wantPermanent {
				t.Errorf("IsPermanent = %v, want %v", IsPermanent(err), tt.wantPermanent)
			}
			if !errors.Is(markErr, blob.ErrNotFound) {
				t.Errorf("marker after a failure: %v", markErr)
			}
		})
	}
}

func TestWebhookBackoffDoubles(t *testing.T) {
	var times []time.Time
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	b := newBlob(t)
	cfg := &WebhookConfig{URL: srv.URL, Secret: hookSecret, MaxAttempts: 3, Backoff: 50 * time.Millisecond, PublicURL: testPublicURL}
	err := newNotifier(t, b, nil, cfg).Notify(context.Background(), testCall(), nil, nil)
	if err == nil || len(times) != 3 {
		t.Fatalf("err %v after %d attempts", err, len(times))
	}
	if d1, d2 := times[1].Sub(times[0]), times[2].Sub(times[1]); d1 < 50*time.Millisecond || d2 < 100*time.Millisecond {
		t.Errorf("waits %v, %v; want ≥ 50 ms, then ≥ 100 ms", d1, d2)
	}
}

func TestWebhookNetworkErrorRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	b := newBlob(t)
	cfg := &WebhookConfig{URL: url + "/secret-path?token=x", Secret: hookSecret, MaxAttempts: 2, Backoff: time.Millisecond, PublicURL: testPublicURL}
	err := newNotifier(t, b, nil, cfg).Notify(context.Background(), testCall(), testDoc(), nil)
	if err == nil || !strings.Contains(err.Error(), "connection refused; check notify.webhook.url") || !strings.Contains(err.Error(), "after 2 attempts") || IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "secret-path") || strings.Contains(err.Error(), "token") {
		t.Errorf("err %q shows the URL's path or query", err)
	}
}

func TestWebhookContextCanceledDuringBackoff(t *testing.T) {
	r := newReceiver(t, "", 503)
	cfg := r.config()
	cfg.Backoff = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	// The backoff is an hour: only the cancellation ends the wait.
	err := newNotifier(t, newBlob(t), nil, cfg).Notify(ctx, testCall(), testDoc(), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestWebhookTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	cfg := &WebhookConfig{URL: srv.URL, Secret: hookSecret, MaxAttempts: 1, PublicURL: testPublicURL,
		HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}}
	err := newNotifier(t, newBlob(t), nil, cfg).Notify(context.Background(), testCall(), testDoc(), nil)
	if err == nil || !strings.Contains(err.Error(), "Timeout") || IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"event":"call.processed"}`)
	good := Signature(hookSecret, body)
	if !strings.HasPrefix(good, "sha256=") || len(good) != len("sha256=")+64 {
		t.Fatalf("Signature = %q", good)
	}
	tests := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		want   bool
	}{
		{"valid", hookSecret, body, good, true},
		{"surrounding space", hookSecret, body, " " + good + " ", true},
		{"upper-case hex", hookSecret, body, "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), true},
		{"other secret", []byte("other"), body, good, false},
		{"empty secret", nil, body, Signature(nil, body), false},
		{"other body", hookSecret, []byte(`{"event":"call.processed" }`), good, false},
		{"no prefix", hookSecret, body, strings.TrimPrefix(good, "sha256="), false},
		{"sha1 prefix", hookSecret, body, "sha1=" + strings.TrimPrefix(good, "sha256="), false},
		{"truncated", hookSecret, body, good[:len(good)-2], false},
		{"not hex", hookSecret, body, "sha256=" + strings.Repeat("zz", 32), false},
		{"empty", hookSecret, body, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifySignature(tt.secret, tt.body, tt.header); got != tt.want {
				t.Errorf("VerifySignature = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestChannelsIndependent sends by email (failing) and webhook (working):
// the webhook goes out once, the email is retried alone, and once it
// succeeds nothing more is sent.
func TestChannelsIndependent(t *testing.T) {
	r := newReceiver(t, "", 200)
	b := newBlob(t)
	outputs := testOutputs(t, b, nil)
	ctx := context.Background()
	email := &EmailConfig{To: "owner@example.org", From: "callrec@example.org", Host: "127.0.0.1", Port: freePort(t), TLS: TLSNone, PublicURL: testPublicURL, Timeout: 5 * time.Second}

	err := newNotifier(t, b, email, r.config()).Notify(ctx, testCall(), testDoc(), outputs)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || IsPermanent(err) {
		t.Fatalf("first Notify: %v", err)
	}
	if r.count() != 1 {
		t.Fatalf("%d webhook requests, want 1", r.count())
	}
	if _, err := b.Stat(ctx, calls.OutputKey(testCallID, calls.Notification)); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("notification record written although email failed: %v", err)
	}

	mp := startMailpit(t)
	email.Port = mp.smtpPort
	n := newNotifier(t, b, email, r.config())
	if err := n.Notify(ctx, testCall(), testDoc(), outputs); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if err := n.Notify(ctx, testCall(), testDoc(), outputs); err != nil {
		t.Fatalf("third Notify: %v", err)
	}
	if r.count() != 1 {
		t.Errorf("%d webhook requests, want 1", r.count())
	}
	if msgs := mp.messages(t); len(msgs) != 1 {
		t.Errorf("%d emails, want 1", len(msgs))
	}
	rc, err := b.Open(ctx, calls.OutputKey(testCallID, calls.Notification))
	if err != nil {
		t.Fatalf("notification record: %v", err)
	}
	defer rc.Close()
	var rec Record
	if err := json.NewDecoder(rc).Decode(&rec); err != nil || rec.CallID != testCallID || len(rec.Channels) != 2 {
		t.Errorf("record %+v, %v", rec, err)
	}
}

// TestPermanentOnlyWhenAllPermanent: one channel's permanent failure does
// not make the whole notification permanent while another may recover.
func TestPermanentOnlyWhenAllPermanent(t *testing.T) {
	bad := newReceiver(t, "nope", 400)
	b := newBlob(t)
	email := &EmailConfig{To: "owner@example.org", From: "callrec@example.org", Host: "127.0.0.1", Port: freePort(t), TLS: TLSNone, PublicURL: testPublicURL}
	err := newNotifier(t, b, email, bad.config()).Notify(context.Background(), testCall(), testDoc(), nil)
	if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "nope") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("email down + webhook 400: %v (permanent %v)", err, IsPermanent(err))
	}
	err = newNotifier(t, newBlob(t), nil, bad.config()).Notify(context.Background(), testCall(), testDoc(), nil)
	if !IsPermanent(err) {
		t.Errorf("webhook 400 alone: %v, want permanent", err)
	}
}

// TestConcurrentNotifies runs Notify for many calls at once against one
// receiver: each call is posted exactly once.
func TestConcurrentNotifies(t *testing.T) {
	var posts atomic.Int64
	seen := sync.Map{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var p Payload
		if err := json.Unmarshal(body, &p); err != nil || !VerifySignature(hookSecret, body, req.Header.Get(SignatureHeader)) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if _, dup := seen.LoadOrStore(p.Call.ID, true); dup {
			t.Errorf("call %s posted twice", p.Call.ID)
		}
		posts.Add(1)
	}))
	defer srv.Close()
	b := newBlob(t)
	n := newNotifier(t, b, nil, &WebhookConfig{URL: srv.URL, Secret: hookSecret, PublicURL: testPublicURL})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			call := testCall()
			call.ID = "c" + strconv.Itoa(i)
			if err := n.Notify(context.Background(), call, &transcript.Document{}, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if posts.Load() != 20 {
		t.Errorf("%d posts, want 20", posts.Load())
	}
}
