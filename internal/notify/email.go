package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/display"
)

// TLS modes of EmailConfig.TLS.
const (
	TLSNone     = "none"     // plain SMTP; no encryption
	TLSStartTLS = "starttls" // plain SMTP upgraded with STARTTLS, required
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS, port 465)
)

// MaxAttachment is the largest DOCX attached to an email; a larger one is
// left out (its link is still there).
const MaxAttachment = 15 << 20

// docxType is the DOCX content type.
const docxType = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

// EmailConfig says where and how to email the owner.
type EmailConfig struct {
	// To is the owner's address, or several separated by commas
	// (notify.email.to).
	To string
	// From is the sender address (notify.email.from).
	From string
	// Host and Port are the SMTP server (notify.email.smtp.host/port).
	// Port 0 means 25 for TLS "none", 587 for "starttls", 465 for "tls".
	Host string
	Port int
	// TLS is TLSNone, TLSStartTLS or TLSImplicit (notify.email.smtp.tls);
	// empty means TLSStartTLS. With "starttls" a server that does not offer
	// STARTTLS is an error, never a silent fall back to plain text.
	TLS string
	// Username and Password log in when Username is set
	// (notify.email.smtp.username/password). The mechanism is negotiated
	// (SCRAM, CRAM-MD5, PLAIN or LOGIN). Without TLS, PLAIN and LOGIN are
	// only used to a loopback server, never sending a password in clear
	// text over a network.
	Username string
	Password string
	// Attach attaches the DOCX report, when there is one
	// (notify.email.attach).
	Attach bool
	// PublicURL is the base of links (public_url).
	PublicURL string
	// LinkTTL is how long links work; 0 means DefaultLinkTTL.
	LinkTTL time.Duration
	// Timeout bounds connecting and the whole SMTP conversation; 0 means
	// DefaultEmailTimeout. A cancelled context stops the connection
	// attempt; once connected, the conversation is bounded by Timeout.
	Timeout time.Duration
	// InsecureSkipVerify accepts any server certificate. It is for tests
	// against a server with a self-signed certificate only: it lets anyone
	// on the path read the mail and the SMTP password.
	InsecureSkipVerify bool
}

// emailSender is a checked EmailConfig.
type emailSender struct {
	cfg  EmailConfig
	to   []string
	from string
	addr string // host:port, for messages
}

func newEmailSender(cfg EmailConfig) (*emailSender, error) {
	e := &emailSender{cfg: cfg}
	if strings.TrimSpace(cfg.To) == "" {
		return nil, errors.New("notify.email.to is empty; set the owner's email address")
	}
	to, err := mail.ParseAddressList(cfg.To)
	if err != nil {
		return nil, fmt.Errorf("notify.email.to %q: %v; write addresses like owner@example.org, separated by commas", cfg.To, err)
	}
	for _, a := range to {
		e.to = append(e.to, a.String())
	}
	if strings.TrimSpace(cfg.From) == "" {
		return nil, errors.New("notify.email.from is empty; set the sender address, such as callrec@example.org")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("notify.email.from %q: %v; write an address like callrec@example.org", cfg.From, err)
	}
	e.from = from.String()
	if cfg.Host == "" || strings.ContainsAny(cfg.Host, " /:@") && net.ParseIP(cfg.Host) == nil {
		return nil, fmt.Errorf("notify.email.smtp.host %q is not a host name or IP address", cfg.Host)
	}
	switch cfg.TLS {
	case "":
		e.cfg.TLS = TLSStartTLS
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return nil, fmt.Errorf("notify.email.smtp.tls %q is not one of none, starttls, tls", cfg.TLS)
	}
	if cfg.Port == 0 {
		e.cfg.Port = map[string]int{TLSNone: 25, TLSStartTLS: 587, TLSImplicit: 465}[e.cfg.TLS]
	}
	if e.cfg.Port < 1 || e.cfg.Port > 65535 {
		return nil, fmt.Errorf("notify.email.smtp.port %d is not a port number (1-65535)", cfg.Port)
	}
	if cfg.Username == "" && cfg.Password != "" {
		return nil, errors.New("notify.email.smtp.password is set but username is empty; set both or neither")
	}
	if err := checkPublicURL("public_url", cfg.PublicURL); err != nil {
		return nil, fmt.Errorf("notify.email: %w", err)
	}
	if cfg.LinkTTL < 0 {
		return nil, fmt.Errorf("notify.email: link lifetime %s is negative", cfg.LinkTTL)
	}
	if e.cfg.LinkTTL == 0 {
		e.cfg.LinkTTL = DefaultLinkTTL
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("notify.email: timeout %s is negative", cfg.Timeout)
	}
	if e.cfg.Timeout == 0 {
		e.cfg.Timeout = DefaultEmailTimeout
	}
	e.addr = net.JoinHostPort(cfg.Host, strconv.Itoa(e.cfg.Port))
	return e, nil
}

