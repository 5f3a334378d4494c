package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// requiredEnv is the minimal environment that makes the defaults valid.
var requiredEnv = []string{
	"CALLREC_SERVICE_NUMBER=+15550100000",
	"CALLREC_OWNER_NUMBER=+15550100001",
	"CALLREC_TRUNK_ADDRESS=192.0.2.10:5060",
}

// valid returns a configuration that passes Validate.
func valid() *Config {
	c := Default()
	c.ServiceNumber = "+15550100000"
	c.OwnerNumber = "+15550100001"
	c.Trunk.Address = "192.0.2.10:5060"
	return c
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "callrec.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	c := Default()
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"default_country_code", c.DefaultCountryCode, "1"},
		{"max_call_seconds", c.MaxCallSeconds, 14400},
		{"max_concurrent_calls", c.MaxConcurrentCalls, 200},
		{"ring_timeout_seconds", c.RingTimeoutSeconds, 30},
		{"digit_timeout_ms", c.DigitTimeoutMS, 2500},
		{"data_dir", c.DataDir, "./data"},
		{"prompts_dir", c.PromptsDir, ""},
		{"shutdown_grace", c.ShutdownGrace.D(), 30 * time.Second},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
		{"sip.listen", c.SIP.Listen, "127.0.0.1:5060"},
		{"sip.media_address", c.SIP.MediaAddress, "127.0.0.1"},
		{"sip.rtp_ports", c.SIP.RTPPorts, "20000-20999"},
		{"sip.udp_mtu", c.SIP.UDPMTU, 8192},
		{"sip.user_agent", c.SIP.UserAgent, "callrec"},
		{"sip.reject_untrusted", c.SIP.RejectUntrusted, "drop"},
		{"sip.tcp_max_connections", c.SIP.TCPMaxConnections, 1024},
		{"sip.tcp_max_per_source", c.SIP.TCPMaxPerSource, 32},
		{"sip.tcp_first_message_timeout", c.SIP.TCPFirstMessageTimeout.D(), 10 * time.Second},
		{"sip.tcp_idle_timeout", c.SIP.TCPIdleTimeout.D(), 10 * time.Minute},
		{"sip.reject_log_interval", c.SIP.RejectLogInterval.D(), time.Minute},
		{"sip.session_expires", c.SIP.SessionExpires.D(), 30 * time.Minute},
		{"sip.min_se", c.SIP.MinSE.D(), 90 * time.Second},
		{"trunk.transport", c.Trunk.Transport, "udp"},
		{"trunk.register", c.Trunk.Register, false},
		{"trunk.register_expiry", c.Trunk.RegisterExpiry.D(), time.Hour},
		{"database.url", c.Database.URL, ""},
		{"notify.retry_for", c.Notify.RetryFor.D(), 24 * time.Hour},
		{"notify.retry_backoff_max", c.Notify.RetryBackoffMax.D(), 30 * time.Minute},
		{"destinations", c.Destinations(), []string{"+1"}},
		{"sqlite path", c.SQLitePath(), filepath.Join("data", "callrec.db")},
		{"driver", c.DatabaseDriver(), DriverSQLite},
	}
	for _, tc := range checks {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
	lo, hi, err := c.SIP.PortRange()
	if err != nil || lo != 20000 || hi != 20999 {
		t.Errorf("PortRange() = %d, %d, %v", lo, hi, err)
	}

	// Defaults alone lack exactly the three required keys.
	err = Default().Validate()
	if err == nil {
		t.Fatal("Default().Validate() = nil, want errors for required keys")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Errorf("Default().Validate() gave %d problems, want 3:\n%v", len(lines), err)
	}
	for _, key := range []string{"service_number:", "owner_number:", "trunk.address:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("Default().Validate() does not name %s:\n%v", key, err)
		}
	}

	// Defaults plus the required keys from the environment load.
	got, err := Load("", requiredEnv)
	if err != nil {
		t.Fatalf("Load(\"\", required) = %v", err)
	}
	if !reflect.DeepEqual(got, valid()) {
		t.Errorf("Load(\"\", required) = %+v, want %+v", got, valid())
	}
}

