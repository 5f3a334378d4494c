package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// BasicRenderer renders a plain, self-contained HTML transcript. It is the
// render stage's default until a full report renderer is configured.
type BasicRenderer struct{}

var basicTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms": func(ms int64) string { return (time.Duration(ms) * time.Millisecond).Round(time.Second).String() },
	"who": func(role string) string {
		if role == transcript.Agent {
			return "Owner"
		}
		return "Other party"
	},
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Call {{.Call.ID}}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td{padding:.2em .6em;vertical-align:top}</style></head>
<body><h1>Call with {{if .Call.Party}}{{.Call.Party}}{{else}}an unknown number{{end}}</h1>
<p>{{.Call.Direction}} · {{.Call.StartedAt.Format "2006-01-02 15:04 MST"}} · {{ms .Doc.ConversationCharacteristics.TotalConversationDurationMillis}}</p>
<table>{{range .Doc.Transcript}}<tr><td>{{ms .BeginOffsetMillis}}</td><td>{{who .ParticipantRole}}</td><td>{{.Sentiment}}</td><td>{{.Content}}</td></tr>{{end}}</table>
</body></html>
`))

// Render implements Renderer.
func (BasicRenderer) Render(_ context.Context, call *store.Call, doc *transcript.Document) (map[string][]byte, error) {
	var buf bytes.Buffer
	if err := basicTemplate.Execute(&buf, map[string]any{"Call": call, "Doc": doc}); err != nil {
		return nil, fmt.Errorf("render HTML: %w", err)
	}
	return map[string][]byte{"report.html": buf.Bytes()}, nil
}

// LogNotifier records the notification as calls/<id>/notification.json and
// logs it; it is the notify stage's default when no email or webhook is
// configured. It writes once per call.
type LogNotifier struct {
	Blob   blob.Store
	Logger *slog.Logger
}

// Notification is what LogNotifier records.
type Notification struct {
	CallID    string            `json:"call_id"`
	Party     string            `json:"party"`
	Direction string            `json:"direction"`
	Turns     int               `json:"turns"`
	Outputs   map[string]string `json:"outputs"`
	SentAt    time.Time         `json:"sent_at"`
}

// Notify implements Notifier.
func (n LogNotifier) Notify(ctx context.Context, call *store.Call, doc *transcript.Document, outputs map[string]string) error {
	key := OutputKey(call.ID, "notification.json")
	if _, err := n.Blob.Stat(ctx, key); err == nil {
		return nil // already notified (an attempt finished before a crash)
	}
	b, err := EncodeJSON(Notification{
		CallID: call.ID, Party: call.Party, Direction: call.Direction,
		Turns: len(doc.Transcript), Outputs: outputs, SentAt: time.Now().UTC(),
	})
	if err != nil {
		return err
	}
	if err := n.Blob.Put(ctx, key, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("record notification: %w", err)
	}
	n.Logger.Info("call processed", "call_id", call.ID, "party", call.Party, "outputs", outputs)
	return nil
}
