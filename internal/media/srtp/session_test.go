package srtp

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// pair returns two sessions that talk to each other: a's local key is
// b's remote one and the other way round.
func pair(t testing.TB, s Suite) (a, b *Session) {
	t.Helper()
	keyA, err := NewCrypto(1, s)
	if err != nil {
		t.Fatal(err)
	}
	keyB, err := NewCrypto(1, s)
	if err != nil {
		t.Fatal(err)
	}
	a, err = NewSession(keyA, keyB)
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	b, err = NewSession(keyB, keyA)
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	return a, b
}

// rtpPacket returns a plain RTP packet with a 160-byte payload (20 ms of
// G.711), 172 bytes in all.
func rtpPacket(t testing.TB, seq uint16) []byte {
	t.Helper()
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(i) ^ byte(seq)
	}
	p := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 0x1234abcd},
		Payload: payload,
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rtcpPacket(t testing.TB) []byte {
	t.Helper()
	b, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{
		SSRC:    0x1234abcd,
		Reports: []rtcp.ReceptionReport{{SSRC: 0x5678, LastSequenceNumber: 42, Jitter: 7}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSessionRoundTripEverySuite(t *testing.T) {
	for _, s := range Supported() {
		t.Run(string(s), func(t *testing.T) {
			a, b := pair(t, s)
			for seq := uint16(65530); seq != 6; seq++ { // across a rollover
				plain := rtpPacket(t, seq)
				secured, err := a.EncryptRTP(nil, plain)
				if err != nil {
					t.Fatalf("EncryptRTP: %v", err)
				}
				if bytes.Equal(secured[12:172], plain[12:]) {
					t.Fatal("the payload went out in the clear")
				}
				got, err := b.DecryptRTP(nil, secured)
				if err != nil {
					t.Fatalf("DecryptRTP seq %d: %v", seq, err)
				}
				if !bytes.Equal(got, plain) {
					t.Fatalf("DecryptRTP seq %d gave back a different packet", seq)
				}
			}

			plain := rtcpPacket(t)
			secured, err := b.EncryptRTCP(nil, plain)
			if err != nil {
				t.Fatalf("EncryptRTCP: %v", err)
			}
			got, err := a.DecryptRTCP(nil, secured)
			if err != nil {
				t.Fatalf("DecryptRTCP: %v", err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatal("DecryptRTCP gave back a different packet")
			}
		})
	}
}

func TestSessionWritesIntoDst(t *testing.T) {
	a, b := pair(t, AESCM128SHA1_80)
	plain := rtpPacket(t, 1)
	buf := make([]byte, 0, len(plain)+16)
	secured, err := a.EncryptRTP(buf, plain)
	if err != nil {
		t.Fatal(err)
	}
	if &secured[0] != &buf[:1][0] {
		t.Error("EncryptRTP did not use dst's storage")
	}
	out := make([]byte, 0, len(secured))
	got, err := b.DecryptRTP(out, secured)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &out[:1][0] || !bytes.Equal(got, plain) {
		t.Error("DecryptRTP did not decrypt into dst")
	}
}

func TestTamperedPacketRefused(t *testing.T) {
	for _, s := range Supported() {
		t.Run(string(s), func(t *testing.T) {
			a, b := pair(t, s)
			for _, offset := range []int{2, 20, -1} { // header, payload, tag
				secured, err := a.EncryptRTP(nil, rtpPacket(t, uint16(100+offset)))
				if err != nil {
					t.Fatal(err)
				}
				if offset < 0 {
					offset += len(secured)
				}
				secured[offset] ^= 0x01
				if _, err := b.DecryptRTP(nil, secured); !errors.Is(err, ErrNotAuthentic) {
					t.Errorf("DecryptRTP with byte %d flipped = %v; want ErrNotAuthentic", offset, err)
				}
			}

			secured, err := a.EncryptRTCP(nil, rtcpPacket(t))
			if err != nil {
				t.Fatal(err)
			}
			secured[10] ^= 0x80
			if _, err := b.DecryptRTCP(nil, secured); !errors.Is(err, ErrNotAuthentic) {
				t.Errorf("DecryptRTCP of a tampered packet = %v; want ErrNotAuthentic", err)
			}
		})
	}
}

func TestReplayedPacketRefused(t *testing.T) {
	for _, s := range Supported() {
		t.Run(string(s), func(t *testing.T) {
			a, b := pair(t, s)
			first, err := a.EncryptRTP(nil, rtpPacket(t, 1))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.DecryptRTP(nil, first); err != nil {
				t.Fatal(err)
			}
			if _, err := b.DecryptRTP(nil, first); !errors.Is(err, ErrReplayed) {
				t.Errorf("DecryptRTP of a replayed packet = %v; want ErrReplayed", err)
			}
			// Late but inside the window: accepted once.
			late, _ := a.EncryptRTP(nil, rtpPacket(t, 2))
			ahead, _ := a.EncryptRTP(nil, rtpPacket(t, 3))
			if _, err := b.DecryptRTP(nil, ahead); err != nil {
				t.Fatal(err)
			}
			if _, err := b.DecryptRTP(nil, late); err != nil {
				t.Errorf("DecryptRTP of a packet one late = %v; want it accepted", err)
			}

			report, err := a.EncryptRTCP(nil, rtcpPacket(t))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.DecryptRTCP(nil, report); err != nil {
				t.Fatal(err)
			}
			if _, err := b.DecryptRTCP(nil, report); !errors.Is(err, ErrReplayed) {
				t.Errorf("DecryptRTCP of a replayed packet = %v; want ErrReplayed", err)
			}
		})
	}
}

func TestWrongKeyRefused(t *testing.T) {
	a, _ := pair(t, AESCM128SHA1_80)
	_, c := pair(t, AESCM128SHA1_80)
	secured, err := a.EncryptRTP(nil, rtpPacket(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DecryptRTP(nil, secured); !errors.Is(err, ErrNotAuthentic) {
		t.Errorf("DecryptRTP under another key = %v; want ErrNotAuthentic", err)
	}
}

// TestFormattedKeyStillDecrypts is the SDP path: callrec's key goes out as
// text in an a=crypto line and the peer reads it back.
func TestFormattedKeyStillDecrypts(t *testing.T) {
	for _, s := range Supported() {
		t.Run(string(s), func(t *testing.T) {
			ours, err := NewCrypto(1, s)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := NewCrypto(1, s)
			if err != nil {
				t.Fatal(err)
			}
			ourLine, theirLine := ours.String(), theirs.String()

			sender, err := NewSession(ours, theirs)
			if err != nil {
				t.Fatal(err)
			}
			oursAsRead, err := ParseCrypto(ourLine)
			if err != nil {
				t.Fatal(err)
			}
			theirsAsRead, err := ParseCrypto(theirLine)
			if err != nil {
				t.Fatal(err)
			}
			receiver, err := NewSession(theirsAsRead, oursAsRead)
			if err != nil {
				t.Fatal(err)
			}
			plain := rtpPacket(t, 7)
			secured, err := sender.EncryptRTP(nil, plain)
			if err != nil {
				t.Fatal(err)
			}
			got, err := receiver.DecryptRTP(nil, secured)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("DecryptRTP with the key read from %q: %v", ourLine, err)
			}
		})
	}
}

func TestNewSessionRefusesUnusableKeys(t *testing.T) {
	good, err := NewCrypto(1, AESCM128SHA1_80)
	if err != nil {
		t.Fatal(err)
	}
	bad := []Crypto{
		{Tag: 1, Suite: "AES_256_CM_HMAC_SHA1_80", Key: make([]byte, 46)},
		{Tag: 1, Suite: AESCM128SHA1_80, Key: make([]byte, 29)},
		{Tag: 1, Suite: AESCM128SHA1_80, Key: make([]byte, 30), MKI: "1:4"},
	}
	for _, c := range bad {
		if _, err := NewSession(good, c); err == nil {
			t.Errorf("NewSession(good, %+v) succeeded", c)
		}
		if _, err := NewSession(c, good); err == nil {
			t.Errorf("NewSession(%+v, good) succeeded", c)
		}
	}
}

func TestEncryptRefusesNonRTP(t *testing.T) {
	a, b := pair(t, AESCM128SHA1_80)
	if _, err := a.EncryptRTP(nil, []byte{0x80, 0}); err == nil {
		t.Error("EncryptRTP of 2 bytes succeeded")
	}
	if _, err := b.DecryptRTP(nil, []byte{0x80}); err == nil {
		t.Error("DecryptRTP of 1 byte succeeded")
	}
	if _, err := a.EncryptRTCP(nil, []byte{0x80}); err == nil {
		t.Error("EncryptRTCP of 1 byte succeeded")
	}
	if _, err := b.DecryptRTCP(nil, []byte{0x80, 201, 0, 1}); err == nil {
		t.Error("DecryptRTCP of a bare header succeeded")
	}
}

// TestSessionConcurrentUse sends from several goroutines while one
// receives, as a stream does; run with -race.
func TestSessionConcurrentUse(t *testing.T) {
	a, b := pair(t, AEADAES128GCM)
	const senders, perSender = 4, 50
	packets := make(chan []byte, senders*perSender)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				secured, err := a.EncryptRTP(nil, rtpPacket(t, uint16(g*perSender+i)))
				if err != nil {
					t.Error(err)
					return
				}
				packets <- secured
				if _, err := a.EncryptRTCP(nil, rtcpPacket(t)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// Meanwhile the senders' session receives reports from the peer.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range perSender {
			report, err := b.EncryptRTCP(nil, rtcpPacket(t))
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := a.DecryptRTCP(nil, report); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() { wg.Wait(); close(packets) }()
	decrypted := 0
	for p := range packets {
		if _, err := b.DecryptRTP(nil, p); err == nil {
			decrypted++
		}
	}
	// Packets are sent out of order across goroutines: those more than the
	// replay window (128) behind the newest may be refused, at most 72 of
	// the 200.
	if decrypted < senders*perSender-72 {
		t.Errorf("decrypted %d of %d packets", decrypted, senders*perSender)
	}
}

func BenchmarkEncryptRTP(b *testing.B) {
	for _, s := range Supported() {
		b.Run(string(s), func(b *testing.B) {
			a, _ := pair(b, s)
			plain := rtpPacket(b, 0)
			buf := make([]byte, 0, len(plain)+32)
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				// A new sequence number each time, as on the wire.
				plain[2], plain[3] = byte(i>>8), byte(i)
				if _, err := a.EncryptRTP(buf, plain); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecryptRTP(b *testing.B) {
	for _, s := range Supported() {
		b.Run(string(s), func(b *testing.B) {
			a, r := pair(b, s)
			const distinct = 1 << 16 // one rollover's worth, all accepted in order
			secured := make([][]byte, 0, distinct)
			for seq := range distinct {
				p, err := a.EncryptRTP(nil, rtpPacket(b, uint16(seq)))
				if err != nil {
					b.Fatal(err)
				}
				secured = append(secured, p)
			}
			buf := make([]byte, 0, 256)
			b.SetBytes(172)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i == distinct {
					b.StopTimer()
					a, r = pair(b, s)
					for seq := range distinct {
						secured[seq], _ = a.EncryptRTP(secured[seq][:0:0], rtpPacket(b, uint16(seq)))
					}
					i = 0
					b.StartTimer()
				}
				if _, err := r.DecryptRTP(buf, secured[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
