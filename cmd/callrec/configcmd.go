package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/callrec/callrec/internal/config"
)

// newConfigCmd is `callrec config` and its sub-commands.
func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "print or check the configuration",
		Long: `Prints a documented config file to start from, or checks a configuration
(the file and the CALLREC_* environment variables) the way serve would.`,
		Example: `  callrec config example > callrec.yaml
  callrec config check --config callrec.yaml`,
		RunE:                       needSubcommand,
		SuggestionsMinimumDistance: 2,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "example",
		Short: "print a documented config file",
		Long: `Prints a config file with every key, its default and what it does. Edit the
numbers and trunk.address for your provider.`,
		Example:           "  callrec config example > callrec.yaml",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: work(func(cmd *cobra.Command, _ []string) error {
			return cmdConfigExample(cmd.OutOrStdout())
		}),
	})
	var cfgPath string
	check := &cobra.Command{
		Use:   "check",
		Short: "validate the configuration and exit",
		Long: `Loads the configuration as serve does (the config file, then the CALLREC_*
environment variables) and reports every problem, naming the key at fault.`,
		Example: `  callrec config check --config callrec.yaml
  CALLREC_CONFIG=callrec.yaml CALLREC_SIP_LISTEN=0.0.0.0:5070 callrec config check`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: work(func(cmd *cobra.Command, _ []string) error {
			return cmdConfigCheck(cfgPath, cmd.OutOrStdout())
		}),
	}
	addConfigFlag(check, &cfgPath)
	cmd.AddCommand(check)
	return cmd
}

// cmdConfigExample prints the documented example config file.
func cmdConfigExample(stdout io.Writer) error {
	_, err := fmt.Fprint(stdout, config.ExampleYAML)
	return err
}

// cmdConfigCheck loads the configuration and says whether it is valid.
func cmdConfigCheck(cfgPath string, stdout io.Writer) error {
	if _, err := loadConfig(cfgPath); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "configuration is valid")
	return nil
}
