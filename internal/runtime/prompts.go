package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/callrec/callrec/internal/media/wav"
)

// Prompts is a loaded prompt set: 8 kHz mono samples by key.
type Prompts struct {
	pcm map[string][]int16
}

// LoadPrompts decodes every .wav of builtin, replaced by a file of the same
// name in overrideDir when that is set. Files must be 8 kHz mono (16-bit
// PCM, A-law or mu-law); anything else is an error naming the file.
func LoadPrompts(builtin fs.FS, overrideDir string) (*Prompts, error) {
	p := &Prompts{pcm: map[string][]int16{}}
	names, err := fs.Glob(builtin, "*.wav")
	if err != nil {
		return nil, err
	}
	if overrideDir != "" {
		extra, err := filepath.Glob(filepath.Join(overrideDir, "*.wav"))
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(overrideDir); err != nil {
			return nil, fmt.Errorf("prompts_dir %s: %w", overrideDir, err)
		}
		for _, e := range extra {
			names = append(names, filepath.Base(e))
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := p.pcm[name]; ok {
			continue
		}
		var data []byte
		src := name
		if overrideDir != "" {
			path := filepath.Join(overrideDir, name)
			if b, err := os.ReadFile(path); err == nil {
				data, src = b, path
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("prompt %s: %w", path, err)
			}
		}
		if data == nil {
			if data, err = fs.ReadFile(builtin, name); err != nil {
				return nil, fmt.Errorf("built-in prompt %s: %w", name, err)
			}
		}
		f, pcm, err := wav.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("prompt %s: %w", src, err)
		}
		if f.SampleRate != 8000 || f.Channels != 1 {
			return nil, fmt.Errorf("prompt %s: is %d Hz with %d channels; prompts must be 8000 Hz mono (sox in.wav -r 8000 -c 1 -b 16 out.wav)", src, f.SampleRate, f.Channels)
		}
		p.pcm[name] = pcm
	}
	return p, nil
}

// Get returns a prompt's samples.
func (p *Prompts) Get(key string) ([]int16, error) {
	pcm, ok := p.pcm[key]
	if !ok {
		return nil, fmt.Errorf("no prompt %q", key)
	}
	return pcm, nil
}
