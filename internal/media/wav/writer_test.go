package wav

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func decodeFile(t *testing.T, path string) (Format, []int16) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, s, err := Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return f, s
}

func ramp(n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(i*7 - 30000)
	}
	return s
}

// kill simulates the process dying: the file is closed without the Writer
// writing anything more.
func kill(t *testing.T, w *Writer) {
	t.Helper()
	if err := w.f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWriterRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		rate     uint32
		channels uint16
		writes   []int // samples per Write call
	}{
		{"empty", 8000, 2, nil},
		{"one packet stereo", 8000, 2, []int{320}},
		{"many packets stereo", 8000, 2, slices.Repeat([]int{320}, 200)},
		{"one write larger than the buffer", 8000, 2, []int{3 * writeBufferSize}},
		{"mono 16 kHz odd sizes", 16000, 1, []int{1, 3, 17, writeBufferSize/2 - 1, 5}},
		{"three channels", 8000, 3, []int{3, 30000, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rec.wav")
			w, err := Create(path, tt.rate, tt.channels)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, n := range tt.writes {
				total += n
			}
			all := ramp(total)
			rest := all
			for i, n := range tt.writes {
				if err := w.Write(rest[:n]); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
				if i == len(tt.writes)/2 {
					if err := w.Sync(); err != nil {
						t.Fatal(err)
					}
				}
			}
			frames := int64(total / int(tt.channels))
			if w.Frames() != frames {
				t.Errorf("Frames() = %d, want %d", w.Frames(), frames)
			}
			wantDur := time.Duration(frames) * time.Second / time.Duration(tt.rate)
			if w.Duration() != wantDur {
				t.Errorf("Duration() = %v, want %v", w.Duration(), wantDur)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			format, samples := decodeFile(t, path)
			want := Format{FormatPCM, tt.channels, tt.rate, 16}
			if format != want {
				t.Errorf("format %+v, want %+v", format, want)
			}
			if !slices.Equal(samples, all) {
				t.Errorf("samples differ: got %d, want %d", len(samples), len(all))
			}
			info, err := Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != want || info.Frames != frames || info.Duration != wantDur {
				t.Errorf("Stat = %+v", info)
			}
			fi, _ := os.Stat(path)
			if fi.Size() != HeaderSize+2*int64(total) {
				t.Errorf("file size %d, want %d", fi.Size(), HeaderSize+2*total)
			}
			// A closed recording needs no repair.
			before, _ := os.ReadFile(path)
			rinfo, err := Repair(path)
			if err != nil {
				t.Fatal(err)
			}
			after, _ := os.ReadFile(path)
			if rinfo != info || !bytes.Equal(before, after) {
				t.Errorf("Repair changed a good file: %+v", rinfo)
			}
		})
	}
}

func TestWriterHeaderValidFromCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	w, err := Create(path, 8000, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer kill(t, w)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x02\x00\x40\x1f\x00\x00\x00\x7d\x00\x00\x04\x00\x10\x00data\x00\x00\x00\x00"
	if string(b) != want {
		t.Errorf("header\n% X\nwant\n% X", b, want)
	}
	info, err := Stat(path)
	if err != nil || info.Frames != 0 {
		t.Errorf("Stat of fresh recording = %+v, %v", info, err)
	}
}

