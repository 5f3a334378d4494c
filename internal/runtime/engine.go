// Package runtime executes call-flow actions against SIP legs and media
// streams, and feeds the resulting events back to the flow. It holds no
// business rules: what to play, whom to call and when to record are the
// flow's decisions (internal/callflow); the runtime only carries them out
// and keeps the call record.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/media/codec"
	"github.com/callrec/callrec/internal/media/stream"
	"github.com/callrec/callrec/internal/metrics"
	"github.com/callrec/callrec/internal/sip"
	"github.com/callrec/callrec/internal/store"
)

// Handler is the application: a pure function from events to actions.
type Handler interface {
	Handle(ev callflow.Event) callflow.Response
}

// Config wires the engine.
type Config struct {
	// MediaAddress is the address put in our SDP.
	MediaAddress netip.Addr
	Ports        *stream.Ports
	Handler      Handler
	Dialer       Dialer
	Prompts      *Prompts
	Store        *store.Store
	Blob         blob.Store
	// SpoolDir holds recordings while they are being written.
	SpoolDir string
	// ServiceNumber and OwnerNumber go into call records.
	ServiceNumber string
	OwnerNumber   string
	// MaxConcurrentCalls bounds active calls (0 = unlimited).
	MaxConcurrentCalls int
	Logger             *slog.Logger
	// Enqueue queues a call's post-call processing inside tx, the
	// transaction that marks its recording complete (nil: no processing).
	Enqueue func(ctx context.Context, tx *store.Tx, callID string) error
	// Metrics counts calls by final status and their RTP packets; nil for
	// none.
	Metrics *metrics.Metrics
	// Storage says when the disk is full and is told of failed writes;
	// nil means the disk is never full.
	Storage Storage
	// RejectWhenFull refuses new calls while the disk is full
	// (storage.when_full: reject) instead of connecting them unrecorded.
	RejectWhenFull bool
	// Codecs are the audio codecs spoken, in preference order (our offers
	// list them so); nil means DefaultCodecs.
	Codecs []codec.Codec
	// SRTP is media.srtp: SRTPOff, SRTPOptional ("" too) or SRTPRequired.
	SRTP string
	// MediaTimeout ends a call whose leg sent no RTP for this long while
	// it should have (not on hold); 0 means DefaultMediaTimeout, negative
	// turns it off.
	MediaTimeout time.Duration
	// Clock drives the streams' keep-alive silence and RTCP reports; nil
	// sends neither (tests).
	Clock *stream.Clock
}

// Engine runs calls.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	active atomic.Int64
	wg     sync.WaitGroup

	// ctx ends every call (hard shutdown); calls watch it.
	ctx    context.Context
	cancel context.CancelFunc

	// The saver: records that could not be written wait there (saver.go).
	unsaved   chan unsaved
	stopSaver context.CancelFunc
	saverDone chan struct{}
}

// New makes an engine. Stop it with Shutdown.
func New(cfg Config) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Handler == nil || cfg.Dialer == nil || cfg.Prompts == nil || cfg.Store == nil || cfg.Blob == nil || cfg.Ports == nil {
		return nil, errors.New("runtime: handler, dialer, prompts, store, blob and ports are required")
	}
	if err := os.MkdirAll(cfg.SpoolDir, 0o750); err != nil {
		return nil, fmt.Errorf("runtime: spool directory: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sctx, stopSaver := context.WithCancel(context.Background())
	e := &Engine{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel,
		unsaved: make(chan unsaved), stopSaver: stopSaver, saverDone: make(chan struct{})}
	go e.saveLoop(sctx)
	return e, nil
}

// Active is the number of calls in progress.
func (e *Engine) Active() int { return int(e.active.Load()) }

// Admit reserves a slot for one more call, or refuses when
// max_concurrent_calls are taken. HandleCall must follow an Admit that
// returned nil: the slot is given back when that call ends.
func (e *Engine) Admit() error {
	if e.cfg.RejectWhenFull && e.storageFull() {
		return errors.New("the disk is full (storage.when_full: reject)")
	}
	m := int64(e.cfg.MaxConcurrentCalls)
	for {
		n := e.active.Load()
		if m > 0 && n >= m {
			return fmt.Errorf("max_concurrent_calls (%d) reached", m)
		}
		if e.active.CompareAndSwap(n, n+1) {
			e.wg.Add(1)
			return nil
		}
	}
}

// Shutdown waits for active calls to finish until ctx ends, then hangs up
// the rest and waits for their recordings to be finalised; records still
// waiting to be written get a last try.
func (e *Engine) Shutdown(ctx context.Context) {
	defer func() {
		e.stopSaver()
		<-e.saverDone
	}()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	e.log.Warn("shutdown grace period over: hanging up active calls", "active", e.Active())
	e.cancel()
	<-done
}

// HandleCall runs one inbound call the SIP server admitted to its end
// (the server's sip.Handler), and frees its slot.
func (e *Engine) HandleCall(in *sip.InboundLeg) { e.run(in) }

// run runs an admitted inbound call to its end and frees its slot.
func (e *Engine) run(in Inbound) {
	defer e.wg.Done()
	defer e.active.Add(-1)
	newCall(e, in).run()
}
