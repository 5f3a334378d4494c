package signed

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/blob"
)

var (
	testSecret  = bytes.Repeat([]byte("0123456789abcdef"), 2)
	otherSecret = bytes.Repeat([]byte("fedcba9876543210"), 2)
	t0          = time.Date(2026, 3, 3, 14, 5, 0, 0, time.UTC)
)

func newSigner(t testing.TB, secret []byte) *Signer {
	t.Helper()
	s, err := New(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewSecretLength(t *testing.T) {
	for _, n := range []int{0, 1, 16, 31} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New(%d bytes) = nil error, want one", n)
		}
	}
	for _, n := range []int{32, 64} {
		if _, err := New(make([]byte, n)); err != nil {
			t.Errorf("New(%d bytes): %v", n, err)
		}
	}
}

func TestNewCopiesSecret(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	s := newSigner(t, secret)
	tok := s.Token("calls/a/report.html", t0.Add(time.Hour))
	secret[0] ^= 1
	if _, err := s.Verify(tok, t0); err != nil {
		t.Fatalf("changing the caller's slice changed the signer: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	s := newSigner(t, testSecret)
	tests := []struct {
		name    string
		key     string
		expires time.Time
		now     time.Time
		wantErr error
	}{
		{"valid", "calls/0192c3c4-7d5e-7b1a-9f00-123456789abc/report.docx", t0.Add(7 * 24 * time.Hour), t0, nil},
		{"one second left", "calls/x/report.html", t0.Add(time.Second), t0, nil},
		{"at expiry", "calls/x/report.html", t0, t0, ErrExpired},
		{"after expiry", "calls/x/report.html", t0.Add(-time.Second), t0, ErrExpired},
		{"long expired", "calls/x/report.html", t0.Add(-365 * 24 * time.Hour), t0, ErrExpired},
		{"before 1970", "calls/x/report.html", time.Unix(-100, 0), t0, ErrExpired},
		{"far future", "a", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), t0, nil},
		{"recording", "recordings/2026/03/03/abc.wav", t0.Add(time.Minute), t0, nil},
		{"unicode key", "calls/é/rapport ü.docx", t0.Add(time.Minute), t0, nil},
		{"longest key", strings.Repeat(strings.Repeat("k", 255)+"/", 3) + strings.Repeat("k", 255), t0.Add(time.Minute), t0, nil},
		{"traversal key", "../etc/passwd", t0.Add(time.Minute), t0, ErrMalformed},
		{"absolute key", "/etc/passwd", t0.Add(time.Minute), t0, ErrMalformed},
		{"empty key", "", t0.Add(time.Minute), t0, ErrMalformed},
		{"dot segment", "calls/../x", t0.Add(time.Minute), t0, ErrMalformed},
		{"backslash", `calls\..\x`, t0.Add(time.Minute), t0, ErrMalformed},
		{"too long key", strings.Repeat("a/", 600), t0.Add(time.Minute), t0, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := s.Token(tt.key, tt.expires)
			for _, r := range tok {
				if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", r) {
					t.Fatalf("token %q has %q, not URL-safe", tok, r)
				}
			}
			key, err := s.Verify(tok, tt.now)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Verify = %q, %v; want %v", key, err, tt.wantErr)
				}
				if key != "" {
					t.Errorf("Verify returned key %q with an error", key)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if key != tt.key {
				t.Errorf("key = %q, want %q", key, tt.key)
			}
			_, exp, err := s.Check(tok, tt.now)
			if err != nil || !exp.Equal(tt.expires.Truncate(time.Second)) || exp.Location() != time.UTC {
				t.Errorf("Check expiry = %v, %v; want %v", exp, err, tt.expires.Truncate(time.Second))
			}
		})
	}
}

func TestTokenIsCompact(t *testing.T) {
	s := newSigner(t, testSecret)
	key := "calls/0192c3c4-7d5e-7b1a-9f00-123456789abc/report.docx"
	tok := s.Token(key, t0.Add(7*24*time.Hour))
	// 1 version + 5 expiry + key + 16 tag, base64.
	if want := base64.RawURLEncoding.EncodedLen(1 + 5 + len(key) + tagLen); len(tok) != want {
		t.Errorf("token is %d characters, want %d", len(tok), want)
	}
}

func TestTokenDeterministic(t *testing.T) {
	s := newSigner(t, testSecret)
	a := s.Token("calls/x/report.html", t0)
	b := s.Token("calls/x/report.html", t0.Add(999*time.Millisecond))
	if a != b {
		t.Errorf("same key and second gave %q and %q", a, b)
	}
	if c := s.Token("calls/x/report.html", t0.Add(time.Second)); c == a {
		t.Error("different expiry gave the same token")
	}
}

