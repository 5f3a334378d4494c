// Command callrec is a self-hosted SIP media application for on-demand call
// recording with number masking. Run `callrec help` for usage.
//
// The command line is built with cobra: every sub-command lives in its own
// file as a newXCmd function (its flags and arguments) and a cmdX function
// (its work), so the work does not depend on cobra.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/callrec/callrec/internal/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status: 0 on
// success or help, 1 when the command failed, 2 for a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	return execute(args, os.Stdin, stdout, stderr)
}

// execute is run reading standard input from stdin.
func execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdin, stdout, stderr)
	// Never nil: cobra would read os.Args.
	root.SetArgs(normalizeLongFlags(root, args))
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	var f failure
	if errors.As(err, &f) {
		fmt.Fprintf(stderr, "callrec: %v\n", f.err)
		return 1
	}
	if errors.As(err, new(usageShown)) {
		return 2
	}
	// Anything else comes from parsing the command line: an unknown
	// command or flag, a bad flag value, the wrong number of arguments.
	fmt.Fprintf(stderr, "callrec: %s\n", strings.TrimRight(err.Error(), "\n"))
	fmt.Fprintf(stderr, "Run '%s' for usage.\n", helpCommandFor(cmd))
	return 2
}

// usageError is a mistake in the command line, found by a command's own
// checks: the exit status is 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// failure is an error from a command's work (not from its command line):
// the exit status is 1.
type failure struct{ err error }

func (f failure) Error() string { return f.err.Error() }
func (f failure) Unwrap() error { return f.err }

// usageShown is a usage error whose explanation is already printed.
type usageShown struct{}

func (usageShown) Error() string { return "usage shown" }

// work adapts a command's work to cobra's RunE: its errors are failures
// (exit 1) unless they are usage errors (exit 2).
func work(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := fn(cmd, args)
		var ue usageError
		if err == nil || errors.As(err, &ue) {
			return err
		}
		return failure{err}
	}
}

// helpCommandFor is the `callrec help …` invocation that explains cmd.
func helpCommandFor(cmd *cobra.Command) string {
	if cmd == nil || !cmd.HasParent() || cmd.Name() == "help" {
		return "callrec help"
	}
	return "callrec help " + strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// newRootCmd builds the whole command tree, reading from stdin and writing
// to stdout and stderr.
func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:     "callrec",
		Short:   "callrec records phone calls through a SIP trunk, masking the owner's number.",
		Version: version(),
		Example: `  callrec config example > callrec.yaml
  callrec config check --config callrec.yaml
  callrec serve --config callrec.yaml
  callrec calls list --json --limit 5
  callrec process call.wav --out out/
  callrec report out/transcript.json --out report.docx`,
		// Errors are printed by run, which knows their exit status.
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Only reached without arguments: cobra reports unknown
			// commands itself.
			writeHelp(cmd.ErrOrStderr(), cmd)
			return usageShown{}
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.Flags().BoolP("version", "v", false, "print the version")
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.SetHelpFunc(func(cmd *cobra.Command, _ []string) { writeHelp(cmd.OutOrStdout(), cmd) })
	root.SetUsageFunc(func(cmd *cobra.Command) error {
		writeUsage(cmd.OutOrStderr(), cmd)
		return nil
	})

	root.AddCommand(
		newServeCmd(),
		newCallsCmd(),
		newProcessCmd(),
		newReportCmd(),
		newPasswdCmd(),
		newConfigCmd(),
		newTrunkCmd(),
		newVersionCmd(),
	)
	root.SetHelpCommand(newHelpCmd())
	setUpCompletionCmd(root)
	return root
}

// exactArgs requires n positional arguments, and otherwise explains msg.
func exactArgs(n int, msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{msg}
		}
		return nil
	}
}

// noArgs refuses positional arguments.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Sprintf("%s takes no arguments (got %q)", strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" "), args[0])}
	}
	return nil
}

