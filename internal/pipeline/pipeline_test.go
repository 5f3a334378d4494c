package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcript"
)

func wavBytes(rate, channels, frames int) []byte {
	var b bytes.Buffer
	data := frames * channels * 2
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(channels), uint32(rate), uint32(rate * channels * 2), uint16(channels * 2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data))
	for i := 0; i < frames*channels; i++ {
		binary.Write(&b, binary.LittleEndian, int16(1000*(i%7)))
	}
	return b.Bytes()
}

// fakeEngine recognises one word per channel and counts its calls.
type fakeEngine struct{ calls atomic.Int32 }

func (e *fakeEngine) Name() string { return "fake" }
func (e *fakeEngine) Transcribe(_ context.Context, rec *transcribe.Recording) (*transcribe.Result, error) {
	e.calls.Add(1)
	var words []transcribe.Word
	for ch := range rec.Channels {
		words = append(words, transcribe.Word{Channel: ch, Start: 0, End: rec.Duration() / 2, Text: "hello", Confidence: 0.9})
	}
	return &transcribe.Result{Engine: "fake", Language: "en-US", Words: words}, nil
}

type fakeRenderer struct{}

func (fakeRenderer) Render(_ context.Context, call *store.Call, doc *transcript.Document) (map[string][]byte, error) {
	return map[string][]byte{calls.ReportHTML: []byte("<p>" + call.ID), calls.ReportDOCX: []byte("PK")}, nil
}

type fakeNotifier struct{ got []calls.Download }

func (n *fakeNotifier) Notify(_ context.Context, _ *store.Call, doc *transcript.Document, ds []calls.Download) error {
	if doc == nil {
		return errors.New("no transcript")
	}
	n.got = ds
	return nil
}

func newRunner(t *testing.T, e transcribe.Engine, n Notifier) *Runner {
	t.Helper()
	r, err := NewRunner(Config{Engine: func() (transcribe.Engine, error) { return e, nil }, Renderer: fakeRenderer{}, Notifier: n})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func memJob(t *testing.T, wav []byte) (*Job, *MemObjects) {
	t.Helper()
	rec, err := DecodeRecording("test.wav", wav)
	if err != nil {
		t.Fatal(err)
	}
	o := &MemObjects{}
	return &Job{
		Call:      &store.Call{ID: "c1"},
		Objects:   o,
		Recording: func(context.Context) (*transcribe.Recording, func(), error) { return rec, func() {}, nil },
		Downloads: func(context.Context) ([]calls.Download, error) {
			return []calls.Download{{Name: calls.ReportDOCX, Key: "calls/c1/report.docx"}}, nil
		},
	}, o
}

// TestStageTableMatchesStages: the table does the work of exactly the
// stages package calls names, in its order.
func TestStageTableMatchesStages(t *testing.T) {
	var names []string
	for _, s := range stageTable {
		names = append(names, s.name)
	}
	if !slices.Equal(names, calls.Stages()) {
		t.Errorf("stage table %v, stages %v", names, calls.Stages())
	}
}

func TestRunAllStages(t *testing.T) {
	e := &fakeEngine{}
	n := &fakeNotifier{}
	r := newRunner(t, e, n)
	job, o := memJob(t, wavBytes(8000, 2, 8000))
	var progress []string
	keys, err := r.Run(context.Background(), job, calls.Stages(), func(i int, name string) { progress = append(progress, name) })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(progress, calls.Stages()) {
		t.Errorf("progress %v", progress)
	}
	want := []string{calls.Words, calls.Transcript, calls.ReportDOCX, calls.ReportHTML, calls.Notification}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if len(n.got) != 1 || n.got[0].Name != calls.ReportDOCX {
		t.Errorf("notifier got %v", n.got)
	}
	b, err := o.Get(context.Background(), calls.Transcript)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := transcript.Decode(bytes.NewReader(b))
	if err != nil || doc.CallrecMetadata == nil || doc.CallrecMetadata.CallID != "c1" || doc.CallrecMetadata.Engine != "fake" {
		t.Errorf("transcript %+v, %v", doc, err)
	}
	// Again: outputs exist, so nothing is transcribed twice.
	if _, err := r.Run(context.Background(), job, calls.Stages()[:2], nil); err != nil {
		t.Fatal(err)
	}
	if e.calls.Load() != 1 {
		t.Errorf("engine ran %d times, want 1", e.calls.Load())
	}
}

func TestStageErrors(t *testing.T) {
	r := newRunner(t, &fakeEngine{}, nil)
	job, _ := memJob(t, wavBytes(8000, 2, 800))
	if _, err := r.Stage(context.Background(), "publish", job); !Permanent(err) {
		t.Errorf("unknown stage: %v, want a permanent error", err)
	}
	if _, err := r.Stage(context.Background(), calls.StageNotify, job); !Permanent(err) {
		t.Errorf("notify without a notifier or a transcript: %v, want a permanent error", err)
	}
	// Analyze before transcribe: the words are missing (a transient
	// error: another attempt may find them).
	if _, err := r.Stage(context.Background(), calls.StageAnalyze, job); err == nil || Permanent(err) || !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("analyze without words: %v", err)
	}
}

