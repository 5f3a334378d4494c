package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/signed"
)

// maxBuffered is the largest object served with Range support from a blob
// store that is not local (it is read into memory first); larger ones are
// streamed whole.
const maxBuffered = 64 << 20

// linkPath returns the site-relative signed link ("/l/<token>") to key,
// valid for the configured lifetime.
func (s *Server) linkPath(key string) string {
	return "/l/" + s.signer.Token(key, s.now().Add(s.linkTTL))
}

// linkURL returns the signed link to key: absolute under PublicURL when
// one is configured, else site-relative.
func (s *Server) linkURL(key string) string {
	if s.publicURL == "" {
		return s.linkPath(key)
	}
	return signed.URL(s.publicURL, s.signer.Token(key, s.now().Add(s.linkTTL)))
}

// linkExpiry is when links made now expire (tokens count whole seconds).
func (s *Server) linkExpiry() time.Time {
	return s.now().Add(s.linkTTL).UTC().Truncate(time.Second)
}

// linkText answers a link request with a short plain-text message.
func linkText(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

// serveLink serves GET and HEAD /l/<token>: the object the token names,
// with its content type, a Content-Disposition and Range support; 404 for
// a token that is malformed, altered or unknown (or whose object is gone),
// 410 for an expired one.
func (s *Server) serveLink(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		linkText(w, http.StatusMethodNotAllowed, "Method not allowed.")
		return
	}
	token, ok := strings.CutPrefix(r.URL.EscapedPath(), "/l/")
	if !ok || !validTokenSyntax(token) {
		linkText(w, http.StatusNotFound, "This link is not valid. Check that it was copied whole.")
		return
	}
	key, expires, err := s.signer.Check(token, s.now())
	switch {
	case errors.Is(err, signed.ErrExpired):
		linkText(w, http.StatusGone, "This link has expired. Open the call in callrec, or ask for a new link.")
		return
	case err != nil:
		linkText(w, http.StatusNotFound, "This link is not valid. Check that it was copied whole.")
		return
	}
	ctype, inline := contentType(key)
	disposition := "attachment"
	if inline {
		disposition = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", fmt.Sprintf(`%s; filename="%s"`, disposition, downloadName(key)))
	// The object is the link's only content: no scripts (a report is
	// static), framed only by this site's own call page.
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; media-src 'self'; frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	maxAge := min(time.Until(expires), time.Hour) // not s.now: caches use the real clock
	maxAge = max(maxAge, 0)
	h.Set("Cache-Control", "private, max-age="+strconv.Itoa(int(maxAge/time.Second)))

	if l, ok := s.blob.(blob.Localer); ok {
		s.serveLocal(w, r, l, key)
		return
	}
	s.serveRemote(w, r, key)
}

// serveLocal serves key from its file, with Range support.
func (s *Server) serveLocal(w http.ResponseWriter, r *http.Request, l blob.Localer, key string) {
	p, ok := l.LocalPath(key)
	if !ok {
		s.linkGone(w)
		return
	}
	f, err := os.Open(p)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.log.Error("open linked object", "key", key, "err", err)
		}
		s.linkGone(w)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		s.linkGone(w)
		return
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// serveRemote serves key through the blob store: buffered (with Range
// support) up to maxBuffered bytes, streamed whole beyond.
func (s *Server) serveRemote(w http.ResponseWriter, r *http.Request, key string) {
	ctx := r.Context()
	info, err := s.blob.Stat(ctx, key)
	if err != nil {
		if !errors.Is(err, blob.ErrNotFound) {
			s.log.Error("stat linked object", "key", key, "err", err)
		}
		s.linkGone(w)
		return
	}
	rc, err := s.blob.Open(ctx, key)
	if err != nil {
		if !errors.Is(err, blob.ErrNotFound) {
			s.log.Error("open linked object", "key", key, "err", err)
		}
		s.linkGone(w)
		return
	}
	defer rc.Close()
	if info.Size <= maxBuffered {
		data, err := io.ReadAll(io.LimitReader(rc, maxBuffered+1))
		if err != nil {
			s.log.Error("read linked object", "key", key, "err", err)
			linkText(w, http.StatusInternalServerError, "The file could not be read. Try again later.")
			return
		}
		http.ServeContent(w, r, "", info.ModTime, bytes.NewReader(data))
		return
	}
	w.Header().Set("Accept-Ranges", "none")
	w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
	if !info.ModTime.IsZero() {
		w.Header().Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	}
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, rc); err != nil {
		s.log.Warn("send linked object", "key", key, "err", err)
	}
}

// linkGone answers a valid link whose object no longer exists.
func (s *Server) linkGone(w http.ResponseWriter) {
	h := w.Header()
	h.Del("Content-Disposition")
	h.Del("Content-Security-Policy")
	linkText(w, http.StatusNotFound, "The file this link points to no longer exists (the call may have been deleted).")
}

// validTokenSyntax reports whether t can be a token at all: base64url
// characters only, so "..", "%2e", "%2f" and "/" never get further.
func validTokenSyntax(t string) bool {
	if t == "" || len(t) > 2048 {
		return false
	}
	for i := range len(t) {
		c := t[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// contentType returns the media type of an object by its key's extension
// and whether browsers should show it inline (web pages and audio) rather
// than download it.
func contentType(key string) (ctype string, inline bool) {
	switch strings.ToLower(path.Ext(key)) {
	case ".wav":
		return "audio/wav", true
	case ".html", ".htm":
		return "text/html; charset=utf-8", true
	case ".docx":
		return "application/vnd.openxmlformats-officedocument.wordprocessingml.document", false
	case ".pdf":
		return "application/pdf", false
	case ".json":
		return "application/json", false
	case ".png":
		return "image/png", false
	case ".txt":
		return "text/plain; charset=utf-8", false
	}
	return "application/octet-stream", false
}

// downloadName is the file name offered for key: "call-<id>-<name>" for a
// call's output calls/<id>/<name>, "call-<id>-recording.wav" for a
// recording, else the key's last segment; only [A-Za-z0-9._-] are kept.
func downloadName(key string) string {
	var name string
	switch parts := strings.Split(key, "/"); {
	case len(parts) == 3 && parts[0] == "calls":
		name = "call-" + parts[1] + "-" + parts[2]
	case parts[0] == "recordings" && strings.HasSuffix(key, ".wav"):
		name = "call-" + strings.TrimSuffix(path.Base(key), ".wav") + "-recording.wav"
	default:
		name = path.Base(key)
	}
	b := []byte(name)
	for i, c := range b {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
