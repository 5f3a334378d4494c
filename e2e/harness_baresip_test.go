package e2e

// baresip, a real softphone, as a peer of callrec: the owner's phone, a
// stranger's phone, or the far party behind the trunk. Each phone is one
// baresip process with a config directory of its own (testdata/baresip/:
// no GUI, its voice from a WAV file, what it hears dumped to a WAV file),
// driven over its ctrl_tcp socket: commands and events are JSON objects in
// netstrings. The SIP transport and the media encryption are parameters,
// so one test runs over UDP, TCP, or TLS with SRTP.

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"
)

//go:embed testdata/baresip/*.tmpl
var baresipFiles embed.FS

// baresipTemplates are baresip's config and accounts files.
var baresipTemplates = template.Must(template.ParseFS(baresipFiles, "testdata/baresip/*.tmpl"))

// phoneTransport is how a phone reaches callrec and callrec the phone.
type phoneTransport struct {
	Name     string // the subtest's name
	SIP      string // udp, tcp or tls
	MediaEnc string // baresip's mediaenc: "" (RTP), "srtp" or "srtp-mand"
}

// URIParams is what a SIP URI to a phone or to callrec carries for t.
func (t phoneTransport) URIParams() string {
	if t.SIP == "udp" {
		return ""
	}
	return ";transport=" + t.SIP
}

// baresipOpts says how to run one baresip phone.
type baresipOpts struct {
	Name       string // "owner", "far", "stranger": names its directory and log lines
	User       string // its account's user part: the number it answers as and calls from
	VoiceHz    int    // the tone it sends
	Transport  phoneTransport
	AutoAnswer bool // answer incoming calls at once
	// CertFile (the phone's certificate and key, PEM) and CAFile (the
	// certificates it trusts) are for TLS.
	CertFile, CAFile string
}

// baresipEvent is one event baresip reported over ctrl_tcp, with when the
// harness received it.
type baresipEvent struct {
	Type      string `json:"type"`
	Class     string `json:"class"`
	Direction string `json:"direction"`
	PeerURI   string `json:"peeruri"`
	ID        string `json:"id"`
	Param     string `json:"param"`
	At        time.Time
}

func (e baresipEvent) String() string {
	return fmt.Sprintf("%s %s %s %s %q", e.At.Format("15:04:05.000"), e.Type, e.Direction, e.PeerURI, e.Param)
}

// ctrlMessage is one JSON object from ctrl_tcp: an event or the response
// to a command.
type ctrlMessage struct {
	Event    bool   `json:"event"`
	Response bool   `json:"response"`
	OK       bool   `json:"ok"`
	Data     string `json:"data"`
	Token    string `json:"token"`
	baresipEvent
}

// baresip is one running baresip phone. Its reader goroutine appends what
// ctrl_tcp sends to events and replies; mu guards events, replies,
// changed and taken, and changed is closed (and replaced) on every append
// so that waiters wake up.
type baresip struct {
	t         *testing.T
	opts      baresipOpts
	dir       string
	sipPort   int // sip_listen's port: UDP and TCP; TLS is on the next one
	ctrlPort  int
	cmd       *exec.Cmd
	log       *syncBuffer
	done      chan struct{} // closed when the process has exited
	waitErr   error
	conn      net.Conn
	readerEnd chan struct{} // closed when the reader goroutine returns

	mu      sync.Mutex
	events  []baresipEvent
	replies map[string]ctrlMessage
	changed chan struct{}
	taken   map[string]int // events of each type already returned by waitEvent

	nextToken int // only the test's goroutine sends commands
}

