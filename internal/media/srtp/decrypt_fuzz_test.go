package srtp

import (
	"bytes"
	"errors"
	"testing"
)

// fixedCrypto is a deterministic key for suite s, so that fuzz seeds can
// hold authentic packets.
func fixedCrypto(s Suite) Crypto {
	p, _ := s.params()
	key := make([]byte, p.keyLen+p.saltLen)
	for i := range key {
		key[i] = byte(i*7 + len(s))
	}
	return Crypto{Tag: 1, Suite: s, Key: key}
}

// FuzzDecrypt feeds what a hostile peer could send to DecryptRTP and
// DecryptRTCP: they never panic, and a packet passes only if it is one
// the peer's key really made (checked for the suites with tags too long
// to forge by chance).
func FuzzDecrypt(f *testing.F) {
	suites := Supported()
	authentic := make(map[string]bool)
	for i, s := range suites {
		sender, err := NewSession(fixedCrypto(s), fixedCrypto(s))
		if err != nil {
			f.Fatal(err)
		}
		for seq := uint16(0); seq < 3; seq++ {
			p, err := sender.EncryptRTP(nil, rtpPacket(f, seq))
			if err != nil {
				f.Fatal(err)
			}
			authentic[string(p)] = true
			f.Add(byte(i), false, p)
		}
		p, err := sender.EncryptRTCP(nil, rtcpPacket(f))
		if err != nil {
			f.Fatal(err)
		}
		authentic[string(p)] = true
		f.Add(byte(i), true, p)
	}
	f.Add(byte(0), false, []byte{0x80, 0, 0, 1})
	f.Add(byte(1), true, []byte{0x80, 201, 0, 1, 0, 0, 0, 1})

	f.Fuzz(func(t *testing.T, which byte, isRTCP bool, packet []byte) {
		s := suites[int(which)%len(suites)]
		receiver, err := NewSession(fixedCrypto(s), fixedCrypto(s))
		if err != nil {
			t.Fatal(err)
		}
		in := bytes.Clone(packet)
		var plain []byte
		if isRTCP {
			plain, err = receiver.DecryptRTCP(nil, packet)
		} else {
			plain, err = receiver.DecryptRTP(nil, packet)
		}
		if !bytes.Equal(in, packet) {
			t.Fatal("decrypting changed the input packet")
		}
		if err != nil {
			if errors.Is(err, ErrReplayed) {
				t.Fatalf("a fresh session reports a replay: %v", err)
			}
			return
		}
		if len(plain) >= len(packet) {
			t.Fatalf("decrypted %d bytes from a %d-byte packet", len(plain), len(packet))
		}
		if s != AESCM128SHA1_32 && !authentic[string(packet)] {
			t.Fatalf("accepted a packet %s's key did not make: %x", s, packet)
		}
	})
}
