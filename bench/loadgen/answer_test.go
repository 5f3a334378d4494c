package main

import (
	"strings"
	"testing"

	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/srtp"
)

var pcmuCodec = sdp.Codec{PayloadType: 0, Name: "PCMU", ClockRate: 8000}

// answerSDP builds an answer from callrec's side, as callrec's sdp package
// writes one.
func answerSDP(t testing.TB, l sdp.Local) []byte {
	t.Helper()
	body, err := sdp.Build(l)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// mustCrypto returns a fresh AES_CM_128_HMAC_SHA1_80 line with tag.
func mustCrypto(t testing.TB, tag int) srtp.Crypto {
	t.Helper()
	c, err := srtp.NewCrypto(tag, srtp.AESCM128SHA1_80)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseAnswer(t *testing.T) {
	offered := mustCrypto(t, 1)
	theirs := mustCrypto(t, 1)
	plain := sdp.Local{SessionID: 1, SessionVersion: 1, Address: "127.0.0.1", Port: 30000, Codecs: []sdp.Codec{pcmuCodec}, TelephoneEvent: 101}
	encrypted := plain
	encrypted.Proto, encrypted.Crypto = "RTP/SAVP", []string{theirs.String()}

	a, err := parseAnswer(answerSDP(t, plain), pcmuCodec, false, srtp.Crypto{})
	if err != nil || a.dest.String() != "127.0.0.1:30000" {
		t.Fatalf("plain answer: %+v, %v", a, err)
	}
	a, err = parseAnswer(answerSDP(t, encrypted), pcmuCodec, true, offered)
	if err != nil || a.dest.String() != "127.0.0.1:30000" || string(a.key.Key) != string(theirs.Key) {
		t.Fatalf("SRTP answer: %+v, %v", a, err)
	}

	g722 := plain
	g722.Codecs = []sdp.Codec{{PayloadType: 9, Name: "G722", ClockRate: 8000}}
	otherTag := encrypted
	otherTag.Crypto = []string{mustCrypto(t, 2).String()}
	held := plain
	held.Address = "0.0.0.0"
	for _, tc := range []struct {
		name     string
		body     []byte
		wantSRTP bool
		want     string
	}{
		{"another codec", answerSDP(t, g722), false, "PCMU (payload type 0) not accepted"},
		{"SRTP to a plain offer", answerSDP(t, encrypted), false, "SRTP (RTP/SAVP) to a plain RTP offer"},
		{"plain to an SRTP offer", answerSDP(t, plain), true, "plain RTP/AVP to an SRTP offer"},
		{"another tag", answerSDP(t, otherTag), true, "does not answer the offered 1"},
		{"no address", answerSDP(t, held), false, "no address"},
		{"not SDP", []byte("SIP/2.0 200 OK"), false, ""},
	} {
		_, err := parseAnswer(tc.body, pcmuCodec, tc.wantSRTP, offered)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

func FuzzParseAnswer(f *testing.F) {
	offered := mustCrypto(f, 1)
	plain := sdp.Local{SessionID: 1, SessionVersion: 1, Address: "127.0.0.1", Port: 30000, Codecs: []sdp.Codec{pcmuCodec}, TelephoneEvent: 101}
	encrypted := plain
	encrypted.Proto, encrypted.Crypto = "RTP/SAVP", []string{mustCrypto(f, 1).String()}
	f.Add(answerSDP(f, plain), false)
	f.Add(answerSDP(f, encrypted), true)
	f.Add(answerSDP(f, encrypted), false)
	f.Add([]byte("v=0\r\nc=IN IP6 ::1\r\nm=audio 1 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA\r\n"), true)
	f.Add([]byte(""), false)
	f.Fuzz(func(t *testing.T, body []byte, wantSRTP bool) {
		a, err := parseAnswer(body, pcmuCodec, wantSRTP, offered)
		if err != nil {
			return
		}
		if !a.dest.IsValid() || a.dest.Port() == 0 || a.dest.Addr().IsUnspecified() {
			t.Fatalf("accepted an answer with nowhere to send: %v", a.dest)
		}
		if wantSRTP {
			if _, err := srtp.NewSession(offered, a.key); err != nil {
				t.Fatalf("accepted a key no session takes: %v", err)
			}
		} else if a.key.Suite != "" {
			t.Fatalf("a plain answer gave a key: %+v", a.key)
		}
	})
}