const fullYAML = `
service_number: +442071234567
owner_number: "+447700900123"
owner_pin: 0042
default_country_code: 44
allowed_destinations: ["+44", "+353"]
max_call_seconds: 3600
max_concurrent_calls: 10
ring_timeout_seconds: 45
digit_timeout_ms: 4000
data_dir: /var/lib/callrec
prompts_dir: /etc/callrec/prompts
shutdown_grace: 1m30s
log:
  level: debug
  format: json
sip:
  listen: "0.0.0.0:5080"
  media_address: 203.0.113.5
  rtp_ports: 30000-30099
  udp_mtu: 1400
  user_agent: rec/1
  reject_untrusted: 403
  tcp_max_connections: 500
  tcp_max_per_source: 8
  tcp_first_message_timeout: 5s
  tcp_idle_timeout: 2m
  reject_log_interval: 30s
trunk:
  address: sip.example.net:5061
  transport: tcp
  domain: example.net
  username: alice
  password: s3cret
  register: true
  register_expiry: 10m
  allowed_sources:
    - 198.51.100.0/24
    - 2001:db8::1
database:
  url: postgres://u:p@db/callrec
`

func fullConfig() *Config {
	return &Config{
		ServiceNumber:       "+442071234567",
		OwnerNumber:         "+447700900123",
		OwnerPIN:            "0042",
		DefaultCountryCode:  "44",
		AllowedDestinations: []string{"+44", "+353"},
		MaxCallSeconds:      3600,
		MaxConcurrentCalls:  10,
		RingTimeoutSeconds:  45,
		DigitTimeoutMS:      4000,
		DataDir:             "/var/lib/callrec",
		PromptsDir:          "/etc/callrec/prompts",
		ShutdownGrace:       Duration(90 * time.Second),
		Log:                 Log{Level: "debug", Format: "json"},
		SIP: SIP{
			Listen:       "0.0.0.0:5080",
			MediaAddress: "203.0.113.5",
			RTPPorts:     "30000-30099",
			UDPMTU:       1400,
			UserAgent:    "rec/1",

			RejectUntrusted:        "403",
			TCPMaxConnections:      500,
			TCPMaxPerSource:        8,
			TCPFirstMessageTimeout: Duration(5 * time.Second),
			TCPIdleTimeout:         Duration(2 * time.Minute),
			RejectLogInterval:      Duration(30 * time.Second),
			SessionExpires:         Default().SIP.SessionExpires,
			MinSE:                  Default().SIP.MinSE,
		},
		Media: Default().Media,
		Trunk: Trunk{
			Address:        "sip.example.net:5061",
			Transport:      "tcp",
			Domain:         "example.net",
			Username:       "alice",
			Password:       "s3cret",
			Register:       true,
			RegisterExpiry: Duration(10 * time.Minute),
			AllowedSources: []string{"198.51.100.0/24", "2001:db8::1"},
			Keepalive:      Default().Trunk.Keepalive,
		},
		Database:   Database{URL: "postgres://u:p@db/callrec"},
		Transcribe: Default().Transcribe,
		Pipeline:   Default().Pipeline,
		Web:        Default().Web,
		Notify:     Default().Notify,
		Storage:    Default().Storage,
	}
}

func TestLoadFullFile(t *testing.T) {
	got, err := Load(writeFile(t, fullYAML), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want := fullConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", got, want)
	}
	if got.DatabaseDriver() != DriverPostgres {
		t.Errorf("DatabaseDriver() = %q, want %q", got.DatabaseDriver(), DriverPostgres)
	}
}

func TestLoadPartialFileKeepsDefaults(t *testing.T) {
	got, err := Load(writeFile(t, "service_number: \"+15550100000\"\nowner_number: \"+15550100001\"\ntrunk:\n  address: 192.0.2.10:5060\nlog:\nsip:\n  udp_mtu: 1500\n"), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := valid()
	want.SIP.UDPMTU = 1500
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", got, want)
	}
}

func TestLoadEmptyFile(t *testing.T) {
	for _, content := range []string{"", "# only a comment\n", "---\n"} {
		got, err := Load(writeFile(t, content), requiredEnv)
		if err != nil {
			t.Errorf("Load(%q): %v", content, err)
			continue
		}
		if !reflect.DeepEqual(got, valid()) {
			t.Errorf("Load(%q) = %+v, want defaults", content, got)
		}
	}
}

