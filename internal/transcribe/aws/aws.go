// Package aws is the transcription engine for Amazon Transcribe Call
// Analytics, through aws-sdk-go-v2.
//
// Transcribe uploads the recording to s3://Bucket/Prefix/<call>.wav, starts
// a Call Analytics job with channel 0 as the AGENT (the owner) and channel 1
// as the CUSTOMER (the other party), polls it until it completes, and reads
// the job's output document (transcript and analytics: sentiment, loudness,
// interruptions, non-talk time, issues, categories) from
// s3://Bucket/Prefix/output/. That document is returned as is in
// Result.Document; callrec uses it instead of its own analytics. Its words
// are also in Result.Words.
//
// The job is named after the call, so a retried pipeline stage finds the job
// its previous attempt started (and pays for it once) rather than starting
// another. The uploaded audio and the output stay in the bucket: set a
// lifecycle rule on the prefix to expire them.
package aws

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awstranscribe "github.com/aws/aws-sdk-go-v2/service/transcribe"
	"github.com/aws/aws-sdk-go-v2/service/transcribe/types"

	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcript"
)

const (
	engineName          = "aws"
	defaultPollInterval = 5 * time.Second
	// maxOutputBytes bounds the output document read from S3.
	maxOutputBytes = 256 << 20
)

// Config configures the engine. Bucket is required, and Region unless the
// environment's AWS configuration gives one.
type Config struct {
	// Region is the AWS region of the bucket and of Transcribe (they must be
	// the same), such as "us-east-1".
	Region string
	// Bucket is the S3 bucket (a name, not a URI) for the audio and the
	// output.
	Bucket string
	// Prefix is the key prefix ("folder") inside Bucket; audio goes to
	// Prefix/<call>.wav and output under Prefix/output/.
	Prefix string
	// DataAccessRoleARN is the IAM role Transcribe assumes to read the
	// audio and write the output; empty uses the caller's own permissions.
	DataAccessRoleARN string
	// LanguageCode is the spoken language ("en-US"), sent as the job's only
	// language option; several comma-separated codes let Transcribe choose
	// among them; empty lets Transcribe identify the language.
	LanguageCode string
	// Endpoint, when set, is the base URL of both S3 and Transcribe (tests,
	// LocalStack, S3-compatible stores). S3 is then addressed path-style
	// (Endpoint/bucket/key) and checksums are sent only where the API
	// requires them, as many S3-compatible stores reject the rest.
	Endpoint string
	// PollInterval is the wait between job status checks; zero means 5 s.
	PollInterval time.Duration
	// Credentials, when set, are the only credentials used, and New then
	// reads no environment variables or shared config files (Region is then
	// required). Nil uses the SDK's default chain: environment, shared
	// config and credentials files, web identity, container and instance
	// roles.
	Credentials awssdk.CredentialsProvider
}

// Engine transcribes recordings with Amazon Transcribe Call Analytics. It
// is safe for concurrent use.
type Engine struct {
	s3           *s3.Client
	transcribe   *awstranscribe.Client
	bucket       string
	prefix       string
	roleARN      string
	languages    []types.LanguageCode
	pollInterval time.Duration
}

var _ transcribe.Engine = (*Engine)(nil)