// requireBaresip skips the test when baresip is missing, unless CI=true,
// where that is a failure.
func requireBaresip(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("baresip")
	if err != nil {
		msg := "baresip not found on PATH: install it (Debian: apt-get install baresip) to run the softphone tests"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// baresipModules is the directory of baresip's modules beside its binary
// (PREFIX/bin/baresip, PREFIX/lib/baresip/modules).
func baresipModules(t *testing.T, bin string) string {
	t.Helper()
	if real, err := filepath.EvalSymlinks(bin); err == nil {
		bin = real
	}
	dir := filepath.Join(filepath.Dir(filepath.Dir(bin)), "lib", "baresip", "modules")
	if _, err := os.Stat(filepath.Join(dir, "ctrl_tcp.so")); err != nil {
		t.Fatalf("baresip's modules are not beside %s: %v", bin, err)
	}
	return dir
}

// baresipConfig is what the config and accounts templates are filled with.
type baresipConfig struct {
	baresipOpts
	Dir        string
	ModuleDir  string
	VoiceFile  string
	SIPPort    int
	CtrlPort   int
	RTPLo      int
	RTPHi      int
	AnswerMode string
	MediaEnc   string
}

// startBaresip writes a config directory for o, starts baresip on it and
// returns once its ctrl_tcp socket is connected. The phone is stopped when
// the test ends; its log and events are shown if the test failed.
func startBaresip(t *testing.T, o baresipOpts) *baresip {
	t.Helper()
	bin := requireBaresip(t)
	if o.Transport.SIP == "" {
		o.Transport = phoneTransport{Name: "udp", SIP: "udp"}
	}
	dir := filepath.Join(t.TempDir(), "baresip-"+o.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := baresipConfig{
		baresipOpts: o, Dir: dir, ModuleDir: baresipModules(t, bin), VoiceFile: filepath.Join(dir, "voice.wav"),
		SIPPort: freePorts(t, 2, true), CtrlPort: freePorts(t, 1, true),
		AnswerMode: "manual", MediaEnc: o.Transport.MediaEnc,
	}
	c.RTPLo = freePorts(t, 20, false)
	c.RTPHi = c.RTPLo + 19
	if o.AutoAnswer {
		c.AnswerMode = "auto"
	}
	// 90 s of the phone's tone: aufile plays its file once.
	writeMonoWAV(t, c.VoiceFile, sine(float64(o.VoiceHz), 0.5, 90*8000))
	for file, tmpl := range map[string]string{"config": "config.tmpl", "accounts": "accounts.tmpl"} {
		var b bytes.Buffer
		if err := baresipTemplates.ExecuteTemplate(&b, tmpl, c); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := &baresip{
		t: t, opts: o, dir: dir, sipPort: c.SIPPort, ctrlPort: c.CtrlPort,
		log: &syncBuffer{}, done: make(chan struct{}), readerEnd: make(chan struct{}),
		replies: map[string]ctrlMessage{}, changed: make(chan struct{}), taken: map[string]int{},
	}
	b.cmd = exec.Command(bin, "-f", dir, "-s") // -s: SIP messages in the log
	b.cmd.Dir = dir
	b.cmd.Stdout = b.log
	b.cmd.Stderr = b.log
	// A phone must not outlive a test binary that died.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start baresip %s: %v", o.Name, err)
	}
	go func() {
		b.waitErr = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(b.stop)
	b.connect()
	return b
}

// connect dials ctrl_tcp, retrying until baresip listens, and starts the
// reader.
func (b *baresip) connect() {
	b.t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(b.ctrlPort))
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			b.conn = conn
			go b.read(bufio.NewReader(conn))
			return
		}
		select {
		case <-b.done:
			b.t.Fatalf("baresip %s exited at start-up (%v); log:\n%s", b.opts.Name, b.waitErr, b.log)
		default:
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("baresip %s's ctrl_tcp %s did not accept a connection within 15 s; log:\n%s", b.opts.Name, addr, b.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// read takes ctrl_tcp's messages until the connection closes.
func (b *baresip) read(r *bufio.Reader) {
	defer close(b.readerEnd)
	for {
		payload, err := readNetstring(r)
		if err != nil {
			return
		}
		var m ctrlMessage
		if err := json.Unmarshal(payload, &m); err != nil {
			b.log.Write([]byte(fmt.Sprintf("\n[harness] ctrl_tcp sent no JSON object: %v: %q\n", err, payload)))
			continue
		}
		b.mu.Lock()
		switch {
		case m.Response:
			b.replies[m.Token] = m
		case m.Event:
			m.At = time.Now()
			b.events = append(b.events, m.baresipEvent)
		}
		close(b.changed)
		b.changed = make(chan struct{})
		b.mu.Unlock()
	}
}

// maxNetstring bounds a netstring's length: ctrl_tcp's messages are small.
const maxNetstring = 1 << 20

// readNetstring reads one netstring ("5:hello,") and returns its payload.
func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	digits := head[:len(head)-1]
	if digits == "" || len(digits) > 7 || strings.TrimLeft(digits, "0123456789") != "" {
		return nil, fmt.Errorf("netstring: bad length %q", digits)
	}
	n, _ := strconv.Atoi(digits)
	if n > maxNetstring {
		return nil, fmt.Errorf("netstring: length %d over %d", n, maxNetstring)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("netstring: %w", err)
	}
	if buf[n] != ',' {
		return nil, fmt.Errorf("netstring: %q after %d bytes, want ','", buf[n], n)
	}
	return buf[:n], nil
}

// writeNetstring frames payload as a netstring.
func writeNetstring(w io.Writer, payload []byte) error {
	_, err := fmt.Fprintf(w, "%d:%s,", len(payload), payload)
	return err
}

// command runs one baresip command (as typed after '/' in its console,
// such as "dial" with params "sip:…") and returns its output; it fails
// the test if baresip does not answer ok within 10 s.
func (b *baresip) command(name, params string) string {
	b.t.Helper()
	b.nextToken++
	token := fmt.Sprintf("%s-%d", name, b.nextToken)
	req, err := json.Marshal(map[string]string{"command": name, "params": params, "token": token})
	if err != nil {
		b.t.Fatal(err)
	}
	if err := b.conn.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		b.t.Fatal(err)
	}
	if err := writeNetstring(b.conn, req); err != nil {
		b.t.Fatalf("baresip %s: send %s: %v", b.opts.Name, name, err)
	}
	deadline := time.After(10 * time.Second)
	for {
		b.mu.Lock()
		reply, ok := b.replies[token]
		changed := b.changed
		b.mu.Unlock()
		if ok {
			if !reply.OK {
				b.t.Fatalf("baresip %s refused /%s %s: %q", b.opts.Name, name, params, reply.Data)
			}
			return reply.Data
		}
		select {
		case <-changed:
		case <-b.done:
			b.t.Fatalf("baresip %s exited (%v) before answering /%s", b.opts.Name, b.waitErr, name)
		case <-deadline:
			b.t.Fatalf("baresip %s did not answer /%s %s within 10 s", b.opts.Name, name, params)
		}
	}
}

// SIPPort is the port the phone takes SIP on over its transport: baresip
// listens for UDP and TCP on sip_listen's port and for TLS on the next.
func (b *baresip) SIPPort() int {
	if b.opts.Transport.SIP == "tls" {
		return b.sipPort + 1
	}
	return b.sipPort
}

// dial calls user at the SIP address addr, over the phone's transport
// (its account's URI names it, and baresip adds it to the URI dialled).
func (b *baresip) dial(user, addr string) {
	b.t.Helper()
	b.command("dial", fmt.Sprintf("sip:%s@%s", user, addr))
}

// keyGap is the time between two keys the phone presses: baresip sends a
// key's RFC 4733 events at once (start, then end), so the gap is what a
// person would leave.
const keyGap = 250 * time.Millisecond

// pressKeys sends keys on the current call as RFC 4733 events, one
// /sndcode per key.
func (b *baresip) pressKeys(keys string) {
	b.t.Helper()
	for i, k := range keys {
		if i > 0 {
			time.Sleep(keyGap)
		}
		b.command("sndcode", string(k))
	}
}

// hold puts the current call on hold (a re-INVITE with a=sendonly) and
// returns the event of the answer's arrival.
func (b *baresip) hold() baresipEvent {
	b.t.Helper()
	return b.reinvite("hold")
}

// resume takes the current call off hold (a re-INVITE with a=sendrecv)
// and returns the event of the answer's arrival.
func (b *baresip) resume() baresipEvent {
	b.t.Helper()
	return b.reinvite("resume")
}

// reinvite runs a command that re-INVITEs and waits for the answer.
func (b *baresip) reinvite(command string) baresipEvent {
	b.t.Helper()
	mark := b.eventMark()
	b.command(command, "")
	e := b.waitEventSince(mark, 10*time.Second, "CALL_REMOTE_SDP")
	if e.Param != "answer" {
		b.t.Fatalf("baresip %s: after /%s got a remote SDP %s, want the answer to its re-INVITE", b.opts.Name, command, e.Param)
	}
	return e
}

// hangup ends the current call.
func (b *baresip) hangup() { b.t.Helper(); b.command("hangup", "") }

// waitEvent waits up to d for an event of type typ that no earlier
// waitEvent returned, and returns it. It fails the test, showing the
// events so far, if none comes; a CALL_CLOSED that arrives during a wait
// for something else fails it at once, with the reason baresip gave.
func (b *baresip) waitEvent(d time.Duration, typ string) baresipEvent {
	b.t.Helper()
	i := b.awaitEvent(d, typ, func(i int) bool { return true }, true)
	return b.event(i)
}

// eventMark is a mark for waitEventSince: the number of events so far.
func (b *baresip) eventMark() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.events)
}

// waitEventSince is waitEvent for the first event of type typ reported
// after mark (see eventMark), returned by a waitEvent before or not.
func (b *baresip) waitEventSince(mark int, d time.Duration, typ string) baresipEvent {
	b.t.Helper()
	i := b.awaitEvent(d, typ, func(i int) bool { return i >= mark }, false)
	return b.event(i)
}

func (b *baresip) event(i int) baresipEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.events[i]
}

