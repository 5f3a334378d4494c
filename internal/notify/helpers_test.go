package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/signed"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
)

const (
	testCallID    = "0192c3c4-7d5e-7b1a-9f00-123456789abc"
	testPublicURL = "http://127.0.0.1:8080"
)

var (
	testNow    = time.Date(2026, 3, 3, 14, 30, 0, 0, time.UTC)
	testZone   = time.FixedZone("CET", 3600)
	testSecret = bytes.Repeat([]byte("s3cr3t-link-key-"), 2)
)

// testCall is an outbound call of 4m 05s.
func testCall() *store.Call {
	started := time.Date(2026, 3, 3, 14, 5, 0, 0, time.UTC)
	answered := started.Add(5 * time.Second)
	ended := answered.Add(245 * time.Second)
	return &store.Call{
		ID: testCallID, Direction: store.DirectionOutbound,
		OwnerNumber: "+15550111", Party: "+12125550123", ServiceNumber: "+15550100",
		StartedAt: started, AnsweredAt: &answered, EndedAt: &ended,
		Status: "completed", RecordingState: "stored",
		RecordingKey:        calls.RecordingKey(testCallID, started),
		RecordingDurationMS: 245000,
	}
}

// issueTurn is a turn whose issues are the given substrings of content.
func issueTurn(role string, beginMS int64, content string, issues ...string) transcript.Turn {
	t := transcript.Turn{ParticipantRole: role, BeginOffsetMillis: beginMS, EndOffsetMillis: beginMS + 3000, Content: content, Sentiment: transcript.Negative}
	for _, is := range issues {
		i := strings.Index(content, is)
		if i < 0 {
			panic("issue not in content: " + is)
		}
		t.IssuesDetected = append(t.IssuesDetected, transcript.Detection{CharacterOffsets: transcript.Offsets(content, i, i+len(is))})
	}
	return t
}

// testDoc is the call's analytics: owner 45 %, other 40 %, silence 15 %,
// four issues (the email shows three).
func testDoc() *transcript.Document {
	d := &transcript.Document{
		JobStatus: "COMPLETED",
		Transcript: []transcript.Turn{
			issueTurn(transcript.Agent, 1000, "Hello, this is Sam from the paper."),
			issueTurn(transcript.Customer, 5000, "Well, my order never arrived and I was charged twice.", "my order never arrived", "I was charged twice"),
			issueTurn(transcript.Customer, 65000, "Die Lieferung für München kam nie an.", "Lieferung für München kam nie an"),
			issueTurn(transcript.Agent, 70000, "So My order never arrived, you say?", "My order never arrived"), // a repeat, other case
			issueTurn(transcript.Customer, 80000, "The <b>refund</b> & \"credit\" failed.", "The <b>refund</b> & \"credit\" failed"),
		},
	}
	d.Categories.MatchedCategories = []string{"complaint"}
	cc := &d.ConversationCharacteristics
	cc.TotalConversationDurationMillis = 245000
	cc.TalkTime.DetailsByParticipant = map[string]transcript.Duration{
		transcript.Agent:    {TotalTimeMillis: 110250},
		transcript.Customer: {TotalTimeMillis: 98000},
	}
	cc.NonTalkTime.TotalTimeMillis = 36750
	cc.Sentiment.OverallSentiment = map[string]float64{transcript.Agent: 1.5, transcript.Customer: -2.25}
	cc.Interruptions.TotalCount = 2
	d.FillEmpty()
	return d
}

// testOutputs stores the test call's files and returns its downloads.
func testOutputs(t *testing.T, b blob.Store, docx []byte) []calls.Download {
	t.Helper()
	return callOutputs(t, b, testCall(), docx)
}

