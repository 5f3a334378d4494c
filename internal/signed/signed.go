// Package signed makes and checks signed, expiring link tokens: a token
// names one blob store object and the time the link stops working, and is
// authenticated with HMAC-SHA256 under a server secret, so that a link in an
// email can fetch a report or a recording without logging in, only until it
// expires, and only the object it was made for.
//
// A token is the unpadded base64url encoding (RFC 4648 §5, canonical) of
//
//	version (1 byte, 1) | expiry (unsigned varint, Unix seconds) | key | tag
//
// where tag is the first 16 bytes of HMAC-SHA256(secret, "callrec-link\x00"
// | everything before the tag). It only contains the characters A–Z, a–z,
// 0–9, "-" and "_", so it fits in a URL path segment unescaped. Tokens are
// not encrypted: anyone holding one can read the key and expiry it names.
package signed

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/blob"
)

// Errors returned, possibly wrapped, by Verify and Check. The web layer
// answers 404 Not Found for ErrMalformed and ErrBadSignature (the link was
// altered or never made) and 410 Gone for ErrExpired.
var (
	// ErrMalformed means the token is not one this package could have made:
	// wrong alphabet or length, unknown version, or (after its signature
	// checked out) a key that blob.ValidKey rejects.
	ErrMalformed = errors.New("malformed link token")
	// ErrBadSignature means the token is well formed but its signature does
	// not match: it was altered, or made with another secret.
	ErrBadSignature = errors.New("link token signature does not match")
	// ErrExpired means the token is authentic but its expiry has passed.
	ErrExpired = errors.New("link has expired")
)

// MinSecretLen is the shortest secret New accepts, in bytes.
const MinSecretLen = 32

const (
	version = 1
	// tagLen is the length of the truncated HMAC-SHA256 tag: 128 bits.
	tagLen = 16
	// minRawLen is version, a one-byte expiry, a one-byte key and the tag.
	minRawLen = 1 + 1 + 1 + tagLen
	// maxRawLen is version, the longest varint, the longest key and the tag.
	maxRawLen = 1 + binary.MaxVarintLen64 + blob.MaxKeyLen + tagLen
	// domain separates link tags from other uses of the same secret.
	domain = "callrec-link\x00"
)

// encoding is base64url without padding, rejecting non-canonical trailing
// bits so that no two strings decode to the same token.
var encoding = base64.RawURLEncoding.Strict()

// Token lengths: unpadded base64 of minRawLen and maxRawLen bytes.
const (
	minTokenLen = (minRawLen*8 + 5) / 6
	maxTokenLen = (maxRawLen*8 + 5) / 6
)

// Signer makes and checks link tokens with one secret. Make it with New; it
// is safe for concurrent use.
type Signer struct {
	secret []byte
}

// New returns a Signer using secret, which must be at least MinSecretLen
// bytes of random data (see LoadOrCreateSecret). The secret is copied.
func New(secret []byte) (*Signer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("link secret is %d bytes; it must be at least %d random bytes", len(secret), MinSecretLen)
	}
	return &Signer{secret: append([]byte(nil), secret...)}, nil
}

// Token returns a URL-safe token naming the blob key and valid until
// expires (rounded down to the second). key should satisfy blob.ValidKey: a
// token made for another key never verifies. A token for a time at or
// before 1970-01-01 UTC is already expired.
func (s *Signer) Token(key string, expires time.Time) string {
	exp := max(expires.Unix(), 0)
	raw := make([]byte, 0, 1+binary.MaxVarintLen64+len(key)+tagLen)
	raw = append(raw, version)
	raw = binary.AppendUvarint(raw, uint64(exp))
	raw = append(raw, key...)
	raw = s.appendTag(raw, raw)
	return encoding.EncodeToString(raw)
}

// Verify checks token at time now and returns the blob key it names. The
// error is ErrMalformed, ErrBadSignature or ErrExpired (possibly wrapped,
// test with errors.Is); the key returned with an error is always "". The
// key of a verified token satisfies blob.ValidKey.
func (s *Signer) Verify(token string, now time.Time) (key string, err error) {
	key, _, err = s.Check(token, now)
	if err != nil {
		return "", err
	}
	return key, nil
}

// Check is Verify that also returns the token's expiry (in UTC), for
// example to bound how long a response may be cached. An expired token's
// key and expiry are returned with ErrExpired; with any other error both are
// zero.
func (s *Signer) Check(token string, now time.Time) (key string, expires time.Time, err error) {
	if len(token) < minTokenLen || len(token) > maxTokenLen {
		return "", time.Time{}, fmt.Errorf("%w: length %d", ErrMalformed, len(token))
	}
	// The decoder skips '\r' and '\n'; no character outside the alphabet
	// may pass, or two strings would carry the same token.
	for i := range len(token) {
		if !isTokenChar(token[i]) {
			return "", time.Time{}, fmt.Errorf("%w: character %q", ErrMalformed, token[i])
		}
	}
	raw, err := encoding.DecodeString(token)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: not base64url", ErrMalformed)
	}
	if len(raw) < minRawLen || len(raw) > maxRawLen {
		return "", time.Time{}, fmt.Errorf("%w: length %d", ErrMalformed, len(token))
	}
	if raw[0] != version {
		return "", time.Time{}, fmt.Errorf("%w: unknown version %d", ErrMalformed, raw[0])
	}
	body, tag := raw[:len(raw)-tagLen], raw[len(raw)-tagLen:]
	if !hmac.Equal(s.appendTag(nil, body), tag) {
		return "", time.Time{}, ErrBadSignature
	}
	// From here on the bytes are ones this Signer made.
	exp, n := binary.Uvarint(body[1:])
	if n <= 0 || exp > math.MaxInt64 {
		return "", time.Time{}, fmt.Errorf("%w: bad expiry", ErrMalformed)
	}
	key = string(body[1+n:])
	if err := blob.ValidKey(key); err != nil {
		return "", time.Time{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	expires = time.Unix(int64(exp), 0).UTC()
	if !now.Before(expires) {
		return key, expires, fmt.Errorf("%w (at %s)", ErrExpired, expires.Format(time.RFC3339))
	}
	return key, expires, nil
}

// isTokenChar reports whether c is in the base64url alphabet.
func isTokenChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// appendTag appends the tag of body to dst.
func (s *Signer) appendTag(dst, body []byte) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(domain))
	m.Write(body)
	return append(dst, m.Sum(nil)[:tagLen]...)
}

// URL returns the link that serves token: publicURL (such as
// "https://calls.example.org", with or without a trailing "/") followed by
// "/l/" and the token.
func URL(publicURL, token string) string {
	return strings.TrimRight(publicURL, "/") + "/l/" + token
}
