package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/callrec/callrec/internal/app"
)

// newServeCmd is `callrec serve`.
func newServeCmd() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "answer calls and record them",
		Long: `Answers calls from the SIP trunk, runs the recording flow and stores call
records and recordings under data_dir. SIGTERM or SIGINT stops taking calls
(503), lets calls finish for shutdown_grace and finalises every recording.
SIGHUP re-reads the SIP TLS certificate and key (sip.tls_cert, sip.tls_key):
new connections get the new certificate; a file that does not load keeps the
old one, and the log says why.`,
		Example: `  callrec serve --config callrec.yaml
  CALLREC_CONFIG=callrec.yaml callrec serve
  CALLREC_SIP_LISTEN=0.0.0.0:5070 callrec serve --config callrec.yaml`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: work(func(cmd *cobra.Command, _ []string) error {
			return cmdServe(cmd.Context(), cfgPath, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}),
	}
	addConfigFlag(cmd, &cfgPath)
	return cmd
}

// cmdServe serves until SIGTERM or SIGINT, logging to stderr; what the
// person who started it must see (the first start's set-up link) also goes
// to stdout.
func cmdServe(ctx context.Context, cfgPath string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return app.Serve(ctx, cfg, log, stdout, reloadOnHangup(ctx))
}

// reloadOnHangup turns each SIGHUP into a value on the returned channel
// until ctx ends. A SIGHUP that arrives while one is still waiting to be
// handled is merged with it.
func reloadOnHangup(ctx context.Context) <-chan struct{} {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP)
	reload := make(chan struct{}, 1)
	go func() {
		defer signal.Stop(sigs)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sigs:
				select {
				case reload <- struct{}{}:
				default:
				}
			}
		}
	}()
	return reload
}
