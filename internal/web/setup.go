package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/password"
)

// First start: with no password configured (web.password_hash) or chosen
// yet, SetupLink makes a one-time link, valid for SetupTTL, where the owner
// chooses the password in the browser. The password's hash is kept in the
// store; the configured one, when set, wins.

// Keys of the settings the web side keeps in the store.
const (
	// settingPasswordHash is the hash of the password chosen in the
	// browser.
	settingPasswordHash = "web.password_hash"
	// settingSetupToken is the pending set-up link's token: the SHA-256 of
	// the token, in hex, a space, and when it expires (unix seconds).
	settingSetupToken = "web.setup_token"
)

// SetupTTL is how long a set-up link works.
const SetupTTL = time.Hour

// MinPasswordLength is the shortest owner password accepted.
const MinPasswordLength = 8

// passwordHash is the owner's password hash: the configured one, else the
// one chosen in the browser, else "" (no password yet).
func (s *Server) passwordHash(ctx context.Context) (string, error) {
	if s.hash != "" {
		return s.hash, nil
	}
	h, _, err := s.store.Setting(ctx, settingPasswordHash)
	return h, err
}

// SetupLink returns a new one-time link where the owner chooses the
// password, valid for SetupTTL (it replaces any earlier link), or "" when a
// password is already set. The link is absolute under PublicURL when one is
// configured.
func (s *Server) SetupLink(ctx context.Context) (string, error) {
	h, err := s.passwordHash(ctx)
	if err != nil {
		return "", fmt.Errorf("set-up link: %w", err)
	}
	if h != "" {
		return "", nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("set-up link: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(token))
	value := hex.EncodeToString(sum[:]) + " " + strconv.FormatInt(s.now().Add(SetupTTL).Unix(), 10)
	if err := s.store.SetSetting(ctx, settingSetupToken, value); err != nil {
		return "", fmt.Errorf("set-up link: %w", err)
	}
	return s.publicURL + "/setup?token=" + token, nil
}

// checkSetupToken reports whether token is the pending set-up link's and
// has not expired; stored is the setting to take when it is used.
func (s *Server) checkSetupToken(ctx context.Context, token string) (stored string, valid bool, err error) {
	stored, ok, err := s.store.Setting(ctx, settingSetupToken)
	if err != nil || !ok || token == "" {
		return "", false, err
	}
	want, exp, found := strings.Cut(stored, " ")
	expires, perr := strconv.ParseInt(exp, 10, 64)
	if !found || perr != nil || s.now().Unix() >= expires {
		return "", false, nil
	}
	sum := sha256.Sum256([]byte(token))
	got := hex.EncodeToString(sum[:])
	return stored, subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1, nil
}

// setupPage is the set-up form's data.
type setupPage struct {
	layout
	Token string
	Error string
	Min   int
}

// msgSetupInvalid explains a set-up link that cannot be used.
const msgSetupInvalid = "This set-up link is not valid: it was already used, it has expired (links work for an hour), or it was not copied whole. " +
	"Restart callrec for a new link, or set web.password_hash (make one with `callrec passwd`)."

// handleSetupForm shows the form that chooses the owner's password.
func (s *Server) handleSetupForm(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in the URL
	if !s.setupOpen(w, r) {
		return
	}
	token := r.URL.Query().Get("token")
	if _, ok, err := s.checkSetupToken(r.Context(), token); err != nil {
		s.serverError(w, r, err)
		return
	} else if !ok {
		s.errorPage(w, r, http.StatusNotFound, "Set-up link not valid", msgSetupInvalid)
		return
	}
	s.render(w, r, http.StatusOK, "setup", &setupPage{layout: layout{Title: "Choose the owner password"}, Token: token, Min: MinPasswordLength})
}

// handleSetup sets the owner's password from the set-up form, once per
// link, and logs the owner in.
func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	if !s.sameOrigin(r) {
		s.forbidden(w, r, "This form was sent from another site.")
		return
	}
	if !s.readForm(w, r) || !s.setupOpen(w, r) {
		return
	}
	ctx := r.Context()
	token := r.PostForm.Get("token")
	stored, ok, err := s.checkSetupToken(ctx, token)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "Set-up link not valid", msgSetupInvalid)
		return
	}
	pw := r.PostForm.Get("password")
	page := &setupPage{layout: layout{Title: "Choose the owner password"}, Token: token, Min: MinPasswordLength}
	switch {
	case len(pw) < MinPasswordLength:
		page.Error = fmt.Sprintf("The password must have at least %d characters.", MinPasswordLength)
	case pw != r.PostForm.Get("confirm"):
		page.Error = "The two passwords differ. Type the same password twice."
	}
	if page.Error != "" {
		s.render(w, r, http.StatusBadRequest, "setup", page)
		return
	}
	hash, err := s.hashPassword(ctx, pw)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	// Take the link: of two forms sent with it, one wins.
	if won, err := s.store.DeleteSettingIf(ctx, settingSetupToken, stored); err != nil {
		s.serverError(w, r, err)
		return
	} else if !won {
		s.errorPage(w, r, http.StatusNotFound, "Set-up link not valid", msgSetupInvalid)
		return
	}
	if err := s.store.SetSetting(ctx, settingPasswordHash, hash); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.log.Info("owner password set from the set-up link", "ip", clientIP(r))
	if err := s.startSession(w); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// setupOpen reports whether set-up is still possible; when a password is
// set it answers 410 with a page that says so.
func (s *Server) setupOpen(w http.ResponseWriter, r *http.Request) bool {
	h, err := s.passwordHash(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return false
	}
	if h != "" {
		s.errorPage(w, r, http.StatusGone, "Password already set",
			"The owner's password is already set: log in with it. To change it, set web.password_hash (make one with `callrec passwd`).")
		return false
	}
	return true
}

// hashPassword hashes pw, at most two at a time (argon2id takes 64 MiB).
func (s *Server) hashPassword(ctx context.Context, pw string) (string, error) {
	select {
	case s.checking <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.checking }()
	return password.Hash(pw)
}
