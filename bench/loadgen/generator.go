package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// generator places the benchmark's calls. Its fields are set before the
// first call and only read afterwards.
type generator struct {
	server    netip.AddrPort // callrec's SIP address
	sipAddr   netip.AddrPort // ours
	mediaAddr netip.AddrPort // where calls' RTP sockets are bound (port 0)
	service   string         // the number called
	caller    string         // the number calling

	codec         audioCodec
	srtp          bool
	tone          []byte
	hold          time.Duration
	answerTimeout time.Duration

	contact sip.ContactHeader
	dialogs *sipgo.DialogClientCache
	pacer   *pacer
}

// settings are the call command's flags.
type settings struct {
	server, listen, media string
	service, caller       string
	codec                 string
	srtp                  bool
	calls                 int
	rate                  float64
	hold, answerTimeout   time.Duration
}

// parseSettings reads the call command's flags.
func parseSettings(args []string, stderr io.Writer) (settings, error) {
	var s settings
	fs := flag.NewFlagSet("loadgen call", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&s.server, "server", "127.0.0.1:5060", "callrec's SIP address (UDP)")
	fs.StringVar(&s.listen, "listen", "127.0.0.1:5280", "our SIP address (UDP)")
	fs.StringVar(&s.media, "media", "", "address to receive RTP on (default: the -listen address)")
	fs.StringVar(&s.service, "service", "+15550100", "the number to call: callrec's service number")
	fs.StringVar(&s.caller, "caller", "+12125550199", "the caller's number")
	fs.StringVar(&s.codec, "codec", "pcmu", "the codec to offer and send: "+codecNames)
	fs.BoolVar(&s.srtp, "srtp", false, "offer SRTP (RTP/SAVP, AES_CM_128_HMAC_SHA1_80) and send encrypted")
	fs.IntVar(&s.calls, "calls", 1, "number of calls, all up at once once started")
	fs.Float64Var(&s.rate, "rate", 10, "calls started per second")
	fs.DurationVar(&s.hold, "hold", 60*time.Second, "how long each answered call sends the tone before hanging up")
	fs.DurationVar(&s.answerTimeout, "answer-timeout", 60*time.Second, "how long a call waits for its answer")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if s.calls < 1 || s.rate <= 0 || s.hold <= 0 || s.answerTimeout <= 0 {
		return s, errors.New("want -calls ≥ 1 and -rate, -hold and -answer-timeout > 0")
	}
	if s.media == "" {
		host, _, err := net.SplitHostPort(s.listen)
		if err != nil {
			return s, fmt.Errorf("-listen %q: %w", s.listen, err)
		}
		s.media = host
	}
	return s, nil
}

// runCalls is the call command.
func runCalls(args []string, stdout, stderr io.Writer) int {
	s, err := parseSettings(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "loadgen call:", err)
		}
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	ctx := context.Background()
	g, stop, err := newGenerator(ctx, s, log)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen call:", err)
		return 1
	}
	results := g.placeAll(ctx, s.calls, s.rate)
	stop()
	sum := summarize(results)
	sum.cpuSeconds = cpuSeconds()
	sum.write(stdout, stderr)
	if sum.failed > 0 {
		return 1
	}
	return 0
}

