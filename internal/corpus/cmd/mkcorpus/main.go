// Command mkcorpus renders the test corpus (internal/corpus) into a
// directory: every built-in script at each sample rate as a stereo WAV file
// NAME-RATE.wav, with its ground truth beside it as NAME-RATE.json, and
// optionally a long call for benchmarks. Renderings are cached in the
// user's cache directory, shared with the tests.
//
//	go run ./internal/corpus/cmd/mkcorpus -out corpus -rates 16000,8000 -long 10m
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/corpus"
)

func main() {
	out := flag.String("out", "corpus", "directory to write to")
	rates := flag.String("rates", "16000,8000", "sample rates, comma-separated")
	long := flag.Duration("long", 0, "also render a call at least this long, named long (0: none)")
	flag.Parse()
	if err := run(*out, *rates, *long); err != nil {
		fmt.Fprintln(os.Stderr, "mkcorpus:", err)
		os.Exit(1)
	}
}

func run(out, rateList string, long time.Duration) error {
	ctx := context.Background()
	cache, err := corpus.DefaultDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	scripts := corpus.Scripts()
	if long > 0 {
		// A line takes about 4.6 s of the call.
		scripts = append(scripts, corpus.Long("long", int(long/(4600*time.Millisecond))+1))
	}
	for _, r := range strings.Split(rateList, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil {
			return fmt.Errorf("-rates: %q is not a number", r)
		}
		for _, s := range scripts {
			path, truth, err := corpus.Synthesize(ctx, s, cache, rate)
			if err != nil {
				return err
			}
			base := filepath.Join(out, fmt.Sprintf("%s-%d", s.Name, rate))
			if err := copyFile(path, base+".wav"); err != nil {
				return err
			}
			js, err := json.MarshalIndent(truth, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
				return err
			}
			fmt.Printf("%s.wav\t%v\ttalk %v / %v\t%d silences\t%d overlaps\n", base, truth.Duration.Round(time.Millisecond),
				truth.TalkTime[0], truth.TalkTime[1], len(truth.Silences), len(truth.Overlaps))
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
