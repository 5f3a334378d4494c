package report

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/display"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
)

// The model is the report's content, computed once from the call and its
// document and rendered by both the DOCX and the HTML writers, so that they
// say the same thing.

// Speakers by channel: 0 the owner (AGENT), 1 the other party (CUSTOMER).
const (
	owner = 0
	other = 1
)

// field is one row of the summary table.
type field struct {
	Label, Value string
}

// span is a stretch of the call, as offsets from its start.
type span struct {
	Begin, End time.Duration
}

// interruption is a span where speaker (the interrupter) talked over the
// other side.
type interruption struct {
	Speaker int
	span
}

// mark flags characters of a turn's text.
type mark uint8

const (
	markLow     mark = 1 << iota // a word below the confidence threshold
	markIssue                    // inside a detected issue
	markAction                   // inside a detected action item
	markOutcome                  // inside a detected outcome
)

// piece is a stretch of a turn's text with the same marks.
type piece struct {
	Text string
	Mark mark
}

// Highlights of a transcript row, in order of precedence.
const (
	hlNone = iota
	hlIssue
	hlInterruption
	hlCategory
)

// turnRow is one row of the transcript table.
type turnRow struct {
	Begin, End time.Duration
	Start      string // clock time
	Length     string
	Speaker    int
	Name       string
	Sentiment  string // POSITIVE, NEGATIVE, MIXED, NEUTRAL or ""
	Pieces     []piece
	Highlight  int
	Notes      []string
}

// detectionRow is one issue, action item or outcome.
type detectionRow struct {
	Time, Speaker, Kind, Text string
}

// categoryRow is one matched category.
type categoryRow struct {
	Name    string
	Matches string // "2" or "whole call"
	Times   string
}

// quarterRow is the sentiment of both speakers in one period.
type quarterRow struct {
	Label, Range string
	Score        [2]*float64
}

// speakerRow is one speaker's figures.
type speakerRow struct {
	Name          string
	TalkTime      string
	Share         string
	WordsPerMin   string
	Words         string
	Turns         string
	Interruptions string
	Sentiment     string
}

// sentimentSpan is one turn on the timeline.
type sentimentSpan struct {
	Speaker   int
	Sentiment string
	span
}

// loudnessPoint is one LoudnessScore (0…100) at an offset.
type loudnessPoint struct {
	At    time.Duration
	Value float64
}

// model is everything the report shows.
type model struct {
	CallID    string
	Title     string
	Subtitle  string
	Generated string
	now       time.Time
	Names     [2]string
	Summary   []field

	Duration time.Duration
	Long     bool // an hour or more: offsets as h:mm:ss

	// Talk-time split.
	Talk    [2]time.Duration
	Neither time.Duration

	Quarters    []quarterRow
	Overall     [2]*float64
	Speakers    []speakerRow
	Categories  []categoryRow
	Detections  []detectionRow
	Turns       []turnRow
	Interrupted int // turns highlighted for an interruption
	IssueTurns  int
	CatTurns    int

	// Timeline.
	Loudness   [2][]loudnessPoint
	Segments   []sentimentSpan
	Silences   []span
	Interrupts []interruption
	Pauses     []span

	// Word confidence.
	Words         int
	LowWords      int
	Confidences   []float64
	LowConfidence float64
}

// roleOf returns the speaker of a participant role (unknown roles count as
// the other party, as transcript.Role does).
func roleOf(role string) int {
	if role == transcript.Agent {
		return owner
	}
	return other
}

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

// buildModel computes the report's content. It never fails: missing data
// is reported as such.
func buildModel(call *store.Call, doc *transcript.Document, opt Options) *model {
	m := &model{LowConfidence: opt.LowConfidence}
	m.Names = [2]string{"Owner", "Other party"}
	if n := clean(opt.OwnerName); n != "" {
		m.Names[owner] = n
	}
	m.CallID = clean(call.ID)
	if m.CallID == "" {
		m.CallID = "unknown"
	}
	m.now = opt.Now()
	m.Generated = m.now.In(opt.Location).Format("2 January 2006, 15:04 MST")

	m.Duration = doc.Duration()
	if md := doc.CallrecMetadata; md != nil {
		m.Duration = max(m.Duration, ms(md.DurationMillis))
	}
	m.Duration = max(m.Duration, ms(call.RecordingDurationMS))
	for i := range doc.Transcript {
		m.Duration = max(m.Duration, ms(doc.Transcript[i].EndOffsetMillis))
	}
	m.Long = m.Duration >= time.Hour

	m.buildTurns(doc)
	m.buildTalk(doc)
	m.buildTimeline(call, doc)
	m.buildSentiment(doc)
	m.buildSpeakers(doc)
	m.buildCategories(doc)
	m.buildSummary(call, doc, opt)
	return m
}

