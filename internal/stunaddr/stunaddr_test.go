package stunaddr

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v3"
)

// responder is an in-test STUN server: it answers Binding requests with
// the source address, as XOR-MAPPED-ADDRESS or (old) MAPPED-ADDRESS, after
// ignoring the first drop requests.
type responder struct {
	conn   net.PacketConn
	old    bool
	drop   int
	seen   chan struct{}
	errors bool
}

func startResponder(t *testing.T, r *responder) string {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.conn = conn
	t.Cleanup(func() { conn.Close() })
	go r.serve()
	return conn.LocalAddr().String()
}

func (r *responder) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := r.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if r.seen != nil {
			r.seen <- struct{}{}
		}
		if r.drop > 0 {
			r.drop--
			continue
		}
		req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if err := req.Decode(); err != nil {
			continue
		}
		ua := from.(*net.UDPAddr)
		var setters []stun.Setter
		switch {
		case r.errors:
			setters = []stun.Setter{req, stun.NewType(stun.MethodBinding, stun.ClassErrorResponse), stun.CodeServerError}
		case r.old:
			setters = []stun.Setter{req, stun.BindingSuccess, &stun.MappedAddress{IP: ua.IP, Port: ua.Port}}
		default:
			setters = []stun.Setter{req, stun.BindingSuccess, &stun.XORMappedAddress{IP: ua.IP, Port: ua.Port}, stun.Fingerprint}
		}
		res, err := stun.Build(setters...)
		if err != nil {
			continue
		}
		_, _ = r.conn.WriteTo(res.Raw, from)
	}
}

func listen(t *testing.T) net.PacketConn {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestDiscoverXORMapped(t *testing.T) {
	server := startResponder(t, &responder{})
	conn := listen(t)
	got, err := Discover(ctxFor(t, 10*time.Second), conn, server)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if want := conn.LocalAddr().(*net.UDPAddr).AddrPort(); got != want {
		t.Errorf("Discover = %v, want the socket's own address %v", got, want)
	}
}

func TestDiscoverMappedAddressOfOldServer(t *testing.T) {
	server := startResponder(t, &responder{old: true})
	conn := listen(t)
	got, err := Discover(ctxFor(t, 10*time.Second), conn, server)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if want := conn.LocalAddr().(*net.UDPAddr).AddrPort(); got != want {
		t.Errorf("Discover = %v, want %v", got, want)
	}
}

func TestDiscoverRetransmitsLostRequest(t *testing.T) {
	r := &responder{drop: 1, seen: make(chan struct{}, 8)}
	server := startResponder(t, r)
	conn := listen(t)
	if _, err := Discover(ctxFor(t, 10*time.Second), conn, server); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if n := len(r.seen); n < 2 {
		t.Errorf("server saw %d requests, want the lost one sent again", n)
	}
}

func TestDiscoverErrorResponse(t *testing.T) {
	server := startResponder(t, &responder{errors: true})
	_, err := Discover(ctxFor(t, 10*time.Second), listen(t), server)
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("Discover = %v, want an error naming the 500", err)
	}
}

func TestDiscoverNoServer(t *testing.T) {
	silent := listen(t) // bound, never answers
	_, err := Discover(ctxFor(t, 300*time.Millisecond), listen(t), silent.LocalAddr().String())
	if err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("Discover = %v, want a no-answer error", err)
	}
}

func TestDiscoverBadServer(t *testing.T) {
	if _, err := Discover(context.Background(), listen(t), "no-port"); err == nil {
		t.Fatal("Discover accepted a server without a port")
	}
}

func TestDiscoverIgnoresStrayDatagrams(t *testing.T) {
	server := startResponder(t, &responder{})
	conn := listen(t)
	stray := listen(t)
	if _, err := stray.WriteTo([]byte("hello"), conn.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if _, err := Discover(ctxFor(t, 10*time.Second), conn, server); err != nil {
		t.Fatalf("Discover: %v", err)
	}
}

// TestDiscoverAgainstTurnserver asks a real STUN server, coturn's
// turnserver, when it is installed.
func TestDiscoverAgainstTurnserver(t *testing.T) {
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		t.Skip("turnserver (Debian's coturn) is not installed; skipping the test against a real STUN server")
	}
	probe := listen(t)
	port := probe.LocalAddr().(*net.UDPAddr).Port
	probe.Close()
	cmd := exec.Command(bin, "--stun-only", "--no-cli", "--no-tls", "--no-dtls", "--listening-ip", "127.0.0.1",
		"--listening-port", strconv.Itoa(port), "--log-file", "stdout", "--simple-log", "--no-stdout-log")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start turnserver: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	conn := listen(t)
	server := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var got netip.AddrPort
	for range 20 { // turnserver takes a moment to bind
		got, err = Discover(ctxFor(t, 2*time.Second), conn, server)
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("Discover against turnserver: %v", err)
	}
	if want := conn.LocalAddr().(*net.UDPAddr).AddrPort(); got != want {
		t.Errorf("turnserver saw %v, want %v", got, want)
	}
}

func FuzzParseResponse(f *testing.F) {
	id := [stun.TransactionIDSize]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	req := &stun.Message{TransactionID: id}
	for _, setters := range [][]stun.Setter{
		{req, stun.BindingSuccess, &stun.XORMappedAddress{IP: net.IPv4(203, 0, 113, 7), Port: 5060}, stun.Fingerprint},
		{req, stun.BindingSuccess, &stun.MappedAddress{IP: net.ParseIP("2001:db8::1"), Port: 3478}},
		{req, stun.NewType(stun.MethodBinding, stun.ClassErrorResponse), stun.CodeBadRequest},
		{req, stun.BindingSuccess},
	} {
		m, err := stun.Build(setters...)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m.Raw)
	}
	f.Add([]byte("not stun"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		addr, err := ParseResponse(raw, id)
		if err == nil && !addr.IsValid() {
			t.Fatalf("ParseResponse(%x) = invalid address and no error", raw)
		}
	})
}
