package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/number"
)

// Limits checked by Validate.
const (
	minRTPPort        = 1024
	maxRTPPort        = 65535
	minUDPMTU         = 1280
	maxUDPMTU         = 65507
	minRegisterExpiry = time.Minute
	minSIPTimeout     = time.Second
)

// problems collects validation problems, each "key: problem; what to do".
type problems []error

// add records a problem with key.
func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// Validate checks every key and returns all problems joined, one per line,
// each in the form "key: problem; what to do". It returns nil when the
// configuration is usable.
func (c *Config) Validate() error {
	var p problems

	checkE164(&p, "service_number", c.ServiceNumber, true)
	checkE164(&p, "owner_number", c.OwnerNumber, true)
	if c.ServiceNumber != "" && c.ServiceNumber == c.OwnerNumber {
		p.add("owner_number", "is the same as service_number; set owner_number to the owner's own phone")
	}
	if c.OwnerPIN != "" && callflow.CheckPIN(c.OwnerPIN) != nil {
		p.add("owner_pin", "must be %d to %d digits; set digits only, or leave it empty for no PIN", callflow.PINMinDigits, callflow.PINMaxDigits)
	}
	if number.ValidateCountryCode(c.DefaultCountryCode) != nil {
		p.add("default_country_code", "%q is not a country calling code; set 1 to 3 digits without \"+\", such as \"1\" or \"44\"", c.DefaultCountryCode)
	}
	for i, d := range c.AllowedDestinations {
		if number.ValidatePrefix(d) != nil {
			p.add(fmt.Sprintf("allowed_destinations[%d]", i), "%q is not a number prefix; write \"+\" and up to %d digits, such as \"+1\" or \"+4420\" (\"+\" alone allows every number)", d, number.MaxDigits)
		}
	}
	checkPositive(&p, "max_call_seconds", c.MaxCallSeconds, "such as 14400 (4 hours)")
	checkPositive(&p, "max_concurrent_calls", c.MaxConcurrentCalls, "such as 200")
	checkPositive(&p, "ring_timeout_seconds", c.RingTimeoutSeconds, "such as 30")
	checkPositive(&p, "digit_timeout_ms", c.DigitTimeoutMS, "such as 2500")
	if strings.TrimSpace(c.DataDir) == "" {
		p.add("data_dir", "is empty; set the directory for the database and recordings, such as \"./data\"")
	}
	if c.ShutdownGrace < 0 {
		p.add("shutdown_grace", "%s is negative; set a duration such as \"30s\", or \"0s\" to hang up at once", c.ShutdownGrace)
	}

	c.validateLog(&p)
	c.validateSIP(&p)
	c.validateTrunk(&p)
	c.validateDatabase(&p)
	c.validateProcessing(&p)
	c.validateDelivery(&p)
	return errors.Join(p...)
}

func (c *Config) validateLog(p *problems) {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level", "%q is not a level; set debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		p.add("log.format", "%q is not a format; set text or json", c.Log.Format)
	}
}

func (c *Config) validateSIP(p *problems) {
	if err := checkHostPort(c.SIP.Listen, true); err != nil {
		p.add("sip.listen", "%v; set host:port, such as \"0.0.0.0:5060\"", err)
	}
	if a, err := netip.ParseAddr(c.SIP.MediaAddress); err != nil {
		p.add("sip.media_address", "%q is not an IP address; set the IP the trunk sends RTP to, such as \"192.0.2.10\"", c.SIP.MediaAddress)
	} else if a.IsUnspecified() {
		p.add("sip.media_address", "%s is advertised in SDP and cannot be the unspecified address; set the IP the trunk sends RTP to", c.SIP.MediaAddress)
	}
	if lo, hi, err := c.SIP.PortRange(); err != nil {
		p.add("sip.rtp_ports", "%v; set an inclusive range such as \"20000-20999\"", err)
	} else {
		switch {
		case lo < minRTPPort || hi > maxRTPPort:
			p.add("sip.rtp_ports", "%q is outside %d-%d; choose ports within that range", c.SIP.RTPPorts, minRTPPort, maxRTPPort)
		case hi < lo:
			p.add("sip.rtp_ports", "%q has its bounds reversed; write \"min-max\"", c.SIP.RTPPorts)
		case (hi-lo+1)%2 != 0 || hi-lo+1 < 2:
			p.add("sip.rtp_ports", "%q holds %d ports, but RTP needs an even number (at least 2) for RTP/RTCP pairs; widen or narrow the range by one port, such as \"20000-20999\"", c.SIP.RTPPorts, hi-lo+1)
		}
	}
	if c.SIP.UDPMTU < minUDPMTU || c.SIP.UDPMTU > maxUDPMTU {
		p.add("sip.udp_mtu", "%d is out of range; set %d to %d bytes, such as 8192", c.SIP.UDPMTU, minUDPMTU, maxUDPMTU)
	}
	if strings.ContainsFunc(c.SIP.UserAgent, isControl) {
		p.add("sip.user_agent", "contains control characters; set plain text such as \"callrec\"")
	}
	c.validateSIPLimits(p)
	c.validateExternal(p)
	c.validateMedia(p)
	c.validateTLS(p)
}