// emailView is what the templates show.
type emailView struct {
	Subject    string
	Party      string
	Direction  string
	When       string
	Duration   string
	HasSplit   bool
	OwnerPct   string
	OtherPct   string
	SilencePct string
	Issues     []issueView
	Links      []link
	Expires    string
	CallURL    string
	Attached   string
	// Note says why the recording is not the whole call.
	Note string
}

type issueView struct {
	Text, Who, At string
}

var textTemplate = template.Must(template.New("text").Parse(`{{.Subject}}

Direction:  {{.Direction}}
Party:      {{.Party}}
When:       {{.When}}
Duration:   {{.Duration}}
{{- if .HasSplit}}
Talk split: you {{.OwnerPct}}, other party {{.OtherPct}}, silence {{.SilencePct}}
{{- end}}
{{- if .Note}}

Note: {{.Note}}
{{- end}}
{{- if .Issues}}

Top issues:
{{- range .Issues}}
  - "{{.Text}}" ({{.Who}}, {{.At}})
{{- end}}
{{- end}}
{{- if .Links}}

{{range .Links}}{{.Label}}:
  {{.URL}}
{{end}}
These links work until {{.Expires}}.
{{- end}}
{{- if .Attached}}
The Word report is attached ({{.Attached}}).
{{- end}}

Call page (sign-in required): {{.CallURL}}

-- 
callrec
`))

