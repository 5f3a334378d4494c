// Package wav reads WAV files (prompts to play) and writes crash-safe 16-bit
// PCM recordings.
//
// Decode accepts 16-bit PCM, 8-bit A-law and 8-bit mu-law, in the plain and
// the WAVE_FORMAT_EXTENSIBLE layouts. Writer produces a canonical 44-byte
// header followed by 16-bit little-endian samples; its header is valid from
// the moment the file is created and is brought up to date by every Flush or
// Sync, so a recording cut short by a crash loses at most the audio since the
// last Sync, and Repair recovers even that from the file's length.
package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/zaf/g711"
)

// Audio format codes of the fmt chunk.
const (
	// FormatPCM is linear PCM (WAVE_FORMAT_PCM).
	FormatPCM uint16 = 1
	// FormatALaw is G.711 A-law (WAVE_FORMAT_ALAW).
	FormatALaw uint16 = 6
	// FormatMuLaw is G.711 mu-law (WAVE_FORMAT_MULAW).
	FormatMuLaw uint16 = 7

	formatFloat      uint16 = 3
	formatExtensible uint16 = 0xFFFE
)

// HeaderSize is the size of the canonical header Writer writes: RIFF header,
// a 16-byte fmt chunk and the data chunk's header.
const HeaderSize = 44

// maxDataSize is the largest data chunk a RIFF file can describe: the RIFF
// size field (36 + data size) must fit in 32 bits.
const maxDataSize = 1<<32 - 1 - (HeaderSize - 8)

// Format describes the audio in a WAV file.
type Format struct {
	// AudioFormat is FormatPCM, FormatALaw or FormatMuLaw. For a
	// WAVE_FORMAT_EXTENSIBLE file it is the code of the sub-format.
	AudioFormat uint16
	// Channels is the number of interleaved channels.
	Channels uint16
	// SampleRate is the number of frames per second.
	SampleRate uint32
	// BitsPerSample is the size of one sample: 16 for PCM, 8 for A-law and
	// mu-law.
	BitsPerSample uint16
}

// FrameSize returns the size in bytes of one frame (one sample of every
// channel).
func (f Format) FrameSize() int {
	return int(f.Channels) * int(f.BitsPerSample/8)
}

// Info describes a WAV file without its samples.
type Info struct {
	// Format is the audio format.
	Format Format
	// Frames is the number of whole frames in the data chunk.
	Frames int64
	// Duration is the playing time of the frames.
	Duration time.Duration
}

func newInfo(f Format, dataBytes int64) Info {
	frames := dataBytes / int64(f.FrameSize())
	return Info{Format: f, Frames: frames, Duration: framesDuration(frames, f.SampleRate)}
}

func framesDuration(frames int64, rate uint32) time.Duration {
	if rate == 0 {
		return 0
	}
	sec := frames / int64(rate)
	rem := frames % int64(rate)
	return time.Duration(sec)*time.Second + time.Duration(rem)*time.Second/time.Duration(rate)
}

// formatName names the encodings people are most likely to try, for error
// messages.
func formatName(code uint16) string {
	switch code {
	case FormatPCM:
		return "PCM"
	case 2:
		return "Microsoft ADPCM"
	case formatFloat:
		return "IEEE float"
	case FormatALaw:
		return "A-law"
	case FormatMuLaw:
		return "mu-law"
	case 0x11:
		return "IMA ADPCM"
	case 0x31:
		return "GSM 6.10"
	case 0x50:
		return "MPEG"
	case 0x55:
		return "MPEG Layer 3"
	case formatExtensible:
		return "extensible"
	default:
		return "unknown"
	}
}

const useInstead = "use 16-bit PCM, A-law or mu-law"

// subformatSuffix is bytes 4-15 of the KSDATAFORMAT_SUBTYPE_* GUIDs
// (xxxxxxxx-0000-0010-8000-00AA00389B71) as stored in a fmt chunk.
const subformatSuffix = "\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71"