// validateExternal checks the addresses advertised to the outside and the
// STUN server that discovers them.
func (c *Config) validateExternal(p *problems) {
	if a := c.SIP.ExternalAddress; a != "" && a != ExternalAuto {
		if err := checkExternalHost(a); err != nil {
			p.add("sip.external_address", "%v; set the public IP or host name, with an optional port, such as \"203.0.113.7:5060\", or \"auto\" to ask media.stun_server", err)
		}
	}
	if a := c.Media.ExternalAddress; a != "" && a != ExternalAuto {
		if ip, err := netip.ParseAddr(a); err != nil {
			p.add("media.external_address", "%q is not an IP address; set the public IP RTP is reached at, such as \"203.0.113.7\", or \"auto\" to ask media.stun_server", a)
		} else if ip.IsUnspecified() {
			p.add("media.external_address", "%s is written in SDP and cannot be the unspecified address; set the public IP RTP is reached at", a)
		}
	}
	auto := c.SIP.ExternalAddress == ExternalAuto || c.Media.ExternalAddress == ExternalAuto
	switch {
	case c.Media.StunServer == "" && auto:
		p.add("media.stun_server", "is required when sip.external_address or media.external_address is \"auto\"; set a STUN server's host:port, such as \"stun.example.net:3478\"")
	case c.Media.StunServer != "":
		if err := checkHostPort(c.Media.StunServer, false); err != nil {
			p.add("media.stun_server", "%v; set the STUN server's host:port, such as \"stun.example.net:3478\"", err)
		}
	}
}

// validateMedia checks the media timeout, the SRTP mode and the codecs.
func (c *Config) validateMedia(p *problems) {
	if t := c.Media.Timeout.D(); t < 0 || t > 0 && t < 5*time.Second {
		p.add("media.timeout", "%s is too short: RTP pauses of a few seconds are normal (a busy network, comfort-noise gaps); use at least \"5s\", or \"0s\" to turn it off", t)
	}
	switch c.Media.SRTP {
	case SRTPOff, SRTPOptional, SRTPRequired:
	default:
		p.add("media.srtp", "%q is not a mode; set \"off\", \"optional\" or \"required\"", c.Media.SRTP)
	}
	if len(c.Media.Codecs) == 0 {
		p.add("media.codecs", "lists no codec; list one or more of G722, PCMU, PCMA")
	}
	seen := map[string]bool{}
	for _, name := range c.Media.Codecs {
		switch n := strings.ToUpper(name); {
		case n != "G722" && n != "PCMU" && n != "PCMA":
			p.add("media.codecs", "%q is not a codec callrec speaks; list G722, PCMU or PCMA (Opus is not supported: no maintained pure-Go implementation exists)", name)
		case seen[n]:
			p.add("media.codecs", "%s is listed twice; list each codec once", name)
		default:
			seen[n] = true
		}
	}
}

