// Package config holds callrec's one typed configuration: defaults, a YAML
// file, and per-key overrides from CALLREC_* environment variables, checked
// by Validate with messages that name the key and say what to change.
//
// Precedence, lowest first: Default, the YAML file, the environment. Nothing
// here reads globals: Load gets the file path and the environment from its
// caller.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is callrec's complete configuration. The yaml tags are the key
// names used in the file; each key's environment variable is derived from
// them (see Load).
type Config struct {
	// ServiceNumber is the public number callers dial, in E.164 form
	// ("+" and digits). It is shown as caller ID on outbound calls.
	ServiceNumber string `yaml:"service_number"`
	// OwnerNumber is the owner's own phone, in E.164 form. Calls from it
	// are treated as the owner dialling out; inbound calls are bridged to it.
	OwnerNumber string `yaml:"owner_number"`
	// OwnerPIN, when set, must be entered before the owner may dial out.
	OwnerPIN string `yaml:"owner_pin"`
	// DefaultCountryCode is prefixed to dialled numbers that do not start
	// with "+" (national format), without the "+".
	DefaultCountryCode string `yaml:"default_country_code"`
	// AllowedDestinations lists "+"-prefixes the owner may dial. Empty
	// means "+" followed by DefaultCountryCode; use Destinations.
	AllowedDestinations []string `yaml:"allowed_destinations"`
	// MaxCallSeconds ends any call that lasts longer.
	MaxCallSeconds int `yaml:"max_call_seconds"`
	// MaxConcurrentCalls rejects new calls beyond this many.
	MaxConcurrentCalls int `yaml:"max_concurrent_calls"`
	// RingTimeoutSeconds is how long an outgoing leg may ring unanswered.
	RingTimeoutSeconds int `yaml:"ring_timeout_seconds"`
	// DigitTimeoutMS ends digit collection after this much silence.
	DigitTimeoutMS int `yaml:"digit_timeout_ms"`
	// DataDir holds the database and the local object store. A relative
	// path is relative to the working directory.
	DataDir string `yaml:"data_dir"`
	// PromptsDir overrides the built-in prompts with WAV files from this
	// directory; empty uses the built-in ones.
	PromptsDir string `yaml:"prompts_dir"`
	// ShutdownGrace is how long a shutdown waits for calls in progress.
	ShutdownGrace Duration `yaml:"shutdown_grace"`

	// Log configures logging.
	Log Log `yaml:"log"`
	// SIP configures the local SIP and RTP endpoints.
	SIP SIP `yaml:"sip"`
	// Media configures the address RTP is advertised at from outside.
	Media Media `yaml:"media"`
	// Trunk configures the SIP trunk (provider or PBX).
	Trunk Trunk `yaml:"trunk"`
	// Database configures where call records are kept.
	Database Database `yaml:"database"`
	// Transcribe configures the speech-to-text engine.
	Transcribe Transcribe `yaml:"transcribe"`
	// Pipeline configures post-call processing.
	Pipeline Pipeline `yaml:"pipeline"`
	// Analytics configures call analytics.
	Analytics Analytics `yaml:"analytics"`
	// PublicURL is the base of links in emails and webhooks; empty means
	// "http://" + web.listen.
	PublicURL string `yaml:"public_url"`
	// Web configures the owner's call browser, the API and signed links.
	Web Web `yaml:"web"`
	// Notify configures how the owner is told about processed calls.
	Notify Notify `yaml:"notify"`
	// Retention configures how long calls are kept.
	Retention Retention `yaml:"retention"`
	// Storage configures what callrec does as the disk of data_dir fills.
	Storage Storage `yaml:"storage"`
}

// Storage configures watching the free space of data_dir's file system.
type Storage struct {
	// MinFree is the free space below which callrec warns (readiness,
	// metrics, a banner, an email): a size such as "2GiB" or "500MB", or a
	// share of the file system such as "5%". Empty means 1 GiB or 5 %,
	// whichever is smaller.
	MinFree string `yaml:"min_free"`
	// WhenFull is what happens to a new call while the disk is full:
	// StorageConnectUnrecorded or StorageReject.
	WhenFull string `yaml:"when_full"`
	// CheckEvery is how often the free space is measured.
	CheckEvery Duration `yaml:"check_every"`
}