// New checks cfg and builds the AWS clients. It does not contact AWS.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	bucket := strings.TrimSpace(cfg.Bucket)
	if bucket == "" {
		return nil, errors.New("aws engine: no bucket: set the S3 bucket for the audio and the Call Analytics output")
	}
	if strings.Contains(bucket, "/") || strings.Contains(bucket, ":") {
		return nil, fmt.Errorf("aws engine: bucket %q: want a bucket name such as my-recordings, not a URI or path (put the folder in the prefix)", bucket)
	}
	if cfg.PollInterval < 0 {
		return nil, fmt.Errorf("aws engine: poll interval %v is negative", cfg.PollInterval)
	}
	e := &Engine{
		bucket:       bucket,
		prefix:       strings.Trim(strings.TrimSpace(cfg.Prefix), "/"),
		roleARN:      strings.TrimSpace(cfg.DataAccessRoleARN),
		pollInterval: cfg.PollInterval,
	}
	if e.pollInterval == 0 {
		e.pollInterval = defaultPollInterval
	}
	for _, code := range strings.Split(cfg.LanguageCode, ",") {
		if code = strings.TrimSpace(code); code != "" {
			e.languages = append(e.languages, types.LanguageCode(code))
		}
	}

	endpoint := strings.TrimSpace(cfg.Endpoint)
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("aws engine: endpoint %q: want a base URL such as http://127.0.0.1:4566", endpoint)
		}
		endpoint = strings.TrimRight(endpoint, "/")
	}

	awsCfg, err := loadConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	e.s3 = s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		// The output document usually carries no checksum: without this the
		// SDK logs a warning on every read of it.
		o.DisableLogOutputChecksumValidationSkipped = true
		if endpoint != "" {
			o.BaseEndpoint = awssdk.String(endpoint)
			o.UsePathStyle = true
			o.RequestChecksumCalculation = awssdk.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = awssdk.ResponseChecksumValidationWhenRequired
		}
	})
	e.transcribe = awstranscribe.NewFromConfig(awsCfg, func(o *awstranscribe.Options) {
		if endpoint != "" {
			o.BaseEndpoint = awssdk.String(endpoint)
		}
	})
	return e, nil
}

// loadConfig builds the SDK configuration: from cfg alone when it has
// credentials, else from the SDK's default sources.
func loadConfig(ctx context.Context, cfg Config) (awssdk.Config, error) {
	region := strings.TrimSpace(cfg.Region)
	if cfg.Credentials != nil {
		if region == "" {
			return awssdk.Config{}, errors.New("aws engine: no region: set the AWS region (such as us-east-1) of the bucket and of Transcribe")
		}
		creds := cfg.Credentials
		if _, cached := creds.(*awssdk.CredentialsCache); !cached {
			creds = awssdk.NewCredentialsCache(creds)
		}
		return awssdk.Config{Region: region, Credentials: creds}, nil
	}
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return awssdk.Config{}, fmt.Errorf("aws engine: load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return awssdk.Config{}, errors.New("aws engine: no region: set the AWS region (such as us-east-1) in callrec's config or AWS_REGION")
	}
	return awsCfg, nil
}

// Name returns "aws".
func (e *Engine) Name() string { return engineName }

// Transcribe uploads rec, runs a Call Analytics job on it and returns the
// job's output document. Cancelling ctx stops the upload or the polling; a
// job already started keeps running at AWS, and the next Transcribe of the
// same call picks it up.
func (e *Engine) Transcribe(ctx context.Context, rec *transcribe.Recording) (*transcribe.Result, error) {
	if rec == nil {
		return nil, errors.New("aws: no recording")
	}
	if rec.Path == "" && len(rec.Channels) == 0 {
		return nil, errors.New("aws: recording has neither a file nor samples")
	}
	if len(rec.Channels) > 2 {
		return nil, fmt.Errorf("aws: recording %s has %d channels: want 1 or 2 (owner, other party)", rec.Path, len(rec.Channels))
	}
	base, err := baseName(rec.CallID)
	if err != nil {
		return nil, err
	}
	key := e.key(base + ".wav")
	mediaURI := "s3://" + e.bucket + "/" + key

	if err := e.upload(ctx, rec, key); err != nil {
		return nil, err
	}
	job, err := e.start(ctx, "callrec-"+base, mediaURI, len(rec.Channels) != 1)
	if err != nil {
		return nil, err
	}
	job, err = e.wait(ctx, job)
	if err != nil {
		return nil, err
	}
	doc, err := e.output(ctx, job)
	if err != nil {
		return nil, err
	}

	res := &transcribe.Result{
		Engine:   engineName,
		Language: doc.LanguageCode,
		Words:    Words(doc),
		Document: doc,
	}
	if res.Language == "" {
		res.Language = string(job.LanguageCode)
	}
	if res.Language == "" && len(e.languages) == 1 {
		res.Language = string(e.languages[0])
	}
	return res, nil
}

