package report

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/gomutex/godocx/common/constants"
	"github.com/gomutex/godocx/common/units"
	"github.com/gomutex/godocx/dml"
	"github.com/gomutex/godocx/dml/dmlct"
	"github.com/gomutex/godocx/dml/dmlpic"
	"github.com/gomutex/godocx/docx"
	"github.com/gomutex/godocx/packager"
	"github.com/gomutex/godocx/wml/ctypes"
	"github.com/gomutex/godocx/wml/stypes"
)

// The DOCX is written with github.com/gomutex/godocx, which does the list
// of the issue: real styles (our own, see docxparts.go), tables with a
// style, grid column widths and cell shading, pictures with an explicit
// size. Where its API stops, this file uses godocx's exported element
// types directly:
//   - repeated header rows: w:tblHeader set on the row's properties
//     (Table.GetCT), as the Row wrapper has no setter;
//   - pictures from memory: godocx only reads them from a file path (and
//     adds a duplicate <Default Extension> per picture), so the part, its
//     relationship and the inline drawing are added here;
//   - the footer and the core properties are parts of our package.
// Every cell gets an explicit fill (godocx gives each cell a white fill,
// which would hide a table style's shading) and header cells an explicit
// white bold text.

// Fills of table cells.
const (
	fillHeader       = "1F3A5F"
	fillLabel        = "F1F4F8"
	fillWhite        = "FFFFFF"
	fillIssue        = "FDECEC"
	fillInterruption = "EEE8FD"
	fillCategory     = "E2F3EE"
)

// docWriter builds the document body.
type docWriter struct {
	rd *docx.RootDoc
}

// renderDOCX writes the report as a Word document.
func renderDOCX(m *model, ch chartSet) ([]byte, error) {
	pkg, err := templatePackage()
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	rd, err := packager.Unpack(&pkg)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	w := &docWriter{rd: rd}
	if err := w.body(m, ch); err != nil {
		return nil, err
	}
	rd.FileMap.Store("word/footer1.xml", footerPart(m))
	rd.FileMap.Store("docProps/core.xml", corePart(m, m.now))
	rd.FileMap.Store("docProps/app.xml", []byte(partApp))
	var buf bytes.Buffer
	if err := rd.Write(&buf); err != nil {
		return nil, fmt.Errorf("write DOCX: %w", err)
	}
	return buf.Bytes(), nil
}

// Section titles, in the document's order (the tests check them).
const (
	secSummary    = "Summary"
	secOverview   = "Talk time and sentiment"
	secTimeline   = "Timeline"
	secDetails    = "Details"
	secCategories = "Categories"
	secDetections = "Issues and action items"
	secQuarters   = "Sentiment by quarter"
	secSpeakers   = "Talk speed"
	secTranscript = "Transcript"
	secConfidence = "Word confidence"
)

