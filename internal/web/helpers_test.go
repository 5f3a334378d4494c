package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/metrics"
	"github.com/callrec/callrec/internal/signed"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
)

// testPassword is the owner password of test servers.
const testPassword = "correct horse battery staple"

// testToken is the API token of test servers.
const testToken = "test-api-token-0123456789abcdef"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeRetrier records the stages it is asked to retry, and marks them
// pending as the pipeline would.
type fakeRetrier struct {
	store *store.Store
	mu    sync.Mutex
	calls []string // "callID/stage"
}

func (f *fakeRetrier) Retry(ctx context.Context, callID, stage string) error {
	f.mu.Lock()
	f.calls = append(f.calls, callID+"/"+stage)
	f.mu.Unlock()
	return f.store.SaveStage(ctx, &store.Stage{CallID: callID, Name: stage, State: store.StagePending})
}

func (f *fakeRetrier) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// fixture is a Server on an httptest server with an SQLite store and a
// local blob store in a temporary directory.
type fixture struct {
	t       *testing.T
	srv     *Server
	ts      *httptest.Server
	store   *store.Store
	blob    *blob.Local
	signer  *signed.Signer
	retrier *fakeRetrier
	clock   *clock
	metrics *metrics.Metrics
}

// noPassword makes newFixture start a server with no password configured.
const noPassword = "none"

// newFixture starts a test server; hash is the password hash (a fast
// bcrypt one when empty, none with noPassword).
func newFixture(t *testing.T, hash string) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "callrec.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bl, err := blob.NewLocal(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signed.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	switch hash {
	case noPassword:
		hash = ""
	case "":
		b, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		hash = string(b)
	}
	f := &fixture{t: t, store: st, blob: bl, signer: signer, retrier: &fakeRetrier{store: st},
		clock: &clock{t: time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)}, metrics: metrics.New()}
	f.srv, err = New(Config{
		Store: st, Blob: bl, Signer: signer, Retrier: f.retrier,
		PasswordHash: hash, APITokens: []string{testToken}, LinkTTL: time.Hour,
		Location: time.UTC, Metrics: f.metrics, Now: f.clock.Now,
		Logger: testLogger(t), RetentionDays: 30,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.ts = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.ts.Close)
	return f
}

// seedCall stores a finished call with a recording, a transcript, report
// files and stage records (render failed), and returns it.
func (f *fixture) seedCall(id, party string, started time.Time) *store.Call {
	f.t.Helper()
	ctx := context.Background()
	answered, ended := started.Add(5*time.Second), started.Add(65*time.Second)
	c := &store.Call{
		ID: id, Direction: store.DirectionOutbound, OwnerNumber: "+15550100001", Party: party,
		ServiceNumber: "+15550100000", StartedAt: started, AnsweredAt: &answered, EndedAt: &ended,
		Status: store.StatusCompleted, HangupCause: "owner hung up", RecordingState: store.RecordingComplete,
		RecordingKey: calls.RecordingKey(id, started), RecordingDurationMS: 2000,
	}
	if err := f.store.InsertCall(ctx, c); err != nil {
		f.t.Fatal(err)
	}
	f.put(c.RecordingKey, stereoWAV(2*time.Second))
	f.put(calls.OutputKey(id, "transcript.json"), transcriptJSON(f.t))
	f.put(calls.OutputKey(id, "words.json"), []byte(`{"channels":[]}`))
	f.put(calls.OutputKey(id, "report.html"), []byte(`<!doctype html><html><head><meta charset="utf-8"><title>Report</title></head><body><h1>Report of the call</h1><p>Everything went fine.</p></body></html>`))
	f.put(calls.OutputKey(id, "report.docx"), []byte("PK\x03\x04 not really a docx"))
	for _, s := range []store.Stage{
		{Name: calls.StageTranscribe, State: store.StageDone, Attempts: 1, OutputKey: calls.OutputKey(id, "words.json")},
		{Name: calls.StageAnalyze, State: store.StageDone, Attempts: 1, OutputKey: calls.OutputKey(id, "transcript.json")},
		{Name: calls.StageRender, State: store.StageFailed, Attempts: 3, LastError: "render: LibreOffice crashed"},
		{Name: calls.StageNotify, State: store.StagePending},
	} {
		s.CallID = id
		if err := f.store.SaveStage(ctx, &s); err != nil {
			f.t.Fatal(err)
		}
	}
	return c
}

