package aws

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/callrec/callrec/internal/media/wav"
	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcript"
)

// fakeAWS stands in for Amazon S3 and Amazon Transcribe on one local
// endpoint, speaking their documented wire formats: S3's REST API
// (path-style PUT Object and GET Object, XML error bodies) and Transcribe's
// AWS JSON 1.1 protocol (POST / with X-Amz-Target:
// Transcribe.StartCallAnalyticsJob or Transcribe.GetCallAnalyticsJob,
// application/x-amz-json-1.1 bodies shaped like the API reference's
// CallAnalyticsJob, errors as {"__type","Message"} with X-Amzn-ErrorType).
// When a job completes it writes testdata/call-analytics-output.json, a
// Call Analytics document written from the documented output schema, where
// Transcribe would write its output.
type fakeAWS struct {
	t   *testing.T
	srv *httptest.Server

	// statuses are what successive GetCallAnalyticsJob calls report for a
	// job started through the API; the last one repeats.
	statuses []string
	// failureReason is reported with FAILED.
	failureReason string
	// outputURI renders a TranscriptFileUri from bucket and key; nil means
	// s3://bucket/key.
	outputURI func(bucket, key string) string
	// onGet, if set, runs on every GetCallAnalyticsJob.
	onGet func(n int)

	mu      sync.Mutex
	objects map[string][]byte // "bucket/key" → body
	jobs    map[string]*fakeJob
	starts  []map[string]any
	gets    int
	auth    []string
}

type fakeJob struct {
	req map[string]any
	// statuses are what successive polls report; the last one repeats.
	statuses []string
	status   string
	polls    int
}

func newFakeAWS(t *testing.T, statuses ...string) *fakeAWS {
	t.Helper()
	f := &fakeAWS{t: t, statuses: statuses, objects: map[string][]byte{}, jobs: map[string]*fakeJob{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAWS) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		f.transcribe(w, r, target)
		return
	}
	f.s3(w, r)
}

