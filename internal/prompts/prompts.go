// Package prompts holds callrec's built-in voice prompts: short 8 kHz mono
// 16-bit PCM WAV files spoken by flite, made by gen.sh in this directory.
//
// The files are named after what they say (enter_number.wav, enter_pin.wav,
// invalid_input.wav, connecting.wav, recorded.wav, not_recorded.wav, recording_paused.wav,
// recording_resumed.wav, recording_stopped.wav, unable_to_connect.wav,
// not_allowed.wav). A deployment may replace any of them with a file of the
// same name in its prompts directory.
package prompts

import (
	"embed"
	"io/fs"
)

//go:embed *.wav
var builtin embed.FS

// Builtin returns the embedded prompt files, keyed by file name
// (for example "enter_number.wav"), at the root of the returned FS.
func Builtin() fs.FS {
	return builtin
}
