package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// ErrTooLong is returned (wrapped) by Writer.Write when the recording would
// exceed the 4 GiB a WAV file can describe.
var ErrTooLong = errors.New("recording too long for a WAV file (4 GiB)")

// writeBufferSize is how much audio a Writer holds before writing it to the
// file: about one second of 8 kHz 16-bit stereo.
const writeBufferSize = 32 << 10

// Writer writes a 16-bit PCM WAV recording. Its header is valid from the
// moment the file is created; Flush and Sync bring the sizes in the header
// up to date, so that a process killed in the middle of a call leaves a
// playable file holding the audio up to the last Flush or Sync (and Repair
// recovers the rest).
//
// A Writer is safe for concurrent use: a timer may call Sync while the media
// path calls Write.
type Writer struct {
	mu       sync.Mutex
	f        *os.File
	path     string
	format   Format
	buf      []byte
	frames   int64 // frames accepted by Write, buffered or not
	dataSize int64 // bytes accepted by Write
	err      error // first write error; the file is in an unknown state
	closed   bool
}

// Create creates a new recording at path, 16-bit PCM with the given sample
// rate and channel count, and writes its header. It refuses to overwrite an
// existing file, so that a name collision can never destroy a recording.
func Create(path string, sampleRate uint32, channels uint16) (*Writer, error) {
	if sampleRate == 0 {
		return nil, fmt.Errorf("create recording %s: sample rate must be positive", path)
	}
	if channels == 0 {
		return nil, fmt.Errorf("create recording %s: channel count must be positive", path)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create recording: %w", err)
	}
	w := &Writer{
		f:    f,
		path: path,
		format: Format{
			AudioFormat:   FormatPCM,
			Channels:      channels,
			SampleRate:    sampleRate,
			BitsPerSample: 16,
		},
		buf: make([]byte, 0, writeBufferSize),
	}
	hdr := appendHeader(make([]byte, 0, HeaderSize), w.format, 0)
	if _, err := f.Write(hdr); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("create recording %s: write header: %w", path, err)
	}
	return w, nil
}

// appendHeader appends the canonical 44-byte header for dataSize bytes of
// audio in format f.
func appendHeader(b []byte, f Format, dataSize uint32) []byte {
	frame := uint16(f.FrameSize())
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, HeaderSize-8+dataSize)
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, f.AudioFormat)
	b = binary.LittleEndian.AppendUint16(b, f.Channels)
	b = binary.LittleEndian.AppendUint32(b, f.SampleRate)
	b = binary.LittleEndian.AppendUint32(b, f.SampleRate*uint32(frame))
	b = binary.LittleEndian.AppendUint16(b, frame)
	b = binary.LittleEndian.AppendUint16(b, f.BitsPerSample)
	b = append(b, "data"...)
	return binary.LittleEndian.AppendUint32(b, dataSize)
}

// Path returns the path of the recording.
func (w *Writer) Path() string { return w.path }

// Format returns the recording's format.
func (w *Writer) Format() Format { return w.format }

// Write appends interleaved samples (one sample of each channel per frame,
// channel 0 first) to the recording. It buffers; the audio reaches the file
// when the buffer fills or on Flush, Sync or Close. The number of samples
// must be a multiple of the channel count.
func (w *Writer) Write(interleaved []int16) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	ch := int(w.format.Channels)
	if len(interleaved)%ch != 0 {
		return fmt.Errorf("write recording %s: %d samples is not a whole number of %d-channel frames", w.path, len(interleaved), ch)
	}
	if w.dataSize+2*int64(len(interleaved)) > maxDataSize {
		return fmt.Errorf("write recording %s: %w", w.path, ErrTooLong)
	}
	for len(interleaved) > 0 {
		space := (cap(w.buf) - len(w.buf)) / 2
		if space == 0 {
			if err := w.flushLocked(); err != nil {
				return err
			}
			continue
		}
		n := min(space, len(interleaved))
		start := len(w.buf)
		w.buf = w.buf[:start+2*n]
		out := w.buf[start:]
		for i, s := range interleaved[:n] {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(s))
		}
		interleaved = interleaved[n:]
		w.dataSize += 2 * int64(n)
	}
	w.frames = w.dataSize / int64(w.format.FrameSize())
	return nil
}

func (w *Writer) usable() error {
	if w.closed {
		return fmt.Errorf("recording %s: %w", w.path, os.ErrClosed)
	}
	return w.err
}

// flushLocked writes the buffered audio to the file.
func (w *Writer) flushLocked() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.f.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		w.err = fmt.Errorf("write recording %s: %w", w.path, err)
	}
	return w.err
}

// updateSizesLocked rewrites the RIFF and data sizes in the header to match
// the audio written to the file so far.
func (w *Writer) updateSizesLocked() error {
	written := uint32(w.dataSize - int64(len(w.buf)))
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], HeaderSize-8+written)
	if _, err := w.f.WriteAt(b[:], 4); err != nil {
		w.err = fmt.Errorf("update header of recording %s: %w", w.path, err)
		return w.err
	}
	binary.LittleEndian.PutUint32(b[:], written)
	if _, err := w.f.WriteAt(b[:], HeaderSize-4); err != nil {
		w.err = fmt.Errorf("update header of recording %s: %w", w.path, err)
		return w.err
	}
	return nil
}

// Flush writes the buffered audio to the file and updates the header's
// sizes, so that the file is a valid WAV holding everything written so far
// even if the process dies next. It does not force the data to stable
// storage; Sync does.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.flushLocked(); err != nil {
		return err
	}
	return w.updateSizesLocked()
}

// Sync does what Flush does, then commits the file to stable storage
// (fsync), so that the recording also survives a power failure. The owner of
// a Writer calls it every few seconds.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.flushLocked(); err != nil {
		return err
	}
	if err := w.updateSizesLocked(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync recording %s: %w", w.path, err)
	}
	return nil
}

// Frames returns the number of frames written so far, including those still
// buffered.
func (w *Writer) Frames() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.frames
}

// Duration returns the playing time of the frames written so far.
func (w *Writer) Duration() time.Duration {
	return framesDuration(w.Frames(), w.format.SampleRate)
}

// Close flushes the buffered audio, writes the final header, commits the
// file to stable storage and closes it. After a write error (a full disk)
// it still makes the file a valid recording of what reached it (the header
// is rewritten in place, which needs no new space), closes it and returns
// that error. Calling Close again returns an error wrapping os.ErrClosed.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("close recording %s: %w", w.path, os.ErrClosed)
	}
	w.closed = true
	err := w.err
	if err == nil {
		err = w.flushLocked()
	}
	if err == nil {
		err = w.updateSizesLocked()
	} else if _, rerr := repair(w.f); rerr != nil {
		err = errors.Join(err, fmt.Errorf("finish recording %s after the error: %w", w.path, rerr))
	}
	if err == nil {
		if serr := w.f.Sync(); serr != nil {
			err = fmt.Errorf("sync recording %s: %w", w.path, serr)
		}
	}
	if cerr := w.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close recording %s: %w", w.path, cerr)
	}
	return err
}