// key puts name under the prefix.
func (e *Engine) key(name string) string {
	if e.prefix == "" {
		return name
	}
	return e.prefix + "/" + name
}

// baseName is the file and job name for a call: its id with what
// Transcribe does not accept in a job name ([0-9A-Za-z._-]) replaced, or a
// random name.
func baseName(callID string) (string, error) {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, callID)
	name = strings.Trim(name, "-.")
	if len(name) > 150 {
		name = name[:150]
	}
	if name != "" {
		return name, nil
	}
	return randomName()
}

func randomName() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("aws: random name: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// upload puts the recording's WAV file (or, without a file, its samples
// encoded as WAV) at key.
func (e *Engine) upload(ctx context.Context, rec *transcribe.Recording, key string) error {
	var body io.ReadSeeker
	var size int64
	if rec.Path != "" {
		f, err := os.Open(rec.Path)
		if err != nil {
			return fmt.Errorf("aws: open recording: %w", err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("aws: stat recording %s: %w", rec.Path, err)
		}
		body, size = f, st.Size()
	} else {
		b, err := encodeWAV(rec.Channels, rec.SampleRate)
		if err != nil {
			return fmt.Errorf("aws: encode recording: %w", err)
		}
		body, size = bytes.NewReader(b), int64(len(b))
	}
	_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        awssdk.String(e.bucket),
		Key:           awssdk.String(key),
		Body:          body,
		ContentLength: awssdk.Int64(size),
		ContentType:   awssdk.String("audio/wav"),
	})
	if err != nil {
		return fmt.Errorf("aws: upload %s to s3://%s/%s: %w", rec.Path, e.bucket, key, err)
	}
	return nil
}

// start starts the Call Analytics job, or finds the one a previous attempt
// for the same audio started.
func (e *Engine) start(ctx context.Context, name, mediaURI string, stereo bool) (*types.CallAnalyticsJob, error) {
	in := &awstranscribe.StartCallAnalyticsJobInput{
		CallAnalyticsJobName: awssdk.String(name),
		Media:                &types.Media{MediaFileUri: awssdk.String(mediaURI)},
		OutputLocation:       awssdk.String("s3://" + e.bucket + "/" + e.key("output/")),
	}
	if stereo {
		in.ChannelDefinitions = []types.ChannelDefinition{
			{ChannelId: 0, ParticipantRole: types.ParticipantRoleAgent},
			{ChannelId: 1, ParticipantRole: types.ParticipantRoleCustomer},
		}
	}
	if e.roleARN != "" {
		in.DataAccessRoleArn = awssdk.String(e.roleARN)
	}
	if len(e.languages) > 0 {
		in.Settings = &types.CallAnalyticsJobSettings{LanguageOptions: e.languages}
	}

	for try := 0; ; try++ {
		out, err := e.transcribe.StartCallAnalyticsJob(ctx, in)
		if err == nil {
			if out.CallAnalyticsJob == nil {
				return &types.CallAnalyticsJob{CallAnalyticsJobName: in.CallAnalyticsJobName}, nil
			}
			return out.CallAnalyticsJob, nil
		}
		var conflict *types.ConflictException
		if !errors.As(err, &conflict) || try > 0 {
			return nil, fmt.Errorf("aws: start call analytics job %s on %s: %w", *in.CallAnalyticsJobName, mediaURI, err)
		}
		// A job of this name exists: a previous attempt's, if it is on the
		// same audio and has not failed.
		got, gerr := e.transcribe.GetCallAnalyticsJob(ctx, &awstranscribe.GetCallAnalyticsJobInput{CallAnalyticsJobName: in.CallAnalyticsJobName})
		if gerr == nil && got.CallAnalyticsJob != nil {
			j := got.CallAnalyticsJob
			if j.Media != nil && awssdk.ToString(j.Media.MediaFileUri) == mediaURI && j.CallAnalyticsJobStatus != types.CallAnalyticsJobStatusFailed {
				return j, nil
			}
		}
		suffix, rerr := randomName()
		if rerr != nil {
			return nil, rerr
		}
		in.CallAnalyticsJobName = awssdk.String(name + "-" + suffix[:8])
	}
}