// awaitEvent waits for the first event of type typ whose index ok
// accepts (and, when untaken, that no waitEvent returned yet), and
// returns its index.
func (b *baresip) awaitEvent(d time.Duration, typ string, ok func(i int) bool, untaken bool) int {
	b.t.Helper()
	deadline := time.After(d)
	start := b.eventMark()
	for {
		b.mu.Lock()
		seen := 0
		found, closed := -1, -1
		for i, e := range b.events {
			if e.Type == "CALL_CLOSED" && typ != "CALL_CLOSED" && i >= start && closed < 0 {
				closed = i
			}
			if e.Type != typ || !ok(i) {
				continue
			}
			if !untaken || seen == b.taken[typ] {
				found = i
				break
			}
			seen++
		}
		if found >= 0 && untaken {
			b.taken[typ]++
		}
		changed := b.changed
		b.mu.Unlock()
		if found >= 0 {
			return found
		}
		if closed >= 0 {
			b.t.Fatalf("baresip %s: the call closed (%q) while waiting for %s; events:\n%s", b.opts.Name, b.event(closed).Param, typ, b.eventList())
		}
		select {
		case <-changed:
		case <-b.done:
			b.t.Fatalf("baresip %s exited (%v) while waiting for %s; events:\n%s", b.opts.Name, b.waitErr, typ, b.eventList())
		case <-deadline:
			b.t.Fatalf("baresip %s reported no %s within %v; events:\n%s", b.opts.Name, typ, d, b.eventList())
		}
	}
}

