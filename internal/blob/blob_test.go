package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func newTestLocal(t *testing.T) *Local {
	t.Helper()
	l, err := NewLocal(filepath.Join(t.TempDir(), "objects"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// badKeys holds keys that try to leave the store's root or are otherwise
// malformed.
var badKeys = []string{
	"",
	"/",
	"/etc/passwd",
	"..",
	"../x",
	"a/../../x",
	"a/..",
	"./a",
	"a/./b",
	".",
	"a//b",
	"a/",
	"a\\..\\..\\x",
	"..\\x",
	"C:\\Windows",
	"a\x00b",
	"a\nb",
	"a\x7fb",
	"\xff\xfe",
	".hidden",
	"a/.tmp-123",
	strings.Repeat("a", MaxSegmentLen+1),
	strings.Repeat("a/", MaxKeyLen/2) + "a",
}

func TestValidKey(t *testing.T) {
	for _, k := range badKeys {
		if err := ValidKey(k); err == nil {
			t.Errorf("ValidKey(%q) = nil, want an error", k)
		}
	}
	good := []string{
		"a",
		"recordings/2025/03/14/3f2a-call.wav",
		"reports/x y/report (1).docx",
		"a..b/c...",
		"ünïcode/名前.wav",
		"call@host:5060;tag=1",
		strings.Repeat("a", MaxSegmentLen),
	}
	for _, k := range good {
		if err := ValidKey(k); err != nil {
			t.Errorf("ValidKey(%q) = %v, want nil", k, err)
		}
	}
}

func TestTraversalRejected(t *testing.T) {
	ctx := context.Background()
	l := newTestLocal(t)
	// A file just outside the root that traversal would reach.
	outside := filepath.Join(filepath.Dir(l.Dir()), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "src")
	for _, k := range append(badKeys, "../secret", "objects/../secret") {
		if err := l.Put(ctx, k, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded", k)
		}
		if err := os.WriteFile(src, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := l.PutFile(ctx, k, src); err == nil {
			t.Errorf("PutFile(%q) succeeded", k)
		}
		if rc, err := l.Open(ctx, k); err == nil {
			rc.Close()
			t.Errorf("Open(%q) succeeded", k)
		}
		if _, err := l.Stat(ctx, k); err == nil {
			t.Errorf("Stat(%q) succeeded", k)
		}
		if err := l.Delete(ctx, k); err == nil {
			t.Errorf("Delete(%q) succeeded", k)
		}
		if p, ok := l.LocalPath(k); ok {
			t.Errorf("LocalPath(%q) = %q, true", k, p)
		}
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "secret" {
		t.Errorf("file outside the root changed: %q, %v", b, err)
	}
}

func TestPutOpenStatDelete(t *testing.T) {
	ctx := context.Background()
	l := newTestLocal(t)
	key := "recordings/2025/03/14/call-1.wav"
	data := bytes.Repeat([]byte("RIFF"), 10000)

	if _, err := l.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat(missing) = %v, want ErrNotFound", err)
	}
	if _, err := l.Open(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(missing) = %v, want ErrNotFound", err)
	}
	before := time.Now().Add(-time.Second)
	if err := l.Put(ctx, key, bytes.NewReader(data)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	info, err := l.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Key != key || info.Size != int64(len(data)) || info.ModTime.Before(before) {
		t.Errorf("Stat = %+v", info)
	}
	if got := readAll(t, l, key); !bytes.Equal(got, data) {
		t.Errorf("Open read %d bytes, want %d", len(got), len(data))
	}
	p, ok := l.LocalPath(key)
	if !ok || p != filepath.Join(l.Dir(), "recordings", "2025", "03", "14", "call-1.wav") {
		t.Errorf("LocalPath = %q, %v", p, ok)
	}

	// Replacing.
	if err := l.Put(ctx, key, strings.NewReader("new")); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, l, key); string(got) != "new" {
		t.Errorf("after replace read %q", got)
	}

	// A directory is not an object.
	for _, k := range []string{"recordings", "recordings/2025"} {
		if _, err := l.Stat(ctx, k); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want ErrNotFound", k, err)
		}
		if _, err := l.Open(ctx, k); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", k, err)
		}
		if err := l.Delete(ctx, k); err != nil {
			t.Errorf("Delete(%q) = %v", k, err)
		}
	}
	// A path below a file is not an object either.
	if _, err := l.Stat(ctx, key+"/x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat(below a file) = %v, want ErrNotFound", err)
	}

	if err := l.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := l.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat after Delete = %v", err)
	}
	if err := l.Delete(ctx, key); err != nil {
		t.Errorf("Delete(missing) = %v, want nil", err)
	}
	assertNoTemp(t, l.Dir())
}