// checkExternalHost checks an IP or host name with an optional port.
func checkExternalHost(s string) error {
	host := s
	if _, err := netip.ParseAddr(s); err != nil {
		if h, port, err := net.SplitHostPort(s); err == nil {
			n, err := strconv.Atoi(port)
			if err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("%q has an invalid port (want 1-65535)", s)
			}
			host = h
		}
	}
	if _, err := netip.ParseAddr(host); err == nil {
		if a, _ := netip.ParseAddr(host); a.IsUnspecified() {
			return fmt.Errorf("%q is the unspecified address", s)
		}
		return nil
	}
	if !isHostName(host) {
		return fmt.Errorf("%q is not an IP address or host name", s)
	}
	return nil
}

// isHostName reports whether s is a DNS host name: dot-separated labels of
// letters, digits and inner hyphens.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// validateTLS checks the TLS listener's keys.
func (c *Config) validateTLS(p *problems) {
	s := c.SIP
	if s.TLSListen == "" {
		return
	}
	if err := checkHostPort(s.TLSListen, true); err != nil {
		p.add("sip.tls_listen", "%v; set host:port, such as \"0.0.0.0:5061\", or \"\" for no TLS listener", err)
	}
	if s.TLSCert == "" {
		p.add("sip.tls_cert", "is required with sip.tls_listen; set the PEM file of the certificate (chain)")
	}
	if s.TLSKey == "" {
		p.add("sip.tls_key", "is required with sip.tls_listen; set the PEM file of the certificate's private key")
	}
}

// validateSIPLimits checks the keys that bound what the SIP port accepts.
func (c *Config) validateSIPLimits(p *problems) {
	s := c.SIP
	switch s.RejectUntrusted {
	case RejectUntrustedDrop, RejectUntrusted403:
	default:
		p.add("sip.reject_untrusted", "%q is not a policy; set \"drop\" (no response) or \"403\" (one 403 Forbidden)", s.RejectUntrusted)
	}
	checkPositive(p, "sip.tcp_max_connections", s.TCPMaxConnections, "such as 1024")
	if s.TCPMaxPerSource <= 0 {
		p.add("sip.tcp_max_per_source", "%d must be greater than 0; set a positive number, such as 32", s.TCPMaxPerSource)
	} else if s.TCPMaxConnections > 0 && s.TCPMaxPerSource > s.TCPMaxConnections {
		p.add("sip.tcp_max_per_source", "%d is more than sip.tcp_max_connections (%d); set it at most that, such as 32", s.TCPMaxPerSource, s.TCPMaxConnections)
	}
	for _, d := range []struct {
		key     string
		v       Duration
		example string
	}{
		{"sip.tcp_first_message_timeout", s.TCPFirstMessageTimeout, "10s"},
		{"sip.tcp_idle_timeout", s.TCPIdleTimeout, "10m"},
		{"sip.reject_log_interval", s.RejectLogInterval, "1m"},
	} {
		if d.v < Duration(minSIPTimeout) {
			p.add(d.key, "%s is too short; set at least %s, such as %q", d.v, minSIPTimeout, d.example)
		}
	}
	if s.MinSE < Duration(minSessionInterval) {
		p.add("sip.min_se", "%s is below the %s RFC 4028 allows; set at least %s, such as \"90s\"", s.MinSE, minSessionInterval, minSessionInterval)
	}
	if s.SessionExpires < s.MinSE || s.SessionExpires < Duration(minSessionInterval) {
		p.add("sip.session_expires", "%s is below sip.min_se (%s); set at least that, such as \"30m\"", s.SessionExpires, s.MinSE)
	}
}

// minSessionInterval is the shortest SIP session interval (RFC 4028).
const minSessionInterval = 90 * time.Second