func (f *fixture) put(key string, data []byte) {
	f.t.Helper()
	if err := f.blob.Put(context.Background(), key, bytes.NewReader(data)); err != nil {
		f.t.Fatal(err)
	}
}

// link returns the site-relative signed link to key, expiring in ttl.
func (f *fixture) link(key string, ttl time.Duration) string {
	return "/l/" + f.signer.Token(key, f.clock.Now().Add(ttl))
}

// Turns of the test transcript.
const (
	ownerLine = "Hello, this is the owner calling about the invoice."
	partyLine = "Thanks for calling, the invoice was paid yesterday."
)

// transcriptJSON is a small Call Analytics document.
func transcriptJSON(t *testing.T) []byte {
	t.Helper()
	doc := &transcript.Document{
		JobStatus: "COMPLETED",
		Transcript: []transcript.Turn{
			{ParticipantRole: transcript.Agent, BeginOffsetMillis: 0, EndOffsetMillis: 900, Content: ownerLine, Sentiment: transcript.Neutral},
			{ParticipantRole: transcript.Customer, BeginOffsetMillis: 1000, EndOffsetMillis: 1900, Content: partyLine, Sentiment: transcript.Positive},
		},
	}
	doc.ConversationCharacteristics.TotalConversationDurationMillis = 2000
	var b bytes.Buffer
	if err := transcript.Encode(&b, doc); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// stereoWAV is 16-bit 8 kHz stereo PCM: a 440 Hz tone left, 660 Hz right.
func stereoWAV(d time.Duration) []byte {
	const rate = 8000
	n := int(d.Seconds() * rate)
	data := make([]byte, 0, n*4)
	for i := range n {
		l := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/rate))
		r := int16(8000 * math.Sin(2*math.Pi*660*float64(i)/rate))
		data = binary.LittleEndian.AppendUint16(data, uint16(l))
		data = binary.LittleEndian.AppendUint16(data, uint16(r))
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+len(data)))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, uint16(1)) // PCM
	binary.Write(&b, binary.LittleEndian, uint16(2)) // channels
	binary.Write(&b, binary.LittleEndian, uint32(rate))
	binary.Write(&b, binary.LittleEndian, uint32(rate*4))
	binary.Write(&b, binary.LittleEndian, uint16(4))
	binary.Write(&b, binary.LittleEndian, uint16(16))
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

// client is an HTTP client with a cookie jar that does not follow
// redirects.
func (f *fixture) client() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends a request; hdr are header name/value pairs.
func (f *fixture) do(c *http.Client, method, path string, form url.Values, hdr ...string) (*http.Response, string) {
	f.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, f.ts.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		f.t.Fatal(err)
	}
	return resp, b.String()
}

// login logs c in and returns the session's CSRF token.
func (f *fixture) login(c *http.Client) string {
	f.t.Helper()
	resp, body := f.do(c, "POST", "/login", url.Values{"password": {testPassword}}, "Origin", f.ts.URL)
	if resp.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("log-in: status %d: %s", resp.StatusCode, body)
	}
	resp, body = f.do(c, "GET", "/", nil)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("calls page after log-in: status %d", resp.StatusCode)
	}
	return csrfOf(f.t, body)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf finds the CSRF token in a page.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// stageFailed is a failed stage record.
func stageFailed(callID, name string) *store.Stage {
	return &store.Stage{CallID: callID, Name: name, State: store.StageFailed, Attempts: 1, LastError: "boom"}
}
