//go:build cgo && !nosphinx

package sphinx

import (
	"fmt"
	"os"
	"path/filepath"
)

// maxWorkers bounds Workers: each decoder holds its own copy of the models
// (about 100 MB with the en-us language model).
const maxWorkers = 64

// withDefaults returns c with its empty fields filled in.
func (c Config) withDefaults() Config {
	if c.ModelDir == "" {
		c.ModelDir = DefaultModelDir
	}
	if c.Dict == "" {
		c.Dict = DefaultDict
	}
	if c.LM == "" {
		c.LM = DefaultLM
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	c.Workers = min(c.Workers, maxWorkers)
	return c
}

// installHint is appended to errors about missing model files.
const installHint = "install Debian's pocketsphinx-en-us (apt-get install pocketsphinx-en-us) or set transcribe.sphinx_model_dir to a PocketSphinx 5prealpha model"

// check verifies that the model files exist, so that New fails with a
// message naming the missing file instead of PocketSphinx's log lines.
func (c Config) check() error {
	st, err := os.Stat(c.ModelDir)
	if err != nil {
		return fmt.Errorf("sphinx: acoustic model directory %s: %w: %s", c.ModelDir, err, installHint)
	}
	if !st.IsDir() {
		return fmt.Errorf("sphinx: acoustic model %s is not a directory: %s", c.ModelDir, installHint)
	}
	need := []string{"mdef", "means", "variances", "transition_matrices"}
	for _, name := range need {
		if err := isFile(filepath.Join(c.ModelDir, name)); err != nil {
			return fmt.Errorf("sphinx: acoustic model file %w: %s", err, installHint)
		}
	}
	if isFile(filepath.Join(c.ModelDir, "sendump")) != nil && isFile(filepath.Join(c.ModelDir, "mixture_weights")) != nil {
		return fmt.Errorf("sphinx: acoustic model %s has neither sendump nor mixture_weights: %s", c.ModelDir, installHint)
	}
	if err := isFile(c.Dict); err != nil {
		return fmt.Errorf("sphinx: dictionary %w: %s", err, installHint)
	}
	if err := isFile(c.LM); err != nil {
		return fmt.Errorf("sphinx: language model %w: %s", err, installHint)
	}
	return nil
}

func isFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}
