// Package app wires callrec's parts together for `callrec serve`: the SIP
// stack, the call runtime with its flow, the call store and the blob store.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/config"
	"github.com/callrec/callrec/internal/media/stream"
	"github.com/callrec/callrec/internal/notify"
	"github.com/callrec/callrec/internal/pipeline"
	"github.com/callrec/callrec/internal/prompts"
	"github.com/callrec/callrec/internal/report"
	"github.com/callrec/callrec/internal/runtime"
	"github.com/callrec/callrec/internal/sip"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/web"
	"github.com/callrec/callrec/internal/signed"
)

// OpenStores opens the call store and the blob store the config names.
func OpenStores(ctx context.Context, cfg *config.Config) (*store.Store, blob.Store, error) {
	var st *store.Store
	var err error
	if cfg.DatabaseDriver() == config.DriverPostgres {
		st, err = store.OpenPostgres(ctx, cfg.Database.URL)
	} else {
		st, err = store.Open(ctx, cfg.SQLitePath())
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open call store: %w", err)
	}
	bs, err := blob.NewLocal(filepath.Join(cfg.DataDir, "objects"))
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("open object store: %w", err)
	}
	return st, bs, nil
}

// Serve runs callrec until ctx is cancelled, then shuts down gracefully:
// new calls get 503, calls in progress may finish within
// cfg.ShutdownGrace, and every recording is finalised.
func Serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	// sipgo keeps its UDP size limit in a package variable; large INVITEs
	// would otherwise fail to send.
	sipgosip.UDPMTUSize = cfg.SIP.UDPMTU

	st, bs, err := OpenStores(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	pr, err := runtime.LoadPrompts(prompts.Builtin(), cfg.PromptsDir)
	if err != nil {
		return err
	}
	handler, err := callflow.NewHandler(callflow.Config{
		ServiceNumber:       cfg.ServiceNumber,
		OwnerNumber:         cfg.OwnerNumber,
		OwnerPIN:            cfg.OwnerPIN,
		DefaultCountryCode:  cfg.DefaultCountryCode,
		AllowedDestinations: cfg.Destinations(),
		MaxCallSeconds:      cfg.MaxCallSeconds,
		RingTimeoutSeconds:  cfg.RingTimeoutSeconds,
		DigitTimeoutMillis:  cfg.DigitTimeoutMS,
	})
	if err != nil {
		return fmt.Errorf("call flow: %w", err)
	}
	mediaAddr, err := netip.ParseAddr(cfg.SIP.MediaAddress)
	if err != nil {
		return fmt.Errorf("sip.media_address: %w", err)
	}
	lo, hi, err := cfg.SIP.PortRange()
	if err != nil {
		return fmt.Errorf("sip.rtp_ports: %w", err)
	}
	ports, err := stream.NewPorts(mediaAddr, lo, hi)
	if err != nil {
		return fmt.Errorf("sip.rtp_ports: %w", err)
	}
	sources, err := cfg.AllowedSources()
	if err != nil {
		return fmt.Errorf("trunk.allowed_sources: %w", err)
	}

	aopt, err := AnalyticsOptions(cfg)
	if err != nil {
		return err
	}
	secret, err := signed.LoadOrCreateSecret(cfg.LinkSecretFile())
	if err != nil {
		return fmt.Errorf("web.secret_file: %w", err)
	}
	signer, err := signed.New(secret)
	if err != nil {
		return fmt.Errorf("web.secret_file: %w", err)
	}
	notifier, err := newNotifier(cfg, signer, bs, log)
	if err != nil {
		return err
	}
	metrics := web.NewMetrics()
	var ws *web.Server // made below; retention deletes calls through it
	pipe, err := pipeline.New(ctx, pipeline.Config{
		Retention: pipeline.Retention{Days: cfg.Retention.Days, Delete: func(ctx context.Context, c *store.Call) error {
			return ws.DeleteCall(ctx, c)
		}},
		Notifier:     notifier,
		OnStage:      stageMetrics(metrics),
		Store:        st,
		Blob:         bs,
		Engine:       func() (transcribe.Engine, error) { return NewEngine(context.Background(), cfg) },
		Analytics:    aopt,
		Renderer:     report.New(report.Options{Location: time.Local, Logger: log}),
		Workers:      cfg.Pipeline.Workers,
		MaxAttempts:  cfg.Pipeline.MaxAttempts,
		StageTimeout: cfg.Pipeline.StageTimeout.D(),
		ScratchDir:   filepath.Join(cfg.DataDir, "spool"),
		Logger:       log,
	})
	if err != nil {
		return err
	}

	sipSrv, err := sip.NewServer(sip.Config{
		Listen:         cfg.SIP.Listen,
		UserAgent:      cfg.SIP.UserAgent,
		TrunkAddress:   cfg.Trunk.Address,
		TrunkTransport: cfg.Trunk.Transport,
		TrunkDomain:    cfg.Trunk.DomainName(),
		Username:       cfg.Trunk.Username,
		Password:       cfg.Trunk.Password,
		AllowedSources: sources,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	engine, err := runtime.New(runtime.Config{
		MediaAddress:       mediaAddr,
		Ports:              ports,
		Handler:            handler,
		Dialer:             sipSrv,
		Prompts:            pr,
		Store:              st,
		Blob:               bs,
		SpoolDir:           filepath.Join(cfg.DataDir, "spool"),
		ServiceNumber:      cfg.ServiceNumber,
		OwnerNumber:        cfg.OwnerNumber,
		MaxConcurrentCalls: cfg.MaxConcurrentCalls,
		Logger:             log,
		Enqueue:            pipe.EnqueueTx,
		OnCallEnded: func(status string, received, lost, sent uint64) {
			metrics.CallEnded(status)
			metrics.RTP(received, lost, sent)
		},
	})
	if err != nil {
		return err
	}
	if err := engine.Recover(ctx); err != nil {
		return err
	}

	metrics.SetActiveCalls(func() float64 { return float64(engine.Active()) })
	ws, err = web.New(web.Config{
		Store: st, Blob: bs, Signer: signer, Retrier: pipe, Stages: pipeline.Stages(),
		PublicURL: cfg.BaseURL(), PasswordHash: cfg.Web.PasswordHash, APITokens: cfg.Web.APITokens,
		LinkTTL: cfg.Web.LinkTTL.D(), SecureCookies: strings.HasPrefix(cfg.BaseURL(), "https://"),
		Location: time.Local, Logger: log, Metrics: metrics, RetentionDays: cfg.Retention.Days,
	})
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	var httpSrv *http.Server
	if cfg.Web.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Web.Listen)
		if err != nil {
			return fmt.Errorf("web.listen %s: %w", cfg.Web.Listen, err)
		}
		httpSrv = &http.Server{Handler: ws.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		go func() {
			if err := httpSrv.Serve(ln); err != nil && err != http.ErrServerClosed {
				log.Error("web server stopped", "err", err)
			}
		}()
		if cfg.Web.PasswordHash == "" {
			log.Warn("web.password_hash is not set: the call browser refuses log-in until you set one (callrec passwd)")
		}
	}
	if err := pipe.Start(context.Background()); err != nil {
		return err
	}

	sipCtx, stopSIP := context.WithCancel(context.Background())
	defer stopSIP()
	errc := make(chan error, 1)
	go func() { errc <- sipSrv.Serve(sipCtx, engine) }()
	if cfg.Trunk.Register {
		go sipSrv.RegisterLoop(sipCtx, cfg.Trunk.RegisterExpiry.D())
	}
	log.Info("callrec serving", "sip", cfg.SIP.Listen, "web", cfg.Web.Listen, "media_address", cfg.SIP.MediaAddress,
		"rtp_ports", cfg.SIP.RTPPorts, "trunk", cfg.Trunk.Address, "data_dir", cfg.DataDir)

	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	log.Info("shutting down: refusing new calls", "active_calls", engine.Active(), "grace", cfg.ShutdownGrace.D())
	sipSrv.Drain()
	graceCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace.D())
	engine.Shutdown(graceCtx)
	cancel()
	stopSIP()
	<-errc
	if httpSrv != nil {
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = httpSrv.Shutdown(hctx)
		cancel()
	}
	pipeCtx, cancelPipe := context.WithTimeout(context.Background(), cfg.ShutdownGrace.D())
	pipe.Stop(pipeCtx)
	cancelPipe()
	log.Info("callrec stopped")
	return nil
}