func TestEnvOverridesFile(t *testing.T) {
	env := []string{
		"PATH=/usr/bin",
		"CALLREC_CONFIG=/ignored.yaml",
		"CALLREC_SIP_LISTEN=10.0.0.1:5070",
		"CALLREC_TRUNK_ALLOWED_SOURCES= 10.0.0.0/8 , 192.0.2.7,",
		"CALLREC_OWNER_PIN=",
		"CALLREC_LOG_LEVEL=warn",
		"CALLREC_MAX_CALL_SECONDS=60",
		"CALLREC_TRUNK_REGISTER=0",
		"CALLREC_SHUTDOWN_GRACE=2s",
		"CALLREC_NOTIFY_RETRY_FOR=3m",
		"CALLREC_ALLOWED_DESTINATIONS=",
		"CALLREC_LOG_FORMAT=text",
		"CALLREC_LOG_FORMAT=json", // the last occurrence wins
	}
	got, err := Load(writeFile(t, fullYAML), env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := fullConfig()
	want.SIP.Listen = "10.0.0.1:5070"
	want.Trunk.AllowedSources = []string{"10.0.0.0/8", "192.0.2.7"}
	want.OwnerPIN = ""
	want.Log.Level = "warn"
	want.MaxCallSeconds = 60
	want.Trunk.Register = false
	want.ShutdownGrace = Duration(2 * time.Second)
	want.Notify.RetryFor = Duration(3 * time.Minute)
	want.AllowedDestinations = []string{}
	want.Log.Format = "json"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", got, want)
	}
	if d := got.Destinations(); !slices.Equal(d, []string{"+44"}) {
		t.Errorf("Destinations() = %v, want [+44]", d)
	}
}

func TestEnvBools(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{{"true", true}, {"TRUE", true}, {"1", true}, {"false", false}, {"0", false}, {"False", false}} {
		c := valid()
		c.Trunk.Register = !tc.want
		if err := applyEnv(c, []string{"CALLREC_TRUNK_REGISTER=" + tc.value}); err != nil {
			t.Errorf("%q: %v", tc.value, err)
		} else if c.Trunk.Register != tc.want {
			t.Errorf("%q: register = %v, want %v", tc.value, c.Trunk.Register, tc.want)
		}
	}
}

