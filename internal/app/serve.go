// Package app wires callrec's parts together: `callrec serve` (the SIP
// stack, the call runtime with its flow, the job queue running the
// post-call pipeline, and the web side, on one call store and one blob
// store) and `callrec process` (the same pipeline on one file).
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"
	"golang.org/x/sync/errgroup"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/config"
	"github.com/callrec/callrec/internal/media/codec"
	"github.com/callrec/callrec/internal/media/stream"
	"github.com/callrec/callrec/internal/metrics"
	"github.com/callrec/callrec/internal/notify"
	"github.com/callrec/callrec/internal/pipeline"
	"github.com/callrec/callrec/internal/prompts"
	"github.com/callrec/callrec/internal/queue"
	"github.com/callrec/callrec/internal/report"
	"github.com/callrec/callrec/internal/runtime"
	"github.com/callrec/callrec/internal/signed"
	"github.com/callrec/callrec/internal/sip"
	"github.com/callrec/callrec/internal/storage"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/stunaddr"
	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/web"
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

// Serve runs callrec until ctx is cancelled (or a part of it fails), then
// shuts down gracefully: new calls get 503, calls in progress may finish
// within cfg.ShutdownGrace, every recording is finalised, and running
// stages may finish within the same grace. What the person who started it
// must act on (the set-up link of a first start) goes to the log and to
// term. Each value received on reload re-reads the SIP TLS certificate
// (SIGHUP); reload may be nil.
func Serve(ctx context.Context, cfg *config.Config, log *slog.Logger, term io.Writer, reload <-chan struct{}) error {
	// sipgo keeps its UDP size limit in a package variable; large INVITEs
	// would otherwise fail to send.
	sipgosip.UDPMTUSize = cfg.SIP.UDPMTU
	// sipgo also logs some lines (connection reference counting, per
	// connection) through its package logger, slog.Default unless set:
	// quiet it as the SIP server quiets the loggers it gives sipgo.
	sipgosip.SetDefaultLogger(sip.LibraryLogger(log))
	// Every TCP connection, RTP socket and recording is a file: use all
	// the process may open.
	oldFiles, files, err := sip.RaiseFileLimit()
	if err != nil {
		log.Warn("could not raise the open-file limit", "err", err, "open_file_limit", oldFiles)
	} else {
		log.Info("open-file limit", "open_file_limit", files, "was", oldFiles)
	}

	st, bs, err := OpenStores(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	flow, err := newFlow(cfg)
	if err != nil {
		return err
	}
	pr, err := runtime.LoadPrompts(prompts.Builtin(), cfg.PromptsDir)
	if err != nil {
		return err
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
	secret, err := signed.LoadOrCreateSecret(cfg.LinkSecretFile())
	if err != nil {
		return fmt.Errorf("web.secret_file: %w", err)
	}
	signer, err := signed.New(secret)
	if err != nil {
		return fmt.Errorf("web.secret_file: %w", err)
	}
	mets := metrics.New()
	minBytes, minShare, err := cfg.Storage.MinFreeRule()
	if err != nil {
		return fmt.Errorf("storage.min_free: %w", err)
	}
	notifier, err := newNotifier(cfg, signer, bs, log)
	if err != nil {
		return err
	}
	disk, err := storage.New(storage.Config{
		Dir: cfg.DataDir, MinFreeBytes: minBytes, MinFreeShare: minShare, Every: cfg.Storage.CheckEvery.D(),
		Metrics: mets, Logger: log, OnLow: storageAlert(notifier, log),
	})
	if err != nil {
		return err
	}

	runner, err := newRunner(cfg, notifier, report.Options{Location: time.Local, Logger: log})
	if err != nil {
		return err
	}
	defer runner.Close()
	q, err := queue.New(ctx, queue.Config{
		Store: st, Blob: bs, Runner: runner, Metrics: mets, Logger: log,
		Workers: cfg.Pipeline.Workers, MaxAttempts: cfg.Pipeline.MaxAttempts, StageTimeout: cfg.Pipeline.StageTimeout.D(),
		NotifyRetryFor: cfg.Notify.RetryFor.D(), NotifyBackoffMax: cfg.Notify.RetryBackoffMax.D(),
		RetentionDays: cfg.Retention.Days, ScratchDir: filepath.Join(cfg.DataDir, "scratch"),
	})
	if err != nil {
		return err
	}

	sdpAddr, err := mediaExternal(ctx, cfg, mediaAddr, log)
	if err != nil {
		return err
	}

	// Sockets are bound from here on: every error path closes them.
	sipCfg, err := SIPConfig(cfg, log)
	if err != nil {
		return err
	}
	sipCfg.FileLimit, sipCfg.Metrics = files, mets
	sipSrv, err := sip.NewServer(sipCfg)
	if err != nil {
		return err
	}
	sipServed := false
	defer func() {
		if !sipServed {
			sipSrv.Close()
		}
	}()
	if err := DiscoverSIPExternal(ctx, cfg, sipSrv, log); err != nil {
		return err
	}
	codecs, err := mediaCodecs(cfg.Media.Codecs)
	if err != nil {
		return err
	}
	mediaTimeout := cfg.Media.Timeout.D()
	if mediaTimeout == 0 {
		mediaTimeout = -1 // "0s": off
	}
	mediaClock := stream.NewClock()
	engine, err := runtime.New(runtime.Config{
		MediaAddress:       sdpAddr,
		Ports:              ports,
		Handler:            flow,
		Dialer:             runtime.SIPDialer(sipSrv),
		Prompts:            pr,
		Store:              st,
		Blob:               bs,
		SpoolDir:           filepath.Join(cfg.DataDir, "spool"),
		ServiceNumber:      cfg.ServiceNumber,
		OwnerNumber:        cfg.OwnerNumber,
		MaxConcurrentCalls: cfg.MaxConcurrentCalls,
		Logger:             log,
		Enqueue:            q.EnqueueTx,
		Metrics:            mets,
		Storage:            disk,
		RejectWhenFull:     cfg.Storage.WhenFull == config.StorageReject,
		Codecs:             codecs,
		SRTP:               cfg.Media.SRTP,
		MediaTimeout:       mediaTimeout,
		Clock:              mediaClock,
	})
	if err != nil {
		return err
	}
	if err := engine.Recover(ctx); err != nil {
		return err
	}
	mets.SetActiveCalls(func() float64 { return float64(engine.Active()) })

	var httpSrv *http.Server
	var ln net.Listener
	if cfg.Web.Listen != "" {
		ws, err := web.New(web.Config{
			Store: st, Blob: bs, Signer: signer, Retrier: q,
			PublicURL: cfg.BaseURL(), PasswordHash: cfg.Web.PasswordHash, APITokens: cfg.Web.APITokens,
			LinkTTL: cfg.Web.LinkTTL.D(), SecureCookies: strings.HasPrefix(cfg.BaseURL(), "https://"),
			Location: time.Local, Logger: log, Metrics: mets, RetentionDays: cfg.Retention.Days,
			Storage: disk.Check,
		})
		if err != nil {
			return fmt.Errorf("web: %w", err)
		}
		if ln, err = net.Listen("tcp", cfg.Web.Listen); err != nil {
			return fmt.Errorf("web.listen %s: %w", cfg.Web.Listen, err)
		}
		httpSrv = &http.Server{Handler: ws.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		link, err := ws.SetupLink(ctx)
		if err != nil {
			ln.Close()
			return fmt.Errorf("web: %w", err)
		}
		if link != "" {
			log.Warn("no owner password is set yet: open the set-up link to choose it (it works once, for an hour)", "url", link)
			fmt.Fprintf(term, "\nFirst start: choose the owner's password at\n\n    %s\n\n(the link works once, for an hour; restart callrec for a new one)\n\n", link)
		}
	}
	if err := q.Start(context.WithoutCancel(ctx)); err != nil {
		if ln != nil {
			ln.Close()
		}
		return err
	}

	// Every goroutine from here on belongs to g. The last one shuts the
	// others down, in order, when ctx ends or one of them fails.
	sipServed = true
	g, gctx := errgroup.WithContext(ctx)
	sipCtx, stopSIP := context.WithCancel(context.Background())
	defer stopSIP()
	g.Go(func() error { return sipSrv.Serve(sipCtx, engine) })
	g.Go(func() error { disk.Run(sipCtx); return nil })
	g.Go(func() error { mediaClock.Run(sipCtx); return nil }) // until every call has ended
	if cfg.Trunk.Register {
		g.Go(func() error { sipSrv.RegisterLoop(sipCtx, cfg.Trunk.RegisterExpiry.D()); return nil })
	}
	if reload != nil {
		g.Go(func() error {
			for {
				select {
				case <-gctx.Done():
					return nil
				case <-reload:
					_ = sipSrv.ReloadTLS() // logs what it loaded, or why it kept the old certificate
				}
			}
		})
	}
	if httpSrv != nil {
		g.Go(func() error {
			if err := httpSrv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("web: %w", err)
			}
			return nil
		})
	}
	log.Info("callrec serving", "sip", cfg.SIP.Listen, "sip_advertised", sipSrv.Advertised(), "sip_tls", sipSrv.TLSAddr(),
		"web", cfg.Web.Listen, "media_address", cfg.SIP.MediaAddress, "sdp_address", sdpAddr,
		"rtp_ports", cfg.SIP.RTPPorts, "trunk", cfg.Trunk.Address, "data_dir", cfg.DataDir)
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down: refusing new calls", "active_calls", engine.Active(), "grace", cfg.ShutdownGrace.D())
		sipSrv.Drain()
		graceCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace.D())
		engine.Shutdown(graceCtx)
		cancel()
		stopSIP() // Serve waits for the responses of requests still being handled
		if httpSrv != nil {
			hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = httpSrv.Shutdown(hctx)
			cancel()
		}
		qctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace.D())
		q.Stop(qctx)
		cancel()
		return nil
	})
	err = g.Wait()
	log.Info("callrec stopped")
	return err
}

