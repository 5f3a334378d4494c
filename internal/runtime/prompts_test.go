package runtime

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callrec/callrec/internal/prompts"
)

func promptWAV(rate uint32, channels uint16, samples []int16) []byte {
	var b bytes.Buffer
	data := uint32(len(samples) * 2)
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, 36+data)
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), channels, rate, rate * uint32(channels) * 2, channels * 2, uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, data)
	binary.Write(&b, binary.LittleEndian, samples)
	return b.Bytes()
}

func TestLoadPrompts(t *testing.T) {
	p, err := LoadPrompts(prompts.Builtin(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"enter_number.wav", "enter_pin.wav", "invalid_input.wav", "connecting.wav", "recorded.wav",
		"recording_paused.wav", "recording_resumed.wav", "recording_stopped.wav", "unable_to_connect.wav", "not_allowed.wav"} {
		pcm, err := p.Get(key)
		if err != nil || len(pcm) < 4000 {
			t.Errorf("built-in %s: %d samples, %v", key, len(pcm), err)
		}
	}
	if _, err := p.Get("nope.wav"); err == nil {
		t.Error("unknown prompt found")
	}

	dir := t.TempDir()
	custom := []int16{1, 2, 3, 4, 5, 6, 7, 8}
	if err := os.WriteFile(filepath.Join(dir, "recorded.wav"), promptWAV(8000, 1, custom), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "extra.wav"), promptWAV(8000, 1, custom[:2]), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err = LoadPrompts(prompts.Builtin(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if pcm, _ := p.Get("recorded.wav"); len(pcm) != len(custom) || pcm[7] != 8 {
		t.Errorf("override not used: %v", pcm)
	}
	if pcm, _ := p.Get("connecting.wav"); len(pcm) < 4000 {
		t.Error("a prompt not overridden lost its built-in")
	}
	if pcm, err := p.Get("extra.wav"); err != nil || len(pcm) != 2 {
		t.Errorf("extra prompt: %v %v", pcm, err)
	}

	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "connecting.wav"), promptWAV(48000, 2, custom), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrompts(prompts.Builtin(), bad); err == nil || !strings.Contains(err.Error(), "connecting.wav") || !strings.Contains(err.Error(), "8000 Hz mono") {
		t.Errorf("48 kHz stereo prompt: %v", err)
	}
	if err := os.WriteFile(filepath.Join(bad, "connecting.wav"), []byte("not a wav"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrompts(prompts.Builtin(), bad); err == nil || !strings.Contains(err.Error(), "connecting.wav") {
		t.Errorf("garbage prompt: %v", err)
	}
	if _, err := LoadPrompts(prompts.Builtin(), filepath.Join(bad, "missing")); err == nil || !strings.Contains(err.Error(), "prompts_dir") {
		t.Errorf("missing prompts_dir: %v", err)
	}
}
