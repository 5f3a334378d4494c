package openai

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/media/wav"
	"github.com/callrec/callrec/internal/transcribe"
)

// The HTTP servers in these tests stand in for the remote paid API (and for
// whisper.cpp's and faster-whisper's servers), speaking its documented wire
// format: POST /v1/audio/transcriptions with a multipart form, answered with
// verbose_json as OpenAI's API reference shows it ("task", "language",
// "duration", "text", "words" [{word, start, end}], "segments" [{id, seek,
// start, end, text, tokens, temperature, avg_logprob, compression_ratio,
// no_speech_prob}], "usage") and errors as {"error":{"message","type",
// "param","code"}}.

// ownerVerbose is OpenAI's documented verbose_json for the owner's channel.
const ownerVerbose = `{
  "task": "transcribe",
  "language": "english",
  "duration": 2.0,
  "text": "Thank you for calling, this is Dana.",
  "words": [
    {"word": "Thank", "start": 0.1, "end": 0.32},
    {"word": "you", "start": 0.32, "end": 0.5},
    {"word": "for", "start": 0.5, "end": 0.66},
    {"word": "calling", "start": 0.66, "end": 1.08},
    {"word": "this", "start": 1.2, "end": 1.38},
    {"word": "is", "start": 1.38, "end": 1.5},
    {"word": "Dana", "start": 1.5, "end": 1.9}
  ],
  "segments": [
    {"id": 0, "seek": 0, "start": 0.0, "end": 2.0, "text": " Thank you for calling, this is Dana.",
     "tokens": [50364, 1044, 291, 337, 5141, 11, 341, 307, 34806, 13, 50464],
     "temperature": 0.0, "avg_logprob": -0.2231435513142097, "compression_ratio": 0.9, "no_speech_prob": 0.01}
  ],
  "usage": {"type": "duration", "seconds": 2}
}`

// customerVerbose is the other party's channel.
const customerVerbose = `{
  "task": "transcribe",
  "language": "english",
  "duration": 2.0,
  "text": "Hi, I want to cancel.",
  "words": [
    {"word": "Hi", "start": 0.2, "end": 0.4},
    {"word": "I", "start": 0.6, "end": 0.7},
    {"word": "want", "start": 0.7, "end": 0.9},
    {"word": "to", "start": 0.9, "end": 1.0},
    {"word": "cancel", "start": 1.0, "end": 1.5}
  ],
  "segments": [
    {"id": 0, "seek": 0, "start": 0.0, "end": 2.0, "text": " Hi, I want to cancel.",
     "tokens": [50364, 2421, 11, 286, 528, 281, 10373, 13, 50464],
     "temperature": 0.0, "avg_logprob": -0.10536051565782628, "compression_ratio": 0.8, "no_speech_prob": 0.02}
  ],
  "usage": {"type": "duration", "seconds": 2}
}`

// received is what the fake server read from one request.
type received struct {
	path        string
	auth        string
	contentType string
	fields      map[string][]string
	filename    string
	fileType    string
	format      wav.Format
	samples     []int16
}

// fakeAPI is the stand-in server. reply decides each answer.
type fakeAPI struct {
	t     *testing.T
	srv   *httptest.Server
	reply func(w http.ResponseWriter, r *http.Request, got received, n int)

	mu   sync.Mutex
	reqs []received
}

func newFakeAPI(t *testing.T, reply func(w http.ResponseWriter, r *http.Request, got received, n int)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, reply: reply}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	got := received{path: r.URL.Path, auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type")}
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		// Also what happens when the client gives up mid-upload (a
		// sibling channel failed): not counted as a request. Tests that
		// need the request see it missing.
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	got.fields = r.MultipartForm.Value
	if fh := r.MultipartForm.File["file"]; len(fh) == 1 {
		got.filename = fh[0].Filename
		got.fileType = fh[0].Header.Get("Content-Type")
		file, err := fh[0].Open()
		if err != nil {
			f.t.Errorf("server: open file part: %v", err)
			return
		}
		got.format, got.samples, err = wav.Decode(file)
		file.Close()
		if err != nil {
			f.t.Errorf("server: decode WAV: %v", err)
		}
	} else {
		f.t.Errorf("server: %d file parts, want 1", len(fh))
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, got)
	n := len(f.reqs)
	f.mu.Unlock()
	f.reply(w, r, got, n)
}

