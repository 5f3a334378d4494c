package signed

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// SecretLen is the length, in bytes, of a secret LoadOrCreateSecret makes.
const SecretLen = 32

// maxSecretFile bounds how much of a secret file is read.
const maxSecretFile = 4096

// LoadOrCreateSecret returns the link secret kept in the file at path,
// creating it on first use: SecretLen random bytes, stored hex-encoded on
// one line, readable by the owner only (0600), written atomically (a
// complete temporary file is linked into place) so a crash never leaves
// half a secret, and an existing secret is never replaced: when two
// processes start at once, both end up with the one that was first.
// The directory is created (0700) when missing.
//
// Replacing or deleting the file invalidates every link already sent.
func LoadOrCreateSecret(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("link secret: no file path; set data_dir (the secret is kept there)")
	}
	secret, err := readSecret(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return secret, err
	}

	secret = make([]byte, SecretLen)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("link secret: generate: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("link secret: create directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".link-secret-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("link secret: create %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // no-op once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("link secret: create %s: %w", path, err)
	}
	if _, err := tmp.WriteString(hex.EncodeToString(secret) + "\n"); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("link secret: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("link secret: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("link secret: write %s: %w", path, err)
	}
	// A hard link puts the file in place only if path does not exist yet,
	// so a secret another process just made is never replaced; where hard
	// links are not supported, rename instead.
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readSecret(path)
		}
		if err := os.Rename(tmpName, path); err != nil {
			return nil, fmt.Errorf("link secret: create %s: %w", path, err)
		}
	}
	syncDir(dir)
	return secret, nil
}

// readSecret reads and decodes an existing secret file; a missing file
// gives an error satisfying errors.Is(err, fs.ErrNotExist).
func readSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("link secret: read %s: %w", path, err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("link secret: read %s: %w", path, err)
	}
	if len(buf) > maxSecretFile {
		return nil, fmt.Errorf("link secret %s: file is larger than %d bytes; it should hold one line of hex; delete it to make a new secret (links already sent stop working)", path, maxSecretFile)
	}
	text := bytes.TrimSpace(buf)
	secret := make([]byte, hex.DecodedLen(len(text)))
	if _, err := hex.Decode(secret, text); err != nil {
		return nil, fmt.Errorf("link secret %s: not hex-encoded (%v); delete it to make a new secret (links already sent stop working)", path, err)
	}
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("link secret %s: %d bytes; it needs at least %d (%d hex digits); delete it to make a new secret (links already sent stop working)", path, len(secret), MinSecretLen, 2*MinSecretLen)
	}
	return secret, nil
}

// syncDir makes a rename in dir durable, where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
