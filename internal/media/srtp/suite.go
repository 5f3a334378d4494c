// Package srtp protects RTP and RTCP with SRTP (RFC 3711) keyed by SDES
// (RFC 4568): it reads and writes a=crypto attribute values, picks a
// crypto suite from an offer and answers it with a fresh key, and encrypts
// and decrypts the packets of one RTP leg. The ciphers are
// github.com/pion/srtp/v3's.
package srtp

import (
	"fmt"

	pion "github.com/pion/srtp/v3"
)

// Suite is an SDES crypto-suite name.
type Suite string

// The crypto suites callrec speaks (RFC 4568 section 6.2, RFC 7714
// section 14.2).
const (
	// AESCM128SHA1_80 is AES-128 in counter mode with an 80-bit
	// HMAC-SHA1 tag: the suite every SDES endpoint supports.
	AESCM128SHA1_80 Suite = "AES_CM_128_HMAC_SHA1_80"
	// AESCM128SHA1_32 is AES_CM_128_HMAC_SHA1_80 with a 32-bit tag on
	// RTP (RTCP keeps the 80-bit one).
	AESCM128SHA1_32 Suite = "AES_CM_128_HMAC_SHA1_32"
	// AEADAES128GCM is AES-128 in Galois/counter mode with a 128-bit tag.
	AEADAES128GCM Suite = "AEAD_AES_128_GCM"
)

// Supported returns the suites callrec speaks in its order of preference,
// the order it offers them in: AES_CM_128_HMAC_SHA1_80 first because every
// SDES endpoint has it (an offer's first line is what most answerers
// take), then AEAD_AES_128_GCM, then the shorter-tagged
// AES_CM_128_HMAC_SHA1_32, whose 32-bit tag is the weakest protection.
func Supported() []Suite {
	return []Suite{AESCM128SHA1_80, AEADAES128GCM, AESCM128SHA1_32}
}

// suiteParams is what one supported suite means to the cipher.
type suiteParams struct {
	profile pion.ProtectionProfile
	keyLen  int // master key bytes
	saltLen int // master salt bytes
}

// params returns the cipher parameters of s, and false for a suite
// callrec does not speak.
func (s Suite) params() (suiteParams, bool) {
	switch s {
	case AESCM128SHA1_80:
		return suiteParams{pion.ProtectionProfileAes128CmHmacSha1_80, 16, 14}, true
	case AESCM128SHA1_32:
		return suiteParams{pion.ProtectionProfileAes128CmHmacSha1_32, 16, 14}, true
	case AEADAES128GCM:
		return suiteParams{pion.ProtectionProfileAeadAes128Gcm, 16, 12}, true
	}
	return suiteParams{}, false
}

// describeKeyLen says how long the inline key of a supported suite is,
// for error messages.
func (p suiteParams) describeKeyLen() string {
	return fmt.Sprintf("%d bytes (a %d-byte master key and a %d-byte salt)",
		p.keyLen+p.saltLen, p.keyLen, p.saltLen)
}