func readAll(t *testing.T, l *Local, key string) []byte {
	t.Helper()
	rc, err := l.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertNoTemp fails if a temporary file is left anywhere under dir.
func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// failingReader returns some data, then an error.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	n := min(len(p), f.n)
	f.n -= n
	return n, nil
}

func TestPutFailureLeavesNothing(t *testing.T) {
	ctx := context.Background()
	l := newTestLocal(t)
	key := "a/b.wav"
	if err := l.Put(ctx, key, strings.NewReader("old")); err != nil {
		t.Fatal(err)
	}
	err := l.Put(ctx, key, &failingReader{n: 100000})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), key) {
		t.Errorf("Put(failing reader) = %v", err)
	}
	if got := readAll(t, l, key); string(got) != "old" {
		t.Errorf("a failed Put changed the object to %q", got)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Put(cctx, "c.wav", strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put(cancelled) = %v", err)
	}
	if _, err := l.Stat(ctx, "c.wav"); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancelled Put stored an object: %v", err)
	}
	assertNoTemp(t, l.Dir())
}

func TestPutFile(t *testing.T) {
	tests := []struct {
		name       string
		crossFS    bool
		renameFail error
		wantErr    bool
	}{
		{name: "same filesystem"},
		{name: "other filesystem", crossFS: true},
		{name: "rename fails", renameFail: syscall.EACCES, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l := newTestLocal(t)
			renamed := false
			if tc.crossFS || tc.renameFail != nil {
				l.rename = func(o, n string) error {
					err := tc.renameFail
					if err == nil {
						err = syscall.EXDEV
					}
					return &os.LinkError{Op: "rename", Old: o, New: n, Err: err}
				}
			} else {
				l.rename = func(o, n string) error { renamed = true; return os.Rename(o, n) }
			}
			src := filepath.Join(t.TempDir(), "rec.wav")
			data := bytes.Repeat([]byte{1, 2, 3}, 5000)
			if err := os.WriteFile(src, data, 0o600); err != nil {
				t.Fatal(err)
			}
			key := "recordings/2025/03/14/call-1.wav"
			err := l.PutFile(ctx, key, src)
			if tc.wantErr {
				if err == nil {
					t.Fatal("PutFile succeeded")
				}
				if _, serr := os.Stat(src); serr != nil {
					t.Errorf("failed PutFile lost the source: %v", serr)
				}
				return
			}
			if err != nil {
				t.Fatalf("PutFile: %v", err)
			}
			if !tc.crossFS && !renamed {
				t.Error("same filesystem: file was not renamed")
			}
			if _, err := os.Stat(src); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("source still exists after PutFile: %v", err)
			}
			if got := readAll(t, l, key); !bytes.Equal(got, data) {
				t.Errorf("stored %d bytes, want %d", len(got), len(data))
			}
			assertNoTemp(t, l.Dir())
		})
	}

	l := newTestLocal(t)
	ctx := context.Background()
	if err := l.PutFile(ctx, "x", filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("PutFile(missing source) succeeded")
	}
	if err := l.PutFile(ctx, "x", t.TempDir()); err == nil {
		t.Error("PutFile(directory) succeeded")
	}
}

