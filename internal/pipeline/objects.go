package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
)

// Objects is where a run reads and writes a call's outputs, by name
// (calls.Words, calls.Transcript, calls.ReportDOCX…).
type Objects interface {
	// Key is the key the output name is known by (in stage records).
	Key(name string) string
	// Get returns the output's content, or an error wrapping
	// blob.ErrNotFound when there is none.
	Get(ctx context.Context, name string) ([]byte, error)
	// Put stores the output, replacing any before.
	Put(ctx context.Context, name string, data []byte) error
	// Exists reports whether the output is there; an error means it cannot
	// tell.
	Exists(ctx context.Context, name string) (bool, error)
}

// BlobObjects keeps a call's outputs in a blob store, at
// calls.OutputKey(callID, name): where a server's stages keep them.
type BlobObjects struct {
	Blob   blob.Store
	CallID string
}

// Key implements Objects: calls.OutputKey(o.CallID, name).
func (o BlobObjects) Key(name string) string { return calls.OutputKey(o.CallID, name) }

// Get implements Objects.
func (o BlobObjects) Get(ctx context.Context, name string) ([]byte, error) {
	key := calls.OutputKey(o.CallID, name)
	rc, err := o.Blob.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}

// Put implements Objects.
func (o BlobObjects) Put(ctx context.Context, name string, data []byte) error {
	key := calls.OutputKey(o.CallID, name)
	if err := o.Blob.Put(ctx, key, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// Exists implements Objects.
func (o BlobObjects) Exists(ctx context.Context, name string) (bool, error) {
	_, err := o.Blob.Stat(ctx, calls.OutputKey(o.CallID, name))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, blob.ErrNotFound):
		return false, nil
	}
	return false, err
}

// MemObjects keeps outputs in memory, under their names (`callrec
// process` writes the ones a call offers to files afterwards). The zero
// value is empty and ready; it is safe for concurrent use.
type MemObjects struct {
	mu    sync.Mutex
	data  map[string][]byte
	order []string
}

// Key implements Objects: the name itself.
func (m *MemObjects) Key(name string) string { return name }

// Get implements Objects.
func (m *MemObjects) Get(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.data[name]
	if !ok {
		return nil, fmt.Errorf("read %s: %w", name, blob.ErrNotFound)
	}
	return b, nil
}

// Put implements Objects.
func (m *MemObjects) Put(_ context.Context, name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		m.data = map[string][]byte{}
	}
	if _, ok := m.data[name]; !ok {
		m.order = append(m.order, name)
	}
	m.data[name] = slices.Clone(data)
	return nil
}

// Exists implements Objects.
func (m *MemObjects) Exists(_ context.Context, name string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.data[name]
	return ok, nil
}

// Names lists the outputs held, in the order they were first put.
func (m *MemObjects) Names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.order)
}
