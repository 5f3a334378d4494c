package e2e

// A full disk: data_dir on a small tmpfs the test fills during a call.

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountTiny mounts a tmpfs of size bytes at dir, or skips the test (it
// needs root, as CI runs it).
func mountTiny(t *testing.T, dir string, size int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		if os.Getenv("CI") == "true" && os.Geteuid() == 0 {
			t.Fatalf("mount a tmpfs for data_dir: %v", err)
		}
		t.Skipf("cannot mount a tmpfs for data_dir (needs root): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
}

// fillDisk writes a file into dir until the disk is full and returns its
// path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			return path
		}
	}
}

// TestDiskFull: the disk fills during a recorded call. The call goes on to
// its end; /readyz says the disk is full; the next call still connects,
// unrecorded, and both sides hear so; once there is room again both calls'
// records are final and the first call is processed.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	requireCallrec(t)
	stub := startWhisperStub(t, false)
	mp := startMailpit(t)
	webPort := freePorts(t, 1, true)
	cfg := config{
		Processing: processingYAML(stub.url),
		Web: fmt.Sprintf("web:\n  listen: \"127.0.0.1:%d\"\n"+
			"notify:\n  email:\n    to: \"owner@example.org\"\n    from: \"callrec@example.org\"\n"+
			"    smtp: {host: \"127.0.0.1\", port: %d, tls: \"none\"}\n", webPort, mp.smtpPort),
		Extra: "storage:\n  min_free: \"4MiB\"\n  check_every: \"200ms\"\n",
	}
	path := writeConfig(t, &cfg)
	mountTiny(t, cfg.DataDir, 48<<20)
	cr := launchCallrec(t, cfg, path, nil)
	ready := func() (int, string) { return get(t, fmt.Sprintf("http://127.0.0.1:%d/readyz", webPort)) }
	if code, body := ready(); code != http.StatusOK {
		t.Fatalf("readyz before: %d %q", code, body)
	}

	tn := makeTones(t)
	stranger, trunk := strangerBridged(t, cr, tn, pause(5000), hangup())
	time.Sleep(time.Second)
	filler := fillDisk(t, cfg.DataDir)
	stranger.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	cr.waitLog(10*time.Second, "recording cut short")

	deadline := time.Now().Add(15 * time.Second)
	code, body := ready()
	for code == http.StatusOK && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		code, body = ready()
	}
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "full") {
		t.Errorf("readyz with the disk full: %d %q", code, body)
	}

	// A call now still connects, unrecorded; both sides are told.
	callThrough(t, cr, trunkScenario{Tone: tn.owner, HangupAfterMS: 3000}, "stranger2", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other,
		Steps: []step{awaitBye(40000)},
	}, sippOpts{})
	cr.waitLog(10*time.Second, "connecting the call without recording it")
	if n := strings.Count(cr.log.String(), "prompt=not_recorded.wav"); n != 2 {
		t.Errorf("the not-recorded prompt was played %d times, want 2 (the caller, then the owner)", n)
	}
	cr.alive()

	// Room again: both records are written and the first call processed.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	recs := cr.finishedCalls(2)
	var first string
	for _, r := range recs {
		switch r.RecordingState {
		case "truncated":
			first = fmt.Sprint(r.ID)
			if r.Status != "completed" || r.RecordingFile == "" {
				t.Errorf("the call the disk filled during: %s", r)
			}
		case "none":
			if r.Status != "completed" {
				t.Errorf("the unrecorded call: %s", r)
			}
		default:
			t.Errorf("unexpected call record %s", r)
		}
	}
	if first == "" {
		t.Fatalf("no truncated recording among %v", recs)
	}
	cr.waitStages(t, first, 90*time.Second)
	if code, body := ready(); code != http.StatusOK {
		t.Errorf("readyz once there is room: %d %q", code, body)
	}
	// The owner was told once that the disk was low, and got the
	// truncated call's email, which says so.
	subjects := mp.subjects(t)
	alerts := 0
	for _, s := range subjects {
		if strings.Contains(s, "disk is almost full") {
			alerts++
		}
	}
	if alerts != 1 {
		t.Errorf("disk alerts emailed: %d, want 1 (%q)", alerts, subjects)
	}
	if !slices.ContainsFunc(subjects, func(s string) bool { return strings.Contains(s, "cut short") }) {
		t.Errorf("no email about the truncated call: %q", subjects)
	}
}
