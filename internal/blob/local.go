package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Local is a Store keeping each object as a file under a directory, at the
// key's path. Writes are atomic: a temporary file in the destination's
// directory is written, synced and renamed into place. The directory is
// trusted: Local does not guard against symbolic links placed inside it.
type Local struct {
	dir string
	// rename is os.Rename; tests replace it to simulate another filesystem.
	rename func(oldpath, newpath string) error
}

// Interface checks.
var (
	_ Store   = (*Local)(nil)
	_ Localer = (*Local)(nil)
)

// NewLocal returns a Local store rooted at dir, creating dir if needed.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("local blob store: directory is empty; set a directory such as data/objects")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local blob store %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("local blob store: %w", err)
	}
	return &Local{dir: abs, rename: os.Rename}, nil
}

// Dir returns the store's root directory, as an absolute path.
func (l *Local) Dir() string { return l.dir }

// LocalPath returns the file that holds (or would hold) key, and false when
// key is not valid. It does not check that the file exists.
func (l *Local) LocalPath(key string) (string, bool) {
	if ValidKey(key) != nil {
		return "", false
	}
	return filepath.Join(l.dir, filepath.FromSlash(key)), true
}

// path returns the file for key, or an error when key is invalid.
func (l *Local) path(key string) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	return filepath.Join(l.dir, filepath.FromSlash(key)), nil
}

// Put stores everything read from r under key, atomically. If ctx ends or r
// fails, nothing is stored.
func (l *Local) Put(ctx context.Context, key string, r io.Reader) error {
	p, err := l.path(key)
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if err := writeAtomic(ctx, p, r); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// PutFile moves the finished file srcPath to key, or copies it and removes
// srcPath when it is on another filesystem. On success srcPath is gone.
func (l *Local) PutFile(ctx context.Context, key, srcPath string) error {
	p, err := l.path(key)
	if err != nil {
		return fmt.Errorf("put file: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put file %s: %w", key, err)
	}
	fi, err := os.Stat(srcPath)
	if err != nil {
		return fmt.Errorf("put file %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("put file %s: %s is not a regular file", key, srcPath)
	}
	if err := syncFile(srcPath); err != nil {
		return fmt.Errorf("put file %s: %w", key, err)
	}
	err = mkdirRetry(filepath.Dir(p), func() error { return l.rename(srcPath, p) })
	if err == nil {
		if err := syncDir(filepath.Dir(p)); err != nil {
			return fmt.Errorf("put file %s: %w", key, err)
		}
		return nil
	}
	if !errors.Is(err, syscall.EXDEV) {
		return fmt.Errorf("put file %s: %w", key, err)
	}
	// Another filesystem: copy, then remove the source.
	f, err := os.Open(srcPath)
	if err != nil {
		return fmt.Errorf("put file %s: %w", key, err)
	}
	err = writeAtomic(ctx, p, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("put file %s: copy %s: %w", key, srcPath, err)
	}
	if err := os.Remove(srcPath); err != nil {
		return fmt.Errorf("put file %s: stored, but removing the source: %w", key, err)
	}
	return nil
}

// Open returns the object's content, or an error wrapping ErrNotFound.
func (l *Local) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, notFound(err))
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("open %s: %w", key, ErrNotFound)
	}
	return f, nil
}

// Stat describes the object, or returns an error wrapping ErrNotFound.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	p, err := l.path(key)
	if err != nil {
		return Info{}, fmt.Errorf("stat: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Info{}, fmt.Errorf("stat %s: %w", key, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return Info{}, fmt.Errorf("stat %s: %w", key, notFound(err))
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("stat %s: %w", key, ErrNotFound)
	}
	return Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete removes the object; a missing key is not an error. Directories
// the removal leaves empty are removed too, up to the store's root.
func (l *Local) Delete(ctx context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(notFound(err), ErrNotFound) {
			return nil
		}
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if fi.IsDir() {
		return nil // a key prefix, not an object
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	l.pruneDirs(filepath.Dir(p))
	return nil
}

// pruneDirs removes dir and its parents below the root while they are
// empty. A writer racing it recreates what it needs (see mkdirRetry).
func (l *Local) pruneDirs(dir string) {
	for dir != l.dir && strings.HasPrefix(dir, l.dir+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return // not empty, or already gone
		}
		dir = filepath.Dir(dir)
	}
}

// List describes the objects whose keys start with prefix, sorted by key.
// Temporary files of writes in progress are not objects.
func (l *Local) List(ctx context.Context, prefix string) ([]Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	// Walk the deepest directory the prefix names whole.
	dirKey := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dirKey = prefix[:i]
	}
	root := l.dir
	if dirKey != "" {
		p, err := l.path(dirKey)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		root = p
	}
	out := []Info{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return nil // the prefix names nothing (yet), or a racing delete
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != root {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(l.dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) || ValidKey(key) != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		out = append(out, Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// mkdirRetry creates dir and then runs fn in it, once more if fn finds
// the directory gone (a Delete pruned it in between).
func mkdirRetry(dir string, fn func() error) error {
	for attempt := 0; ; attempt++ {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		err := fn()
		if err == nil || attempt > 0 || !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
}

// notFound turns "no such file" errors (including a file where a directory
// was expected) into ErrNotFound and returns others unchanged.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return ErrNotFound
	}
	return err
}

// writeAtomic writes r to path through a synced temporary file in the same
// directory, renamed into place.
func writeAtomic(ctx context.Context, path string, r io.Reader) (err error) {
	dir := filepath.Dir(path)
	var f *os.File
	if err := mkdirRetry(dir, func() (err error) {
		f, err = os.CreateTemp(dir, ".tmp-*")
		return err
	}); err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err := io.Copy(f, ctxReader{ctx: ctx, r: r}); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// The temporary file keeps dir from being pruned until the rename.
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

// Read reads from the underlying reader unless the context is done.
func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// syncFile flushes a file's content to stable storage.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir flushes a directory's entries (a rename into it) to stable
// storage.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
