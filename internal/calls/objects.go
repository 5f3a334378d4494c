package calls

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/store"
)

// Download is one of a call's objects offered to the owner: on the call
// page, in the API, in emails and webhooks.
type Download struct {
	// Name is Recording or the output's name (ReportDOCX, Transcript…).
	Name string
	// Label is what pages and emails call it, such as "Report (Word)".
	Label string
	// Key is the object's blob key.
	Key string
	// Size is the object's size in bytes.
	Size int64
}

// offered lists the objects offered for download, in display order, with
// their labels. Outputs not listed here and not internal are offered
// after them, labelled with their names.
var offered = [...]struct{ name, label string }{
	{ReportDOCX, "Report (Word)"},
	{ReportPDF, "Report (PDF)"},
	{ReportHTML, "Report (web page)"},
	{Recording, "Recording (WAV)"},
	{Transcript, "Transcript (JSON)"},
}

// internal are outputs kept for the pipeline itself, never offered.
var internal = [...]string{Words, Notification}

// Downloads returns the objects of call c that exist in bs and are offered
// to the owner, in display order: the recording, the reports and the
// transcript, and whatever else the call's stages (stages) recorded as
// their outputs.
func Downloads(ctx context.Context, bs blob.Store, c *store.Call, stages []store.Stage) ([]Download, error) {
	byName := map[string]string{}
	if c.RecordingKey != "" {
		byName[Recording] = c.RecordingKey
	}
	prefix := Prefix(c.ID)
	for _, o := range offered {
		if o.name != Recording {
			byName[o.name] = prefix + o.name
		}
	}
	for _, st := range stages {
		for _, key := range st.AllOutputs() {
			name, ok := strings.CutPrefix(key, prefix)
			if !ok || strings.Contains(name, "/") || !Offered(name) {
				continue
			}
			byName[name] = key
		}
	}
	var order []Download
	for _, o := range offered {
		if key, ok := byName[o.name]; ok {
			order = append(order, Download{Name: o.name, Label: o.label, Key: key})
			delete(byName, o.name)
		}
	}
	var rest []string
	for name := range byName {
		rest = append(rest, name)
	}
	slices.Sort(rest)
	for _, name := range rest {
		order = append(order, Download{Name: name, Label: name, Key: byName[name]})
	}
	out := order[:0]
	for _, d := range order {
		if blob.ValidKey(d.Key) != nil {
			continue
		}
		info, err := bs.Stat(ctx, d.Key)
		if errors.Is(err, blob.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("objects of call %s: %w", c.ID, err)
		}
		d.Size = info.Size
		out = append(out, d)
	}
	return out, nil
}

// ErrBusy says a call cannot be deleted now: it is in progress, or one of
// its stages is running (and would write its output after the delete).
var ErrBusy = errors.New("call busy")

// Delete removes a finished call with everything it made: its recording,
// every object under its prefix (listed through the blob store, so nothing
// it wrote is missed on any store) and the outputs its stages recorded,
// then its records. Objects go first, so that a failure leaves the record
// (and the call page) to try again from. It returns how many objects it
// deleted; a call in progress or with a stage running is refused with an
// error wrapping ErrBusy.
func Delete(ctx context.Context, st *store.Store, bs blob.Store, c *store.Call) (int, error) {
	if c.Status == store.StatusActive {
		return 0, fmt.Errorf("%w: the call is still in progress; delete it once it has ended", ErrBusy)
	}
	stages, err := st.Stages(ctx, c.ID)
	if err != nil {
		return 0, err
	}
	keys := map[string]bool{}
	add := func(k string) {
		if k != "" && blob.ValidKey(k) == nil {
			keys[k] = true
		}
	}
	for _, s := range stages {
		if s.State == store.StageRunning {
			return 0, fmt.Errorf("%w: the %s stage is running; try again when it has finished", ErrBusy, s.Name)
		}
		for _, k := range s.AllOutputs() {
			add(k)
		}
	}
	add(c.RecordingKey)
	if CheckID(c.ID) == nil {
		listed, err := bs.List(ctx, Prefix(c.ID))
		if err != nil {
			return 0, fmt.Errorf("delete call %s: list its objects: %w", c.ID, err)
		}
		for _, o := range listed {
			add(o.Key)
		}
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	for _, k := range sorted {
		if err := bs.Delete(ctx, k); err != nil {
			return 0, fmt.Errorf("delete call %s: %w", c.ID, err)
		}
	}
	if err := st.DeleteCall(ctx, c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	return len(sorted), nil
}

// Offered reports whether the output name is offered to the owner for
// download (false for what the pipeline keeps for itself).
func Offered(name string) bool {
	return name != "" && !slices.Contains(internal[:], name) && !strings.HasPrefix(name, markerPrefix)
}