func TestCheckExpiredReturnsKey(t *testing.T) {
	s := newSigner(t, testSecret)
	tok := s.Token("calls/x/report.html", t0)
	key, exp, err := s.Check(tok, t0.Add(time.Hour))
	if !errors.Is(err, ErrExpired) || key != "calls/x/report.html" || !exp.Equal(t0) {
		t.Errorf("Check = %q, %v, %v; want the key, its expiry and ErrExpired", key, exp, err)
	}
}

func TestOtherSecret(t *testing.T) {
	a, b := newSigner(t, testSecret), newSigner(t, otherSecret)
	tok := a.Token("calls/x/report.html", t0.Add(time.Hour))
	if _, err := b.Verify(tok, t0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("token of another secret: %v, want ErrBadSignature", err)
	}
	// Even expired, a forged token reports the bad signature, not expiry.
	tok = a.Token("calls/x/report.html", t0.Add(-time.Hour))
	if _, err := b.Verify(tok, t0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("expired token of another secret: %v, want ErrBadSignature", err)
	}
}

// TestEveryOneCharacterChangeFails changes each character of a token to
// every other character of the alphabet: none may verify.
func TestEveryOneCharacterChangeFails(t *testing.T) {
	s := newSigner(t, testSecret)
	tok := s.Token("calls/0192c3c4/report.docx", t0.Add(time.Hour))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(tok) {
		for _, c := range alphabet {
			if byte(c) == tok[i] {
				continue
			}
			alt := tok[:i] + string(c) + tok[i+1:]
			key, err := s.Verify(alt, t0)
			if err == nil {
				t.Fatalf("changed token %q (position %d) verified as %q", alt, i, key)
			}
			if !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("changed token: %v, want ErrBadSignature or ErrMalformed", err)
			}
		}
	}
}

func TestMalformed(t *testing.T) {
	s := newSigner(t, testSecret)
	good := s.Token("calls/x/report.html", t0.Add(time.Hour))
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	v2 := append([]byte{2}, raw[1:]...)
	tests := []struct {
		name, token string
	}{
		{"empty", ""},
		{"short", "abc"},
		{"padding", good + "="},
		{"standard alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+/"},
		{"space", good[:10] + " " + good[11:]},
		{"newline inserted", good[:10] + "\n" + good[10:]},
		{"carriage return inserted", good[:10] + "\r" + good[10:]},
		{"path", "../../etc/passwd"},
		{"slash", good[:5] + "/" + good[6:]},
		{"dot", good[:5] + "." + good[6:]},
		{"percent", good[:5] + "%2e" + good[8:]},
		{"truncated", good[:len(good)-1]},
		{"huge", strings.Repeat("A", 1<<20)},
		{"version 2", base64.RawURLEncoding.EncodeToString(v2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := s.Verify(tt.token, t0)
			if err == nil {
				t.Fatalf("Verify(%q) = %q, want an error", tt.token, key)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Verify(%q): %v, want ErrMalformed or ErrBadSignature", tt.token, err)
			}
		})
	}
}

// TestSignedBadKeyRejected signs, with the secret, payloads whose keys try
// to leave the blob store: knowing the secret must not allow traversal.
func TestSignedBadKeyRejected(t *testing.T) {
	s := newSigner(t, testSecret)
	for _, key := range []string{"..", "../x", "a/../../x", "/etc/passwd", "a//b", ".hidden", "a\x00b", "\xff", `..\x`} {
		raw := []byte{version}
		raw = binary.AppendUvarint(raw, uint64(t0.Add(time.Hour).Unix()))
		raw = append(raw, key...)
		raw = s.appendTag(raw, raw)
		tok := base64.RawURLEncoding.EncodeToString(raw)
		if got, err := s.Verify(tok, t0); !errors.Is(err, ErrMalformed) {
			t.Errorf("signed key %q: Verify = %q, %v; want ErrMalformed", key, got, err)
		}
	}
}

func TestURL(t *testing.T) {
	tests := []struct{ base, want string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/l/TOK"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/l/TOK"},
		{"https://example.org/callrec/", "https://example.org/callrec/l/TOK"},
	}
	for _, tt := range tests {
		if got := URL(tt.base, "TOK"); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.base, got, tt.want)
		}
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "link-secret")
	a, err := LoadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != SecretLen {
		t.Fatalf("secret is %d bytes, want %d", len(a), SecretLen)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("secret file mode %o, want 600", perm)
	}
	b, err := LoadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("second start made a new secret")
	}
	if _, err := New(a); err != nil {
		t.Errorf("New(created secret): %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the secret (temporary file left behind?)", len(entries))
	}
	c, err := LoadOrCreateSecret(filepath.Join(dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, c) {
		t.Error("two new secrets are equal")
	}
}

func TestLoadOrCreateSecretConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "link-secret")
	const n = 8
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = LoadOrCreateSecret(path) })
	}
	wg.Wait()
	onDisk, err := LoadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("start %d: %v", i, errs[i])
		}
		if !bytes.Equal(got[i], onDisk) {
			t.Errorf("start %d got a secret that is not the one on disk", i)
		}
	}
}

func TestLoadOrCreateSecretErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"empty", "", "at least 32"},
		{"short", strings.Repeat("ab", 16), "at least 32"},
		{"not hex", strings.Repeat("zz", 32), "not hex"},
		{"odd length", strings.Repeat("a", 65), "not hex"},
		{"huge", strings.Repeat("ab", 5000), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateSecret(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("LoadOrCreateSecret = %v; want an error naming the file and saying %q", err, tt.want)
			}
			if b, _ := os.ReadFile(path); string(b) != tt.content {
				t.Error("a bad secret file was replaced; it must be left for the owner to fix")
			}
		})
	}
	t.Run("accepts surrounding white space", func(t *testing.T) {
		path := filepath.Join(dir, "ws")
		if err := os.WriteFile(path, []byte("\n "+strings.Repeat("ab", 32)+" \r\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if s, err := LoadOrCreateSecret(path); err != nil || len(s) != 32 || s[0] != 0xab {
			t.Errorf("LoadOrCreateSecret = %x, %v", s, err)
		}
	})
	t.Run("empty path", func(t *testing.T) {
		if _, err := LoadOrCreateSecret(""); err == nil {
			t.Error("empty path accepted")
		}
	})
	t.Run("directory not writable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions")
		}
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateSecret(filepath.Join(ro, "secret")); err == nil || !strings.Contains(err.Error(), "link secret") {
			t.Errorf("unwritable directory: %v", err)
		}
	})
	t.Run("path is a directory", func(t *testing.T) {
		if _, err := LoadOrCreateSecret(dir); err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("directory as secret file: %v", err)
		}
	})
}

// FuzzVerify checks that Verify never panics and accepts only tokens the
// signer made: any token it accepts re-encodes, from the key and expiry it
// carries, to exactly the same string.
func FuzzVerify(f *testing.F) {
	s := newSigner(f, testSecret)
	f.Add(s.Token("calls/x/report.html", t0.Add(time.Hour)))
	f.Add(s.Token("recordings/2026/03/03/abc.wav", t0.Add(-time.Hour)))
	f.Add(s.Token("../x", t0.Add(time.Hour)))
	f.Add("")
	f.Add("AQ")
	f.Add(strings.Repeat("_", 40))
	other := newSigner(f, otherSecret)
	f.Add(other.Token("calls/x/report.html", t0.Add(time.Hour)))
	f.Fuzz(func(t *testing.T, token string) {
		key, exp, err := s.Check(token, t0)
		switch {
		case err == nil:
			if blobErr := blob.ValidKey(key); blobErr != nil {
				t.Fatalf("accepted key %q: %v", key, blobErr)
			}
			if !exp.After(t0) {
				t.Fatalf("accepted a token expired at %v", exp)
			}
		case errors.Is(err, ErrExpired):
			if exp.After(t0) {
				t.Fatalf("ErrExpired for a token valid until %v", exp)
			}
		case errors.Is(err, ErrMalformed), errors.Is(err, ErrBadSignature):
			if key != "" || !exp.IsZero() {
				t.Fatalf("error %v came with key %q and expiry %v", err, key, exp)
			}
			return
		default:
			t.Fatalf("unexpected error %v", err)
		}
		if again := s.Token(key, exp); again != token {
			t.Fatalf("accepted %q, but the signer makes %q for %q until %v", token, again, key, exp)
		}
		if _, err := other.Verify(token, t0); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("another secret's signer: %v, want ErrBadSignature", err)
		}
	})
}

func TestTokenLengthBounds(t *testing.T) {
	if minTokenLen != base64.RawURLEncoding.EncodedLen(minRawLen) || maxTokenLen != base64.RawURLEncoding.EncodedLen(maxRawLen) {
		t.Errorf("token length bounds %d, %d disagree with base64", minTokenLen, maxTokenLen)
	}
}
