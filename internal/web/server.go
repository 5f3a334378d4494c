// Package web is callrec's HTTP side: signed, expiring download links
// (/l/<token>), the owner's call browser (server-rendered HTML behind a
// password log-in), a JSON API with bearer tokens (/api/v1/…), health
// checks (/healthz, /readyz) and Prometheus metrics (/metrics).
//
// Routes:
//
//	GET  /l/<token>               a signed link: the object it names (Range supported)
//	GET  /login, POST /login      the log-in form (rate-limited per client address)
//	POST /logout                  end the session
//	GET  /setup, POST /setup      first start: choose the owner password with a one-time link
//	GET  /                        calls, newest first (q, direction, from, to, page)
//	GET  /calls/{id}              one call: player, report, downloads, transcript, stages
//	POST /calls/{id}/retry        queue a failed stage again (form field stage)
//	GET  /calls/{id}/delete       confirmation page
//	POST /calls/{id}/delete       delete the call's objects and records (confirm=yes)
//	POST /calls/delete            delete the selected calls (id=…, several; confirm=yes)
//	GET  /api/v1/calls            calls as JSON (q, direction, from, to, limit, offset)
//	GET  /api/v1/calls/{id}       one call as JSON
//	GET  /healthz, /readyz        liveness; readiness (the store answers)
//	GET  /metrics                 Prometheus exposition
//
// Browser sessions live in memory (a restart logs the owner out). Every
// POST must come from the same origin (Origin, Referer and Sec-Fetch-Site
// are checked) and, except the log-in, carry the session's CSRF token.
package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/display"
	"github.com/callrec/callrec/internal/metrics"
	"github.com/callrec/callrec/internal/password"
	"github.com/callrec/callrec/internal/signed"
	"github.com/callrec/callrec/internal/store"
)

//go:embed templates/*.html static/*
var assets embed.FS

// DefaultLinkTTL is how long signed links stay valid when Config.LinkTTL is
// zero.
const DefaultLinkTTL = 7 * 24 * time.Hour

// Retrier queues a failed pipeline stage of a call again;
// *pipeline.Pipeline is one.
type Retrier interface {
	Retry(ctx context.Context, callID, stage string) error
}