func (f *fakeAPI) requests() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// tone makes a recognisable channel: a sine of the given frequency.
func tone(freq float64, rate, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return s
}

func twoChannelRecording() *transcribe.Recording {
	return &transcribe.Recording{
		Path:       "call.wav",
		SampleRate: 8000,
		Channels:   [][]int16{tone(440, 8000, 16000), tone(1000, 8000, 16000)},
		CallID:     "call-1",
	}
}

// channelOf says which of rec's channels the server received.
func channelOf(rec *transcribe.Recording, samples []int16) int {
	for i, ch := range rec.Channels {
		if slices.Equal(ch, samples) {
			return i
		}
	}
	return -1
}

func newEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Millisecond
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func TestTranscribeOneRequestPerChannel(t *testing.T) {
	rec := twoChannelRecording()
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, got received, n int) {
		switch channelOf(rec, got.samples) {
		case 0:
			writeJSON(w, 200, ownerVerbose)
		case 1:
			writeJSON(w, 200, customerVerbose)
		default:
			writeJSON(w, 400, `{"error":{"message":"unexpected audio","type":"invalid_request_error","param":"file","code":null}}`)
		}
	})
	e := newEngine(t, Config{URL: api.srv.URL, APIKey: "sk-test", Model: "whisper-1", Language: "en-US"})

	res, err := e.Transcribe(context.Background(), rec)
	if err != nil {
		t.Fatalf("Transcribe: %v", err)
	}

	reqs := api.requests()
	if len(reqs) != 2 {
		t.Fatalf("server got %d requests, want one per channel (2)", len(reqs))
	}
	seen := map[int]bool{}
	for _, got := range reqs {
		if got.path != "/v1/audio/transcriptions" {
			t.Errorf("path %q", got.path)
		}
		if got.auth != "Bearer sk-test" {
			t.Errorf("Authorization %q, want Bearer sk-test", got.auth)
		}
		if mt, _, _ := mime.ParseMediaType(got.contentType); mt != "multipart/form-data" {
			t.Errorf("Content-Type %q", got.contentType)
		}
		want := map[string][]string{
			"model":                     {"whisper-1"},
			"response_format":           {"verbose_json"},
			"timestamp_granularities[]": {"word", "segment"},
			"language":                  {"en"},
		}
		for k, v := range want {
			if !slices.Equal(got.fields[k], v) {
				t.Errorf("field %s = %q, want %q", k, got.fields[k], v)
			}
		}
		if got.fileType != "audio/wav" || !strings.HasSuffix(got.filename, ".wav") {
			t.Errorf("file part %q (%s)", got.filename, got.fileType)
		}
		if got.format != (wav.Format{AudioFormat: 1, Channels: 1, SampleRate: 8000, BitsPerSample: 16}) {
			t.Errorf("WAV format %+v, want mono 16-bit 8000 Hz PCM", got.format)
		}
		ch := channelOf(rec, got.samples)
		if ch < 0 {
			t.Errorf("uploaded audio is neither channel")
		}
		if !strings.Contains(got.filename, fmt.Sprint(ch)) {
			t.Errorf("channel %d sent as %q", ch, got.filename)
		}
		seen[ch] = true
	}
	if !seen[0] || !seen[1] {
		t.Errorf("channels sent: %v", seen)
	}

	if res.Engine != "openai" || e.Name() != "openai" {
		t.Errorf("engine %q / %q", res.Engine, e.Name())
	}
	if res.Language != "en-US" {
		t.Errorf("language %q, want en-US (from \"english\")", res.Language)
	}
	if res.Document != nil {
		t.Errorf("Document set: the openai engine leaves analytics to callrec")
	}
	type w struct {
		ch          int
		text        string
		start, end  time.Duration
		confPercent int
	}
	var got []w
	for _, x := range res.Words {
		got = append(got, w{x.Channel, x.Text, x.Start, x.End, int(math.Round(x.Confidence * 100))})
	}
	ms := time.Millisecond
	want := []w{
		{0, "Thank", 100 * ms, 320 * ms, 80},
		{0, "you", 320 * ms, 500 * ms, 80},
		{0, "for", 500 * ms, 660 * ms, 80},
		{0, "calling", 660 * ms, 1080 * ms, 80},
		{0, "this", 1200 * ms, 1380 * ms, 80},
		{0, "is", 1380 * ms, 1500 * ms, 80},
		{0, "Dana", 1500 * ms, 1900 * ms, 80},
		{1, "Hi", 200 * ms, 400 * ms, 90},
		{1, "I", 600 * ms, 700 * ms, 90},
		{1, "want", 700 * ms, 900 * ms, 90},
		{1, "to", 900 * ms, 1000 * ms, 90},
		{1, "cancel", 1000 * ms, 1500 * ms, 90},
	}
	if !slices.Equal(got, want) {
		t.Errorf("words:\n got %v\nwant %v", got, want)
	}
}