// Values of storage.when_full.
const (
	// StorageConnectUnrecorded connects the call without recording it,
	// telling both sides so.
	StorageConnectUnrecorded = "connect_unrecorded"
	// StorageReject refuses the call (503).
	StorageReject = "reject"
)

// MinFreeRule returns storage.min_free as bytes and as a share of the file
// system (0 to 1): the free space is low below the smaller of the two that
// are set (zero means not set).
func (s Storage) MinFreeRule() (bytes uint64, share float64, err error) {
	v := strings.TrimSpace(s.MinFree)
	if v == "" {
		return 1 << 30, 0.05, nil
	}
	if pct, ok := strings.CutSuffix(v, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil || !(f > 0 && f < 100) { // NaN fails both
			return 0, 0, fmt.Errorf("%q is not a share of the disk between 0 and 100 %%, such as \"5%%\"", s.MinFree)
		}
		return 0, f / 100, nil
	}
	n, err := parseSize(v)
	if err != nil {
		return 0, 0, fmt.Errorf("%q: %v; write a size such as \"2GiB\", \"500MB\" or a share such as \"5%%\"", s.MinFree, err)
	}
	return n, 0, nil
}

// parseSize reads a size: a number and a unit (B, KB, MB, GB, TB in powers
// of 1000; KiB, MiB, GiB, TiB in powers of 1024).
func parseSize(v string) (uint64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
	}
	for _, u := range units {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || !(f > 0) || f*u.mult >= 1<<62 || f*u.mult < 1 { // NaN and Inf fail
				return 0, errors.New("not a positive size (at most 4 EiB)")
			}
			return uint64(f * u.mult), nil
		}
	}
	return 0, errors.New("no unit")
}

// Retention configures deleting old calls.
type Retention struct {
	// Days is how long a call (recording, outputs, records) is kept; 0 keeps
	// calls forever.
	Days int `yaml:"days"`
}

// Web configures the HTTP server.
type Web struct {
	// Listen is the HTTP host:port; "" turns the web server off.
	Listen string `yaml:"listen"`
	// PasswordHash is the owner's log-in password hash (callrec passwd).
	PasswordHash string `yaml:"password_hash"`
	// APITokens are bearer tokens accepted by /api/v1.
	APITokens []string `yaml:"api_tokens"`
	// LinkTTL is how long signed links stay valid.
	LinkTTL Duration `yaml:"link_ttl"`
	// SecretFile holds the link-signing secret; "" means data_dir/link-secret.
	SecretFile string `yaml:"secret_file"`
}

// Notify configures notifications.
type Notify struct {
	// Email sends the owner an email per processed call.
	Email Email `yaml:"email"`
	// Webhook posts a signed JSON document per processed call.
	Webhook Webhook `yaml:"webhook"`
	// RetryFor is how long the notify stage keeps retrying a notification
	// that cannot be sent (a mail server down), from its first attempt,
	// before it fails for good; it replaces pipeline.max_attempts for that
	// stage.
	RetryFor Duration `yaml:"retry_for"`
	// RetryBackoffMax caps the wait between two attempts of the notify
	// stage (5 s, doubling after each failure).
	RetryBackoffMax Duration `yaml:"retry_backoff_max"`
}

// Email configures notification emails; empty To turns them off.
type Email struct {
	To     string `yaml:"to"`
	From   string `yaml:"from"`
	Attach bool   `yaml:"attach"`
	SMTP   SMTP   `yaml:"smtp"`
}

