//go:build cgo && !nosphinx

package sphinx

/*
#cgo pkg-config: pocketsphinx sphinxbase
#include <stdlib.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/logmath.h>
#include <sphinxbase/cmd_ln.h>

// callrec_ps_new parses argv into a configuration and makes a decoder from
// it. PocketSphinx's logging is switched off first (it goes to stderr by
// default and prints every setting); err_set_logfp is process-wide.
static ps_decoder_t *callrec_ps_new(char **argv, int argc) {
	err_set_logfp(NULL);
	cmd_ln_t *config = cmd_ln_parse_r(NULL, ps_args(), argc, argv, TRUE);
	if (config == NULL) {
		return NULL;
	}
	ps_decoder_t *ps = ps_init(config);
	cmd_ln_free_r(config); // the decoder holds its own reference
	return ps;
}

static long callrec_ps_int(ps_decoder_t *ps, const char *name) {
	return cmd_ln_int_r(ps_get_config(ps), name);
}

// callrec_ps_utt decodes one whole utterance: start, all samples in one
// call with full_utt = 1, end. It returns 0 or a negative step number.
static int callrec_ps_utt(ps_decoder_t *ps, const int16 *data, size_t n) {
	if (ps_start_utt(ps) < 0) {
		return -1;
	}
	if (ps_process_raw(ps, data, n, FALSE, TRUE) < 0) {
		ps_end_utt(ps);
		return -2;
	}
	if (ps_end_utt(ps) < 0) {
		return -3;
	}
	return 0;
}

// callrec_ps_decode decodes the fixed warm-up utterance, then data as one
// whole utterance. The decoder carries state from one utterance into the
// next (the acoustic model's top-N Gaussian history), so without the
// warm-up a segment's words would depend on which segment the decoder
// happened to decode before it.
static int callrec_ps_decode(ps_decoder_t *ps, const int16 *warm, size_t nwarm, const int16 *data, size_t n) {
	int rc = callrec_ps_utt(ps, warm, nwarm);
	if (rc < 0) {
		return rc - 10;
	}
	return callrec_ps_utt(ps, data, n);
}
*/
import "C"

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcribe/resample"
)

// sampleRate is the rate of the en-us acoustic model.
const sampleRate = 16000

// Engine is the sphinx transcription engine. It owns Workers PocketSphinx
// decoders (a decoder is not safe for concurrent use, so each is used by one
// goroutine at a time); Transcribe may be called from several goroutines,
// which then share the decoders. Close frees them.
type Engine struct {
	cfg       Config
	frameRate int
	vad       vadParams

	pool chan *decoder // idle decoders

	mu       sync.RWMutex // read-held by Transcribe, write-held by Close
	closed   bool
	decoders []*decoder
}

var _ transcribe.Engine = (*Engine)(nil)

// ErrClosed is returned by Transcribe after Close.
var ErrClosed = errors.New("sphinx: engine closed")

// New loads cfg.Workers decoders with the model files cfg names (Debian's
// en-us model by default). It fails with an error naming the missing file
// when the model is not installed.
func New(cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, vad: defaultVAD, pool: make(chan *decoder, cfg.Workers)}
	for range cfg.Workers {
		d, err := newDecoder(cfg)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.decoders = append(e.decoders, d)
		e.pool <- d
	}
	frate := C.CString("-frate")
	defer C.free(unsafe.Pointer(frate))
	e.frameRate = int(C.callrec_ps_int(e.decoders[0].ps, frate))
	if e.frameRate <= 0 {
		e.frameRate = 100
	}
	return e, nil
}

// Name returns "sphinx".
func (e *Engine) Name() string { return "sphinx" }

// Close frees the decoders. It waits for running Transcribe calls to
// return; later calls fail with ErrClosed. Close is idempotent.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	for _, d := range e.decoders {
		d.free()
	}
	e.decoders = nil
	return nil
}

// job is one segment of one channel to decode.
type job struct {
	channel int
	samples []int16 // 16 kHz
	offset  time.Duration
}

// Transcribe recognises each channel of rec separately: it resamples the
// channel to 16 kHz, cuts it into stretches of speech, and decodes each
// stretch as one whole utterance. Segments of both channels are decoded in
// parallel by the engine's decoders; ctx is checked between segments.
func (e *Engine) Transcribe(ctx context.Context, rec *transcribe.Recording) (*transcribe.Result, error) {
	if rec == nil {
		return nil, errors.New("sphinx: nil recording")
	}
	if len(rec.Channels) > 0 && rec.SampleRate <= 0 {
		return nil, fmt.Errorf("sphinx: recording %s: sample rate %d Hz is not valid", rec.Path, rec.SampleRate)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, ErrClosed
	}

	var jobs []job
	var rs *resample.Resampler
	if rec.SampleRate != sampleRate && len(rec.Channels) > 0 {
		var err error
		if rs, err = resample.New(rec.SampleRate, sampleRate); err != nil {
			return nil, fmt.Errorf("sphinx: recording %s: %w", rec.Path, err)
		}
	}
	for ch, samples := range rec.Channels {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if rs != nil {
			samples = rs.Resample(samples)
		}
		for _, s := range segments(samples, sampleRate, e.vad) {
			jobs = append(jobs, job{
				channel: ch,
				samples: samples[s.Start:s.End],
				offset:  time.Duration(s.Start) * time.Second / sampleRate,
			})
		}
	}

	words, err := e.run(ctx, jobs)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(words, func(a, b transcribe.Word) int {
		if a.Channel != b.Channel {
			return a.Channel - b.Channel
		}
		return cmp.Compare(a.Start, b.Start)
	})
	return &transcribe.Result{Engine: e.Name(), Language: "en-US", Words: words}, nil
}

