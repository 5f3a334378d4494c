package sip

import (
	"bufio"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestTCPFirstMessageTimeout: a connection that sends nothing, and one
// that trickles a message it never completes, are closed once their first
// message is overdue, counted as tcp_idle_timeout, and gone from sipgo's
// connection pool too; the listener keeps serving.
func TestTCPFirstMessageTimeout(t *testing.T) {
	m := newCountingMetrics()
	ts := startServer(t, func(c *Config) { c.Metrics = m; c.TCPFirstMessageTimeout = time.Second })
	silent := dialFrom(t, "127.0.0.1", ts.addr)
	slow := dialFrom(t, "127.0.0.1", ts.addr)
	msg := rawRequest("INVITE", "TCP", slow.LocalAddr().String(), ts.addr, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a byte every 100 ms: never a whole message in time
		defer wg.Done()
		for i := 0; i < len(msg)-1; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := slow.Write([]byte{msg[i]}); err != nil {
				return
			}
		}
	}()
	for _, c := range []net.Conn{silent, slow} {
		if got := readToEnd(t, c); got != "" {
			t.Errorf("an idle connection got %q", got)
		}
	}
	close(stop)
	wg.Wait()
	m.wait(t, reasonTCPIdle, 2)
	waitFn(t, func() bool { return ts.tcp.open() == 0 }, "the listener to forget the closed connections")
	waitFn(t, func() bool { return ts.ua.TransportLayer().Pool("tcp").Size() == 0 }, "sipgo's pool to drop the closed connections")

	fresh := dialFrom(t, "127.0.0.1", ts.addr)
	options(t, fresh, bufio.NewReader(fresh), ts.addr, 2)
}

// TestTCPIdleAfterMessage: a connection that delivered a complete message
// outlives its first-message deadline (its requests keep being answered)
// and is closed only after the idle timeout without traffic.
func TestTCPIdleAfterMessage(t *testing.T) {
	t.Run("kept past the first-message deadline", func(t *testing.T) {
		ts := startServer(t, func(c *Config) { c.TCPFirstMessageTimeout = time.Second; c.TCPIdleTimeout = time.Minute })
		c := dialFrom(t, "127.0.0.1", ts.addr)
		r := bufio.NewReader(c)
		options(t, c, r, ts.addr, 1)
		time.Sleep(1500 * time.Millisecond) // past the first-message deadline
		options(t, c, r, ts.addr, 2)
	})
	t.Run("closed when idle", func(t *testing.T) {
		m := newCountingMetrics()
		ts := startServer(t, func(c *Config) { c.Metrics = m; c.TCPIdleTimeout = time.Second })
		c := dialFrom(t, "127.0.0.1", ts.addr)
		r := bufio.NewReader(c)
		options(t, c, r, ts.addr, 1)
		_ = c.SetReadDeadline(time.Now().Add(waitFor))
		if b, err := r.ReadByte(); err == nil {
			t.Fatalf("idle connection got %q, want it closed", b)
		}
		m.wait(t, reasonTCPIdle, 1)
	})
}

// TestTCPConnectionCaps: connections beyond TCPMaxPerSource from one
// address, and beyond TCPMaxConnections in all, are closed as they
// arrive (counted by reason) while those within are served; a connection
// that closes frees its place.
func TestTCPConnectionCaps(t *testing.T) {
	m := newCountingMetrics()
	ts := startServer(t, func(c *Config) {
		c.Metrics = m
		c.TCPMaxConnections, c.TCPMaxPerSource = 3, 2
		c.TCPFirstMessageTimeout = time.Minute
	})
	type held struct {
		c net.Conn
		r *bufio.Reader
	}
	var open []held
	serve := func(ip string, n int) held {
		t.Helper()
		c := dialFrom(t, ip, ts.addr)
		h := held{c, bufio.NewReader(c)}
		options(t, h.c, h.r, ts.addr, n)
		return h
	}
	refused := func(ip, reason string, n int) {
		t.Helper()
		c := dialFrom(t, ip, ts.addr)
		if got := readToEnd(t, c); got != "" {
			t.Errorf("connection over the limit got %q", got)
		}
		m.wait(t, reason, n)
	}
	open = append(open, serve("127.0.0.1", 1), serve("127.0.0.1", 2))
	refused("127.0.0.1", reasonTCPSource, 1)
	open = append(open, serve("127.0.0.2", 3))
	refused("127.0.0.3", reasonTCPLimit, 1)
	// Those within the limits are still served.
	for i, h := range open {
		options(t, h.c, h.r, ts.addr, 10+i)
	}
	open[0].c.Close()
	waitFn(t, func() bool { return ts.tcp.open() == 2 }, "the closed connection to free its place")
	serve("127.0.0.3", 20)
}