func (w *docWriter) body(m *model, ch chartSet) error {
	rd := w.rd
	if _, err := rd.AddHeading(m.Title, 0); err != nil {
		return err
	}
	if m.Subtitle != "" {
		w.para("Subtitle", m.Subtitle)
	}

	// 1. Summary.
	w.heading(secSummary, 1)
	t := w.table([]int{2700, contentWidth - 2700}, nil)
	for _, f := range m.Summary {
		row := w.row(t, false)
		w.cell(row, 2700, fillLabel, "TableText").AddText(f.Label).Style("Strong").Bold(true)
		w.cell(row, contentWidth-2700, fillWhite, "TableText").AddText(f.Value)
	}

	// 2. Talk time and sentiment.
	w.heading(secOverview, 1)
	if ch.Talk == nil && ch.Sentiment == nil {
		w.para("Note", "No speech was transcribed, so there is no talk time or sentiment to show.")
	} else {
		half := contentWidth / 2
		lt := w.rd.AddTable()
		lt.Style("LayoutTable")
		lt.Width(contentWidth, stypes.TableWidthDxa)
		lt.Layout(stypes.TableLayoutFixed)
		lt.Grid(uint64(half), uint64(contentWidth-half))
		row := w.row(lt, true)
		for _, c := range []*chart{ch.Talk, ch.Sentiment} {
			p := w.cell(row, half, fillWhite, "Figure")
			if c != nil {
				if err := w.picture(p, c); err != nil {
					return err
				}
			} else {
				p.AddText("No sentiment by quarter in this transcript.").Italic(true)
			}
		}
		w.para("Caption", "Left: how the recorded time divides between the speakers and silence. Right: each speaker's sentiment in each quarter of the call, from −5 (negative) to +5 (positive).")
	}

	// 3. Timeline.
	w.heading(secTimeline, 1)
	if ch.Timeline == nil {
		w.para("Note", "The call has no recorded length, so there is no timeline.")
	} else {
		p := w.rd.AddEmptyParagraph()
		p.Style("Figure")
		if err := w.picture(p, ch.Timeline); err != nil {
			return err
		}
		w.para("Caption", "Loudness of each speaker (0–100) over the call; below it, one bar per turn coloured by its sentiment. Grey bands are silences of 3 s or more, violet marks show where one side talked over the other"+
			map[bool]string{true: ", amber bands where the recording was paused.", false: "."}[len(m.Pauses) > 0])
	}

	// 4. Details.
	w.heading(secDetails, 1)
	w.heading(secCategories, 2)
	if len(m.Categories) == 0 {
		w.para("Note", "No category matched this call.")
	} else {
		widths := []int{3000, 1300, contentWidth - 4300}
		t := w.table(widths, []string{"Category", "Matches", "Time in the call"})
		for _, c := range m.Categories {
			w.textRow(t, widths, fillWhite, c.Name, c.Matches, c.Times)
		}
	}
	w.heading(secDetections, 2)
	if len(m.Detections) == 0 {
		w.para("Note", "No issues, action items or outcomes were detected.")
	} else {
		widths := []int{900, 1300, 1400, contentWidth - 3600}
		t := w.table(widths, []string{"Time", "Speaker", "Type", "What was said"})
		for _, d := range m.Detections {
			row := w.row(t, true)
			w.cell(row, widths[0], fillWhite, "TableText").AddText(d.Time)
			w.cell(row, widths[1], fillWhite, "TableText").AddText(d.Speaker)
			markRun(w.cell(row, widths[2], fillWhite, "TableText").AddText(d.Kind), detectionMark(d.Kind))
			w.cell(row, widths[3], fillWhite, "TranscriptText").AddText(d.Text)
		}
	}
	w.heading(secQuarters, 2)
	if len(m.Quarters) == 0 && m.Overall[owner] == nil && m.Overall[other] == nil {
		w.para("Note", "The transcript has no sentiment scores.")
	} else {
		widths := []int{1500, 2200, (contentWidth - 3700) / 2, contentWidth - 3700 - (contentWidth-3700)/2}
		t := w.table(widths, []string{"Period", "Time", m.Names[owner], m.Names[other]})
		for _, q := range m.Quarters {
			w.textRow(t, widths, fillWhite, q.Label, orDash(q.Range), scoreText(q.Score[owner]), scoreText(q.Score[other]))
		}
		row := w.row(t, true)
		for i, v := range []string{"Whole call", "", scoreText(m.Overall[owner]), scoreText(m.Overall[other])} {
			w.cell(row, widths[i], fillLabel, "TableText").AddText(v).Style("Strong").Bold(true)
		}
		w.para("Caption", "Scores run from −5 (negative) to +5 (positive); “—” means the speaker said nothing in that period.")
	}
	w.heading(secSpeakers, 2)
	{
		widths := []int{1638, 1200, 1000, 1300, 1000, 900, 1200, 1400}
		t := w.table(widths, []string{"Speaker", "Talk time", "Share", "Words per minute", "Words", "Turns", "Interruptions made", "Sentiment"})
		for _, s := range m.Speakers {
			w.textRow(t, widths, fillWhite, s.Name, s.TalkTime, s.Share, s.WordsPerMin, s.Words, s.Turns, s.Interruptions, s.Sentiment)
		}
	}

	// 5. Transcript.
	w.heading(secTranscript, 1)
	if len(m.Turns) == 0 {
		w.para("Note", "No speech was transcribed in this call.")
	} else {
		w.transcriptLegend(m)
		widths := []int{850, 750, 1300, 1100, contentWidth - 4000}
		t := w.table(widths, []string{"Start", "Length", "Speaker", "Sentiment", "Text"})
		for i := range m.Turns {
			w.turn(t, widths, &m.Turns[i])
		}
	}

	// 6. Word confidence.
	if ch.Histogram != nil {
		w.heading(secConfidence, 1)
		p := w.rd.AddEmptyParagraph()
		p.Style("Figure")
		if err := w.picture(p, ch.Histogram); err != nil {
			return err
		}
		w.para("Caption", fmt.Sprintf("How many words the engine recognised with each confidence; %s of %s are below %s.",
			thousands(m.LowWords), plural(m.Words, "word", "words"), percent(m.LowConfidence)))
	}
	return nil
}

