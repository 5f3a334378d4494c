// Package notify tells the owner that a call is processed: an email over
// SMTP (STARTTLS, TLS or plain, with authentication) carrying the call's
// summary and signed, expiring links to its report and recording, and a
// signed JSON webhook.
//
// A Notifier satisfies the pipeline's Notifier interface. It is idempotent
// per call and channel: after a channel's message is accepted it writes a
// marker object (calls/<id>/notified-email.json,
// calls/<id>/notified-webhook.json) to the blob store, and a later Notify
// for the same call skips every channel whose marker exists. So a stage the
// pipeline retries after a crash, or after the other channel failed, does
// not send twice what already went out. Delivery is at least once: a crash
// between the send and the marker write sends again. Links are signed when
// a message is sent, so they work for their whole lifetime however long
// the pipeline retried.
//
// Alert emails the owner about callrec itself (a disk nearly full), at
// most once per kind of alert per Config.AlertInterval, remembered in the
// blob store under system/alerts/.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/signed"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
)

// Defaults applied by New to zero fields.
const (
	// DefaultLinkTTL is how long links in notifications work.
	DefaultLinkTTL = 7 * 24 * time.Hour
	// DefaultEmailTimeout bounds one SMTP session.
	DefaultEmailTimeout = 30 * time.Second
	// DefaultWebhookMaxAttempts bounds the attempts of one delivery.
	DefaultWebhookMaxAttempts = 5
	// DefaultWebhookBackoff is the wait before the first retry.
	DefaultWebhookBackoff = time.Second
	// DefaultWebhookTimeout bounds one request of the default HTTP client.
	DefaultWebhookTimeout = 30 * time.Second
)

// Channel names, as used in marker keys and logs.
const (
	// ChannelEmail is the email channel.
	ChannelEmail = "email"
	// ChannelWebhook is the webhook channel.
	ChannelWebhook = "webhook"
)

// Config wires a Notifier. At least one of Email and Webhook must be set.
type Config struct {
	// Email sends the owner an email per call when set.
	Email *EmailConfig
	// Webhook posts a JSON event per call when set.
	Webhook *WebhookConfig
	// Signer signs the links to the call's files. Required.
	Signer *signed.Signer
	// Blob holds the call's files (for the attachment) and the sent
	// markers. Required.
	Blob blob.Store
	// Logger receives one line per send, with the call id; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock for link expiry and message dates; nil means
	// time.Now.
	Now func() time.Time
	// Location is the time zone of dates shown in emails; nil means the
	// server's local zone.
	Location *time.Location
	// AlertInterval is the least time between two owner alerts of one
	// kind (Alert); 0 means DefaultAlertInterval.
	AlertInterval time.Duration
}

// Notifier sends the notifications of processed calls. Make it with New;
// it is safe for concurrent use.
type Notifier struct {
	email   *emailSender
	webhook *webhookSender
	signer  *signed.Signer
	blob    blob.Store
	log     *slog.Logger
	now     func() time.Time
	loc     *time.Location

	alertInterval time.Duration
	alertMu       sync.Mutex           // one Alert at a time
	alerted       map[string]time.Time // kind → when this process last sent it
}