// TestTCPFileLimitLowersCap: with an open-file limit known, the
// connection cap is at most half of it, so that TCP cannot take every
// file.
func TestTCPFileLimitLowersCap(t *testing.T) {
	rec := newRecordHandler()
	ts := startServer(t, func(c *Config) { c.FileLimit = 100; c.TCPMaxConnections = 1000; c.Logger = slog.New(rec) })
	if got := ts.cfg.TCPMaxConnections; got != 50 {
		t.Errorf("TCPMaxConnections = %d under an open-file limit of 100, want 50", got)
	}
	if got := ts.cfg.TCPMaxPerSource; got != DefaultTCPMaxPerSource {
		t.Errorf("TCPMaxPerSource = %d, want the default %d", got, DefaultTCPMaxPerSource)
	}
	var warned bool
	for _, r := range rec.all() {
		warned = warned || r.Level == slog.LevelWarn && strings.Contains(r.Message, "tcp_max_connections lowered")
	}
	if !warned {
		t.Error("lowering the cap was not logged")
	}
}

// flakyListener fails Accept with errs, one per call, then accepts conn
// once, then blocks until closed.
type flakyListener struct {
	errs   []error
	conn   net.Conn
	closed chan struct{}
	once   sync.Once
	mu     sync.Mutex
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		l.mu.Unlock()
		return nil, err
	}
	c := l.conn
	l.conn = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *flakyListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *flakyListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060} }

// TestTCPAcceptFailuresRetried: Accept never hands a failure (too many
// open files, a connection aborted) to sipgo, which would stop serving:
// it retries with backoff, logs the failures once per interval with how
// many there were, counts each, and returns the next connection. Closing
// the listener ends a retry at once.
func TestTCPAcceptFailuresRetried(t *testing.T) {
	m := newCountingMetrics()
	rec := newRecordHandler()
	refused := newRefusals(slog.New(rec), m, time.Minute)
	server, client := net.Pipe()
	defer client.Close()
	errs := []error{
		&net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE},
		&net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE},
		&net.OpError{Op: "accept", Net: "tcp", Err: syscall.ENFILE},
		&net.OpError{Op: "accept", Net: "tcp", Err: syscall.ECONNABORTED},
	}
	fl := &flakyListener{errs: errs, conn: server, closed: make(chan struct{})}
	l := newTCPListener(fl, tcpLimits{maxConns: 10, maxPerSource: 10, firstMessage: time.Minute, idle: time.Minute},
		func(netip.Addr) bool { return true }, true, refused, slog.New(rec), time.Minute)

	type result struct {
		c   net.Conn
		err error
	}
	res := make(chan result, 1)
	go func() { c, err := l.Accept(); res <- result{c, err} }()
	got := recv(t, res, "Accept after the failures")
	if got.err != nil {
		t.Fatalf("Accept returned %v, want the connection after retrying", got.err)
	}
	if tc, ok := got.c.(*tcpConn); !ok || tc.Conn != server {
		t.Errorf("Accept returned %T, want the wrapped connection", got.c)
	}
	if n := m.count(reasonAcceptFailure); n != len(errs) {
		t.Errorf("%d accept failures counted, want %d", n, len(errs))
	}
	var lines []slog.Record
	for _, r := range rec.all() {
		if strings.Contains(r.Message, "accept failing") {
			lines = append(lines, r)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d log lines for %d accept failures within an interval, want 1", len(lines), len(errs))
	}
	if e := attr(lines[0], "err"); !strings.Contains(e, "too many open files") {
		t.Errorf("logged err %q, want the failure", e)
	}

	// Failing again, then closed while waiting to retry.
	fl.mu.Lock()
	fl.errs = []error{&net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}}
	fl.mu.Unlock()
	go func() { c, err := l.Accept(); res <- result{c, err} }()
	m.wait(t, reasonAcceptFailure, len(errs)+1)
	l.Close()
	if got := recv(t, res, "Accept to return once closed"); !errors.Is(got.err, net.ErrClosed) {
		t.Errorf("Accept after Close returned %v, %v; want net.ErrClosed", got.c, got.err)
	}
}

// waitFn waits until ok returns true.
func waitFn(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
