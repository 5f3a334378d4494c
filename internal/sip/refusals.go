package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Metrics receives the SIP server's counts. *metrics.Metrics satisfies it
// (the sip package imports nothing of callrec's, so it names the method it
// needs rather than the type).
type Metrics interface {
	// SIPRejected counts one request or connection refused or dropped
	// before a call began, by reason.
	SIPRejected(reason string)
}

// Reasons a request or connection is refused, as counted in
// callrec_sip_rejected_total and named in the refusals summary.
const (
	reasonUntrusted     = "untrusted_source"     // source outside AllowedSources
	reasonDraining      = "draining"             // shutting down: 503
	reasonBusy          = "busy"                 // Handler.Admit refused: 503
	reasonBadExtension  = "bad_extension"        // Require of an extension callrec lacks: 420
	reasonMalformed     = "malformed"            // sipgo could not parse or frame it
	reasonBadRequest    = "bad_request"          // an INVITE without From, To, Contact or CSeq: 400
	reasonNotAllowed    = "method_not_allowed"   // REGISTER, MESSAGE…: 405
	reasonNoDialog      = "no_dialog"            // in-dialog request for no dialog of ours: 481
	reasonTCPLimit      = "tcp_connection_limit" // TCPMaxConnections reached: closed
	reasonTCPSource     = "tcp_source_limit"     // TCPMaxPerSource reached: closed
	reasonTCPIdle       = "tcp_idle_timeout"     // no complete message in time, or idle: closed
	reasonAcceptFailure = "tcp_accept_failed"    // accept failed (EMFILE…): retried
)

// Bounds of the refusals summary: sources beyond maxTrackedSources in one
// interval are counted together, and the summary names the busiest
// summaryTopSources one line each.
const (
	maxTrackedSources = 4096
	summaryTopSources = 10
)

// refusals counts what the server refuses or drops, by source and reason:
// every one goes to the metrics at once, and to the log as a summary once
// per interval (a line per source for the busiest, then one for the rest),
// never a line per packet and never with a packet's content.
type refusals struct {
	log      *slog.Logger
	metrics  Metrics
	interval time.Duration

	mu       sync.Mutex
	bySource map[netip.Addr]*reasonCounts
	rest     reasonCounts // from sources beyond maxTrackedSources
}

// reasonCounts counts refusals of one source (or of several) by reason.
type reasonCounts struct {
	total   int
	reasons map[string]int
}

func (c *reasonCounts) add(reason string) {
	if c.reasons == nil {
		c.reasons = map[string]int{}
	}
	c.total++
	c.reasons[reason]++
}

// merge adds o's counts to c.
func (c *reasonCounts) merge(o *reasonCounts) {
	if c.reasons == nil {
		c.reasons = map[string]int{}
	}
	c.total += o.total
	for k, n := range o.reasons {
		c.reasons[k] += n
	}
}

// String lists the counts by reason, sorted by reason: "busy=2 draining=1".
func (c *reasonCounts) String() string {
	keys := make([]string, 0, len(c.reasons))
	for k := range c.reasons {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, c.reasons[k])
	}
	return b.String()
}

func newRefusals(log *slog.Logger, m Metrics, interval time.Duration) *refusals {
	return &refusals{log: log, metrics: m, interval: interval, bySource: map[netip.Addr]*reasonCounts{}}
}

// add counts one refusal from src (the zero Addr when the source is not
// known: then only the metric counts it).
func (r *refusals) add(src netip.Addr, reason string) {
	if r.metrics != nil {
		r.metrics.SIPRejected(reason)
	}
	if !src.IsValid() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.bySource[src]
	if c == nil {
		if len(r.bySource) >= maxTrackedSources {
			r.rest.add(reason)
			return
		}
		c = &reasonCounts{}
		r.bySource[src] = c
	}
	c.add(reason)
}

// run writes the summary every interval until ctx ends, and once more
// then.
func (r *refusals) run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.flush()
			return
		case <-t.C:
			r.flush()
		}
	}
}

// flush logs what was counted since the last flush and starts afresh.
func (r *refusals) flush() {
	r.mu.Lock()
	by, rest := r.bySource, r.rest
	r.bySource, r.rest = map[netip.Addr]*reasonCounts{}, reasonCounts{}
	r.mu.Unlock()
	untracked := rest.total > 0
	restSrcs := 0
	if len(by) == 0 && rest.total == 0 {
		return
	}
	srcs := make([]netip.Addr, 0, len(by))
	for a := range by {
		srcs = append(srcs, a)
	}
	slices.SortFunc(srcs, func(a, b netip.Addr) int {
		if d := by[b].total - by[a].total; d != 0 {
			return d
		}
		return a.Compare(b)
	})
	for i, a := range srcs {
		if i >= summaryTopSources {
			rest.merge(by[a])
			restSrcs++
			continue
		}
		r.log.Warn("SIP requests refused", "source", a.String(), "count", by[a].total,
			"reasons", by[a].String(), "interval", r.interval)
	}
	if rest.total > 0 {
		r.log.Warn("SIP requests refused from further sources", "sources", restSrcs, "untracked_sources", untracked,
			"count", rest.total, "reasons", rest.String(), "interval", r.interval)
	}
}

// sourceAddr is the IP of a request's source ("ip:port"), or the zero
// Addr.
func sourceAddr(src string) netip.Addr {
	ap, err := netip.ParseAddrPort(src)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// netAddrIP is the IP of a UDP or TCP address, or the zero Addr.
func netAddrIP(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	case nil:
		return netip.Addr{}
	default:
		return sourceAddr(a.String())
	}
}