func TestWriterDies(t *testing.T) {
	tests := []struct {
		name     string
		channels uint16
		// before the crash: written samples, whether Sync follows, more samples
		first     int
		sync      bool
		second    int
		decoded   int // samples Decode sees before Repair
		repaired  int // samples after Repair
		truncates bool
	}{
		{"buffered only, no sync", 2, 320, false, 0, 0, 0, false},
		{"flushed by a full buffer, no sync", 2, writeBufferSize, false, 0, 0, writeBufferSize / 2, false},
		{"synced", 2, 1000, true, 0, 1000, 1000, false},
		{"synced, then buffered", 2, 1000, true, 500, 1000, 1000, false},
		{"synced, then flushed", 2, 1000, true, writeBufferSize, 1000, 1000 + writeBufferSize/2, false},
		// 32 KiB of 6-byte frames leaves a partial frame at the end of the file.
		{"partial frame", 3, writeBufferSize/2 + 2, false, 0, 0, writeBufferSize/2 - (writeBufferSize/2)%3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rec.wav")
			w, err := Create(path, 8000, tt.channels)
			if err != nil {
				t.Fatal(err)
			}
			all := ramp(tt.first + tt.second)
			if err := w.Write(all[:tt.first]); err != nil {
				t.Fatal(err)
			}
			if tt.sync {
				if err := w.Sync(); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Write(all[tt.first:]); err != nil {
				t.Fatal(err)
			}
			kill(t, w)

			_, samples := decodeFile(t, path)
			if len(samples) != tt.decoded || !slices.Equal(samples, all[:len(samples)]) {
				t.Errorf("before repair: %d samples, want %d", len(samples), tt.decoded)
			}
			fi, _ := os.Stat(path)
			info, err := Repair(path)
			if err != nil {
				t.Fatal(err)
			}
			fi2, _ := os.Stat(path)
			if truncated := fi2.Size() < fi.Size(); truncated != tt.truncates {
				t.Errorf("truncated = %v (size %d -> %d)", truncated, fi.Size(), fi2.Size())
			}
			// What Repair recovers is everything that reached the file.
			onDisk := int(fi.Size()-HeaderSize) / 2
			onDisk -= onDisk % int(tt.channels)
			if tt.repaired != onDisk {
				t.Errorf("test expects %d samples but %d reached the file", tt.repaired, onDisk)
			}
			_, samples = decodeFile(t, path)
			if len(samples) != onDisk || !slices.Equal(samples, all[:len(samples)]) {
				t.Errorf("after repair: %d samples, want %d", len(samples), onDisk)
			}
			if info.Frames != int64(onDisk/int(tt.channels)) {
				t.Errorf("Repair reports %d frames, want %d", info.Frames, onDisk/int(tt.channels))
			}
			st, err := Stat(path)
			if err != nil || st != info {
				t.Errorf("Stat = %+v, %v; Repair said %+v", st, err, info)
			}
		})
	}
}

func TestWriterErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(filepath.Join(dir, "a.wav"), 0, 2); err == nil || !strings.Contains(err.Error(), "sample rate") {
		t.Errorf("zero rate: %v", err)
	}
	if _, err := Create(filepath.Join(dir, "a.wav"), 8000, 0); err == nil || !strings.Contains(err.Error(), "channel") {
		t.Errorf("zero channels: %v", err)
	}
	if _, err := Create(filepath.Join(dir, "missing", "a.wav"), 8000, 1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}

	path := filepath.Join(dir, "rec.wav")
	w, err := Create(path, 8000, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Create(path, 8000, 2); !errors.Is(err, os.ErrExist) {
		t.Errorf("second Create of %s: %v, want ErrExist", path, err)
	}
	if err := w.Write([]int16{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "whole number") {
		t.Errorf("partial frame: %v", err)
	}
	if w.Frames() != 0 {
		t.Errorf("rejected write counted: %d frames", w.Frames())
	}
	if err := w.Write([]int16{1, 2}); err != nil {
		t.Fatal(err)
	}
	saved := w.dataSize
	w.dataSize = maxDataSize - 2
	if err := w.Write([]int16{1, 2}); !errors.Is(err, ErrTooLong) {
		t.Errorf("write past 4 GiB: %v", err)
	}
	w.dataSize = saved
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]int16{1, 2}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := w.Sync(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Sync after Close: %v", err)
	}
	if err := w.Flush(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
	if err := w.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	if w.Path() != path || w.Format().Channels != 2 {
		t.Errorf("Path/Format = %s %+v", w.Path(), w.Format())
	}
}

func TestWriterStickyError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	w, err := Create(path, 8000, 1)
	if err != nil {
		t.Fatal(err)
	}
	kill(t, w) // every file operation now fails
	if err := w.Write(make([]int16, 10)); err != nil {
		t.Fatalf("buffered write failed early: %v", err)
	}
	if err := w.Flush(); err == nil {
		t.Fatal("Flush on a dead file succeeded")
	}
	if err := w.Write(make([]int16, 10)); err == nil {
		t.Error("Write after a failed flush succeeded")
	}
	if err := w.Close(); err == nil {
		t.Error("Close after a failed flush succeeded")
	}
}

func TestWriterConcurrentSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	w, err := Create(path, 8000, 2)
	if err != nil {
		t.Fatal(err)
	}
	packet := ramp(320)
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := w.Flush(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 500 {
		if err := w.Write(packet); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, samples := decodeFile(t, path)
	if len(samples) != 500*320 {
		t.Errorf("%d samples, want %d", len(samples), 500*320)
	}
	for i := 0; i < len(samples); i += 320 {
		if !slices.Equal(samples[i:i+320], packet) {
			t.Fatalf("packet at %d corrupted", i/320)
		}
	}
}

func TestWriterNoAllocations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	w, err := Create(path, 8000, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	packet := ramp(320)
	if n := testing.AllocsPerRun(1000, func() {
		if err := w.Write(packet); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Write allocates %v times per packet", n)
	}
}

func TestRepairErrors(t *testing.T) {
	good := appendHeader(nil, Format{FormatPCM, 2, 8000, 16}, 0)
	tests := []struct {
		name    string
		file    []byte
		wantErr string
	}{
		{"empty", nil, "too short"},
		{"half a header", good[:20], "too short"},
		{"not RIFF", append([]byte("OggS"), good[4:]...), "missing RIFF header"},
		{"not WAVE", append(append(slices.Clone(good[:8]), "AVI "...), good[12:]...), "RIFF form type"},
		{"LIST before fmt", riff(ck("LIST", []byte("INFOabcdefgh")), ck("fmt ", fmtBody(1, 1, 8000, 16)), ck("data", nil)), "16-byte fmt chunk"},
		{"18-byte fmt", riff(ck("fmt ", append(fmtBody(1, 1, 8000, 16), 0, 0)), ck("data", nil)), "16-byte fmt chunk"},
		{"chunk between fmt and data", riff(ck("fmt ", fmtBody(1, 1, 8000, 16)), ck("fact", []byte{0, 0, 0, 0}), ck("data", nil)), "data chunk at offset 36"},
		{"float", riff(ck("fmt ", fmtBody(3, 1, 8000, 32)), ck("data", nil)), "IEEE float"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.wav")
			if err := os.WriteFile(path, tt.file, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Repair(path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want containing %q and the path", err, tt.wantErr)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, tt.file) {
				t.Error("Repair modified a file it rejected")
			}
		})
	}
	if _, err := Repair(filepath.Join(t.TempDir(), "nope.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestRepairALaw(t *testing.T) {
	// Repair works on any canonical header, not only 16-bit PCM.
	file := appendHeader(nil, Format{FormatALaw, 1, 8000, 8}, 0)
	file = append(file, 0xD5, 0xD5, 0x2A)
	path := filepath.Join(t.TempDir(), "x.wav")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := Repair(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Frames != 3 || info.Format.AudioFormat != FormatALaw {
		t.Errorf("info %+v", info)
	}
	_, samples := decodeFile(t, path)
	if !slices.Equal(samples, []int16{8, 8, -32256}) {
		t.Errorf("samples %v", samples)
	}
}

func BenchmarkWriterWrite(b *testing.B) {
	w, err := Create(filepath.Join(b.TempDir(), "rec.wav"), 8000, 2)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	packet := ramp(320)
	b.SetBytes(640)
	for b.Loop() {
		if err := w.Write(packet); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCloseAfterWriteError: after a write fails (a full disk), Close still
// leaves a valid recording of what reached the file, and returns the error.
func TestCloseAfterWriteError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "full.wav")
	w, err := Create(path, 8000, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(make([]int16, 2*800)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// More audio reached the file, the last frame only in part, before
	// the disk filled.
	if _, err := w.f.Write(make([]byte, 4*400+3)); err != nil {
		t.Fatal(err)
	}
	w.err = errors.New("write recording: no space left on device")
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("Close = %v, want the write error", err)
	}
	info, err := Stat(path)
	if err != nil {
		t.Fatalf("recording after the error: %v", err)
	}
	if info.Frames != 1200 {
		t.Errorf("%d frames, want the 1200 whole frames in the file", info.Frames)
	}
	if _, pcm, err := DecodeWhole(mustOpen(t, path)); err != nil || len(pcm) != 2400 {
		t.Errorf("decode: %d samples, %v", len(pcm), err)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
