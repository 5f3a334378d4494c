// Package openai is the transcription engine for any server that speaks
// OpenAI's audio transcription API, POST /v1/audio/transcriptions with
// response_format=verbose_json: OpenAI itself, whisper.cpp's server and
// faster-whisper servers (speaches and the like).
//
// Each channel of a recording goes to the server as its own mono 16-bit WAV
// file, one request per channel, so that every word is attributed to the
// speaker whose channel it came from (channel 0 = owner, channel 1 = other
// party). A channel that is digitally silent (every sample zero) is not sent:
// Whisper models tend to invent words ("Thank you.") for silence.
//
// Servers differ in what verbose_json holds. OpenAI and faster-whisper send
// a top-level words[] list; whisper.cpp's server sends segments[] whose
// words[] are Whisper tokens (" Hel", "lo", ","), which this package joins
// back into words; a server that sends only segments[] gets each segment's
// words spread evenly over the segment. Segments Whisper itself would have
// judged silent (no_speech_prob > 0.6 and avg_logprob < -1) are dropped.
//
// whisper.cpp's server reads only 16 kHz WAV unless it was started with
// --convert; set Config.SampleRate to 16000 for it, and start it with
// --inference-path /v1/audio/transcriptions (its default path is /inference).
package openai

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callrec/callrec/internal/transcribe"
)

const (
	engineName     = "openai"
	endpointPath   = "/v1/audio/transcriptions"
	defaultModel   = "whisper-1"
	defaultTimeout = 15 * time.Minute
	defaultRetries = 3
	defaultBackoff = time.Second
	maxBackoff     = 30 * time.Second
	// maxResponseBytes bounds what is read of one response: a verbose_json
	// answer for an hour of speech is a few megabytes.
	maxResponseBytes = 64 << 20
)

// Config configures the engine. Only URL is required.
type Config struct {
	// URL is the server's base URL, such as http://127.0.0.1:8000 or
	// https://api.openai.com. /v1/audio/transcriptions is appended unless
	// the URL already ends with it; a URL ending in /v1 gets
	// /audio/transcriptions.
	URL string
	// APIKey, when set, is sent as "Authorization: Bearer APIKey".
	APIKey string
	// Model is sent as the model field; empty means "whisper-1", OpenAI's
	// only model that answers verbose_json with word times. whisper.cpp's
	// server ignores it; faster-whisper servers want their own model names,
	// such as "Systran/faster-whisper-small".
	Model string
	// Language, when set, is the spoken language as a BCP 47 tag ("en-US")
	// or an ISO 639-1 code ("en"); the server gets its ISO 639-1 part. Empty
	// lets the server detect the language.
	Language string
	// Timeout bounds each request (one channel, one attempt); zero means
	// 15 minutes, enough for a CPU-only server on a long call.
	Timeout time.Duration
	// HTTPClient sends the requests; nil means a new http.Client.
	HTTPClient *http.Client
	// SampleRate, when set, resamples each channel to this rate before
	// upload (linear interpolation, meant for 8 kHz → 16 kHz). Zero sends
	// the recording's own rate. whisper.cpp's server without --convert
	// accepts only 16000.
	SampleRate int
	// Retries is how many times a request is retried after a network error,
	// a timeout, HTTP 408, 409, 429 or a 5xx answer; zero means 3, a
	// negative value means never.
	Retries int
	// Backoff is the wait before the first retry, doubled before each
	// further one (at most 30 s, with some jitter), unless the server says
	// otherwise in Retry-After; zero means 1 s.
	Backoff time.Duration
}

// Engine transcribes recordings through an OpenAI-compatible server. It is
// safe for concurrent use.
type Engine struct {
	endpoint   string
	apiKey     string
	model      string
	language   string
	timeout    time.Duration
	client     *http.Client
	sampleRate int
	retries    int
	backoff    time.Duration
}

var _ transcribe.Engine = (*Engine)(nil)