// parseFmt decodes and validates the body of a fmt chunk.
func parseFmt(b []byte) (Format, error) {
	if len(b) < 16 {
		return Format{}, fmt.Errorf("fmt chunk too short: %d bytes, want at least 16", len(b))
	}
	f := Format{
		AudioFormat:   binary.LittleEndian.Uint16(b[0:2]),
		Channels:      binary.LittleEndian.Uint16(b[2:4]),
		SampleRate:    binary.LittleEndian.Uint32(b[4:8]),
		BitsPerSample: binary.LittleEndian.Uint16(b[14:16]),
	}
	if f.AudioFormat == formatExtensible {
		if len(b) < 40 {
			return Format{}, fmt.Errorf("truncated WAVE_FORMAT_EXTENSIBLE fmt chunk: %d bytes, want 40", len(b))
		}
		guid := b[24:40]
		if string(guid[4:16]) != subformatSuffix || guid[2] != 0 || guid[3] != 0 {
			return Format{}, fmt.Errorf("unsupported WAVE_FORMAT_EXTENSIBLE sub-format % X; %s", guid, useInstead)
		}
		f.AudioFormat = binary.LittleEndian.Uint16(guid[0:2])
	}
	if f.Channels == 0 {
		return Format{}, errors.New("invalid fmt chunk: 0 channels")
	}
	if f.SampleRate == 0 {
		return Format{}, errors.New("invalid fmt chunk: sample rate 0")
	}
	switch f.AudioFormat {
	case FormatPCM:
		if f.BitsPerSample != 16 {
			return Format{}, fmt.Errorf("unsupported WAV sample size: %d-bit PCM; %s", f.BitsPerSample, useInstead)
		}
	case FormatALaw, FormatMuLaw:
		if f.BitsPerSample != 8 {
			return Format{}, fmt.Errorf("unsupported WAV sample size: %d-bit %s, want 8-bit; %s",
				f.BitsPerSample, formatName(f.AudioFormat), useInstead)
		}
	default:
		return Format{}, fmt.Errorf("unsupported WAV encoding %d (%s); %s", f.AudioFormat, formatName(f.AudioFormat), useInstead)
	}
	return f, nil
}

// maxFmtSize bounds how much of a fmt chunk is read; the rest is skipped.
const maxFmtSize = 64

// readHeader reads the RIFF header and the chunks up to the data chunk's
// header, leaving r at the first byte of audio. It returns the format and
// the data size the file declares.
func readHeader(r io.Reader) (Format, uint32, error) {
	var hdr [12]byte
	n, err := io.ReadFull(r, hdr[:])
	switch {
	case n >= 4 && string(hdr[0:4]) == "RIFX":
		return Format{}, 0, errors.New("unsupported WAV file: big-endian RIFX")
	case n >= 4 && string(hdr[0:4]) == "RF64":
		return Format{}, 0, errors.New("unsupported WAV file: RF64 (larger than 4 GiB)")
	case n < 4 || string(hdr[0:4]) != "RIFF":
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return Format{}, 0, fmt.Errorf("read RIFF header: %w", err)
		}
		return Format{}, 0, errors.New("not a WAV file: missing RIFF header")
	case err != nil:
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Format{}, 0, errors.New("truncated RIFF header")
		}
		return Format{}, 0, fmt.Errorf("read RIFF header: %w", err)
	case string(hdr[8:12]) != "WAVE":
		return Format{}, 0, fmt.Errorf("not a WAV file: RIFF form type %q, want \"WAVE\"", hdr[8:12])
	}

	var (
		format  Format
		haveFmt bool
		ch      [8]byte
		body    [maxFmtSize]byte
	)
	for {
		n, err := io.ReadFull(r, ch[:])
		if err != nil {
			switch {
			case errors.Is(err, io.EOF) && n == 0 && !haveFmt:
				return Format{}, 0, errors.New("invalid WAV file: missing fmt chunk")
			case errors.Is(err, io.EOF) && n == 0:
				return Format{}, 0, errors.New("invalid WAV file: missing data chunk")
			case errors.Is(err, io.ErrUnexpectedEOF):
				return Format{}, 0, errors.New("truncated chunk header")
			default:
				return Format{}, 0, fmt.Errorf("read chunk header: %w", err)
			}
		}
		id := string(ch[0:4])
		size := binary.LittleEndian.Uint32(ch[4:8])
		switch {
		case id == "data":
			if !haveFmt {
				return Format{}, 0, errors.New("invalid WAV file: data chunk before fmt chunk")
			}
			return format, size, nil
		case id == "fmt " && !haveFmt:
			m := min(size, maxFmtSize)
			if _, err := io.ReadFull(r, body[:m]); err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return Format{}, 0, errors.New("truncated fmt chunk")
				}
				return Format{}, 0, fmt.Errorf("read fmt chunk: %w", err)
			}
			if format, err = parseFmt(body[:m]); err != nil {
				return Format{}, 0, err
			}
			haveFmt = true
			if err := skip(r, int64(size-m)+int64(size&1)); err != nil {
				return Format{}, 0, fmt.Errorf("truncated fmt chunk: %w", err)
			}
		default:
			// Unknown chunk (LIST, fact, cue , a second fmt ...): skip it and
			// its pad byte, as RIFF chunks are word-aligned.
			if err := skip(r, int64(size)+int64(size&1)); err != nil {
				return Format{}, 0, fmt.Errorf("invalid WAV file: missing data chunk (file ends inside %q chunk): %w", id, err)
			}
		}
	}
}