// heading adds a heading of level 1 or 2.
func (w *docWriter) heading(text string, level uint) {
	p := w.rd.AddEmptyParagraph()
	p.Style("Heading" + strconv.Itoa(int(level)))
	p.AddText(text)
}

// para adds a paragraph of a style.
func (w *docWriter) para(style, text string) *docx.Paragraph {
	p := w.rd.AddEmptyParagraph()
	p.Style(style)
	p.AddText(text)
	return p
}

// table adds a table in the report style with fixed column widths (in
// twentieths of a point) and, when header is set, a header row repeated on
// every page.
func (w *docWriter) table(widths []int, header []string) *docx.Table {
	t := w.rd.AddTable()
	t.Style("ReportTable")
	total := 0
	grid := make([]uint64, len(widths))
	for i, v := range widths {
		total += v
		grid[i] = uint64(v)
	}
	t.Width(total, stypes.TableWidthDxa)
	t.Layout(stypes.TableLayoutFixed)
	t.Grid(grid...)
	look := "04A0"
	if header == nil {
		look = "0480" // no header row formatting
	}
	t.GetCT().TableProp.TableLook = ctypes.NewCTString(look)
	if header != nil {
		row := t.AddRow()
		for i, h := range header {
			p := w.cell(row, widths[i], fillHeader, "TableHeading")
			p.AddText(h).Bold(true).Color("FFFFFF")
		}
		rows := t.GetCT().RowContents
		prop := rows[len(rows)-1].Row.Property
		prop.Header = &ctypes.OnOff{}
		prop.CantSplit = &ctypes.OnOff{}
	}
	return t
}

// row adds a row; keep forbids splitting it across pages.
func (w *docWriter) row(t *docx.Table, keep bool) *docx.Row {
	r := t.AddRow()
	if keep {
		rows := t.GetCT().RowContents
		rows[len(rows)-1].Row.Property.CantSplit = &ctypes.OnOff{}
	}
	return r
}

// cell adds a cell of a width and fill with an empty paragraph of a style.
func (w *docWriter) cell(r *docx.Row, width int, fill, style string) *docx.Paragraph {
	c := r.AddCell()
	c.Width(width, stypes.TableWidthDxa)
	c.BackgroundColor(fill)
	p := c.AddEmptyPara()
	p.Style(style)
	return p
}

// textRow adds a row of plain text cells.
func (w *docWriter) textRow(t *docx.Table, widths []int, fill string, cells ...string) {
	row := w.row(t, true)
	for i, v := range cells {
		w.cell(row, widths[i], fill, "TableText").AddText(v)
	}
}