// New checks cfg and returns a Notifier. Errors name the configuration key
// to fix.
func New(cfg Config) (*Notifier, error) {
	if cfg.Email == nil && cfg.Webhook == nil {
		return nil, errors.New("notify: nothing to send; configure notify.email or notify.webhook")
	}
	if cfg.Signer == nil {
		return nil, errors.New("notify: a link signer is required (the links in notifications are signed)")
	}
	if cfg.Blob == nil {
		return nil, errors.New("notify: a blob store is required (it holds the call's files and the sent markers)")
	}
	if cfg.AlertInterval < 0 {
		return nil, fmt.Errorf("notify: alert interval %s is negative", cfg.AlertInterval)
	}
	n := &Notifier{signer: cfg.Signer, blob: cfg.Blob, log: cfg.Logger, now: cfg.Now, loc: cfg.Location,
		alertInterval: cfg.AlertInterval, alerted: map[string]time.Time{}}
	if n.alertInterval == 0 {
		n.alertInterval = DefaultAlertInterval
	}
	if n.log == nil {
		n.log = slog.Default()
	}
	n.log = n.log.With("component", "notify")
	if n.now == nil {
		n.now = time.Now
	}
	if n.loc == nil {
		n.loc = time.Local
	}
	if cfg.Email != nil {
		e, err := newEmailSender(*cfg.Email)
		if err != nil {
			return nil, err
		}
		n.email = e
	}
	if cfg.Webhook != nil {
		w, err := newWebhookSender(*cfg.Webhook)
		if err != nil {
			return nil, err
		}
		n.webhook = w
	}
	return n, nil
}

// Notify sends the notifications of a processed call on every configured
// channel that has not already sent one for it. downloads are the call's
// objects offered to the owner, in display order (calls.Downloads); each
// gets a signed link. doc may be nil (the summary is then empty).
//
// A channel that fails does not stop the others. When every failure is one
// that retrying cannot fix (a rejected login or recipient, a webhook
// receiver's 4xx), the error is a *PermanentError.
func (n *Notifier) Notify(ctx context.Context, call *store.Call, doc *transcript.Document, downloads []calls.Download) error {
	if call == nil {
		return &PermanentError{Err: errors.New("notify: no call")}
	}
	if err := calls.CheckID(call.ID); err != nil {
		return &PermanentError{Err: fmt.Errorf("notify: %w", err)}
	}
	log := n.log.With("call_id", call.ID)
	now := n.now()

	type channel struct {
		name string
		send func(context.Context, *message) (string, error)
	}
	var channels []channel
	if n.email != nil {
		channels = append(channels, channel{ChannelEmail, n.sendEmail})
	}
	if n.webhook != nil {
		channels = append(channels, channel{ChannelWebhook, n.sendWebhook})
	}

	var msg *message // built on first need
	var errs []error
	permanent := true
	for _, ch := range channels {
		done, err := n.sent(ctx, call.ID, ch.name)
		if err != nil {
			errs = append(errs, err)
			permanent = false
			continue
		}
		if done {
			log.Debug("already notified; not sending again", "channel", ch.name)
			continue
		}
		if msg == nil {
			msg = n.newMessage(call, doc, downloads, now, log)
		}
		to, err := ch.send(ctx, msg)
		if err != nil {
			log.Warn("notification not sent", "channel", ch.name, "err", err)
			var p *PermanentError
			if errors.As(err, &p) {
				err = p.Err
			} else {
				permanent = false
			}
			errs = append(errs, err)
			continue
		}
		log.Info("notification sent", "channel", ch.name, "to", to)
		// The message is out: record it even if ctx ends now.
		if err := n.mark(context.WithoutCancel(ctx), call.ID, ch.name, to, now); err != nil {
			// Failing the stage would send it again on the retry.
			log.Error("notification sent but not recorded; a retry of this call's notify stage would send it again", "channel", ch.name, "err", err)
		}
	}
	if len(errs) == 0 {
		record(ctx, n.blob, call.ID, channels2names(n), downloads, now, log)
		return nil
	}
	err := errors.Join(errs...)
	if permanent {
		return &PermanentError{Err: err}
	}
	return err
}

// PermanentError is a notification failure that retrying will not fix
// until the configuration or the receiver changes: the SMTP server refused
// the login or a recipient, the webhook receiver answered 4xx or a
// redirect. The pipeline may fail the stage at once instead of retrying.
type PermanentError struct {
	Err error
}

// Error returns the underlying error's message.
func (e *PermanentError) Error() string { return e.Err.Error() }

// Permanent reports that retrying cannot help (the pipeline then fails
// the stage at once).
func (e *PermanentError) Permanent() bool { return true }