func (c *Config) validateTrunk(p *problems) {
	t := c.Trunk
	if t.Address == "" {
		p.add("trunk.address", "is required; set the trunk's host:port, such as \"sip.example.net:5060\"")
	} else if err := checkHostPort(t.Address, false); err != nil {
		p.add("trunk.address", "%v; set host:port, such as \"sip.example.net:5060\"", err)
	}
	switch t.Transport {
	case "udp", "tcp", "tls":
	default:
		p.add("trunk.transport", "%q is not supported; set udp, tcp or tls", t.Transport)
	}
	if t.Keepalive < 0 || (t.Keepalive > 0 && t.Keepalive < Duration(time.Second)) {
		p.add("trunk.keepalive", "%s is out of range; set at least \"1s\", such as \"30s\", or \"0s\" to send none", t.Keepalive)
	}
	if t.TLSServerName != "" && !isHostName(t.TLSServerName) {
		if _, err := netip.ParseAddr(t.TLSServerName); err != nil {
			p.add("trunk.tls_server_name", "%q is not a host name; set the name on the trunk's certificate, such as \"sip.example.net\"", t.TLSServerName)
		}
	}
	if t.Domain != "" && (strings.ContainsAny(t.Domain, "@/;?<> ") || strings.ContainsFunc(t.Domain, isControl) ||
		strings.HasPrefix(strings.ToLower(t.Domain), "sip:")) {
		p.add("trunk.domain", "%q is not a host name; set a bare host such as \"sip.example.net\" (no \"sip:\", user or port)", t.Domain)
	}
	if (t.Username == "") != (t.Password == "") {
		p.add("trunk.username", "and trunk.password must be set together; set both, or neither when the trunk authenticates by IP")
	}
	if strings.ContainsFunc(t.Username, isControl) {
		p.add("trunk.username", "contains control characters; remove them")
	}
	if t.RegisterExpiry < Duration(minRegisterExpiry) {
		p.add("trunk.register_expiry", "%s is too short; set %s or more, such as \"1h\"", t.RegisterExpiry, minRegisterExpiry)
	}
	for i, s := range t.AllowedSources {
		if _, err := parseSource(s); err != nil {
			p.add(fmt.Sprintf("trunk.allowed_sources[%d]", i), "%q is not an IP address or CIDR; write \"192.0.2.1\" or \"192.0.2.0/24\" (\"0.0.0.0/0\" allows every IPv4 source)", s)
		}
	}
}

func (c *Config) validateProcessing(p *problems) {
	t := c.Transcribe
	switch t.Engine {
	case "sphinx":
	case "openai":
		if t.URL == "" {
			p.add("transcribe.url", "is required with engine openai; set the server's base URL, such as \"http://127.0.0.1:8080\"")
		}
	case "aws":
		if t.AWSRegion == "" {
			p.add("transcribe.aws_region", "is required with engine aws; set a region such as \"us-east-1\"")
		}
		if t.AWSBucket == "" {
			p.add("transcribe.aws_bucket", "is required with engine aws; set the S3 bucket for uploads")
		}
		if t.AWSRoleARN == "" {
			p.add("transcribe.aws_role_arn", "is required with engine aws; set the DataAccessRoleArn Transcribe uses")
		}
	default:
		p.add("transcribe.engine", "%q is not an engine; set sphinx, openai or aws", t.Engine)
	}
	if c.Pipeline.Workers < 0 {
		p.add("pipeline.workers", "%d is negative; set how many stages run at once, such as 2 (0: this node only queues work for other nodes)", c.Pipeline.Workers)
	}
	if t.SampleRate != 0 && (t.SampleRate < 8000 || t.SampleRate > 48000) {
		p.add("transcribe.sample_rate", "%d is not a sample rate to send; set 0 (the recording's own) or 8000 to 48000, such as 16000", t.SampleRate)
	}
	checkPositive(p, "pipeline.max_attempts", c.Pipeline.MaxAttempts, "such as 5")
	if c.Pipeline.StageTimeout <= 0 {
		p.add("pipeline.stage_timeout", "must be positive; set a duration such as \"30m\"")
	}
}

