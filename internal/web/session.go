package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Session and log-in limits.
const (
	// sessionCookie is the session cookie's name.
	sessionCookie = "callrec_session"
	// sessionTTL is how long a session lasts after log-in.
	sessionTTL = 12 * time.Hour
	// maxSessions bounds the session map; the oldest session goes first.
	maxSessions = 1000
	// loginWindow and loginMaxFailures: this many wrong passwords from one
	// client address within the window block further attempts until the
	// oldest failure leaves the window.
	loginWindow      = time.Minute
	loginMaxFailures = 5
	// maxLimiterClients bounds the rate limiter's map.
	maxLimiterClients = 10000
)

// session is one logged-in browser.
type session struct {
	csrf    string // the token every form of this session carries
	created time.Time
	expires time.Time
}

// sessions is the server-side session table, keyed by the SHA-256 of the
// cookie value (so the table never holds the cookie itself).
type sessions struct {
	mu sync.Mutex
	m  map[[32]byte]*session
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// create starts a session and returns its cookie value.
func (s *sessions) create(now time.Time) (string, *session, error) {
	id, err := randomToken(32)
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken(32)
	if err != nil {
		return "", nil, err
	}
	sess := &session{csrf: csrf, created: now, expires: now.Add(sessionTTL)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[[32]byte]*session)
	}
	s.sweepLocked(now)
	if len(s.m) >= maxSessions {
		var oldestKey [32]byte
		var oldest *session
		for k, v := range s.m {
			if oldest == nil || v.created.Before(oldest.created) {
				oldestKey, oldest = k, v
			}
		}
		delete(s.m, oldestKey)
	}
	s.m[sha256.Sum256([]byte(id))] = sess
	return id, sess, nil
}

// get returns the live session of a cookie value, or nil.
func (s *sessions) get(id string, now time.Time) *session {
	if id == "" {
		return nil
	}
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.m[k]
	if sess == nil {
		return nil
	}
	if !now.Before(sess.expires) {
		delete(s.m, k)
		return nil
	}
	return sess
}

// remove ends the session of a cookie value.
func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(id)))
}

// sweepLocked drops expired sessions; s.mu is held.
func (s *sessions) sweepLocked(now time.Time) {
	for k, v := range s.m {
		if !now.Before(v.expires) {
			delete(s.m, k)
		}
	}
}

// validCSRF reports, in constant time, whether token is the session's.
func (sess *session) validCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.csrf)) == 1
}

// loginLimiter counts failed log-ins per client address.
type loginLimiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time // recent failures, oldest first
}

// blocked reports whether ip may not try now, and if so for how long.
func (l *loginLimiter) blocked(ip string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.recentLocked(ip, now)
	if len(f) < loginMaxFailures {
		return false, 0
	}
	return true, f[len(f)-loginMaxFailures].Add(loginWindow).Sub(now)
}

// fail records a failed log-in from ip.
func (l *loginLimiter) fail(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures == nil {
		l.failures = make(map[string][]time.Time)
	}
	if _, ok := l.failures[ip]; !ok && len(l.failures) >= maxLimiterClients {
		for k := range l.failures {
			if len(l.recentLocked(k, now)) == 0 {
				delete(l.failures, k)
			}
		}
		if len(l.failures) >= maxLimiterClients {
			// Under a flood from many addresses, forget one at random
			// rather than grow without bound.
			for k := range l.failures {
				delete(l.failures, k)
				break
			}
		}
	}
	f := append(l.recentLocked(ip, now), now)
	if len(f) > loginMaxFailures {
		f = f[len(f)-loginMaxFailures:]
	}
	l.failures[ip] = f
}

// reset forgets ip's failures (after a successful log-in).
func (l *loginLimiter) reset(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, ip)
}

// recentLocked returns ip's failures within the window, dropping older
// ones; l.mu is held.
func (l *loginLimiter) recentLocked(ip string, now time.Time) []time.Time {
	f := l.failures[ip]
	i := 0
	for i < len(f) && !f[i].Add(loginWindow).After(now) {
		i++
	}
	if i == len(f) {
		delete(l.failures, ip)
		return nil
	}
	f = f[i:]
	l.failures[ip] = f
	return f
}

// clientIP is the address the request came from: the peer's IP. Headers
// such as X-Forwarded-For are not trusted (anyone can send them); behind a
// reverse proxy every client shares the proxy's address and so its limit.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