// buildTurns fills the transcript rows, the detections and the word
// confidences.
func (m *model) buildTurns(doc *transcript.Document) {
	cc := &doc.ConversationCharacteristics
	// Interruptions, by who interrupted.
	for _, role := range sortedKeys(cc.Interruptions.InterruptionsByInterrupter) {
		for _, s := range cc.Interruptions.InterruptionsByInterrupter[role] {
			if s.EndOffsetMillis < s.BeginOffsetMillis {
				continue
			}
			m.Interrupts = append(m.Interrupts, interruption{Speaker: roleOf(role), span: span{ms(s.BeginOffsetMillis), ms(s.EndOffsetMillis)}})
		}
	}
	sort.Slice(m.Interrupts, func(i, j int) bool { return m.Interrupts[i].Begin < m.Interrupts[j].Begin })

	m.Turns = make([]turnRow, 0, len(doc.Transcript))
	for i := range doc.Transcript {
		t := &doc.Transcript[i]
		sp := roleOf(t.ParticipantRole)
		row := turnRow{
			Begin: ms(t.BeginOffsetMillis), End: ms(t.EndOffsetMillis),
			Speaker: sp, Name: m.Names[sp], Sentiment: strings.ToUpper(clean(t.Sentiment)),
		}
		row.Start = display.Clock(row.Begin, m.Long)
		row.Length = shortLength(row.End - row.Begin)
		row.Pieces = m.pieces(t)
		for _, d := range []struct {
			kind string
			list []transcript.Detection
		}{{"Issue", t.IssuesDetected}, {"Action item", t.ActionItemsDetected}, {"Outcome", t.OutcomesDetected}} {
			for _, det := range d.list {
				text := clean(det.CharacterOffsets.Text(t.Content))
				if text == "" {
					text = clean(t.Content)
				}
				m.Detections = append(m.Detections, detectionRow{Time: row.Start, Speaker: row.Name, Kind: d.kind, Text: text})
			}
			if len(d.list) > 0 {
				row.Notes = append(row.Notes, d.kind)
			}
		}
		if len(t.IssuesDetected) > 0 {
			row.Highlight = hlIssue
			m.IssueTurns++
		}
		m.Turns = append(m.Turns, row)
	}
	m.markInterruptions()
}

// markInterruptions notes each interruption on the turn of the
// interrupter that it falls in: the one overlapping it most, else the one
// nearest (within 2 s).
func (m *model) markInterruptions() {
	for _, in := range m.Interrupts {
		best, bestOverlap := -1, time.Duration(-1)
		nearest, nearestDist := -1, 2*time.Second+1
		for i := range m.Turns {
			t := &m.Turns[i]
			if t.Speaker != in.Speaker {
				continue
			}
			if ov := min(t.End, in.End) - max(t.Begin, in.Begin); ov >= 0 && ov > bestOverlap {
				best, bestOverlap = i, ov
			}
			dist := max(t.Begin-in.Begin, in.Begin-t.End, 0)
			if dist < nearestDist {
				nearest, nearestDist = i, dist
			}
		}
		if best < 0 {
			best = nearest
		}
		if best < 0 {
			continue
		}
		t := &m.Turns[best]
		t.Notes = append(t.Notes, fmt.Sprintf("Interrupts %s (%s of overlap)", m.object(1-in.Speaker), display.Duration(in.End-in.Begin)))
		if t.Highlight == hlNone || t.Highlight == hlCategory {
			t.Highlight = hlInterruption
			m.Interrupted++
		}
	}
}

// object names a speaker inside a sentence: "the owner", "the other
// party", or the owner's name.
func (m *model) object(sp int) string {
	switch m.Names[sp] {
	case "Owner":
		return "the owner"
	case "Other party":
		return "the other party"
	}
	return m.Names[sp]
}

