package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// registrar is a fake registrar's behaviour: it challenges every REGISTER
// without credentials when challenge is set, and answers the others with
// code (200 by default), adding Expires and a Contact with expires when
// those are set.
type registrar struct {
	challenge      bool
	code           int
	expires        string // Expires header of the 200, if set
	contactExpires string // expires param of the 200's Contact, if set

	registers chan *sip.Request // every REGISTER received
	granted   chan *sip.Request // REGISTERs answered 2xx
}

func newRegistrar() *registrar {
	return &registrar{registers: make(chan *sip.Request, 64), granted: make(chan *sip.Request, 64)}
}

func (r *registrar) handle(p *peer, req *sip.Request, tx sip.ServerTransaction) {
	r.registers <- req
	if r.challenge && req.GetHeader("Authorization") == nil {
		challenge(req, tx, false)
		return
	}
	if r.challenge {
		if msg := checkDigest(req, false); msg != "" {
			p.t.Errorf("REGISTER credentials: %s", msg)
			_ = tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
			return
		}
	}
	code := r.code
	if code == 0 {
		code = 200
	}
	res := sip.NewResponseFromRequest(req, code, map[bool]string{true: "OK", false: "Forbidden"}[code == 200], nil)
	if code == 200 {
		if r.expires != "" {
			res.AppendHeader(sip.NewHeader("Expires", r.expires))
		}
		if c := req.Contact(); c != nil {
			ct := c.Clone()
			if r.contactExpires != "" {
				ct.Params.Add("expires", r.contactExpires)
			}
			res.AppendHeader(ct)
		}
	}
	_ = tx.Respond(res)
	if code == 200 {
		r.granted <- req
	}
}

// TestRegister: one registration with a challenge answered, the lifetime
// granted read from Expires or from the Contact's expires, and refusals
// returned as errors.
func TestRegister(t *testing.T) {
	tests := []struct {
		name      string
		transport string
		reg       registrar
		opts      []serverOpts
		want      time.Duration
		wantErr   string
		registers int
	}{
		{name: "Expires header", reg: registrar{challenge: true, expires: "120"}, want: 120 * time.Second, registers: 2},
		{name: "Contact expires wins", reg: registrar{challenge: true, expires: "120", contactExpires: "90"}, want: 90 * time.Second, registers: 2},
		{name: "no lifetime given", reg: registrar{challenge: true}, want: time.Hour, registers: 2},
		{name: "over TCP", transport: "tcp", reg: registrar{challenge: true, expires: "60"}, want: time.Minute, registers: 2},
		{name: "no challenge", reg: registrar{expires: "300"}, want: 5 * time.Minute, registers: 1},
		{name: "refused", reg: registrar{challenge: true, code: 403}, wantErr: "403", registers: 2},
		{name: "challenged without password", reg: registrar{challenge: true}, opts: []serverOpts{withCredentials(testUser, "")}, wantErr: "401", registers: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRegistrar()
			reg.challenge, reg.code, reg.expires, reg.contactExpires = tc.reg.challenge, tc.reg.code, tc.reg.expires, tc.reg.contactExpires
			transport := tc.transport
			if transport == "" {
				transport = "udp"
			}
			trunk := newPeer(t, transport, peerHandlers{register: reg.handle})
			opts := append([]serverOpts{withTrunk(trunk), withCredentials(testUser, testPass)}, tc.opts...)
			ts := startServer(t, opts...)

			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			got, err := ts.Register(ctx, time.Hour)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Register = %v, %v; want an error with %q", got, err, tc.wantErr)
				}
			} else if err != nil || got != tc.want {
				t.Fatalf("Register = %v, %v; want %v", got, err, tc.want)
			}

			first := recv(t, reg.registers, "REGISTER")
			checkRegister(t, first, ts, trunk.addr)
			if tc.registers > 1 {
				second := recv(t, reg.registers, "authenticated REGISTER")
				sameRegistration(t, first, second)
			}
			if n := len(reg.registers); n != 0 {
				t.Errorf("%d more REGISTERs than expected", n)
			}
		})
	}
}