// SIPConfig is the SIP stack's configuration from cfg (without the file
// limit and metrics, which belong to a serving process). sip.external_address
// "auto" is left out: the caller discovers it (DiscoverSIPExternal).
func SIPConfig(cfg *config.Config, log *slog.Logger) (sip.Config, error) {
	sources, err := cfg.AllowedSources()
	if err != nil {
		return sip.Config{}, fmt.Errorf("trunk.allowed_sources: %w", err)
	}
	external := cfg.SIP.ExternalAddress
	if external == config.ExternalAuto {
		external = ""
	}
	return sip.Config{
		Listen:             cfg.SIP.Listen,
		UserAgent:          cfg.SIP.UserAgent,
		TrunkAddress:       cfg.Trunk.Address,
		TrunkTransport:     cfg.Trunk.Transport,
		TrunkDomain:        cfg.Trunk.DomainName(),
		Username:           cfg.Trunk.Username,
		Password:           cfg.Trunk.Password,
		AllowedSources:     sources,
		ExternalAddress:    external,
		TLSListen:          cfg.SIP.TLSListen,
		TLSCertFile:        cfg.SIP.TLSCert,
		TLSKeyFile:         cfg.SIP.TLSKey,
		TrunkTLSCAFile:     cfg.Trunk.TLSCA,
		TrunkTLSServerName: cfg.Trunk.TLSServerName,
		Keepalive:          cfg.Trunk.Keepalive.D(),
		SessionExpires:     cfg.SIP.SessionExpires.D(),
		MinSE:              cfg.SIP.MinSE.D(),

		RejectUntrusted:        sip.UntrustedPolicy(cfg.SIP.RejectUntrusted),
		TCPMaxConnections:      cfg.SIP.TCPMaxConnections,
		TCPMaxPerSource:        cfg.SIP.TCPMaxPerSource,
		TCPFirstMessageTimeout: cfg.SIP.TCPFirstMessageTimeout.D(),
		TCPIdleTimeout:         cfg.SIP.TCPIdleTimeout.D(),
		RejectLogInterval:      cfg.SIP.RejectLogInterval.D(),
		Logger:                 log,
	}, nil
}

