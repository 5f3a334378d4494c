package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/callrec/callrec/internal/app"
	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/display"
	"github.com/callrec/callrec/internal/store"
)

// newCallsCmd is `callrec calls` and its sub-commands.
func newCallsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "calls",
		Short: "list and show call records",
		Long: `Reads the call records serve keeps (in data_dir, or database.url), with the
recording's path when it is a local file.`,
		Example: `  callrec calls list --limit 20
  callrec calls show 3f1c2a9e-5b7d-4c1e-9a0b-2d6e8f4a1c37`,
		RunE:                       needSubcommand,
		SuggestionsMinimumDistance: 2,
	}
	cmd.AddCommand(newCallsListCmd(), newCallsShowCmd())
	return cmd
}

// listOptions are the flags of `callrec calls list`.
type listOptions struct {
	configPath string // --config
	json       bool   // --json
	limit      int    // --limit
	offset     int    // --offset
	party      string // --party
	direction  string // --direction
}

// newCallsListCmd is `callrec calls list`.
func newCallsListCmd() *cobra.Command {
	var o listOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list call records, newest first",
		Long: `Lists call records, newest first: a table, or with --json an array of records
(id, direction, party, times, status, recording state and file, ...).`,
		Example: `  callrec calls list
  callrec calls list --json --limit 5
  callrec calls list --party 7700 --direction inbound --offset 100 --config callrec.yaml`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: work(func(cmd *cobra.Command, _ []string) error {
			return cmdCallsList(cmd.Context(), o, cmd.OutOrStdout())
		}),
	}
	addConfigFlag(cmd, &o.configPath)
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print a JSON array")
	f.IntVar(&o.limit, "limit", 100, "list at most `N` calls")
	f.IntVar(&o.offset, "offset", 0, "skip the `N` newest calls")
	f.StringVar(&o.party, "party", "", "only calls whose other party's number contains `TEXT`")
	f.StringVar(&o.direction, "direction", "", "only calls in this `DIRECTION`: inbound or outbound")
	_ = cmd.RegisterFlagCompletionFunc("direction", cobra.FixedCompletions([]cobra.Completion{"inbound", "outbound"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("party", cobra.NoFileCompletions)
	return cmd
}

// showOptions are the flags of `callrec calls show`.
type showOptions struct {
	configPath string // --config
	json       bool   // --json
}

// newCallsShowCmd is `callrec calls show`.
func newCallsShowCmd() *cobra.Command {
	var o showOptions
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "show one call record and its post-call stages",
		Long: `Shows one call record and the state of each post-call stage (transcribe,
analyze, render, notify): attempts, output and last error.`,
		Example: `  callrec calls show 3f1c2a9e-5b7d-4c1e-9a0b-2d6e8f4a1c37
  callrec calls show 3f1c2a9e-5b7d-4c1e-9a0b-2d6e8f4a1c37 --json --config callrec.yaml`,
		Args:              exactArgs(1, "calls show needs exactly one call ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: work(func(cmd *cobra.Command, args []string) error {
			return cmdCallsShow(cmd.Context(), args[0], o, cmd.OutOrStdout())
		}),
	}
	addConfigFlag(cmd, &o.configPath)
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON")
	return cmd
}

// openForReading opens the stores read-side for the calls commands.
func openForReading(ctx context.Context, cfgPath string) (*store.Store, blob.Store, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, nil, err
	}
	return app.OpenStores(ctx, cfg)
}

// fillRecordingFile sets c.RecordingFile when the recording is a local
// file that exists.
func fillRecordingFile(c *store.Call, bs blob.Store) {
	if c.RecordingKey == "" {
		return
	}
	if l, ok := bs.(blob.Localer); ok {
		if p, ok := l.LocalPath(c.RecordingKey); ok {
			if _, err := os.Stat(p); err == nil {
				c.RecordingFile = p
			}
		}
	}
}

// cmdCallsList prints the call records o selects.
func cmdCallsList(ctx context.Context, o listOptions, stdout io.Writer) error {
	if o.direction != "" && o.direction != "inbound" && o.direction != "outbound" {
		return usageError{"--direction must be inbound or outbound"}
	}
	st, bs, err := openForReading(ctx, o.configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.ListCalls(ctx, store.ListOptions{Limit: o.limit, Offset: o.offset, Party: o.party, Direction: o.direction})
	if err != nil {
		return err
	}
	for i := range list {
		fillRecordingFile(&list[i], bs)
	}
	if o.json {
		if list == nil {
			list = []store.Call{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tDIRECTION\tPARTY\tDURATION\tSTATUS\tRECORDING\tID")
	for _, c := range list {
		dur := "-"
		if c.AnsweredAt != nil && c.EndedAt != nil {
			dur = display.Duration(calls.Duration(&c))
		}
		party := c.Party
		if party == "" {
			party = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.StartedAt.Local().Format("2006-01-02 15:04:05"), c.Direction, party, dur, c.Status, c.RecordingState, c.ID)
	}
	return tw.Flush()
}

// cmdCallsShow prints the call record id and its stages.
func cmdCallsShow(ctx context.Context, id string, o showOptions, stdout io.Writer) error {
	st, bs, err := openForReading(ctx, o.configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.GetCall(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no call with ID %q (see 'callrec calls list')", id)
		}
		return err
	}
	fillRecordingFile(c, bs)
	stages, err := st.Stages(ctx, c.ID)
	if err != nil {
		return err
	}
	calls.SortStages(stages)
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*store.Call
			Stages []store.Stage `json:"stages"`
		}{c, append([]store.Stage{}, stages...)})
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, k := range []string{"id", "direction", "party", "owner_number", "service_number", "started_at", "answered_at", "ended_at", "status", "hangup_cause", "sip_status", "recording_state", "recording_duration_ms", "recording_key", "recording_file", "pauses"} {
		v, ok := m[k]
		if !ok || v == nil {
			continue
		}
		s := fmt.Sprint(v)
		if k == "pauses" {
			pb, _ := json.Marshal(v)
			s = string(pb)
		}
		fmt.Fprintf(tw, "%s:\t%s\n", strings.ReplaceAll(k, "_", " "), s)
	}
	for _, q := range c.Quality {
		fmt.Fprintf(tw, "quality, %s:\t%s\n", strings.ToLower(calls.QualityWho(q)), calls.QualitySummary(q))
	}
	for _, sg := range stages {
		line := sg.State
		if sg.Attempts > 0 {
			line += fmt.Sprintf(" (attempt %d)", sg.Attempts)
		}
		if out := sg.AllOutputs(); len(out) > 0 {
			line += " → " + strings.Join(out, ", ")
		}
		if sg.LastError != "" {
			line += " — last error: " + sg.LastError
		}
		if sg.NextAttemptAt != nil {
			line += " — next try at " + sg.NextAttemptAt.Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "stage %s:\t%s\n", sg.Name, line)
	}
	return tw.Flush()
}