// pieces splits a turn's text by marks: words below the confidence
// threshold (found by aligning the items with the text) and the detected
// issues, action items and outcomes (by character offsets).
func (m *model) pieces(t *transcript.Turn) []piece {
	content := t.Content
	if strings.TrimSpace(content) == "" && len(t.Items) > 0 {
		content = joinItems(t.Items)
	}
	content = strings.ToValidUTF8(content, "\uFFFD")
	if strings.TrimSpace(content) == "" {
		return nil
	}
	marks := make([]mark, len(content))
	// Words, aligned in order.
	cur := 0
	for _, it := range t.Items {
		if it.Type == transcript.Punctuation {
			continue
		}
		w := strings.TrimSpace(it.Content)
		if w == "" {
			continue
		}
		conf := it.Confidence
		if math.IsNaN(conf) {
			conf = 0
		}
		m.Words++
		m.Confidences = append(m.Confidences, conf)
		low := m.LowConfidence > 0 && conf < m.LowConfidence
		if low {
			m.LowWords++
		}
		i := strings.Index(content[cur:], w)
		if i < 0 {
			continue
		}
		if low {
			for k := cur + i; k < cur+i+len(w); k++ {
				marks[k] |= markLow
			}
		}
		cur += i + len(w)
	}
	// Detections, by character offsets.
	var bytePos []int // byte offset of each character, plus the end
	for i := range content {
		bytePos = append(bytePos, i)
	}
	bytePos = append(bytePos, len(content))
	apply := func(list []transcript.Detection, mk mark) {
		for _, d := range list {
			b := max(0, min(d.CharacterOffsets.Begin, len(bytePos)-1))
			e := max(b, min(d.CharacterOffsets.End, len(bytePos)-1))
			for k := bytePos[b]; k < bytePos[e]; k++ {
				marks[k] |= mk
			}
		}
	}
	apply(t.IssuesDetected, markIssue)
	apply(t.ActionItemsDetected, markAction)
	apply(t.OutcomesDetected, markOutcome)

	var out []piece
	start := 0
	for i := 1; i <= len(content); i++ {
		if i == len(content) || marks[i] != marks[start] {
			if txt := sanitize(content[start:i]); txt != "" {
				out = append(out, piece{Text: txt, Mark: marks[start]})
			}
			start = i
		}
	}
	// Trim the text's ends.
	for len(out) > 0 {
		out[0].Text = strings.TrimLeftFunc(out[0].Text, unicode.IsSpace)
		if out[0].Text != "" {
			break
		}
		out = out[1:]
	}
	for len(out) > 0 {
		n := len(out) - 1
		out[n].Text = strings.TrimRightFunc(out[n].Text, unicode.IsSpace)
		if out[n].Text != "" {
			break
		}
		out = out[:n]
	}
	return out
}

// text returns the turn's whole text.
func (t *turnRow) text() string {
	var b strings.Builder
	for _, p := range t.Pieces {
		b.WriteString(p.Text)
	}
	return b.String()
}

// joinItems rebuilds a turn's text from its items: words separated by
// spaces, punctuation attached to the word before.
func joinItems(items []transcript.Item) string {
	var b strings.Builder
	for _, it := range items {
		if it.Type != transcript.Punctuation && b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(it.Content)
	}
	return b.String()
}

// buildTalk fills the talk-time split: each side's talk time and the rest
// of the call (nobody speaking).
func (m *model) buildTalk(doc *transcript.Document) {
	tt := doc.ConversationCharacteristics.TalkTime.DetailsByParticipant
	for sp, role := range transcript.Roles() {
		if d, ok := tt[role]; ok && d.TotalTimeMillis > 0 {
			m.Talk[sp] = ms(d.TotalTimeMillis)
		}
	}
	if m.Talk[owner] == 0 && m.Talk[other] == 0 {
		// No talk time in the document: the turns' lengths.
		for _, t := range m.Turns {
			m.Talk[t.Speaker] += t.End - t.Begin
		}
	}
	// Overlapping speech counts for both sides: take the interruptions
	// back once so that the three parts add up to the call.
	var overlap time.Duration
	for _, in := range m.Interrupts {
		overlap += in.End - in.Begin
	}
	m.Neither = max(0, m.Duration-(m.Talk[owner]+m.Talk[other]-overlap))
}

