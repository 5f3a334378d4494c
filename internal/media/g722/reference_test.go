package g722

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// The files in testdata were made by FFmpeg's G.722 codec (see testdata/gen.sh);
// the tests only read them, so they need no FFmpeg.

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readPCM(t testing.TB, name string) []int16 {
	t.Helper()
	b := readTestdata(t, name)
	if len(b)%2 != 0 {
		t.Fatalf("%s: odd length %d", name, len(b))
	}
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return pcm
}

func TestEncodeMatchesFFmpeg(t *testing.T) {
	pcm := readPCM(t, "input.raw")
	want := readTestdata(t, "input.g722")
	got := NewEncoder().Encode(nil, pcm)
	if len(got) != len(want) {
		t.Fatalf("encoded %d bytes, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("byte %d (t = %.4f s) = %#02x, want %#02x", i, float64(i)/8000, got[i], want[i])
		}
	}
}

func TestDecodeMatchesFFmpeg(t *testing.T) {
	for _, name := range []string{"input", "random"} {
		t.Run(name, func(t *testing.T) {
			payload := readTestdata(t, name+".g722")
			want := readPCM(t, name+".dec.raw")
			got := NewDecoder().Decode(nil, payload)
			if len(got) != len(want) {
				t.Fatalf("decoded %d samples, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("sample %d = %d, want %d", i, got[i], want[i])
				}
			}
		})
	}
}
