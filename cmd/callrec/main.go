// Command callrec is a self-hosted SIP media application for on-demand call
// recording with number masking. Run `callrec help` for usage.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/callrec/callrec/internal/app"
	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/config"
	"github.com/callrec/callrec/internal/pipeline"
	"github.com/callrec/callrec/internal/report"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
	"github.com/callrec/callrec/internal/web"
)

const usage = `callrec records phone calls through a SIP trunk, masking the owner's number.

Usage:
  callrec serve   [--config FILE]            answer calls and record them
  callrec calls list [--json] [--limit N] [--party TEXT] [--direction inbound|outbound] [--config FILE]
  callrec calls show [--json] [--config FILE] ID
  callrec process [--out DIR] [--engine NAME] [--config FILE] FILE.wav|FILE.json
                                             transcribe, analyse and render one file
  callrec report  [--out FILE] [--format docx|html|pdf] [--tz ZONE] [--owner NAME] FILE.json
                                             render a transcript JSON as a report
  callrec passwd                             read a password, print its hash for web.password_hash
  callrec config example                     print a documented config file
  callrec config check [--config FILE]       validate the configuration and exit
  callrec version                            print the version

The config file is YAML (see 'callrec config example'). --config defaults to
$CALLREC_CONFIG, else ./callrec.yaml when it exists. Every key can also be set
by an environment variable: CALLREC_ and the key's path in upper case with
dots as underscores (sip.listen -> CALLREC_SIP_LISTEN; lists comma-separated).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(args[1:], stderr)
	case "calls":
		err = cmdCalls(args[1:], stdout, stderr)
	case "process":
		err = cmdProcess(args[1:], stdout, stderr)
	case "report":
		err = cmdReport(args[1:], stdout, stderr)
	case "config":
		err = cmdConfig(args[1:], stdout, stderr)
	case "passwd":
		err = cmdPasswd(args[1:], os.Stdin, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "callrec", version())
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "callrec: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "callrec: %v\n", err)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "callrec: %v\n", err)
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "config file (default $CALLREC_CONFIG, else ./callrec.yaml if present)")
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

func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(configPath(path), os.Environ())
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func cmdServe(args []string, stderr io.Writer) error {
	fs := newFlags("serve", "callrec serve [--config FILE]\n\nAnswers calls from the SIP trunk, runs the recording flow and stores call\nrecords and recordings under data_dir. SIGTERM or SIGINT stops taking calls\n(503), lets calls finish for shutdown_grace and finalises every recording.", stderr)
	cfgPath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"serve takes no arguments"}
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return app.Serve(ctx, cfg, log)
}

func cmdProcess(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("process", "callrec process [--out DIR] [--engine sphinx|openai|aws] [--config FILE] FILE.wav|FILE.json\n\n"+
		"Runs the post-call stages on one file without a server: a stereo WAV (channel 0 =\n"+
		"owner, channel 1 = other party, 8 or 16 kHz) is transcribed, analysed and rendered;\n"+
		"a transcript JSON (callrec's, or Amazon Transcribe Call Analytics output) skips\n"+
		"transcription. Outputs go to DIR. The config file is optional here: only its\n"+
		"transcribe and analytics keys are used.", stderr)
	cfgPath := configFlag(fs)
	out := fs.String("out", "", "output directory (default: FILE's name without extension, beside it)")
	engine := fs.String("engine", "", "transcription engine, overriding transcribe.engine")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"process needs exactly one FILE.wav or FILE.json"}
	}
	input := fs.Arg(0)
	if _, err := os.Stat(input); err != nil {
		return err
	}
	cfg, err := loadProcessingConfig(*cfgPath)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = strings.TrimSuffix(input, filepath.Ext(input))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	written, err := app.Process(ctx, cfg, app.ProcessOptions{
		Input: input, OutDir: dir, Engine: *engine,
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

func cmdReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", "callrec report [--out FILE] [--format docx|html|pdf] [--tz ZONE] [--owner NAME] FILE.json\n\n"+
		"Renders a transcript JSON (callrec's, or Amazon Transcribe Call Analytics output) as the\n"+
		"call report: a Word document, a self-contained HTML page, or a PDF (through LibreOffice's\n"+
		"soffice). Flags may come before or after FILE.json.", stderr)
	out := fs.String("out", "", "output file (default: FILE's name with the format's extension, beside it)")
	format := fs.String("format", "", "docx, html or pdf (default: from --out's extension, else docx)")
	tz := fs.String("tz", "", "time zone of the dates, an IANA name such as Europe/London (default: local)")
	owner := fs.String("owner", "", "the owner's name in the report (default: Owner)")
	lowConf := fs.Float64("low-confidence", report.DefaultLowConfidence, "grey words recognised with less than this confidence (0…1)")
	histogram := fs.Bool("histogram", false, "add a histogram of word confidence")
	soffice := fs.String("soffice", "", "LibreOffice's soffice program for --format pdf (default: soffice on PATH)")
	var inputs []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		inputs = append(inputs, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(inputs) != 1 {
		return usageError{"report needs exactly one transcript FILE.json"}
	}
	input := inputs[0]
	var f report.Format
	switch {
	case *format != "":
		var err error
		if f, err = report.ParseFormat(strings.ToLower(*format)); err != nil {
			return usageError{err.Error()}
		}
	case *out != "":
		ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(*out), "."))
		var err error
		if f, err = report.ParseFormat(ext); err != nil {
			return usageError{fmt.Sprintf("cannot tell the format from --out %s: name it .docx, .html or .pdf, or add --format", *out)}
		}
	default:
		f = report.DOCX
	}
	path := *out
	if path == "" {
		path = strings.TrimSuffix(input, filepath.Ext(input)) + "." + string(f)
	}
	if *lowConf < 0 || *lowConf > 1 {
		return usageError{"--low-confidence must be between 0 and 1"}
	}
	loc := time.Local
	if *tz != "" {
		var err error
		if loc, err = time.LoadLocation(*tz); err != nil {
			return usageError{fmt.Sprintf("--tz %q: unknown time zone (use an IANA name such as Europe/London, or UTC)", *tz)}
		}
	}
	fh, err := os.Open(input)
	if err != nil {
		return fmt.Errorf("read transcript: %w", err)
	}
	doc, err := transcript.Decode(fh)
	fh.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", input, err)
	}
	lc := *lowConf
	if lc == 0 {
		lc = -1 // grey nothing
	}
	r := report.New(report.Options{
		Location: loc, OwnerName: *owner, LowConfidence: lc, ConfidenceHistogram: *histogram,
		Formats: []report.Format{f}, SofficePath: *soffice,
		Logger: slog.New(slog.NewTextHandler(stderr, nil)),
	})
	if f == report.PDF {
		if err := r.PDFAvailable(); err != nil {
			return fmt.Errorf("--format pdf: %w (or render --format docx or html)", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	files, err := r.Render(ctx, report.CallFromDocument(doc), doc)
	if err != nil {
		return err
	}
	data, ok := files[f.FileName()]
	if !ok {
		return fmt.Errorf("no %s was rendered", f.FileName())
	}
	if err := os.WriteFile(path, data, 0o640); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintln(stdout, path)
	return nil
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

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func cmdPasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("passwd", "callrec passwd < password.txt\n\nReads the owner's web password from the first line of standard input and\nprints its argon2id hash, to put in web.password_hash.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(stderr, "password (shown as you type; pipe it in to hide it): ")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 8 {
		return usageError{"the password must have at least 8 characters"}
	}
	hash, err := web.HashPassword(pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, hash)
	return nil
}

func cmdConfig(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"config needs a subcommand: example or check"}
	}
	switch args[0] {
	case "example":
		fmt.Fprint(stdout, config.ExampleYAML)
		return nil
	case "check":
		fs := newFlags("config check", "callrec config check [--config FILE]", stderr)
		cfgPath := configFlag(fs)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if _, err := loadConfig(*cfgPath); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "configuration is valid")
		return nil
	}
	return usageError{fmt.Sprintf("unknown config subcommand %q", args[0])}
}

func cmdCalls(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"calls needs a subcommand: list or show"}
	}
	switch args[0] {
	case "list":
		return cmdCallsList(args[1:], stdout, stderr)
	case "show":
		return cmdCallsShow(args[1:], stdout, stderr)
	}
	return usageError{fmt.Sprintf("unknown calls subcommand %q", args[0])}
}

// openForReading opens the stores read-side for the calls commands.
func openForReading(cfgPath string) (*store.Store, blob.Store, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, nil, err
	}
	return app.OpenStores(context.Background(), cfg)
}

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

func cmdCallsList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("calls list", "callrec calls list [--json] [--limit N] [--party TEXT] [--direction inbound|outbound] [--config FILE]\n\nLists call records, newest first.", stderr)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "print a JSON array")
	limit := fs.Int("limit", 100, "at most this many calls")
	offset := fs.Int("offset", 0, "skip this many calls")
	party := fs.String("party", "", "only calls whose other party's number contains this")
	direction := fs.String("direction", "", "only inbound or outbound calls")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *direction != "" && *direction != "inbound" && *direction != "outbound" {
		return usageError{"--direction must be inbound or outbound"}
	}
	st, bs, err := openForReading(*cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	calls, err := st.ListCalls(context.Background(), store.ListOptions{Limit: *limit, Offset: *offset, Party: *party, Direction: *direction})
	if err != nil {
		return err
	}
	for i := range calls {
		fillRecordingFile(&calls[i], bs)
	}
	if *asJSON {
		if calls == nil {
			calls = []store.Call{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(calls)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tDIRECTION\tPARTY\tDURATION\tSTATUS\tRECORDING\tID")
	for _, c := range calls {
		dur := "-"
		if c.AnsweredAt != nil && c.EndedAt != nil {
			dur = c.EndedAt.Sub(*c.AnsweredAt).Round(time.Second).String()
		}
		party := c.Party
		if party == "" {
			party = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.StartedAt.Local().Format("2006-01-02 15:04:05"), c.Direction, party, dur, c.Status, c.RecordingState, c.ID)
	}
	return tw.Flush()
}

func cmdCallsShow(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("calls show", "callrec calls show [--json] [--config FILE] ID", stderr)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"calls show needs exactly one call ID"}
	}
	st, bs, err := openForReading(*cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.GetCall(context.Background(), fs.Arg(0))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no call with ID %q (see 'callrec calls list')", fs.Arg(0))
		}
		return err
	}
	fillRecordingFile(c, bs)
	stages, err := st.Stages(context.Background(), c.ID)
	if err != nil {
		return err
	}
	order := map[string]int{}
	for i, n := range pipeline.Stages() {
		order[n] = i
	}
	sort.Slice(stages, func(i, j int) bool { return order[stages[i].Name] < order[stages[j].Name] })
	if *asJSON {
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
	for _, sg := range stages {
		line := sg.State
		if sg.Attempts > 0 {
			line += fmt.Sprintf(" (attempt %d)", sg.Attempts)
		}
		if sg.OutputKey != "" {
			line += " → " + sg.OutputKey
		}
		if sg.LastError != "" {
			line += " — last error: " + sg.LastError
		}
		fmt.Fprintf(tw, "stage %s:\t%s\n", sg.Name, line)
	}
	return tw.Flush()
}