// wait polls the job until it completes or fails.
func (e *Engine) wait(ctx context.Context, job *types.CallAnalyticsJob) (*types.CallAnalyticsJob, error) {
	name := awssdk.ToString(job.CallAnalyticsJobName)
	for {
		switch job.CallAnalyticsJobStatus {
		case types.CallAnalyticsJobStatusCompleted:
			return job, nil
		case types.CallAnalyticsJobStatusFailed:
			return nil, &JobError{Name: name, Reason: awssdk.ToString(job.FailureReason)}
		}
		t := time.NewTimer(e.pollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("aws: waiting for call analytics job %s (%s): %w", name, job.CallAnalyticsJobStatus, ctx.Err())
		case <-t.C:
		}
		out, err := e.transcribe.GetCallAnalyticsJob(ctx, &awstranscribe.GetCallAnalyticsJobInput{CallAnalyticsJobName: awssdk.String(name)})
		if err != nil {
			return nil, fmt.Errorf("aws: get call analytics job %s: %w", name, err)
		}
		if out.CallAnalyticsJob == nil {
			return nil, fmt.Errorf("aws: get call analytics job %s: empty answer", name)
		}
		job = out.CallAnalyticsJob
	}
}

// JobError is a Call Analytics job that ended in FAILED.
type JobError struct {
	// Name is the job's name.
	Name string
	// Reason is Transcribe's FailureReason.
	Reason string
}

// Error includes Transcribe's reason.
func (e *JobError) Error() string {
	reason := e.Reason
	if reason == "" {
		reason = "no reason given"
	}
	return fmt.Sprintf("aws: call analytics job %s failed: %s", e.Name, reason)
}

// output reads and decodes the job's output document.
func (e *Engine) output(ctx context.Context, job *types.CallAnalyticsJob) (*transcript.Document, error) {
	name := awssdk.ToString(job.CallAnalyticsJobName)
	if job.Transcript == nil || awssdk.ToString(job.Transcript.TranscriptFileUri) == "" {
		return nil, fmt.Errorf("aws: call analytics job %s completed without a TranscriptFileUri", name)
	}
	uri := awssdk.ToString(job.Transcript.TranscriptFileUri)
	bucket, key, err := ParseS3URI(uri)
	if err != nil {
		return nil, fmt.Errorf("aws: call analytics job %s: %w", name, err)
	}
	out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: awssdk.String(bucket), Key: awssdk.String(key)})
	if err != nil {
		return nil, fmt.Errorf("aws: read output of job %s from s3://%s/%s: %w", name, bucket, key, err)
	}
	defer out.Body.Close()
	doc, err := transcript.Decode(io.LimitReader(out.Body, maxOutputBytes))
	if err != nil {
		return nil, fmt.Errorf("aws: output of job %s (s3://%s/%s): %w", name, bucket, key, err)
	}
	return doc, nil
}

