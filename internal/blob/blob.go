// Package blob stores objects (recordings, reports) under slash-separated
// keys. Local keeps them in a directory; an S3-compatible store can satisfy
// the same Store interface.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrNotFound is returned, wrapped, when a key holds no object.
var ErrNotFound = errors.New("object not found")

// Limits on keys, checked by ValidKey.
const (
	MaxKeyLen     = 1024 // bytes
	MaxSegmentLen = 255  // bytes, a common file-name limit
)

// Store keeps objects under keys. Implementations are safe for concurrent
// use. Keys must satisfy ValidKey.
type Store interface {
	// Put stores everything read from r under key, replacing any object
	// there. Readers never see a partly written object.
	Put(ctx context.Context, key string, r io.Reader) error
	// PutFile stores the finished local file srcPath under key and takes
	// ownership of it: on success srcPath no longer exists (it was moved,
	// or copied and removed).
	PutFile(ctx context.Context, key, srcPath string) error
	// Open returns the object's content; the caller closes it.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat describes the object.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes the object. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List describes every object whose key starts with prefix, sorted by
	// key. The prefix need not end at a segment boundary ("calls/ab"
	// lists "calls/abc/x"); "" lists everything.
	List(ctx context.Context, prefix string) ([]Info, error)
}

// Localer is implemented by stores whose objects are files on this machine,
// so that a consumer (a transcriber, say) can read one in place.
type Localer interface {
	// LocalPath returns the file that holds (or would hold) key, and false
	// when key is not valid. It does not check that the file exists.
	LocalPath(key string) (string, bool)
}

// Info describes a stored object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// ValidKey reports why key cannot name an object, or nil if it can. A key is
// one or more "/"-separated segments of valid UTF-8, at most MaxKeyLen bytes
// in all. Segments are non-empty, at most MaxSegmentLen bytes, do not start
// with "." (so "." and ".." are out, and names starting with "." are left
// for temporary files) and contain no backslash, NUL or other control
// character. So a key never starts or ends with "/" and cannot leave the
// store's root.
func ValidKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case len(key) > MaxKeyLen:
		return fmt.Errorf("key longer than %d bytes", MaxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("key %q is not valid UTF-8", key)
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("key %q is absolute; remove the leading \"/\"", key)
	}
	for _, r := range key {
		switch {
		case r == '\\':
			return fmt.Errorf("key %q contains a backslash; separate segments with \"/\"", key)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return fmt.Errorf("key %q contains a control character", key)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("key %q has an empty segment", key)
		case seg[0] == '.':
			return fmt.Errorf("key %q has a segment starting with \".\"", key)
		case len(seg) > MaxSegmentLen:
			return fmt.Errorf("key %q has a segment longer than %d bytes", key, MaxSegmentLen)
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(key)) {
		// Belt and braces: reserved names on Windows, for one.
		return fmt.Errorf("key %q is not a local path", key)
	}
	return nil
}