// buildTimeline fills the loudness, the turns' sentiment, the silences
// and the recording's pauses.
func (m *model) buildTimeline(call *store.Call, doc *transcript.Document) {
	for i := range doc.Transcript {
		t := &doc.Transcript[i]
		sp := roleOf(t.ParticipantRole)
		begin := ms(t.BeginOffsetMillis)
		for k, v := range t.LoudnessScores {
			if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
				continue
			}
			m.Loudness[sp] = append(m.Loudness[sp], loudnessPoint{At: begin + time.Duration(k)*time.Second + time.Second/2, Value: max(0, min(100, *v))})
		}
		m.Segments = append(m.Segments, sentimentSpan{Speaker: sp, Sentiment: strings.ToUpper(t.Sentiment), span: span{begin, ms(t.EndOffsetMillis)}})
	}
	for sp := range m.Loudness {
		pts := m.Loudness[sp]
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].At < pts[j].At })
	}
	for _, s := range doc.ConversationCharacteristics.NonTalkTime.Instances {
		if s.EndOffsetMillis > s.BeginOffsetMillis {
			m.Silences = append(m.Silences, span{ms(s.BeginOffsetMillis), ms(s.EndOffsetMillis)})
		}
	}
	// Pauses of the recording, as offsets from its start (when the other
	// party answered, else when the call started).
	start := call.StartedAt
	if call.AnsweredAt != nil {
		start = *call.AnsweredAt
	}
	if start.IsZero() {
		return
	}
	for _, p := range call.Pauses {
		end := start.Add(m.Duration)
		if p.End != nil {
			end = *p.End
		} else if call.EndedAt != nil {
			end = *call.EndedAt
		}
		b, e := max(0, p.Start.Sub(start)), min(m.Duration, end.Sub(start))
		if e > b {
			m.Pauses = append(m.Pauses, span{b, e})
		}
	}
}

// buildSentiment fills the quarters and the whole call's sentiment.
func (m *model) buildSentiment(doc *transcript.Document) {
	s := doc.ConversationCharacteristics.Sentiment
	for sp, role := range transcript.Roles() {
		if v, ok := s.OverallSentiment[role]; ok && !math.IsNaN(v) {
			m.Overall[sp] = &v
		}
	}
	n := 0
	for _, role := range transcript.Roles() {
		n = max(n, len(s.SentimentByPeriod.Quarter[role]))
	}
	for q := range n {
		row := quarterRow{Label: fmt.Sprintf("Q%d", q+1)}
		for sp, role := range transcript.Roles() {
			list := s.SentimentByPeriod.Quarter[role]
			if q >= len(list) {
				continue
			}
			p := list[q]
			v := p.Score
			if !math.IsNaN(v) {
				row.Score[sp] = &v
			}
			if row.Range == "" && p.EndOffsetMillis > p.BeginOffsetMillis {
				row.Range = clockRange(ms(p.BeginOffsetMillis), ms(p.EndOffsetMillis), m.Long)
			}
		}
		m.Quarters = append(m.Quarters, row)
	}
	// No whole-call figure but quarters: their mean.
	for sp := range m.Overall {
		if m.Overall[sp] != nil {
			continue
		}
		var sum float64
		var k int
		for _, q := range m.Quarters {
			if q.Score[sp] != nil {
				sum += *q.Score[sp]
				k++
			}
		}
		if k > 0 {
			v := sum / float64(k)
			m.Overall[sp] = &v
		}
	}
}

// buildSpeakers fills the per-speaker figures.
func (m *model) buildSpeakers(doc *transcript.Document) {
	cc := &doc.ConversationCharacteristics
	var words, turns, interruptions [2]int
	for i := range doc.Transcript {
		t := &doc.Transcript[i]
		sp := roleOf(t.ParticipantRole)
		turns[sp]++
		if w := len(t.Words()); w > 0 {
			words[sp] += w
		} else {
			words[sp] += countWords(t.Content)
		}
	}
	for _, in := range m.Interrupts {
		interruptions[in.Speaker]++
	}
	for sp, role := range transcript.Roles() {
		row := speakerRow{Name: m.Names[sp], TalkTime: display.Duration(m.Talk[sp]), Share: "—",
			Words: thousands(words[sp]), Turns: thousands(turns[sp]), Interruptions: thousands(interruptions[sp]), Sentiment: "—"}
		if total := m.Talk[owner] + m.Talk[other] + m.Neither; total > 0 {
			// As in the talk-time chart: shares of talk, talk and silence.
			row.Share = percent(float64(m.Talk[sp]) / float64(total))
		}
		wpm := cc.TalkSpeed.DetailsByParticipant[role].AverageWordsPerMinute
		if wpm <= 0 && m.Talk[sp] > 0 && words[sp] > 0 {
			wpm = math.Round(float64(words[sp]) / m.Talk[sp].Minutes())
		}
		row.WordsPerMin = "—"
		if wpm > 0 && !math.IsInf(wpm, 0) {
			row.WordsPerMin = fmt.Sprintf("%.0f", wpm)
		}
		if v := m.Overall[sp]; v != nil {
			row.Sentiment = score(*v) + " (" + sentimentOf(*v) + ")"
		}
		m.Speakers = append(m.Speakers, row)
	}
}