func TestNoAuthHeaderWithoutKey(t *testing.T) {
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, got received, n int) {
		writeJSON(w, 200, ownerVerbose)
	})
	e := newEngine(t, Config{URL: api.srv.URL + "/v1/audio/transcriptions/"})
	rec := &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{tone(300, 8000, 800)}}
	if _, err := e.Transcribe(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	reqs := api.requests()
	if len(reqs) != 1 || reqs[0].auth != "" {
		t.Fatalf("requests %d, Authorization %q: want 1 and none", len(reqs), reqs[0].auth)
	}
	if reqs[0].path != "/v1/audio/transcriptions" {
		t.Errorf("path %q", reqs[0].path)
	}
	if got := reqs[0].fields["model"]; !slices.Equal(got, []string{"whisper-1"}) {
		t.Errorf("default model %q", got)
	}
	if _, ok := reqs[0].fields["language"]; ok {
		t.Errorf("language sent although none configured")
	}
}

func TestSegmentFallback(t *testing.T) {
	// A server that sends segments only (no word timestamps).
	const body = `{
  "task": "transcribe", "language": "english", "duration": 4.0,
  "text": "Hello there. How are you today?",
  "segments": [
    {"id": 0, "seek": 0, "start": 0.5, "end": 1.5, "text": " Hello there.", "tokens": [1, 2],
     "temperature": 0.0, "avg_logprob": -0.35667494393873245, "compression_ratio": 1.0, "no_speech_prob": 0.01},
    {"id": 1, "seek": 0, "start": 2.0, "end": 4.0, "text": " How are you today?", "tokens": [3, 4],
     "temperature": 0.0, "avg_logprob": -0.05129329438755058, "compression_ratio": 1.0, "no_speech_prob": 0.01}
  ]
}`
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, got received, n int) {
		writeJSON(w, 200, body)
	})
	e := newEngine(t, Config{URL: api.srv.URL})
	rec := &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{make([]int16, 32000), tone(500, 8000, 32000)}}
	res, err := e.Transcribe(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(api.requests()); n != 1 {
		t.Errorf("%d requests: the silent channel 0 should not be sent", n)
	}
	ms := time.Millisecond
	want := []transcribe.Word{
		{Channel: 1, Start: 500 * ms, End: 1000 * ms, Text: "Hello", Confidence: 0.7},
		{Channel: 1, Start: 1000 * ms, End: 1500 * ms, Text: "there.", Confidence: 0.7},
		{Channel: 1, Start: 2000 * ms, End: 2500 * ms, Text: "How", Confidence: 0.95},
		{Channel: 1, Start: 2500 * ms, End: 3000 * ms, Text: "are", Confidence: 0.95},
		{Channel: 1, Start: 3000 * ms, End: 3500 * ms, Text: "you", Confidence: 0.95},
		{Channel: 1, Start: 3500 * ms, End: 4000 * ms, Text: "today?", Confidence: 0.95},
	}
	if len(res.Words) != len(want) {
		t.Fatalf("words %+v", res.Words)
	}
	for i, w := range want {
		g := res.Words[i]
		if g.Channel != w.Channel || g.Start != w.Start || g.End != w.End || g.Text != w.Text || math.Abs(g.Confidence-w.Confidence) > 1e-9 {
			t.Errorf("word %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestRetryThenSuccess(t *testing.T) {
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, got received, n int) {
		switch n {
		case 1:
			writeJSON(w, 500, `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`)
		case 2:
			w.Header().Set("Retry-After", "0")
			writeJSON(w, 429, `{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}`)
		default:
			writeJSON(w, 200, ownerVerbose)
		}
	})
	e := newEngine(t, Config{URL: api.srv.URL})
	rec := &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{tone(300, 8000, 800)}}
	res, err := e.Transcribe(context.Background(), rec)
	if err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	if n := len(api.requests()); n != 3 {
		t.Errorf("%d requests, want 3 (500, 429, 200)", n)
	}
	if len(res.Words) != 7 {
		t.Errorf("%d words after retries", len(res.Words))
	}
	for _, r := range api.requests() {
		if !slices.Equal(r.samples, rec.Channels[0]) {
			t.Errorf("a retry sent different audio")
		}
	}
}

