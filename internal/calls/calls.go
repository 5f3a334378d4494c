// Package calls is the vocabulary of a call's objects, in one place: where a
// call's recording and the outputs of its processing live in the blob
// store, what each output is called and shown as, the processing stages in
// order, how long a call lasted, how a flow's outcome becomes a call's
// status, and how a call is deleted with everything it made. The runtime,
// the pipeline, notifications, the web side, retention and the CLI all ask
// here instead of spelling these out themselves.
package calls

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/store"
)

// Names of the objects a call's processing writes under its prefix
// (calls/<id>/<name>).
const (
	// Words is the transcribe stage's output: the engine's words.
	Words = "words.json"
	// Transcript is the analyze stage's output, in the Amazon Transcribe
	// Call Analytics schema.
	Transcript = "transcript.json"
	// ReportDOCX, ReportPDF and ReportHTML are the render stage's outputs.
	ReportDOCX = "report.docx"
	ReportPDF  = "report.pdf"
	ReportHTML = "report.html"
	// Notification is the notify stage's record of what it sent.
	Notification = "notification.json"
)

// Recording is the name the recording goes by among a call's downloads
// (its key is the call record's RecordingKey, not under the call's prefix).
const Recording = "recording"

// Prefix is the key prefix under which every output of the call lives:
// "calls/<id>/".
func Prefix(callID string) string { return "calls/" + callID + "/" }

// OutputKey is the blob key of the call's output name: "calls/<id>/<name>".
func OutputKey(callID, name string) string { return Prefix(callID) + name }

// MarkerKey is where the marker of a notification sent on channel (such
// as "email") is kept: "calls/<id>/notified-<channel>.json".
func MarkerKey(callID, channel string) string {
	return OutputKey(callID, markerPrefix+channel+".json")
}

// markerPrefix starts the names of notification markers.
const markerPrefix = "notified-"

// RecordingKey is the key of a call's recording:
// "recordings/YYYY/MM/DD/<id>.wav", dated in UTC by the call's start.
func RecordingKey(callID string, startedAt time.Time) string {
	t := startedAt.UTC()
	return fmt.Sprintf("recordings/%04d/%02d/%02d/%s.wav", t.Year(), int(t.Month()), t.Day(), callID)
}

// CheckID reports why id cannot name a call's objects (it must be one key
// segment, so that calls/<id>/… stays under the call's prefix), or nil.
func CheckID(id string) error {
	if id == "" {
		return fmt.Errorf("call id is empty")
	}
	if strings.Contains(id, "/") {
		return fmt.Errorf("call id %q contains \"/\"", id)
	}
	if err := blob.ValidKey(MarkerKey(id, "x")); err != nil {
		return fmt.Errorf("call id %q cannot name its objects: %v", id, err)
	}
	return nil
}

// PagePath is the call's page in the web UI, relative to the site.
func PagePath(callID string) string { return "/calls/" + url.PathEscape(callID) }

// Stage names, in processing order.
const (
	StageTranscribe = "transcribe"
	StageAnalyze    = "analyze"
	StageRender     = "render"
	StageNotify     = "notify"
)

// stageOrder is the order the stages run in.
var stageOrder = [...]string{StageTranscribe, StageAnalyze, StageRender, StageNotify}

// Stages returns the stage names in processing order.
func Stages() []string { return slices.Clone(stageOrder[:]) }

// IsStage reports whether name is a stage.
func IsStage(name string) bool { return slices.Contains(stageOrder[:], name) }

// NextStage is the stage after name, or "" after the last (or for a name
// that is not a stage).
func NextStage(name string) string {
	i := slices.Index(stageOrder[:], name)
	if i < 0 || i+1 == len(stageOrder) {
		return ""
	}
	return stageOrder[i+1]
}

// SortStages orders stage records by processing order, records of names
// that are not stages last (by name).
func SortStages(st []store.Stage) {
	rank := func(name string) int {
		if i := slices.Index(stageOrder[:], name); i >= 0 {
			return i
		}
		return len(stageOrder)
	}
	slices.SortStableFunc(st, func(a, b store.Stage) int {
		if d := rank(a.Name) - rank(b.Name); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// Duration is how long the call lasted: from the answer (or, when nobody
// answered, from its start) to its end; zero while it lasts.
func Duration(c *store.Call) time.Duration {
	if c.EndedAt == nil {
		return 0
	}
	start := c.StartedAt
	if c.AnsweredAt != nil {
		start = *c.AnsweredAt
	}
	return max(c.EndedAt.Sub(start), 0)
}

// Status is the final status of a call that ended on its own: completed
// when it was bridged, else what the flow's outcome (the
// callflow.AttrOutcome it set, "" when none) says: refused by the rules
// (rejected), failed to reach the other side (failed), or nobody answered
// or the caller gave up (unanswered).
func Status(bridged bool, outcome string) string {
	if bridged {
		return store.StatusCompleted
	}
	switch outcome {
	case callflow.OutcomeRejectedPIN, callflow.OutcomeInvalidNumber, callflow.OutcomeDestinationNotAllowed, callflow.OutcomeNoDigits:
		return store.StatusRejected
	case callflow.OutcomeUnavailable, callflow.OutcomeError:
		return store.StatusFailed
	}
	return store.StatusUnanswered
}
