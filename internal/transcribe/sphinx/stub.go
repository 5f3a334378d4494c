//go:build nosphinx || !cgo

package sphinx

import (
	"context"
	"errors"

	"github.com/callrec/callrec/internal/transcribe"
)

// Engine stands in for the sphinx engine in a build without it.
type Engine struct{}

var _ transcribe.Engine = (*Engine)(nil)

// ErrClosed is returned by Transcribe after Close.
var ErrClosed = errors.New("sphinx: engine closed")

// New reports that this build has no sphinx engine.
func New(cfg Config) (*Engine, error) {
	return nil, errors.New("this callrec was built without the sphinx engine (" + buildReason + ")")
}

// Name returns "sphinx".
func (e *Engine) Name() string { return "sphinx" }

// Transcribe always fails: this build has no sphinx engine.
func (e *Engine) Transcribe(ctx context.Context, rec *transcribe.Recording) (*transcribe.Result, error) {
	return nil, errors.New("this callrec was built without the sphinx engine (" + buildReason + ")")
}

// Close does nothing.
func (e *Engine) Close() error { return nil }
