package web

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/pipeline"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
)

// callFilter selects calls for the list page and the API.
type callFilter struct {
	Party     string    // part of the other party's number
	Direction string    // "", store.DirectionInbound or store.DirectionOutbound
	From      time.Time // calls started at or after; zero for no bound
	To        time.Time // calls started before; zero for no bound
	Limit     int
	Offset    int
}

// listCalls returns the calls f selects, newest first, and whether more
// follow. The store filters by number and direction; dates are applied
// here, reading the store's newest-first order in batches and stopping at
// the first call older than f.From.
func (s *Server) listCalls(ctx context.Context, f callFilter) ([]store.Call, bool, error) {
	opts := store.ListOptions{Party: f.Party, Direction: f.Direction}
	if f.From.IsZero() && f.To.IsZero() {
		opts.Limit, opts.Offset = f.Limit+1, f.Offset
		calls, err := s.store.ListCalls(ctx, opts)
		if err != nil {
			return nil, false, err
		}
		if len(calls) > f.Limit {
			return calls[:f.Limit], true, nil
		}
		return calls, false, nil
	}
	out := []store.Call{}
	skipped := 0
	opts.Limit = store.MaxListLimit
	for {
		batch, err := s.store.ListCalls(ctx, opts)
		if err != nil {
			return nil, false, err
		}
		for _, c := range batch {
			if !f.To.IsZero() && !c.StartedAt.Before(f.To) {
				continue
			}
			if !f.From.IsZero() && c.StartedAt.Before(f.From) {
				return out, false, nil
			}
			if skipped < f.Offset {
				skipped++
				continue
			}
			if len(out) == f.Limit {
				return out, true, nil
			}
			out = append(out, c)
		}
		if len(batch) < opts.Limit {
			return out, false, nil
		}
		opts.Offset += len(batch)
	}
}

// validCallID reports whether id can name a call: one key segment, so
// that calls/<id>/… stays under the call's prefix.
func validCallID(id string) bool {
	return id != "" && !strings.Contains(id, "/") && blob.ValidKey("calls/"+id+"/x") == nil
}

// orderedStages returns a call's stage records in pipeline order, with a
// placeholder for each configured stage that has no record, and records
// of unknown stages last.
func (s *Server) orderedStages(ctx context.Context, callID string) ([]store.Stage, error) {
	recs, err := s.store.Stages(ctx, callID)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return []store.Stage{}, nil
	}
	out := make([]store.Stage, 0, len(s.stages))
	for _, name := range s.stages {
		i := slices.IndexFunc(recs, func(st store.Stage) bool { return st.Name == name })
		if i < 0 {
			out = append(out, store.Stage{CallID: callID, Name: name})
			continue
		}
		out = append(out, recs[i])
	}
	for _, st := range recs {
		if !slices.Contains(s.stages, st.Name) {
			out = append(out, st)
		}
	}
	return out, nil
}

// Output names of a call's objects, as the API's links map names them.
const (
	outRecording  = "recording"
	outReportHTML = "report.html"
	outReportDOCX = "report.docx"
	outReportPDF  = "report.pdf"
	outTranscript = "transcript.json"
)

// object is one of a call's downloadable objects.
type object struct {
	Name  string // output name (see the out… constants)
	Label string // what the UI calls it
	Key   string // blob key
	Size  int64
}

// callObjects returns the call's objects that exist, in display order:
// the report (Word, PDF, web page), the recording, the transcript.
func (s *Server) callObjects(ctx context.Context, c *store.Call) ([]object, error) {
	candidates := []object{
		{Name: outReportDOCX, Label: "Report (Word)", Key: pipeline.OutputKey(c.ID, outReportDOCX)},
		{Name: outReportPDF, Label: "Report (PDF)", Key: pipeline.OutputKey(c.ID, outReportPDF)},
		{Name: outReportHTML, Label: "Report (web page)", Key: pipeline.OutputKey(c.ID, outReportHTML)},
		{Name: outRecording, Label: "Recording (WAV)", Key: c.RecordingKey},
		{Name: outTranscript, Label: "Transcript (JSON)", Key: pipeline.OutputKey(c.ID, outTranscript)},
	}
	var out []object
	for _, o := range candidates {
		if o.Key == "" || blob.ValidKey(o.Key) != nil {
			continue
		}
		info, err := s.blob.Stat(ctx, o.Key)
		if errors.Is(err, blob.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("objects of call %s: %w", c.ID, err)
		}
		o.Size = info.Size
		out = append(out, o)
	}
	return out, nil
}

// maxTranscriptBytes bounds the transcript read for the call page.
const maxTranscriptBytes = 32 << 20

