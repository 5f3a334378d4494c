package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

type chunk struct {
	id   string
	body []byte
	size int // declared size; -1 means len(body)
}

func ck(id string, body []byte) chunk { return chunk{id: id, body: body, size: -1} }

// riff builds a RIFF/WAVE file from chunks, padding odd-sized chunks.
func riff(chunks ...chunk) []byte {
	var b []byte
	for _, c := range chunks {
		size := c.size
		if size < 0 {
			size = len(c.body)
		}
		b = append(b, c.id...)
		b = binary.LittleEndian.AppendUint32(b, uint32(size))
		b = append(b, c.body...)
		if len(c.body)%2 == 1 && c.size < 0 {
			b = append(b, 0)
		}
	}
	h := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(b)))...)
	return append(append(h, "WAVE"...), b...)
}

func fmtBody(tag, channels uint16, rate uint32, bits uint16) []byte {
	frame := channels * bits / 8
	b := binary.LittleEndian.AppendUint16(nil, tag)
	b = binary.LittleEndian.AppendUint16(b, channels)
	b = binary.LittleEndian.AppendUint32(b, rate)
	b = binary.LittleEndian.AppendUint32(b, rate*uint32(frame))
	b = binary.LittleEndian.AppendUint16(b, frame)
	return binary.LittleEndian.AppendUint16(b, bits)
}

func extensibleBody(sub, channels uint16, rate uint32, bits uint16) []byte {
	b := fmtBody(0xFFFE, channels, rate, bits)
	b = binary.LittleEndian.AppendUint16(b, 22)   // cbSize
	b = binary.LittleEndian.AppendUint16(b, bits) // valid bits
	b = binary.LittleEndian.AppendUint32(b, 0x3)  // channel mask
	b = binary.LittleEndian.AppendUint32(b, uint32(sub))
	return append(b, subformatSuffix...)
}