// eventParams is the param of every event of type typ so far, in order.
func (b *baresip) eventParams(typ string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.events {
		if e.Type == typ {
			out = append(out, e.Param)
		}
	}
	return out
}

// eventList is every event so far, one a line, without the RTCP reports.
func (b *baresip) eventList() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var s strings.Builder
	for _, e := range b.events {
		if e.Type != "CALL_RTCP" {
			fmt.Fprintf(&s, "  %v\n", e)
		}
	}
	return s.String()
}

// dumps returns the phone's sndfile dumps of one direction ("dec": what
// it heard, "enc": what it sent), oldest first.
func (b *baresip) dumps(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(b.dir, "dump-*-"+dir+".wav"))
	sort.Strings(files)
	return files
}

// heard is what the phone heard on its (one) call so far: the decoded
// audio its sndfile filter wrote, 8 kHz mono. Only received audio is in
// it: a gap in the RTP is no silence in the file. baresip 1.0.0 stops the
// dump when a re-INVITE restarts its player (hold): use audio then.
func (b *baresip) heard() []int16 {
	b.t.Helper()
	files := b.dumps("dec")
	if len(files) != 1 {
		b.t.Fatalf("baresip %s: want one dump of what it heard, have %q; log:\n%s", b.opts.Name, files, b.log)
	}
	w, err := readWAV(files[0])
	if err != nil {
		b.t.Fatalf("baresip %s: %v", b.opts.Name, err)
	}
	if w.Channels != 1 || w.SampleRate != 8000 {
		b.t.Fatalf("baresip %s: %s has %d channels at %d Hz, want 8 kHz mono", b.opts.Name, files[0], w.Channels, w.SampleRate)
	}
	return w.Samples[0]
}

// heardTone checks that what the phone heard from sample from on (see
// heard) carries hz for at least minSec and the phone's own tone nowhere.
func (b *baresip) heardTone(from int, hz int, minSec float64) {
	b.t.Helper()
	pcm := b.heard()
	if from > len(pcm) {
		from = len(pcm)
	}
	pcm = pcm[from:]
	hits, frames := toneFrames(pcm, float64(hz))
	own, _ := toneFrames(pcm, float64(b.opts.VoiceHz))
	b.t.Logf("baresip %s heard %.2f s of audio: %d Hz in %.2f s, its own %d Hz in %.2f s", b.opts.Name,
		float64(len(pcm))/8000, hz, float64(hits*frameMS)/1000, b.opts.VoiceHz, float64(own*frameMS)/1000)
	if float64(hits*frameMS)/1000 < minSec {
		b.t.Errorf("baresip %s heard the %d Hz tone for %.2f s (of %d frames), want at least %.1f s", b.opts.Name, hz, float64(hits*frameMS)/1000, frames, minSec)
	}
	if own > frames/50 {
		b.t.Errorf("baresip %s heard its own %d Hz tone for %.2f s: its audio came back to it", b.opts.Name, b.opts.VoiceHz, float64(own*frameMS)/1000)
	}
}