// New checks cfg and returns an engine.
func New(cfg Config) (*Engine, error) {
	endpoint, err := endpointURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("openai engine: timeout %v is negative", cfg.Timeout)
	}
	if cfg.SampleRate < 0 {
		return nil, fmt.Errorf("openai engine: sample rate %d is negative", cfg.SampleRate)
	}
	if cfg.Backoff < 0 {
		return nil, fmt.Errorf("openai engine: backoff %v is negative", cfg.Backoff)
	}
	e := &Engine{
		endpoint:   endpoint,
		apiKey:     strings.TrimSpace(cfg.APIKey),
		model:      strings.TrimSpace(cfg.Model),
		language:   strings.TrimSpace(cfg.Language),
		timeout:    cfg.Timeout,
		client:     cfg.HTTPClient,
		sampleRate: cfg.SampleRate,
		retries:    cfg.Retries,
		backoff:    cfg.Backoff,
	}
	if e.model == "" {
		e.model = defaultModel
	}
	if e.timeout == 0 {
		e.timeout = defaultTimeout
	}
	if e.client == nil {
		e.client = &http.Client{}
	}
	switch {
	case e.retries == 0:
		e.retries = defaultRetries
	case e.retries < 0:
		e.retries = 0
	}
	if e.backoff == 0 {
		e.backoff = defaultBackoff
	}
	return e, nil
}

// endpointURL turns the configured base URL into the transcription
// endpoint's URL.
func endpointURL(base string) (string, error) {
	base = strings.TrimSpace(base)
	if base == "" {
		return "", errors.New("openai engine: URL is empty: set transcribe.url to the server's base URL, such as http://127.0.0.1:8000 or https://api.openai.com")
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("openai engine: URL %q: %w", base, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("openai engine: URL %q: want an http:// or https:// URL", base)
	}
	if u.Host == "" {
		return "", fmt.Errorf("openai engine: URL %q has no host", base)
	}
	p := strings.TrimRight(u.Path, "/")
	switch {
	case strings.HasSuffix(p, endpointPath):
	case strings.HasSuffix(p, "/v1"):
		p += "/audio/transcriptions"
	default:
		p += endpointPath
	}
	u.Path = p
	u.RawPath = ""
	return u.String(), nil
}

// Name returns "openai".
func (e *Engine) Name() string { return engineName }

// Endpoint is the URL the engine posts to.
func (e *Engine) Endpoint() string { return e.endpoint }

// Transcribe sends each channel of rec to the server, concurrently, and
// returns the words of both channels. The first failure cancels the other
// channel's request.
func (e *Engine) Transcribe(ctx context.Context, rec *transcribe.Recording) (*transcribe.Result, error) {
	if rec == nil {
		return nil, errors.New("openai: no recording")
	}
	if rec.SampleRate <= 0 {
		return nil, fmt.Errorf("openai: recording %s: sample rate %d", rec.Path, rec.SampleRate)
	}
	if n := len(rec.Channels); n == 0 || n > 2 {
		return nil, fmt.Errorf("openai: recording %s has %d channels: want 1 (mono) or 2 (owner, other party)", rec.Path, n)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("openai: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type outcome struct {
		words    []transcribe.Word
		language string
		err      error
	}
	outcomes := make([]outcome, len(rec.Channels))
	var wg sync.WaitGroup
	for ch, samples := range rec.Channels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			words, lang, err := e.transcribeChannel(ctx, ch, samples, rec.SampleRate)
			if err != nil {
				cancel()
			}
			outcomes[ch] = outcome{words, lang, err}
		}()
	}
	wg.Wait()

	// Report the error that caused the others (a sibling's cancellation is
	// only its consequence).
	var firstErr error
	for _, o := range outcomes {
		if o.err != nil && (firstErr == nil || errors.Is(firstErr, context.Canceled) && !errors.Is(o.err, context.Canceled)) {
			firstErr = o.err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}

	res := &transcribe.Result{Engine: engineName}
	for _, o := range outcomes {
		res.Words = append(res.Words, o.words...)
		if res.Language == "" {
			res.Language = o.language
		}
	}
	if res.Language == "" {
		res.Language = normalizeLanguage(e.language)
	}
	return res, nil
}

// transcribeChannel sends one channel and parses the answer.
func (e *Engine) transcribeChannel(ctx context.Context, ch int, samples []int16, rate int) ([]transcribe.Word, string, error) {
	if silent(samples) {
		return nil, "", nil
	}
	if e.sampleRate > 0 && e.sampleRate != rate {
		samples = resample(samples, rate, e.sampleRate)
		rate = e.sampleRate
	}
	body, contentType, err := e.form(ch, samples, rate)
	if err != nil {
		return nil, "", fmt.Errorf("openai: channel %d: %w", ch, err)
	}
	data, err := e.post(ctx, body, contentType)
	if err != nil {
		return nil, "", fmt.Errorf("openai: channel %d: %w", ch, e.hint(err, rate))
	}
	dur := time.Duration(len(samples)) * time.Second / time.Duration(rate)
	words, lang, err := parseVerbose(data, ch, dur)
	if err != nil {
		return nil, "", fmt.Errorf("openai: channel %d: %s: %w", ch, e.endpoint, e.hint(err, rate))
	}
	return words, lang, nil
}

// hint adds what to change to errors whose cause is known.
func (e *Engine) hint(err error, rate int) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) && rate != 16000 && strings.Contains(strings.ToLower(apiErr.Message), "read wav") {
		return fmt.Errorf("%w (whisper.cpp's server reads only 16 kHz WAV: start it with --convert, or set the engine's sample rate to 16000)", err)
	}
	return err
}

