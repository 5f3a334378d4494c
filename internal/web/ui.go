package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/display"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
)

// pageSize is how many calls the list page shows at once.
const pageSize = 50

// layout is what every page's frame needs.
type layout struct {
	Title    string
	CSRF     string // the session's token, for forms; empty when logged out
	LoggedIn bool
	// Banners are problems the owner should know of (storage, pending
	// notifications), shown on every page once logged in.
	Banners []string
}

// framed is what render needs of every page's data: its frame.
type framed interface {
	frame() *layout
}

func (l *layout) frame() *layout { return l }

// setSession fills the layout's session fields.
func (l *layout) setSession(sess *session) {
	if sess != nil {
		l.LoggedIn, l.CSRF = true, sess.csrf
	}
}

// render executes a page template into a buffer and sends it with status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	if p, ok := data.(framed); ok && p.frame().LoggedIn {
		p.frame().Banners = s.banners(r.Context())
	}
	var buf bytes.Buffer
	if err := s.pages[name].Execute(&buf, data); err != nil {
		s.log.Error("render page", "page", name, "path", r.URL.Path, "err", err)
		http.Error(w, "Internal error: the page could not be shown.", http.StatusInternalServerError)
		return
	}
	uiHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorView is the error page's data.
type errorView struct {
	layout
	Status  int
	Message string
	Back    string // a link to go on from, or ""
}

// errorPage answers with status and a page carrying msg.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	v := &errorView{layout: layout{Title: title}, Status: status, Message: msg, Back: "/"}
	v.setSession(sessionOf(r))
	if v.CSRF == "" {
		v.setSession(s.currentSession(r))
	}
	s.render(w, r, status, "error", v)
}

// serverError logs err and answers 500.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error, attrs ...any) {
	s.log.Error("request failed", append([]any{"method", r.Method, "path", r.URL.Path, "err", err}, attrs...)...)
	s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
		"The server could not complete this request. Try again; if it keeps failing, the server log says why.")
}

// callsView is the list page's data.
type callsView struct {
	layout
	Q, Direction, From, To, Status string
	Statuses                       []string // the statuses to filter by
	Filtered                       bool
	Total                          int // calls the filter selects, on every page
	Rows                           []callRow
	Page                           int
	PrevURL, NextURL               string
	Error                          string
	Notice                         string
}

// Status filter values besides a single status (the list's "status"
// query parameter).
const (
	// statusesDefault (no parameter) hides rejected and failed calls:
	// junk and refusals should not bury the calls the owner made.
	statusesDefault = ""
	// statusesAll shows every call.
	statusesAll = "all"
)

// hiddenByDefault reports whether the list hides calls with status st
// unless asked.
func hiddenByDefault(st string) bool { return st == store.StatusRejected || st == store.StatusFailed }

// statusFilter turns the status parameter into the statuses to show (nil:
// all).
func statusFilter(v string) ([]string, error) {
	switch {
	case v == statusesAll:
		return nil, nil
	case v == statusesDefault:
		var out []string
		for _, st := range store.Statuses() {
			if !hiddenByDefault(st) {
				out = append(out, st)
			}
		}
		return out, nil
	case slices.Contains(store.Statuses(), v):
		return []string{v}, nil
	}
	return nil, fmt.Errorf("status %q is not one of %s", v, strings.Join(store.Statuses(), ", "))
}

// callRow is one line of the list.
type callRow struct {
	ID, URL         string
	Started         time.Time
	Direction       string
	Party           string
	PartyName       string
	Duration        time.Duration
	Status          string
	Recording       string
	RecordingLength time.Duration
	Processing      string // a summary of the stages
	ProcessingClass string // ok, warn, bad or muted
}

// parseDay reads a YYYY-MM-DD date in loc ("" is the zero time).
func parseDay(v string, loc *time.Location) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation("2006-01-02", v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q is not in the form 2026-03-14", v)
	}
	return t, nil
}

// readFilter reads q, direction, from and to from a query. To is the day
// after the "to" date, so that the named day is included.
func (s *Server) readFilter(q url.Values) (callFilter, error) {
	f := callFilter{Party: strings.TrimSpace(q.Get("q")), Direction: q.Get("direction")}
	if len(f.Party) > 64 {
		f.Party = f.Party[:64]
	}
	switch f.Direction {
	case "", store.DirectionInbound, store.DirectionOutbound:
	default:
		return f, fmt.Errorf("direction %q is not %q or %q", f.Direction, store.DirectionInbound, store.DirectionOutbound)
	}
	var err error
	if f.From, err = parseDay(q.Get("from"), s.loc); err != nil {
		return f, err
	}
	if f.To, err = parseDay(q.Get("to"), s.loc); err != nil {
		return f, err
	}
	if !f.To.IsZero() {
		f.To = f.To.AddDate(0, 0, 1)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, errors.New("the \"from\" date is after the \"to\" date")
	}
	return f, nil
}

