package runtime

import (
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/media/wav"
	"github.com/callrec/callrec/internal/storage"
	"github.com/callrec/callrec/internal/store"
)

// fakeStorage is a disk whose fullness the test sets.
type fakeStorage struct {
	full   atomic.Bool
	failed atomic.Int32
}

func (s *fakeStorage) Full() bool { return s.full.Load() }
func (s *fakeStorage) Failed(err error) {
	if storage.IsNoSpace(err) {
		s.failed.Add(1)
		s.full.Store(true)
	}
}

// TestUnrecordedWhenFull: with the disk full, the call still connects; the
// flow hears that it cannot be recorded, and a recording it asks for
// anyway fails.
func TestUnrecordedWhenFull(t *testing.T) {
	pa, pb := newPeer(t), newPeer(t)
	a := newFakeLeg("leg-a", pa.sdp(1), false)
	b := newFakeLeg("leg-b", pb.sdp(1), true)
	disk := &fakeStorage{}
	disk.full.Store(true)
	r := newRigIn(t, t.TempDir(), bridgeFlow(0), answeredBy(b), func(c *Config) { c.Storage = disk })
	ended := r.call(a)
	ev := r.flow.until(t, callflow.ActionFailed, callflow.ActionStartCallRecording)
	if ev.ActionData.ErrorType != callflow.ErrSystemException || !ev.CallDetails.RecordingUnavailable {
		t.Errorf("StartCallRecording on a full disk: %+v", ev)
	}
	b.end()
	wait(t, ended, "the end of the call")
	for _, ev := range r.flow.events {
		if !ev.CallDetails.RecordingUnavailable {
			t.Errorf("event %s does not say the call cannot be recorded", ev.InvocationEventType)
		}
	}
	if c := r.only(t); c.Status != store.StatusCompleted || c.RecordingState != store.RecordingNone {
		t.Errorf("call record %+v", c)
	}
}

func TestRejectWhenFull(t *testing.T) {
	disk := &fakeStorage{}
	r := newRigIn(t, t.TempDir(), bridgeFlow(0), answeredBy(nil), func(c *Config) { c.Storage, c.RejectWhenFull = disk, true })
	if err := r.e.Admit(); err != nil {
		t.Fatalf("Admit with room: %v", err)
	}
	r.e.active.Add(-1) // give the slot back: no call follows
	r.e.wg.Done()
	disk.full.Store(true)
	if err := r.e.Admit(); err == nil {
		t.Error("Admit with the disk full and storage.when_full reject")
	}
}

// tinyDisk mounts a tmpfs of size bytes, or skips the test (needs root).
func tinyDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(size)); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fill writes zeros to path until the disk is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
}

// TestDiskFillsDuringCall: the disk fills while a call is recorded. The
// call goes on to its end, its recording is kept as far as it got and
// marked truncated, and its record, which the store cannot take then, is
// written once there is room again, with its processing queued.
func TestDiskFillsDuringCall(t *testing.T) {
	dir := tinyDisk(t, 8<<20)
	pa, pb := newPeer(t), newPeer(t)
	a := newFakeLeg("leg-a", pa.sdp(1), false)
	b := newFakeLeg("leg-b", pb.sdp(1), true)
	disk := &fakeStorage{}
	r := newRigIn(t, dir, bridgeFlow(0), answeredBy(b), func(c *Config) { c.Storage = disk })
	ended := r.call(a)
	r.flow.until(t, callflow.ActionSuccessful, callflow.ActionStartCallRecording)
	stopAudio := make(chan struct{})
	defer close(stopAudio)
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopAudio:
				return
			case <-t.C:
				pa.sendTo(a.localPort(nil))
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	time.Sleep(time.Second) // the recorder hits the full disk
	b.end()
	wait(t, ended, "the end of the call")
	// The store could not take the final record: still active there.
	if c := r.only(t); c.Status != store.StatusActive {
		t.Logf("record written despite the full disk: %+v", c)
	}
	if disk.failed.Load() == 0 {
		t.Error("the storage was not told of the failed writes")
	}
	// Room again: the saver writes the record.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var c store.Call
	for {
		c = r.only(t)
		if c.Status != store.StatusActive || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if c.Status != store.StatusCompleted || c.RecordingState != store.RecordingTruncated || c.EndedAt == nil {
		t.Fatalf("call record once there is room: %+v", c)
	}
	select {
	case id := <-r.queued:
		if id != c.ID {
			t.Errorf("queued %s", id)
		}
	case <-time.After(waitFor):
		t.Error("the truncated recording's processing was not queued")
	}
	path, _ := r.bs.LocalPath(c.RecordingKey)
	info, err := wav.Stat(path)
	if err != nil || info.Duration <= 0 || info.Duration.Milliseconds() != c.RecordingDurationMS {
		t.Errorf("truncated recording %+v, %v; record says %d ms", info, err, c.RecordingDurationMS)
	}
}