// stop asks baresip to quit, and kills it if it has not within 10 s; if
// the test failed it shows the phone's events and log.
func (b *baresip) stop() {
	select {
	case <-b.done:
	default:
		if b.conn != nil {
			req, _ := json.Marshal(map[string]string{"command": "quit", "token": "quit"})
			_ = b.conn.SetWriteDeadline(time.Now().Add(time.Second))
			_ = writeNetstring(b.conn, req)
		}
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			_ = b.cmd.Process.Signal(syscall.SIGKILL)
			<-b.done
			b.t.Errorf("baresip %s did not quit within 10 s; killed", b.opts.Name)
		}
	}
	if b.conn != nil {
		b.conn.Close()
		<-b.readerEnd
	}
	if b.t.Failed() {
		b.t.Logf("baresip %s (%s) events:\n%s", b.opts.Name, b.dir, b.eventList())
		b.t.Logf("baresip %s log:\n%s", b.opts.Name, b.log)
	}
}

// heardSoFar is how many samples the phone has heard so far (see heard),
// a mark to hand heardTone; 0 before the call's audio started. It reads
// the dump's size: its header is completed only when the file is closed.
func (b *baresip) heardSoFar() int {
	b.t.Helper()
	files := b.dumps("dec")
	if len(files) == 0 {
		return 0
	}
	h, err := readWAVHeader(files[len(files)-1])
	if err != nil {
		b.t.Fatalf("baresip %s: %v", b.opts.Name, err)
	}
	return int(h.FileSize-h.DataOffset) / 2
}

// audioStatus is what baresip's /audio_debug says of the current call's
// audio stream.
type audioStatus struct {
	Dir       string  // the stream's direction: sendrecv, sendonly, …
	RxSeconds float64 // audio decoded from what the phone received so far
	TxSeconds float64 // audio sent so far
}

// audio runs /audio_debug on the current call.
func (b *baresip) audio() audioStatus {
	b.t.Helper()
	out := b.command("audio_debug", "")
	st, err := parseAudioDebug(out)
	if err != nil {
		b.t.Fatalf("baresip %s: /audio_debug: %v:\n%s", b.opts.Name, err, out)
	}
	return st
}

// parseAudioDebug reads /audio_debug's output: the " tx:" and " rx:"
// sections each end with "time = S sec", and "audio dir=D" follows them.
func parseAudioDebug(out string) (audioStatus, error) {
	var st audioStatus
	section := ""
	found := 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && (f[0] == "tx:" || f[0] == "rx:"):
			section = f[0]
		case len(f) == 4 && f[0] == "time" && f[1] == "=" && f[3] == "sec":
			v, err := strconv.ParseFloat(f[2], 64)
			if err != nil || !(v >= 0) || math.IsInf(v, 0) {
				return st, fmt.Errorf("bad time in %q", line)
			}
			switch section {
			case "tx:":
				st.TxSeconds = v
				found |= 1
			case "rx:":
				st.RxSeconds = v
				found |= 2
			}
			section = ""
		case len(f) >= 2 && f[0] == "audio" && strings.HasPrefix(f[1], "dir="):
			st.Dir = strings.TrimPrefix(f[1], "dir=")
			found |= 4
		}
	}
	if found != 7 {
		return st, errors.New("no tx time, rx time and direction")
	}
	return st, nil
}

// sipTraceMsg is one SIP message in a phone's trace (baresip -s writes
// "TCP 127.0.0.1:a -> 127.0.0.1:b" before each, then the message).
type sipTraceMsg struct {
	Transport string // UDP, TCP or TLS
	From, To  string // host:port
	Msg       sipMsg
}

// sipTrace is every SIP message the phone sent or received so far.
func (b *baresip) sipTrace() []sipTraceMsg {
	return parseBaresipTrace(b.log.String())
}