// newGenerator binds the SIP socket, starts serving it (for callrec's
// requests in our dialogs: BYE) and the pacer, and returns the generator
// and the function that stops both.
func newGenerator(ctx context.Context, s settings, log *slog.Logger) (*generator, func(), error) {
	c, err := codecByName(s.codec)
	if err != nil {
		return nil, nil, err
	}
	server, err := resolve(s.server)
	if err != nil {
		return nil, nil, fmt.Errorf("-server: %w", err)
	}
	mediaIP, err := netip.ParseAddr(s.media)
	if err != nil {
		return nil, nil, fmt.Errorf("-media: %w", err)
	}
	pc, err := net.ListenPacket("udp", s.listen)
	if err != nil {
		return nil, nil, err
	}
	sipAddr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	sipAddr = netip.AddrPortFrom(sipAddr.Addr().Unmap(), sipAddr.Port())
	host, port := sipAddr.Addr().String(), int(sipAddr.Port())

	ua, err := sipgo.NewUA(sipgo.WithUserAgent("callrec-bench-loadgen"), sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log),
			sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})))
	if err != nil {
		pc.Close()
		return nil, nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		ua.Close()
		pc.Close()
		return nil, nil, err
	}
	// Requests are sent from the listening socket, as a phone sends them.
	cli, err := sipgo.NewClient(ua, sipgo.WithClientLogger(log), sipgo.WithClientHostname(host),
		sipgo.WithClientPort(port), sipgo.WithClientConnectionAddr(sipAddr.String()))
	if err != nil {
		ua.Close()
		pc.Close()
		return nil, nil, err
	}
	g := &generator{
		server:        server,
		sipAddr:       sipAddr,
		mediaAddr:     netip.AddrPortFrom(mediaIP, 0),
		service:       s.service,
		caller:        s.caller,
		codec:         c,
		srtp:          s.srtp,
		tone:          c.tone(toneLoop),
		hold:          s.hold,
		answerTimeout: s.answerTimeout,
		contact:       sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: s.caller, Host: host, Port: port}},
		pacer:         newPacer(),
	}
	g.dialogs = sipgo.NewDialogClientCache(cli, g.contact)
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := g.dialogs.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
	})
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.ServeUDP(pc) }()
	pctx, stopPacer := context.WithCancel(ctx)
	paced := make(chan struct{})
	go func() { defer close(paced); g.pacer.run(pctx) }()
	stop := func() {
		stopPacer()
		<-paced
		ua.Close()
		pc.Close()
		<-served
	}
	// Requests sent before sipgo knows the listening socket would go
	// out of a second one.
	for range 1000 {
		if conn, err := ua.TransportLayer().GetConnection("udp", sipAddr.String()); err == nil && conn != nil {
			return g, stop, nil
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	return nil, nil, errors.New("the SIP socket was not served")
}

// resolve reads a host:port, looking the host up if it is a name.
func resolve(hostPort string) (netip.AddrPort, error) {
	a, err := net.ResolveUDPAddr("udp", hostPort)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// placeAll places n calls, starting rate of them a second, and returns
// their results once every call has ended.
func (g *generator) placeAll(ctx context.Context, n int, rate float64) []callResult {
	results := make([]callResult, n)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for i := range n {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		next = next.Add(interval)
		wg.Go(func() { results[i] = g.place(ctx) })
	}
	wg.Wait()
	return results
}

// summary adds up the calls' results.
type summary struct {
	successful, failed        int
	sent, skipped, sendErrors int
	received, rejected        int
	reasons                   map[string]int // failure → calls
	cpuSeconds                float64
}

// summarize adds up results.
func summarize(results []callResult) summary {
	s := summary{reasons: map[string]int{}}
	for _, r := range results {
		if r.err != nil {
			s.failed++
			s.reasons[r.err.Error()]++
		} else {
			s.successful++
		}
		s.sent += r.sent
		s.skipped += r.skipped
		s.sendErrors += r.sendErrors
		s.received += r.in.packets
		s.rejected += r.in.rejected
	}
	return s
}

// write prints the summary line on stdout and the failures, most common
// first, on stderr.
func (s summary) write(stdout, stderr io.Writer) {
	fmt.Fprintf(stdout, "successful=%d failed=%d rtp_sent=%d rtp_skipped=%d rtp_send_errors=%d rtp_received=%d rtp_rejected=%d loadgen_cpu_seconds=%.2f\n",
		s.successful, s.failed, s.sent, s.skipped, s.sendErrors, s.received, s.rejected, s.cpuSeconds)
	reasons := make([]string, 0, len(s.reasons))
	for r := range s.reasons {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if s.reasons[reasons[i]] != s.reasons[reasons[j]] {
			return s.reasons[reasons[i]] > s.reasons[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	for _, r := range reasons {
		fmt.Fprintf(stderr, "loadgen: %d call(s) failed at %s\n", s.reasons[r], r)
	}
}

// cpuSeconds is the CPU time (user and system) this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
