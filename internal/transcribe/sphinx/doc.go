// Package sphinx is callrec's offline transcription engine: CMU
// PocketSphinx (Debian's 0.8+5prealpha C library, through cgo) with the US
// English model from Debian's pocketsphinx-en-us.
//
// Building needs libpocketsphinx-dev and pkg-config (the cgo directive asks
// pkg-config for pocketsphinx and sphinxbase); running needs
// pocketsphinx-en-us. A plain go build includes the engine; the build tag
// nosphinx (or CGO_ENABLED=0) leaves it out, and New then returns an error
// saying so.
//
// How it decodes: each channel separately, resampled to the model's 16 kHz
// (package resample), cut into stretches of speech by an energy voice
// activity detector (20 ms frames, 200 ms hangover, pauses under 300 ms
// merged, 150 ms of padding on each side), each stretch decoded as one whole
// utterance (ps_start_utt, a single ps_process_raw with full_utt = 1,
// ps_end_utt). Fed in small blocks, as pocketsphinx_continuous does, the
// same decoder recognises almost nothing of telephone audio. Word times come
// from the segment iterator (100 frames a second, offset by the stretch's
// start); a word's confidence is its lattice posterior probability.
//
// Accuracy, honestly: on clean synthetic speech (flite) at 16 kHz the word
// error rate is in the low tens of percent; on 8 kHz telephone audio
// upsampled to 16 kHz it is clearly worse, because the wideband model
// expects energy up to 6.8 kHz that a phone line never carried (see the
// tests' logged figures). It is a usable offline default for search and
// analytics, not a verbatim transcript; use the openai engine with a
// Whisper server, or aws, when accuracy matters.
package sphinx