// handleCalls shows the list of calls.
func (s *Server) handleCalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := &callsView{layout: layout{Title: "Calls"}, Q: q.Get("q"), Direction: q.Get("direction"), From: q.Get("from"), To: q.Get("to"),
		Status: q.Get("status"), Statuses: store.Statuses()}
	v.setSession(sessionOf(r))
	v.Filtered = v.Q != "" || v.Direction != "" || v.From != "" || v.To != "" || v.Status != ""
	switch n := q.Get("deleted"); {
	case n == "1":
		v.Notice = "The call was deleted, with its recording and reports."
	case n != "":
		if k, err := strconv.Atoi(n); err == nil && k > 1 {
			v.Notice = fmt.Sprintf("%d calls were deleted, with their recordings and reports.", k)
		}
	}
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	page = min(page, 1_000_000)
	v.Page = page
	f, err := s.readFilter(q)
	if err == nil {
		f.Statuses, err = statusFilter(v.Status)
	}
	status := http.StatusOK
	if err != nil {
		v.Error = "Filter not applied: " + err.Error() + "."
		status = http.StatusBadRequest
		f = callFilter{}
		f.Statuses, _ = statusFilter(statusesDefault)
	}
	f.Limit, f.Offset = pageSize, (page-1)*pageSize
	list, more, err := s.listCalls(r.Context(), f)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if v.Total, err = s.store.CountCalls(r.Context(), f.listOptions()); err != nil {
		s.serverError(w, r, err)
		return
	}
	for i := range list {
		c := &list[i]
		row := callRow{
			ID: c.ID, URL: calls.PagePath(c.ID), Started: c.StartedAt, Direction: c.Direction,
			Party: c.Party, PartyName: c.PartyName, Duration: calls.Duration(c), Status: c.Status, Recording: c.RecordingState,
			RecordingLength: time.Duration(c.RecordingDurationMS) * time.Millisecond,
		}
		recs, err := s.store.Stages(r.Context(), c.ID)
		if err != nil {
			s.serverError(w, r, err, "call_id", c.ID)
			return
		}
		row.Processing, row.ProcessingClass = stagesSummary(orderStages(c.ID, recs))
		v.Rows = append(v.Rows, row)
	}
	pageURL := func(p int) string {
		u := url.Values{}
		for _, k := range []string{"q", "direction", "from", "to", "status"} {
			if val := q.Get(k); val != "" {
				u.Set(k, val)
			}
		}
		if p > 1 {
			u.Set("page", strconv.Itoa(p))
		}
		if len(u) == 0 {
			return "/"
		}
		return "/?" + u.Encode()
	}
	if page > 1 {
		v.PrevURL = pageURL(page - 1)
	}
	if more {
		v.NextURL = pageURL(page + 1)
	}
	s.render(w, r, status, "calls", v)
}

// stagesSummary sums up a call's processing for the list.
func stagesSummary(stages []store.Stage) (string, string) {
	if len(stages) == 0 {
		return "—", "muted"
	}
	done := 0
	for _, st := range stages {
		switch st.State {
		case store.StageFailed:
			return st.Name + " failed", "bad"
		case store.StageRetry:
			return st.Name + " retrying", "warn"
		case store.StageRunning:
			return st.Name + "…", "warn"
		case store.StageDone:
			done++
		}
	}
	if done == len(stages) {
		return "done", "ok"
	}
	return fmt.Sprintf("%d of %d done", done, len(stages)), "muted"
}

// callView is the call page's data.
type callView struct {
	layout
	Call           *store.Call
	Duration       time.Duration
	Recording      string // signed link path to the WAV, or ""
	Report         string // signed link path to report.html, or ""
	Downloads      []downloadView
	Stages         []stageView
	Turns          []turnView
	Stats          []statView
	Categories     []string
	TranscriptNote string
	Notice         string
	CanRetry       bool
	// DeleteOn is when retention deletes the call (zero: kept).
	DeleteOn time.Time
}