// parseBaresipTrace finds the SIP messages in baresip's -s output: a
// transport line, then the message up to the next line with a terminal
// colour escape.
func parseBaresipTrace(log string) []sipTraceMsg {
	var out []sipTraceMsg
	var cur *sipTraceMsg
	var body []string
	flush := func() {
		if cur != nil {
			cur.Msg = parseSIP(strings.Join(body, "\r\n"))
			out = append(out, *cur)
		}
		cur, body = nil, nil
	}
	for _, line := range strings.Split(log, "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[2] == "->" && (f[0] == "UDP" || f[0] == "TCP" || f[0] == "TLS") {
			flush()
			cur = &sipTraceMsg{Transport: f[0], From: f[1], To: f[3]}
			continue
		}
		if cur == nil {
			continue
		}
		if strings.Contains(line, "\x1b[") {
			flush()
			continue
		}
		body = append(body, strings.TrimRight(line, "\r"))
	}
	flush()
	return out
}

// checkTransport checks that the phone's SIP went over its transport.
// The INVITE that set up the call must have; so must every later message,
// except where callrec's Contact had no transport parameter: then the
// phone rightly sends its in-dialog requests over UDP (RFC 3261 §18.1.1,
// §19.1.4), which is logged as callrec's fault, not failed.
func (b *baresip) checkTransport() {
	b.t.Helper()
	want := strings.ToUpper(b.opts.Transport.SIP)
	trace := b.sipTrace()
	if len(trace) == 0 {
		b.t.Fatalf("baresip %s: no SIP messages in its trace", b.opts.Name)
	}
	if first := trace[0]; first.Transport != want || first.Msg.Method != "INVITE" {
		b.t.Errorf("baresip %s: the call began with %s over %s, want an INVITE over %s", b.opts.Name, first.Msg.Short(), first.Transport, want)
	}
	bareContact := ""
	for _, m := range trace {
		if c := m.Msg.Header("Contact"); strings.Contains(c, "sip:callrec@") && want != "UDP" && !strings.Contains(strings.ToLower(c), "transport=") {
			bareContact = c
		}
	}
	for _, m := range trace {
		if m.Transport == want {
			continue
		}
		if bareContact != "" {
			b.t.Logf("baresip %s: %s went over %s, not %s: callrec's Contact %s names no transport (a callrec bug)", b.opts.Name, m.Msg.Short(), m.Transport, want, bareContact)
			continue
		}
		b.t.Errorf("baresip %s: %s went over %s, want %s", b.opts.Name, m.Msg.Short(), m.Transport, want)
	}
}

// audioDebugSample is /audio_debug's output on a call, from baresip 1.0.0.
const audioDebugSample = `
--- Audio stream ---
 tx:   encode: PCMU 8000Hz/1ch ptime=20ms S16LE
       aubuf: wish_sz=320 cur_sz=0 filling=0 (cur 0.00ms, max 600.00ms, or 0, ur 0)
       source: aufile,voice.wav S16LE
       time = 3.080 sec
 rx:   decode: PCMU 8000Hz/1ch S16LE
       aubuf: wish_sz=320 cur_sz=0 filling=1 (cur 0.00ms, max 160.00ms, or 1, ur 2795459)
       player: aubridge,heard S16LE
       n_discard:0
       time = 1.919 sec
 audio tx pipeline:      aufile ---> sndfile ---> PCMU
 audio rx pipeline:    aubridge <--- PCMU
 audio dir=sendonly pt_enc=0
 local: 0.0.0.0:62920, remote: 127.0.0.1:62928/127.0.0.1:62929
`

// traceSample is a piece of baresip -s output: a colour escape, "#", the
// transport line, the message, and the escape that ends it.
const traceSample = "baresip is ready.\n\x1b[36;1m#\nTCP 127.0.0.1:48422 -> 127.0.0.1:21720\n" +
	"INVITE sip:+12125550123@127.0.0.1:21720 SIP/2.0\nVia: SIP/2.0/TCP 127.0.0.1:21744;branch=z9hG4bK.1\n" +
	"CSeq: 1 INVITE\nContact: <sip:callrec@127.0.0.1:21744>\nContent-Length: 0\n\n\x1b[;m\n" +
	"ua: using AF from sdp offer: af=AF_INET\n\x1b[36;1m#\nUDP 127.0.0.1:21720 -> 127.0.0.1:21744\n" +
	"SIP/2.0 200 OK\nCSeq: 2 BYE\nContent-Length: 0\n\n\x1b[;m\n"

