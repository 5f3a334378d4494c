package sdp

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(strings.TrimLeft(s, "\n"), "\n", "\r\n"))
}

const sippOffer = `
v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
`

const linphoneOffer = `
v=0
o=alice 2987 1234 IN IP4 192.168.1.20
s=Talk
c=IN IP4 192.168.1.20
t=0 0
a=ice-pwd:31ec21eb38b2ec6d36e8dc7b
a=ice-ufrag:4c9f3c1b
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
a=record:off
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=rtcp:7079
a=candidate:1 1 UDP 2130706431 192.168.1.20 7078 typ host
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
m=video 9078 RTP/AVP 96 97
a=rtpmap:96 VP8/90000
a=rtpmap:97 H264/90000
a=fmtp:97 profile-level-id=42801F
a=rtcp-fb:* nack pli
`

const asteriskOffer = `
v=0
o=- 1609459200 1609459200 IN IP4 203.0.113.5
s=Asterisk
c=IN IP4 203.0.113.5
t=0 0
m=audio 12000 RTP/AVP 8 0 3 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:3 GSM/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=maxptime:150
a=sendrecv
`

const pcmaOnly = `
v=0
o=- 1 1 IN IP4 198.51.100.7
s=-
c=IN IP4 198.51.100.7
t=0 0
m=audio 30000 RTP/AVP 8 96
a=rtpmap:8 PCMA/8000
a=rtpmap:96 telephone-event/8000
a=fmtp:96 0-15
a=ptime:30
`

const noCommon = `
v=0
o=- 1 1 IN IP4 198.51.100.7
s=-
c=IN IP4 198.51.100.7
t=0 0
m=audio 30000 RTP/AVP 18 9 97
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:9 G722/8000
a=rtpmap:97 iLBC/8000
`

const mediaLevelC = `
v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 40000 RTP/AVP 0 8
c=IN IP4 192.0.2.44
a=sendonly
`

const ipv6Offer = `
v=0
o=- 5 5 IN IP6 2001:db8::1
s=-
c=IN IP6 2001:DB8:0:0::10
t=0 0
m=audio 50000 RTP/AVP 0 8 100
a=rtpmap:100 telephone-event/8000
a=fmtp:100 0-16
`

const noRtpmap = `
v=0
o=- 7 7 IN IP4 192.0.2.9
s=-
c=IN IP4 192.0.2.9
t=0 0
m=audio 4000 RTP/AVP 0 8 13 101
a=rtpmap:101 telephone-event/8000
`

const holdOffer = `
v=0
o=- 7 8 IN IP4 192.0.2.9
s=-
c=IN IP4 0.0.0.0
t=0 0
a=recvonly
m=audio 4000 RTP/AVP 0
a=ptime:20
`

const t38ReInvite = `
v=0
o=- 7 9 IN IP4 192.0.2.9
s=-
c=IN IP4 192.0.2.9
t=0 0
m=audio 4000 RTP/AVP 8
a=rtpmap:8 PCMA/8000
m=image 4002 udptl t38
a=T38FaxVersion:0
a=T38FaxRateManagement:transferredTCF
`