func TestDecodeRecording(t *testing.T) {
	full := wavBytes(8000, 2, 8000)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":     {nil, "empty"},
		"not a wav": {[]byte("hello, this is not audio"), "RIFF"},
		"mono":      {wavBytes(8000, 1, 8000), "channel"},
		"48k":       {wavBytes(48000, 2, 48000), "48000 Hz"},
		"truncated": {full[:len(full)/2], "truncated"},
		"no audio":  {wavBytes(8000, 2, 0), "no audio"},
	}
	for name, c := range cases {
		_, err := DecodeRecording(name, c.data)
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an InputError mentioning %q", name, err, c.want)
		}
	}
	rec, err := DecodeRecording("ok", wavBytes(16000, 2, 1600))
	if err != nil || rec.SampleRate != 16000 || len(rec.Channels) != 2 || len(rec.Channels[0]) != 1600 {
		t.Errorf("16 kHz stereo: %+v, %v", rec, err)
	}
}

// remote hides the local store's LocalPath, as an S3 store would.
type remote struct{ blob.Store }

func TestBlobRecordingScratchCopy(t *testing.T) {
	ctx := context.Background()
	bs, err := blob.NewLocal(filepath.Join(t.TempDir(), "objects"))
	if err != nil {
		t.Fatal(err)
	}
	key := "recordings/2026/01/01/c1.wav"
	if err := bs.Put(ctx, key, bytes.NewReader(wavBytes(8000, 2, 800))); err != nil {
		t.Fatal(err)
	}
	// Local: read in place, no copy.
	scratch := filepath.Join(t.TempDir(), "scratch")
	rec, release, err := BlobRecording(ctx, bs, key, scratch)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := bs.LocalPath(key); rec.Path != p {
		t.Errorf("local recording read from %q, want %q", rec.Path, p)
	}
	release()
	// Remote: a scratch copy, gone after release.
	rec, release, err = BlobRecording(ctx, remote{bs}, key, scratch)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(rec.Path) != scratch {
		t.Errorf("scratch copy at %q, want in %q", rec.Path, scratch)
	}
	if _, err := os.Stat(rec.Path); err != nil {
		t.Errorf("scratch copy missing while in use: %v", err)
	}
	release()
	if entries, _ := os.ReadDir(scratch); len(entries) != 0 {
		t.Errorf("scratch copies left: %v", entries)
	}
	// A bad recording leaves no copy either.
	if err := bs.Put(ctx, key, strings.NewReader("not a wav")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := BlobRecording(ctx, remote{bs}, key, scratch); err == nil {
		t.Error("bad recording accepted")
	}
	if entries, _ := os.ReadDir(scratch); len(entries) != 0 {
		t.Errorf("scratch copies left after a bad recording: %v", entries)
	}
}
