// Package password hashes the owner's web password (argon2id, in the PHC
// string format) and checks a password against such a hash or a bcrypt
// one.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2id parameters of Hash: RFC 9106's second recommended
// option (64 MiB of memory, 3 passes), 4 lanes, a 16-byte salt and a
// 32-byte hash.
const (
	argonMemoryKiB = 64 * 1024
	argonTime      = 3
	argonThreads   = 4
	argonSaltLen   = 16
	argonKeyLen    = 32
)

// Bounds on the parameters Check accepts, so that a mistyped
// configuration cannot make every log-in take minutes or gigabytes.
const (
	maxArgonMemoryKiB = 1024 * 1024 // 1 GiB
	maxArgonTime      = 64
)

// Hash returns an argon2id hash of pw in the PHC string format
// ($argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>, unpadded standard
// base64), for web.password_hash. An empty password is refused.
func Hash(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("hash password: the password is empty")
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Check reports whether pw matches hash, an argon2id PHC string (as
// Hash makes) or a bcrypt hash ($2a$, $2b$ or $2y$). A malformed
// hash matches nothing.
func Check(hash, pw string) bool {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		p, err := parseArgon2id(hash)
		if err != nil {
			return false
		}
		got := argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
		return subtle.ConstantTimeCompare(got, p.key) == 1
	case isBcrypt(hash):
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
	}
	return false
}

// CheckHash says what is wrong with a configured password hash, or
// returns nil when Check can use it.
func CheckHash(hash string) error {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		_, err := parseArgon2id(hash)
		return err
	case isBcrypt(hash):
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return fmt.Errorf("bcrypt hash: %w", err)
		}
		return nil
	}
	return errors.New("not an argon2id PHC string ($argon2id$…) or a bcrypt hash ($2b$…); make one with `callrec passwd`")
}

// isBcrypt reports whether hash looks like a bcrypt hash.
func isBcrypt(hash string) bool {
	return strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$")
}

// argonParams is a parsed argon2id PHC string.
type argonParams struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// parseArgon2id parses "$argon2id$v=19$m=M,t=T,p=P$salt$hash".
func parseArgon2id(s string) (*argonParams, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, errors.New("argon2id hash: want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return nil, fmt.Errorf("argon2id hash: version %q is not v=%d", parts[2], argon2.Version)
	}
	var p argonParams
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &threads); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", p.memory, p.time, threads) != parts[3] {
		return nil, fmt.Errorf("argon2id hash: parameters %q are not m=…,t=…,p=…", parts[3])
	}
	switch {
	case p.time < 1 || p.time > maxArgonTime:
		return nil, fmt.Errorf("argon2id hash: t=%d is outside 1…%d", p.time, maxArgonTime)
	case threads < 1 || threads > 255:
		return nil, fmt.Errorf("argon2id hash: p=%d is outside 1…255", threads)
	case p.memory < 8*threads || p.memory > maxArgonMemoryKiB:
		return nil, fmt.Errorf("argon2id hash: m=%d KiB is outside %d…%d", p.memory, 8*threads, maxArgonMemoryKiB)
	}
	p.threads = uint8(threads)
	var err error
	if p.salt, err = decodePHCBase64(parts[4]); err != nil || len(p.salt) < 8 {
		return nil, errors.New("argon2id hash: the salt is not base64 of at least 8 bytes")
	}
	if p.key, err = decodePHCBase64(parts[5]); err != nil || len(p.key) < 16 || len(p.key) > 64 {
		return nil, errors.New("argon2id hash: the hash is not base64 of 16…64 bytes")
	}
	return &p, nil
}

// decodePHCBase64 decodes the PHC format's base64 (standard alphabet,
// normally unpadded; padding is tolerated).
func decodePHCBase64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}