func TestRetriesExhausted(t *testing.T) {
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, got received, n int) {
		writeJSON(w, 503, `{"error":{"message":"The engine is currently overloaded, please try again later","type":"server_error","param":null,"code":null}}`)
	})
	e := newEngine(t, Config{URL: api.srv.URL, Retries: 2})
	rec := &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{tone(300, 8000, 800)}}
	_, err := e.Transcribe(context.Background(), rec)
	if err == nil {
		t.Fatal("no error")
	}
	if n := len(api.requests()); n != 3 {
		t.Errorf("%d requests, want 1 + 2 retries", n)
	}
	for _, s := range []string{"gave up after 3 attempts", "503", "currently overloaded"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
}

func TestUnauthorizedNotRetried(t *testing.T) {
	const msg = "Incorrect API key provided: sk-wrong. You can find your API key at https://platform.openai.com/account/api-keys."
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, got received, n int) {
		writeJSON(w, 401, `{"error":{"message":"`+msg+`","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
	})
	e := newEngine(t, Config{URL: api.srv.URL, APIKey: "sk-wrong"})
	_, err := e.Transcribe(context.Background(), twoChannelRecording())
	if err == nil {
		t.Fatal("no error")
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" || apiErr.Type != "invalid_request_error" {
		t.Fatalf("error %#v", err)
	}
	for _, s := range []string{"HTTP 401", msg, "transcribe.api_key"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
	if n := len(api.requests()); n > 2 {
		t.Errorf("%d requests: a 401 must not be retried", n)
	}
}

func TestWhisperCppErrorIn200(t *testing.T) {
	// whisper.cpp's server answers a WAV it cannot read (anything but 16 kHz
	// without --convert) with status 200 and {"error":"..."}.
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, got received, n int) {
		writeJSON(w, 200, `{"error":"failed to read WAV file"}`)
	})
	e := newEngine(t, Config{URL: api.srv.URL})
	rec := &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{tone(300, 8000, 800)}}
	_, err := e.Transcribe(context.Background(), rec)
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"failed to read WAV file", "16 kHz", "--convert"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
	if n := len(api.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestResampleForWhisperCpp(t *testing.T) {
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, got received, n int) {
		writeJSON(w, 200, ownerVerbose)
	})
	e := newEngine(t, Config{URL: api.srv.URL, SampleRate: 16000})
	rec := &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{tone(300, 8000, 8000)}}
	if _, err := e.Transcribe(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	got := api.requests()[0]
	if got.format.SampleRate != 16000 || len(got.samples) != 16000 {
		t.Errorf("sent %d Hz, %d samples; want 16000 Hz, 16000 samples", got.format.SampleRate, len(got.samples))
	}
}

func TestContextCancel(t *testing.T) {
	arrived := make(chan struct{}, 2)
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, got received, n int) {
		arrived <- struct{}{}
		<-r.Context().Done() // a slow server: answers only when the client gives up
	})
	e := newEngine(t, Config{URL: api.srv.URL})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	done := make(chan error, 1)
	go func() {
		_, err := e.Transcribe(ctx, twoChannelRecording())
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Transcribe did not return after its context was cancelled")
	}
}

func TestContextCancelDuringBackoff(t *testing.T) {
	arrived := make(chan struct{}, 10)
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, got received, n int) {
		arrived <- struct{}{}
		writeJSON(w, 502, `bad gateway`)
	})
	e := newEngine(t, Config{URL: api.srv.URL, Backoff: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		time.Sleep(100 * time.Millisecond) // let the engine start waiting
		cancel()
	}()
	rec := &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{tone(300, 8000, 800)}}
	// The backoff is an hour: only the cancellation ends the wait.
	_, err := e.Transcribe(ctx, rec)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "bad gateway") {
		t.Errorf("error %q does not say what was being retried", err)
	}
}

func TestTimeoutRetried(t *testing.T) {
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, got received, n int) {
		if n == 1 {
			<-r.Context().Done() // hangs past the engine's timeout
			return
		}
		writeJSON(w, 200, ownerVerbose)
	})
	e := newEngine(t, Config{URL: api.srv.URL, Timeout: 100 * time.Millisecond})
	rec := &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{tone(300, 8000, 800)}}
	if _, err := e.Transcribe(context.Background(), rec); err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	if n := len(api.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestBadRecordings(t *testing.T) {
	e := newEngine(t, Config{URL: "http://127.0.0.1:1"})
	for name, rec := range map[string]*transcribe.Recording{
		"nil":           nil,
		"no channels":   {SampleRate: 8000},
		"three":         {SampleRate: 8000, Channels: make([][]int16, 3)},
		"no rate":       {Channels: [][]int16{{1}}},
		"negative rate": {SampleRate: -1, Channels: [][]int16{{1}}},
	} {
		if _, err := e.Transcribe(context.Background(), rec); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		url, want string
	}{
		{"http://127.0.0.1:8000", "http://127.0.0.1:8000/v1/audio/transcriptions"},
		{"http://127.0.0.1:8000/", "http://127.0.0.1:8000/v1/audio/transcriptions"},
		{"https://api.openai.com/v1", "https://api.openai.com/v1/audio/transcriptions"},
		{"https://api.openai.com/v1/", "https://api.openai.com/v1/audio/transcriptions"},
		{"http://h:8080/v1/audio/transcriptions", "http://h:8080/v1/audio/transcriptions"},
		{" http://h/proxy/whisper ", "http://h/proxy/whisper/v1/audio/transcriptions"},
		{"http://h/x?key=1", "http://h/x/v1/audio/transcriptions?key=1"},
	} {
		e, err := New(Config{URL: tc.url})
		if err != nil {
			t.Errorf("New(%q): %v", tc.url, err)
			continue
		}
		if e.Endpoint() != tc.want {
			t.Errorf("New(%q).Endpoint() = %q, want %q", tc.url, e.Endpoint(), tc.want)
		}
	}
	for _, cfg := range []Config{
		{},
		{URL: "127.0.0.1:8000"},
		{URL: "ftp://h"},
		{URL: "http://"},
		{URL: "http://h", Timeout: -1},
		{URL: "http://h", SampleRate: -1},
		{URL: "http://h", Backoff: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v): no error", cfg)
		}
	}
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "transcribe.url") {
		t.Errorf("empty URL error %v should name transcribe.url", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"2":                             2 * time.Second,
		"3600":                          maxBackoff,
		"soon":                          0,
		"Thu, 02 Jan 2025 03:04:15 GMT": 10 * time.Second,
		"Thu, 02 Jan 2025 03:04:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestEncodeWAV(t *testing.T) {
	var buf bytes.Buffer
	in := []int16{0, 1, -1, 32767, -32768}
	if err := encodeWAV(&buf, in, 8000); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 44+2*len(in) {
		t.Errorf("size %d", buf.Len())
	}
	f, out, err := wav.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if f.SampleRate != 8000 || f.Channels != 1 || f.BitsPerSample != 16 || !slices.Equal(in, out) {
		t.Errorf("round trip: %+v %v", f, out)
	}
}

func TestResample(t *testing.T) {
	if got := resample([]int16{0, 100, 200}, 8000, 16000); !slices.Equal(got, []int16{0, 50, 100, 150, 200, 200}) {
		t.Errorf("8k→16k: %v", got)
	}
	if got := resample([]int16{0, 10, 20, 30}, 16000, 8000); !slices.Equal(got, []int16{0, 20}) {
		t.Errorf("16k→8k: %v", got)
	}
	in := []int16{1, 2}
	if got := resample(in, 8000, 8000); !slices.Equal(got, in) {
		t.Errorf("same rate: %v", got)
	}
}