// checkRegister checks the REGISTER callrec sends for its account.
func checkRegister(t *testing.T, req *sip.Request, ts *testServer, trunkAddr string) {
	t.Helper()
	host, port := splitHostPort(trunkAddr)
	if ru := req.Recipient; ru.User != "" || ru.Host != host || ru.Port != port {
		t.Errorf("Request-URI %s, want sip:%s", ru.String(), trunkAddr)
	}
	for _, h := range []sip.Header{req.From(), req.To()} {
		if a := h.Value(); !strings.Contains(a, "sip:"+testUser+"@"+host) {
			t.Errorf("%s %s, want the account's AoR", h.Name(), a)
		}
	}
	if ct := req.Contact(); ct == nil || ct.Address.HostPort() != ts.addr {
		t.Errorf("Contact %v, want ours at %s", ct, ts.addr)
	}
	if e := req.GetHeader("Expires"); e == nil || e.Value() != "3600" {
		t.Errorf("Expires %v, want 3600", e)
	}
}

// sameRegistration checks that later is a refresh of earlier (RFC 3261
// 10.2.4): same Call-ID and From tag, higher CSeq.
func sameRegistration(t *testing.T, earlier, later *sip.Request) {
	t.Helper()
	if later.CallID().Value() != earlier.CallID().Value() {
		t.Errorf("Call-ID changed: %s then %s", earlier.CallID().Value(), later.CallID().Value())
	}
	tag1, _ := earlier.From().Params.Get("tag")
	tag2, _ := later.From().Params.Get("tag")
	if tag1 == "" || tag1 != tag2 {
		t.Errorf("From tag %q then %q", tag1, tag2)
	}
	if later.CSeq().SeqNo <= earlier.CSeq().SeqNo {
		t.Errorf("CSeq %d then %d, want it to increase", earlier.CSeq().SeqNo, later.CSeq().SeqNo)
	}
}

// TestRegisterRefresh: registering again keeps the registration's Call-ID
// and From tag and counts CSeq on past the challenged attempts.
func TestRegisterRefresh(t *testing.T) {
	reg := newRegistrar()
	reg.challenge, reg.expires = true, "600"
	trunk := newPeer(t, "udp", peerHandlers{register: reg.handle})
	ts := startServer(t, withTrunk(trunk), withCredentials(testUser, testPass))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var all []*sip.Request
	for range 3 {
		if _, err := ts.Register(ctx, time.Hour); err != nil {
			t.Fatalf("Register: %v", err)
		}
		all = append(all, recv(t, reg.registers, "REGISTER"), recv(t, reg.registers, "authenticated REGISTER"))
	}
	for i := 1; i < len(all); i++ {
		sameRegistration(t, all[i-1], all[i])
	}
}

// TestRegisterLoop: the loop registers, then refreshes before the granted
// lifetime (1 s here) runs out, again and again, until its context ends.
func TestRegisterLoop(t *testing.T) {
	reg := newRegistrar()
	reg.challenge, reg.expires = true, "1"
	trunk := newPeer(t, "udp", peerHandlers{register: reg.handle})
	ts := startServer(t, withTrunk(trunk), withCredentials(testUser, testPass))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		ts.RegisterLoop(ctx, time.Hour)
	}()
	var granted []*sip.Request
	for range 3 {
		granted = append(granted, recv(t, reg.granted, "a granted REGISTER"))
	}
	for i := 1; i < len(granted); i++ {
		sameRegistration(t, granted[i-1], granted[i])
	}
	cancel()
	closed(t, stopped, "RegisterLoop to return")
}

// TestRegisterLoopFailing: a refused registration is retried later; the
// loop still stops when its context ends, also while it waits to retry.
func TestRegisterLoopFailing(t *testing.T) {
	reg := newRegistrar()
	reg.code = 403
	trunk := newPeer(t, "udp", peerHandlers{register: reg.handle})
	ts := startServer(t, withTrunk(trunk), withCredentials(testUser, testPass))
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		ts.RegisterLoop(ctx, 0)
	}()
	recv(t, reg.registers, "REGISTER")
	cancel()
	closed(t, stopped, "RegisterLoop to return")
}

// TestRegisterLoopNotServed: a loop on a server that is not serving
// waits for it, and returns when its context ends.
func TestRegisterLoopNotServed(t *testing.T) {
	s, err := NewServer(Config{Listen: freeAddr(t), TrunkAddress: "127.0.0.1:9", Logger: newTestLogger(t, 0)})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s.RegisterLoop(ctx, time.Minute)
	}()
	cancel()
	closed(t, stopped, "RegisterLoop to return")
}

// TestRegisterBadTrunkAddress: a trunk address without a port is an error.
func TestRegisterBadTrunkAddress(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.TrunkAddress = "trunk.test" })
	if _, err := ts.Register(context.Background(), time.Hour); err == nil {
		t.Fatal("Register with a bad trunk address succeeded")
	}
}
