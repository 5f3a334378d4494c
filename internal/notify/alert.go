package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/display"
)

// DefaultAlertInterval is the least time between two alerts of one kind.
const DefaultAlertInterval = 24 * time.Hour

// maxAlertKind is the longest Alert.Kind.
const maxAlertKind = 64

// Alert is a message to the owner about callrec itself rather than a
// call, such as a disk nearly full.
type Alert struct {
	// Kind names the condition, such as "disk-space": at most one alert
	// of a kind is emailed per Config.AlertInterval. It names the alert's
	// marker, so it is 1 to 64 letters, digits, "-" and "_".
	Kind string
	// Subject is the email's subject; empty means "callrec alert: <kind>".
	Subject string
	// Text is the email's plain-text body.
	Text string
}

// Alerter sends owner alerts: a *Notifier, or a LogNotifier, which only
// logs them.
type Alerter interface {
	Alert(ctx context.Context, a Alert) error
}

// AlertMarker is the content of an alert's marker (AlertKey), written when
// an alert of its kind was emailed.
type AlertMarker struct {
	Kind    string    `json:"kind"`
	Subject string    `json:"subject"`
	To      string    `json:"to"`
	SentAt  time.Time `json:"sent_at"`
}

// AlertKey is the blob key of the marker of alerts of kind:
// system/alerts/<kind>.json.
func AlertKey(kind string) string { return "system/alerts/" + kind + ".json" }

// checkAlert checks an alert's kind.
func checkAlert(a Alert) error {
	if a.Kind == "" || len(a.Kind) > maxAlertKind {
		return fmt.Errorf("alert: kind %q is not 1 to %d characters", a.Kind, maxAlertKind)
	}
	for _, r := range a.Kind {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("alert: kind %q may hold only letters, digits, \"-\" and \"_\"", a.Kind)
		}
	}
	return nil
}

// alertSubject is an alert's subject, on one line.
func alertSubject(a Alert) string {
	if s := display.OneLine(a.Subject, 200); s != "" {
		return s
	}
	return "callrec alert: " + a.Kind
}

// Alert emails the owner a, unless an alert of its kind was emailed less
// than Config.AlertInterval ago: sent alerts are remembered in the blob
// store (AlertKey), so a restart does not send again, and in memory, so a
// marker that cannot be written (a full disk) does not either. Only the
// email channel carries alerts; without one Alert only logs and returns
// nil. An invalid kind is a *PermanentError; a failed send is an error
// and is not remembered, so the next Alert tries again.
func (n *Notifier) Alert(ctx context.Context, a Alert) error {
	if err := checkAlert(a); err != nil {
		return &PermanentError{Err: err}
	}
	log := n.log.With("alert", a.Kind)
	if n.email == nil {
		log.Warn("owner alert not emailed: notify.email is not configured", "subject", alertSubject(a), "text", a.Text)
		return nil
	}
	n.alertMu.Lock()
	defer n.alertMu.Unlock()
	now := n.now()
	last, err := n.lastAlert(ctx, a.Kind, log)
	if err != nil {
		return err
	}
	if !last.IsZero() && now.Sub(last) < n.alertInterval {
		log.Debug("alert of this kind already sent; not sending again yet", "sent_at", last, "interval", n.alertInterval)
		return nil
	}
	to, err := n.sendAlertEmail(ctx, a, now)
	if err != nil {
		log.Warn("owner alert not sent", "err", err)
		return err
	}
	log.Info("owner alert sent", "channel", ChannelEmail, "to", to, "subject", alertSubject(a))
	n.alerted[a.Kind] = now
	b, err := json.Marshal(AlertMarker{Kind: a.Kind, Subject: alertSubject(a), To: to, SentAt: now.UTC()})
	if err == nil {
		err = n.blob.Put(context.WithoutCancel(ctx), AlertKey(a.Kind), bytes.NewReader(append(b, '\n')))
	}
	if err != nil {
		// Sent: failing would have the caller send it again.
		log.Error("owner alert sent but not recorded; after a restart it may be sent again within the interval", "key", AlertKey(a.Kind), "err", err)
	}
	return nil
}

// lastAlert is when an alert of kind was last emailed (zero: never, as far
// as this process and the blob store know). An error means it cannot tell
// (so it must not send).
func (n *Notifier) lastAlert(ctx context.Context, kind string, log *slog.Logger) (time.Time, error) {
	last := n.alerted[kind]
	rc, err := n.blob.Open(ctx, AlertKey(kind))
	if errors.Is(err, blob.ErrNotFound) {
		return last, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("alert %s: check whether it was sent: %w", kind, err)
	}
	defer rc.Close()
	var m AlertMarker
	if err := json.NewDecoder(rc).Decode(&m); err != nil {
		log.Warn("alert marker unreadable; sending as if none was sent", "key", AlertKey(kind), "err", err)
		return last, nil
	}
	if m.SentAt.After(last) {
		last = m.SentAt
	}
	return last, nil
}

// sendAlertEmail emails an alert; it returns the recipients.
func (n *Notifier) sendAlertEmail(ctx context.Context, a Alert, now time.Time) (string, error) {
	e := n.email
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(e.from); err != nil {
		return "", &PermanentError{Err: fmt.Errorf("email: notify.email.from %q: %w", e.cfg.From, err)}
	}
	if err := msg.To(e.to...); err != nil {
		return "", &PermanentError{Err: fmt.Errorf("email: notify.email.to %q: %w", e.cfg.To, err)}
	}
	msg.Subject(alertSubject(a))
	msg.SetDateWithValue(now.In(n.loc))
	msg.SetMessageID()
	msg.SetUserAgent("callrec")
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader("X-Callrec-Alert", a.Kind)
	var body strings.Builder
	body.WriteString(strings.TrimRight(a.Text, "\n"))
	fmt.Fprintf(&body, "\n\nThis alert is sent at most once every %s.\n\n-- \ncallrec %s\n",
		display.Duration(n.alertInterval), strings.TrimRight(e.cfg.PublicURL, "/"))
	msg.SetBodyString(gomail.TypeTextPlain, body.String())
	return e.send(ctx, msg)
}

// Alert implements Alerter: with no channel to the owner configured, it
// only logs the alert, every time.
func (n LogNotifier) Alert(_ context.Context, a Alert) error {
	if err := checkAlert(a); err != nil {
		return &PermanentError{Err: err}
	}
	log := n.Logger
	if log == nil {
		log = slog.Default()
	}
	log.Warn("owner alert (no notify.email configured to send it)", "alert", a.Kind, "subject", alertSubject(a), "text", a.Text)
	return nil
}