// s3 serves path-style object requests: /bucket/key.
func (f *fakeAWS) s3(w http.ResponseWriter, r *http.Request) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	id := bucket + "/" + key
	switch r.Method {
	case http.MethodPut:
		if ce := r.Header.Get("Content-Encoding"); strings.Contains(ce, "aws-chunked") {
			f.t.Errorf("S3 PUT with Content-Encoding %q: S3-compatible stores often reject it", ce)
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			f.t.Errorf("S3 PUT read: %v", err)
			return
		}
		if r.ContentLength != int64(len(body)) {
			f.t.Errorf("S3 PUT Content-Length %d, body %d bytes", r.ContentLength, len(body))
		}
		f.mu.Lock()
		f.objects[id] = body
		f.mu.Unlock()
		sum := md5.Sum(body)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		f.mu.Lock()
		body, ok := f.objects[id]
		f.mu.Unlock()
		if !ok {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>%s</Key><RequestId>4442587FB7D0A2F9</RequestId></Error>`, key)
			return
		}
		sum := md5.Sum(body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (f *fakeAWS) transcribe(w http.ResponseWriter, r *http.Request, target string) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		f.t.Errorf("Transcribe request %s %s", r.Method, r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		f.t.Errorf("Transcribe Content-Type %q", ct)
	}
	var req map[string]any
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Errorf("Transcribe body: %v", err)
		awsError(w, "SerializationException", err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	name, _ := req["CallAnalyticsJobName"].(string)
	switch target {
	case "Transcribe.StartCallAnalyticsJob":
		f.starts = append(f.starts, req)
		if _, ok := f.jobs[name]; ok {
			awsError(w, "ConflictException", "The requested job name already exists. Use a different job name.")
			return
		}
		j := &fakeJob{req: req, statuses: f.statuses, status: "QUEUED"}
		f.jobs[name] = j
		f.writeJob(w, name, j)
	case "Transcribe.GetCallAnalyticsJob":
		f.gets++
		if f.onGet != nil {
			f.onGet(f.gets)
		}
		j, ok := f.jobs[name]
		if !ok {
			awsError(w, "BadRequestException", "The requested job couldn't be found. Check the job name and try your request again.")
			return
		}
		if len(j.statuses) > 0 {
			j.status = j.statuses[min(j.polls, len(j.statuses)-1)]
		}
		j.polls++
		f.writeJob(w, name, j)
	default:
		awsError(w, "UnknownOperationException", target)
	}
}

// writeJob answers with the job as the API reference shapes it. A job that
// completes gets its output written.
func (f *fakeAWS) writeJob(w http.ResponseWriter, name string, j *fakeJob) {
	now := float64(time.Now().Unix())
	job := map[string]any{
		"CallAnalyticsJobName":   name,
		"CallAnalyticsJobStatus": j.status,
		"CreationTime":           now,
		"Media":                  j.req["Media"],
	}
	for _, k := range []string{"ChannelDefinitions", "DataAccessRoleArn", "Settings"} {
		if v, ok := j.req[k]; ok {
			job[k] = v
		}
	}
	switch j.status {
	case "IN_PROGRESS":
		job["StartTime"] = now
	case "FAILED":
		job["StartTime"] = now
		job["CompletionTime"] = now
		job["FailureReason"] = f.failureReason
	case "COMPLETED":
		out, _ := j.req["OutputLocation"].(string)
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(out, "s3://"), "/")
		key := prefix + "analytics/" + name + ".json"
		golden, err := os.ReadFile(filepath.Join("testdata", "call-analytics-output.json"))
		if err != nil {
			f.t.Errorf("golden output: %v", err)
		}
		f.objects[bucket+"/"+key] = golden
		uri := "s3://" + bucket + "/" + key
		if f.outputURI != nil {
			uri = f.outputURI(bucket, key)
		}
		job["StartTime"] = now
		job["CompletionTime"] = now
		job["LanguageCode"] = "en-US"
		job["MediaFormat"] = "wav"
		job["MediaSampleRateHertz"] = 8000
		job["Transcript"] = map[string]any{"TranscriptFileUri": uri}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(map[string]any{"CallAnalyticsJob": job})
}

func awsError(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "Message": msg})
}

func (f *fakeAWS) object(id string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.objects[id]
	return b, ok
}

func (f *fakeAWS) getCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets
}

const (
	testKeyID  = "AKIDCALLRECTEST"
	testRegion = "us-east-1"
	testRole   = "arn:aws:iam::111122223333:role/callrec-transcribe"
)

// poisonEnv sets the AWS environment to values that would break the test if
// the engine read them: it must use only the static credentials given.
func poisonEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENVIRONMENT")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "from-environment")
	t.Setenv("AWS_PROFILE", "no-such-profile")
	t.Setenv("AWS_REGION", "eu-west-3")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "missing-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "missing-credentials"))
}

func newTestEngine(t *testing.T, f *fakeAWS, mod func(*Config)) *Engine {
	t.Helper()
	cfg := Config{
		Region:            testRegion,
		Bucket:            "callrec-test",
		Prefix:            "/calls/",
		DataAccessRoleARN: testRole,
		LanguageCode:      "en-US",
		Endpoint:          f.srv.URL,
		PollInterval:      time.Millisecond,
		Credentials:       credentials.NewStaticCredentialsProvider(testKeyID, "secret", ""),
	}
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// writeRecording writes a small stereo WAV file and returns it.
func writeRecording(t *testing.T) (*transcribe.Recording, []byte) {
	t.Helper()
	left := make([]int16, 4000)
	right := make([]int16, 4000)
	for i := range left {
		left[i] = int16(i%200 - 100)
		right[i] = int16(3 * (i%50 - 25))
	}
	b, err := encodeWAV([][]int16{left, right}, 8000)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "call.wav")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return &transcribe.Recording{Path: path, SampleRate: 8000, Channels: [][]int16{left, right}, CallID: "call-42"}, b
}

func goldenDocument(t *testing.T) *transcript.Document {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "call-analytics-output.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := transcript.Decode(f)
	if err != nil {
		t.Fatalf("golden document: %v", err)
	}
	return doc
}

func TestTranscribeCallAnalytics(t *testing.T) {
	poisonEnv(t)
	f := newFakeAWS(t, "IN_PROGRESS", "IN_PROGRESS", "COMPLETED")
	e := newTestEngine(t, f, nil)
	rec, file := writeRecording(t)

	res, err := e.Transcribe(context.Background(), rec)
	if err != nil {
		t.Fatalf("Transcribe: %v", err)
	}

	uploaded, ok := f.object("callrec-test/calls/call-42.wav")
	if !ok {
		t.Fatalf("nothing at s3://callrec-test/calls/call-42.wav; objects: %v", f.objects)
	}
	if !bytes.Equal(uploaded, file) {
		t.Errorf("uploaded %d bytes differ from the %d-byte file", len(uploaded), len(file))
	}

	if len(f.starts) != 1 {
		t.Fatalf("%d StartCallAnalyticsJob calls", len(f.starts))
	}
	wantStart := map[string]any{
		"CallAnalyticsJobName": "callrec-call-42",
		"Media":                map[string]any{"MediaFileUri": "s3://callrec-test/calls/call-42.wav"},
		"OutputLocation":       "s3://callrec-test/calls/output/",
		"DataAccessRoleArn":    testRole,
		// The SDK leaves ChannelId out when it is 0, the API's default
		// for the member: this is the exact wire form.
		"ChannelDefinitions": []any{
			map[string]any{"ParticipantRole": "AGENT"},
			map[string]any{"ChannelId": float64(1), "ParticipantRole": "CUSTOMER"},
		},
		"Settings": map[string]any{"LanguageOptions": []any{"en-US"}},
	}
	if !reflect.DeepEqual(f.starts[0], wantStart) {
		got, _ := json.MarshalIndent(f.starts[0], "", "  ")
		want, _ := json.MarshalIndent(wantStart, "", "  ")
		t.Errorf("StartCallAnalyticsJob request:\n%s\nwant\n%s", got, want)
	}
	if n := f.getCount(); n != 3 {
		t.Errorf("%d GetCallAnalyticsJob calls, want 3 (polled until COMPLETED)", n)
	}

	for _, a := range f.auth {
		if !strings.Contains(a, "Credential="+testKeyID+"/") || !strings.Contains(a, "/"+testRegion+"/") {
			t.Errorf("request not signed with the static credentials in %s: %q", testRegion, a)
		}
	}
	if !slices.ContainsFunc(f.auth, func(a string) bool { return strings.Contains(a, "/s3/aws4_request") }) ||
		!slices.ContainsFunc(f.auth, func(a string) bool { return strings.Contains(a, "/transcribe/aws4_request") }) {
		t.Errorf("signing scopes: %q", f.auth)
	}

	if res.Engine != "aws" || e.Name() != "aws" {
		t.Errorf("engine %q / %q", res.Engine, e.Name())
	}
	if res.Language != "en-US" {
		t.Errorf("language %q", res.Language)
	}
	if !reflect.DeepEqual(res.Document, goldenDocument(t)) {
		t.Errorf("Document differs from the job's output")
	}
	checkWords(t, res)
}

// checkWords checks Result.Words against the document's items.
func checkWords(t *testing.T, res *transcribe.Result) {
	t.Helper()
	var want []transcribe.Word
	for _, turn := range res.Document.Transcript {
		ch := map[string]int{"AGENT": 0, "CUSTOMER": 1}[turn.ParticipantRole]
		for _, it := range turn.Items {
			if it.Type == "pronunciation" {
				want = append(want, transcribe.Word{
					Channel: ch, Text: it.Content, Confidence: it.Confidence,
					Start: time.Duration(it.BeginOffsetMillis) * time.Millisecond,
					End:   time.Duration(it.EndOffsetMillis) * time.Millisecond,
				})
			}
		}
	}
	slices.SortStableFunc(want, func(a, b transcribe.Word) int { return a.Channel - b.Channel })
	if !reflect.DeepEqual(res.Words, want) {
		t.Errorf("Words: got %d, want %d from the document's pronunciation items", len(res.Words), len(want))
	}
	if len(want) == 0 {
		t.Fatal("document has no words")
	}
	first := res.Words[0]
	if first.Channel != 0 || first.Text != "Thank" || first.Start != 40*time.Millisecond {
		t.Errorf("first word %+v", first)
	}
	if !slices.ContainsFunc(res.Words, func(w transcribe.Word) bool { return w.Channel == 1 && w.Text == "cancel" }) {
		t.Errorf("the customer's words are not on channel 1")
	}
}

func TestTranscriptFileURIForms(t *testing.T) {
	forms := map[string]func(f *fakeAWS) func(bucket, key string) string{
		"path-style URL at the endpoint": func(f *fakeAWS) func(bucket, key string) string {
			return func(bucket, key string) string { return f.srv.URL + "/" + bucket + "/" + key }
		},
		"Transcribe's https URL": func(*fakeAWS) func(bucket, key string) string {
			return func(bucket, key string) string { return "https://s3.us-east-1.amazonaws.com/" + bucket + "/" + key }
		},
		"virtual-hosted URL": func(*fakeAWS) func(bucket, key string) string {
			return func(bucket, key string) string { return "https://" + bucket + ".s3.us-east-1.amazonaws.com/" + key }
		},
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			f := newFakeAWS(t, "COMPLETED")
			f.outputURI = form(f)
			e := newTestEngine(t, f, nil)
			rec, _ := writeRecording(t)
			res, err := e.Transcribe(context.Background(), rec)
			if err != nil {
				t.Fatalf("Transcribe: %v", err)
			}
			if len(res.Document.Transcript) != 8 {
				t.Errorf("%d turns", len(res.Document.Transcript))
			}
		})
	}
}

func TestJobFailed(t *testing.T) {
	const reason = "The media format that you specified doesn't match the detected media format. Check the media format and try your request again."
	f := newFakeAWS(t, "IN_PROGRESS", "FAILED")
	f.failureReason = reason
	e := newTestEngine(t, f, nil)
	rec, _ := writeRecording(t)
	_, err := e.Transcribe(context.Background(), rec)
	var jobErr *JobError
	if !errors.As(err, &jobErr) || jobErr.Reason != reason || jobErr.Name != "callrec-call-42" {
		t.Fatalf("error %v, want a JobError with the reason", err)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("error %q lacks the reason", err)
	}
	if n := f.getCount(); n != 2 {
		t.Errorf("%d polls after FAILED, want 2", n)
	}
}

func TestContextCancelStopsPolling(t *testing.T) {
	f := newFakeAWS(t, "IN_PROGRESS")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.onGet = func(n int) {
		if n == 3 {
			cancel()
		}
	}
	e := newTestEngine(t, f, nil)
	rec, _ := writeRecording(t)
	done := make(chan error, 1)
	go func() {
		_, err := e.Transcribe(ctx, rec)
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Transcribe kept polling after its context was cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	n := f.getCount()
	time.Sleep(50 * time.Millisecond) // 50 poll intervals
	if m := f.getCount(); m != n || n > 4 {
		t.Errorf("polls: %d at return, %d later", n, m)
	}
}

func TestRetryFindsStartedJob(t *testing.T) {
	f := newFakeAWS(t, "IN_PROGRESS", "COMPLETED")
	e := newTestEngine(t, f, nil)
	rec, _ := writeRecording(t)
	// A previous attempt started the job and then lost its context.
	f.jobs["callrec-call-42"] = &fakeJob{status: "IN_PROGRESS", statuses: []string{"IN_PROGRESS", "COMPLETED"}, req: map[string]any{
		"CallAnalyticsJobName": "callrec-call-42",
		"Media":                map[string]any{"MediaFileUri": "s3://callrec-test/calls/call-42.wav"},
		"OutputLocation":       "s3://callrec-test/calls/output/",
	}}
	res, err := e.Transcribe(context.Background(), rec)
	if err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	if len(f.starts) != 1 || len(f.jobs) != 1 {
		t.Errorf("%d starts, %d jobs: want the existing job reused", len(f.starts), len(f.jobs))
	}
	if res.Document == nil {
		t.Error("no document")
	}
}

func TestNameTakenByOtherJob(t *testing.T) {
	f := newFakeAWS(t, "COMPLETED")
	e := newTestEngine(t, f, nil)
	rec, _ := writeRecording(t)
	f.jobs["callrec-call-42"] = &fakeJob{status: "FAILED", statuses: []string{"FAILED"}, req: map[string]any{
		"Media": map[string]any{"MediaFileUri": "s3://callrec-test/calls/call-42.wav"},
	}}
	if _, err := e.Transcribe(context.Background(), rec); err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	if len(f.starts) != 2 {
		t.Fatalf("%d starts, want 2", len(f.starts))
	}
	name, _ := f.starts[1]["CallAnalyticsJobName"].(string)
	if !regexp.MustCompile(`^callrec-call-42-[0-9a-f]{8}$`).MatchString(name) {
		t.Errorf("second job name %q", name)
	}
}

func TestUploadFromSamplesAndRandomName(t *testing.T) {
	f := newFakeAWS(t, "COMPLETED")
	e := newTestEngine(t, f, func(c *Config) { c.Prefix = "" })
	left, right := []int16{1, 2, 3, -4}, []int16{5, -6, 7, 8}
	rec := &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{left, right}}
	if _, err := e.Transcribe(context.Background(), rec); err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	media := f.starts[0]["Media"].(map[string]any)["MediaFileUri"].(string)
	m := regexp.MustCompile(`^s3://callrec-test/([0-9a-f]{24})\.wav$`).FindStringSubmatch(media)
	if m == nil {
		t.Fatalf("media %q: want a random name at the bucket's root", media)
	}
	if out := f.starts[0]["OutputLocation"]; out != "s3://callrec-test/output/" {
		t.Errorf("output location %q", out)
	}
	body, _ := f.object("callrec-test/" + m[1] + ".wav")
	format, samples, err := wav.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if format.Channels != 2 || format.SampleRate != 8000 || !slices.Equal(samples, []int16{1, 5, 2, -6, 3, 7, -4, 8}) {
		t.Errorf("uploaded %+v %v", format, samples)
	}
}

func TestMonoHasNoChannelDefinitions(t *testing.T) {
	f := newFakeAWS(t, "COMPLETED")
	e := newTestEngine(t, f, func(c *Config) { c.LanguageCode = ""; c.DataAccessRoleARN = "" })
	rec := &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{{1, 2, 3}}, CallID: "mono/1"}
	if _, err := e.Transcribe(context.Background(), rec); err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	for _, k := range []string{"ChannelDefinitions", "Settings", "DataAccessRoleArn"} {
		if _, ok := f.starts[0][k]; ok {
			t.Errorf("%s sent: %v", k, f.starts[0][k])
		}
	}
	if name := f.starts[0]["CallAnalyticsJobName"]; name != "callrec-mono-1" {
		t.Errorf("job name %q", name)
	}
}