// skip discards n bytes of r, seeking when r can.
func skip(r io.Reader, n int64) error {
	if n == 0 {
		return nil
	}
	if s, ok := r.(io.Seeker); ok {
		// Seeking past the end succeeds; the next read reports the end.
		_, err := s.Seek(n, io.SeekCurrent)
		return err
	}
	m, err := io.CopyN(io.Discard, r, n)
	if err != nil && errors.Is(err, io.EOF) {
		return fmt.Errorf("%d of %d bytes: %w", m, n, io.ErrUnexpectedEOF)
	}
	return err
}

// Decode reads a whole WAV file and returns its format and its samples,
// interleaved and converted to 16-bit linear PCM. Chunks other than fmt and
// data are skipped. A data chunk that declares more bytes than the file
// holds (a recording cut short) is read up to the end of the file; a
// trailing partial frame is dropped.
func Decode(r io.Reader) (Format, []int16, error) {
	f, samples, _, err := decode(r)
	return f, samples, err
}

// ErrTruncated says a WAV file's data chunk declares more audio than the
// file holds: it was cut short (or copied while being written).
var ErrTruncated = errors.New("the header promises more audio than the file holds")

// DecodeWhole is Decode for a file that must be complete: a data chunk
// that declares more bytes than the file holds is an error wrapping
// ErrTruncated.
func DecodeWhole(r io.Reader) (Format, []int16, error) {
	f, samples, missing, err := decode(r)
	if err == nil && missing > 0 {
		err = fmt.Errorf("truncated WAV file (%d bytes missing): %w", missing, ErrTruncated)
	}
	return f, samples, err
}

// decode reads a WAV file and says how many of the data chunk's declared
// bytes were missing.
func decode(r io.Reader) (Format, []int16, int64, error) {
	f, size, err := readHeader(r)
	if err != nil {
		return Format{}, nil, 0, err
	}
	samples, missing, err := readSamples(r, f, int64(size))
	if err != nil {
		return Format{}, nil, 0, err
	}
	return f, samples, missing, nil
}

// readSamples reads up to size bytes of audio and converts them; missing
// is how many of the size bytes the reader did not hold.
func readSamples(r io.Reader, f Format, size int64) (samples []int16, missing int64, err error) {
	const block = 32 << 10
	bps := int(f.BitsPerSample / 8)
	buf := make([]byte, min(size, block))
	var out []int16
	carry := 0 // bytes of an incomplete sample kept at the front of buf
	for size > 0 {
		want := int(min(int64(len(buf)-carry), size))
		n, err := io.ReadFull(r, buf[carry:carry+want])
		size -= int64(n)
		avail := carry + n
		whole := avail - avail%bps
		out = appendSamples(out, f.AudioFormat, buf[:whole])
		carry = copy(buf, buf[whole:avail])
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break // cut short: keep what is there
			}
			return nil, 0, fmt.Errorf("read WAV data: %w", err)
		}
	}
	ch := int(f.Channels)
	return out[:len(out)-len(out)%ch], size, nil
}

func appendSamples(dst []int16, audioFormat uint16, b []byte) []int16 {
	switch audioFormat {
	case FormatPCM:
		for i := 0; i+1 < len(b); i += 2 {
			dst = append(dst, int16(binary.LittleEndian.Uint16(b[i:])))
		}
	case FormatALaw:
		for _, c := range b {
			dst = append(dst, g711.DecodeAlawFrame(c))
		}
	case FormatMuLaw:
		for _, c := range b {
			dst = append(dst, g711.DecodeUlawFrame(c))
		}
	}
	return dst
}

// Stat reads the header of the WAV file at path and reports its format and
// length without loading the samples. Like Decode, it counts only the audio
// actually present when the data chunk declares more.
func Stat(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, fmt.Errorf("stat WAV: %w", err)
	}
	defer f.Close()
	format, size, err := readHeader(f)
	if err != nil {
		return Info{}, fmt.Errorf("stat WAV %s: %w", path, err)
	}
	pos, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return Info{}, fmt.Errorf("stat WAV %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("stat WAV %s: %w", path, err)
	}
	avail := max(fi.Size()-pos, 0)
	return newInfo(format, min(int64(size), avail)), nil
}
