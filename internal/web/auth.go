package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/password"
)

// maxFormBytes bounds a POSTed form.
const maxFormBytes = 64 << 10

// sessionKey is the context key of the request's *session.
type sessionKey struct{}

// sessionOf returns the session that page or action put in r's context.
func sessionOf(r *http.Request) *session {
	sess, _ := r.Context().Value(sessionKey{}).(*session)
	return sess
}

// currentSession returns the live session of r's cookie, or nil.
func (s *Server) currentSession(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	return s.sessions.get(c.Value, s.now())
}

// uiHeaders sets the headers of every HTML page.
func uiHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "+
		"media-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
}

// page wraps a UI page handler: without a session the browser is sent to
// the log-in page (and back afterwards).
func (s *Server) page(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uiHeaders(w)
		sess := s.currentSession(r)
		if sess == nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	}
}

// action wraps a UI form handler: the POST must come from this site, from
// a logged-in session, and carry that session's CSRF token; otherwise 403.
func (s *Server) action(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uiHeaders(w)
		if !s.sameOrigin(r) {
			s.forbidden(w, r, "This form was sent from another site.")
			return
		}
		sess := s.currentSession(r)
		if sess == nil {
			s.forbidden(w, r, "You are not logged in (or your session has expired). Log in and try again.")
			return
		}
		if !s.readForm(w, r) {
			return
		}
		if !sess.validCSRF(r.PostForm.Get("csrf")) {
			s.forbidden(w, r, "This form has expired or did not come from this site. Reload the page and try again.")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	}
}

// readForm reads a POSTed form of at most maxFormBytes; when it cannot, it
// answers 400 and returns false.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return false
	}
	return true
}

// forbidden answers 403 with a page saying why.
func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, msg string) {
	s.log.Warn("request refused", "method", r.Method, "path", r.URL.Path, "ip", clientIP(r), "why", msg)
	s.errorPage(w, r, http.StatusForbidden, "Forbidden", msg)
}

// sameOrigin reports whether a POST may have come from this site's own
// pages: Sec-Fetch-Site, when sent, must be same-origin (or none, a
// request the user made directly), and Origin, or failing that Referer,
// when sent, must name this host (the request's Host or PublicURL's).
// Clients that send none of these (not browsers) pass; the CSRF token
// still guards the forms.
func (s *Server) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		return s.ownURL(r, o)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		return s.ownURL(r, ref)
	}
	return true
}

// ownURL reports whether raw is an http(s) URL of this site: its host is
// the one r was sent to, or PublicURL's.
func (s *Server) ownURL(r *http.Request, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false // includes "Origin: null"
	}
	return strings.EqualFold(u.Host, r.Host) || (s.publicHost != "" && strings.EqualFold(u.Host, s.publicHost))
}

// handleLoginForm shows the log-in form.
func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	next := safeNext(r.URL.Query().Get("next"))
	if s.currentSession(r) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	hash, err := s.passwordHash(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data := &loginPage{layout: layout{Title: "Log in"}, Next: next, Disabled: hash == ""}
	if data.Disabled {
		data.Error = msgLoginDisabled
	}
	s.render(w, r, http.StatusOK, "login", data)
}

// msgLoginDisabled explains a log-in form without a password.
const msgLoginDisabled = "Log-in is disabled: no password is set yet. Open the set-up link callrec printed when it started " +
	"(restart callrec for a new one), or set web.password_hash (make one with `callrec passwd`)."

// loginPage is the log-in form's data.
type loginPage struct {
	layout
	Next     string
	Error    string
	Disabled bool
}

// handleLogin checks the password: a new session on success; 401 on a wrong
// password; 429 with Retry-After once a client address has failed too
// often.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	if !s.sameOrigin(r) {
		s.forbidden(w, r, "This form was sent from another site.")
		return
	}
	if !s.readForm(w, r) {
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	hash, err := s.passwordHash(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data := &loginPage{layout: layout{Title: "Log in"}, Next: next, Disabled: hash == ""}
	if hash == "" {
		data.Error = msgLoginDisabled
		s.render(w, r, http.StatusServiceUnavailable, "login", data)
		return
	}
	ip := clientIP(r)
	if blocked, wait := s.limiter.blocked(ip, s.now()); blocked {
		s.metrics.LoginFailed()
		secs := int(math.Ceil(wait.Seconds()))
		secs = max(secs, 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		data.Error = "Too many wrong passwords. Wait " + strconv.Itoa(secs) + " seconds and try again."
		s.log.Warn("log-in refused: too many failures", "ip", ip)
		s.render(w, r, http.StatusTooManyRequests, "login", data)
		return
	}
	if !s.checkPassword(r.Context(), hash, r.PostForm.Get("password")) {
		s.limiter.fail(ip, s.now())
		s.metrics.LoginFailed()
		s.log.Warn("log-in failed: wrong password", "ip", ip)
		data.Error = "Wrong password."
		s.render(w, r, http.StatusUnauthorized, "login", data)
		return
	}
	s.limiter.reset(ip)
	if err := s.startSession(w); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.log.Info("logged in", "ip", ip)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// startSession makes a new session and sets its cookie.
func (s *Server) startSession(w http.ResponseWriter) error {
	id, _, err := s.sessions.create(s.now())
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// checkPassword checks pw against hash, at most two at a time (each
// argon2id check takes 64 MiB).
func (s *Server) checkPassword(ctx context.Context, hash, pw string) bool {
	select {
	case s.checking <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-s.checking }()
	return password.Check(hash, pw)
}

// handleLogout ends the session.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.remove(c.Value)
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext returns next if it is a path on this site, else "/".
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(u.Path, "/l/") {
		return "/"
	}
	return next
}

// api wraps an API handler: the request must carry one of the configured
// bearer tokens, else 401 with a JSON error.
func (s *Server) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !s.validToken(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="callrec"`)
			msg := "missing or wrong API token: send Authorization: Bearer <token> with a token from web.api_tokens"
			if len(s.tokens) == 0 {
				msg = "the API is disabled: no web.api_tokens are configured"
			}
			writeJSONError(w, http.StatusUnauthorized, msg)
			return
		}
		h(w, r)
	}
}

// validToken reports whether an Authorization header carries one of the
// API tokens. Every token is compared, in constant time, whatever matches.
func (s *Server) validToken(header string) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	match := 0
	for _, t := range s.tokens {
		match |= subtle.ConstantTimeCompare(sum[:], t[:])
	}
	return match == 1
}