// SMTP configures the mail server.
type SMTP struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS is none, starttls or tls.
	TLS      string `yaml:"tls"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// Webhook configures the webhook; empty URL turns it off.
type Webhook struct {
	URL string `yaml:"url"`
	// Secret signs the body (X-Callrec-Signature: sha256=HMAC).
	Secret string `yaml:"secret"`
}

// BaseURL is public_url, or http:// and web.listen ("" when neither is
// set).
func (c *Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	if c.Web.Listen == "" {
		return ""
	}
	return "http://" + c.Web.Listen
}

// LinkSecretFile is web.secret_file or data_dir/link-secret.
func (c *Config) LinkSecretFile() string {
	if c.Web.SecretFile != "" {
		return c.Web.SecretFile
	}
	return filepath.Join(c.DataDir, "link-secret")
}

// Transcribe configures the speech-to-text engine.
type Transcribe struct {
	// Engine is sphinx (offline, the default), openai (an OpenAI-compatible
	// server such as whisper.cpp or faster-whisper) or aws (Amazon
	// Transcribe Call Analytics).
	Engine string `yaml:"engine"`
	// Language is the BCP 47 language of the calls.
	Language string `yaml:"language"`
	// URL is the openai engine's server, such as http://127.0.0.1:8080.
	URL string `yaml:"url"`
	// APIKey is sent as a bearer token to the openai engine's server.
	APIKey string `yaml:"api_key"`
	// Model is the openai engine's model name.
	Model string `yaml:"model"`
	// SampleRate resamples audio sent to the openai engine (16000 for
	// whisper.cpp's server without --convert); 0 sends the recording's rate.
	SampleRate int `yaml:"sample_rate"`
	// SphinxModelDir overrides the sphinx engine's acoustic model directory.
	SphinxModelDir string `yaml:"sphinx_model_dir"`
	// AWSRegion, AWSBucket, AWSPrefix and AWSRoleARN configure the aws engine
	// (credentials come from the usual AWS environment / files).
	AWSRegion string `yaml:"aws_region"`
	// AWSBucket is the S3 bucket recordings are uploaded to.
	AWSBucket string `yaml:"aws_bucket"`
	// AWSPrefix is the key prefix in AWSBucket.
	AWSPrefix string `yaml:"aws_prefix"`
	// AWSRoleARN is the DataAccessRoleArn Transcribe uses to read the bucket.
	AWSRoleARN string `yaml:"aws_role_arn"`
	// AWSEndpoint overrides the AWS endpoints (S3-compatible stores, tests).
	AWSEndpoint string `yaml:"aws_endpoint"`
}

// Pipeline configures post-call processing.
type Pipeline struct {
	// Workers is how many stages run at once; 0 only queues work for other
	// nodes.
	Workers int `yaml:"workers"`
	// MaxAttempts is how often a failing stage is tried (but the notify
	// stage, which Notify.RetryFor bounds).
	MaxAttempts int `yaml:"max_attempts"`
	// StageTimeout bounds one attempt of a stage.
	StageTimeout Duration `yaml:"stage_timeout"`
}

// Analytics configures call analytics.
type Analytics struct {
	// CategoriesFile is a YAML file of category rules; "" for none.
	CategoriesFile string `yaml:"categories_file"`
}

// Log configures logging.
type Log struct {
	// Level is the minimum level logged: debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// SIP configures the local SIP and RTP endpoints.
type SIP struct {
	// Listen is the host:port SIP listens on, over both UDP and TCP.
	Listen string `yaml:"listen"`
	// MediaAddress is the IP address advertised in SDP and used for RTP.
	MediaAddress string `yaml:"media_address"`
	// RTPPorts is the inclusive RTP port range, "min-max"; see PortRange.
	RTPPorts string `yaml:"rtp_ports"`
	// UDPMTU is the largest SIP message sent over UDP, in bytes.
	UDPMTU int `yaml:"udp_mtu"`
	// UserAgent is sent in User-Agent and Server headers.
	UserAgent string `yaml:"user_agent"`
	// RejectUntrusted is what requests from outside trunk.allowed_sources
	// get: "drop" (nothing at all) or "403" (one 403, never retransmitted).
	RejectUntrusted string `yaml:"reject_untrusted"`
	// TCPMaxConnections caps the SIP TCP connections open at once.
	TCPMaxConnections int `yaml:"tcp_max_connections"`
	// TCPMaxPerSource caps the SIP TCP connections open at once from one
	// IP address.
	TCPMaxPerSource int `yaml:"tcp_max_per_source"`
	// TCPFirstMessageTimeout closes a TCP connection that has not sent a
	// complete SIP message this long after it was accepted.
	TCPFirstMessageTimeout Duration `yaml:"tcp_first_message_timeout"`
	// TCPIdleTimeout closes a TCP connection on which nothing arrived for
	// this long.
	TCPIdleTimeout Duration `yaml:"tcp_idle_timeout"`
	// RejectLogInterval is how often refused requests are summarised in
	// the log.
	RejectLogInterval Duration `yaml:"reject_log_interval"`
	// SessionExpires is the SIP session interval (RFC 4028) callrec asks
	// for and grants at most: a call whose refreshes stop is ended after it.
	SessionExpires Duration `yaml:"session_expires"`
	// MinSE is the shortest session interval callrec accepts (at least
	// 90s); an INVITE asking for less is answered 422.
	MinSE Duration `yaml:"min_se"`
	// ExternalAddress is the host[:port] written in Via sent-by, Contact
	// and the registered Contact instead of Listen's, for a server behind
	// NAT or on a cloud VM whose public IP is not on an interface; "auto"
	// discovers it with STUN (media.stun_server) at start; empty means
	// Listen's address.
	ExternalAddress string `yaml:"external_address"`
	// TLSListen is the host:port SIP over TLS listens on; empty means no
	// TLS listener.
	TLSListen string `yaml:"tls_listen"`
	// TLSCert and TLSKey are the PEM files of the TLS listener's
	// certificate (chain) and private key, re-read on SIGHUP.
	TLSCert string `yaml:"tls_cert"`
	// TLSKey is the PEM file of TLSCert's private key.
	TLSKey string `yaml:"tls_key"`
}

// ExternalAuto is the value of sip.external_address and
// media.external_address that discovers the public address with STUN.
const ExternalAuto = "auto"

// Media configures how RTP is reached from outside.
type Media struct {
	// ExternalAddress is the IP written in SDP instead of
	// sip.media_address (RTP still binds sip.media_address), or "auto" to
	// discover it with STUN from the media socket at start; empty means
	// sip.media_address.
	ExternalAddress string `yaml:"external_address"`
	// StunServer is the STUN server's host:port, required when either
	// external address is "auto". It has no default: a self-hosted system
	// should not contact a third party unless its owner asks it to.
	StunServer string `yaml:"stun_server"`
	// Timeout ends a call whose leg sends no RTP for this long while it
	// should (not on hold): a phone that lost its network, a NAT that
	// dropped the binding. "0s" turns it off.
	Timeout Duration `yaml:"timeout"`
	// SRTP is what each leg's media may or must be: "off" (plain RTP
	// only), "optional" (an encrypted offer is answered encrypted; our own
	// offers are plain) or "required" (SRTP with SDES keys only; plain
	// offers get 488 and our offers are RTP/SAVP).
	SRTP string `yaml:"srtp"`
	// Codecs are the audio codecs spoken, in preference order: G722,
	// PCMU, PCMA. Our offers list them in this order; answers take the
	// offerer's first one that is listed.
	Codecs []string `yaml:"codecs"`
}

// Values of Media.SRTP.
const (
	SRTPOff      = "off"
	SRTPOptional = "optional"
	SRTPRequired = "required"
)

// Values of SIP.RejectUntrusted.
const (
	RejectUntrustedDrop = "drop"
	RejectUntrusted403  = "403"
)

// Trunk configures the SIP trunk that connects callrec to the phone network.
type Trunk struct {
	// Address is the trunk's host:port.
	Address string `yaml:"address"`
	// Transport is udp, tcp or tls.
	Transport string `yaml:"transport"`
	// Domain is the host used in Request-URIs and From headers; empty means
	// the host of Address (see DomainName).
	Domain string `yaml:"domain"`
	// Username and Password answer the trunk's digest challenges; set both
	// or neither.
	Username string `yaml:"username"`
	// Password is the digest password for Username.
	Password string `yaml:"password"`
	// Register makes callrec REGISTER with the trunk.
	Register bool `yaml:"register"`
	// RegisterExpiry is the registration lifetime requested.
	RegisterExpiry Duration `yaml:"register_expiry"`
	// AllowedSources lists the IPs or CIDRs that may send SIP requests;
	// empty means the trunk's own IP; see Config.AllowedSources.
	AllowedSources []string `yaml:"allowed_sources"`
	// Keepalive is how often the trunk is sent a keep-alive so that a NAT
	// binding towards it stays open: a CRLF ping on the TCP and TLS
	// connections open to it, and over UDP an OPTIONS while callrec is
	// registered or sip.external_address is set; zero turns keep-alives
	// off.
	Keepalive Duration `yaml:"keepalive"`
	// TLSCA is a PEM bundle of certificate authorities trusted for the
	// trunk's TLS certificate besides the system roots (a private CA);
	// empty means the system roots only.
	TLSCA string `yaml:"tls_ca"`
	// TLSServerName is the name the trunk's TLS certificate must carry;
	// empty means the host of Address.
	TLSServerName string `yaml:"tls_server_name"`
}

// Database configures where call records are kept.
type Database struct {
	// URL is empty for the SQLite file data_dir/callrec.db. URLs starting
	// with postgres:// or postgresql:// keep records and the job queue in PostgreSQL.
	URL string `yaml:"url"`
}

// Database drivers returned by Config.DatabaseDriver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// SQLiteFile is the name of the SQLite database inside DataDir.
const SQLiteFile = "callrec.db"

// Default returns the built-in defaults. The result does not validate on its
// own: service_number, owner_number and trunk.address have no default.
func Default() *Config {
	return &Config{
		DefaultCountryCode: "1",
		MaxCallSeconds:     14400,
		MaxConcurrentCalls: 200,
		RingTimeoutSeconds: 30,
		DigitTimeoutMS:     2500,
		DataDir:            "./data",
		ShutdownGrace:      Duration(30 * time.Second),
		Log:                Log{Level: "info", Format: "text"},
		SIP: SIP{
			Listen:       "127.0.0.1:5060",
			MediaAddress: "127.0.0.1",
			RTPPorts:     "20000-20999",
			UDPMTU:       8192,
			UserAgent:    "callrec",

			RejectUntrusted:        RejectUntrustedDrop,
			TCPMaxConnections:      1024,
			TCPMaxPerSource:        32,
			TCPFirstMessageTimeout: Duration(10 * time.Second),
			TCPIdleTimeout:         Duration(10 * time.Minute),
			RejectLogInterval:      Duration(time.Minute),
			SessionExpires:         Duration(30 * time.Minute),
			MinSE:                  Duration(90 * time.Second),
		},
		Media: Media{Timeout: Duration(60 * time.Second), SRTP: SRTPOptional, Codecs: []string{"G722", "PCMU", "PCMA"}},
		Trunk: Trunk{
			Transport:      "udp",
			RegisterExpiry: Duration(time.Hour),
			Keepalive:      Duration(30 * time.Second),
		},
		Transcribe: Transcribe{Engine: "sphinx", Language: "en-US", Model: "whisper-1", AWSPrefix: "callrec"},
		Pipeline:   Pipeline{Workers: 2, MaxAttempts: 5, StageTimeout: Duration(30 * time.Minute)},
		Web:        Web{Listen: "127.0.0.1:8080", APITokens: []string{}, LinkTTL: Duration(7 * 24 * time.Hour)},
		Notify: Notify{
			Email:           Email{SMTP: SMTP{Host: "127.0.0.1", Port: 25, TLS: "starttls"}},
			RetryFor:        Duration(24 * time.Hour),
			RetryBackoffMax: Duration(30 * time.Minute),
		},
		Storage: Storage{WhenFull: StorageConnectUnrecorded, CheckEvery: Duration(10 * time.Second)},
	}
}

// Destinations returns the "+"-prefixes the owner may dial: the configured
// allowed_destinations, or "+" and the default country code when none are
// configured.
func (c *Config) Destinations() []string {
	if len(c.AllowedDestinations) > 0 {
		out := make([]string, len(c.AllowedDestinations))
		copy(out, c.AllowedDestinations)
		return out
	}
	return []string{"+" + c.DefaultCountryCode}
}

// AllowedSources returns the networks that may send SIP requests. When
// trunk.allowed_sources is set it returns those (a bare IP becomes a /32 or
// /128). Otherwise it returns the trunk's IP when trunk.address is an IP
// literal, and an empty list when it is a host name: the caller then decides
// (for example by resolving the name). "0.0.0.0/0" and "::/0" allow every
// IPv4 or IPv6 source.
func (c *Config) AllowedSources() ([]netip.Prefix, error) {
	if len(c.Trunk.AllowedSources) == 0 {
		host, _, err := net.SplitHostPort(c.Trunk.Address)
		if err != nil {
			return nil, fmt.Errorf("trunk.address: %w", err)
		}
		addr, err := netip.ParseAddr(host)
		if err != nil {
			return []netip.Prefix{}, nil
		}
		addr = addr.Unmap()
		return []netip.Prefix{netip.PrefixFrom(addr, addr.BitLen())}, nil
	}
	out := make([]netip.Prefix, 0, len(c.Trunk.AllowedSources))
	for i, s := range c.Trunk.AllowedSources {
		p, err := parseSource(s)
		if err != nil {
			return nil, fmt.Errorf("trunk.allowed_sources[%d]: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// parseSource parses an IP address or CIDR into a masked prefix.
func parseSource(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() {
			bits := p.Bits() - 96
			if bits < 0 {
				return netip.Prefix{}, fmt.Errorf("%q: IPv4-mapped prefix shorter than /96", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), bits)
		}
		return p.Masked(), nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	addr = addr.Unmap()
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

// DomainName returns the host used in Request-URIs and From headers: Domain
// when set, else the host part of Address.
func (t Trunk) DomainName() string {
	if t.Domain != "" {
		return t.Domain
	}
	host, _, err := net.SplitHostPort(t.Address)
	if err != nil {
		return t.Address
	}
	return host
}

// PortRange parses RTPPorts ("min-max", inclusive) and returns its bounds.
// It does not check the range's size or limits; Validate does.
func (s SIP) PortRange() (lo, hi int, err error) {
	a, b, ok := strings.Cut(s.RTPPorts, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not a range \"min-max\"", s.RTPPorts)
	}
	lo, err = strconv.Atoi(strings.TrimSpace(a))
	if err != nil {
		return 0, 0, fmt.Errorf("%q: lower bound is not a number", s.RTPPorts)
	}
	hi, err = strconv.Atoi(strings.TrimSpace(b))
	if err != nil {
		return 0, 0, fmt.Errorf("%q: upper bound is not a number", s.RTPPorts)
	}
	return lo, hi, nil
}

// DatabaseDriver returns DriverSQLite when database.url is empty and
// DriverPostgres for postgres:// and postgresql:// URLs. Any other URL is
// rejected by Validate; for it DatabaseDriver returns "".
func (c *Config) DatabaseDriver() string {
	switch {
	case c.Database.URL == "":
		return DriverSQLite
	case strings.HasPrefix(c.Database.URL, "postgres://"),
		strings.HasPrefix(c.Database.URL, "postgresql://"):
		return DriverPostgres
	default:
		return ""
	}
}

// SQLitePath returns the SQLite database file, data_dir/callrec.db.
func (c *Config) SQLitePath() string {
	return filepath.Join(c.DataDir, SQLiteFile)
}

// Duration is a time.Duration written in configuration as a Go duration
// string such as "30s", "1m30s" or "1h".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.String.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// UnmarshalText parses a Go duration string such as "30s" or "1h".
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration; write a number with a unit, such as \"30s\", \"5m\" or \"1h\"", s)
	}
	*d = Duration(v)
	return nil
}
