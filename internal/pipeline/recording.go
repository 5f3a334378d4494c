package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/media/wav"
	"github.com/callrec/callrec/internal/transcribe"
)

// supportedRates are the sample rates of recordings the stages accept.
var supportedRates = map[uint32]bool{8000: true, 16000: true}

// LoadRecording reads and checks a stereo recording: 8 or 16 kHz, two
// channels (owner, other party), a header that matches the data. Problems
// are InputErrors with a message that says what to do.
func LoadRecording(path string) (*transcribe.Recording, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read recording: %w", err)
	}
	rec, err := DecodeRecording(path, data)
	if err != nil {
		return nil, err
	}
	rec.Path = path
	return rec, nil
}

// DecodeRecording is LoadRecording on bytes already read; name names the
// recording in messages. The Recording it returns has no Path.
func DecodeRecording(name string, data []byte) (*transcribe.Recording, error) {
	if len(data) == 0 {
		return nil, inputErr("recording %s is empty (0 bytes)", name)
	}
	format, pcm, err := wav.DecodeWhole(bytes.NewReader(data))
	if errors.Is(err, wav.ErrTruncated) {
		return nil, inputErr("recording %s is truncated: %v (was it copied while being written?)", name, err)
	}
	if err != nil {
		return nil, inputErr("recording %s: %v", name, err)
	}
	if format.Channels != 2 {
		return nil, inputErr("recording %s has %d channel(s); callrec needs stereo: channel 0 = owner, channel 1 = other party", name, format.Channels)
	}
	if !supportedRates[format.SampleRate] {
		return nil, inputErr("recording %s is %d Hz; callrec processes 8000 or 16000 Hz recordings (convert with: sox in.wav -r 16000 out.wav)", name, format.SampleRate)
	}
	n := len(pcm) / 2
	if n == 0 {
		return nil, inputErr("recording %s holds no audio", name)
	}
	ch := [][]int16{make([]int16, n), make([]int16, n)}
	for i := range n {
		ch[0][i], ch[1][i] = pcm[2*i], pcm[2*i+1]
	}
	return &transcribe.Recording{SampleRate: int(format.SampleRate), Channels: ch}, nil
}

// BlobRecording loads the recording at key from bs. A store whose objects
// are local files is read in place; from any other store the object is
// copied to a scratch file in scratchDir (for engines that upload the
// file), which release removes. Call release when the stage is done with
// the recording.
func BlobRecording(ctx context.Context, bs blob.Store, key, scratchDir string) (rec *transcribe.Recording, release func(), err error) {
	noop := func() {}
	if key == "" {
		return nil, noop, inputErr("the call has no recording")
	}
	if l, ok := bs.(blob.Localer); ok {
		if path, ok := l.LocalPath(key); ok {
			rec, err := LoadRecording(path)
			return rec, noop, err
		}
	}
	rc, err := bs.Open(ctx, key)
	if err != nil {
		return nil, noop, fmt.Errorf("read recording: %w", err)
	}
	defer rc.Close()
	if err := os.MkdirAll(scratchDir, 0o750); err != nil {
		return nil, noop, fmt.Errorf("scratch directory: %w", err)
	}
	f, err := os.CreateTemp(scratchDir, "recording-*.wav")
	if err != nil {
		return nil, noop, fmt.Errorf("scratch copy of recording: %w", err)
	}
	release = func() { _ = os.Remove(f.Name()) }
	_, err = io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		release()
		return nil, noop, fmt.Errorf("scratch copy of recording %s: %w", key, err)
	}
	data, err := os.ReadFile(f.Name())
	if err == nil {
		rec, err = DecodeRecording(key, data)
	}
	if err != nil {
		release()
		return nil, noop, err
	}
	rec.Path = f.Name()
	return rec, release, nil
}
