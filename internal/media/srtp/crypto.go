package srtp

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxTag is the largest crypto tag: RFC 4568 allows at most nine digits.
const maxTag = 999999999

// Crypto is one a=crypto attribute (RFC 4568 section 9.1) with a single
// inline key.
type Crypto struct {
	// Tag identifies the attribute within its media stream; an answer
	// repeats the tag of the offered line it accepts.
	Tag int
	// Suite is the crypto suite, perhaps one callrec does not speak.
	Suite Suite
	// Key is the master key followed by the master salt.
	Key []byte
	// Lifetime is the key's lifetime in packets as written ("2^31",
	// "1048576"), or empty when the line gives none. It is carried, not
	// enforced: a Session stops only at SRTP's own limits (2^48 RTP and
	// 2^31 RTCP packets), far beyond any call.
	Lifetime string
	// MKI is the master key identifier and its length in bytes ("1:4"),
	// or empty. ParseCrypto refuses lines that carry one.
	MKI string
	// Params are the session parameters ("KDR=0", "WSH=128"...), in order.
	Params []string
}

// ParseCrypto reads the value of an a=crypto attribute, the text after
// "crypto:": "<tag> <suite> inline:<key||salt>[|<lifetime>][|<MKI>:<length>]
// [<session parameters>]". A suite callrec does not speak parses (Choose
// passes over it); a known suite's key must have the suite's length.
// ParseCrypto refuses, saying why, a line with an MKI or with several keys,
// a key method other than inline, and the session parameters that turn
// off encryption or authentication (UNENCRYPTED_SRTP,
// UNENCRYPTED_SRTCP, UNAUTHENTICATED_SRTP).
func ParseCrypto(value string) (Crypto, error) {
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < ' ' && c != '\t') || c > '~' {
			return Crypto{}, fmt.Errorf("crypto attribute: byte %#02x at offset %d is not printable ASCII", c, i)
		}
	}
	fields := strings.Fields(value)
	if len(fields) < 3 {
		return Crypto{}, fmt.Errorf("crypto attribute %q: want \"<tag> <suite> inline:<key>[|<lifetime>] [<session parameters>]\"", value)
	}
	tag, err := parseTag(fields[0])
	if err != nil {
		return Crypto{}, err
	}
	suite := Suite(fields[1])
	if !validSuiteName(fields[1]) {
		return Crypto{}, fmt.Errorf("crypto attribute: suite %q is not a suite name (letters, digits and underscores)", fields[1])
	}
	c := Crypto{Tag: tag, Suite: suite}
	if err := c.parseKeyParams(fields[2]); err != nil {
		return Crypto{}, err
	}
	for _, p := range fields[3:] {
		if disablesProtection(p) {
			return Crypto{}, fmt.Errorf("crypto attribute: session parameter %s is not supported: callrec encrypts and authenticates all RTP and RTCP", p)
		}
		c.Params = append(c.Params, p)
	}
	return c, nil
}

// parseTag reads a crypto tag: one to nine decimal digits.
func parseTag(s string) (int, error) {
	if len(s) > 9 || !allDigits(s) {
		return 0, fmt.Errorf("crypto attribute: tag %q is not a number of 1 to 9 digits", s)
	}
	tag, _ := strconv.Atoi(s) // nine digits always fit
	return tag, nil
}

