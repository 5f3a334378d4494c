package sip

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the TCP limits (Config fields left zero).
const (
	DefaultTCPMaxConnections      = 1024
	DefaultTCPMaxPerSource        = 32
	DefaultTCPFirstMessageTimeout = 10 * time.Second
	DefaultTCPIdleTimeout         = 10 * time.Minute
)

// tcpWriteTimeout bounds one write on an accepted connection, so a peer
// that stops reading cannot hold a request handler forever.
const tcpWriteTimeout = 10 * time.Second

// Accept retries: the first wait after a failure, and the longest.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// tcpLimits bound what the TCP listener holds open.
type tcpLimits struct {
	maxConns, maxPerSource int
	// firstMessage is how long after accept a connection has to deliver a
	// complete SIP message; idle how long a connection that has may then
	// stay silent.
	firstMessage, idle time.Duration
}

// tcpListener is the TCP listener sipgo serves. It caps the connections
// open in total and per source address, refuses (closes) untrusted
// sources when they are dropped, gives each connection a read deadline
// (first message, then idle), and never returns a failing Accept to sipgo
// (which would end Serve and the process): it retries with backoff and
// logs once per interval.
type tcpListener struct {
	net.Listener
	limits  tcpLimits
	trusted func(netip.Addr) bool
	// dropUntrusted closes connections from untrusted sources at once;
	// otherwise they may stay firstMessage long, to be answered 403.
	dropUntrusted bool
	refused       *refusals
	log           *slog.Logger
	logEvery      time.Duration

	closed    chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	total     int
	perSource map[netip.Addr]int
	byRemote  map[string]*tcpConn // by RemoteAddr().String(), sipgo's source of a message

	failMu      sync.Mutex
	failed      int // accept failures not yet logged
	lastFailLog time.Time
}

func newTCPListener(l net.Listener, limits tcpLimits, trusted func(netip.Addr) bool, dropUntrusted bool, refused *refusals, log *slog.Logger, logEvery time.Duration) *tcpListener {
	return &tcpListener{
		Listener: l, limits: limits, trusted: trusted, dropUntrusted: dropUntrusted,
		refused: refused, log: log, logEvery: logEvery,
		closed: make(chan struct{}), perSource: map[netip.Addr]int{}, byRemote: map[string]*tcpConn{},
	}
}

// Accept returns the next connection within the limits. Connections over
// a limit, or from an untrusted source that is dropped, are closed as
// they arrive. It returns an error only once the listener is closed.
func (l *tcpListener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case <-l.closed:
				return nil, net.ErrClosed
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			// EMFILE, ENFILE, ECONNABORTED, ENOBUFS…: whatever it is, the
			// listener stays open and the next accept may succeed.
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			l.acceptFailed(err, backoff)
			t := time.NewTimer(backoff)
			select {
			case <-l.closed:
				t.Stop()
				return nil, net.ErrClosed
			case <-t.C:
			}
			continue
		}
		backoff = 0
		if tc := l.admit(c); tc != nil {
			return tc, nil
		}
	}
}

// acceptFailed counts a failed accept and logs the failures once per
// interval: the first at once, later ones with how many there were since.
func (l *tcpListener) acceptFailed(err error, retry time.Duration) {
	l.refused.add(netip.Addr{}, reasonAcceptFailure)
	l.failMu.Lock()
	defer l.failMu.Unlock()
	l.failed++
	now := time.Now()
	if !l.lastFailLog.IsZero() && now.Sub(l.lastFailLog) < l.logEvery {
		return
	}
	l.log.Warn("SIP TCP accept failing; retrying with backoff (raise the open-file limit or lower sip.tcp_max_connections if it lasts)",
		"err", err, "failures", l.failed, "retry_in", retry, "interval", l.logEvery)
	l.failed = 0
	l.lastFailLog = now
}

// admit wraps c if it is within the limits, else closes it and returns
// nil.
func (l *tcpListener) admit(c net.Conn) *tcpConn {
	addr := netAddrIP(c.RemoteAddr())
	trusted := l.trusted(addr)
	if !trusted && l.dropUntrusted {
		_ = c.Close()
		l.refused.add(addr, reasonUntrusted)
		return nil
	}
	l.mu.Lock()
	reason := ""
	switch {
	case l.total >= l.limits.maxConns:
		reason = reasonTCPLimit
	case l.perSource[addr] >= l.limits.maxPerSource:
		reason = reasonTCPSource
	}
	if reason != "" {
		l.mu.Unlock()
		_ = c.Close()
		l.refused.add(addr, reason)
		return nil
	}
	tc := &tcpConn{Conn: c, l: l, addr: addr, key: c.RemoteAddr().String(), trusted: trusted,
		firstDeadline: time.Now().Add(l.limits.firstMessage)}
	l.total++
	l.perSource[addr]++
	l.byRemote[tc.key] = tc
	l.mu.Unlock()
	return tc
}

// release forgets a closed connection.
func (l *tcpListener) release(tc *tcpConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if n := l.perSource[tc.addr] - 1; n > 0 {
		l.perSource[tc.addr] = n
	} else {
		delete(l.perSource, tc.addr)
	}
	if l.byRemote[tc.key] == tc {
		delete(l.byRemote, tc.key)
	}
}

// delivered records that the connection from src (as sipgo names a
// message's source) delivered a complete SIP message.
func (l *tcpListener) delivered(src string) {
	l.mu.Lock()
	tc := l.byRemote[src]
	l.mu.Unlock()
	if tc != nil {
		tc.delivered.Store(true)
	}
}

// open is how many connections are open.
func (l *tcpListener) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Close closes the listener (connections already accepted stay open:
// sipgo closes them when its transport layer closes).
func (l *tcpListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// tcpConn is an accepted connection under the listener's limits. sipgo
// reads it in one goroutine; a read deadline that passes closes it and
// reads as the end of the stream, so sipgo cleans up as for a peer that
// hung up, without logging an error per connection.
type tcpConn struct {
	net.Conn
	l       *tcpListener
	addr    netip.Addr
	key     string
	trusted bool
	// firstDeadline is when the connection is closed unless it delivered a
	// complete SIP message (untrusted ones, answered 403, are closed then
	// anyway).
	firstDeadline time.Time
	delivered     atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

// Read reads with the connection's deadline.
func (c *tcpConn) Read(b []byte) (int, error) {
	deadline := c.firstDeadline
	if c.trusted && c.delivered.Load() {
		deadline = time.Now().Add(c.l.limits.idle)
	}
	if err := c.Conn.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		c.l.refused.add(c.addr, reasonTCPIdle)
		_ = c.Close()
		return n, io.EOF
	}
	return n, err
}

// Write writes within tcpWriteTimeout; a write that times out closes the
// connection (a message cut short would corrupt the stream).
func (c *tcpConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(tcpWriteTimeout)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(b)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		_ = c.Close()
	}
	return n, err
}

// Close closes the connection once (sipgo may call it more than once).
func (c *tcpConn) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.Conn.Close()
		c.l.release(c)
	})
	return c.closeErr
}
