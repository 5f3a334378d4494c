package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/store"
)

// API list limits.
const (
	apiDefaultLimit = 50
	apiMaxLimit     = 500
)

// APICall is a call as the API returns it: the call record (with
// recording_file set to a signed link to the recording, when it exists),
// its processing stages, and signed links to its objects.
type APICall struct {
	store.Call
	// Stages are the call's processing stages in pipeline order.
	Stages []store.Stage `json:"stages"`
	// Links maps the names of the call's objects that exist ("recording",
	// "report.html", "report.docx", "report.pdf", "transcript.json") to
	// signed links.
	Links map[string]string `json:"links"`
	// LinksExpireAt is when the links stop working.
	LinksExpireAt time.Time `json:"links_expire_at"`
	// PageURL is the call's page in the web UI (needs a log-in); set when
	// a public URL is configured.
	PageURL string `json:"page_url,omitempty"`
}

// apiError is the body of every API error.
type apiError struct {
	Error string `json:"error"`
}

// writeJSON sends v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeJSONError sends {"error": msg} with status.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}

// apiCall builds a call's API representation.
func (s *Server) apiCall(r *http.Request, c store.Call) (*APICall, error) {
	ctx := r.Context()
	stages, objs, err := s.callDetails(ctx, &c)
	if err != nil {
		return nil, err
	}
	a := &APICall{Call: c, Stages: stages, Links: map[string]string{}, LinksExpireAt: s.linkExpiry()}
	for _, o := range objs {
		a.Links[o.Name] = s.linkURL(o.Key)
	}
	a.RecordingFile = a.Links[calls.Recording]
	if s.publicURL != "" {
		a.PageURL = s.publicURL + calls.PagePath(c.ID)
	}
	return a, nil
}

// handleAPICalls lists calls: query q (part of the number), direction,
// from and to (YYYY-MM-DD), status (one status, or "all", the default),
// limit (default 50, at most 500) and offset.
func (s *Server) handleAPICalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := s.readFilter(q)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	if v := q.Get("status"); v != "" {
		if f.Statuses, err = statusFilter(v); err != nil {
			writeJSONError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	f.Limit, f.Offset = apiDefaultLimit, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > apiMaxLimit {
			writeJSONError(w, http.StatusBadRequest, "limit must be a number from 1 to "+strconv.Itoa(apiMaxLimit))
			return
		}
		f.Limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeJSONError(w, http.StatusBadRequest, "offset must be a number, 0 or more")
			return
		}
		f.Offset = n
	}
	calls, _, err := s.listCalls(r.Context(), f)
	if err != nil {
		s.log.Error("API: list calls", "err", err)
		writeJSONError(w, http.StatusInternalServerError, "the calls could not be read")
		return
	}
	out := make([]*APICall, 0, len(calls))
	for _, c := range calls {
		a, err := s.apiCall(r, c)
		if err != nil {
			s.log.Error("API: read call", "call_id", c.ID, "err", err)
			writeJSONError(w, http.StatusInternalServerError, "the calls could not be read")
			return
		}
		out = append(out, a)
	}
	writeJSON(w, http.StatusOK, out)
}

// handleAPICall returns one call, or a 404 JSON error.
func (s *Server) handleAPICall(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validCallID(id) {
		writeJSONError(w, http.StatusNotFound, "no such call")
		return
	}
	c, err := s.store.GetCall(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeJSONError(w, http.StatusNotFound, "no call "+id)
		return
	}
	if err != nil {
		s.log.Error("API: get call", "call_id", id, "err", err)
		writeJSONError(w, http.StatusInternalServerError, "the call could not be read")
		return
	}
	a, err := s.apiCall(r, *c)
	if err != nil {
		s.log.Error("API: read call", "call_id", id, "err", err)
		writeJSONError(w, http.StatusInternalServerError, "the call could not be read")
		return
	}
	writeJSON(w, http.StatusOK, a)
}