func (c *Config) validateDelivery(p *problems) {
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		p.add("public_url", "%q is not an http(s) URL; set the address the owner's browser reaches callrec at, such as \"https://rec.example.org\"", c.PublicURL)
	}
	if c.Web.Listen != "" {
		if err := checkHostPort(c.Web.Listen, true); err != nil {
			p.add("web.listen", "%v; set host:port such as \"127.0.0.1:8080\", or \"\" to turn the web server off", err)
		}
	}
	if c.Web.LinkTTL <= 0 {
		p.add("web.link_ttl", "must be positive; set a duration such as \"168h\" (7 days)")
	}
	for i, tok := range c.Web.APITokens {
		if len(tok) < 16 {
			p.add(fmt.Sprintf("web.api_tokens[%d]", i), "is shorter than 16 characters; use a long random token (openssl rand -hex 32)")
		}
	}
	e := c.Notify.Email
	if e.To != "" {
		if e.From == "" {
			p.add("notify.email.from", "is required when notify.email.to is set; set the sender's address")
		}
		switch e.SMTP.TLS {
		case "none", "starttls", "tls":
		default:
			p.add("notify.email.smtp.tls", "%q is not one of none, starttls, tls", e.SMTP.TLS)
		}
		if e.SMTP.Port <= 0 || e.SMTP.Port > 65535 {
			p.add("notify.email.smtp.port", "%d is not a port; set 25, 587 or 465", e.SMTP.Port)
		}
		if e.SMTP.Host == "" {
			p.add("notify.email.smtp.host", "is required when notify.email.to is set")
		}
	}
	if c.Notify.RetryFor <= 0 {
		p.add("notify.retry_for", "must be positive; set how long a notification that cannot be sent is retried, such as \"24h\"")
	}
	if c.Notify.RetryBackoffMax <= 0 {
		p.add("notify.retry_backoff_max", "must be positive; set the longest wait between two attempts, such as \"30m\"")
	}
	if c.Retention.Days < 0 {
		p.add("retention.days", "%d is negative; set how many days calls are kept, or 0 to keep them forever", c.Retention.Days)
	}
	if _, _, err := c.Storage.MinFreeRule(); err != nil {
		p.add("storage.min_free", "%v", err)
	}
	switch c.Storage.WhenFull {
	case StorageConnectUnrecorded, StorageReject:
	default:
		p.add("storage.when_full", "%q is not %s or %s", c.Storage.WhenFull, StorageConnectUnrecorded, StorageReject)
	}
	if c.Storage.CheckEvery.D() < 100*time.Millisecond {
		p.add("storage.check_every", "%s is too short; set a duration such as \"10s\"", c.Storage.CheckEvery.D())
	}
	if c.Notify.Webhook.URL != "" && !strings.HasPrefix(c.Notify.Webhook.URL, "http://") && !strings.HasPrefix(c.Notify.Webhook.URL, "https://") {
		p.add("notify.webhook.url", "%q is not an http(s) URL", c.Notify.Webhook.URL)
	}
}

func (c *Config) validateDatabase(p *problems) {
	if c.DatabaseDriver() == "" {
		p.add("database.url", "%q is not supported; leave it empty for SQLite in data_dir, or set a postgres:// URL", redactURL(c.Database.URL))
	}
}

// checkE164 adds a problem unless v is "+" and digits, the first not 0.
func checkE164(p *problems, key, v string, required bool) {
	if v == "" {
		if required {
			p.add(key, "is required; set an E.164 number such as \"+15551234567\"")
		}
		return
	}
	if !number.IsE164(v) {
		p.add(key, "%q is not an E.164 number; write \"+\", the country code and the number, digits only (%d to %d), such as \"+15551234567\"", v, number.MinDigits, number.MaxDigits)
	}
}

// checkPositive adds a problem unless v > 0.
func checkPositive(p *problems, key string, v int, example string) {
	if v <= 0 {
		p.add(key, "%d must be greater than 0; set a positive number, %s", v, example)
	}
}

// checkHostPort checks a "host:port" address. With emptyHost, the host may
// be empty (all interfaces).
func checkHostPort(s string, emptyHost bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if host == "" && !emptyHost {
		return fmt.Errorf("%q has no host", s)
	}
	if strings.ContainsAny(host, " /@") || strings.ContainsFunc(host, isControl) {
		return fmt.Errorf("%q has an invalid host", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has an invalid port (want 1-65535)", s)
	}
	return nil
}

// isControl reports whether r is an ASCII control character.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// redactURL hides any password in a URL so it can be shown in an error.
func redactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return s
	}
	if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return s
}