const videoFirst = `
v=0
o=- 7 9 IN IP4 192.0.2.9
s=-
c=IN IP4 192.0.2.9
t=0 0
m=video 5000 RTP/AVP 96
a=rtpmap:96 H264/90000
m=audio 4000 RTP/AVPF 0 96
a=rtpmap:96 telephone-event/8000
m=audio 4100 RTP/AVP 8
`

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want Description
	}{
		{"SIPp default", crlf(sippOffer), Description{
			Proto: "RTP/AVP", Address: "127.0.0.1", Port: 6000,
			Codecs:         []Codec{{0, "PCMU", 8000}},
			TelephoneEvent: -1, Direction: "sendrecv",
		}},
		{"Linphone with many codecs", crlf(linphoneOffer), Description{
			Proto: "RTP/AVP", Address: "192.168.1.20", Port: 7078,
			Codecs: []Codec{
				{96, "opus", 48000}, {97, "speex", 16000}, {98, "speex", 8000},
				{0, "PCMU", 8000}, {8, "PCMA", 8000}, {18, "G729", 8000},
			},
			TelephoneEvent: 100, Direction: "sendrecv", RTCPPort: 7079,
		}},
		{"Asterisk", crlf(asteriskOffer), Description{
			Proto: "RTP/AVP", Address: "203.0.113.5", Port: 12000,
			Codecs:         []Codec{{8, "PCMA", 8000}, {0, "PCMU", 8000}, {3, "GSM", 8000}},
			TelephoneEvent: 101, Direction: "sendrecv", Ptime: 20,
		}},
		{"PCMA only, telephone-event 96", crlf(pcmaOnly), Description{
			Proto: "RTP/AVP", Address: "198.51.100.7", Port: 30000,
			Codecs:         []Codec{{8, "PCMA", 8000}},
			TelephoneEvent: 96, Direction: "sendrecv", Ptime: 30,
		}},
		{"media-level c= overrides session", crlf(mediaLevelC), Description{
			Proto: "RTP/AVP", Address: "192.0.2.44", Port: 40000,
			Codecs:         []Codec{{0, "PCMU", 8000}, {8, "PCMA", 8000}},
			TelephoneEvent: -1, Direction: "sendonly",
		}},
		{"IPv6", crlf(ipv6Offer), Description{
			Proto: "RTP/AVP", Address: "2001:db8::10", Port: 50000,
			Codecs:         []Codec{{0, "PCMU", 8000}, {8, "PCMA", 8000}},
			TelephoneEvent: 100, Direction: "sendrecv",
		}},
		{"static payload types without rtpmap", crlf(noRtpmap), Description{
			Proto: "RTP/AVP", Address: "192.0.2.9", Port: 4000,
			Codecs:         []Codec{{0, "PCMU", 8000}, {8, "PCMA", 8000}, {13, "CN", 8000}},
			TelephoneEvent: 101, Direction: "sendrecv",
		}},
		{"hold with 0.0.0.0 and session-level direction", crlf(holdOffer), Description{
			Proto: "RTP/AVP", Address: "0.0.0.0", Port: 4000,
			Codecs:         []Codec{{0, "PCMU", 8000}},
			TelephoneEvent: -1, Direction: "recvonly", Ptime: 20,
		}},
		{"T.38 image stream ignored", crlf(t38ReInvite), Description{
			Proto: "RTP/AVP", Address: "192.0.2.9", Port: 4000,
			Codecs:         []Codec{{8, "PCMA", 8000}},
			TelephoneEvent: -1, Direction: "sendrecv",
		}},
		{"first audio stream after video, AVPF", crlf(videoFirst), Description{
			Proto: "RTP/AVPF", Address: "192.0.2.9", Port: 4000,
			Codecs:         []Codec{{0, "PCMU", 8000}},
			TelephoneEvent: 96, Direction: "sendrecv",
		}},
		{"LF line endings, trailing space, no final newline", []byte(strings.TrimSpace(asteriskOffer) + "  "), Description{
			Proto: "RTP/AVP", Address: "203.0.113.5", Port: 12000,
			Codecs:         []Codec{{8, "PCMA", 8000}, {0, "PCMU", 8000}, {3, "GSM", 8000}},
			TelephoneEvent: 101, Direction: "sendrecv", Ptime: 20,
		}},
		{"unknown dynamic type, duplicate format, odd rtpmaps", crlf(`
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1/127
t=0 0
m=audio 4000 RTP/AVP 0 0 110 111 112 101 102
a=rtpmap:111 broken
a=rtpmap:112  AMR-WB/16000/1
a=rtpmap:101 TELEPHONE-EVENT/8000
a=rtpmap:102 telephone-event/8000
a=ptime:20.5
`), Description{
			Proto: "RTP/AVP", Address: "192.0.2.1", Port: 4000,
			Codecs:         []Codec{{0, "PCMU", 8000}, {110, "", 0}, {111, "", 0}, {112, "AMR-WB", 16000}},
			TelephoneEvent: 101, Direction: "sendrecv", Ptime: 20,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string
	}{
		{"empty", "", "not SDP"},
		{"SIP message", "INVITE sip:bob@example.com SIP/2.0\r\n", "not SDP"},
		{"JSON", `{"sdp": "v=0"}`, "not SDP"},
		{"garbage after v=", "v=0\r\nhello\r\n", "malformed SDP"},
		{"no audio", `
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=video 5000 RTP/AVP 96
`, "no audio stream"},
		{"fax only", `
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=image 4000 udptl t38
`, "no audio stream"},
		{"no media at all", `
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
t=0 0
`, "no audio stream"},
		{"port 0", `
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 0 RTP/AVP 0
`, "audio stream rejected (port 0)"},
		{"no connection", `
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
t=0 0
m=audio 4000 RTP/AVP 0
`, "missing connection address"},
		{"hostname", `
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 media.example.com
t=0 0
m=audio 4000 RTP/AVP 0
`, `unparsable connection address "media.example.com"`},
		{"SRTP without keys", `
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 4000 RTP/SAVP 0
`, "RTP/SAVP audio stream has no a=crypto line: SRTP keys must be offered in the SDP (SDES, RFC 4568)"},
		{"SRTP with a session-level key only", `
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz
m=audio 4000 RTP/SAVPF 0
`, "RTP/SAVPF audio stream has no a=crypto line"},
		{"WebRTC", `
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 9 UDP/TLS/RTP/SAVPF 111
a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3E:6C:FD:B6:1A:10:D2:62:A7:6B:BB:2A
a=setup:actpass
`, "DTLS-SRTP (UDP/TLS/RTP/SAVPF) is not supported; offer SRTP with SDES keys (RTP/SAVP with a=crypto) or plain RTP/AVP"},
		{"DTLS-SRTP without feedback", `
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 9 UDP/TLS/RTP/SAVP 0
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz
`, "DTLS-SRTP (UDP/TLS/RTP/SAVP) is not supported"},
		{"RTP over TCP", `
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 9 TCP/RTP/AVP 0
`, "unsupported audio transport TCP/RTP/AVP; RTP/AVP and SDES-keyed RTP/SAVP are supported"},
		{"bad payload type", `
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 4000 RTP/AVP 0 200
`, `invalid payload type "200"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(crlf(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse = %+v, %v; want error containing %q", d, err, tt.wantErr)
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	both := []string{"PCMU", "PCMA"}
	tests := []struct {
		name      string
		body      string
		supported []string
		want      Selection
		wantErr   error
	}{
		{"SIPp", sippOffer, both, Selection{Codec{0, "PCMU", 8000}, -1}, nil},
		{"Linphone picks PCMU, te 100", linphoneOffer, both, Selection{Codec{0, "PCMU", 8000}, 100}, nil},
		{"Asterisk order wins over ours", asteriskOffer, both, Selection{Codec{8, "PCMA", 8000}, 101}, nil},
		{"lowercase supported", asteriskOffer, []string{"pcmu"}, Selection{Codec{0, "PCMU", 8000}, 101}, nil},
		{"PCMA only", pcmaOnly, both, Selection{Codec{8, "PCMA", 8000}, 96}, nil},
		{"PCMA only, we want PCMU", pcmaOnly, []string{"PCMU"}, Selection{}, ErrNoCommonCodec},
		{"no common codec", noCommon, both, Selection{}, ErrNoCommonCodec},
		{"G722 needs the right clock rate", noCommon, []string{"G722"}, Selection{Codec{9, "G722", 8000}, -1}, nil},
		{"speex at 16000 is skipped", linphoneOffer, []string{"speex"}, Selection{Codec{98, "speex", 8000}, 100}, nil},
		{"opus at 48000 is not 8000", linphoneOffer, []string{"opus"}, Selection{}, ErrNoCommonCodec},
		{"nothing supported", sippOffer, nil, Selection{}, ErrNoCommonCodec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offer, err := Parse(crlf(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Negotiate(offer, tt.supported)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := Negotiate(nil, both); err == nil {
		t.Error("Negotiate(nil) succeeded")
	}
	offer, _ := Parse(crlf(noCommon))
	_, err := Negotiate(offer, both)
	if msg := err.Error(); !strings.Contains(msg, "G729/8000 (18)") || !strings.Contains(msg, "supported PCMU, PCMA") {
		t.Errorf("error does not say what was offered: %s", msg)
	}
}

func TestBuild(t *testing.T) {
	offer := Local{
		SessionID: 4242, SessionVersion: 1,
		Address: "192.0.2.10", Port: 20000,
		Codecs:         []Codec{{0, "PCMU", 8000}, {8, "PCMA", 8000}},
		TelephoneEvent: 101,
	}
	got, err := Build(offer)
	if err != nil {
		t.Fatal(err)
	}
	want := "v=0\r\n" +
		"o=callrec 4242 1 IN IP4 192.0.2.10\r\n" +
		"s=callrec\r\n" +
		"c=IN IP4 192.0.2.10\r\n" +
		"t=0 0\r\n" +
		"m=audio 20000 RTP/AVP 0 8 101\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-16\r\n" +
		"a=ptime:20\r\n" +
		"a=sendrecv\r\n"
	if string(got) != want {
		t.Errorf("Build offer:\n%s\nwant:\n%s", got, want)
	}

	answer := Local{
		SessionID: 1, SessionVersion: 2,
		Address: "2001:db8::5", Port: 20002,
		Codecs:         []Codec{{8, "PCMA", 8000}},
		TelephoneEvent: -1,
		Direction:      "recvonly",
	}
	got, err = Build(answer)
	if err != nil {
		t.Fatal(err)
	}
	want = "v=0\r\n" +
		"o=callrec 1 2 IN IP6 2001:db8::5\r\n" +
		"s=callrec\r\n" +
		"c=IN IP6 2001:db8::5\r\n" +
		"t=0 0\r\n" +
		"m=audio 20002 RTP/AVP 8\r\n" +
		"a=rtpmap:8 PCMA/8000\r\n" +
		"a=ptime:20\r\n" +
		"a=recvonly\r\n"
	if string(got) != want {
		t.Errorf("Build answer:\n%s\nwant:\n%s", got, want)
	}
}

func TestBuildErrors(t *testing.T) {
	good := Local{Address: "192.0.2.1", Port: 4000, Codecs: []Codec{{0, "PCMU", 8000}}, TelephoneEvent: -1}
	tests := []struct {
		name    string
		edit    func(*Local)
		wantErr string
	}{
		{"hostname", func(l *Local) { l.Address = "pbx.example.com" }, "not an IP address"},
		{"empty address", func(l *Local) { l.Address = "" }, "not an IP address"},
		{"zone", func(l *Local) { l.Address = "fe80::1%eth0" }, "zone"},
		{"negative port", func(l *Local) { l.Port = -1 }, "port"},
		{"big port", func(l *Local) { l.Port = 70000 }, "port"},
		{"no codecs", func(l *Local) { l.Codecs = nil }, "no codecs"},
		{"bad direction", func(l *Local) { l.Direction = "both" }, "direction"},
		{"te out of range", func(l *Local) { l.TelephoneEvent = 128 }, "telephone-event"},
		{"te -2", func(l *Local) { l.TelephoneEvent = -2 }, "telephone-event"},
		{"te collides", func(l *Local) { l.TelephoneEvent = 0 }, "also a codec"},
		{"pt out of range", func(l *Local) { l.Codecs = []Codec{{200, "X", 8000}} }, "payload type 200"},
		{"empty name", func(l *Local) { l.Codecs = []Codec{{96, "", 8000}} }, "not a valid encoding name"},
		{"name with space", func(l *Local) { l.Codecs = []Codec{{96, "a b", 8000}} }, "not a valid encoding name"},
		{"name with newline", func(l *Local) { l.Codecs = []Codec{{96, "a\r\nm=video", 8000}} }, "not a valid encoding name"},
		{"no clock rate", func(l *Local) { l.Codecs = []Codec{{96, "X", 0}} }, "clock rate"},
		{"duplicate pt", func(l *Local) { l.Codecs = []Codec{{0, "PCMU", 8000}, {0, "PCMA", 8000}} }, "used twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := good
			tt.edit(&l)
			if _, err := Build(l); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := Build(good); err != nil {
		t.Errorf("good Local: %v", err)
	}
}

func TestBuildParseRoundTrip(t *testing.T) {
	tests := []Local{
		{SessionID: 1, Address: "192.0.2.1", Port: 10000, Codecs: []Codec{{0, "PCMU", 8000}, {8, "PCMA", 8000}}, TelephoneEvent: 101},
		{Address: "::ffff:192.0.2.1", Port: 10002, Codecs: []Codec{{8, "PCMA", 8000}}, TelephoneEvent: 96, Direction: "sendonly"},
		{Address: "2001:db8::1", Port: 65535, Codecs: []Codec{{0, "PCMU", 8000}}, TelephoneEvent: -1, Direction: "inactive"},
		{Address: "0.0.0.0", Port: 1, Codecs: []Codec{{97, "iLBC", 8000}, {9, "G722", 8000}}, TelephoneEvent: 100},
	}
	for _, l := range tests {
		body, err := Build(l)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Parse(body)
		if err != nil {
			t.Fatalf("Parse(Build(%+v)): %v\n%s", l, err, body)
		}
		dir := l.Direction
		if dir == "" {
			dir = SendRecv
		}
		addr := strings.TrimPrefix(l.Address, "::ffff:")
		want := Description{Address: addr, Port: l.Port, Codecs: l.Codecs, TelephoneEvent: l.TelephoneEvent, Direction: dir, Ptime: 20,
			Proto: "RTP/AVP"}
		if !reflect.DeepEqual(*d, want) {
			t.Errorf("round trip:\n got %+v\nwant %+v", *d, want)
		}
	}
}

// TestOfferAnswer walks a whole exchange: parse a peer's offer, negotiate,
// build the answer, and check the peer would understand it.
func TestOfferAnswer(t *testing.T) {
	for _, body := range []string{sippOffer, linphoneOffer, asteriskOffer, pcmaOnly, ipv6Offer, noRtpmap} {
		offer, err := Parse(crlf(body))
		if err != nil {
			t.Fatal(err)
		}
		sel, err := Negotiate(offer, []string{"PCMU", "PCMA"})
		if err != nil {
			t.Fatal(err)
		}
		ans, err := Build(Local{Address: "192.0.2.200", Port: 30000, Codecs: []Codec{sel.Codec}, TelephoneEvent: sel.TelephoneEvent})
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(ans)
		if err != nil {
			t.Fatal(err)
		}
		if len(back.Codecs) != 1 || back.Codecs[0] != sel.Codec || back.TelephoneEvent != offer.TelephoneEvent {
			t.Errorf("answer %+v does not match selection %+v", back, sel)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{sippOffer, linphoneOffer, asteriskOffer, pcmaOnly, noCommon, mediaLevelC, ipv6Offer, noRtpmap, holdOffer, t38ReInvite, videoFirst,
		sdesOffer, sdesFeedbackOffer, opportunisticOffer} {
		f.Add(crlf(s))
	}
	f.Add([]byte("v=0\nm=audio 1 RTP/AVP 0\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := Parse(body)
		if err != nil {
			return
		}
		if d.Port <= 0 || d.Port > 65535 || d.Address == "" {
			t.Fatalf("accepted %+v", d)
		}
		switch d.Direction {
		case SendRecv, SendOnly, RecvOnly, Inactive:
		default:
			t.Fatalf("direction %q", d.Direction)
		}
		if d.Encrypted() && len(d.Crypto) == 0 {
			t.Fatalf("accepted %s without a=crypto", d.Proto)
		}
		if d.RTCPPort < 0 || d.RTCPPort > 65535 {
			t.Fatalf("RTCP port %d", d.RTCPPort)
		}
		sel, err := Negotiate(d, []string{"PCMU", "PCMA"})
		if err != nil {
			if !errors.Is(err, ErrNoCommonCodec) {
				t.Fatal(err)
			}
			return
		}
		if sel.Codec.ClockRate != 8000 {
			t.Fatalf("selected %+v", sel)
		}
		// An answer to any acceptable offer parses back to the selection,
		// with the offer's transport and (written back as they came, where
		// they can be) its keys.
		var keys []string
		for _, c := range d.Crypto {
			if validAttributeValue(c) {
				keys = append(keys, c)
			}
		}
		if d.Encrypted() && len(keys) == 0 {
			return // only keys that cannot be written back
		}
		ans, err := Build(Local{Address: d.Address, Port: d.Port, Codecs: []Codec{sel.Codec}, TelephoneEvent: sel.TelephoneEvent,
			Proto: d.Proto, Crypto: keys, RTCPMux: d.RTCPMux})
		if err != nil {
			if strings.Contains(d.Address, "%") {
				return // zoned IPv6 address: Build refuses it
			}
			t.Fatalf("Build answer for %+v: %v", d, err)
		}
		back, err := Parse(ans)
		if err != nil {
			t.Fatalf("Parse(Build) = %v\n%s", err, ans)
		}
		if back.Codecs[0] != sel.Codec || back.TelephoneEvent != sel.TelephoneEvent {
			t.Fatalf("answer round trip: %+v vs %+v", back, sel)
		}
		if back.Proto != d.Proto || !slices.Equal(back.Crypto, keys) || back.RTCPMux != d.RTCPMux {
			t.Fatalf("answer round trip: %s %q mux %v; want %s %q mux %v", back.Proto, back.Crypto, back.RTCPMux, d.Proto, keys, d.RTCPMux)
		}
	})
}