// ParseS3URI returns the bucket and key of an S3 object named by an s3://
// URI or by an https URL in any of S3's forms: path-style
// (https://s3.us-east-1.amazonaws.com/bucket/key, also what Transcribe
// reports), virtual-hosted (https://bucket.s3.us-east-1.amazonaws.com/key),
// or any other host taken as path-style (S3-compatible stores, a custom
// endpoint).
func ParseS3URI(uri string) (bucket, key string, err error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", "", fmt.Errorf("S3 location %q: %w", uri, err)
	}
	switch u.Scheme {
	case "s3":
		bucket, key = u.Host, strings.TrimPrefix(u.Path, "/")
	case "https", "http":
		host := strings.ToLower(u.Hostname())
		path := strings.TrimPrefix(u.Path, "/")
		if b, ok := virtualHostBucket(host); ok {
			bucket, key = b, path
		} else {
			bucket, key, _ = strings.Cut(path, "/")
		}
	default:
		return "", "", fmt.Errorf("S3 location %q: want s3://bucket/key or an https URL", uri)
	}
	if bucket == "" || key == "" {
		return "", "", fmt.Errorf("S3 location %q names no bucket and key", uri)
	}
	return bucket, key, nil
}

// virtualHostBucket reads the bucket out of a virtual-hosted S3 host name
// (bucket.s3.amazonaws.com, bucket.s3.region.amazonaws.com,
// bucket.s3-region.amazonaws.com, and the .amazonaws.com.cn equivalents).
func virtualHostBucket(host string) (string, bool) {
	var rest string
	switch {
	case strings.HasSuffix(host, ".amazonaws.com"):
		rest = strings.TrimSuffix(host, ".amazonaws.com")
	case strings.HasSuffix(host, ".amazonaws.com.cn"):
		rest = strings.TrimSuffix(host, ".amazonaws.com.cn")
	default:
		return "", false
	}
	// rest is "s3", "s3.region", "s3-region", or "bucket.s3…".
	for _, sep := range []string{".s3.", ".s3-"} {
		if i := strings.LastIndex(rest+".", sep); i > 0 {
			return rest[:i], true
		}
	}
	return "", false
}

// Words lists the pronunciation items of a Call Analytics document as
// words, channel 0 for AGENT (the owner) and 1 for CUSTOMER, in time order
// within each channel.
func Words(doc *transcript.Document) []transcribe.Word {
	if doc == nil {
		return nil
	}
	var words []transcribe.Word
	for _, turn := range doc.Transcript {
		ch := 0
		if turn.ParticipantRole == transcript.Customer {
			ch = 1
		}
		for _, it := range turn.Items {
			if it.Type != transcript.Pronunciation || strings.TrimSpace(it.Content) == "" {
				continue
			}
			conf := it.Confidence
			if math.IsNaN(conf) || conf < 0 {
				conf = 0
			}
			words = append(words, transcribe.Word{
				Channel:    ch,
				Start:      time.Duration(it.BeginOffsetMillis) * time.Millisecond,
				End:        time.Duration(max(it.EndOffsetMillis, it.BeginOffsetMillis)) * time.Millisecond,
				Text:       it.Content,
				Confidence: min(conf, 1),
			})
		}
	}
	sort.SliceStable(words, func(i, j int) bool {
		if words[i].Channel != words[j].Channel {
			return words[i].Channel < words[j].Channel
		}
		return words[i].Start < words[j].Start
	})
	return words
}

// encodeWAV writes channels as an interleaved 16-bit PCM WAV file.
func encodeWAV(channels [][]int16, rate int) ([]byte, error) {
	if rate <= 0 {
		return nil, fmt.Errorf("sample rate %d", rate)
	}
	n := len(channels[0])
	for _, ch := range channels {
		if len(ch) != n {
			return nil, errors.New("channels differ in length")
		}
	}
	nch := len(channels)
	dataSize := uint64(n) * uint64(nch) * 2
	if dataSize > math.MaxUint32-36 {
		return nil, fmt.Errorf("%d samples do not fit in a WAV file", n)
	}
	b := make([]byte, 0, 44+dataSize)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+dataSize))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, uint16(nch))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*nch*2))
	b = binary.LittleEndian.AppendUint16(b, uint16(nch*2))
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(dataSize))
	for i := 0; i < n; i++ {
		for _, ch := range channels {
			b = binary.LittleEndian.AppendUint16(b, uint16(ch[i]))
		}
	}
	return b, nil
}