// TestHarnessBaresipParsers checks the readers of baresip's output
// against samples of it.
func TestHarnessBaresipParsers(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	for _, p := range []string{`{"event":true,"type":"CALL_CLOSED"}`, "", "a,b:c"} {
		if err := writeNetstring(&b, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReader(&b)
	for _, want := range []string{`{"event":true,"type":"CALL_CLOSED"}`, "", "a,b:c"} {
		got, err := readNetstring(r)
		if err != nil || string(got) != want {
			t.Errorf("readNetstring = %q, %v; want %q", got, err, want)
		}
	}
	for _, bad := range []string{"5:abc,", "3:abcd", ":x,", "x:abc,", "99999999:", "-1:,"} {
		if p, err := readNetstring(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("readNetstring(%q) = %q, want an error", bad, p)
		}
	}

	st, err := parseAudioDebug(audioDebugSample)
	if err != nil || st != (audioStatus{Dir: "sendonly", RxSeconds: 1.919, TxSeconds: 3.08}) {
		t.Errorf("parseAudioDebug = %+v, %v", st, err)
	}
	if _, err := parseAudioDebug("--- Audio stream ---\n"); err == nil {
		t.Error("parseAudioDebug of no stream gave no error")
	}

	trace := parseBaresipTrace(traceSample)
	if len(trace) != 2 {
		t.Fatalf("parseBaresipTrace found %d messages, want 2: %+v", len(trace), trace)
	}
	if m := trace[0]; m.Transport != "TCP" || m.From != "127.0.0.1:48422" || m.Msg.Method != "INVITE" || m.Msg.Header("Contact") != "<sip:callrec@127.0.0.1:21744>" {
		t.Errorf("first message %+v", m)
	}
	if m := trace[1]; m.Transport != "UDP" || m.Msg.Status != 200 || m.Msg.CSeq != "BYE" {
		t.Errorf("second message %+v", m)
	}
}

// FuzzReadNetstring: any input gives a payload or an error, never a
// panic, and a payload written back reads the same.
func FuzzReadNetstring(f *testing.F) {
	for _, s := range []string{"5:hello,", "0:,", "12:{\"a\":\"b:c\"},3:abc,", "5:abc,", "007:1234567,", ":", "1:", "9999999:x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := readNetstring(bufio.NewReader(bytes.NewReader(in)))
		if err != nil {
			return
		}
		if len(p) > maxNetstring {
			t.Fatalf("payload of %d bytes, over %d", len(p), maxNetstring)
		}
		var b bytes.Buffer
		if err := writeNetstring(&b, p); err != nil {
			t.Fatal(err)
		}
		again, err := readNetstring(bufio.NewReader(&b))
		if err != nil || !bytes.Equal(again, p) {
			t.Fatalf("round trip of %q gave %q, %v", p, again, err)
		}
	})
}

// FuzzParseAudioDebug: any text gives a status or an error, never a
// panic, and a status has no negative times.
func FuzzParseAudioDebug(f *testing.F) {
	f.Add(audioDebugSample)
	f.Add(" tx:\n time = 1 sec\n rx:\n time = 2 sec\n audio dir=sendrecv\n")
	f.Add(" rx:\n time = NaN sec\n")
	f.Fuzz(func(t *testing.T, in string) {
		st, err := parseAudioDebug(in)
		if err == nil && (st.RxSeconds < 0 || st.TxSeconds < 0 || st.Dir == "") {
			t.Fatalf("parseAudioDebug(%q) = %+v", in, st)
		}
	})
}

// FuzzParseBaresipTrace: any log gives messages, never a panic, each with
// a transport baresip names.
func FuzzParseBaresipTrace(f *testing.F) {
	f.Add(traceSample)
	f.Add("TLS a -> b\n")
	f.Add("UDP 1 -> 2\nSIP/2.0 100 Trying\n\x1b[;m")
	f.Fuzz(func(t *testing.T, in string) {
		for _, m := range parseBaresipTrace(in) {
			if m.Transport != "UDP" && m.Transport != "TCP" && m.Transport != "TLS" {
				t.Fatalf("message over %q", m.Transport)
			}
		}
	})
}

// linphone is one linphonec (Debian linphone-cli) phone, driven through
// its standard input: the console's commands, one a line, and its
// output read back from the log. It plays its tone from a WAV file and
// records what it hears to heard.wav ('soundcard use files').
type linphone struct {
	t       *testing.T
	name    string
	voiceHz int
	dir     string
	stdin   io.WriteCloser
	cmd     *exec.Cmd
	log     *syncBuffer
	done    chan struct{}
	waitErr error
}

// requireLinphone skips the test when linphonec is missing, unless
// CI=true, where that is a failure.
func requireLinphone(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("linphonec")
	if err != nil {
		msg := "linphonec not found on PATH: install it (Debian: apt-get install linphone-cli) to run the linphone test"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// startLinphone starts linphonec as user over UDP, sending a tone at
// voiceHz. It is told to quit when the test ends; its output is shown if
// the test failed.
func startLinphone(t *testing.T, name, user string, voiceHz int) *linphone {
	t.Helper()
	bin := requireLinphone(t)
	dir := filepath.Join(t.TempDir(), "linphone-"+name)
	// linphonec keeps its call history under $HOME/.local/share/linphone.
	if err := os.MkdirAll(filepath.Join(dir, ".local", "share", "linphone"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"SIPPort": freePorts(t, 1, false), "RTPPort": freePorts(t, 4, false), "User": user}
	var rc bytes.Buffer
	if err := baresipTemplates.ExecuteTemplate(&rc, "linphonerc.tmpl", data); err != nil {
		t.Fatal(err)
	}
	rcPath := filepath.Join(dir, "linphonerc")
	if err := os.WriteFile(rcPath, rc.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	writeMonoWAV(t, filepath.Join(dir, "voice.wav"), sine(float64(voiceHz), 0.5, 90*8000))
	l := &linphone{t: t, name: name, voiceHz: voiceHz, dir: dir, log: &syncBuffer{}, done: make(chan struct{})}
	l.cmd = exec.Command(bin, "-c", rcPath, "-d", "0")
	l.cmd.Dir = dir
	l.cmd.Env = append(cleanEnv(), "HOME="+dir)
	l.cmd.Stdout = l.log
	l.cmd.Stderr = l.log
	l.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := l.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	l.stdin = stdin
	if err := l.cmd.Start(); err != nil {
		t.Fatalf("start linphonec %s: %v", name, err)
	}
	go func() {
		l.waitErr = l.cmd.Wait()
		close(l.done)
	}()
	t.Cleanup(l.stop)
	l.waitOutput(15*time.Second, "linphonec> ")
	l.send("ipv6 disable")
	l.send("soundcard use files")
	l.waitOutput(5*time.Second, "Using wav files instead of soundcard.")
	l.send("play " + filepath.Join(dir, "voice.wav"))
	l.send("record " + filepath.Join(dir, "heard.wav"))
	return l
}

// send types one console line.
func (l *linphone) send(line string) {
	l.t.Helper()
	if _, err := io.WriteString(l.stdin, line+"\n"); err != nil {
		l.t.Fatalf("linphonec %s: type %q: %v", l.name, line, err)
	}
}

// waitOutput waits up to d for linphonec to print text.
func (l *linphone) waitOutput(d time.Duration, text string) {
	l.t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(l.log.String(), text) {
		select {
		case <-l.done:
			l.t.Fatalf("linphonec %s exited (%v) before printing %q; output:\n%s", l.name, l.waitErr, text, l.log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("linphonec %s did not print %q within %v", l.name, text, d)
		}
	}
}

// dial calls user at the SIP address addr.
func (l *linphone) dial(user, addr string) {
	l.t.Helper()
	l.send(fmt.Sprintf("call sip:%s@%s", user, addr))
}

// pressKeys sends keys on the call: a line of one key is a key press,
// sent as RFC 4733 events.
func (l *linphone) pressKeys(keys string) {
	l.t.Helper()
	for i, k := range keys {
		if i > 0 {
			time.Sleep(keyGap)
		}
		l.send(string(k))
	}
}

// heard is what the phone recorded of the call (8 kHz mono).
func (l *linphone) heard() []int16 {
	l.t.Helper()
	path := filepath.Join(l.dir, "heard.wav")
	w, err := readWAV(path)
	if err != nil {
		l.t.Fatalf("linphonec %s: %v", l.name, err)
	}
	if w.Channels != 1 || w.SampleRate != 8000 {
		l.t.Fatalf("linphonec %s: %s has %d channels at %d Hz, want 8 kHz mono", l.name, path, w.Channels, w.SampleRate)
	}
	return w.Samples[0]
}

// stop types quit, and kills linphonec if it has not exited within 10 s.
func (l *linphone) stop() {
	select {
	case <-l.done:
	default:
		_, _ = io.WriteString(l.stdin, "quit\n")
		select {
		case <-l.done:
		case <-time.After(10 * time.Second):
			_ = l.cmd.Process.Signal(syscall.SIGKILL)
			<-l.done
			l.t.Errorf("linphonec %s did not quit within 10 s; killed", l.name)
		}
	}
	if l.t.Failed() {
		l.t.Logf("linphonec %s (%s) output:\n%s", l.name, l.dir, l.log)
	}
}