// Unwrap returns the underlying error.
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is, or wraps, a *PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Marker is the content of a sent marker.
type Marker struct {
	CallID  string    `json:"call_id"`
	Channel string    `json:"channel"`
	To      string    `json:"to"`
	SentAt  time.Time `json:"sent_at"`
}

// sent reports whether channel's notification of the call was already
// sent. An error means it cannot tell (so it must not send).
func (n *Notifier) sent(ctx context.Context, callID, channel string) (bool, error) {
	key := calls.MarkerKey(callID, channel)
	_, err := n.blob.Stat(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, blob.ErrNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("notify %s: check whether it was already sent: %w", channel, err)
	}
}

// mark records that channel's notification of the call was sent.
func (n *Notifier) mark(ctx context.Context, callID, channel, to string, now time.Time) error {
	b, err := json.Marshal(Marker{CallID: callID, Channel: channel, To: to, SentAt: now.UTC()})
	if err != nil {
		return err
	}
	key := calls.MarkerKey(callID, channel)
	if err := n.blob.Put(ctx, key, bytes.NewReader(append(b, '\n'))); err != nil {
		return fmt.Errorf("record %s: %w", key, err)
	}
	return nil
}

// channels2names lists the configured channels.
func channels2names(n *Notifier) []string {
	var names []string
	if n.email != nil {
		names = append(names, ChannelEmail)
	}
	if n.webhook != nil {
		names = append(names, ChannelWebhook)
	}
	return names
}

// Record is the content of calls/<id>/notification.json, the notify
// stage's output, written once every channel has sent.
type Record struct {
	CallID   string   `json:"call_id"`
	Channels []string `json:"channels"`
	// Outputs maps the names of the downloads offered to their keys.
	Outputs    map[string]string `json:"outputs"`
	NotifiedAt time.Time         `json:"notified_at"`
}

// record writes the notification record, once; failures are only logged
// (the markers are what prevents sending twice).
func record(ctx context.Context, bs blob.Store, callID string, channels []string, downloads []calls.Download, now time.Time, log *slog.Logger) {
	key := calls.OutputKey(callID, calls.Notification)
	if _, err := bs.Stat(ctx, key); err == nil {
		return
	}
	outputs := map[string]string{}
	for _, d := range downloads {
		outputs[d.Name] = d.Key
	}
	if channels == nil {
		channels = []string{}
	}
	b, err := json.MarshalIndent(Record{CallID: callID, Channels: channels, Outputs: outputs, NotifiedAt: now.UTC()}, "", "  ")
	if err == nil {
		err = bs.Put(context.WithoutCancel(ctx), key, bytes.NewReader(append(b, '\n')))
	}
	if err != nil {
		log.Warn("notification record not written", "key", key, "err", err)
	}
}

// LogNotifier tells no one: it logs that a call is processed and writes
// its notification record, once per call. It is the notify stage's
// notifier when neither email nor webhook is configured.
type LogNotifier struct {
	Blob   blob.Store
	Logger *slog.Logger
}

// Notify implements the pipeline's Notifier.
func (n LogNotifier) Notify(ctx context.Context, call *store.Call, _ *transcript.Document, downloads []calls.Download) error {
	if err := calls.CheckID(call.ID); err != nil {
		return &PermanentError{Err: fmt.Errorf("notify: %w", err)}
	}
	log := n.Logger.With("call_id", call.ID)
	names := make([]string, 0, len(downloads))
	for _, d := range downloads {
		names = append(names, d.Name)
	}
	log.Info("call processed", "party", call.Party, "downloads", names)
	record(ctx, n.Blob, call.ID, nil, downloads, time.Now(), log)
	return nil
}

// checkPublicURL checks the base of links.
func checkPublicURL(key, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty; set it to the address the owner opens callrec at, such as https://calls.example.org", key)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%s %q is not an http(s) address such as https://calls.example.org", key, s)
	}
	return nil
}