func TestConcurrentPuts(t *testing.T) {
	ctx := context.Background()
	l := newTestLocal(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			body := bytes.Repeat([]byte{byte(i)}, 64*1024)
			if err := l.Put(ctx, "same/key", bytes.NewReader(body)); err != nil {
				t.Error(err)
			}
			if err := l.Put(ctx, fmt.Sprintf("k/%d", i), bytes.NewReader(body)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := readAll(t, l, "same/key")
	if len(got) != 64*1024 || !bytes.Equal(got, bytes.Repeat(got[:1], len(got))) {
		t.Error("concurrent Puts interleaved their content")
	}
	assertNoTemp(t, l.Dir())
}

func TestList(t *testing.T) {
	ctx := context.Background()
	l := newTestLocal(t)
	for _, k := range []string{"calls/abc/transcript.json", "calls/abc/report.html", "calls/abd/x", "calls/ab", "recordings/2025/01/01/abc.wav"} {
		if err := l.Put(ctx, k, strings.NewReader(k)); err != nil {
			t.Fatal(err)
		}
	}
	// A write in progress leaves a temporary file: not an object.
	if err := os.WriteFile(filepath.Join(l.Dir(), "calls", "abc", ".tmp-123"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := func(infos []Info) []string {
		out := []string{}
		for _, i := range infos {
			out = append(out, i.Key)
		}
		return out
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"calls/abc/", []string{"calls/abc/report.html", "calls/abc/transcript.json"}},
		{"calls/ab", []string{"calls/ab", "calls/abc/report.html", "calls/abc/transcript.json", "calls/abd/x"}},
		{"calls/zzz/", []string{}},
		{"nothing/here/", []string{}},
		{"", []string{"calls/ab", "calls/abc/report.html", "calls/abc/transcript.json", "calls/abd/x", "recordings/2025/01/01/abc.wav"}},
	}
	for _, tt := range tests {
		got, err := l.List(ctx, tt.prefix)
		if err != nil {
			t.Errorf("List(%q) = %v", tt.prefix, err)
			continue
		}
		if !slices.Equal(keys(got), tt.want) {
			t.Errorf("List(%q) = %v, want %v", tt.prefix, keys(got), tt.want)
		}
		for _, i := range got {
			if i.Size != int64(len(i.Key)) || i.ModTime.IsZero() {
				t.Errorf("List(%q): %+v has the wrong size or no time", tt.prefix, i)
			}
		}
	}
	if _, err := l.List(ctx, "../etc/"); err == nil {
		t.Error("List of a prefix outside the store succeeded")
	}
}

func TestDeletePrunesEmptyDirectories(t *testing.T) {
	ctx := context.Background()
	l := newTestLocal(t)
	for _, k := range []string{"calls/abc/a.json", "calls/abc/b.json", "calls/keep/c.json"} {
		if err := l.Put(ctx, k, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Delete(ctx, "calls/abc/a.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(l.Dir(), "calls", "abc")); err != nil {
		t.Errorf("directory with an object left was removed: %v", err)
	}
	if err := l.Delete(ctx, "calls/abc/b.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(l.Dir(), "calls", "abc")); !os.IsNotExist(err) {
		t.Errorf("emptied directory still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(l.Dir(), "calls", "keep", "c.json")); err != nil {
		t.Errorf("other object gone: %v", err)
	}
	if _, err := os.Stat(l.Dir()); err != nil {
		t.Errorf("root removed: %v", err)
	}
	// A write into a pruned directory recreates it.
	if err := l.Put(ctx, "calls/abc/again.json", strings.NewReader("y")); err != nil {
		t.Errorf("Put after prune: %v", err)
	}
}

func TestNewLocal(t *testing.T) {
	if _, err := NewLocal(""); err == nil {
		t.Error("NewLocal(\"\") succeeded")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLocal(file); err == nil {
		t.Error("NewLocal(a file) succeeded")
	}
}

func FuzzValidKey(f *testing.F) {
	for _, k := range badKeys {
		f.Add(k)
	}
	for _, k := range []string{"a", "a/b", "recordings/2025/01/01/x.wav", "a..b", "é/ü"} {
		f.Add(k)
	}
	root := filepath.FromSlash("/srv/objects")
	f.Fuzz(func(t *testing.T, key string) {
		if ValidKey(key) != nil {
			return
		}
		if !filepath.IsLocal(filepath.FromSlash(key)) {
			t.Fatalf("ValidKey(%q) = nil for a non-local path", key)
		}
		p := filepath.Join(root, filepath.FromSlash(key))
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			t.Fatalf("ValidKey(%q) = nil but it resolves to %q outside the root", key, p)
		}
		if filepath.ToSlash(rel) != key {
			t.Fatalf("ValidKey(%q) = nil but the key is not canonical (cleans to %q)", key, rel)
		}
		for seg := range strings.SplitSeq(key, "/") {
			if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "\\\x00") {
				t.Fatalf("ValidKey(%q) = nil with bad segment %q", key, seg)
			}
		}
	})
}
