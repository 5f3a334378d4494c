package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"
	"github.com/spf13/cobra"

	"github.com/callrec/callrec/internal/app"
	"github.com/callrec/callrec/internal/config"
	"github.com/callrec/callrec/internal/sip"
)

// newTrunkCmd is `callrec trunk` and its sub-commands.
func newTrunkCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trunk",
		Short: "check the SIP trunk",
		Long:  `Checks the SIP trunk the configuration names.`,
		Example: `  callrec trunk check --config callrec.yaml
  callrec trunk check --from-listen --config callrec.yaml`,
		RunE:                       needSubcommand,
		SuggestionsMinimumDistance: 2,
	}
	var (
		cfgPath    string
		fromListen bool
		timeout    time.Duration
	)
	check := &cobra.Command{
		Use:   "check",
		Short: "ask the trunk for OPTIONS (and REGISTER) and show what it answered",
		Long: `Sends OPTIONS to trunk.address over trunk.transport and prints what came back:
the status line, the round-trip time, the trunk's Server (or User-Agent),
Allow and Supported headers, the address the trunk saw the request come from
(Via received/rport: the NAT's mapping of callrec's socket, to compare with
sip.external_address) and, over TLS, the trunk's certificate (subject, issuer,
expiry). With trunk.register on it then REGISTERs (answering the digest
challenge with trunk.username and trunk.password) and un-registers at once
(Expires: 0).

The check sends from a temporary SIP socket on an ephemeral port of
sip.listen's address, so it can run beside callrec serve. With --from-listen
it binds sip.listen itself (stop callrec serve first): use it when the trunk
or a firewall only accepts callrec's own port.

Exits 0 when the trunk answered, 1 when it did not (no answer in time,
connection refused, TLS failure, credentials refused).`,
		Example: `  callrec trunk check --config callrec.yaml
  callrec trunk check --from-listen --config callrec.yaml
  CALLREC_TRUNK_TRANSPORT=tls callrec trunk check --timeout 5s`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: work(func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			return cmdTrunkCheck(cmd.Context(), cfg, trunkCheckOptions{fromListen: fromListen, timeout: timeout}, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}),
	}
	addConfigFlag(check, &cfgPath)
	check.Flags().BoolVar(&fromListen, "from-listen", false, "send from sip.listen itself instead of an ephemeral port (callrec serve must not be running)")
	check.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long to wait for each answer, as a `DURATION` such as 5s")
	cmd.AddCommand(check)
	return cmd
}

// trunkCheckOptions are the flags of callrec trunk check.
type trunkCheckOptions struct {
	fromListen bool
	timeout    time.Duration
}

// refuseCalls is the call handler of the check's temporary SIP server: it
// takes no calls.
type refuseCalls struct{}

func (refuseCalls) Admit() error               { return errors.New("callrec trunk check takes no calls") }
func (refuseCalls) HandleCall(*sip.InboundLeg) {}

// cmdTrunkCheck runs the check and prints its report to stdout; warnings
// go to stderr.
func cmdTrunkCheck(ctx context.Context, cfg *config.Config, opts trunkCheckOptions, stdout, stderr io.Writer) error {
	if opts.timeout <= 0 {
		opts.timeout = 10 * time.Second
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sipgosip.SetDefaultLogger(sip.LibraryLogger(log))
	sipCfg, err := app.SIPConfig(cfg, log)
	if err != nil {
		return err
	}
	if !opts.fromListen {
		host, _, err := net.SplitHostPort(cfg.SIP.Listen)
		if err != nil {
			return fmt.Errorf("sip.listen: %w", err)
		}
		sipCfg.Listen = net.JoinHostPort(host, "0")
	}
	sipCfg.TLSListen, sipCfg.Keepalive = "", 0 // the check serves no one
	srv, err := sip.NewServer(sipCfg)
	if err != nil {
		return err
	}
	if err := app.DiscoverSIPExternal(ctx, cfg, srv, log); err != nil {
		srv.Close()
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, refuseCalls{}) }()
	defer func() { stop(); <-served }()

	fmt.Fprintf(stdout, "trunk %s over %s, from %s (advertised as %s)\n",
		cfg.Trunk.Address, strings.ToUpper(cfg.Trunk.Transport), sipCfg.Listen, srv.Advertised())
	cctx, cancel := context.WithTimeout(ctx, opts.timeout)
	check, err := srv.CheckTrunk(cctx)
	cancel()
	if check != nil {
		printCheck(stdout, check)
	}
	if err != nil {
		return trunkCheckError("OPTIONS", err, opts.timeout)
	}
	if !cfg.Trunk.Register {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, opts.timeout)
	granted, err := srv.Register(rctx, cfg.Trunk.RegisterExpiry.D())
	cancel()
	if err != nil {
		return trunkCheckError("REGISTER", err, opts.timeout)
	}
	fmt.Fprintf(stdout, "REGISTER: registered, for %s\n", granted)
	uctx, cancel := context.WithTimeout(ctx, opts.timeout)
	_, err = srv.Register(uctx, 0)
	cancel()
	if err != nil {
		return trunkCheckError("un-REGISTER (Expires: 0)", err, opts.timeout)
	}
	fmt.Fprintln(stdout, "un-REGISTER: done (Expires: 0)")
	return nil
}

// printCheck writes what the trunk answered to the OPTIONS.
func printCheck(w io.Writer, c *sip.TrunkCheck) {
	fmt.Fprintf(w, "OPTIONS: %d %s in %s\n", c.StatusCode, c.Reason, c.RoundTrip.Round(100*time.Microsecond))
	line := func(name, value string) {
		if value == "" {
			value = "(none)"
		}
		fmt.Fprintf(w, "  %-12s %s\n", name+":", value)
	}
	line("server", c.Server)
	line("allow", c.Allow)
	line("supported", c.Supported)
	seen := c.SeenAt
	if seen != "" {
		seen += "  (Via received/rport: where the trunk saw this socket; the NAT's mapping)"
	}
	line("seen at", seen)
	if cert := c.Certificate; cert != nil {
		line("certificate", cert.Subject.String())
		line("issuer", cert.Issuer.String())
		line("expires", cert.NotAfter.UTC().Format(time.RFC3339))
	}
}

// trunkCheckError says which step failed and why, in words a person can
// act on.
func trunkCheckError(step string, err error, timeout time.Duration) error {
	msg := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "timed out") || strings.Contains(msg, "Timer_B"):
		return fmt.Errorf("trunk did not answer %s within %s (check trunk.address, trunk.transport and the firewall): %w", step, timeout, err)
	case strings.Contains(msg, "connection refused"):
		return fmt.Errorf("trunk refused the connection for %s (nothing listens at trunk.address over trunk.transport?): %w", step, err)
	case strings.Contains(msg, "TLS") || strings.Contains(msg, "x509") || strings.Contains(msg, "tls:"):
		return fmt.Errorf("TLS with the trunk failed for %s (check trunk.tls_server_name and trunk.tls_ca): %w", step, err)
	case strings.Contains(msg, " 401 ") || strings.Contains(msg, " 403 ") || strings.Contains(msg, " 407 ") || strings.Contains(msg, "credentials"):
		return fmt.Errorf("trunk refused %s: check trunk.username and trunk.password: %w", step, err)
	}
	return fmt.Errorf("%s failed: %w", step, err)
}