// stunTimeout bounds the discovery of an external address at start.
const stunTimeout = 10 * time.Second

// DiscoverSIPExternal asks media.stun_server, from the SIP server's UDP
// socket, for the address it is seen at, when sip.external_address is
// "auto", and advertises it. Failure is an error naming the key.
func DiscoverSIPExternal(ctx context.Context, cfg *config.Config, srv *sip.Server, log *slog.Logger) error {
	if cfg.SIP.ExternalAddress != config.ExternalAuto {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, stunTimeout)
	defer cancel()
	found, err := srv.DiscoverExternal(ctx, func(ctx context.Context, pc net.PacketConn) (netip.AddrPort, error) {
		return stunaddr.Discover(ctx, pc, cfg.Media.StunServer)
	})
	if err != nil {
		return fmt.Errorf("sip.external_address auto: asking media.stun_server %s: %w", cfg.Media.StunServer, err)
	}
	log.Info("SIP external address discovered with STUN", "stun_server", cfg.Media.StunServer, "listen", cfg.SIP.Listen, "external", found)
	return nil
}

// mediaExternal is the address written in SDP: media.external_address
// when it is an IP, the address media.stun_server sees a UDP socket on
// sip.media_address come from when it is "auto", else sip.media_address.
func mediaExternal(ctx context.Context, cfg *config.Config, mediaAddr netip.Addr, log *slog.Logger) (netip.Addr, error) {
	switch ext := cfg.Media.ExternalAddress; ext {
	case "":
		return mediaAddr, nil
	case config.ExternalAuto:
		pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(mediaAddr, 0)))
		if err != nil {
			return netip.Addr{}, fmt.Errorf("media.external_address auto: socket on sip.media_address: %w", err)
		}
		defer pc.Close()
		ctx, cancel := context.WithTimeout(ctx, stunTimeout)
		defer cancel()
		found, err := stunaddr.Discover(ctx, pc, cfg.Media.StunServer)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("media.external_address auto: asking media.stun_server %s: %w", cfg.Media.StunServer, err)
		}
		log.Info("media external address discovered with STUN", "stun_server", cfg.Media.StunServer,
			"media_address", mediaAddr, "external", found.Addr())
		return found.Addr(), nil
	default:
		a, err := netip.ParseAddr(ext)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("media.external_address: %w", err)
		}
		return a, nil
	}
}