// callOutputs stores a call's files, as its stages would, and returns its
// downloads (calls.Downloads).
func callOutputs(t *testing.T, b blob.Store, call *store.Call, docx []byte) []calls.Download {
	t.Helper()
	ctx := context.Background()
	html := calls.OutputKey(call.ID, calls.ReportHTML)
	tr := calls.OutputKey(call.ID, calls.Transcript)
	files := map[string][]byte{
		html:              []byte("<html>report</html>"),
		tr:                []byte("{}"),
		call.RecordingKey: []byte("RIFF"),
	}
	render := []string{html}
	if docx != nil {
		k := calls.OutputKey(call.ID, calls.ReportDOCX)
		files[k] = docx
		render = append(render, k)
	}
	for k, v := range files {
		if err := b.Put(ctx, k, bytes.NewReader(v)); err != nil {
			t.Fatal(err)
		}
	}
	stages := []store.Stage{
		{Name: calls.StageAnalyze, State: store.StageDone, Outputs: []string{tr}},
		{Name: calls.StageRender, State: store.StageDone, Outputs: render},
	}
	ds, err := calls.Downloads(ctx, b, call, stages)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// keyOf is the key of the download named name, or "".
func keyOf(ds []calls.Download, name string) string {
	for _, d := range ds {
		if d.Name == name {
			return d.Key
		}
	}
	return ""
}

func newBlob(t *testing.T) *blob.Local {
	t.Helper()
	b, err := blob.NewLocal(filepath.Join(t.TempDir(), "objects"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newSigner(t *testing.T) *signed.Signer {
	t.Helper()
	s, err := signed.New(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newNotifier makes a Notifier with the test clock and zone.
func newNotifier(t *testing.T, b blob.Store, email *EmailConfig, hook *WebhookConfig) *Notifier {
	t.Helper()
	n, err := New(Config{Email: email, Webhook: hook, Signer: newSigner(t), Blob: b, Logger: testLogger(t),
		Now: func() time.Time { return testNow }, Location: testZone})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// clockNotifier makes a Notifier whose clock the test moves.
func clockNotifier(t *testing.T, b blob.Store, email *EmailConfig, hook *WebhookConfig, now *time.Time) *Notifier {
	t.Helper()
	n, err := New(Config{Email: email, Webhook: hook, Signer: newSigner(t), Blob: b, Logger: testLogger(t),
		Now: func() time.Time { return *now }, Location: testZone})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+/l/[A-Za-z0-9_-]+`)

// verifyLinks checks that every signed link in text verifies to a key of
// outputs, and returns the keys found.
func verifyLinks(t *testing.T, text string, outputs []calls.Download) map[string]bool {
	t.Helper()
	s := newSigner(t)
	valid := map[string]bool{}
	for _, d := range outputs {
		valid[d.Key] = true
	}
	found := map[string]bool{}
	for _, u := range linkRE.FindAllString(text, -1) {
		if !strings.HasPrefix(u, testPublicURL+"/l/") {
			t.Errorf("link %q is not under public_url %s", u, testPublicURL)
			continue
		}
		tok := strings.TrimPrefix(u, testPublicURL+"/l/")
		key, err := s.Verify(tok, testNow)
		if err != nil {
			t.Errorf("link %s: %v", u, err)
			continue
		}
		if !valid[key] {
			t.Errorf("link %s names %q, not an output of the call", u, key)
		}
		found[key] = true
		// The link expires after the link lifetime and breaks when altered.
		if _, err := s.Verify(tok, testNow.Add(DefaultLinkTTL)); err == nil {
			t.Errorf("link %s still valid after %s", u, DefaultLinkTTL)
		}
		alt := []byte(tok)
		alt[len(alt)/2] ^= 'A' ^ 'B'
		if _, err := s.Verify(string(alt), testNow); err == nil {
			t.Errorf("altered link %s verified", alt)
		}
	}
	return found
}

// mailpitBinary finds mailpit in PATH or $(go env GOPATH)/bin. When it is
// missing the test is skipped, unless CI=true, where it fails.
func mailpitBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "mailpit")
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p
			}
		}
	}
	const msg = "mailpit not found in PATH or $(go env GOPATH)/bin; install it with: go install github.com/axllent/mailpit@v1.27.11"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// mailpit is a running Mailpit server.
type mailpit struct {
	smtpPort int
	api      string // base URL of the HTTP API
}

// freePort returns a TCP port on loopback that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startMailpit runs Mailpit on loopback with extra flags until the test
// ends.
func startMailpit(t *testing.T, extra ...string) *mailpit {
	return startMailpitOn(t, 0, extra...)
}

// startMailpitOn runs Mailpit with its SMTP server on smtpPort (0: a free
// one), as a mail server coming back would.
func startMailpitOn(t *testing.T, smtpPort int, extra ...string) *mailpit {
	t.Helper()
	bin := mailpitBinary(t)
	for try := 0; ; try++ {
		mp, err := tryMailpit(t, bin, smtpPort, extra)
		if err == nil {
			return mp
		}
		if try == 2 {
			t.Fatalf("start mailpit: %v", err)
		}
		t.Logf("start mailpit (retrying): %v", err)
	}
}

func tryMailpit(t *testing.T, bin string, smtpPort int, extra []string) (*mailpit, error) {
	dir := t.TempDir()
	if smtpPort == 0 {
		smtpPort = freePort(t)
	}
	mp := &mailpit{smtpPort: smtpPort}
	httpPort := freePort(t)
	mp.api = "http://127.0.0.1:" + strconv.Itoa(httpPort)
	args := append([]string{
		"--smtp", "127.0.0.1:" + strconv.Itoa(mp.smtpPort),
		"--listen", "127.0.0.1:" + strconv.Itoa(httpPort),
		"--database", filepath.Join(dir, "mailpit.db"),
		"--disable-version-check",
		"--smtp-disable-rdns",
	}, extra...)
	var logBuf bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			return nil, fmt.Errorf("mailpit exited (%v): %s", err, logBuf.String())
		default:
		}
		if ready(mp.api+"/readyz") && dialable(mp.smtpPort) {
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("mailpit not ready after 20 s: %s", logBuf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("mailpit log:\n%s", logBuf.String())
		}
	})
	return mp, nil
}

func ready(u string) bool {
	resp, err := http.Get(u)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func dialable(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// mpAddress is an address in Mailpit's API.
type mpAddress struct{ Name, Address string }

// mpMessage is a message read through Mailpit's API.
type mpMessage struct {
	ID          string
	MessageID   string
	From        mpAddress
	To          []mpAddress
	Subject     string
	Username    string
	Text        string
	HTML        string
	Attachments []struct {
		PartID, FileName, ContentType string
		Size                          int
	}
}

func (mp *mailpit) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get(mp.api + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// messages returns every message Mailpit holds, fully read.
func (mp *mailpit) messages(t *testing.T) []mpMessage {
	t.Helper()
	var list struct {
		Total    int
		Messages []struct{ ID, Username string }
	}
	mp.getJSON(t, "/api/v1/messages", &list)
	out := make([]mpMessage, 0, len(list.Messages))
	for _, m := range list.Messages {
		var full mpMessage
		mp.getJSON(t, "/api/v1/message/"+m.ID, &full)
		if full.Username == "" {
			full.Username = m.Username // only the list has it
		}
		out = append(out, full)
	}
	return out
}

// headers returns a message's headers.
func (mp *mailpit) headers(t *testing.T, id string) map[string][]string {
	t.Helper()
	var h map[string][]string
	mp.getJSON(t, "/api/v1/message/"+id+"/headers", &h)
	return h
}

// part downloads an attachment.
func (mp *mailpit) part(t *testing.T, id, partID string) []byte {
	t.Helper()
	resp, err := http.Get(mp.api + "/api/v1/message/" + id + "/part/" + partID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("download part %s: %s %v", partID, resp.Status, err)
	}
	return b
}

// selfSignedCert writes a certificate for 127.0.0.1 and localhost and its
// key to dir.
func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "callrec test SMTP"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// authFile writes a Mailpit password file with one user.
func authFile(t *testing.T, user, pass string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "smtp-auth")
	if err := os.WriteFile(p, []byte(user+":"+pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
