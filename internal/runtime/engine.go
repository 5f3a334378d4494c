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
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/media/stream"
	"github.com/callrec/callrec/internal/media/wav"
	"github.com/callrec/callrec/internal/metrics"
	"github.com/callrec/callrec/internal/sip"
	"github.com/callrec/callrec/internal/store"
)

// Handler is the application: a pure function from events to actions.
type Handler interface {
	Handle(ev callflow.Event) callflow.Response
}

// Dialer places outbound calls (implemented by *sip.Server).
type Dialer interface {
	Dial(ctx context.Context, r sip.DialRequest) (*sip.OutboundLeg, error)
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
}

// SIPDialer places outbound legs through the SIP server.
func SIPDialer(s *sip.Server) Dialer { return s }

// Engine runs calls.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	active atomic.Int64
	wg     sync.WaitGroup

	// ctx ends every call (hard shutdown); calls watch it.
	ctx    context.Context
	cancel context.CancelFunc
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
	return &Engine{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel}, nil
}

// Active is the number of calls in progress.
func (e *Engine) Active() int { return int(e.active.Load()) }

// Admit refuses a new call when max_concurrent_calls are active.
func (e *Engine) Admit() error {
	if m := e.cfg.MaxConcurrentCalls; m > 0 && e.active.Load() >= int64(m) {
		return fmt.Errorf("max_concurrent_calls (%d) reached", m)
	}
	return nil
}

// Shutdown waits for active calls to finish until ctx ends, then hangs up
// the rest and waits for their recordings to be finalised.
func (e *Engine) Shutdown(ctx context.Context) {
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

// Recover finishes what a killed process left: calls still marked active
// become "interrupted", and their partial recordings are repaired and
// stored. Run it once at start-up, before taking calls.
func (e *Engine) Recover(ctx context.Context) error {
	active, err := e.cfg.Store.ActiveCalls(ctx)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	for i := range active {
		c := &active[i]
		log := e.log.With("call_id", c.ID)
		now := time.Now().UTC()
		c.Status = store.StatusInterrupted
		c.HangupCause = "callrec stopped during the call"
		if c.EndedAt == nil {
			c.EndedAt = &now
		}
		spool := filepath.Join(e.cfg.SpoolDir, c.ID+".wav")
		if _, err := os.Stat(spool); err == nil {
			info, err := wav.Repair(spool)
			if err != nil {
				log.Error("recover: recording could not be repaired; kept in spool", "path", spool, "err", err)
			} else {
				key := c.RecordingKey
				if key == "" {
					key = calls.RecordingKey(c.ID, c.StartedAt)
				}
				if err := e.cfg.Blob.PutFile(ctx, key, spool); err != nil {
					log.Error("recover: storing recording failed; kept in spool", "path", spool, "err", err)
				} else {
					c.RecordingKey = key
					c.RecordingState = store.RecordingPartial
					c.RecordingDurationMS = info.Duration.Milliseconds()
					log.Warn("recovered partial recording of an interrupted call", "key", key, "duration", info.Duration)
				}
			}
		} else if _, err := e.cfg.Blob.Stat(ctx, c.RecordingKey); c.RecordingKey != "" && err == nil {
			// Stored, but the process died before the record said so.
			c.RecordingState = store.RecordingPartial
		} else if c.RecordingState == store.RecordingInProgress || c.RecordingState == store.RecordingPaused {
			c.RecordingState = store.RecordingNone
		}
		for j := range c.Pauses {
			if c.Pauses[j].End == nil {
				c.Pauses[j].End = c.EndedAt
			}
		}
		if err := e.saveFinal(ctx, c, c.RecordingState == store.RecordingPartial); err != nil {
			return fmt.Errorf("recover call %s: %w", c.ID, err)
		}
	}
	return nil
}

// saveFinal writes a finished call's record; with a stored recording, its
// processing is queued in the same transaction, so a crash can neither lose
// the job nor queue it for a call not marked finished.
func (e *Engine) saveFinal(ctx context.Context, c *store.Call, recorded bool) error {
	if !recorded || e.cfg.Enqueue == nil {
		return e.cfg.Store.UpdateCall(ctx, c)
	}
	return e.cfg.Store.WithTx(ctx, func(tx *store.Tx) error {
		if err := e.cfg.Store.UpdateCallTx(ctx, tx, c); err != nil {
			return err
		}
		return e.cfg.Enqueue(ctx, tx, c.ID)
	})
}

// HandleCall runs one inbound call to its end (a sip.CallHandler).
func (e *Engine) HandleCall(in *sip.InboundLeg) {
	e.active.Add(1)
	e.wg.Add(1)
	defer e.wg.Done()
	defer e.active.Add(-1)
	c := newCall(e, in)
	c.run()
}

// normaliseCaller strips a SIP user part down to what callflow expects.
func normaliseCaller(user string) string {
	if i := strings.IndexByte(user, ';'); i >= 0 {
		user = user[:i]
	}
	return user
}