// countWords counts the words of a text without items (letters or digits
// separated by spaces; scripts without spaces count per character run).
func countWords(s string) int {
	n := 0
	for _, f := range strings.Fields(s) {
		if strings.IndexFunc(f, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			n++
		}
	}
	return n
}

// buildCategories fills the categories and marks the turns they matched.
func (m *model) buildCategories(doc *transcript.Document) {
	c := doc.Categories
	var names []string
	seen := map[string]bool{}
	for _, n := range c.MatchedCategories {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, n := range sortedKeys(c.MatchedDetails) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	const maxTimes = 12
	for _, name := range names {
		ranges := c.MatchedDetails[name].TimestampRanges
		row := categoryRow{Name: clean(name)}
		if row.Name == "" {
			row.Name = "(unnamed)"
		}
		if len(ranges) == 0 {
			row.Matches, row.Times = "whole call", "—"
			m.Categories = append(m.Categories, row)
			continue
		}
		row.Matches = thousands(len(ranges))
		var times []string
		for k, r := range ranges {
			b, e := ms(r.BeginOffsetMillis), ms(r.EndOffsetMillis)
			if k < maxTimes {
				if e > b {
					times = append(times, clockRange(b, e, m.Long))
				} else {
					times = append(times, display.Clock(b, m.Long))
				}
			}
			m.markCategory(row.Name, b, e)
		}
		if len(ranges) > maxTimes {
			times = append(times, fmt.Sprintf("and %d more", len(ranges)-maxTimes))
		}
		row.Times = strings.Join(times, ", ")
		m.Categories = append(m.Categories, row)
	}
}

// markCategory notes a category on the turns its match overlaps (or
// contains, for a point in time).
func (m *model) markCategory(name string, b, e time.Duration) {
	for i := range m.Turns {
		t := &m.Turns[i]
		hit := e > b && t.Begin < e && b < t.End || e <= b && t.Begin <= b && b <= t.End
		if !hit {
			continue
		}
		note := "Category: " + name
		dup := false
		for _, n := range t.Notes {
			if n == note {
				dup = true
			}
		}
		if dup {
			continue
		}
		t.Notes = append(t.Notes, note)
		if t.Highlight == hlNone {
			t.Highlight = hlCategory
			m.CatTurns++
		}
	}
}

// buildSummary fills the title and the summary table.
func (m *model) buildSummary(call *store.Call, doc *transcript.Document, opt Options) {
	party := clean(call.Party)
	m.Title = "Call report"
	var sub []string
	switch call.Direction {
	case store.DirectionOutbound:
		if party != "" {
			sub = append(sub, "Dialled out to "+party)
		} else {
			sub = append(sub, "Dialled out")
		}
	case store.DirectionInbound:
		if party != "" {
			sub = append(sub, "Call in from "+party)
		} else {
			sub = append(sub, "Call in")
		}
	default:
		if party != "" {
			sub = append(sub, "Call with "+party)
		}
	}
	if !call.StartedAt.IsZero() {
		sub = append(sub, shortDateTime(call.StartedAt, opt.Location))
	}
	if len(sub) == 0 {
		sub = append(sub, "Call")
	}
	if m.Duration > 0 {
		sub = append(sub, display.Duration(m.Duration))
	}
	m.Subtitle = strings.Join(sub, " · ")

	add := func(label, value string) { m.Summary = append(m.Summary, field{label, value}) }
	add("Call ID", m.CallID)
	switch call.Direction {
	case store.DirectionOutbound:
		add("Direction", "Dialled out: the owner called through the service number")
	case store.DirectionInbound:
		add("Direction", "Called in: the other party called the service number")
	default:
		add("Direction", "Not known")
	}
	if party == "" {
		party = "Not known"
	}
	add("Other party", party)
	if ownerNum := clean(call.OwnerNumber); ownerNum != "" || opt.OwnerName != "" {
		v := m.Names[owner]
		if ownerNum != "" {
			v += " (" + ownerNum + ")"
		}
		add("Owner", v)
	}
	if call.StartedAt.IsZero() {
		add("Date and time", "Not known")
	} else {
		add("Date and time", dateTime(call.StartedAt, opt.Location))
	}
	add("Duration", m.durationText(call))
	add("Recording", m.recordingText(call, opt.Location))
	if len(call.Quality) > 0 {
		lines := make([]string, 0, len(call.Quality))
		for _, q := range call.Quality {
			who := m.Names[other]
			if q.Leg == "owner" {
				who = m.Names[owner]
			}
			lines = append(lines, who+": "+calls.QualitySummary(q))
		}
		add("Call quality", strings.Join(lines, ". "))
	}
	add("Transcription", transcriptionText(doc))
	if m.Words > 0 {
		var sum float64
		for _, c := range m.Confidences {
			sum += c
		}
		v := fmt.Sprintf("%s over %s", percent(sum/float64(m.Words)), plural(m.Words, "word", "words"))
		if m.LowConfidence > 0 {
			if m.LowWords == 0 {
				v += fmt.Sprintf("; none below %s", percent(m.LowConfidence))
			} else {
				v += fmt.Sprintf("; %s below %s (greyed in the transcript)", thousands(m.LowWords), percent(m.LowConfidence))
			}
		}
		add("Average word confidence", v)
	} else {
		add("Average word confidence", "Not available (no word confidences in the transcript)")
	}
	if len(doc.Transcript) == 0 {
		add("Speech", "No speech was transcribed in this call")
	}
}

// durationText says how long the call and its recording lasted.
func (m *model) durationText(call *store.Call) string {
	var parts []string
	if d := calls.Duration(call); call.AnsweredAt != nil && d > 0 {
		parts = append(parts, display.Duration(d)+" from answer to hang-up")
	}
	if m.Duration > 0 {
		parts = append(parts, display.Duration(m.Duration)+" recorded")
	}
	if len(parts) == 0 {
		return "Not known"
	}
	return strings.Join(parts, "; ")
}

// recordingText says whether the recording is whole: its state, pauses and
// an early stop.
func (m *model) recordingText(call *store.Call, loc *time.Location) string {
	var s string
	switch call.RecordingState {
	case store.RecordingComplete:
		s = "Complete"
	case store.RecordingPartial:
		s = "Partial: the call ended abnormally"
	case store.RecordingStopped:
		s = "Stopped early by the owner"
		if m.Duration > 0 {
			s += " after " + display.Duration(m.Duration)
		}
	case store.RecordingPaused:
		s = "Paused when the call ended"
	case store.RecordingInProgress:
		s = "In progress"
	case store.RecordingNone:
		s = "Not recorded"
	default:
		s = "Not known"
	}
	if n := len(call.Pauses); n > 0 {
		var total time.Duration
		var list []string
		for i, p := range call.Pauses {
			end := call.EndedAt
			if p.End != nil {
				end = p.End
			}
			if end != nil && end.After(p.Start) {
				total += end.Sub(p.Start)
			}
			if i < 6 {
				t := p.Start.In(loc).Format("15:04:05")
				if end != nil {
					t += "–" + end.In(loc).Format("15:04:05")
				} else {
					t += " to the end"
				}
				list = append(list, t)
			}
		}
		if n > 6 {
			list = append(list, fmt.Sprintf("and %d more", n-6))
		}
		times := plural(n, "time", "times")
		if n == 1 {
			times = "once"
		}
		s += fmt.Sprintf("; paused %s for %s (%s)", times, display.Duration(total), strings.Join(list, ", "))
	}
	return s
}

// transcriptionText names the engine and the language.
func transcriptionText(doc *transcript.Document) string {
	engine := ""
	if md := doc.CallrecMetadata; md != nil {
		switch strings.ToLower(md.Engine) {
		case "":
		case "sphinx":
			engine = "PocketSphinx (offline, on this server)"
		case "aws":
			engine = "Amazon Transcribe Call Analytics"
		case "openai":
			engine = "OpenAI-compatible speech-to-text server"
		default:
			engine = clean(md.Engine)
		}
	}
	if engine == "" && doc.JobName != "" {
		engine = "Amazon Transcribe Call Analytics (job " + clean(doc.JobName) + ")"
	}
	if engine == "" {
		engine = "Engine not known"
	}
	lang := clean(doc.LanguageCode)
	if lang == "" {
		lang = "language not known"
	} else {
		lang = "language " + lang
	}
	return engine + "; " + lang
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](mp map[string]V) []string {
	keys := make([]string, 0, len(mp))
	for k := range mp {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