// newNotifier makes the notify stage's notifier from notify.*; nil (the
// pipeline's log-only default) when neither email nor webhook is set.
func newNotifier(cfg *config.Config, signer *signed.Signer, bs blob.Store, log *slog.Logger) (pipeline.Notifier, error) {
	nc := notify.Config{Signer: signer, Blob: bs, Logger: log, Location: time.Local}
	if e := cfg.Notify.Email; e.To != "" {
		nc.Email = &notify.EmailConfig{
			To: e.To, From: e.From, Host: e.SMTP.Host, Port: e.SMTP.Port, TLS: e.SMTP.TLS,
			Username: e.SMTP.Username, Password: e.SMTP.Password, Attach: e.Attach,
			PublicURL: cfg.BaseURL(), LinkTTL: cfg.Web.LinkTTL.D(),
		}
	}
	if w := cfg.Notify.Webhook; w.URL != "" {
		nc.Webhook = &notify.WebhookConfig{URL: w.URL, Secret: []byte(w.Secret), PublicURL: cfg.BaseURL(), LinkTTL: cfg.Web.LinkTTL.D()}
	}
	if nc.Email == nil && nc.Webhook == nil {
		return nil, nil
	}
	n, err := notify.New(nc)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return n, nil
}

// stageMetrics reports stage outcomes to the metrics.
func stageMetrics(m *web.Metrics) func(stage string, d time.Duration, err error) {
	return func(stage string, d time.Duration, err error) {
		if err != nil {
			m.StageFailed(stage)
			return
		}
		m.StageDone(stage, d)
	}
}
