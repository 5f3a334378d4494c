package web

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
)

// callFilter selects calls for the list page and the API.
type callFilter struct {
	Party     string    // part of the other party's number
	Direction string    // "", store.DirectionInbound or store.DirectionOutbound
	From      time.Time // calls started at or after; zero for no bound
	To        time.Time // calls started before; zero for no bound
	Statuses  []string  // only calls with these statuses; none: any
	Limit     int
	Offset    int
}

// listOptions is f as the store filters.
func (f callFilter) listOptions() store.ListOptions {
	return store.ListOptions{
		Party: f.Party, Direction: f.Direction, Statuses: f.Statuses,
		StartedFrom: f.From, StartedBefore: f.To, Limit: f.Limit, Offset: f.Offset,
	}
}

// listCalls returns the calls f selects, newest first, and whether more
// follow.
func (s *Server) listCalls(ctx context.Context, f callFilter) ([]store.Call, bool, error) {
	opts := f.listOptions()
	opts.Limit = f.Limit + 1
	list, err := s.store.ListCalls(ctx, opts)
	if err != nil {
		return nil, false, err
	}
	if len(list) > f.Limit {
		return list[:f.Limit], true, nil
	}
	return list, false, nil
}

// validCallID reports whether id can name a call.
func validCallID(id string) bool { return calls.CheckID(id) == nil }

// orderStages returns a call's stage records in processing order, with a
// placeholder for each stage that has no record (when any has one), and
// records of unknown stages last.
func orderStages(callID string, recs []store.Stage) []store.Stage {
	if len(recs) == 0 {
		return []store.Stage{}
	}
	out := slices.Clone(recs)
	for _, name := range calls.Stages() {
		if !slices.ContainsFunc(recs, func(st store.Stage) bool { return st.Name == name }) {
			out = append(out, store.Stage{CallID: callID, Name: name})
		}
	}
	calls.SortStages(out)
	return out
}

// callDetails reads what the pages and the API show of a call besides its
// record: its stages in processing order and the downloads it offers.
func (s *Server) callDetails(ctx context.Context, c *store.Call) ([]store.Stage, []calls.Download, error) {
	recs, err := s.store.Stages(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	downloads, err := calls.Downloads(ctx, s.blob, c, recs)
	if err != nil {
		return nil, nil, err
	}
	return orderStages(c.ID, recs), downloads, nil
}

// maxTranscriptBytes bounds the transcript read for the call page.
const maxTranscriptBytes = 32 << 20

// loadTranscript reads the call's transcript; nil without error when
// there is none yet.
func (s *Server) loadTranscript(ctx context.Context, callID string) (*transcript.Document, error) {
	key := calls.OutputKey(callID, calls.Transcript)
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
