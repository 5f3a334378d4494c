package recorder

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/media/wav"
)

// fakeClock is advanced by the test; the recorder's ticker still runs on
// real time but only writes what the fake clock says elapsed.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func frame(v int16) []int16 {
	f := make([]int16, 160)
	for i := range f {
		f[i] = v
	}
	return f
}

func readStereo(t *testing.T, path string) (wav.Format, []int16) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	format, pcm, err := wav.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return format, pcm
}

func TestChannelsAndDuration(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	path := filepath.Join(t.TempDir(), "r.wav")
	r, err := Start(path, Options{Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	// One second: owner sends 1000s, other party 2000s, every 20 ms.
	for i := 0; i < 50; i++ {
		r.Write(0, frame(1000))
		r.Write(1, frame(2000))
		clk.add(20 * time.Millisecond)
		r.tickOnce()
	}
	// Half a second where only the owner talks and the other side's
	// packets are lost.
	for i := 0; i < 25; i++ {
		r.Write(0, frame(1000))
		clk.add(20 * time.Millisecond)
		r.tickOnce()
	}
	res, err := r.Stop(false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Frames != 12000 || res.Duration != 1500*time.Millisecond {
		t.Fatalf("frames %d duration %v, want 12000 and 1.5s", res.Frames, res.Duration)
	}
	format, pcm := readStereo(t, path)
	if format.Channels != 2 || format.SampleRate != 8000 || format.BitsPerSample != 16 {
		t.Fatalf("format %+v", format)
	}
	if len(pcm) != 2*12000 {
		t.Fatalf("samples %d", len(pcm))
	}
	for i := 0; i < 8000; i++ {
		if pcm[2*i] != 1000 || pcm[2*i+1] != 2000 {
			t.Fatalf("frame %d = %d,%d; want 1000,2000", i, pcm[2*i], pcm[2*i+1])
		}
	}
	for i := 8000; i < 12000; i++ {
		if pcm[2*i] != 1000 || pcm[2*i+1] != 0 {
			t.Fatalf("frame %d = %d,%d; want 1000,0 (lost packets are silence)", i, pcm[2*i], pcm[2*i+1])
		}
	}
}

func TestPauseIsSilentAndTimed(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	path := filepath.Join(t.TempDir(), "r.wav")
	r, err := Start(path, Options{Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	talk := func(n int) {
		for i := 0; i < n; i++ {
			r.Write(0, frame(500))
			r.Write(1, frame(-500))
			clk.add(20 * time.Millisecond)
			r.tickOnce()
		}
	}
	talk(50)
	r.Pause()
	if !r.Paused() {
		t.Fatal("not paused")
	}
	talk(100) // two seconds while paused: must not be recorded
	r.Resume()
	talk(50)
	res, err := r.Stop(true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Frames != 4*8000 {
		t.Fatalf("frames %d, want %d", res.Frames, 4*8000)
	}
	if len(res.Pauses) != 1 || res.Pauses[0].End.Sub(res.Pauses[0].Start) != 2*time.Second {
		t.Fatalf("pauses %+v", res.Pauses)
	}
	if !res.Stopped {
		t.Fatal("Stopped not reported")
	}
	_, pcm := readStereo(t, path)
	check := func(from, to int, l, rr int16) {
		for i := from; i < to; i++ {
			if pcm[2*i] != l || pcm[2*i+1] != rr {
				t.Fatalf("frame %d = %d,%d; want %d,%d", i, pcm[2*i], pcm[2*i+1], l, rr)
			}
		}
	}
	check(0, 8000, 500, -500)
	check(8000, 24000, 0, 0)
	check(24000, 32000, 500, -500)
}

func TestHeaderValidWhileRecording(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.wav")
	r, err := Start(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(false)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.Write(0, frame(1))
		r.Write(1, frame(2))
		time.Sleep(20 * time.Millisecond)
		info, err := wav.Stat(path)
		if err == nil && info.Frames > 0 {
			return // the periodic sync made the header describe real data
		}
	}
	t.Fatal("header never described the data written so far")
}

func TestStopTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.wav")
	r, err := Start(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.Stop(false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Stop(false)
	if err != nil || a.Frames != b.Frames {
		t.Fatalf("second Stop: %+v %v", b, err)
	}
	r.Write(0, frame(1)) // after Stop: ignored, no panic
}

// tinyDisk mounts a tmpfs of size bytes for the test, or skips the test
// when it cannot (mounting needs root).
func tinyDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(size)); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	return dir
}

// TestDiskFullTruncates: when the disk fills during the call, the
// recording keeps what was written, is a valid file, and says it was cut
// short.
func TestDiskFullTruncates(t *testing.T) {
	dir := tinyDisk(t, 256<<10)
	clock := &fakeClock{t: time.Unix(1000, 0)}
	path := filepath.Join(dir, "call.wav")
	r, err := Start(path, Options{Clock: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	// 10 s of stereo 8 kHz is 320 kB: more than the disk holds.
	for range 500 {
		r.Write(0, frame(1000))
		r.Write(1, frame(-1000))
		clock.add(20 * time.Millisecond)
		time.Sleep(time.Millisecond) // let the ticker write now and then
	}
	res, err := r.Stop(false)
	if err == nil || !res.Truncated {
		t.Fatalf("Stop = %+v, %v; want a truncated recording and the error", res, err)
	}
	info, serr := wav.Stat(path)
	if serr != nil {
		t.Fatalf("truncated recording: %v", serr)
	}
	if info.Frames != res.Frames || res.Frames == 0 || res.Duration >= 10*time.Second {
		t.Errorf("result %d frames (%v), file %d frames; want the file's, under 10 s", res.Frames, res.Duration, info.Frames)
	}
	if _, pcm := readStereo(t, path); int64(len(pcm)) != 2*info.Frames {
		t.Errorf("decoded %d samples, want %d", len(pcm), 2*info.Frames)
	}
}
