package sdp

import (
	"reflect"
	"strings"
	"testing"

	"github.com/callrec/callrec/internal/media/srtp"
)

// sdesOffer is an SBC's SRTP offer: two suites, RTCP on its own port at
// another address, and rtcp-mux offered.
const sdesOffer = `
v=0
o=- 3957275063 3957275063 IN IP4 203.0.113.20
s=SBC
c=IN IP4 203.0.113.20
t=0 0
m=audio 40376 RTP/SAVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp:40377 IN IP4 203.0.113.21
a=rtcp-mux
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31
a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj
a=ptime:20
a=sendrecv
`

// sdesFeedbackOffer is RTP/SAVPF with a GCM key and an MKI line first.
const sdesFeedbackOffer = `
v=0
o=- 1 1 IN IP4 192.0.2.30
s=-
c=IN IP4 192.0.2.30
t=0 0
m=audio 5004 RTP/SAVPF 8
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4
a=crypto:2 AEAD_AES_128_GCM inline:WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWg==
`

// opportunisticOffer is plain RTP/AVP carrying a key anyway (RFC 8643).
const opportunisticOffer = `
v=0
o=- 1 1 IN IP4 192.0.2.31
s=-
c=IN IP4 192.0.2.31
t=0 0
m=audio 6000 RTP/AVP 9 0
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz
a=rtcp:nonsense
`