// loadTranscript reads calls/<id>/transcript.json; nil without error when
// there is none yet.
func (s *Server) loadTranscript(ctx context.Context, callID string) (*transcript.Document, error) {
	key := pipeline.OutputKey(callID, outTranscript)
	info, err := s.blob.Stat(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("transcript of call %s: %w", callID, err)
	}
	if info.Size > maxTranscriptBytes {
		return nil, fmt.Errorf("transcript of call %s: %d bytes is more than the page shows (%d)", callID, info.Size, maxTranscriptBytes)
	}
	rc, err := s.blob.Open(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("transcript of call %s: %w", callID, err)
	}
	defer rc.Close()
	doc, err := transcript.Decode(rc)
	if err != nil {
		return nil, fmt.Errorf("transcript of call %s: %w", callID, err)
	}
	return doc, nil
}

// knownOutputs returns the names the pipeline and notify write under
// calls/<id>/, deleted with the call even when the blob store cannot list
// its objects.
func knownOutputs() []string {
	return []string{
		"words.json", outTranscript, outReportHTML, outReportDOCX, outReportPDF,
		"report.json", "notification.json", "notified-email.json", "notified-webhook.json",
	}
}

// Lister is implemented by blob stores that can list the keys under a
// prefix (such as an S3 store); deleting a call then removes every object
// under calls/<id>/, not only the names callrec writes.
type Lister interface {
	// List returns the keys that start with prefix.
	List(ctx context.Context, prefix string) ([]string, error)
}

// callKeys returns every object key that belongs to the call: its
// recording, its stages' outputs and whatever lies under calls/<id>/.
func (s *Server) callKeys(ctx context.Context, c *store.Call, stages []store.Stage) ([]string, error) {
	keys := map[string]bool{}
	add := func(k string) {
		if k != "" && blob.ValidKey(k) == nil {
			keys[k] = true
		}
	}
	add(c.RecordingKey)
	for _, st := range stages {
		add(st.OutputKey)
	}
	prefix := "calls/" + c.ID + "/"
	for _, name := range knownOutputs() {
		add(prefix + name)
	}
	if l, ok := s.blob.(Lister); ok {
		listed, err := l.List(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("list objects of call %s: %w", c.ID, err)
		}
		for _, k := range listed {
			add(k)
		}
	}
	if l, ok := s.blob.(blob.Localer); ok {
		if dir, ok := l.LocalPath(strings.TrimSuffix(prefix, "/")); ok {
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					if errors.Is(err, fs.ErrNotExist) {
						return nil
					}
					return err
				}
				if d.Type().IsRegular() {
					rel, err := filepath.Rel(dir, p)
					if err != nil {
						return err
					}
					add(prefix + filepath.ToSlash(rel))
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("list objects of call %s: %w", c.ID, err)
			}
		}
	}
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	slices.Sort(out)
	return out, nil
}

// errCallBusy says a call cannot be deleted now.
var errCallBusy = errors.New("call busy")

// deleteCall removes the call's objects, then its records. Objects go
// first, so that a failure leaves the record (and the call page) to try
// again from. A call in progress, or one with a stage running (which
// would write its output after the delete), is refused with errCallBusy.
// DeleteCall deletes a finished call: its recording, every output of its
// processing and its records (used by the UI and by retention).
func (s *Server) DeleteCall(ctx context.Context, c *store.Call) error { return s.deleteCall(ctx, c) }

func (s *Server) deleteCall(ctx context.Context, c *store.Call) error {
	if c.Status == store.StatusActive {
		return fmt.Errorf("%w: the call is still in progress; delete it once it has ended", errCallBusy)
	}
	stages, err := s.store.Stages(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, st := range stages {
		if st.State == store.StageRunning {
			return fmt.Errorf("%w: the %s stage is running; try again when it has finished", errCallBusy, st.Name)
		}
	}
	keys, err := s.callKeys(ctx, c, stages)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.blob.Delete(ctx, k); err != nil {
			return fmt.Errorf("delete call %s: %w", c.ID, err)
		}
	}
	if l, ok := s.blob.(blob.Localer); ok {
		if dir, ok := l.LocalPath("calls/" + c.ID); ok {
			removeEmptyDirs(dir)
		}
	}
	if err := s.store.DeleteCall(ctx, c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.log.Info("call deleted", "call_id", c.ID, "objects", len(keys))
	return nil
}

// removeEmptyDirs removes dir and the directories under it if they are
// empty (best effort: a directory that is not empty stays).
func removeEmptyDirs(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			removeEmptyDirs(filepath.Join(dir, e.Name()))
		}
	}
	_ = os.Remove(dir)
}

// callDuration is how long the call lasted once answered (or, unanswered,
// how long it rang); zero while it lasts.
func callDuration(c *store.Call) time.Duration {
	if c.EndedAt == nil {
		return 0
	}
	start := c.StartedAt
	if c.AnsweredAt != nil {
		start = *c.AnsweredAt
	}
	return max(c.EndedAt.Sub(start), 0)
}
