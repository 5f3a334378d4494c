package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/display"
	"github.com/callrec/callrec/internal/store"
)

// Webhook request headers.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// exact request body under WebhookConfig.Secret.
	SignatureHeader = "X-Callrec-Signature"
	// TimestampHeader carries the delivery time in Unix seconds (the same
	// instant as the body's signed "sent_at").
	TimestampHeader = "X-Callrec-Timestamp"
	// EventHeader carries the event name.
	EventHeader = "X-Callrec-Event"
	// DeliveryHeader carries the delivery id, the same on every retry.
	DeliveryHeader = "X-Callrec-Delivery"
)

// EventCallProcessed is the event sent when a call's processing finished.
const EventCallProcessed = "call.processed"

// maxBackoff caps the wait between two webhook attempts.
const maxBackoff = time.Minute

// WebhookConfig says where and how to post call events.
type WebhookConfig struct {
	// URL receives the POST (notify.webhook.url).
	URL string
	// Secret signs every body (notify.webhook.secret); receivers check
	// the SignatureHeader with VerifySignature. Required.
	Secret []byte
	// MaxAttempts bounds the attempts of one delivery; 0 means
	// DefaultWebhookMaxAttempts.
	MaxAttempts int
	// Backoff is the wait before the first retry, doubled before each
	// next one (at most a minute; a receiver's Retry-After is honoured
	// within that); 0 means DefaultWebhookBackoff.
	Backoff time.Duration
	// HTTPClient sends the requests; nil means a client with a
	// DefaultWebhookTimeout timeout that does not follow redirects (a
	// redirect is reported as an error naming the new address).
	HTTPClient *http.Client
	// PublicURL is the base of links (public_url).
	PublicURL string
	// LinkTTL is how long links work; 0 means DefaultLinkTTL.
	LinkTTL time.Duration
}

// Payload is the JSON body of a webhook request.
type Payload struct {
	// Event is EventCallProcessed.
	Event string `json:"event"`
	// DeliveryID identifies this delivery; retries repeat it.
	DeliveryID string `json:"delivery_id"`
	// SentAt is when the delivery was made (first attempt).
	SentAt time.Time `json:"sent_at"`
	// Call is the call record; its recording_file is the signed link to
	// the recording.
	Call *store.Call `json:"call"`
	// CallURL is the call's page in the web UI (sign-in required).
	CallURL string `json:"call_url"`
	// Links maps the names of the call's downloads ("report.docx",
	// "report.pdf", "report.html", "recording", "transcript.json", …) to
	// signed links.
	Links map[string]string `json:"links"`
	// LinksExpireAt is when the links stop working.
	LinksExpireAt time.Time `json:"links_expire_at"`
	// Summary is the call at a glance.
	Summary Summary `json:"summary"`
}

// webhookSender is a checked WebhookConfig.
type webhookSender struct {
	cfg    WebhookConfig
	client *http.Client
	where  string // scheme://host of the URL, for messages (the path may hold a secret)
}

func newWebhookSender(cfg WebhookConfig) (*webhookSender, error) {
	u, err := url.Parse(cfg.URL)
	if cfg.URL == "" {
		return nil, errors.New("notify.webhook.url is empty; set the receiver's address")
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("notify.webhook.url %q is not an http(s) address", redact(cfg.URL))
	}
	if len(cfg.Secret) == 0 {
		return nil, errors.New("notify.webhook.secret is empty; set a long random string the receiver also knows (it checks the X-Callrec-Signature header with it)")
	}
	if cfg.MaxAttempts < 0 {
		return nil, fmt.Errorf("notify.webhook: max attempts %d is negative", cfg.MaxAttempts)
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultWebhookMaxAttempts
	}
	if cfg.Backoff < 0 {
		return nil, fmt.Errorf("notify.webhook: backoff %s is negative", cfg.Backoff)
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = DefaultWebhookBackoff
	}
	if err := checkPublicURL("public_url", cfg.PublicURL); err != nil {
		return nil, fmt.Errorf("notify.webhook: %w", err)
	}
	if cfg.LinkTTL < 0 {
		return nil, fmt.Errorf("notify.webhook: link lifetime %s is negative", cfg.LinkTTL)
	}
	if cfg.LinkTTL == 0 {
		cfg.LinkTTL = DefaultLinkTTL
	}
	cfg.Secret = append([]byte(nil), cfg.Secret...)
	w := &webhookSender{cfg: cfg, client: cfg.HTTPClient, where: u.Scheme + "://" + u.Host}
	if w.client == nil {
		w.client = &http.Client{
			Timeout: DefaultWebhookTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return w, nil
}

// redact hides everything of a URL after its host.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	if u.Path != "" || u.RawQuery != "" {
		return u.Scheme + "://" + u.Host + "/…"
	}
	return u.Scheme + "://" + u.Host
}