func TestUploadError(t *testing.T) {
	f := newFakeAWS(t, "COMPLETED")
	e := newTestEngine(t, f, nil)
	rec := &transcribe.Recording{Path: filepath.Join(t.TempDir(), "missing.wav"), SampleRate: 8000}
	if _, err := e.Transcribe(context.Background(), rec); err == nil || !strings.Contains(err.Error(), "missing.wav") {
		t.Errorf("error %v", err)
	}
	if len(f.starts) != 0 {
		t.Errorf("job started without audio")
	}
}

func TestMissingOutput(t *testing.T) {
	f := newFakeAWS(t, "COMPLETED")
	f.outputURI = func(bucket, key string) string { return "s3://" + bucket + "/elsewhere.json" }
	e := newTestEngine(t, f, nil)
	rec, _ := writeRecording(t)
	_, err := e.Transcribe(context.Background(), rec)
	if err == nil || !strings.Contains(err.Error(), "s3://callrec-test/elsewhere.json") || !strings.Contains(err.Error(), "NoSuchKey") {
		t.Errorf("error %v", err)
	}
}

func TestNew(t *testing.T) {
	poisonEnv(t)
	creds := credentials.NewStaticCredentialsProvider("a", "b", "")
	for name, cfg := range map[string]Config{
		"no bucket":        {Region: testRegion, Credentials: creds},
		"bucket URI":       {Region: testRegion, Bucket: "s3://b/p", Credentials: creds},
		"no region":        {Bucket: "b", Credentials: creds},
		"bad endpoint":     {Region: testRegion, Bucket: "b", Endpoint: "localhost:4566", Credentials: creds},
		"negative polling": {Region: testRegion, Bucket: "b", PollInterval: -time.Second, Credentials: creds},
	} {
		if _, err := New(context.Background(), cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseS3URI(t *testing.T) {
	for uri, want := range map[string][2]string{
		"s3://bucket/prefix/output/analytics/job.json":               {"bucket", "prefix/output/analytics/job.json"},
		"https://s3.us-east-1.amazonaws.com/bucket/output/job.json":  {"bucket", "output/job.json"},
		"https://s3.amazonaws.com/bucket/a%20b.json":                 {"bucket", "a b.json"},
		"https://s3-us-west-2.amazonaws.com/bucket/k.json":           {"bucket", "k.json"},
		"https://my.bucket.s3.eu-west-1.amazonaws.com/k/j.json":      {"my.bucket", "k/j.json"},
		"https://bucket.s3.amazonaws.com/k.json":                     {"bucket", "k.json"},
		"https://bucket.s3-eu-west-1.amazonaws.com/k.json":           {"bucket", "k.json"},
		"https://s3.cn-north-1.amazonaws.com.cn/bucket/k.json":       {"bucket", "k.json"},
		"https://bucket.s3.dualstack.us-east-1.amazonaws.com/k.json": {"bucket", "k.json"},
		"http://127.0.0.1:9000/bucket/prefix/k.json":                 {"bucket", "prefix/k.json"},
		"https://minio.example.com/bucket/k.json":                    {"bucket", "k.json"},
	} {
		b, k, err := ParseS3URI(uri)
		if err != nil || b != want[0] || k != want[1] {
			t.Errorf("ParseS3URI(%q) = %q, %q, %v; want %q, %q", uri, b, k, err, want[0], want[1])
		}
	}
	for _, uri := range []string{"", "s3://bucket", "s3:///key", "ftp://h/b/k", "https://s3.amazonaws.com/bucket", "::"} {
		if _, _, err := ParseS3URI(uri); err == nil {
			t.Errorf("ParseS3URI(%q): no error", uri)
		}
	}
}

func TestBaseName(t *testing.T) {
	for in, want := range map[string]string{
		"call-42":                              "call-42",
		"3f1c9a52-2b7e-4d8c-a1f0-6e5d4c3b2a19": "3f1c9a52-2b7e-4d8c-a1f0-6e5d4c3b2a19",
		"a/b c@d":                              "a-b-c-d",
		"..x..":                                "x",
		strings.Repeat("a", 300):               strings.Repeat("a", 150),
	} {
		if got, err := baseName(in); err != nil || got != want {
			t.Errorf("baseName(%q) = %q, %v", in, got, err)
		}
	}
	if got, _ := baseName("///"); !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(got) {
		t.Errorf("random name %q", got)
	}
}

// TestGoldenDocument checks that testdata/call-analytics-output.json, which
// other packages' tests read as a Call Analytics document, is consistent the
// way Transcribe's output is.
func TestGoldenDocument(t *testing.T) {
	doc := goldenDocument(t)
	if doc.JobStatus != "COMPLETED" || doc.LanguageCode != "en-US" || len(doc.Transcript) == 0 {
		t.Fatalf("header: %s %s, %d turns", doc.JobStatus, doc.LanguageCode, len(doc.Transcript))
	}
	talk := map[string]int64{}
	words := map[string]int{}
	for i, turn := range doc.Transcript {
		talk[turn.ParticipantRole] += turn.EndOffsetMillis - turn.BeginOffsetMillis
		if want := (turn.EndOffsetMillis - turn.BeginOffsetMillis + 999) / 1000; int64(len(turn.LoudnessScores)) != want {
			t.Errorf("turn %d: %d loudness scores, want one per second (%d)", i, len(turn.LoudnessScores), want)
		}
		var text []string
		for _, it := range turn.Items {
			switch it.Type {
			case "pronunciation":
				words[turn.ParticipantRole]++
				if it.BeginOffsetMillis < turn.BeginOffsetMillis || it.EndOffsetMillis > turn.EndOffsetMillis || it.EndOffsetMillis < it.BeginOffsetMillis {
					t.Errorf("turn %d: item %q at %d–%d outside the turn", i, it.Content, it.BeginOffsetMillis, it.EndOffsetMillis)
				}
				text = append(text, " "+it.Content)
			case "punctuation":
				text = append(text, it.Content)
			default:
				t.Errorf("turn %d: item type %q", i, it.Type)
			}
		}
		if got := strings.TrimSpace(strings.Join(text, "")); got != turn.Content {
			t.Errorf("turn %d: items spell %q, Content is %q", i, got, turn.Content)
		}
		for _, list := range [][]transcript.Detection{turn.IssuesDetected, turn.ActionItemsDetected, turn.OutcomesDetected} {
			for _, d := range list {
				if d.CharacterOffsets.Begin < 0 || d.CharacterOffsets.End > len(turn.Content) || d.CharacterOffsets.Begin >= d.CharacterOffsets.End {
					t.Errorf("turn %d: detection %+v outside Content", i, d)
				}
			}
		}
	}
	cc := doc.ConversationCharacteristics
	var total int64
	for role, ms := range talk {
		if got := cc.TalkTime.DetailsByParticipant[role].TotalTimeMillis; got != ms {
			t.Errorf("TalkTime %s %d, turns add up to %d", role, got, ms)
		}
		total += ms
		wpm := float64(words[role]) / (float64(ms) / 60000)
		if got := cc.TalkSpeed.DetailsByParticipant[role].AverageWordsPerMinute; got < wpm-1 || got > wpm+1 {
			t.Errorf("TalkSpeed %s %v, words give %.1f", role, got, wpm)
		}
	}
	if cc.TalkTime.TotalTimeMillis != total {
		t.Errorf("TalkTime total %d, want %d", cc.TalkTime.TotalTimeMillis, total)
	}
	var silence int64
	for _, s := range cc.NonTalkTime.Instances {
		silence += s.DurationMillis
		if s.EndOffsetMillis-s.BeginOffsetMillis != s.DurationMillis || s.DurationMillis < 3000 {
			t.Errorf("non-talk instance %+v", s)
		}
	}
	if silence != cc.NonTalkTime.TotalTimeMillis || silence == 0 {
		t.Errorf("non-talk total %d, instances add up to %d", cc.NonTalkTime.TotalTimeMillis, silence)
	}
	var count int
	var interrupted int64
	for _, spans := range cc.Interruptions.InterruptionsByInterrupter {
		for _, s := range spans {
			count++
			interrupted += s.DurationMillis
		}
	}
	if count != cc.Interruptions.TotalCount || interrupted != cc.Interruptions.TotalTimeMillis || count == 0 {
		t.Errorf("interruptions %+v", cc.Interruptions)
	}
	for _, role := range []string{"AGENT", "CUSTOMER"} {
		if q := cc.Sentiment.SentimentByPeriod.Quarter[role]; len(q) != 4 {
			t.Errorf("%s: %d quarters", role, len(q))
		}
		if s := cc.Sentiment.OverallSentiment[role]; s < -5 || s > 5 {
			t.Errorf("%s overall sentiment %v", role, s)
		}
	}
	if len(doc.Categories.MatchedCategories) != len(doc.Categories.MatchedDetails) {
		t.Errorf("categories %+v", doc.Categories)
	}
}

// FuzzParseS3URI checks that no TranscriptFileUri makes the parser panic or
// return an empty bucket or key without an error.
func FuzzParseS3URI(f *testing.F) {
	f.Add("s3://bucket/key.json")
	f.Add("https://bucket.s3.us-east-1.amazonaws.com/k")
	f.Add("https://s3.amazonaws.com/b/k")
	f.Add("http://[::1]:9000/b/k")
	f.Add("https://.s3.amazonaws.com/k")
	f.Fuzz(func(t *testing.T, uri string) {
		b, k, err := ParseS3URI(uri)
		if err == nil && (b == "" || k == "") {
			t.Fatalf("ParseS3URI(%q) = %q, %q without error", uri, b, k)
		}
	})
}
