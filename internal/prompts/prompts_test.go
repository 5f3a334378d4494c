package prompts

import (
	"encoding/binary"
	"io/fs"
	"testing"
)

// expected lists every prompt the call flow may ask for.
var expected = []string{
	"enter_number.wav",
	"enter_pin.wav",
	"invalid_input.wav",
	"connecting.wav",
	"recorded.wav",
	"not_recorded.wav",
	"recording_paused.wav",
	"recording_resumed.wav",
	"recording_stopped.wav",
	"unable_to_connect.wav",
	"not_allowed.wav",
}

func TestBuiltinPromptsAreTelephoneWAV(t *testing.T) {
	fsys := Builtin()
	for _, name := range expected {
		t.Run(name, func(t *testing.T) {
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				t.Fatalf("read %s: %v", name, err)
			}
			if len(b) < 44 {
				t.Fatalf("%s: %d bytes, shorter than a WAV header", name, len(b))
			}
			le := binary.LittleEndian
			checks := []struct {
				what      string
				got, want any
			}{
				{"RIFF id", string(b[0:4]), "RIFF"},
				{"RIFF size", le.Uint32(b[4:8]), uint32(len(b) - 8)},
				{"WAVE id", string(b[8:12]), "WAVE"},
				{"fmt id", string(b[12:16]), "fmt "},
				{"fmt size", le.Uint32(b[16:20]), uint32(16)},
				{"format (1 = PCM)", le.Uint16(b[20:22]), uint16(1)},
				{"channels", le.Uint16(b[22:24]), uint16(1)},
				{"sample rate", le.Uint32(b[24:28]), uint32(8000)},
				{"byte rate", le.Uint32(b[28:32]), uint32(16000)},
				{"block align", le.Uint16(b[32:34]), uint16(2)},
				{"bits per sample", le.Uint16(b[34:36]), uint16(16)},
				{"data id", string(b[36:40]), "data"},
				{"data size", le.Uint32(b[40:44]), uint32(len(b) - 44)},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: %s = %v, want %v", name, c.what, c.got, c.want)
				}
			}
			// A prompt is short but not empty: between 0.3 s and 6 s.
			if secs := float64(len(b)-44) / 16000; secs < 0.3 || secs > 6 {
				t.Errorf("%s: %.2f s of audio, want 0.3–6 s", name, secs)
			}
		})
	}
}

func TestBuiltinHasNoUnexpectedFiles(t *testing.T) {
	want := make(map[string]bool, len(expected))
	for _, n := range expected {
		want[n] = true
	}
	entries, err := fs.ReadDir(Builtin(), ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !want[e.Name()] {
			t.Errorf("unexpected embedded file %q: add it to the expected list or remove it", e.Name())
		}
	}
}