// downloadView is one download button.
type downloadView struct {
	Label, Href, File string
	Size              int64
}

// stageView is one row of the processing table.
type stageView struct {
	Name, State, LastError string
	Attempts               int
	Updated                time.Time
	Retry                  bool
	// Pending says that the notification waits for a retry: "Email
	// pending: <last error>, next try at <time>" (shown instead of the
	// error).
	Pending string
	// NextTry is when another stage waiting for a retry is tried next.
	NextTry *time.Time
}

// turnView is one turn of the transcript.
type turnView struct {
	BeginMS   int64
	Speaker   string
	Role      string // owner or party, for styling
	Content   string
	Sentiment string
}

// statView is one figure of the analytics summary.
type statView struct {
	Label, Value string
}

// loadCall reads the call named by the path's {id}; it answers 404 itself
// and returns nil when there is none.
func (s *Server) loadCall(w http.ResponseWriter, r *http.Request) *store.Call {
	id := r.PathValue("id")
	if !validCallID(id) {
		s.errorPage(w, r, http.StatusNotFound, "Call not found", "There is no such call.")
		return nil
	}
	c, err := s.store.GetCall(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "Call not found", "There is no call "+id+" (it may have been deleted).")
		return nil
	}
	if err != nil {
		s.serverError(w, r, err, "call_id", id)
		return nil
	}
	return c
}

// handleCall shows one call.
func (s *Server) handleCall(w http.ResponseWriter, r *http.Request) {
	c := s.loadCall(w, r)
	if c == nil {
		return
	}
	ctx := r.Context()
	v := &callView{layout: layout{Title: "Call with " + display.Party(c.Party)}, Call: c, Duration: calls.Duration(c), CanRetry: s.retrier != nil}
	if s.retention > 0 {
		v.DeleteOn = c.StartedAt.Add(time.Duration(s.retention) * 24 * time.Hour)
	}
	v.setSession(sessionOf(r))
	if st := r.URL.Query().Get("retried"); calls.IsStage(st) {
		v.Notice = "The " + st + " stage is queued again; reload the page to follow it."
	}
	stages, downloads, err := s.callDetails(ctx, c)
	if err != nil {
		s.serverError(w, r, err, "call_id", c.ID)
		return
	}
	for _, o := range downloads {
		href := s.linkPath(o.Key)
		switch o.Name {
		case calls.Recording:
			v.Recording = href
		case calls.ReportHTML:
			v.Report = href
		}
		v.Downloads = append(v.Downloads, downloadView{Label: o.Label, Href: href, File: downloadName(o.Key), Size: o.Size})
	}
	for _, st := range stages {
		sv := stageView{Name: st.Name, State: st.State, LastError: st.LastError, Attempts: st.Attempts, Updated: st.UpdatedAt}
		if sv.State == "" {
			sv.State = "not queued"
		}
		sv.Retry = v.CanRetry && st.State == store.StageFailed && calls.IsStage(st.Name)
		if st.State == store.StageRetry && st.NextAttemptAt != nil {
			if st.Name == calls.StageNotify {
				sv.Pending = "Email pending: " + st.LastError + ", next try at " + s.formatTime(st.NextAttemptAt)
			} else {
				sv.NextTry = st.NextAttemptAt
			}
		}
		v.Stages = append(v.Stages, sv)
	}
	doc, err := s.loadTranscript(ctx, c.ID)
	switch {
	case err != nil:
		s.log.Warn("transcript not shown", "call_id", c.ID, "err", err)
		v.TranscriptNote = "The transcript could not be read: " + err.Error()
	case doc == nil:
		v.TranscriptNote = "No transcript yet."
	default:
		v.Turns, v.Stats, v.Categories = transcriptView(doc)
		if len(v.Turns) == 0 {
			v.TranscriptNote = "Nobody was heard speaking in this recording."
		}
	}
	s.render(w, r, http.StatusOK, "call", v)
}

