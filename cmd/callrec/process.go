package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/callrec/callrec/internal/app"
)

// processOptions are the flags of `callrec process`.
type processOptions struct {
	configPath string // --config
	out        string // --out
	engine     string // --engine
}

// newProcessCmd is `callrec process`.
func newProcessCmd() *cobra.Command {
	var o processOptions
	cmd := &cobra.Command{
		Use:   "process FILE.wav|FILE.json",
		Short: "transcribe, analyse and render one file",
		Long: `Runs the post-call stages on one file without a server: a stereo WAV (channel 0 =
owner, channel 1 = other party, 8 or 16 kHz) is transcribed, analysed and rendered;
a transcript JSON (callrec's, or Amazon Transcribe Call Analytics output) skips
transcription. Outputs go to DIR, and their paths are printed. The config file is
optional here: only its transcribe and analytics keys are used.`,
		Example: `  # transcript, analytics and reports of a recording, in out/
  callrec process call.wav --out out/

  # with another engine than transcribe.engine
  callrec process call.wav --engine openai --config callrec.yaml

  # render again from a transcript (no transcription)
  callrec process out/transcript.json --out out2/`,
		Args: exactArgs(1, "process needs exactly one FILE.wav or FILE.json"),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return []cobra.Completion{"wav", "json"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: work(func(cmd *cobra.Command, args []string) error {
			return cmdProcess(cmd.Context(), args[0], o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}),
	}
	addConfigFlag(cmd, &o.configPath)
	cmd.Flags().StringVar(&o.out, "out", "", "write the outputs to `DIR` (default: FILE's name without extension, beside it)")
	cmd.Flags().StringVar(&o.engine, "engine", "", "transcribe with the engine `NAME` (sphinx, openai or aws) instead of transcribe.engine")
	_ = cmd.MarkFlagDirname("out")
	_ = cmd.RegisterFlagCompletionFunc("engine", cobra.FixedCompletions([]cobra.Completion{"sphinx", "openai", "aws"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// cmdProcess runs the post-call stages on input and prints the files
// written, one a line; progress goes to stderr.
func cmdProcess(ctx context.Context, input string, o processOptions, stdout, stderr io.Writer) error {
	if _, err := os.Stat(input); err != nil {
		return err
	}
	cfg, err := loadProcessingConfig(o.configPath)
	if err != nil {
		return err
	}
	dir := o.out
	if dir == "" {
		dir = strings.TrimSuffix(input, filepath.Ext(input))
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	written, err := app.Process(ctx, cfg, app.ProcessOptions{
		Input: input, OutDir: dir, Engine: o.engine,
		Progress: stderr, Terminal: isTerminal(stderr),
	})
	if err != nil {
		return err
	}
	for _, w := range written {
		fmt.Fprintln(stdout, w)
	}
	return nil
}
