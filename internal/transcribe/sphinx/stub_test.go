//go:build nosphinx

package sphinx

import (
	"context"
	"strings"
	"testing"

	"github.com/callrec/callrec/internal/transcribe"
)

func TestStub(t *testing.T) {
	e, err := New(Config{})
	if err == nil || e != nil {
		t.Fatalf("New = %v, %v; want an error", e, err)
	}
	want := "this callrec was built without the sphinx engine (build tag nosphinx)"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	var s *Engine
	if _, err := s.Transcribe(context.Background(), &transcribe.Recording{}); err == nil || !strings.Contains(err.Error(), "nosphinx") {
		t.Errorf("Transcribe: %v", err)
	}
}
