package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callrec/callrec/internal/password"
)

func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageAndVersion(t *testing.T) {
	if code, _, errOut := runCLI(); code != 2 || !strings.Contains(errOut, "Usage:") {
		t.Errorf("no args: %d %q", code, errOut)
	}
	if code, out, _ := runCLI("help"); code != 0 || !strings.Contains(out, "callrec serve") || !strings.Contains(out, "callrec report") {
		t.Errorf("help: %d %q", code, out)
	}
	if code, out, _ := runCLI("version"); code != 0 || !strings.HasPrefix(out, "callrec ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, _, errOut := runCLI("dance"); code != 2 || !strings.Contains(errOut, `unknown command "dance"`) {
		t.Errorf("unknown: %d %q", code, errOut)
	}
	// Help that was asked for goes to standard output (the flag package
	// wrote it to standard error).
	if code, out, errOut := runCLI("serve", "--help"); code != 0 || !strings.Contains(out, "--config") || errOut != "" {
		t.Errorf("serve --help: %d %q %q", code, out, errOut)
	}
}

func TestConfigExampleChecks(t *testing.T) {
	t.Setenv("CALLREC_CONFIG", "")
	code, example, _ := runCLI("config", "example")
	if code != 0 || !strings.Contains(example, "service_number") {
		t.Fatalf("config example: %d", code)
	}
	path := filepath.Join(t.TempDir(), "callrec.yaml")
	if err := os.WriteFile(path, []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI("config", "check", "--config", path); code != 0 || !strings.Contains(out, "valid") {
		t.Errorf("config check of the example: %d %q %q", code, out, errOut)
	}
	for content, want := range map[string]string{
		"service_number: \"12\"\n":    "service_number",
		"sip:\n  rtp_port: \"1-2\"\n": `did you mean "rtp_ports"`,
	} {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		os.WriteFile(bad, []byte(content), 0o644)
		code, _, errOut := runCLI("config", "check", "--config", bad)
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("bad config %q: %d %q, want a message with %q", content, code, errOut, want)
		}
	}
}

func TestReportCommand(t *testing.T) {
	golden := filepath.Join("..", "..", "internal", "transcribe", "aws", "testdata", "call-analytics-output.json")
	dir := t.TempDir()
	for _, f := range []string{"r.docx", "r.html"} {
		out := filepath.Join(dir, f)
		if code, _, errOut := runCLI("report", golden, "--out", out); code != 0 {
			t.Fatalf("report %s: %d %s", f, code, errOut)
		}
		fi, err := os.Stat(out)
		if err != nil || fi.Size() < 1000 {
			t.Errorf("%s: %v %v", f, fi, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "r.docx")); !bytes.HasPrefix(b, []byte("PK")) {
		t.Error("docx is not a zip package")
	}
	if code, _, errOut := runCLI("report", filepath.Join(dir, "missing.json"), "--out", filepath.Join(dir, "x.docx")); code == 0 || errOut == "" {
		t.Errorf("missing input: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI("report", golden, "--out", filepath.Join(dir, "x.odt")); code == 0 || !strings.Contains(errOut, "odt") {
		t.Errorf("unknown format: %d %q", code, errOut)
	}
}

func TestPasswd(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := func() int {
		err := cmdPasswd(strings.NewReader("correct horse battery\n"), &out, &errOut)
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}(); code != 0 {
		t.Fatal(code)
	}
	hash := strings.TrimSpace(out.String())
	if !strings.HasPrefix(hash, "$argon2id$") || !password.Check(hash, "correct horse battery") || password.Check(hash, "wrong") {
		t.Fatalf("hash %q", hash)
	}
	if err := cmdPasswd(strings.NewReader("short\n"), &out, &errOut); err == nil {
		t.Fatal("a 5-character password was accepted")
	}
}