// turn adds one row of the transcript.
func (w *docWriter) turn(t *docx.Table, widths []int, tr *turnRow) {
	fill := fillWhite
	switch tr.Highlight {
	case hlIssue:
		fill = fillIssue
	case hlInterruption:
		fill = fillInterruption
	case hlCategory:
		fill = fillCategory
	}
	row := w.row(t, false)
	w.cell(row, widths[0], fill, "TableText").AddText(tr.Start)
	w.cell(row, widths[1], fill, "TableText").AddText(tr.Length)
	w.cell(row, widths[2], fill, "TableText").AddText(tr.Name).Bold(true).Color(hex(speakerColour(tr.Speaker)))
	sp := w.cell(row, widths[3], fill, "TableText")
	if label := sentimentLabel(tr.Sentiment); label != "" {
		sp.AddText(label).Color(hex(sentimentColour(tr.Sentiment)))
	}
	c := row.AddCell()
	c.Width(widths[4], stypes.TableWidthDxa)
	c.BackgroundColor(fill)
	p := c.AddEmptyPara()
	p.Style("TranscriptText")
	if rightToLeft(tr.text()) {
		p.GetCT().Property.Bidi = &ctypes.OnOff{}
	}
	for _, pc := range tr.Pieces {
		markRun(p.AddText(pc.Text), pc.Mark)
	}
	if len(tr.Notes) > 0 {
		n := c.AddEmptyPara()
		n.Style("TableNote")
		n.AddText(joinNotes(tr.Notes))
	}
}

// markRun formats a run of transcript text by its marks: a character
// style (so that a reader can restyle them in Word) and the same format
// set directly, because LibreOffice lets a table style's text properties
// override a character style's colour.
func markRun(r *docx.Run, mk mark) {
	switch {
	case mk&markIssue != 0:
		r.Style("IssueText").Bold(true).Color(colIssueText)
	case mk&markAction != 0:
		r.Style("ActionText").Bold(true).Color(colActionText)
	case mk&markOutcome != 0:
		r.Style("OutcomeText").Bold(true).Color(colOutcomeText)
	case mk&markLow != 0:
		r.Style("LowConfidence")
	}
	if mk&markLow != 0 {
		r.Color(hex(colLow))
	}
}

// transcriptLegend explains the transcript's highlights with samples.
func (w *docWriter) transcriptLegend(m *model) {
	p := w.rd.AddEmptyParagraph()
	p.Style("Caption")
	p.AddText("Row shading: ")
	p.AddText(" issue ").Shading(stypes.ShdClear, "auto", fillIssue)
	p.AddText(" ")
	p.AddText(" interruption ").Shading(stypes.ShdClear, "auto", fillInterruption)
	p.AddText(" ")
	p.AddText(" category match ").Shading(stypes.ShdClear, "auto", fillCategory)
	p.AddText(". In the text: ")
	markRun(p.AddText("issue"), markIssue)
	p.AddText(", ")
	markRun(p.AddText("action item"), markAction)
	p.AddText(", ")
	markRun(p.AddText("outcome"), markOutcome)
	if m.LowConfidence > 0 {
		p.AddText(", ")
		markRun(p.AddText("words recognised with less than "+percent(m.LowConfidence)+" confidence"), markLow)
	}
	p.AddText(".")
}

// picture adds a chart to a paragraph as an inline PNG of the chart's size.
func (w *docWriter) picture(p *docx.Paragraph, c *chart) error {
	rd := w.rd
	rd.ImageCount++
	n := rd.ImageCount
	name := fmt.Sprintf("chart%d.png", n)
	rd.FileMap.Store(constants.MediaPath+name, c.PNG)
	rid := "rId" + strconv.Itoa(rd.Document.IncRelationID())
	rd.Document.DocRels.Relationships = append(rd.Document.DocRels.Relationships, &docx.Relationship{
		ID: rid, Type: constants.SourceRelationshipImage, Target: "media/" + name,
	})
	wEmu, hEmu := units.Inch(c.Width).ToEmu(), units.Inch(c.Height).ToEmu()
	inline := dml.NewInline(*dmlct.NewPostvSz2D(wEmu, hEmu),
		dml.DocProp{ID: uint64(n), Name: fmt.Sprintf("Chart %d", n), Description: c.Alt},
		*dml.NewPicGraphic(dmlpic.NewPic(rid, n, wEmu, hEmu)))
	p.GetCT().Children = append(p.GetCT().Children, ctypes.ParagraphChild{Run: &ctypes.Run{
		Children: []ctypes.RunChild{{Drawing: &dml.Drawing{Inline: []dml.Inline{inline}}}},
	}})
	return nil
}

// detectionMark is the mark of a detection's kind.
func detectionMark(kind string) mark {
	switch kind {
	case "Issue":
		return markIssue
	case "Action item":
		return markAction
	}
	return markOutcome
}
