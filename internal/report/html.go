package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
)

// The HTML report is one self-contained file: inline CSS, the charts as
// PNG data: URIs (the same pictures as in the DOCX), no scripts, no
// external resources. html/template escapes every text.

// htmlChart is a chart as the template uses it.
type htmlChart struct {
	Src           template.URL
	Alt           string
	Width, Height int // CSS pixels (96 per inch)
}

func toHTMLChart(c *chart) *htmlChart {
	if c == nil {
		return nil
	}
	return &htmlChart{
		Src:   template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(c.PNG)),
		Alt:   c.Alt,
		Width: int(c.Width*96 + 0.5), Height: int(c.Height*96 + 0.5),
	}
}

// parseHTMLTemplate parses the report's HTML template.
func parseHTMLTemplate() (*template.Template, error) {
	return template.New("report").Funcs(template.FuncMap{
		"score": scoreText,
		"dash":  orDash,
		"notes": joinNotes,
		"sentiment": func(s string) string {
			return sentimentLabel(s)
		},
		"pieceClass": func(mk mark) string {
			var c string
			switch {
			case mk&markIssue != 0:
				c = "issue"
			case mk&markAction != 0:
				c = "action"
			case mk&markOutcome != 0:
				c = "outcome"
			}
			if mk&markLow != 0 {
				if c != "" {
					c += " "
				}
				c += "low"
			}
			return c
		},
		"rowClass": func(h int) string {
			switch h {
			case hlIssue:
				return "hl-issue"
			case hlInterruption:
				return "hl-int"
			case hlCategory:
				return "hl-cat"
			}
			return ""
		},
		"spk": func(sp int) string {
			if sp == owner {
				return "owner"
			}
			return "other"
		},
		"pct": percent,
	}).Parse(htmlTemplate)
}

// renderHTML writes the report as HTML.
func renderHTML(tmpl *template.Template, m *model, ch chartSet) ([]byte, error) {
	data := struct {
		M                                    *model
		Talk, Sentiment, Timeline, Histogram *htmlChart
		Owner, Other                         int
		S                                    map[string]string
	}{
		M: m, Talk: toHTMLChart(ch.Talk), Sentiment: toHTMLChart(ch.Sentiment),
		Timeline: toHTMLChart(ch.Timeline), Histogram: toHTMLChart(ch.Histogram),
		Owner: owner, Other: other,
		S: map[string]string{
			"summary": secSummary, "overview": secOverview, "timeline": secTimeline, "details": secDetails,
			"categories": secCategories, "detections": secDetections, "quarters": secQuarters,
			"speakers": secSpeakers, "transcript": secTranscript, "confidence": secConfidence,
		},
	}
	var buf bytes.Buffer
	buf.Grow(64<<10 + 400*len(m.Turns))
	if err := tmpl.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("HTML: %w", err)
	}
	return buf.Bytes(), nil
}

const htmlTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="callrec">
<title>{{.M.Title}} · {{.M.CallID}}</title>
<style>
body{margin:0;padding:24px 16px;background:#f4f6f9;color:#1f2933;font:14px/1.45 Calibri,Carlito,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.page{max-width:860px;margin:0 auto;background:#fff;padding:32px 40px;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1.title{font-size:30px;color:#1f3a5f;margin:0 0 4px}
p.subtitle{color:#5b6573;font-size:15px;margin:0 0 20px;padding-bottom:10px;border-bottom:2px solid #1f3a5f}
h2{font-size:20px;color:#1f3a5f;margin:30px 0 10px}
h3{font-size:16px;color:#2e4a6b;margin:22px 0 8px}
table.t{border-collapse:collapse;width:100%;font-size:13px;border-top:1.5px solid #1f3a5f;border-bottom:1.5px solid #1f3a5f}
table.t th{background:#1f3a5f;color:#fff;text-align:left;font-weight:bold;padding:5px 7px;vertical-align:bottom}
table.t td{padding:4px 7px;border-top:1px solid #d5dbe3;vertical-align:top}
table.t td.label{background:#f1f4f8;font-weight:bold;width:28%}
table.t tr.total td{background:#f1f4f8;font-weight:bold}
.num{white-space:nowrap}
.figs{display:flex;flex-wrap:wrap;gap:8px;justify-content:space-between}
.figs img,.fig img{max-width:100%;height:auto}
.fig{text-align:center}
.caption{color:#5b6573;font-size:12px;margin:6px 0 16px}
.note{color:#5b6573;font-style:italic}
.owner{color:#1d4ed8;font-weight:bold}
.other{color:#ea580c;font-weight:bold}
.s-POSITIVE{color:#16a34a}.s-NEGATIVE{color:#dc2626}.s-MIXED{color:#d97706}.s-NEUTRAL{color:#94a3b8}
.issue{color:#b42318;font-weight:bold}.action{color:#0e7490;font-weight:bold}.outcome{color:#15803d;font-weight:bold}
.low{color:#9aa5b1}
tr.hl-issue td{background:#fdecec}tr.hl-int td{background:#eee8fd}tr.hl-cat td{background:#e2f3ee}
.sw{padding:0 4px}.sw.hl-issue{background:#fdecec}.sw.hl-int{background:#eee8fd}.sw.hl-cat{background:#e2f3ee}
.rownote{color:#5b6573;font-style:italic;font-size:11.5px;margin-top:2px}
.footer{color:#5b6573;font-size:12px;margin-top:28px;border-top:1px solid #d5dbe3;padding-top:8px}
@media print{body{background:#fff;padding:0}.page{box-shadow:none;padding:0;max-width:none}thead{display:table-header-group}tr{page-break-inside:avoid}}
</style>
</head>
<body>
<div class="page">
<h1 class="title">{{.M.Title}}</h1>
{{if .M.Subtitle}}<p class="subtitle">{{.M.Subtitle}}</p>{{end}}

<h2 id="summary">{{.S.summary}}</h2>
<table class="t summary">
{{range .M.Summary}}<tr><td class="label">{{.Label}}</td><td>{{.Value}}</td></tr>
{{end}}</table>

<h2 id="overview">{{.S.overview}}</h2>
{{if or .Talk .Sentiment}}<div class="figs">
{{with .Talk}}<img src="{{.Src}}" alt="{{.Alt}}" width="{{.Width}}" height="{{.Height}}">{{end}}
{{with .Sentiment}}<img src="{{.Src}}" alt="{{.Alt}}" width="{{.Width}}" height="{{.Height}}">{{else}}<p class="note">No sentiment by quarter in this transcript.</p>{{end}}
</div>
<p class="caption">Left: how the recorded time divides between the speakers and silence. Right: each speaker's sentiment in each quarter of the call, from −5 (negative) to +5 (positive).</p>
{{else}}<p class="note">No speech was transcribed, so there is no talk time or sentiment to show.</p>{{end}}

<h2 id="timeline">{{.S.timeline}}</h2>
{{with .Timeline}}<div class="fig"><img src="{{.Src}}" alt="{{.Alt}}" width="{{.Width}}" height="{{.Height}}"></div>
<p class="caption">Loudness of each speaker (0–100) over the call; below it, one bar per turn coloured by its sentiment. Grey bands are silences of 3 s or more, violet marks show where one side talked over the other{{if $.M.Pauses}}, amber bands where the recording was paused{{end}}.</p>
{{else}}<p class="note">The call has no recorded length, so there is no timeline.</p>{{end}}

<h2 id="details">{{.S.details}}</h2>
<h3 id="categories">{{.S.categories}}</h3>
{{if .M.Categories}}<table class="t"><thead><tr><th>Category</th><th>Matches</th><th>Time in the call</th></tr></thead><tbody>
{{range .M.Categories}}<tr><td dir="auto">{{.Name}}</td><td>{{.Matches}}</td><td>{{.Times}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="note">No category matched this call.</p>{{end}}

<h3 id="detections">{{.S.detections}}</h3>
{{if .M.Detections}}<table class="t"><thead><tr><th>Time</th><th>Speaker</th><th>Type</th><th>What was said</th></tr></thead><tbody>
{{range .M.Detections}}<tr><td class="num">{{.Time}}</td><td>{{.Speaker}}</td><td class="{{if eq .Kind "Issue"}}issue{{else if eq .Kind "Action item"}}action{{else}}outcome{{end}}">{{.Kind}}</td><td dir="auto">{{.Text}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="note">No issues, action items or outcomes were detected.</p>{{end}}

<h3 id="quarters">{{.S.quarters}}</h3>
{{if or .M.Quarters (index .M.Overall .Owner) (index .M.Overall .Other)}}<table class="t"><thead><tr><th>Period</th><th>Time</th><th>{{index .M.Names .Owner}}</th><th>{{index .M.Names .Other}}</th></tr></thead><tbody>
{{range .M.Quarters}}<tr><td>{{.Label}}</td><td class="num">{{dash .Range}}</td><td>{{score (index .Score $.Owner)}}</td><td>{{score (index .Score $.Other)}}</td></tr>
{{end}}<tr class="total"><td>Whole call</td><td></td><td>{{score (index .M.Overall .Owner)}}</td><td>{{score (index .M.Overall .Other)}}</td></tr>
</tbody></table>
<p class="caption">Scores run from −5 (negative) to +5 (positive); “—” means the speaker said nothing in that period.</p>
{{else}}<p class="note">The transcript has no sentiment scores.</p>{{end}}

<h3 id="speakers">{{.S.speakers}}</h3>
<table class="t"><thead><tr><th>Speaker</th><th>Talk time</th><th>Share</th><th>Words per minute</th><th>Words</th><th>Turns</th><th>Interruptions made</th><th>Sentiment</th></tr></thead><tbody>
{{range .M.Speakers}}<tr><td>{{.Name}}</td><td class="num">{{.TalkTime}}</td><td>{{.Share}}</td><td>{{.WordsPerMin}}</td><td>{{.Words}}</td><td>{{.Turns}}</td><td>{{.Interruptions}}</td><td>{{.Sentiment}}</td></tr>
{{end}}</tbody></table>

<h2 id="transcript">{{.S.transcript}}</h2>
{{if .M.Turns}}<p class="caption">Row shading: <span class="sw hl-issue">issue</span> <span class="sw hl-int">interruption</span> <span class="sw hl-cat">category match</span>. In the text: <span class="issue">issue</span>, <span class="action">action item</span>, <span class="outcome">outcome</span>{{if gt .M.LowConfidence 0.0}}, <span class="low">words recognised with less than {{pct .M.LowConfidence}} confidence</span>{{end}}.</p>
<table class="t transcript"><thead><tr><th>Start</th><th>Length</th><th>Speaker</th><th>Sentiment</th><th>Text</th></tr></thead><tbody>
{{range .M.Turns}}<tr{{with rowClass .Highlight}} class="{{.}}"{{end}}><td class="num">{{.Start}}</td><td class="num">{{.Length}}</td><td class="{{spk .Speaker}}">{{.Name}}</td><td class="s-{{.Sentiment}}">{{sentiment .Sentiment}}</td><td dir="auto">{{range .Pieces}}{{with pieceClass .Mark}}<span class="{{.}}">{{end}}{{.Text}}{{if pieceClass .Mark}}</span>{{end}}{{end}}{{with .Notes}}<div class="rownote">{{notes .}}</div>{{end}}</td></tr>
{{end}}</tbody></table>
{{else}}<p class="note">No speech was transcribed in this call.</p>{{end}}

{{with .Histogram}}<h2 id="confidence">{{$.S.confidence}}</h2>
<div class="fig"><img src="{{.Src}}" alt="{{.Alt}}" width="{{.Width}}" height="{{.Height}}"></div>
<p class="caption">How many words the engine recognised with each confidence; {{$.M.LowWords}} of {{$.M.Words}} words are below {{pct $.M.LowConfidence}}.</p>
{{end}}
<p class="footer">Call report · {{.M.CallID}} · made by callrec on {{.M.Generated}}</p>
</div>
</body>
</html>
`