func TestParseSRTP(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		want      Description
		encrypted bool
	}{
		{"SDES offer with two suites", sdesOffer, Description{
			Address: "203.0.113.20", Port: 40376, Proto: "RTP/SAVP",
			Codecs:         []Codec{{0, "PCMU", 8000}, {8, "PCMA", 8000}},
			TelephoneEvent: 101, Direction: "sendrecv", Ptime: 20,
			Crypto: []string{
				"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31",
				"2 AES_CM_128_HMAC_SHA1_32 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj",
			},
			RTCPMux: true, RTCPPort: 40377,
		}, true},
		{"SAVPF with GCM", sdesFeedbackOffer, Description{
			Address: "192.0.2.30", Port: 5004, Proto: "RTP/SAVPF",
			Codecs:         []Codec{{8, "PCMA", 8000}},
			TelephoneEvent: -1, Direction: "sendrecv",
			Crypto: []string{
				"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4",
				"2 AEAD_AES_128_GCM inline:WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWg==",
			},
		}, true},
		{"opportunistic keys on RTP/AVP, static G722", opportunisticOffer, Description{
			Address: "192.0.2.31", Port: 6000, Proto: "RTP/AVP",
			Codecs:         []Codec{{9, "G722", 8000}, {0, "PCMU", 8000}},
			TelephoneEvent: -1, Direction: "sendrecv",
			Crypto: []string{"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"},
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(crlf(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
			if got.Encrypted() != tt.encrypted {
				t.Errorf("Encrypted() = %v, want %v", got.Encrypted(), tt.encrypted)
			}
		})
	}
}

func TestParseStaticG722(t *testing.T) {
	d, err := Parse(crlf(`
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 4000 RTP/AVP 9
`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []Codec{{9, "G722", 8000}}; !reflect.DeepEqual(d.Codecs, want) {
		t.Errorf("Codecs = %+v, want %+v", d.Codecs, want)
	}
}

func TestParseRTCPPort(t *testing.T) {
	for value, want := range map[string]int{
		"a=rtcp:53020":                    53020,
		"a=rtcp:53020 IN IP4 126.16.64.4": 53020,
		"a=rtcp:0":                        0,
		"a=rtcp:70000":                    0,
		"a=rtcp:-5":                       0,
		"a=rtcp:":                         0,
		"a=rtcp-fb:* nack":                0,
	} {
		d, err := Parse(crlf("\nv=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n" + value + "\n"))
		if err != nil {
			t.Fatalf("%s: %v", value, err)
		}
		if d.RTCPPort != want {
			t.Errorf("%s: RTCPPort = %d, want %d", value, d.RTCPPort, want)
		}
	}
}

func TestBuildSRTP(t *testing.T) {
	got, err := Build(Local{
		SessionID: 7, SessionVersion: 1,
		Address: "192.0.2.10", Port: 20000,
		Codecs:         []Codec{{0, "PCMU", 8000}},
		TelephoneEvent: 101,
		Proto:          "RTP/SAVP",
		Crypto: []string{
			"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
			"2 AEAD_AES_128_GCM inline:WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWg==",
		},
		RTCPMux: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "v=0\r\n" +
		"o=callrec 7 1 IN IP4 192.0.2.10\r\n" +
		"s=callrec\r\n" +
		"c=IN IP4 192.0.2.10\r\n" +
		"t=0 0\r\n" +
		"m=audio 20000 RTP/SAVP 0 101\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-16\r\n" +
		"a=ptime:20\r\n" +
		"a=sendrecv\r\n" +
		"a=rtcp-mux\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n" +
		"a=crypto:2 AEAD_AES_128_GCM inline:WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWg==\r\n"
	if string(got) != want {
		t.Errorf("Build:\n%s\nwant:\n%s", got, want)
	}
}

func TestBuildSRTPErrors(t *testing.T) {
	good := Local{Address: "192.0.2.1", Port: 4000, Codecs: []Codec{{0, "PCMU", 8000}}, TelephoneEvent: -1,
		Proto: "RTP/SAVP", Crypto: []string{"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"}}
	tests := []struct {
		name    string
		edit    func(*Local)
		wantErr string
	}{
		{"SAVP without a key", func(l *Local) { l.Crypto = nil }, "RTP/SAVP needs an a=crypto line"},
		{"SAVPF without a key", func(l *Local) { l.Proto, l.Crypto = "RTP/SAVPF", nil }, "RTP/SAVPF needs an a=crypto line"},
		{"DTLS", func(l *Local) { l.Proto = "UDP/TLS/RTP/SAVPF" }, `transport "UDP/TLS/RTP/SAVPF": want RTP/AVP, RTP/AVPF, RTP/SAVP or RTP/SAVPF`},
		{"lower case", func(l *Local) { l.Proto = "rtp/avp" }, `transport "rtp/avp"`},
		{"line break in a key", func(l *Local) { l.Crypto = []string{"1 X inline:abc\r\nm=video 1 RTP/AVP 96"} }, "not printable ASCII"},
		{"empty key", func(l *Local) { l.Crypto = []string{" "} }, "is empty"},
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

func TestBuildParseRoundTripSRTP(t *testing.T) {
	key := "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31"
	tests := []Local{
		{Address: "192.0.2.1", Port: 10000, Codecs: []Codec{{0, "PCMU", 8000}}, TelephoneEvent: -1, Proto: "RTP/SAVP", Crypto: []string{key}},
		{Address: "192.0.2.1", Port: 10000, Codecs: []Codec{{8, "PCMA", 8000}}, TelephoneEvent: 96, Proto: "RTP/SAVPF", Crypto: []string{key, "2 AEAD_AES_128_GCM inline:WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWg=="}, RTCPMux: true},
		{Address: "2001:db8::1", Port: 10002, Codecs: []Codec{{0, "PCMU", 8000}}, TelephoneEvent: -1, Proto: "RTP/AVPF", RTCPMux: true},
		{Address: "192.0.2.1", Port: 10004, Codecs: []Codec{{9, "G722", 8000}}, TelephoneEvent: -1, Crypto: []string{key}},
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
		proto := l.Proto
		if proto == "" {
			proto = "RTP/AVP"
		}
		want := Description{Address: l.Address, Port: l.Port, Codecs: l.Codecs, TelephoneEvent: l.TelephoneEvent,
			Direction: SendRecv, Ptime: 20, Proto: proto, Crypto: l.Crypto, RTCPMux: l.RTCPMux}
		if !reflect.DeepEqual(*d, want) {
			t.Errorf("round trip:\n got %+v\nwant %+v", *d, want)
		}
		if d.Encrypted() != strings.Contains(proto, "SAVP") {
			t.Errorf("%s: Encrypted() = %v", proto, d.Encrypted())
		}
	}
}

// TestSRTPOfferAnswer walks an SDES exchange: parse the offer, choose a
// key, answer with callrec's, and check the offerer reads our key back.
func TestSRTPOfferAnswer(t *testing.T) {
	for _, body := range []string{sdesOffer, sdesFeedbackOffer} {
		offer, err := Parse(crlf(body))
		if err != nil {
			t.Fatal(err)
		}
		remote, local, err := srtp.ChooseOffer(offer.Crypto)
		if err != nil {
			t.Fatal(err)
		}
		sel, err := Negotiate(offer, []string{"PCMU", "PCMA"})
		if err != nil {
			t.Fatal(err)
		}
		ans, err := Build(Local{Address: "192.0.2.200", Port: 30000, Codecs: []Codec{sel.Codec},
			TelephoneEvent: sel.TelephoneEvent, Proto: offer.Proto, Crypto: []string{local.String()}, RTCPMux: offer.RTCPMux})
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(ans)
		if err != nil {
			t.Fatal(err)
		}
		if back.Proto != offer.Proto || len(back.Crypto) != 1 || back.RTCPMux != offer.RTCPMux {
			t.Fatalf("answer %+v does not match offer %+v", back, offer)
		}
		answered, err := srtp.ParseCrypto(back.Crypto[0])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(answered, local) || answered.Tag != remote.Tag {
			t.Errorf("answer key %+v; want %+v with the offer's tag %d", answered, local, remote.Tag)
		}
		// The offerer's session decrypts what ours encrypts.
		ours, err := srtp.NewSession(local, remote)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := srtp.NewSession(remote, answered)
		if err != nil {
			t.Fatal(err)
		}
		packet := append([]byte{0x80, sel.Codec.PayloadType, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4}, make([]byte, 160)...)
		secured, err := ours.EncryptRTP(nil, packet)
		if err != nil {
			t.Fatal(err)
		}
		if plain, err := theirs.DecryptRTP(nil, secured); err != nil || string(plain) != string(packet) {
			t.Errorf("the offerer cannot read our packet: %v", err)
		}
	}
}