func pcm16(s ...int16) []byte {
	var b []byte
	for _, v := range s {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

func TestDecode(t *testing.T) {
	mono := fmtBody(1, 1, 8000, 16)
	stereo := fmtBody(1, 2, 8000, 16)
	fmt18 := append(slices.Clone(mono), 0, 0) // cbSize = 0
	tests := []struct {
		name    string
		file    []byte
		format  Format
		samples []int16
		wantErr string
	}{
		{
			name:    "16-bit mono",
			file:    riff(ck("fmt ", mono), ck("data", pcm16(0, 1, -1, 32767, -32768))),
			format:  Format{FormatPCM, 1, 8000, 16},
			samples: []int16{0, 1, -1, 32767, -32768},
		},
		{
			name:    "16-bit stereo 16 kHz",
			file:    riff(ck("fmt ", fmtBody(1, 2, 16000, 16)), ck("data", pcm16(1, 2, 3, 4))),
			format:  Format{FormatPCM, 2, 16000, 16},
			samples: []int16{1, 2, 3, 4},
		},
		{
			name:    "A-law",
			file:    riff(ck("fmt ", fmtBody(6, 1, 8000, 8)), ck("data", []byte{0xD5, 0x2A, 0xAA})),
			format:  Format{FormatALaw, 1, 8000, 8},
			samples: []int16{8, -32256, 32256},
		},
		{
			name:    "mu-law, odd data size padded",
			file:    riff(ck("fmt ", fmtBody(7, 1, 8000, 8)), ck("data", []byte{0xFF, 0x80, 0x00}), ck("LIST", []byte("INFO"))),
			format:  Format{FormatMuLaw, 1, 8000, 8},
			samples: []int16{0, 32124, -32124},
		},
		{
			name: "odd-sized unknown chunks are padded",
			file: riff(ck("JUNK", []byte{1, 2, 3}), ck("fmt ", mono), ck("LIST", []byte("INFOISFT\x05\x00\x00\x00Lavf\x00")),
				ck("fact", []byte{1}), ck("data", pcm16(7, 8))),
			format:  Format{FormatPCM, 1, 8000, 16},
			samples: []int16{7, 8},
		},
		{
			name:    "18-byte fmt chunk",
			file:    riff(ck("fmt ", fmt18), ck("data", pcm16(5))),
			format:  Format{FormatPCM, 1, 8000, 16},
			samples: []int16{5},
		},
		{
			name:    "long fmt chunk is skipped past",
			file:    riff(ck("fmt ", append(slices.Clone(fmt18), make([]byte, 101)...)), ck("data", pcm16(5))),
			format:  Format{FormatPCM, 1, 8000, 16},
			samples: []int16{5},
		},
		{
			name:    "second fmt chunk ignored",
			file:    riff(ck("fmt ", mono), ck("fmt ", fmtBody(3, 1, 8000, 32)), ck("data", pcm16(5))),
			format:  Format{FormatPCM, 1, 8000, 16},
			samples: []int16{5},
		},
		{
			name:    "extensible PCM",
			file:    riff(ck("fmt ", extensibleBody(1, 2, 48000, 16)), ck("data", pcm16(-5, 5))),
			format:  Format{FormatPCM, 2, 48000, 16},
			samples: []int16{-5, 5},
		},
		{
			name:    "extensible mu-law",
			file:    riff(ck("fmt ", extensibleBody(7, 1, 8000, 8)), ck("data", []byte{0xFF})),
			format:  Format{FormatMuLaw, 1, 8000, 8},
			samples: []int16{0},
		},
		{
			name:    "data size beyond end of file",
			file:    riff(ck("fmt ", mono), chunk{"data", pcm16(1, 2, 3), 1000}),
			format:  Format{FormatPCM, 1, 8000, 16},
			samples: []int16{1, 2, 3},
		},
		{
			name:    "streaming data size 0xFFFFFFFF",
			file:    riff(ck("fmt ", stereo), chunk{"data", pcm16(1, 2, 3, 4), 0xFFFFFFFF}),
			format:  Format{FormatPCM, 2, 8000, 16},
			samples: []int16{1, 2, 3, 4},
		},
		{
			name:    "cut inside a sample",
			file:    riff(ck("fmt ", mono), chunk{"data", append(pcm16(1, 2), 0x33), 1000}),
			format:  Format{FormatPCM, 1, 8000, 16},
			samples: []int16{1, 2},
		},
		{
			name:    "cut inside a stereo frame",
			file:    riff(ck("fmt ", stereo), chunk{"data", pcm16(1, 2, 3), 1000}),
			format:  Format{FormatPCM, 2, 8000, 16},
			samples: []int16{1, 2},
		},
		{
			name:    "empty data",
			file:    riff(ck("fmt ", mono), ck("data", nil)),
			format:  Format{FormatPCM, 1, 8000, 16},
			samples: []int16{},
		},
		{
			name:    "chunks after data are not read",
			file:    riff(ck("fmt ", mono), ck("data", pcm16(9)), ck("LIST", []byte("garbage"))),
			format:  Format{FormatPCM, 1, 8000, 16},
			samples: []int16{9},
		},

		{name: "empty file", file: nil, wantErr: "not a WAV file: missing RIFF header"},
		{name: "text file", file: []byte("hello, world"), wantErr: "not a WAV file: missing RIFF header"},
		{name: "mp3", file: []byte("ID3\x03\x00\x00\x00\x00\x00\x00"), wantErr: "not a WAV file: missing RIFF header"},
		{name: "big-endian", file: []byte("RIFX\x00\x00\x00\x24WAVE"), wantErr: "big-endian RIFX"},
		{name: "RF64", file: []byte("RF64\xff\xff\xff\xffWAVE"), wantErr: "RF64"},
		{name: "AVI", file: []byte("RIFF\x04\x00\x00\x00AVI "), wantErr: `not a WAV file: RIFF form type "AVI ", want "WAVE"`},
		{name: "truncated RIFF header", file: []byte("RIFF\x04\x00"), wantErr: "truncated RIFF header"},
		{name: "no chunks", file: riff(), wantErr: "missing fmt chunk"},
		{name: "no fmt", file: riff(ck("LIST", []byte("INFO"))), wantErr: "missing fmt chunk"},
		{name: "no data", file: riff(ck("fmt ", mono)), wantErr: "missing data chunk"},
		{name: "no data after odd chunk", file: riff(ck("fmt ", mono), ck("LIST", []byte{1})), wantErr: "missing data chunk"},
		{name: "file ends inside a chunk", file: riff(ck("fmt ", mono), chunk{"LIST", []byte("INFO"), 100}), wantErr: "missing data chunk"},
		{name: "data before fmt", file: riff(ck("data", pcm16(1)), ck("fmt ", mono)), wantErr: "data chunk before fmt chunk"},
		{name: "truncated chunk header", file: append(riff(ck("fmt ", mono)), "dat"...), wantErr: "truncated chunk header"},
		{name: "fmt too short", file: riff(ck("fmt ", mono[:14]), ck("data", nil)), wantErr: "fmt chunk too short: 14 bytes"},
		{name: "truncated fmt chunk", file: riff(chunk{"fmt ", mono[:10], 16}), wantErr: "truncated fmt chunk"},
		{name: "IEEE float", file: riff(ck("fmt ", fmtBody(3, 1, 8000, 32)), ck("data", nil)),
			wantErr: "unsupported WAV encoding 3 (IEEE float); use 16-bit PCM, A-law or mu-law"},
		{name: "MP3 in WAV", file: riff(ck("fmt ", fmtBody(0x55, 1, 8000, 0)), ck("data", nil)),
			wantErr: "unsupported WAV encoding 85 (MPEG Layer 3)"},
		{name: "GSM", file: riff(ck("fmt ", fmtBody(0x31, 1, 8000, 0)), ck("data", nil)),
			wantErr: "unsupported WAV encoding 49 (GSM 6.10)"},
		{name: "8-bit PCM", file: riff(ck("fmt ", fmtBody(1, 1, 8000, 8)), ck("data", nil)),
			wantErr: "unsupported WAV sample size: 8-bit PCM; use 16-bit PCM, A-law or mu-law"},
		{name: "24-bit PCM", file: riff(ck("fmt ", fmtBody(1, 2, 44100, 24)), ck("data", nil)), wantErr: "24-bit PCM"},
		{name: "16-bit A-law", file: riff(ck("fmt ", fmtBody(6, 1, 8000, 16)), ck("data", nil)), wantErr: "16-bit A-law, want 8-bit"},
		{name: "zero channels", file: riff(ck("fmt ", fmtBody(1, 0, 8000, 16)), ck("data", nil)), wantErr: "0 channels"},
		{name: "zero rate", file: riff(ck("fmt ", fmtBody(1, 1, 0, 16)), ck("data", nil)), wantErr: "sample rate 0"},
		{name: "extensible float", file: riff(ck("fmt ", extensibleBody(3, 2, 48000, 32)), ck("data", nil)),
			wantErr: "unsupported WAV encoding 3 (IEEE float)"},
		{name: "extensible truncated", file: riff(ck("fmt ", extensibleBody(1, 1, 8000, 16)[:18]), ck("data", nil)),
			wantErr: "truncated WAVE_FORMAT_EXTENSIBLE fmt chunk"},
		{name: "extensible unknown GUID", file: riff(ck("fmt ", append(extensibleBody(1, 1, 8000, 16)[:39], 0x72)), ck("data", nil)),
			wantErr: "unsupported WAVE_FORMAT_EXTENSIBLE sub-format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readers := map[string]io.Reader{
				"seeker":   bytes.NewReader(tt.file),
				"one byte": iotest.OneByteReader(bytes.NewReader(tt.file)),
			}
			for kind, r := range readers {
				format, samples, err := Decode(r)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("%s: err = %v, want containing %q", kind, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				if format != tt.format {
					t.Errorf("%s: format %+v, want %+v", kind, format, tt.format)
				}
				if !slices.Equal(samples, tt.samples) {
					t.Errorf("%s: samples %v, want %v", kind, samples, tt.samples)
				}
			}

			path := filepath.Join(t.TempDir(), "x.wav")
			if err := os.WriteFile(path, tt.file, 0o644); err != nil {
				t.Fatal(err)
			}
			info, err := Stat(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Stat: err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			wantFrames := int64(len(tt.samples) / int(tt.format.Channels))
			if info.Format != tt.format || info.Frames != wantFrames {
				t.Errorf("Stat = %+v, want format %+v, %d frames", info, tt.format, wantFrames)
			}
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestDecodeReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	file := riff(ck("fmt ", fmtBody(1, 1, 8000, 16)), ck("data", pcm16(1, 2, 3)))
	for _, cut := range []int{0, 6, 20, 40, 46} {
		r := io.MultiReader(bytes.NewReader(file[:cut]), errReader{boom})
		if _, _, err := Decode(r); !errors.Is(err, boom) {
			t.Errorf("cut at %d: err = %v, want wrapping %v", cut, err, boom)
		}
	}
}

func TestStatMissingFile(t *testing.T) {
	if _, err := Stat(filepath.Join(t.TempDir(), "nope.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want ErrNotExist", err)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		frames int64
		rate   uint32
		want   time.Duration
	}{
		{8000, 8000, time.Second},
		{160, 8000, 20 * time.Millisecond},
		{1, 44100, time.Second / 44100},
		{1 << 31, 8000, (1 << 31) * time.Second / 8000},
		{0, 8000, 0},
		{5, 0, 0},
	}
	for _, tt := range tests {
		if got := framesDuration(tt.frames, tt.rate); got != tt.want {
			t.Errorf("framesDuration(%d, %d) = %v, want %v", tt.frames, tt.rate, got, tt.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	mono := fmtBody(1, 1, 8000, 16)
	f.Add(riff(ck("fmt ", mono), ck("data", pcm16(1, 2, 3))))
	f.Add(riff(ck("LIST", []byte{1, 2, 3}), ck("fmt ", fmtBody(6, 2, 8000, 8)), ck("data", []byte{1, 2, 3, 4, 5})))
	f.Add(riff(ck("fmt ", extensibleBody(7, 1, 8000, 8)), chunk{"data", []byte{0xFF}, 99}))
	f.Add(riff(ck("fmt ", fmtBody(3, 1, 8000, 32)), ck("data", nil)))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		format, samples, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		if format.Channels == 0 || format.SampleRate == 0 {
			t.Fatalf("accepted invalid format %+v", format)
		}
		switch format.AudioFormat {
		case FormatPCM:
			if format.BitsPerSample != 16 {
				t.Fatalf("accepted %+v", format)
			}
		case FormatALaw, FormatMuLaw:
			if format.BitsPerSample != 8 {
				t.Fatalf("accepted %+v", format)
			}
		default:
			t.Fatalf("accepted %+v", format)
		}
		if len(samples)%int(format.Channels) != 0 {
			t.Fatalf("%d samples for %d channels", len(samples), format.Channels)
		}
		if len(samples)*int(format.BitsPerSample/8) > len(data) {
			t.Fatalf("%d samples from %d bytes", len(samples), len(data))
		}
		// The non-seeking path agrees.
		format2, samples2, err := Decode(iotest.OneByteReader(bytes.NewReader(data)))
		if err != nil || format2 != format || !slices.Equal(samples, samples2) {
			t.Fatalf("non-seeking reader disagrees: %v", err)
		}
	})
}

func TestDecodeWhole(t *testing.T) {
	stereo := fmtBody(1, 2, 8000, 16)
	whole := riff(ck("fmt ", stereo), ck("data", pcm16(1, 2, 3, 4)))
	if f, s, err := DecodeWhole(bytes.NewReader(whole)); err != nil || f.Channels != 2 || !slices.Equal(s, []int16{1, 2, 3, 4}) {
		t.Errorf("DecodeWhole(whole) = %v, %v, %v", f, s, err)
	}
	// The data chunk declares 8 bytes; the file holds 4 of them.
	cut := whole[:len(whole)-4]
	if _, _, err := DecodeWhole(bytes.NewReader(cut)); !errors.Is(err, ErrTruncated) {
		t.Errorf("DecodeWhole(cut) = %v, want ErrTruncated", err)
	}
	// Decode keeps what is there.
	if _, s, err := Decode(bytes.NewReader(cut)); err != nil || !slices.Equal(s, []int16{1, 2}) {
		t.Errorf("Decode(cut) = %v, %v", s, err)
	}
}