// needSubcommand is the RunE of a command that only groups others: it is
// reached without a sub-command or with an unknown one.
func needSubcommand(cmd *cobra.Command, args []string) error {
	var names []string
	for _, c := range inListOrder(cmd.Commands()) {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	if len(args) == 0 {
		return usageError{fmt.Sprintf("%s needs a subcommand: %s", cmd.Name(), orList(names))}
	}
	msg := fmt.Sprintf("unknown %s subcommand %q (want %s)", cmd.Name(), args[0], orList(names))
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg = fmt.Sprintf("unknown %s subcommand %q; did you mean %q?", cmd.Name(), args[0], s[0])
	}
	return usageError{msg}
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// normalizeLongFlags rewrites -name and -name=value into --name and
// --name=value when name is a long flag of some callrec command, so the
// single-dash spellings the standard flag package accepted still work.
// Arguments after "--" are left alone. The result is a new slice, never nil.
func normalizeLongFlags(root *cobra.Command, args []string) []string {
	long := map[string]bool{"help": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		visit := func(f *pflag.Flag) { long[f.Name] = true }
		c.Flags().VisitAll(visit)
		c.PersistentFlags().VisitAll(visit)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	out := make([]string, len(args))
	copy(out, args)
	for i, a := range out {
		if a == "--" {
			break
		}
		if len(a) < 3 || a[0] != '-' || a[1] == '-' {
			continue
		}
		name, _, _ := strings.Cut(a[1:], "=")
		if len(name) > 1 && long[name] {
			out[i] = "-" + a
		}
	}
	return out
}

// newVersionCmd is `callrec version`, the same as `callrec --version`.
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "version",
		Short:             "print the version",
		Long:              "Prints callrec's version: the module version it was built as, else dev.",
		Example:           "  callrec version\n  callrec --version",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: work(func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "callrec", version())
			return err
		}),
	}
}

// newHelpCmd is `callrec help [COMMAND]`. Unlike cobra's own, it fails
// (exit 2) on a command that does not exist.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]",
		Short: "show a command's help",
		Long:  "Shows what a command does, its flags and examples; without COMMAND, the list of commands.",
		Example: `  callrec help
  callrec help process
  callrec help calls list`,
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			parent, rest, err := cmd.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, c := range parent.Commands() {
				if c.IsAvailableCommand() && strings.HasPrefix(c.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(c.Name(), c.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := cmd.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return usageError{fmt.Sprintf("no help for %q: there is no such command", strings.Join(args, " "))}
			}
			target.InitDefaultHelpFlag()
			target.InitDefaultVersionFlag()
			return target.Help()
		},
	}
}

// setUpCompletionCmd adds cobra's `completion` command now rather than
// when it runs, to give it callrec's wording, examples and exit statuses.
func setUpCompletionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	comp, _, err := root.Find([]string{"completion"})
	if err != nil || comp == root {
		return
	}
	comp.Use = "completion SHELL"
	comp.Short = "print a shell completion script (bash, zsh, fish or powershell)"
	comp.Long = "Prints a script that completes callrec's commands, flags and arguments in the\n" +
		"given shell. Run 'callrec help completion SHELL' for how to load it."
	comp.Example = `  source <(callrec completion bash)
  callrec completion zsh > "${fpath[1]}/_callrec"
  callrec completion fish | source`
	comp.Args = nil // needSubcommand explains a missing or unknown shell
	comp.RunE = needSubcommand
	comp.SuggestionsMinimumDistance = 2
	for _, sh := range comp.Commands() {
		sh.Example = fmt.Sprintf("  callrec completion %s", sh.Name())
		switch sh.Name() {
		case "bash":
			sh.Example = "  source <(callrec completion bash)\n  callrec completion bash > ~/.local/share/bash-completion/completions/callrec"
		case "zsh":
			sh.Example = "  source <(callrec completion zsh)\n  callrec completion zsh > \"${fpath[1]}/_callrec\""
		case "fish":
			sh.Example = "  callrec completion fish | source\n  callrec completion fish > ~/.config/fish/completions/callrec.fish"
		case "powershell":
			sh.Example = "  callrec completion powershell | Out-String | Invoke-Expression"
		}
		sh.RunE = work(sh.RunE)
	}
}

// version is the module version callrec was built as, else "dev".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// addConfigFlag adds --config, stored in p.
func addConfigFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "config", "", "read the configuration from `FILE` (default $CALLREC_CONFIG, else ./callrec.yaml if present)")
	_ = cmd.MarkFlagFilename("config", "yaml", "yml")
}

// configPath is --config, else $CALLREC_CONFIG, else ./callrec.yaml when it
// exists, else "" (defaults and environment only).
func configPath(path string) string {
	if path == "" {
		path = os.Getenv("CALLREC_CONFIG")
	}
	if path == "" {
		if _, err := os.Stat("callrec.yaml"); err == nil {
			path = "callrec.yaml"
		}
	}
	return path
}

// loadConfig loads and validates the whole configuration, for the
// commands that need the telephony settings or the stores.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(configPath(path), os.Environ())
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

// loadProcessingConfig loads the config for commands that need no
// telephony settings: the numbers and trunk may be absent.
func loadProcessingConfig(path string) (*config.Config, error) {
	cfg, err := config.LoadProcessing(configPath(path), os.Environ())
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

// newLogger makes the logger log.level and log.format ask for, writing to w.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
