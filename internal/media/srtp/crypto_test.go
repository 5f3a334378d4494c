package srtp

import (
	"bytes"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
)

// key30 and key28 are inline keys of the AES-CM (30-byte) and GCM
// (28-byte) suites.
var (
	key30 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xA5}, 30))
	key28 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5A}, 28))
)

func TestParseCryptoAccepts(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  Crypto
	}{
		{
			name:  "no lifetime",
			value: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30,
			want:  Crypto{Tag: 1, Suite: AESCM128SHA1_80, Key: bytes.Repeat([]byte{0xA5}, 30)},
		},
		{
			name:  "2^31 lifetime",
			value: "2 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|2^31",
			want:  Crypto{Tag: 2, Suite: AESCM128SHA1_32, Key: bytes.Repeat([]byte{0xA5}, 30), Lifetime: "2^31"},
		},
		{
			name:  "decimal lifetime and session parameters",
			value: "3 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1048576 KDR=0 WSH=128",
			want: Crypto{Tag: 3, Suite: AESCM128SHA1_80, Key: bytes.Repeat([]byte{0xA5}, 30),
				Lifetime: "1048576", Params: []string{"KDR=0", "WSH=128"}},
		},
		{
			name:  "GCM with a padded key",
			value: "1 AEAD_AES_128_GCM inline:" + key28,
			want:  Crypto{Tag: 1, Suite: AEADAES128GCM, Key: bytes.Repeat([]byte{0x5A}, 28)},
		},
		{
			name:  "GCM with the padding left off",
			value: "1 AEAD_AES_128_GCM inline:" + strings.TrimRight(key28, "="),
			want:  Crypto{Tag: 1, Suite: AEADAES128GCM, Key: bytes.Repeat([]byte{0x5A}, 28)},
		},
		{
			name:  "extra white space, upper-case method",
			value: "  7\tAES_CM_128_HMAC_SHA1_80   INLINE:" + key30 + "|2^20  ",
			want:  Crypto{Tag: 7, Suite: AESCM128SHA1_80, Key: bytes.Repeat([]byte{0xA5}, 30), Lifetime: "2^20"},
		},
		{
			name:  "unknown suite parses with any key length",
			value: "4 AES_256_CM_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(make([]byte, 46)),
			want:  Crypto{Tag: 4, Suite: "AES_256_CM_HMAC_SHA1_80", Key: make([]byte, 46)},
		},
		{
			name:  "a plain AES_CM_128_HMAC_SHA1_80 offer",
			value: "1 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj",
			want: Crypto{Tag: 1, Suite: AESCM128SHA1_80,
				Key: mustDecode(t, "d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCrypto(tt.value)
			if err != nil {
				t.Fatalf("ParseCrypto(%q): %v", tt.value, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseCrypto(%q) = %+v, want %+v", tt.value, got, tt.want)
			}
			again, err := ParseCrypto(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("ParseCrypto(%q) = %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCryptoErrors(t *testing.T) {
	tests := []struct {
		value string
		want  string
	}{
		{"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4",
			"a master key identifier (MKI 1:4) is not supported; offer the key without \"|MKI:length\""},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:4",
			"MKI 1:4) is not supported"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:4|2^20",
			"the MKI must come last"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|2^31",
			"has two lifetimes"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4|x",
			"at most key|lifetime|MKI:length"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNENCRYPTED_SRTP",
			"session parameter UNENCRYPTED_SRTP is not supported: callrec encrypts and authenticates all RTP and RTCP"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " KDR=0 UNENCRYPTED_SRTCP",
			"UNENCRYPTED_SRTCP is not supported"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNAUTHENTICATED_SRTP",
			"UNAUTHENTICATED_SRTP is not supported"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key28,
			"the AES_CM_128_HMAC_SHA1_80 key is 28 bytes; want 30 bytes (a 16-byte master key and a 14-byte salt)"},
		{"1 AEAD_AES_128_GCM inline:" + key30,
			"the AEAD_AES_128_GCM key is 30 bytes; want 28 bytes (a 16-byte master key and a 12-byte salt)"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + ";inline:" + key30,
			"several keys"},
		{"1 AES_CM_128_HMAC_SHA1_80 uri:http://example.com/key",
			"want \"inline:<base64 key and salt>\""},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:", "the inline key is empty"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:abc$", "is not base64 (character '$')"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:a=bc", "is not valid base64"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^0", "key lifetime \"2^0\""},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|forever", "key lifetime \"forever\""},
		{"x AES_CM_128_HMAC_SHA1_80 inline:" + key30, "tag \"x\" is not a number of 1 to 9 digits"},
		{"1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + key30, "tag \"1234567890\""},
		{"1 AES-CM inline:" + key30, "suite \"AES-CM\" is not a suite name"},
		{"1 AES_CM_128_HMAC_SHA1_80", "want \"<tag> <suite> inline:<key>"},
		{"", "want \"<tag> <suite>"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "\x00", "byte 0x00 at offset"},
	}
	for _, tt := range tests {
		_, err := ParseCrypto(tt.value)
		if err == nil {
			t.Errorf("ParseCrypto(%q) succeeded; want an error containing %q", tt.value, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseCrypto(%q) = %q; want it to contain %q", tt.value, err, tt.want)
		}
	}
}

func TestNewCrypto(t *testing.T) {
	for _, s := range Supported() {
		a, err := NewCrypto(3, s)
		if err != nil {
			t.Fatalf("NewCrypto(3, %s): %v", s, err)
		}
		b, err := NewCrypto(3, s)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := s.params()
		if a.Tag != 3 || a.Suite != s || len(a.Key) != p.keyLen+p.saltLen {
			t.Errorf("NewCrypto(3, %s) = %+v", s, a)
		}
		if bytes.Equal(a.Key, b.Key) {
			t.Errorf("NewCrypto(3, %s) made the same key twice", s)
		}
		back, err := ParseCrypto(a.String())
		if err != nil || !reflect.DeepEqual(back, a) {
			t.Errorf("ParseCrypto(%q) = %+v, %v; want %+v", a.String(), back, err, a)
		}
	}
	if _, err := NewCrypto(1, "AES_256_CM_HMAC_SHA1_80"); err == nil ||
		!strings.Contains(err.Error(), `suite "AES_256_CM_HMAC_SHA1_80" is not supported; want one of AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_32`) {
		t.Errorf("NewCrypto with an unknown suite: %v", err)
	}
	for _, tag := range []int{-1, 1000000000} {
		if _, err := NewCrypto(tag, AESCM128SHA1_80); err == nil {
			t.Errorf("NewCrypto(%d, ...) succeeded; want an error", tag)
		}
	}
}

func TestCryptoStringFormat(t *testing.T) {
	c := Crypto{Tag: 5, Suite: AESCM128SHA1_80, Key: bytes.Repeat([]byte{0xA5}, 30),
		Lifetime: "2^31", Params: []string{"KDR=0", "-X_OPT"}}
	want := "5 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31 KDR=0 -X_OPT"
	if got := c.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func FuzzParseCrypto(f *testing.F) {
	for _, seed := range []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30,
		"2 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|2^31",
		"3 AEAD_AES_128_GCM inline:" + key28 + " KDR=0 WSH=64",
		"4 AEAD_AES_128_GCM inline:" + strings.TrimRight(key28, "="),
		"5 AES_256_CM_HMAC_SHA1_80 inline:" + key30 + "|1048576 -OPT FEC_ORDER=FEC_SRTP",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNENCRYPTED_SRTP",
		"1 X inline:a;inline:b",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		c, err := ParseCrypto(value)
		if err != nil {
			return
		}
		again, err := ParseCrypto(c.String())
		if err != nil {
			t.Fatalf("ParseCrypto(%q) = %+v, but its String %q does not parse: %v", value, c, c.String(), err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("ParseCrypto(%q) = %+v; through String %q it became %+v", value, c, c.String(), again)
		}
	})
}