func TestEnvErrors(t *testing.T) {
	tests := []struct {
		env  string
		want []string // substrings of the error
	}{
		{"CALLREC_MAX_CALL_SECONDS=ten", []string{"CALLREC_MAX_CALL_SECONDS", "max_call_seconds", "whole number"}},
		{"CALLREC_TRUNK_REGISTER=yes", []string{"CALLREC_TRUNK_REGISTER", "true, false, 1 or 0"}},
		{"CALLREC_SHUTDOWN_GRACE=30", []string{"CALLREC_SHUTDOWN_GRACE", "30s"}},
		{"CALLREC_SIP_LISTN=x", []string{"CALLREC_SIP_LISTN", "no such setting", "did you mean CALLREC_SIP_LISTEN"}},
		{"CALLREC_SIP=x", []string{"CALLREC_SIP:", "no such setting"}},
		{"CALLREC_BANANA=1", []string{"CALLREC_BANANA", "no such setting"}},
		{"CALLREC_LOG_LEVEL=loud", []string{"log.level", "debug, info, warn or error"}},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			_, err := Load("", append(slices.Clone(requiredEnv), tc.env))
			if err == nil {
				t.Fatal("Load succeeded, want error")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestEnvNamesUnique(t *testing.T) {
	seen := map[string]string{}
	for i, env := range EnvVars() {
		key := Keys()[i]
		if other, dup := seen[env]; dup {
			t.Errorf("keys %s and %s share %s", other, key, env)
		}
		seen[env] = key
		if env == EnvConfigFile {
			t.Errorf("key %s collides with %s", key, EnvConfigFile)
		}
	}
	if len(seen) != 86 {
		t.Errorf("%d keys, want 86 (update this test and ExampleYAML when adding keys)", len(seen))
	}
}

func TestYAMLErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown top-level key", "servce_number: x\n", []string{"servce_number (line 1): unknown key", `did you mean "service_number"`}},
		{"unknown nested key", "sip:\n  rtp_port: 1-2\n", []string{"sip.rtp_port (line 2): unknown key", "rtp_ports"}},
		{"repeated key", "log:\n  level: info\n  level: debug\n", []string{"log.level (line 3): key repeated (first on line 2)"}},
		{"not an int", "max_call_seconds: 1h\n", []string{"max_call_seconds (line 1)", "whole number"}},
		{"not a bool", "trunk:\n  register: maybe\n", []string{"trunk.register (line 2)", "true or false"}},
		{"bad duration", "shutdown_grace: 30\n", []string{"shutdown_grace (line 1)", "not a duration"}},
		{"list for scalar", "owner_pin: [1, 2]\n", []string{"owner_pin (line 1)", "single value"}},
		{"scalar for list", "allowed_destinations: +1\n", []string{"allowed_destinations (line 1)", "expected a list"}},
		{"scalar for section", "sip: 5060\n", []string{"sip (line 1)", "mapping"}},
		{"not a mapping", "- a\n- b\n", []string{"the top level", "mapping"}},
		{"two documents", "log: {}\n---\nlog: {}\n", []string{"more than one YAML document"}},
		{"syntax", "log: [\n", []string{"yaml:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tc.yaml), requiredEnv)
			if err == nil {
				t.Fatal("Load succeeded, want error")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), requiredEnv)
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("Load(missing) = %v, want error naming the file", err)
	}
}

func TestYAMLAliases(t *testing.T) {
	got, err := Load(writeFile(t, "service_number: &n \"+15550100000\"\nowner_number: \"+15550100001\"\nprompts_dir: *n\ntrunk: {address: \"192.0.2.10:5060\"}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.PromptsDir != "+15550100000" {
		t.Errorf("prompts_dir = %q", got.PromptsDir)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		key    string // the key the message must start with; "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"notify retry zero", func(c *Config) { c.Notify.RetryFor = 0 }, "notify.retry_for"},
		{"notify retry negative", func(c *Config) { c.Notify.RetryFor = Duration(-time.Hour) }, "notify.retry_for"},
		{"notify backoff zero", func(c *Config) { c.Notify.RetryBackoffMax = 0 }, "notify.retry_backoff_max"},
		{"notify short retry ok", func(c *Config) {
			c.Notify.RetryFor, c.Notify.RetryBackoffMax = Duration(3*time.Minute), Duration(5*time.Second)
		}, ""},
		{"service number missing", func(c *Config) { c.ServiceNumber = "" }, "service_number"},
		{"service number no plus", func(c *Config) { c.ServiceNumber = "15550100000" }, "service_number"},
		{"service number letters", func(c *Config) { c.ServiceNumber = "+1555CALLREC" }, "service_number"},
		{"service number too long", func(c *Config) { c.ServiceNumber = "+1234567890123456" }, "service_number"},
		{"service number leading zero", func(c *Config) { c.ServiceNumber = "+0155501000" }, "service_number"},
		{"owner number missing", func(c *Config) { c.OwnerNumber = "" }, "owner_number"},
		{"owner number bad", func(c *Config) { c.OwnerNumber = "+1 555 0100" }, "owner_number"},
		{"owner equals service", func(c *Config) { c.OwnerNumber = c.ServiceNumber }, "owner_number"},
		{"pin ok", func(c *Config) { c.OwnerPIN = "0000" }, ""},
		{"pin short", func(c *Config) { c.OwnerPIN = "123" }, "owner_pin"},
		{"pin long", func(c *Config) { c.OwnerPIN = "1234567890123" }, "owner_pin"},
		{"pin letters", func(c *Config) { c.OwnerPIN = "12a4" }, "owner_pin"},
		{"country code empty", func(c *Config) { c.DefaultCountryCode = "" }, "default_country_code"},
		{"country code plus", func(c *Config) { c.DefaultCountryCode = "+1" }, "default_country_code"},
		{"country code long", func(c *Config) { c.DefaultCountryCode = "1234" }, "default_country_code"},
		{"destinations ok", func(c *Config) { c.AllowedDestinations = []string{"+", "+44", "+1555"} }, ""},
		{"destination no plus", func(c *Config) { c.AllowedDestinations = []string{"+1", "44"} }, "allowed_destinations[1]"},
		{"destination letters", func(c *Config) { c.AllowedDestinations = []string{"+1x"} }, "allowed_destinations[0]"},
		{"max call seconds", func(c *Config) { c.MaxCallSeconds = 0 }, "max_call_seconds"},
		{"max concurrent calls", func(c *Config) { c.MaxConcurrentCalls = -1 }, "max_concurrent_calls"},
		{"ring timeout", func(c *Config) { c.RingTimeoutSeconds = 0 }, "ring_timeout_seconds"},
		{"digit timeout", func(c *Config) { c.DigitTimeoutMS = 0 }, "digit_timeout_ms"},
		{"data dir", func(c *Config) { c.DataDir = " " }, "data_dir"},
		{"shutdown grace negative", func(c *Config) { c.ShutdownGrace = Duration(-time.Second) }, "shutdown_grace"},
		{"shutdown grace zero", func(c *Config) { c.ShutdownGrace = 0 }, ""},
		{"log level", func(c *Config) { c.Log.Level = "INFO" }, "log.level"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format"},
		{"listen no port", func(c *Config) { c.SIP.Listen = "127.0.0.1" }, "sip.listen"},
		{"listen bad port", func(c *Config) { c.SIP.Listen = "127.0.0.1:70000" }, "sip.listen"},
		{"listen all interfaces", func(c *Config) { c.SIP.Listen = ":5060" }, ""},
		{"listen ipv6", func(c *Config) { c.SIP.Listen = "[::1]:5060" }, ""},
		{"media address name", func(c *Config) { c.SIP.MediaAddress = "example.com" }, "sip.media_address"},
		{"media address unspecified", func(c *Config) { c.SIP.MediaAddress = "0.0.0.0" }, "sip.media_address"},
		{"media address ipv6", func(c *Config) { c.SIP.MediaAddress = "2001:db8::5" }, ""},
		{"rtp ports syntax", func(c *Config) { c.SIP.RTPPorts = "20000" }, "sip.rtp_ports"},
		{"rtp ports number", func(c *Config) { c.SIP.RTPPorts = "a-b" }, "sip.rtp_ports"},
		{"rtp ports low", func(c *Config) { c.SIP.RTPPorts = "1000-1999" }, "sip.rtp_ports"},
		{"rtp ports high", func(c *Config) { c.SIP.RTPPorts = "65000-65536" }, "sip.rtp_ports"},
		{"rtp ports reversed", func(c *Config) { c.SIP.RTPPorts = "20999-20000" }, "sip.rtp_ports"},
		{"rtp ports odd size", func(c *Config) { c.SIP.RTPPorts = "20000-20998" }, "sip.rtp_ports"},
		{"rtp ports single", func(c *Config) { c.SIP.RTPPorts = "20000-20000" }, "sip.rtp_ports"},
		{"rtp ports two", func(c *Config) { c.SIP.RTPPorts = "20000-20001" }, ""},
		{"udp mtu small", func(c *Config) { c.SIP.UDPMTU = 500 }, "sip.udp_mtu"},
		{"udp mtu large", func(c *Config) { c.SIP.UDPMTU = 70000 }, "sip.udp_mtu"},
		{"user agent newline", func(c *Config) { c.SIP.UserAgent = "a\r\nX: y" }, "sip.user_agent"},
		{"reject untrusted 403", func(c *Config) { c.SIP.RejectUntrusted = "403" }, ""},
		{"reject untrusted other", func(c *Config) { c.SIP.RejectUntrusted = "reject" }, "sip.reject_untrusted"},
		{"reject untrusted empty", func(c *Config) { c.SIP.RejectUntrusted = "" }, "sip.reject_untrusted"},
		{"tcp max connections zero", func(c *Config) { c.SIP.TCPMaxConnections = 0 }, "sip.tcp_max_connections"},
		{"tcp max per source zero", func(c *Config) { c.SIP.TCPMaxPerSource = 0 }, "sip.tcp_max_per_source"},
		{"tcp max per source above total", func(c *Config) { c.SIP.TCPMaxConnections, c.SIP.TCPMaxPerSource = 10, 11 }, "sip.tcp_max_per_source"},
		{"tcp max per source equal total", func(c *Config) { c.SIP.TCPMaxConnections, c.SIP.TCPMaxPerSource = 10, 10 }, ""},
		{"tcp first message timeout zero", func(c *Config) { c.SIP.TCPFirstMessageTimeout = 0 }, "sip.tcp_first_message_timeout"},
		{"tcp first message timeout short", func(c *Config) { c.SIP.TCPFirstMessageTimeout = Duration(500 * time.Millisecond) }, "sip.tcp_first_message_timeout"},
		{"tcp idle timeout negative", func(c *Config) { c.SIP.TCPIdleTimeout = Duration(-time.Minute) }, "sip.tcp_idle_timeout"},
		{"reject log interval zero", func(c *Config) { c.SIP.RejectLogInterval = 0 }, "sip.reject_log_interval"},
		{"reject log interval one second", func(c *Config) { c.SIP.RejectLogInterval = Duration(time.Second) }, ""},
		{"min se below 90s", func(c *Config) { c.SIP.MinSE = Duration(60 * time.Second) }, "sip.min_se"},
		{"min se 90s", func(c *Config) {
			c.SIP.MinSE, c.SIP.SessionExpires = Duration(90*time.Second), Duration(90*time.Second)
		}, ""},
		{"session expires below min se", func(c *Config) { c.SIP.MinSE, c.SIP.SessionExpires = Duration(10*time.Minute), Duration(5*time.Minute) }, "sip.session_expires"},
		{"trunk address missing", func(c *Config) { c.Trunk.Address = "" }, "trunk.address"},
		{"trunk address no port", func(c *Config) { c.Trunk.Address = "sip.example.net" }, "trunk.address"},
		{"trunk address no host", func(c *Config) { c.Trunk.Address = ":5060" }, "trunk.address"},
		{"trunk address name", func(c *Config) { c.Trunk.Address = "sip.example.net:5060" }, ""},
		{"trunk transport", func(c *Config) { c.Trunk.Transport = "sctp" }, "trunk.transport"},
		{"trunk transport tls", func(c *Config) { c.Trunk.Transport = "tls" }, ""},
		{"trunk keepalive off", func(c *Config) { c.Trunk.Keepalive = 0 }, ""},
		{"trunk keepalive negative", func(c *Config) { c.Trunk.Keepalive = Duration(-time.Second) }, "trunk.keepalive"},
		{"trunk keepalive too short", func(c *Config) { c.Trunk.Keepalive = Duration(time.Millisecond) }, "trunk.keepalive"},
		{"trunk tls server name", func(c *Config) { c.Trunk.TLSServerName = "sip.example.net" }, ""},
		{"trunk tls server name bad", func(c *Config) { c.Trunk.TLSServerName = "sip example" }, "trunk.tls_server_name"},
		{"sip external ip", func(c *Config) { c.SIP.ExternalAddress = "203.0.113.7" }, ""},
		{"sip external ip port", func(c *Config) { c.SIP.ExternalAddress = "203.0.113.7:5080" }, ""},
		{"sip external ipv6", func(c *Config) { c.SIP.ExternalAddress = "2001:db8::7" }, ""},
		{"sip external ipv6 port", func(c *Config) { c.SIP.ExternalAddress = "[2001:db8::7]:5080" }, ""},
		{"sip external host", func(c *Config) { c.SIP.ExternalAddress = "pbx.example.net" }, ""},
		{"sip external host port", func(c *Config) { c.SIP.ExternalAddress = "pbx.example.net:5080" }, ""},
		{"sip external bad", func(c *Config) { c.SIP.ExternalAddress = "sip:pbx@example" }, "sip.external_address"},
		{"sip external bad port", func(c *Config) { c.SIP.ExternalAddress = "pbx.example.net:99999" }, "sip.external_address"},
		{"sip external unspecified", func(c *Config) { c.SIP.ExternalAddress = "0.0.0.0" }, "sip.external_address"},
		{"sip external auto without stun", func(c *Config) { c.SIP.ExternalAddress = "auto" }, "media.stun_server"},
		{"sip external auto", func(c *Config) {
			c.SIP.ExternalAddress, c.Media.StunServer = "auto", "stun.example.net:3478"
		}, ""},
		{"media external ip", func(c *Config) { c.Media.ExternalAddress = "203.0.113.7" }, ""},
		{"media external host", func(c *Config) { c.Media.ExternalAddress = "media.example.net" }, "media.external_address"},
		{"media external unspecified", func(c *Config) { c.Media.ExternalAddress = "::" }, "media.external_address"},
		{"media external auto without stun", func(c *Config) { c.Media.ExternalAddress = "auto" }, "media.stun_server"},
		{"media stun bad", func(c *Config) { c.Media.StunServer = "stun.example.net" }, "media.stun_server"},
		{"media timeout too short", func(c *Config) { c.Media.Timeout = Duration(time.Second) }, "media.timeout"},
		{"media timeout negative", func(c *Config) { c.Media.Timeout = Duration(-time.Second) }, "media.timeout"},
		{"media srtp unknown", func(c *Config) { c.Media.SRTP = "mandatory" }, "media.srtp"},
		{"media codecs empty", func(c *Config) { c.Media.Codecs = nil }, "media.codecs"},
		{"media codecs opus", func(c *Config) { c.Media.Codecs = []string{"opus", "PCMU"} }, "media.codecs"},
		{"media codecs twice", func(c *Config) { c.Media.Codecs = []string{"PCMU", "pcmu"} }, "media.codecs"},
		{"tls listen", func(c *Config) {
			c.SIP.TLSListen, c.SIP.TLSCert, c.SIP.TLSKey = "0.0.0.0:5061", "cert.pem", "key.pem"
		}, ""},
		{"tls listen bad", func(c *Config) {
			c.SIP.TLSListen, c.SIP.TLSCert, c.SIP.TLSKey = "5061", "cert.pem", "key.pem"
		}, "sip.tls_listen"},
		{"tls listen without cert", func(c *Config) { c.SIP.TLSListen, c.SIP.TLSKey = "0.0.0.0:5061", "key.pem" }, "sip.tls_cert"},
		{"tls listen without key", func(c *Config) { c.SIP.TLSListen, c.SIP.TLSCert = "0.0.0.0:5061", "cert.pem" }, "sip.tls_key"},
		{"trunk domain scheme", func(c *Config) { c.Trunk.Domain = "sip:example.net" }, "trunk.domain"},
		{"trunk domain user", func(c *Config) { c.Trunk.Domain = "u@example.net" }, "trunk.domain"},
		{"trunk username only", func(c *Config) { c.Trunk.Username = "alice" }, "trunk.username"},
		{"trunk password only", func(c *Config) { c.Trunk.Password = "pw" }, "trunk.username"},
		{"trunk register expiry", func(c *Config) { c.Trunk.RegisterExpiry = Duration(30 * time.Second) }, "trunk.register_expiry"},
		{"allowed sources ok", func(c *Config) { c.Trunk.AllowedSources = []string{"0.0.0.0/0", "::/0", "10.1.2.3", "fe80::1"} }, ""},
		{"allowed source bad", func(c *Config) { c.Trunk.AllowedSources = []string{"10.0.0.0/8", "10.0.0.0/33"} }, "trunk.allowed_sources[1]"},
		{"allowed source name", func(c *Config) { c.Trunk.AllowedSources = []string{"sip.example.net"} }, "trunk.allowed_sources[0]"},
		{"database sqlite url", func(c *Config) { c.Database.URL = "sqlite:///tmp/x.db" }, "database.url"},
		{"database postgresql", func(c *Config) { c.Database.URL = "postgresql://db/x" }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.modify(c)
			err := c.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error for %s", tc.key)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("Validate() reported more than one problem:\n%s", msg)
			}
			if !strings.HasPrefix(msg, tc.key+":") && !strings.HasPrefix(msg, tc.key+" ") {
				t.Errorf("Validate() = %q, want it to start with %q", msg, tc.key)
			}
			if !strings.Contains(msg, ";") {
				t.Errorf("Validate() = %q, want \"problem; what to do\"", msg)
			}
		})
	}
}

func TestValidateJoinsAll(t *testing.T) {
	c := valid()
	c.Log.Level = "loud"
	c.SIP.UDPMTU = 1
	c.Trunk.Transport = "sctp"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 3 {
		t.Errorf("Validate() reported %d problems, want 3:\n%v", n, err)
	}
}

func TestDatabaseURLRedacted(t *testing.T) {
	c := valid()
	c.Database.URL = "mysql://root:hunter2@db/x"
	err := c.Validate()
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Validate() = %v, want an error without the password", err)
	}
}

func TestAllowedSources(t *testing.T) {
	tests := []struct {
		name    string
		address string
		sources []string
		want    []string
	}{
		{"ipv4 trunk", "192.0.2.10:5060", nil, []string{"192.0.2.10/32"}},
		{"ipv6 trunk", "[2001:db8::10]:5060", nil, []string{"2001:db8::10/128"}},
		{"mapped trunk", "[::ffff:192.0.2.10]:5060", nil, []string{"192.0.2.10/32"}},
		{"named trunk", "sip.example.net:5060", nil, []string{}},
		{"configured", "sip.example.net:5060", []string{"198.51.100.7", "10.1.2.3/8", "2001:db8::/32"}, []string{"198.51.100.7/32", "10.0.0.0/8", "2001:db8::/32"}},
		{"everyone", "192.0.2.10:5060", []string{"0.0.0.0/0", "::/0"}, []string{"0.0.0.0/0", "::/0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			c.Trunk.Address = tc.address
			c.Trunk.AllowedSources = tc.sources
			got, err := c.AllowedSources()
			if err != nil {
				t.Fatal(err)
			}
			want := make([]netip.Prefix, len(tc.want))
			for i, s := range tc.want {
				want[i] = netip.MustParsePrefix(s)
			}
			if !slices.Equal(got, want) {
				t.Errorf("AllowedSources() = %v, want %v", got, want)
			}
		})
	}
	c := valid()
	c.Trunk.AllowedSources = []string{"nope"}
	if _, err := c.AllowedSources(); err == nil || !strings.Contains(err.Error(), "trunk.allowed_sources[0]") {
		t.Errorf("AllowedSources(bad) = %v, want error naming the key", err)
	}
}

func TestDomainName(t *testing.T) {
	tests := []struct {
		trunk Trunk
		want  string
	}{
		{Trunk{Address: "sip.example.net:5060"}, "sip.example.net"},
		{Trunk{Address: "[2001:db8::1]:5060"}, "2001:db8::1"},
		{Trunk{Address: "sip.example.net:5060", Domain: "example.net"}, "example.net"},
	}
	for _, tc := range tests {
		if got := tc.trunk.DomainName(); got != tc.want {
			t.Errorf("%+v.DomainName() = %q, want %q", tc.trunk, got, tc.want)
		}
	}
}

func TestDurationYAML(t *testing.T) {
	var v struct {
		D Duration `yaml:"d"`
	}
	if err := yaml.Unmarshal([]byte("d: 1h30m\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.D.D() != 90*time.Minute {
		t.Errorf("D = %v", v.D)
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "d: 1h30m0s\n" {
		t.Errorf("Marshal = %q", out)
	}
	if err := yaml.Unmarshal([]byte("d: 90\n"), &v); err == nil {
		t.Error("Unmarshal(90) succeeded, want an error asking for a unit")
	}
}

// TestExampleYAML keeps ExampleYAML in step with the code: it must load,
// validate, hold every key, and show each default.
func TestExampleYAML(t *testing.T) {
	got, err := Load(writeFile(t, ExampleYAML), nil)
	if err != nil {
		t.Fatalf("ExampleYAML does not load: %v", err)
	}
	want := valid()
	want.AllowedDestinations = []string{}
	want.Trunk.AllowedSources = []string{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ExampleYAML =\n%+v\nwant defaults plus required keys\n%+v", got, want)
	}

	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(ExampleYAML), &doc); err != nil {
		t.Fatal(err)
	}
	var paths []string
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := prefix + n.Content[i].Value
			if v := n.Content[i+1]; v.Kind == yaml.MappingNode {
				walk(v, p+".")
				continue
			}
			paths = append(paths, p)
			// trunk.password shares trunk.username's comment.
			if n.Content[i].HeadComment == "" && p != "trunk.password" {
				t.Errorf("ExampleYAML: %s has no comment", p)
			}
		}
	}
	walk(doc.Content[0], "")
	if !slices.Equal(paths, Keys()) {
		t.Errorf("ExampleYAML keys =\n%v\nwant (in declaration order)\n%v", paths, Keys())
	}
}