// Signature returns the SignatureHeader value for body: "sha256=" and the
// hex HMAC-SHA256 of body under secret.
func Signature(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether header (the SignatureHeader value) is the
// signature of body under secret. It compares in constant time; an empty
// secret never verifies. Receivers should check it on the raw body before
// decoding it, and may reject deliveries whose sent_at is old.
func VerifySignature(secret, body []byte, header string) bool {
	if len(secret) == 0 {
		return false
	}
	h, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(h)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// sendWebhook delivers the call's event, retrying network errors, 5xx,
// 408 and 429 with backoff. It returns the receiver's scheme and host.
func (n *Notifier) sendWebhook(ctx context.Context, m *message) (string, error) {
	w := n.webhook
	expires := m.now.Add(w.cfg.LinkTTL)
	call := *m.call
	p := Payload{
		Event:         EventCallProcessed,
		DeliveryID:    newID(),
		SentAt:        m.now.UTC().Truncate(time.Millisecond),
		Call:          &call,
		CallURL:       callURL(w.cfg.PublicURL, call.ID),
		Links:         map[string]string{},
		LinksExpireAt: expires.UTC().Truncate(time.Second),
		Summary:       m.summary,
	}
	for _, l := range m.links(n.signer, w.cfg.PublicURL, expires) {
		p.Links[l.Name] = l.URL
		if l.Name == calls.Recording {
			call.RecordingFile = l.URL
		}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("webhook: encode: %w", err)
	}
	sig := Signature(w.cfg.Secret, body)
	ts := strconv.FormatInt(p.SentAt.Unix(), 10)

	delay := w.cfg.Backoff
	for attempt := 1; ; attempt++ {
		retryAfter, err := w.post(ctx, body, sig, ts, p.DeliveryID)
		if err == nil {
			return w.where, nil
		}
		if IsPermanent(err) || ctx.Err() != nil {
			return "", err
		}
		if attempt >= w.cfg.MaxAttempts {
			return "", fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		wait := delay
		if retryAfter > wait {
			wait = min(retryAfter, maxBackoff)
		}
		m.log.Warn("webhook attempt failed; retrying", "attempt", attempt, "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("%w (stopped retrying: %w)", err, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, maxBackoff)
	}
}

// post makes one attempt. A *PermanentError is final; another error may
// be retried, after retryAfter when the receiver asked for it.
func (w *webhookSender) post(ctx context.Context, body []byte, sig, ts, id string) (retryAfter time.Duration, err error) {
	prefix := "webhook " + w.where
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, &PermanentError{Err: fmt.Errorf("%s: %w", prefix, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "callrec-webhook/1")
	req.Header.Set(SignatureHeader, sig)
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(EventHeader, EventCallProcessed)
	req.Header.Set(DeliveryHeader, id)
	resp, err := w.client.Do(req)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return 0, fmt.Errorf("%s: %w", prefix, ctx.Err())
		case errors.Is(err, syscall.ECONNREFUSED):
			return 0, fmt.Errorf("%s: connection refused; check notify.webhook.url and that the receiver is running", prefix)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, which may hold a secret
		}
		return 0, fmt.Errorf("%s: %w", prefix, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	text := display.OneLine(string(b), 200)
	if text == "" {
		text = "(no message)"
	}
	status := resp.Status
	if status == "" {
		status = strconv.Itoa(resp.StatusCode)
	}
	switch code := resp.StatusCode; {
	case code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return parseRetryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("%s answered %s: %s", prefix, status, text)
	case code >= 300 && code < 400:
		return 0, &PermanentError{Err: fmt.Errorf("%s answered %s, a redirect to %s; set notify.webhook.url to the final address", prefix, status, redact(resp.Header.Get("Location")))}
	default:
		return 0, &PermanentError{Err: fmt.Errorf("%s refused the delivery: %s: %s", prefix, status, text)}
	}
}

// parseRetryAfter reads a Retry-After header in seconds (dates are
// ignored); 0 when absent or unreadable.
func parseRetryAfter(v string) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || s <= 0 {
		return 0
	}
	return time.Duration(min(s, int(maxBackoff/time.Second))) * time.Second
}

// newID returns 16 random bytes in hex.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