// Config wires a Server. Store, Blob and Signer are required.
type Config struct {
	// Store holds the call and stage records.
	Store *store.Store
	// Blob holds recordings and the pipeline's outputs. When it also
	// implements blob.Localer, links are served from the file in place.
	Blob blob.Store
	// Signer makes and checks the /l/<token> links.
	Signer *signed.Signer
	// Retrier queues failed stages again; nil hides the Retry buttons.
	Retrier Retrier
	// PublicURL is the base of absolute links (API responses), such as
	// "https://calls.example.org". Empty gives links relative to the host.
	// Its host is also accepted as the Origin of POSTs.
	PublicURL string
	// PasswordHash is the owner's password as an argon2id PHC string or a
	// bcrypt hash (see password.Hash). Empty: the password chosen in the
	// browser through a set-up link (SetupLink) is used; until then the
	// log-in is disabled.
	PasswordHash string
	// APITokens are the bearer tokens the API accepts; none disables it.
	APITokens []string
	// LinkTTL is how long signed links made by the UI and the API stay
	// valid; 0 means DefaultLinkTTL.
	LinkTTL time.Duration
	// SecureCookies marks the session cookie Secure (HTTPS only). It is
	// implied when PublicURL is https.
	SecureCookies bool
	// Location is the time zone dates are shown and filtered in; nil means
	// time.Local.
	Location *time.Location
	// Logger receives request errors and log-in failures; nil means
	// slog.Default().
	Logger *slog.Logger
	// Metrics is served at /metrics; nil makes a fresh metrics.New().
	Metrics *metrics.Metrics
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RetentionDays, when positive, is how long calls are kept (shown on
	// the pages; the pipeline's retention job deletes them).
	RetentionDays int
	// Storage, when set, says what is wrong with the storage (nil when
	// nothing is): a reason makes /readyz fail and shows a banner.
	Storage func() error
}

// Server serves callrec's web UI, API, links, health and metrics. Make it
// with New; it is safe for concurrent use.
type Server struct {
	store     *store.Store
	blob      blob.Store
	signer    *signed.Signer
	retrier   Retrier
	publicURL string
	// publicHost is PublicURL's host, accepted as a POST's origin.
	publicHost string
	hash       string
	tokens     [][32]byte // SHA-256 of each API token
	linkTTL    time.Duration
	secure     bool
	loc        *time.Location
	log        *slog.Logger
	metrics    *metrics.Metrics
	now        func() time.Time
	retention  int
	storage    func() error

	sessions sessions
	limiter  loginLimiter
	// checking bounds concurrent password checks (argon2id takes 64 MiB
	// each).
	checking chan struct{}

	pages   map[string]*template.Template
	static  fs.FS
	version string // of the static files, for cache busting
	mux     *http.ServeMux
}

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("web: no call store")
	case cfg.Blob == nil:
		return nil, errors.New("web: no blob store")
	case cfg.Signer == nil:
		return nil, errors.New("web: no link signer")
	case cfg.LinkTTL < 0:
		return nil, fmt.Errorf("web: link lifetime %s is negative", cfg.LinkTTL)
	}
	s := &Server{
		store:     cfg.Store,
		blob:      cfg.Blob,
		signer:    cfg.Signer,
		retrier:   cfg.Retrier,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		hash:      cfg.PasswordHash,
		linkTTL:   cfg.LinkTTL,
		secure:    cfg.SecureCookies,
		loc:       cfg.Location,
		log:       cfg.Logger,
		metrics:   cfg.Metrics,
		now:       cfg.Now,
		retention: cfg.RetentionDays,
		storage:   cfg.Storage,
		checking:  make(chan struct{}, 2),
	}
	if s.publicURL != "" {
		u, err := url.Parse(s.publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("web: public_url %q is not an http(s) URL such as https://calls.example.org", cfg.PublicURL)
		}
		s.publicHost = u.Host
		if u.Scheme == "https" {
			s.secure = true
		}
	}
	if s.hash != "" {
		if err := password.CheckHash(s.hash); err != nil {
			return nil, fmt.Errorf("web: web.password_hash: %w", err)
		}
	}
	for i, t := range cfg.APITokens {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("web: web.api_tokens[%d] is empty; use a long random string (for example `openssl rand -hex 32`)", i)
		}
		s.tokens = append(s.tokens, sha256.Sum256([]byte(t)))
	}
	if s.linkTTL == 0 {
		s.linkTTL = DefaultLinkTTL
	}
	if s.loc == nil {
		s.loc = time.Local
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "web")
	if s.metrics == nil {
		s.metrics = metrics.New()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.loadAssets(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// loadAssets parses the page templates and fingerprints the static files.
func (s *Server) loadAssets() error {
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return fmt.Errorf("web: static files: %w", err)
	}
	s.static = static
	h := sha256.New()
	err = fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	if err != nil {
		return fmt.Errorf("web: static files: %w", err)
	}
	s.version = hex.EncodeToString(h.Sum(nil))[:12]

	funcs := template.FuncMap{
		"static":  func(name string) string { return "/static/" + name + "?v=" + s.version },
		"when":    s.formatTime,
		"clock":   display.ClockMillis,
		"dur":     display.Duration,
		"quality": func(q store.LegQuality) string { return calls.QualitySummary(q) },
		"who":     func(q store.LegQuality) string { return calls.QualityWho(q) },
		"size":    display.Size,
		"party":   display.Party,
	}
	s.pages = make(map[string]*template.Template)
	for _, name := range []string{"login", "setup", "calls", "call", "delete", "bulkdelete", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("web: template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return nil
}

// routes builds the request multiplexer.
func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", s.handleHealth)
	m.HandleFunc("GET /readyz", s.handleReady)
	m.Handle("GET /metrics", s.metrics.Handler())
	m.Handle("GET /static/", http.StripPrefix("/static/", s.staticHandler()))

	m.HandleFunc("GET /login", s.handleLoginForm)
	m.HandleFunc("POST /login", s.handleLogin)
	m.HandleFunc("POST /logout", s.action(s.handleLogout))
	m.HandleFunc("GET /setup", s.handleSetupForm)
	m.HandleFunc("POST /setup", s.handleSetup)
	m.HandleFunc("GET /{$}", s.page(s.handleCalls))
	m.HandleFunc("GET /calls/{id}", s.page(s.handleCall))
	m.HandleFunc("POST /calls/{id}/retry", s.action(s.handleRetry))
	m.HandleFunc("GET /calls/{id}/delete", s.page(s.handleDeleteForm))
	m.HandleFunc("POST /calls/{id}/delete", s.action(s.handleDelete))
	m.HandleFunc("POST /calls/delete", s.action(s.handleBulkDelete))

	m.HandleFunc("GET /api/v1/calls", s.api(s.handleAPICalls))
	m.HandleFunc("GET /api/v1/calls/{id}", s.api(s.handleAPICall))
	m.HandleFunc("/api/", s.api(func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "no such API endpoint")
	}))
	s.mux = m
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// serveHTTP sets the headers every response carries and dispatches. Links
// are matched on the raw path, before the multiplexer cleans it, so that
// no form of "..", encoded or not, can reach them.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if strings.HasPrefix(r.URL.EscapedPath(), "/l/") || strings.HasPrefix(r.URL.Path, "/l/") {
		s.serveLink(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// staticHandler serves the embedded CSS and JS; URLs carry the files'
// fingerprint, so they may be cached for long.
func (s *Server) staticHandler() http.Handler {
	files := http.FileServerFS(s.static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}

// handleHealth answers liveness probes.
func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok"))
}

// handleReady answers readiness probes: 200 when the store answers a
// query within two seconds and the storage has room, 503 with the reason
// otherwise.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.store.ListCalls(ctx, store.ListOptions{Limit: 1}); err != nil {
		s.log.Warn("not ready: the call store does not answer", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("call store unavailable"))
		return
	}
	if s.storage != nil {
		if err := s.storage(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("storage: " + err.Error()))
			return
		}
	}
	_, _ = w.Write([]byte("ok"))
}
