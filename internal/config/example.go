package config

// ExampleYAML is a complete configuration file documenting every key. Each
// optional key is shown with its default; the three required keys hold
// example values. Tests load it, so it always matches Default and Validate.
const ExampleYAML = `# callrec configuration.
#
# Every key can also be set by an environment variable: CALLREC_ and the key's
# path in upper case, with "." replaced by "_" (sip.listen is
# CALLREC_SIP_LISTEN). Lists are comma-separated; booleans are true, false, 1
# or 0; durations are Go durations such as "30s" or "1h". The environment
# overrides this file. CALLREC_CONFIG names this file.

# The public number callers dial, E.164 ("+" and digits). Required.
# Shown as caller ID when the owner dials out, so the owner's number stays hidden.
service_number: "+15550100000"

# The owner's own phone, E.164. Required. A call from this number is the owner
# dialling out; every other call is bridged to it.
owner_number: "+15550100001"

# Digits the owner must enter before dialling out: 4 to 12 digits, or "" for none.
owner_pin: ""

# Country calling code, without "+", added to numbers the owner dials in
# national format (without a leading "+").
default_country_code: "1"

# "+"-prefixes the owner may dial, such as ["+1", "+44"]. Empty allows only
# "+" and default_country_code; "+" alone allows every number.
allowed_destinations: []

# A call is ended after this many seconds.
max_call_seconds: 14400

# New calls are rejected beyond this many at once.
max_concurrent_calls: 200

# An outgoing leg that rings longer than this many seconds is abandoned.
ring_timeout_seconds: 30

# Digit collection ends after this many milliseconds without a key press.
digit_timeout_ms: 2500

# Directory for the database (callrec.db) and the local object store.
data_dir: "./data"

# Directory of WAV prompts overriding the built-in ones; "" uses the built-in prompts.
prompts_dir: ""

# On shutdown, calls in progress get this long to finish before they are ended.
shutdown_grace: "30s"

log:
  # Minimum level logged: debug, info, warn or error.
  level: "info"
  # text or json.
  format: "text"

sip:
  # host:port SIP listens on, over UDP and TCP. Use "0.0.0.0:5060" to listen
  # on every interface.
  listen: "127.0.0.1:5060"
  # IP address advertised in SDP and used for RTP: one the trunk can reach.
  media_address: "127.0.0.1"
  # Inclusive RTP port range within 1024-65535, with an even number of ports
  # (RTP/RTCP pairs).
  rtp_ports: "20000-20999"
  # Largest SIP message sent over UDP, in bytes (1280 to 65507); larger ones
  # fail, so keep this well above the ~1300 bytes of a typical INVITE.
  udp_mtu: 8192
  # Sent in User-Agent and Server headers.
  user_agent: "callrec"
  # What a request from outside trunk.allowed_sources gets: "drop" (nothing at
  # all, so scanners learn nothing and spoofed sources get no traffic) or
  # "403" (one 403 Forbidden, sent once and never retransmitted).
  reject_untrusted: "drop"
  # Most SIP TCP connections open at once; further ones are closed as they
  # arrive. Lowered at start to half the open-file limit when that is smaller.
  tcp_max_connections: 1024
  # Most SIP TCP connections open at once from one IP address.
  tcp_max_per_source: 32
  # A TCP connection that has not sent a complete SIP message this long after
  # it was accepted is closed (connections from outside trunk.allowed_sources,
  # with reject_untrusted "403", are closed this long after they were accepted).
  tcp_first_message_timeout: "10s"
  # A TCP connection on which nothing arrived for this long (CRLF keep-alives
  # count) is closed; the trunk opens a new one when it next sends.
  tcp_idle_timeout: "10m"
  # Refused and dropped SIP requests are logged as a summary once per interval:
  # one line per source (the 10 busiest) with counts by reason.
  reject_log_interval: "1m"
  # SIP session timer (RFC 4028): the session interval callrec asks for and
  # grants at most. The refresher re-sends the session every half interval; a
  # call whose refreshes stop is ended (BYE, Reason 408) before it runs out.
  session_expires: "30m"
  # The shortest session interval accepted (RFC 4028 allows no less than 90s);
  # an INVITE asking for less is answered 422 with this Min-SE.
  min_se: "90s"
  # Address written in Via, Contact and the registered Contact instead of
  # listen's: host or IP with an optional port, such as "203.0.113.7:5060", for
  # a server behind NAT or on a cloud VM whose public IP is not on an
  # interface. "auto" asks media.stun_server at start. "" uses listen's.
  external_address: ""
  # host:port SIP over TLS listens on, such as "0.0.0.0:5061"; "" means none.
  tls_listen: ""
  # PEM certificate (chain) of the TLS listener; required with tls_listen.
  # Re-read on SIGHUP (a bad file keeps the old certificate and logs why).
  tls_cert: ""
  # PEM private key of tls_cert; required with tls_listen, re-read with it.
  tls_key: ""

media:
  # IP written in SDP instead of sip.media_address (RTP still binds
  # sip.media_address), for a server behind NAT; "auto" asks stun_server at
  # start from the media address. "" uses sip.media_address.
  external_address: ""
  # STUN server host:port, such as "stun.example.net:3478"; required when
  # sip.external_address or media.external_address is "auto". No default: a
  # self-hosted system should not contact a third party unless you ask it to.
  stun_server: ""
  # A call whose leg sends no RTP for this long (and is not on hold) is dead:
  # both legs are hung up and the record says why. "0s" turns it off.
  timeout: "60s"
  # SRTP (encrypted media, SDES keys in SDP): "off" (plain RTP only),
  # "optional" (an encrypted offer is answered encrypted, a plain one plain;
  # callrec's own offers are plain) or "required" (plain offers get 488, and
  # callrec offers RTP/SAVP). Each leg negotiates on its own, so one leg can
  # be SRTP and the other plain; recordings are made from the decrypted audio.
  srtp: "optional"
  # Audio codecs in preference order: G722 (wideband; a call with G.722 on
  # both legs is recorded at 16 kHz), PCMU, PCMA. Legs with different codecs
  # are transcoded.
  codecs: ["G722", "PCMU", "PCMA"]

trunk:
  # The trunk's (provider's or PBX's) host:port. Required.
  address: "192.0.2.10:5060"
  # udp, tcp or tls (SIP over TLS; the trunk's certificate is verified).
  transport: "udp"
  # Host used in Request-URIs and From headers; "" uses the host of address.
  domain: ""
  # Digest credentials for the trunk: set both, or neither when the trunk
  # authenticates by source IP.
  username: ""
  password: ""
  # Register with the trunk (needed when it sends calls to a registered contact).
  register: false
  # Registration lifetime requested, at least "1m".
  register_expiry: "1h"
  # IP addresses or CIDRs allowed to send SIP requests, such as
  # ["192.0.2.0/24", "2001:db8::1"]. Empty allows only the IP of address when
  # it is an IP literal. "0.0.0.0/0" and "::/0" allow everyone.
  allowed_sources: []
  # How often the trunk gets a keep-alive so a NAT binding towards it stays
  # open: a CRLF ping on TCP and TLS connections, and over UDP an OPTIONS while
  # registered or when sip.external_address is set. "0s" turns them off.
  keepalive: "30s"
  # PEM bundle of CAs trusted for the trunk's TLS certificate besides the
  # system roots (a private CA); "" means the system roots only.
  tls_ca: ""
  # Name the trunk's TLS certificate must carry; "" uses the host of address.
  tls_server_name: ""

database:
  # "" keeps call records in the SQLite file data_dir/callrec.db.
  # "postgres://user:password@host/dbname" keeps them, and the job queue, in
  # PostgreSQL, so that several callrec nodes share the work.
  url: ""

transcribe:
  # sphinx (offline, the default), openai (an OpenAI-compatible server such as
  # whisper.cpp or faster-whisper) or aws (Amazon Transcribe Call Analytics).
  engine: "sphinx"
  # BCP 47 language of the calls.
  language: "en-US"
  # openai engine: the server's base URL, such as "http://127.0.0.1:8080".
  url: ""
  # openai engine: bearer token, if the server wants one.
  api_key: ""
  # openai engine: model name.
  model: "whisper-1"
  # openai engine: resample audio to this rate before upload (16000 for
  # whisper.cpp's server without --convert); 0 sends the recording's rate.
  sample_rate: 0
  # sphinx engine: acoustic model directory; "" uses Debian's pocketsphinx-en-us.
  sphinx_model_dir: ""
  # aws engine: region, S3 bucket and key prefix for uploads, and the
  # DataAccessRoleArn Transcribe uses (credentials: the usual AWS settings).
  aws_region: ""
  # aws engine: S3 bucket recordings are uploaded to.
  aws_bucket: ""
  # aws engine: key prefix in aws_bucket.
  aws_prefix: "callrec"
  # aws engine: IAM role Transcribe assumes to read the bucket.
  aws_role_arn: ""
  # aws engine: endpoint override (S3-compatible stores, tests); "" for AWS.
  aws_endpoint: ""

pipeline:
  # How many processing stages run at once; 0 only queues work (for nodes that
  # answer calls while other nodes process them).
  workers: 2
  # How often a failing stage is tried before it is marked failed (the
  # notify stage is retried for notify.retry_for instead).
  max_attempts: 5
  # Longest one attempt of a stage may take.
  stage_timeout: "30m"

analytics:
  # YAML file of category rules (name, phrases, speaker, window); "" for none.
  categories_file: ""

# Base of the links in emails and webhooks; "" means "http://" + web.listen.
public_url: ""

web:
  # HTTP host:port of the call browser, API, signed links and metrics; "" turns it off.
  listen: "127.0.0.1:8080"
  # The owner's log-in password hash: make one with 'callrec passwd'.
  password_hash: ""
  # Bearer tokens for /api/v1.
  api_tokens: []
  # How long links in emails stay valid.
  link_ttl: "168h0m0s"
  # File holding the secret that signs links; "" means data_dir/link-secret
  # (made on first start).
  secret_file: ""

notify:
  email:
    # The owner's address; "" sends no email.
    to: ""
    # The sender's address.
    from: ""
    # Attach the Word report.
    attach: false
    smtp:
      # Mail server host and port.
      host: "127.0.0.1"
      # 25, 587 (starttls) or 465 (tls).
      port: 25
      # none, starttls or tls.
      tls: "starttls"
      # Log-in, if the server wants one.
      username: ""
      # Password for username.
      password: ""
  webhook:
    # URL that gets a JSON POST per processed call; "" for none.
    url: ""
    # Secret for the X-Callrec-Signature header (HMAC-SHA256 of the body).
    secret: ""
  # How long a notification that cannot be sent (the mail server or the
  # webhook receiver down) is retried, from the first attempt, before the
  # notify stage fails for good (pipeline.max_attempts does not apply to it).
  # Each channel is sent once: a retry never repeats a message that went out.
  retry_for: "24h"
  # Longest wait between two attempts: 5s after the first failure, doubling
  # after each next one, up to this.
  retry_backoff_max: "30m"

retention:
  # Delete calls (recording, reports, records) this many days after they
  # started; 0 keeps them forever.
  days: 0

storage:
  # Below this much free space on data_dir's disk, /readyz says not ready,
  # the call browser shows a banner and the owner is emailed (once a day):
  # a size ("2GiB", "500MB") or a share of the disk ("5%"); "" means 1 GiB
  # or 5 %, whichever is smaller.
  min_free: ""
  # A new call while the disk is full: connect_unrecorded (it goes
  # through, both sides hear that it is not recorded) or reject (503).
  when_full: "connect_unrecorded"
  # How often the free space is measured.
  check_every: "10s"
`
