package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/callrec/callrec/internal/app"
	"github.com/callrec/callrec/internal/config"
	"github.com/callrec/callrec/internal/password"
	"github.com/callrec/callrec/internal/store"
)

// goldenTranscript is an Amazon Transcribe Call Analytics output that
// report and process accept.
const goldenTranscript = "../../internal/transcribe/aws/testdata/call-analytics-output.json"

// writeWAV writes a stereo 16-bit WAV of seconds of a 440 Hz tone at rate.
func writeWAV(t *testing.T, path string, rate, seconds int) {
	t.Helper()
	frames := rate * seconds
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + frames*4))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1)) // PCM
	le(uint16(2)) // channels
	le(uint32(rate))
	le(uint32(rate * 4))
	le(uint16(4))
	le(uint16(16))
	b.WriteString("data")
	le(uint32(frames * 4))
	for i := range frames {
		s := int16(3000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		le(s)
		le(s)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestProcessFlagsAnywhere: process takes its flags before or after
// FILE.wav. The engine named by --engine does not exist, so the command
// fails fast (exit 1) once it has read the recording and made --out: the
// error names that engine and the directory exists, which only happens
// when both flags were parsed.
func TestProcessFlagsAnywhere(t *testing.T) {
	t.Setenv("CALLREC_CONFIG", "")
	dir := t.TempDir()
	wav := filepath.Join(dir, "call.wav")
	writeWAV(t, wav, 8000, 1)
	for _, tc := range []struct {
		name string
		args func(out string) []string
	}{
		{"flags after the file", func(out string) []string {
			return []string{"process", wav, "--out", out, "--engine", "nosuch"}
		}},
		{"flags before the file", func(out string) []string {
			return []string{"process", "--out", out, "--engine", "nosuch", wav}
		}},
		{"flags on both sides", func(out string) []string {
			return []string{"process", "--engine=nosuch", wav, "--out=" + out}
		}},
		{"single-dash flags after the file", func(out string) []string {
			return []string{"process", wav, "-out", out, "-engine", "nosuch"}
		}},
		{"--config after the file", func(out string) []string {
			cfg := filepath.Join(dir, "processing.yaml")
			if err := os.WriteFile(cfg, []byte("transcribe:\n  engine: sphinx\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"process", wav, "--out", out, "--config", cfg, "--engine", "nosuch"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := runCLI(tc.args(out)...)
			if code != 1 || !strings.Contains(stderr, `callrec: transcribe.engine "nosuch"`) {
				t.Errorf("exit %d, stderr %q; want 1 and the unknown engine named", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if fi, err := os.Stat(out); err != nil || !fi.IsDir() {
				t.Errorf("--out %s was not made: %v", out, err)
			}
		})
	}
}

// TestReportFlagsAnywhere: report takes its flags before or after
// FILE.json, and each flag is honoured.
func TestReportFlagsAnywhere(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args func(out string) []string
		file string // the report's name
		want string // in the report
	}{
		{"--out after the file", func(out string) []string {
			return []string{"report", goldenTranscript, "--out", out}
		}, "r.docx", "PK"},
		{"every flag after the file", func(out string) []string {
			return []string{"report", goldenTranscript, "--out", out, "--format", "html", "--tz", "UTC", "--owner", "Zebedee Quux", "--low-confidence", "0.3", "--histogram"}
		}, "r.report", "Zebedee Quux"},
		{"flags on both sides", func(out string) []string {
			return []string{"report", "--format=html", goldenTranscript, "--owner=Zebedee Quux", "--out=" + out}
		}, "r.page", "Zebedee Quux"},
		{"single-dash flags after the file", func(out string) []string {
			return []string{"report", goldenTranscript, "-out", out, "-owner", "Zebedee Quux"}
		}, "r.html", "Zebedee Quux"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+"-"+tc.file)
			code, stdout, stderr := runCLI(tc.args(out)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if stdout != out+"\n" {
				t.Errorf("stdout %q, want the report's path %q", stdout, out)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(tc.want)) {
				t.Errorf("%s does not contain %q", out, tc.want)
			}
		})
	}
}

// callsConfig writes a valid config whose data_dir is a new directory
// holding n calls, started a minute apart (call-0 first), and returns its
// path.
func callsConfig(t *testing.T, n int) string {
	t.Helper()
	t.Setenv("CALLREC_CONFIG", "")
	dir := t.TempDir()
	t.Setenv("CALLREC_DATA_DIR", filepath.Join(dir, "data"))
	path := filepath.Join(dir, "callrec.yaml")
	if err := os.WriteFile(path, []byte(config.ExampleYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, _, err := app.OpenStores(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	for i := range n {
		c := &store.Call{
			ID: fmt.Sprintf("call-%d", i), Direction: store.DirectionInbound,
			OwnerNumber: "+15550100001", ServiceNumber: "+15550100000", Party: "+15550199999",
			StartedAt: start.Add(time.Duration(i) * time.Minute), Status: store.StatusCompleted,
		}
		if i%2 == 1 {
			c.Direction = store.DirectionOutbound
		}
		if err := st.InsertCall(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestCallsFlagsAnywhere: calls list and calls show take their flags in
// any order, before or after the ID.
func TestCallsFlagsAnywhere(t *testing.T) {
	cfg := callsConfig(t, 7)
	ids := func(t *testing.T, stdout string) []string {
		t.Helper()
		var calls []store.Call
		if err := json.Unmarshal([]byte(stdout), &calls); err != nil {
			t.Fatalf("not a JSON array of calls: %v\n%s", err, stdout)
		}
		var out []string
		for _, c := range calls {
			out = append(out, c.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // the IDs listed, newest first
	}{
		{"--json --limit 5", []string{"calls", "list", "--json", "--limit", "5", "--config", cfg}, "call-6 call-5 call-4 call-3 call-2"},
		{"--config first", []string{"calls", "list", "--config", cfg, "--limit", "5", "--json"}, "call-6 call-5 call-4 call-3 call-2"},
		{"--offset and --direction", []string{"calls", "list", "--json", "--offset", "1", "--direction", "inbound", "--config=" + cfg}, "call-4 call-2 call-0"},
		{"--party", []string{"calls", "list", "--party", "0199", "--json", "--limit=2", "--config", cfg}, "call-6 call-5"},
		{"single-dash", []string{"calls", "list", "-json", "-limit", "1", "-config", cfg}, "call-6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got := strings.Join(ids(t, stdout), " "); got != tc.want {
				t.Errorf("listed %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("table", func(t *testing.T) {
		code, stdout, stderr := runCLI("calls", "list", "--config", cfg, "--limit", "2")
		if code != 0 || !strings.HasPrefix(stdout, "STARTED") || strings.Count(stdout, "\n") != 3 {
			t.Errorf("exit %d, stdout %q, stderr %q; want a header and 2 rows", code, stdout, stderr)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"show ID --json --config", []string{"calls", "show", "call-3", "--json", "--config", cfg}},
		{"show --json ID --config", []string{"calls", "show", "--json", "call-3", "--config", cfg}},
		{"show --config --json ID", []string{"calls", "show", "--config", cfg, "--json", "call-3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tc.args...)
			var c struct {
				ID     string        `json:"id"`
				Stages []store.Stage `json:"stages"`
			}
			if code != 0 || json.Unmarshal([]byte(stdout), &c) != nil || c.ID != "call-3" || c.Stages == nil {
				t.Errorf("exit %d, stdout %q, stderr %q; want call-3 as JSON", code, stdout, stderr)
			}
		})
	}
	if code, _, stderr := runCLI("calls", "show", "nosuch", "--config", cfg); code != 1 || !strings.Contains(stderr, `no call with ID "nosuch"`) {
		t.Errorf("calls show of a missing call: exit %d, stderr %q", code, stderr)
	}
}

// TestHelp: `callrec help CMD`, `callrec CMD --help` and `-h` print the same
// help to standard output and exit 0: what the command does, its usage,
// its flags and an Example section that runs the command.
func TestHelp(t *testing.T) {
	// Every command a user can run, as typed after callrec.
	commandPaths := []string{
		"serve", "calls", "calls list", "calls show", "process", "report", "passwd",
		"config", "config example", "config check", "version", "help",
		"completion", "completion bash", "completion zsh", "completion fish",
	}
	for _, path := range commandPaths {
		words := strings.Fields(path)
		var first string
		for _, args := range [][]string{
			append([]string{"help"}, words...),
			append(append([]string{}, words...), "--help"),
			append(append([]string{}, words...), "-h"),
		} {
			name := strings.Join(args, " ")
			t.Run(name, func(t *testing.T) {
				code, stdout, stderr := runCLI(args...)
				if code != 0 || stderr != "" {
					t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
				}
				for _, want := range []string{"Usage:\n  callrec " + path, "Flags:", "-h, --help", "\nExample:\n  ", "callrec " + path} {
					if !strings.Contains(stdout, want) {
						t.Errorf("no %q in\n%s", want, stdout)
					}
				}
				if first == "" {
					first = stdout
				} else if stdout != first {
					t.Errorf("differs from %q:\n%s", strings.Join(append([]string{"help"}, words...), " "), stdout)
				}
			})
		}
	}

	// Each command's own flags are in its help.
	for path, flags := range map[string][]string{
		"serve":        {"--config FILE"},
		"calls list":   {"--json", "--limit N", "--offset N", "--party TEXT", "--direction DIRECTION", "--config FILE", "(default 100)"},
		"calls show":   {"--json", "--config FILE"},
		"process":      {"--out DIR", "--engine NAME", "--config FILE"},
		"report":       {"--out FILE", "--format FORMAT", "--tz ZONE", "--owner NAME", "--low-confidence LEVEL", "--histogram", "--soffice PROGRAM"},
		"config check": {"--config FILE"},
	} {
		_, stdout, _ := runCLI(append(strings.Fields(path), "--help")...)
		for _, f := range flags {
			if !strings.Contains(stdout, f) {
				t.Errorf("%s --help does not show %q:\n%s", path, f, stdout)
			}
		}
	}

	// The root help lists every command and explains the configuration.
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, stdout, stderr := runCLI(args...)
		if code != 0 || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
		for _, want := range []string{
			"callrec serve", "callrec calls list", "callrec calls show ID", "callrec process FILE.wav|FILE.json",
			"callrec report FILE.json", "callrec passwd", "callrec config example", "callrec config check",
			"callrec version", "callrec completion", "callrec help",
			"-v, --version", "$CALLREC_CONFIG", "./callrec.yaml", "CALLREC_SIP_LISTEN", "callrec config example",
			"before or after", "\nExample:\n  callrec ",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%v: no %q in\n%s", args, want, stdout)
			}
		}
	}
}

// TestEveryCommandHasExamples walks the command tree, so a command added
// later without examples fails here.
func TestEveryCommandHasExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.IsAvailableCommand() && !c.HasExample() {
			t.Errorf("%q has no Example", c.CommandPath())
		}
		if c.IsAvailableCommand() && c.Short == "" {
			t.Errorf("%q has no Short", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}))
}

// TestCompletion: `callrec completion SHELL` prints that shell's script.
func TestCompletion(t *testing.T) {
	for _, tc := range []struct{ shell, want string }{
		{"bash", "complete -o default -F __start_callrec callrec"},
		{"zsh", "#compdef callrec"},
		{"fish", "complete -c callrec"},
	} {
		t.Run(tc.shell, func(t *testing.T) {
			code, stdout, stderr := runCLI("completion", tc.shell)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if len(stdout) < 1000 || !strings.Contains(stdout, tc.want) {
				t.Errorf("%d bytes without %q", len(stdout), tc.want)
			}
		})
	}

	// The scripts ask callrec for completions; these are its answers.
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "report", "--format", ""}, []string{"docx", "html", "pdf"}},
		{[]string{"__complete", "calls", "list", "--direction", ""}, []string{"inbound", "outbound"}},
		{[]string{"__complete", "process", "call.wav", "--engine", ""}, []string{"sphinx", "openai", "aws"}},
		{[]string{"__complete", "help", "pro"}, []string{"process"}},
		{[]string{"__complete", "calls", ""}, []string{"list", "show"}},
	} {
		code, stdout, stderr := runCLI(tc.args...)
		if code != 0 {
			t.Errorf("%v: exit %d, %s", tc.args, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%v: no %q in %q", tc.args, w, stdout)
			}
		}
	}
}

// TestUsageErrors: mistakes in the command line exit 2 with
// "callrec: <message>" and where to find help, and print nothing on
// standard output.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the message
		help string // the help command suggested
	}{
		{[]string{"dance"}, `unknown command "dance"`, "callrec help"},
		{[]string{"serv"}, "serve", "callrec help"},
		{[]string{"--bogus"}, "unknown flag: --bogus", "callrec help"},
		{[]string{"process", "call.wav", "--bogus"}, "unknown flag: --bogus", "callrec help process"},
		{[]string{"calls", "list", "-x"}, "unknown shorthand flag: 'x'", "callrec help calls list"},
		{[]string{"report", "in.json", "--out"}, "flag needs an argument: --out", "callrec help report"},
		{[]string{"serve", "--json"}, "unknown flag: --json", "callrec help serve"},
		{[]string{"calls", "list", "--limit", "many"}, `invalid argument "many" for "--limit"`, "callrec help calls list"},
		{[]string{"report", "in.json", "--low-confidence", "high"}, `invalid argument "high" for "--low-confidence"`, "callrec help report"},
		{[]string{"report", "in.json", "--histogram=maybe"}, `invalid argument "maybe" for "--histogram"`, "callrec help report"},
		{[]string{"calls", "list", "--direction", "sideways"}, "--direction must be inbound or outbound", "callrec help calls list"},
		{[]string{"report", goldenTranscript, "--format", "odt"}, "odt", "callrec help report"},
		{[]string{"report", goldenTranscript, "--low-confidence", "2"}, "between 0 and 1", "callrec help report"},
		{[]string{"report", goldenTranscript, "--tz", "Mars/Olympus"}, "unknown time zone", "callrec help report"},
		{[]string{"process"}, "process needs exactly one FILE.wav or FILE.json", "callrec help process"},
		{[]string{"process", "a.wav", "b.wav", "--out", "x"}, "process needs exactly one FILE.wav or FILE.json", "callrec help process"},
		{[]string{"report", "--out", "r.docx"}, "report needs exactly one transcript FILE.json", "callrec help report"},
		{[]string{"calls", "show", "--json"}, "calls show needs exactly one call ID", "callrec help calls show"},
		{[]string{"serve", "extra"}, `serve takes no arguments (got "extra")`, "callrec help serve"},
		{[]string{"calls", "list", "extra"}, `calls list takes no arguments`, "callrec help calls list"},
		{[]string{"version", "extra"}, `version takes no arguments`, "callrec help version"},
		{[]string{"calls"}, "calls needs a subcommand: list or show", "callrec help calls"},
		{[]string{"calls", "lst"}, `unknown calls subcommand "lst"; did you mean "list"?`, "callrec help calls"},
		{[]string{"config"}, "config needs a subcommand: example or check", "callrec help config"},
		{[]string{"config", "nosuch"}, `unknown config subcommand "nosuch"`, "callrec help config"},
		{[]string{"completion"}, "completion needs a subcommand: bash, zsh, fish or powershell", "callrec help completion"},
		{[]string{"completion", "tcsh"}, `unknown completion subcommand "tcsh"`, "callrec help completion"},
		{[]string{"help", "nosuch"}, `no help for "nosuch"`, "callrec help"},
		{[]string{"help", "calls", "nosuch"}, `no help for "calls nosuch"`, "callrec help"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.HasPrefix(stderr, "callrec: ") || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q, want callrec: and %q", stderr, tc.want)
			}
			if !strings.Contains(stderr, "Run '"+tc.help+"' for usage.") {
				t.Errorf("stderr %q does not point to %q", stderr, tc.help)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

// TestNoArguments: callrec alone prints the root help to standard error
// and exits 2.
func TestNoArguments(t *testing.T) {
	code, stdout, stderr := runCLI()
	_, help, _ := runCLI("help")
	if code != 2 || stdout != "" || stderr != help {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing and the root help", code, stdout, stderr)
	}
}

// TestVersion: version, --version and -v print the same line.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		code, stdout, stderr := runCLI(args...)
		if code != 0 || stdout != "callrec "+version()+"\n" || stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}

// TestSingleDashFlags: the single-dash spellings the flag package took
// still work, and "--" ends the flags.
func TestSingleDashFlags(t *testing.T) {
	t.Setenv("CALLREC_CONFIG", "")
	_, example, _ := runCLI("config", "example")
	path := filepath.Join(t.TempDir(), "callrec.yaml")
	if err := os.WriteFile(path, []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"config", "check", "-config", path}, {"config", "check", "-config=" + path}} {
		if code, stdout, stderr := runCLI(args...); code != 0 || !strings.Contains(stdout, "valid") {
			t.Errorf("%v: exit %d %q %q", args, code, stdout, stderr)
		}
	}
	got := normalizeLongFlags(newRootCmd(nil, &bytes.Buffer{}, &bytes.Buffer{}),
		[]string{"report", "-out", "r.docx", "-h", "-v", "-nosuch", "-0.5", "-", "--", "-out"})
	want := []string{"report", "--out", "r.docx", "-h", "-v", "-nosuch", "-0.5", "-", "--", "-out"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("normalizeLongFlags = %q, want %q", got, want)
	}
}

// TestPasswdCommand: callrec passwd reads standard input through the
// command tree.
func TestPasswdCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := execute([]string{"passwd"}, strings.NewReader("correct horse battery\n"), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if hash := strings.TrimSpace(out.String()); !password.Check(hash, "correct horse battery") {
		t.Errorf("hash %q does not check", hash)
	}
	out.Reset()
	errOut.Reset()
	if code := execute([]string{"passwd"}, strings.NewReader("short\n"), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "at least 8 characters") || out.Len() != 0 {
		t.Errorf("short password: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

// TestCallsShowStages: the text of calls show lists every stage with its
// outputs, last error and next try.
func TestCallsShowStages(t *testing.T) {
	cfg := callsConfig(t, 1)
	loaded, err := config.Load(cfg, os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, _, err := app.OpenStores(ctx, loaded)
	if err != nil {
		t.Fatal(err)
	}
	next := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	for _, s := range []*store.Stage{
		{CallID: "call-0", Name: "render", State: store.StageDone, Outputs: []string{"calls/call-0/report.docx", "calls/call-0/report.html"}},
		{CallID: "call-0", Name: "notify", State: store.StageRetry, Attempts: 3, LastError: "connection refused", NextAttemptAt: &next},
	} {
		if err := st.SaveStage(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	code, stdout, stderr := runCLI("calls", "show", "call-0", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"calls/call-0/report.docx, calls/call-0/report.html",
		"retry (attempt 3) — last error: connection refused — next try at " + next.Local().Format("2006-01-02 15:04:05"),
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("calls show lacks %q:\n%s", want, stdout)
		}
	}
}