// TestREADMEConfigIsValid: the README shows the keys most setups change
// and points to `callrec config example` for the rest; every key it shows
// must exist, with a valid value, so the two cannot drift apart.
func TestREADMEConfigIsValid(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i := strings.Index(text, "## Configuration")
	if i < 0 {
		t.Fatal("README has no Configuration section")
	}
	rest := text[i:]
	if !strings.Contains(rest[:strings.Index(rest, "```")], "callrec config example") {
		t.Error("the README's Configuration section does not point to `callrec config example`")
	}
	start := strings.Index(rest, "```yaml\n")
	if start < 0 {
		t.Fatal("no YAML block in the README's Configuration section")
	}
	block := rest[start+len("```yaml\n"):]
	block = block[:strings.Index(block, "```")]
	path := filepath.Join(t.TempDir(), "readme.yaml")
	if err := os.WriteFile(path, []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, nil); err != nil {
		t.Errorf("the README's configuration does not load: %v", err)
	}
	for _, line := range strings.Split(block, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if k, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && !strings.Contains(ExampleYAML, k+":") {
			t.Errorf("README key %q is not in callrec config example", k)
		}
	}
}

func TestStorageMinFree(t *testing.T) {
	for _, tt := range []struct {
		v     string
		bytes uint64
		share float64
		bad   bool
	}{
		{"", 1 << 30, 0.05, false},
		{"5%", 0, 0.05, false},
		{"2GiB", 2 << 30, 0, false},
		{"500MB", 500e6, 0, false},
		{"8MiB", 8 << 20, 0, false},
		{"0%", 0, 0, true},
		{"100%", 0, 0, true},
		{"lots", 0, 0, true},
		{"12", 0, 0, true},
		{"-1GiB", 0, 0, true},
	} {
		b, s, err := Storage{MinFree: tt.v}.MinFreeRule()
		if (err != nil) != tt.bad || !tt.bad && (b != tt.bytes || s != tt.share) {
			t.Errorf("MinFreeRule(%q) = %d, %v, %v", tt.v, b, s, err)
		}
	}
}

// FuzzMinFreeRule: any storage.min_free is either refused or gives a
// limit that is a size or a share strictly between 0 and 1.
func FuzzMinFreeRule(f *testing.F) {
	for _, s := range []string{"", "5%", "2GiB", "500MB", "1e400GB", "NaN%", "-1KiB", "Inf%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		b, share, err := Storage{MinFree: v}.MinFreeRule()
		if err != nil {
			return
		}
		if share < 0 || share >= 1 || share != share || b == 0 && share == 0 {
			t.Fatalf("MinFreeRule(%q) = %d, %v", v, b, share)
		}
	})
}

func FuzzCheckExternalHost(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "203.0.113.7:5060", "[2001:db8::1]:5061", "pbx.example.net", "pbx.example.net:99999", "a..b", "-a.b", "sip:x@y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkExternalHost(s) != nil {
			return
		}
		c := Default()
		c.ServiceNumber, c.OwnerNumber, c.Trunk.Address = "+15550100000", "+15550100001", "192.0.2.10:5060"
		c.SIP.ExternalAddress = s
		if err := c.Validate(); err != nil && strings.Contains(err.Error(), "sip.external_address") {
			t.Fatalf("checkExternalHost accepted %q but Validate refused it: %v", s, err)
		}
	})
}