// newFlow makes the call flow from the numbers and limits of cfg.
func newFlow(cfg *config.Config) (*callflow.Handler, error) {
	h, err := callflow.NewHandler(callflow.Config{
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
		return nil, fmt.Errorf("call flow: %w", err)
	}
	return h, nil
}

// newRunner makes the pipeline's runner: the engine transcribe.engine
// names (made on first use), analytics with the categories file, the
// report renderer and notifier.
func newRunner(cfg *config.Config, notifier pipeline.Notifier, ropt report.Options) (*pipeline.Runner, error) {
	aopt, err := AnalyticsOptions(cfg)
	if err != nil {
		return nil, err
	}
	return pipeline.NewRunner(pipeline.Config{
		Engine:    func() (transcribe.Engine, error) { return NewEngine(context.Background(), cfg) },
		Analytics: aopt,
		Renderer:  report.New(ropt),
		Notifier:  notifier,
	})
}

// notifier tells the owner of processed calls and of problems.
type notifier interface {
	pipeline.Notifier
	notify.Alerter
}

// newNotifier makes the notifier notify.* describes: one that only logs
// and records when neither email nor webhook is set.
func newNotifier(cfg *config.Config, signer *signed.Signer, bs blob.Store, log *slog.Logger) (notifier, error) {
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
		return notify.LogNotifier{Blob: bs, Logger: log}, nil
	}
	n, err := notify.New(nc)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return n, nil
}

// storageAlert tells the owner the disk is low (the notifier sends it at
// most once a day).
func storageAlert(n notify.Alerter, log *slog.Logger) func(reason string) {
	return func(reason string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := n.Alert(ctx, notify.Alert{
			Kind:    "storage-low",
			Subject: "callrec: the disk is almost full",
			Text: reason + "\n\nWhen the disk is full, calls are still connected but not recorded, and their " +
				"records are written once there is room. Free some space, or delete old calls in the call browser.",
		})
		if err != nil {
			log.Warn("the owner could not be told the disk is low", "err", err)
		}
	}
}

// mediaCodecs reads media.codecs.
func mediaCodecs(names []string) ([]codec.Codec, error) {
	out := make([]codec.Codec, 0, len(names))
	for _, n := range names {
		c, ok := codec.ByName(n)
		if !ok {
			return nil, fmt.Errorf("media.codecs: %q is not a codec callrec speaks", n)
		}
		out = append(out, c)
	}
	return out, nil
}