var htmlTemplate = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Subject}}</title></head>
<body style="font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#222;line-height:1.4;max-width:40em;margin:0 auto;padding:1em">
<h2 style="margin:0 0 .6em;font-size:1.25em">{{.Subject}}</h2>
<table style="border-collapse:collapse" role="presentation">
<tr><td style="padding:2px 1em 2px 0;color:#666">Direction</td><td>{{.Direction}}</td></tr>
<tr><td style="padding:2px 1em 2px 0;color:#666">Party</td><td>{{.Party}}</td></tr>
<tr><td style="padding:2px 1em 2px 0;color:#666">When</td><td>{{.When}}</td></tr>
<tr><td style="padding:2px 1em 2px 0;color:#666">Duration</td><td>{{.Duration}}</td></tr>
{{- if .HasSplit}}
<tr><td style="padding:2px 1em 2px 0;color:#666">Talk split</td><td>you {{.OwnerPct}} · other party {{.OtherPct}} · silence {{.SilencePct}}</td></tr>
{{- end}}
</table>
{{- if .Note}}
<p style="margin:1em 0 0;padding:.5em .8em;border-left:4px solid #b26a00;background:#fff4e5">{{.Note}}</p>
{{- end}}
{{- if .Issues}}
<h3 style="font-size:1em;margin:1.2em 0 .3em">Top issues</h3>
<ul style="margin:0;padding-left:1.2em">
{{- range .Issues}}
<li>“{{.Text}}” <span style="color:#666">({{.Who}}, {{.At}})</span></li>
{{- end}}
</ul>
{{- end}}
{{- if .Links}}
<p style="margin:1.2em 0 .3em">
{{- range .Links}}
<a href="{{.URL}}" style="display:inline-block;margin:0 .4em .4em 0;padding:.4em .8em;border-radius:4px;background:#0b5cad;color:#fff;text-decoration:none">{{.Label}}</a>
{{- end}}
</p>
<p style="color:#666;font-size:.9em;margin:0">These links work until {{.Expires}}.</p>
{{- end}}
{{- if .Attached}}
<p style="color:#666;font-size:.9em">The Word report is attached ({{.Attached}}).</p>
{{- end}}
<p style="margin-top:1.2em"><a href="{{.CallURL}}">Call page</a> <span style="color:#666">(sign-in required)</span></p>
</body></html>
`))

// sendEmail builds and sends the email of a call. It returns the
// recipients.
func (n *Notifier) sendEmail(ctx context.Context, m *message) (string, error) {
	e := n.email
	expires := m.now.Add(e.cfg.LinkTTL)
	var links []link
	seen := map[string]bool{}
	for _, l := range m.links(n.signer, e.cfg.PublicURL, expires) {
		if !seen[l.Key] {
			seen[l.Key] = true
			links = append(links, l)
		}
	}
	s := m.summary
	v := emailView{
		Subject:   subject(m.call, s),
		Party:     display.OneLine(m.call.Party, 64),
		Direction: direction(m.call),
		When:      formatTime(m.call.StartedAt, n.loc),
		Duration:  display.Duration(time.Duration(s.DurationMillis) * time.Millisecond),
		Links:     links,
		Expires:   formatTime(expires, n.loc),
		CallURL:   callURL(e.cfg.PublicURL, m.call.ID),
	}
	if v.Party == "" {
		v.Party = "unknown (number withheld)"
	}
	v.Note = recordingNote(m.call)
	if ts := s.TalkSplit; s.DurationMillis > 0 && ts.OwnerMillis+ts.OtherMillis+ts.SilenceMillis > 0 {
		v.HasSplit = true
		v.OwnerPct = fmt.Sprintf("%.0f%%", ts.OwnerPercent)
		v.OtherPct = fmt.Sprintf("%.0f%%", ts.OtherPercent)
		v.SilencePct = fmt.Sprintf("%.0f%%", ts.SilencePercent)
	}
	for _, is := range s.Issues[:min(3, len(s.Issues))] {
		who := "other party"
		if is.Speaker == "owner" {
			who = "you"
		}
		v.Issues = append(v.Issues, issueView{Text: is.Text, Who: who, At: display.ClockMillis(is.AtMillis)})
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(e.from); err != nil {
		return "", &PermanentError{Err: fmt.Errorf("email: notify.email.from %q: %w", e.cfg.From, err)}
	}
	if err := msg.To(e.to...); err != nil {
		return "", &PermanentError{Err: fmt.Errorf("email: notify.email.to %q: %w", e.cfg.To, err)}
	}
	msg.Subject(v.Subject)
	msg.SetDateWithValue(m.now.In(n.loc))
	msg.SetMessageID()
	msg.SetUserAgent("callrec")
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader("X-Callrec-Call-Id", m.call.ID)

	if e.cfg.Attach {
		name, data, err := n.attachment(ctx, m)
		if err != nil {
			return "", err
		}
		if data != nil {
			if err := msg.AttachReader(name, bytes.NewReader(data), gomail.WithFileContentType(docxType)); err != nil {
				return "", fmt.Errorf("email: attach %s: %w", name, err)
			}
			v.Attached = name
		}
	}

	var text, html bytes.Buffer
	if err := textTemplate.Execute(&text, v); err != nil {
		return "", fmt.Errorf("email: text body: %w", err)
	}
	if err := htmlTemplate.Execute(&html, v); err != nil {
		return "", fmt.Errorf("email: HTML body: %w", err)
	}
	msg.SetBodyString(gomail.TypeTextPlain, text.String())
	msg.AddAlternativeString(gomail.TypeTextHTML, html.String())
	return e.send(ctx, msg)
}

// send delivers msg through the SMTP server and returns the recipients.
func (e *emailSender) send(ctx context.Context, msg *gomail.Msg) (string, error) {
	client, err := e.client()
	if err != nil {
		return "", &PermanentError{Err: fmt.Errorf("email: %w", err)}
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return "", e.explain(ctx, err)
	}
	return strings.Join(e.to, ", "), nil
}

// attachment reads the DOCX report of the call, if it has one that is not
// too large; data is nil when there is nothing to attach.
func (n *Notifier) attachment(ctx context.Context, m *message) (name string, data []byte, err error) {
	var key string
	for _, d := range m.downloads {
		if d.Name == calls.ReportDOCX {
			key = d.Key
		}
	}
	if key == "" {
		m.log.Debug("no DOCX report to attach")
		return "", nil, nil
	}
	info, err := n.blob.Stat(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		m.log.Warn("DOCX report missing; sending without the attachment", "key", key)
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("email: attachment: %w", err)
	}
	if info.Size > MaxAttachment {
		m.log.Warn("DOCX report too large to attach; the email links to it", "key", key, "bytes", info.Size, "max", MaxAttachment)
		return "", nil, nil
	}
	rc, err := n.blob.Open(ctx, key)
	if err != nil {
		return "", nil, fmt.Errorf("email: attachment: %w", err)
	}
	defer rc.Close()
	data, err = io.ReadAll(io.LimitReader(rc, MaxAttachment+1))
	if err != nil {
		return "", nil, fmt.Errorf("email: attachment: read %s: %w", key, err)
	}
	if len(data) > MaxAttachment {
		m.log.Warn("DOCX report too large to attach; the email links to it", "key", key, "max", MaxAttachment)
		return "", nil, nil
	}
	return attachmentName(m, n.loc), data, nil
}

// attachmentName is "call-YYYY-MM-DD-HHMM-<party>.docx", with only safe
// characters.
func attachmentName(m *message, loc *time.Location) string {
	var b strings.Builder
	b.WriteString("call")
	if !m.call.StartedAt.IsZero() {
		b.WriteString(m.call.StartedAt.In(loc).Format("-2006-01-02-1504"))
	}
	var party strings.Builder
	for _, r := range m.call.Party {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '+' {
			party.WriteRune(r)
		}
	}
	if p := party.String(); p != "" {
		b.WriteString("-" + p[:min(len(p), 32)])
	}
	return b.String() + ".docx"
}

// client makes an SMTP client for one send.
func (e *emailSender) client() (*gomail.Client, error) {
	c := e.cfg
	opts := []gomail.Option{
		gomail.WithPort(c.Port),
		gomail.WithTimeout(c.Timeout),
		gomail.WithTLSConfig(&tls.Config{
			ServerName:         c.Host,
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // documented: tests only
		}),
	}
	switch c.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	}
	if c.Username != "" {
		opts = append(opts, gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
		if c.TLS == TLSNone {
			// Autodiscovery offers only challenge mechanisms without TLS;
			// go-mail's PLAIN and LOGIN then still refuse any server but
			// a loopback one.
			opts = append(opts, gomail.WithOpportunisticSMTPAuth(
				gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1, gomail.SMTPAuthCramMD5,
				gomail.SMTPAuthPlain, gomail.SMTPAuthLogin))
		} else {
			opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover))
		}
	}
	return gomail.NewClient(c.Host, opts...)
}

// explain turns an SMTP failure into an error that says what to check.
// Failures retrying cannot fix are *PermanentError.
func (e *emailSender) explain(ctx context.Context, err error) error {
	prefix := "smtp " + e.addr
	permanent := func(format string, args ...any) error {
		return &PermanentError{Err: fmt.Errorf(prefix+": "+format, args...)}
	}
	var (
		dnsErr    *net.DNSError
		netErr    net.Error
		certErr   *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		recErr    tls.RecordHeaderError
		protoErr  *textproto.Error
		sendErr   *gomail.SendError
	)
	msg := err.Error()
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", prefix, ctx.Err())
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%s: connection refused; check notify.email.smtp.host/port", prefix)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("%s: host not found (%v); check notify.email.smtp.host", prefix, dnsErr.Err)
	case errors.As(err, &hostErr):
		return permanent("server certificate not valid for this name (%v); set notify.email.smtp.host to a name on the server's certificate", hostErr)
	case errors.As(err, &unknownCA):
		return permanent("server certificate not trusted (%v); if the server uses a private CA, add it to this machine's trust store (or point SSL_CERT_FILE at it)", unknownCA)
	case errors.As(err, &certErr):
		return permanent("server certificate not trusted (%v)", certErr.Err)
	case errors.As(err, &recErr):
		return permanent("the server does not speak TLS on this port; set notify.email.smtp.tls to starttls or none (or use port 465 for tls)")
	case strings.Contains(msg, "does not support STARTTLS"):
		return permanent("the server does not offer STARTTLS; set notify.email.smtp.tls to tls (port 465) or, only on a trusted network, none")
	case errors.Is(err, gosmtp.ErrUnencrypted):
		return permanent("refusing to send the password over an unencrypted connection; set notify.email.smtp.tls to starttls or tls")
	case strings.Contains(msg, "server does not support SMTP AUTH"), errors.Is(err, gomail.ErrNoSupportedAuthDiscovered),
		errors.Is(err, gomail.ErrPlainAuthNotSupported), errors.Is(err, gomail.ErrLoginAuthNotSupported):
		return permanent("the server offers no login method callrec can use (%v); clear notify.email.smtp.username/password if it needs no login, or set notify.email.smtp.tls to starttls or tls (many servers offer login only over TLS)", err)
	case strings.Contains(msg, "SMTP AUTH failed"):
		return permanent("login refused (%v); check notify.email.smtp.username/password", unwrapAll(err))
	case errors.As(err, &sendErr):
		switch {
		case sendErr.ErrorCode() == 530:
			return permanent("the server requires a login (%v); set notify.email.smtp.username/password", err)
		case sendErr.Reason == gomail.ErrSMTPMailFrom && !sendErr.IsTemp():
			return permanent("sender refused (%v); check notify.email.from (the server may require it to match the login)", err)
		case sendErr.Reason == gomail.ErrSMTPRcptTo && !sendErr.IsTemp():
			return permanent("recipient refused (%v); check notify.email.to", err)
		case !sendErr.IsTemp() && sendErr.ErrorCode() >= 500:
			return permanent("message refused: %v", err)
		}
		return fmt.Errorf("%s: %w", prefix, err)
	case errors.As(err, &protoErr) && protoErr.Code == 530:
		return permanent("the server requires a login (%v); set notify.email.smtp.username/password", err)
	case errors.As(err, &protoErr) && protoErr.Code >= 500:
		return permanent("%v", err)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("%s: timed out after %s; check notify.email.smtp.host/port, the firewall, and that notify.email.smtp.tls matches the port (465: tls, 587: starttls)", prefix, e.cfg.Timeout)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// unwrapAll returns the innermost error of a chain of single wraps.
func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}