// form builds the multipart request body for one channel.
func (e *Engine) form(ch int, samples []int16, rate int) ([]byte, string, error) {
	var buf bytes.Buffer
	buf.Grow(len(samples)*2 + 2048)
	mw := multipart.NewWriter(&buf)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="channel-%d.wav"`, ch))
	h.Set("Content-Type", "audio/wav")
	part, err := mw.CreatePart(h)
	if err != nil {
		return nil, "", fmt.Errorf("multipart file part: %w", err)
	}
	if err := encodeWAV(part, samples, rate); err != nil {
		return nil, "", fmt.Errorf("encode WAV: %w", err)
	}
	fields := [][2]string{
		{"model", e.model},
		{"response_format", "verbose_json"},
		// Word times are what callrec needs; segment granularity costs
		// nothing more and gives avg_logprob, the only confidence OpenAI
		// itself reports.
		{"timestamp_granularities[]", "word"},
		{"timestamp_granularities[]", "segment"},
	}
	if lang := isoLanguage(e.language); lang != "" {
		fields = append(fields, [2]string{"language", lang})
	}
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, "", fmt.Errorf("multipart field %s: %w", f[0], err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", fmt.Errorf("multipart: %w", err)
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// post sends body, retrying transient failures with backoff.
func (e *Engine) post(ctx context.Context, body []byte, contentType string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		data, err := e.postOnce(ctx, body, contentType)
		if err == nil {
			return data, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("POST %s: %w", e.endpoint, ctx.Err())
		}
		var apiErr *APIError
		isAPI := errors.As(err, &apiErr)
		if (isAPI && !apiErr.Temporary()) || attempt >= e.retries {
			if attempt > 0 {
				return nil, fmt.Errorf("POST %s (gave up after %d attempts): %w", e.endpoint, attempt+1, err)
			}
			return nil, fmt.Errorf("POST %s: %w", e.endpoint, err)
		}
		wait := e.delay(attempt)
		if isAPI && apiErr.RetryAfter > 0 {
			wait = min(apiErr.RetryAfter, maxBackoff)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("POST %s: waiting to retry after %v: %w", e.endpoint, err, ctx.Err())
		case <-t.C:
		}
	}
}

// delay is the wait before retry number attempt+1: Backoff doubled per
// attempt, capped, with ±20 % jitter so that many workers do not retry in
// step.
func (e *Engine) delay(attempt int) time.Duration {
	d := e.backoff
	for i := 0; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	jitter := time.Duration((rand.Float64()*0.4 - 0.2) * float64(d))
	return d + jitter
}

// postOnce sends one attempt. Errors are *APIError for answers that are
// errors, and transport errors otherwise.
func (e *Engine) postOnce(ctx context.Context, body []byte, contentType string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "callrec")
	if e.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.apiKey)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read response (HTTP %d): %w", resp.StatusCode, err)
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("response larger than %d bytes", maxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := newAPIError(resp.StatusCode, data)
		apiErr.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return nil, apiErr
	}
	return data, nil
}

// parseRetryAfter reads a Retry-After header (seconds or an HTTP date).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int(maxBackoff/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// silent reports whether every sample is zero (or there are none).
func silent(samples []int16) bool {
	for _, s := range samples {
		if s != 0 {
			return false
		}
	}
	return true
}
