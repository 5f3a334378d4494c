package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// configHelp ends the root help: where the configuration comes from.
const configHelp = `Flags may come before or after a command's arguments.

The config file is YAML (see 'callrec config example'). --config defaults to
$CALLREC_CONFIG, else ./callrec.yaml when it exists. Every key can also be set
by an environment variable: CALLREC_ and the key's path in upper case with
dots as underscores (sip.listen -> CALLREC_SIP_LISTEN; lists comma-separated).
`

// writeHelp writes cmd's help: what it does, then its usage.
func writeHelp(w io.Writer, cmd *cobra.Command) {
	desc := cmd.Long
	if desc == "" {
		desc = cmd.Short
	}
	if desc = strings.TrimSpace(desc); desc != "" {
		fmt.Fprintf(w, "%s\n\n", desc)
	}
	writeUsage(w, cmd)
}

// writeUsage writes how to call cmd: its synopsis, sub-commands, flags
// and examples.
func writeUsage(w io.Writer, cmd *cobra.Command) {
	fmt.Fprintln(w, "Usage:")
	groups := cmd.HasAvailableSubCommands()
	if groups {
		fmt.Fprintf(w, "  %s COMMAND [flags] [arguments]\n\nCommands:\n", cmd.CommandPath())
		writeCommandList(w, cmd)
	} else {
		fmt.Fprintf(w, "  %s\n", cmd.UseLine())
	}
	if cmd.HasAvailableLocalFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", cmd.LocalFlags().FlagUsages())
	}
	if cmd.HasAvailableInheritedFlags() {
		fmt.Fprintf(w, "\nGlobal Flags:\n%s", cmd.InheritedFlags().FlagUsages())
	}
	if !cmd.HasParent() {
		fmt.Fprintf(w, "\n%s", configHelp)
	}
	if cmd.HasExample() {
		fmt.Fprintf(w, "\nExample:\n%s\n", strings.TrimRight(cmd.Example, "\n"))
	}
	if groups {
		fmt.Fprintf(w, "\nRun '%s COMMAND' for a command's flags and examples.\n", helpCommandFor(cmd))
	}
}

// writeCommandList lists the commands under cmd with their arguments and
// a line on each. Commands that only group others (calls, config) are
// listed as their sub-commands; completion is one line for all shells.
func writeCommandList(w io.Writer, cmd *cobra.Command) {
	type line struct{ synopsis, short string }
	var lines []line
	add := func(c *cobra.Command) {
		synopsis := c.CommandPath()
		if _, args, ok := strings.Cut(c.Use, " "); ok {
			synopsis += " " + args
		}
		lines = append(lines, line{synopsis, c.Short})
	}
	listed := func(c *cobra.Command) bool {
		return c.IsAvailableCommand() || c.Name() == "help"
	}
	for _, c := range inListOrder(cmd.Commands()) {
		if !listed(c) {
			continue
		}
		if !c.HasAvailableSubCommands() || c.Name() == "completion" {
			add(c)
			continue
		}
		for _, sub := range inListOrder(c.Commands()) {
			if listed(sub) {
				add(sub)
			}
		}
	}
	width := 0
	for _, l := range lines {
		width = max(width, len(l.synopsis))
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l.synopsis, l.short)
	}
}

// inListOrder returns cmds in the order of the command list: the everyday
// commands first, then those one runs once. Names it does not know come
// last, in cobra's (alphabetical) order.
func inListOrder(cmds []*cobra.Command) []*cobra.Command {
	listOrder := []string{"serve", "calls", "list", "show", "process", "report", "passwd", "config", "example", "check", "trunk", "version", "completion", "bash", "zsh", "fish", "powershell", "help"}
	rank := func(c *cobra.Command) int {
		if i := slices.Index(listOrder, c.Name()); i >= 0 {
			return i
		}
		return len(listOrder)
	}
	out := slices.Clone(cmds)
	slices.SortStableFunc(out, func(a, b *cobra.Command) int { return rank(a) - rank(b) })
	return out
}