// run decodes jobs on up to Workers goroutines, each holding one decoder,
// and returns the words of all of them.
func (e *Engine) run(ctx context.Context, jobs []job) ([]transcribe.Word, error) {
	if len(jobs) == 0 {
		return []transcribe.Word{}, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	results := make([][]transcribe.Word, len(jobs))
	next := make(chan int, len(jobs))
	for i := range jobs {
		next <- i
	}
	close(next)

	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for range min(e.cfg.Workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var d *decoder
			select {
			case d = <-e.pool:
			case <-ctx.Done():
				fail(ctx.Err())
				return
			}
			defer func() { e.pool <- d }()
			for i := range next {
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				j := jobs[i]
				w, err := d.decode(j.samples, e.frameRate)
				if err != nil {
					fail(fmt.Errorf("sphinx: channel %d at %v: %w", j.channel, j.offset, err))
					return
				}
				for k := range w {
					w[k].Channel = j.channel
					w[k].Start += j.offset
					w[k].End += j.offset
				}
				results[i] = w
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	var words []transcribe.Word
	for _, w := range results {
		words = append(words, w...)
	}
	if words == nil {
		words = []transcribe.Word{}
	}
	return words, nil
}

// decoder is one PocketSphinx decoder.
type decoder struct {
	ps    *C.ps_decoder_t
	lmath *C.logmath_t // owned by ps
	warm  []int16      // the warm-up utterance (see callrec_ps_decode)
}

// warmUp returns the warm-up utterance: 250 ms of faint pseudo-random
// noise (about -66 dBFS), the same every time.
func warmUp() []int16 {
	w := make([]int16, sampleRate/4)
	seed := uint32(1)
	for i := range w {
		seed = seed*1664525 + 1013904223
		w[i] = int16(int32(seed>>16)%64 - 32)
	}
	return w
}

func newDecoder(cfg Config) (*decoder, error) {
	args := []string{
		"-hmm", cfg.ModelDir,
		"-dict", cfg.Dict,
		"-lm", cfg.LM,
		"-samprate", "16000",
		// Our own VAD has already cut the speech out; PocketSphinx's
		// silence removal would drop frames and shift the word times.
		"-remove_silence", "no",
		// Word lattices give the per-word posteriors used as confidence.
		"-bestpath", "yes",
	}
	argv := make([]*C.char, len(args))
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	defer func() {
		for _, p := range argv {
			C.free(unsafe.Pointer(p))
		}
	}()
	// cmd_ln_parse_r keeps its own copies of the strings it needs.
	cargv := (**C.char)(C.malloc(C.size_t(len(argv)) * C.size_t(unsafe.Sizeof(argv[0]))))
	defer C.free(unsafe.Pointer(cargv))
	copy(unsafe.Slice(cargv, len(argv)), argv)

	ps := C.callrec_ps_new(cargv, C.int(len(argv)))
	if ps == nil {
		return nil, fmt.Errorf("sphinx: PocketSphinx could not load the model (%s, %s, %s): check that the files are a PocketSphinx 5prealpha model, or %s",
			cfg.ModelDir, cfg.Dict, cfg.LM, installHint)
	}
	return &decoder{ps: ps, lmath: C.ps_get_logmath(ps), warm: warmUp()}, nil
}

func (d *decoder) free() {
	if d.ps != nil {
		C.ps_free(d.ps)
		d.ps, d.lmath = nil, nil
	}
}

// decode recognises samples (16 kHz) as one utterance and returns its
// words with times relative to the first sample.
func (d *decoder) decode(samples []int16, frameRate int) ([]transcribe.Word, error) {
	if len(samples) == 0 {
		return nil, nil
	}
	// The slices hold no Go pointers, so C may read them during the call.
	rc := C.callrec_ps_decode(d.ps,
		(*C.int16)(unsafe.Pointer(&d.warm[0])), C.size_t(len(d.warm)),
		(*C.int16)(unsafe.Pointer(&samples[0])), C.size_t(len(samples)))
	if rc < 0 {
		return nil, fmt.Errorf("PocketSphinx decode failed (step %d)", int(rc))
	}
	// ps_get_prob builds the lattice and computes the word posteriors
	// that the segment iterator then reports.
	C.ps_get_prob(d.ps)

	frame := time.Second / time.Duration(frameRate)
	var words []transcribe.Word
	for seg := C.ps_seg_iter(d.ps); seg != nil; seg = C.ps_seg_next(seg) {
		w, ok := cleanWord(C.GoString(C.ps_seg_word(seg)))
		if !ok {
			continue
		}
		var sf, ef C.int
		C.ps_seg_frames(seg, &sf, &ef)
		var ascr, lscr, lback C.int32
		post := C.ps_seg_prob(seg, &ascr, &lscr, &lback)
		conf := float64(C.logmath_exp(d.lmath, post))
		conf = min(max(conf, 0), 1)
		words = append(words, transcribe.Word{
			Start:      time.Duration(sf) * frame,
			End:        time.Duration(ef+1) * frame,
			Text:       w,
			Confidence: conf,
		})
	}
	return words, nil
}
