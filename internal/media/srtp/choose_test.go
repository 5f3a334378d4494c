package srtp

import (
	"errors"
	"strings"
	"testing"
)

func mustParse(t *testing.T, value string) Crypto {
	t.Helper()
	c, err := ParseCrypto(value)
	if err != nil {
		t.Fatalf("ParseCrypto(%q): %v", value, err)
	}
	return c
}

func TestChoosePicksTheOfferersFirstUsableLine(t *testing.T) {
	offered := []Crypto{
		mustParse(t, "1 AES_256_CM_HMAC_SHA1_80 inline:"+key30),
		mustParse(t, "2 AES_CM_128_HMAC_SHA1_80 inline:"+key30+" KDR=24"),
		mustParse(t, "3 AES_CM_128_HMAC_SHA1_80 inline:"+key30+" NEW_THING=1"),
		mustParse(t, "4 AES_CM_128_HMAC_SHA1_32 inline:"+key30+"|2^31 KDR=0 WSH=128 -OPTIONAL"),
		mustParse(t, "5 AES_CM_128_HMAC_SHA1_80 inline:"+key30),
	}
	remote, local, err := Choose(offered)
	if err != nil {
		t.Fatalf("Choose: %v", err)
	}
	if remote.Tag != 4 || remote.Suite != AESCM128SHA1_32 {
		t.Errorf("remote = %+v; want tag 4's line", remote)
	}
	if local.Tag != 4 || local.Suite != AESCM128SHA1_32 || len(local.Key) != 30 {
		t.Errorf("local = %+v; want tag 4, AES_CM_128_HMAC_SHA1_32, a 30-byte key", local)
	}
	if string(local.Key) == string(remote.Key) {
		t.Error("the answer reuses the offerer's key")
	}
	if local.Params != nil || local.Lifetime != "" {
		t.Errorf("the answer carries %q and %v from the offer", local.Lifetime, local.Params)
	}
}

func TestChooseEverySuite(t *testing.T) {
	for _, s := range Supported() {
		offer, err := NewCrypto(9, s)
		if err != nil {
			t.Fatal(err)
		}
		remote, local, err := Choose([]Crypto{offer})
		if err != nil {
			t.Fatalf("Choose(%s): %v", s, err)
		}
		if remote.Suite != s || local.Suite != s || local.Tag != 9 {
			t.Errorf("Choose(%s) = %+v, %+v", s, remote, local)
		}
	}
}

func TestChooseNoCommonSuite(t *testing.T) {
	offered := []Crypto{
		mustParse(t, "1 AES_256_CM_HMAC_SHA1_80 inline:"+key30),
		mustParse(t, "2 AES_CM_128_HMAC_SHA1_80 inline:"+key30+" KDR=24"),
		mustParse(t, "3 AES_CM_128_HMAC_SHA1_80 inline:"+key30+" NEW_THING=1"),
		{Tag: 4, Suite: AEADAES128GCM, Key: make([]byte, 30)},
		{Tag: 5, Suite: AESCM128SHA1_80, Key: make([]byte, 30), MKI: "1:4"},
	}
	_, _, err := Choose(offered)
	if !errors.Is(err, ErrNoCommonSuite) {
		t.Fatalf("Choose = %v; want ErrNoCommonSuite", err)
	}
	want := "no common SRTP crypto suite: offered " +
		"1 AES_256_CM_HMAC_SHA1_80 (suite not supported); " +
		"2 AES_CM_128_HMAC_SHA1_80 (key derivation rate KDR=24 not supported, only KDR=0); " +
		"3 AES_CM_128_HMAC_SHA1_80 (unknown session parameter NEW_THING=1); " +
		"4 AEAD_AES_128_GCM (key is 30 bytes; want 28 bytes (a 16-byte master key and a 12-byte salt)); " +
		"5 AES_CM_128_HMAC_SHA1_80 (MKI not supported); " +
		"supported AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_32"
	if err.Error() != want {
		t.Errorf("Choose error\n got %s\nwant %s", err, want)
	}
	if _, _, err := Choose(nil); !errors.Is(err, ErrNoCommonSuite) || !strings.Contains(err.Error(), "offered none") {
		t.Errorf("Choose(nil) = %v", err)
	}
}

func TestChooseOfferPassesOverRefusedLines(t *testing.T) {
	values := []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4",
		"2 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31",
	}
	remote, local, err := ChooseOffer(values)
	if err != nil {
		t.Fatalf("ChooseOffer: %v", err)
	}
	if remote.Tag != 2 || remote.Lifetime != "2^31" || local.Tag != 2 {
		t.Errorf("ChooseOffer = %+v, %+v; want tag 2's line", remote, local)
	}

	_, _, err = ChooseOffer([]string{values[0], "3 AES_256_CM_HMAC_SHA1_80 inline:" + key30})
	if !errors.Is(err, ErrNoCommonSuite) {
		t.Fatalf("ChooseOffer = %v; want ErrNoCommonSuite", err)
	}
	for _, part := range []string{"a master key identifier (MKI 1:4) is not supported", "3 AES_256_CM_HMAC_SHA1_80 (suite not supported)"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("ChooseOffer error %q does not say %q", err, part)
		}
	}
}