// transcriptView turns a transcript into the page's turns, key figures
// and categories.
func transcriptView(doc *transcript.Document) ([]turnView, []statView, []string) {
	var turns []turnView
	for _, t := range doc.Transcript {
		if strings.TrimSpace(t.Content) == "" {
			continue
		}
		tv := turnView{BeginMS: t.BeginOffsetMillis, Content: t.Content, Sentiment: strings.ToLower(t.Sentiment)}
		if t.ParticipantRole == transcript.Agent {
			tv.Speaker, tv.Role = "Owner", "owner"
		} else {
			tv.Speaker, tv.Role = "Other party", "party"
		}
		turns = append(turns, tv)
	}
	cc := doc.ConversationCharacteristics
	ms := func(v int64) string { return display.Duration(time.Duration(v) * time.Millisecond) }
	var stats []statView
	if d := doc.Duration(); d > 0 {
		stats = append(stats, statView{"Length", display.Duration(d)})
	}
	if tt := cc.TalkTime.DetailsByParticipant; len(tt) > 0 {
		stats = append(stats,
			statView{"Owner talked", ms(tt[transcript.Agent].TotalTimeMillis)},
			statView{"Other party talked", ms(tt[transcript.Customer].TotalTimeMillis)})
	}
	stats = append(stats, statView{"Silence", ms(cc.NonTalkTime.TotalTimeMillis)},
		statView{"Interruptions", strconv.Itoa(cc.Interruptions.TotalCount)})
	if overall := cc.Sentiment.OverallSentiment; len(overall) > 0 {
		stats = append(stats,
			statView{"Owner sentiment", fmt.Sprintf("%+.1f", overall[transcript.Agent])},
			statView{"Other party sentiment", fmt.Sprintf("%+.1f", overall[transcript.Customer])})
	}
	return turns, stats, doc.Categories.MatchedCategories
}

// handleRetry queues a failed stage again.
func (s *Server) handleRetry(w http.ResponseWriter, r *http.Request) {
	c := s.loadCall(w, r)
	if c == nil {
		return
	}
	stage := r.PostForm.Get("stage")
	if !calls.IsStage(stage) {
		s.errorPage(w, r, http.StatusBadRequest, "Unknown stage",
			fmt.Sprintf("%q is not a processing stage (one of %s).", stage, strings.Join(calls.Stages(), ", ")))
		return
	}
	if s.retrier == nil {
		s.errorPage(w, r, http.StatusServiceUnavailable, "Retry unavailable", "This server does not run the processing pipeline, so it cannot retry stages.")
		return
	}
	st, err := s.store.Stage(r.Context(), c.ID, stage)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.serverError(w, r, err, "call_id", c.ID)
		return
	}
	if err != nil || st.State != store.StageFailed {
		state := "not queued"
		if st != nil {
			state = st.State
		}
		s.errorPage(w, r, http.StatusConflict, "Nothing to retry",
			fmt.Sprintf("The %s stage of this call is %s; only a failed stage can be retried.", stage, state))
		return
	}
	if err := s.retrier.Retry(r.Context(), c.ID, stage); err != nil {
		s.serverError(w, r, fmt.Errorf("retry %s: %w", stage, err), "call_id", c.ID)
		return
	}
	s.log.Info("stage queued again", "call_id", c.ID, "stage", stage)
	http.Redirect(w, r, calls.PagePath(c.ID)+"?retried="+url.QueryEscape(stage), http.StatusSeeOther)
}

// deleteView is the delete confirmation page's data.
type deleteView struct {
	layout
	Call     *store.Call
	Duration time.Duration
	Objects  []downloadView
	Error    string
}

// handleDeleteForm asks for confirmation before deleting a call.
func (s *Server) handleDeleteForm(w http.ResponseWriter, r *http.Request) {
	c := s.loadCall(w, r)
	if c == nil {
		return
	}
	s.renderDeleteForm(w, r, c, http.StatusOK, "")
}

// renderDeleteForm shows the confirmation page, with an error if any.
func (s *Server) renderDeleteForm(w http.ResponseWriter, r *http.Request, c *store.Call, status int, msg string) {
	v := &deleteView{layout: layout{Title: "Delete call with " + display.Party(c.Party)}, Call: c, Duration: calls.Duration(c), Error: msg}
	v.setSession(sessionOf(r))
	_, objs, err := s.callDetails(r.Context(), c)
	if err != nil {
		s.serverError(w, r, err, "call_id", c.ID)
		return
	}
	for _, o := range objs {
		v.Objects = append(v.Objects, downloadView{Label: o.Label, File: downloadName(o.Key), Size: o.Size})
	}
	s.render(w, r, status, "delete", v)
}

