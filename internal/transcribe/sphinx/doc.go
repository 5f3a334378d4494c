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
// A decoder carries a little state from one utterance into the next (the
// acoustic model's top-N Gaussian history), so each segment is preceded by
// a fixed 250 ms warm-up utterance: a segment's words then never depend on
// which segment, or which call, the decoder handled before.
//
// Accuracy, honestly (measured by the tests, flite voices rms and awb, word
// error rate): about 12 % on the repository's 16 kHz two-party corpus and
// 16 % on its 8 kHz rendering; 4 % and 15 % on the tests' own shorter call
// (the 8 kHz one through G.711 mu-law). The female voice slt fares worst at
// 8 kHz (30-45 %). Real telephone speech, with its noise, accents and
// spontaneous talk, is harder than clean synthetic speech: expect worse. The
// model is a 16 kHz one and expects energy up to 6.8 kHz that a phone line
// never carried, so narrowband audio is the weak spot. It is a usable
// offline default for search and analytics, not a verbatim transcript; use
// the openai engine with a Whisper server, or aws, when accuracy matters.
//
// Speed: about 0.2 seconds of CPU per second of each channel of a call with
// normal turn-taking (about 0.5 per second of actual speech; silence costs
// almost nothing), with the two channels decoded in parallel by the two
// default workers.
package sphinx