// parseKeyParams reads "inline:<key||salt>[|<lifetime>][|<MKI>:<length>]"
// into c.Key and c.Lifetime.
func (c *Crypto) parseKeyParams(s string) error {
	if strings.Contains(s, ";") {
		return fmt.Errorf("crypto attribute: several keys in %q are not supported; offer one inline key", s)
	}
	method, rest, ok := strings.Cut(s, ":")
	if !ok || !strings.EqualFold(method, "inline") {
		return fmt.Errorf("crypto attribute: key parameter %q: want \"inline:<base64 key and salt>\" (the only key method SDES defines)", s)
	}
	parts := strings.Split(rest, "|")
	if len(parts) > 3 {
		return fmt.Errorf("crypto attribute: key parameter %q has %d \"|\" parts; want at most key|lifetime|MKI:length", s, len(parts))
	}
	key, err := decodeKey(parts[0])
	if err != nil {
		return err
	}
	if p, known := c.Suite.params(); known && len(key) != p.keyLen+p.saltLen {
		return fmt.Errorf("crypto attribute: the %s key is %d bytes; want %s", c.Suite, len(key), p.describeKeyLen())
	}
	c.Key = key
	for i, part := range parts[1:] {
		if strings.Contains(part, ":") {
			if i != len(parts)-2 {
				return fmt.Errorf("crypto attribute: key parameter %q: the MKI must come last", s)
			}
			return fmt.Errorf("crypto attribute: a master key identifier (MKI %s) is not supported; offer the key without \"|MKI:length\"", part)
		}
		if i > 0 {
			return fmt.Errorf("crypto attribute: key parameter %q has two lifetimes", s)
		}
		if !validLifetime(part) {
			return fmt.Errorf("crypto attribute: key lifetime %q: want a number of packets such as 2^31 or 1048576", part)
		}
		c.Lifetime = part
	}
	return nil
}

// decodeKey decodes an inline key, padded or not.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("crypto attribute: the inline key is empty")
	}
	for i := 0; i < len(s); i++ {
		if !isBase64Char(s[i]) {
			return nil, fmt.Errorf("crypto attribute: inline key %q is not base64 (character %q)", s, s[i])
		}
	}
	enc := base64.StdEncoding
	if !strings.HasSuffix(s, "=") {
		enc = base64.RawStdEncoding
	}
	key, err := enc.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("crypto attribute: inline key %q is not valid base64", s)
	}
	return key, nil
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}

// validLifetime reports whether s is a key lifetime: "2^<n>" or a
// decimal number, not zero.
func validLifetime(s string) bool {
	if exp, ok := strings.CutPrefix(s, "2^"); ok {
		n, err := strconv.Atoi(exp)
		return allDigits(exp) && err == nil && n >= 1 && n <= 64
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return allDigits(s) && err == nil && n > 0
}

// validSuiteName reports whether s is a crypto-suite name: letters,
// digits and underscores.
func validSuiteName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// disablesProtection reports whether the session parameter p turns off
// encryption or authentication.
func disablesProtection(p string) bool {
	switch strings.ToUpper(p) {
	case "UNENCRYPTED_SRTP", "UNENCRYPTED_SRTCP", "UNAUTHENTICATED_SRTP":
		return true
	}
	return false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String returns the attribute value, the text after "a=crypto:";
// ParseCrypto reads it back to c.
func (c Crypto) String() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(c.Tag))
	b.WriteByte(' ')
	b.WriteString(string(c.Suite))
	b.WriteString(" inline:")
	b.WriteString(base64.StdEncoding.EncodeToString(c.Key))
	if c.Lifetime != "" {
		b.WriteByte('|')
		b.WriteString(c.Lifetime)
	}
	if c.MKI != "" {
		b.WriteByte('|')
		b.WriteString(c.MKI)
	}
	for _, p := range c.Params {
		b.WriteByte(' ')
		b.WriteString(p)
	}
	return b.String()
}

// NewCrypto returns a crypto line for suite s with tag tag and a fresh
// random master key and salt.
func NewCrypto(tag int, s Suite) (Crypto, error) {
	if tag < 0 || tag > maxTag {
		return Crypto{}, fmt.Errorf("new crypto: tag %d: want 0-%d", tag, maxTag)
	}
	p, ok := s.params()
	if !ok {
		return Crypto{}, fmt.Errorf("new crypto: suite %q is not supported; want one of %s", s, suiteList(Supported()))
	}
	key := make([]byte, p.keyLen+p.saltLen)
	if _, err := rand.Read(key); err != nil {
		return Crypto{}, fmt.Errorf("new crypto: %w", err)
	}
	return Crypto{Tag: tag, Suite: s, Key: key}, nil
}

func suiteList(suites []Suite) string {
	names := make([]string, len(suites))
	for i, s := range suites {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