// handleDelete deletes a call once confirmed (form field confirm=yes).
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	c := s.loadCall(w, r)
	if c == nil {
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		s.renderDeleteForm(w, r, c, http.StatusBadRequest, "Confirm the deletion with the button below.")
		return
	}
	n, err := calls.Delete(r.Context(), s.store, s.blob, c)
	if err != nil {
		if errors.Is(err, calls.ErrBusy) {
			s.renderDeleteForm(w, r, c, http.StatusConflict, "Not deleted: "+strings.TrimPrefix(err.Error(), calls.ErrBusy.Error()+": ")+".")
			return
		}
		s.serverError(w, r, err, "call_id", c.ID)
		return
	}
	s.log.Info("call deleted", "call_id", c.ID, "objects", n)
	http.Redirect(w, r, "/?deleted=1", http.StatusSeeOther)
}

// formatTime shows a time (time.Time or *time.Time) in the server's zone;
// "—" for none.
func (s *Server) formatTime(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return "—"
		}
		t = *x
	default:
		return "—"
	}
	if t.IsZero() {
		return "—"
	}
	return t.In(s.loc).Format("Mon 2 Jan 2006, 15:04:05")
}

// maxBulkDelete bounds the calls one bulk delete takes (a page of the
// list).
const maxBulkDelete = pageSize

// bulkDeleteView is the bulk delete page's data: the calls to confirm, or
// what came of deleting them.
type bulkDeleteView struct {
	layout
	Calls    []store.Call
	Finished bool // the deletion ran; Done and Failed say how it went
	Done     int
	Failed   []bulkFailure
	Error    string
}

// bulkFailure is a call a bulk delete did not delete.
type bulkFailure struct {
	Party   string
	Started time.Time
	Why     string
}

// handleBulkDelete deletes the calls selected on the list (form fields id),
// once confirmed (confirm=yes); without it, it asks.
func (s *Server) handleBulkDelete(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := &bulkDeleteView{layout: layout{Title: "Delete calls"}}
	v.setSession(sessionOf(r))
	ids := r.PostForm["id"]
	if len(ids) == 0 {
		s.errorPage(w, r, http.StatusBadRequest, "No calls selected", "Tick the calls to delete in the list, then press Delete selected.")
		return
	}
	if len(ids) > maxBulkDelete {
		s.errorPage(w, r, http.StatusBadRequest, "Too many calls", fmt.Sprintf("At most %d calls can be deleted at once.", maxBulkDelete))
		return
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || !validCallID(id) {
			continue
		}
		seen[id] = true
		c, err := s.store.GetCall(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			s.serverError(w, r, err, "call_id", id)
			return
		}
		v.Calls = append(v.Calls, *c)
	}
	if len(v.Calls) == 0 {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		s.render(w, r, http.StatusOK, "bulkdelete", v)
		return
	}
	for i := range v.Calls {
		c := &v.Calls[i]
		n, err := calls.Delete(ctx, s.store, s.blob, c)
		if err != nil {
			why := "it could not be deleted; the server log says why"
			if errors.Is(err, calls.ErrBusy) {
				why = strings.TrimPrefix(err.Error(), calls.ErrBusy.Error()+": ")
			} else {
				s.log.Error("bulk delete", "call_id", c.ID, "err", err)
			}
			v.Failed = append(v.Failed, bulkFailure{Party: c.Party, Started: c.StartedAt, Why: why})
			continue
		}
		s.log.Info("call deleted", "call_id", c.ID, "objects", n)
		v.Done++
	}
	if len(v.Failed) > 0 {
		v.Finished = true
		s.render(w, r, http.StatusConflict, "bulkdelete", v)
		return
	}
	http.Redirect(w, r, "/?deleted="+strconv.Itoa(v.Done), http.StatusSeeOther)
}

// banners lists the problems the owner should know of now: storage below
// its limit, and notifications that have not gone out.
func (s *Server) banners(ctx context.Context) []string {
	var out []string
	if s.storage != nil {
		if err := s.storage(); err != nil {
			out = append(out, "Storage: "+err.Error())
		}
	}
	plural := func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return fmt.Sprintf(many, n)
	}
	if n, err := s.store.CountStages(ctx, calls.StageNotify, store.StageFailed); err == nil && n > 0 {
		out = append(out, plural(n, "The notification of one call failed", "The notifications of %d calls failed")+
			": open the call and retry its notify stage once the cause is fixed.")
	}
	if n, err := s.store.CountStages(ctx, calls.StageNotify, store.StageRetry); err == nil && n > 0 {
		out = append(out, plural(n, "The notification of one call is", "The notifications of %d calls are")+
			" waiting to be retried: the mail server or the webhook receiver may be down.")
	}
	return out
}
