package report

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"html"
	"image/png"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/callrec/callrec/internal/transcript"
)

// expectedHeadings lists the document's headings in order: the style and
// the text.
func expectedHeadings(withHistogram bool) []docParagraph {
	h := []docParagraph{
		{"Title", "Call report"},
		{"Heading1", secSummary}, {"Heading1", secOverview}, {"Heading1", secTimeline}, {"Heading1", secDetails},
		{"Heading2", secCategories}, {"Heading2", secDetections}, {"Heading2", secQuarters}, {"Heading2", secSpeakers},
		{"Heading1", secTranscript},
	}
	if withHistogram {
		h = append(h, docParagraph{"Heading1", secConfidence})
	}
	return h
}

// turnText is the text a turn must show in every format.
func turnText(t *transcript.Turn) string {
	c := t.Content
	if strings.TrimSpace(c) == "" {
		c = joinItems(t.Items)
	}
	return clean(c)
}

// parseXML reads a whole XML document, failing the test on any error.
func parseXML(t testing.TB, name string, data []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", name, err)
		}
	}
}

type ctTypes struct {
	Default []struct {
		Extension   string `xml:"Extension,attr"`
		ContentType string `xml:"ContentType,attr"`
	} `xml:"Default"`
	Override []struct {
		PartName    string `xml:"PartName,attr"`
		ContentType string `xml:"ContentType,attr"`
	} `xml:"Override"`
}

type relsXML struct {
	Rel []struct {
		ID         string `xml:"Id,attr"`
		Type       string `xml:"Type,attr"`
		Target     string `xml:"Target,attr"`
		TargetMode string `xml:"TargetMode,attr"`
	} `xml:"Relationship"`
}

// checkDOCX checks that data is a valid Word package with the report's
// sections in order, every turn's text, real styles, repeated header rows,
// grid widths, explicit header shading and sized pictures.
func checkDOCX(t testing.TB, data []byte, doc *transcript.Document, withHistogram bool) {
	t.Helper()
	parts := unzip(t, data)
	for name, b := range parts {
		if strings.HasSuffix(name, ".xml") || strings.HasSuffix(name, ".rels") {
			parseXML(t, name, b)
		}
	}

	// [Content_Types].xml covers every part, once.
	var ct ctTypes
	if err := xml.Unmarshal(parts["[Content_Types].xml"], &ct); err != nil {
		t.Fatalf("[Content_Types].xml: %v", err)
	}
	defaults := map[string]string{}
	for _, d := range ct.Default {
		if _, dup := defaults[strings.ToLower(d.Extension)]; dup {
			t.Errorf("[Content_Types].xml: extension %q declared twice", d.Extension)
		}
		defaults[strings.ToLower(d.Extension)] = d.ContentType
	}
	overrides := map[string]string{}
	for _, o := range ct.Override {
		overrides[o.PartName] = o.ContentType
		if _, ok := parts[strings.TrimPrefix(o.PartName, "/")]; !ok {
			t.Errorf("[Content_Types].xml: override for missing part %s", o.PartName)
		}
	}
	for name := range parts {
		if name == "[Content_Types].xml" {
			continue
		}
		if _, ok := overrides["/"+name]; ok {
			continue
		}
		if _, ok := defaults[strings.TrimPrefix(path.Ext(name), ".")]; !ok {
			t.Errorf("[Content_Types].xml: no content type for %s", name)
		}
	}
	if overrides["/word/document.xml"] != "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml" {
		t.Errorf("word/document.xml has content type %q", overrides["/word/document.xml"])
	}

	// Relationships point at parts that exist.
	checkRels := func(relsName, base string) map[string]string {
		var r relsXML
		if err := xml.Unmarshal(parts[relsName], &r); err != nil {
			t.Fatalf("%s: %v", relsName, err)
		}
		ids := map[string]string{}
		for _, rel := range r.Rel {
			if _, dup := ids[rel.ID]; dup {
				t.Errorf("%s: id %s twice", relsName, rel.ID)
			}
			ids[rel.ID] = rel.Target
			if rel.TargetMode == "External" {
				continue
			}
			target := path.Join(base, rel.Target)
			if _, ok := parts[target]; !ok {
				t.Errorf("%s: %s points at missing part %s", relsName, rel.ID, target)
			}
		}
		return ids
	}
	root := checkRels("_rels/.rels", "")
	if !slices.Contains(mapValues(root), "word/document.xml") {
		t.Errorf("_rels/.rels has no officeDocument relationship to word/document.xml")
	}
	docRels := checkRels("word/_rels/document.xml.rels", "word")

	document := parts["word/document.xml"]
	styles := string(parts["word/styles.xml"])

	// Styles used exist, and the headings are real heading styles.
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`<w:pStyle w:val="([^"]+)"`), regexp.MustCompile(`<w:rStyle w:val="([^"]+)"`), regexp.MustCompile(`<w:tblStyle w:val="([^"]+)"`),
	} {
		for _, m := range re.FindAllSubmatch(document, -1) {
			if !strings.Contains(styles, `w:styleId="`+string(m[1])+`"`) {
				t.Errorf("document uses style %s, which styles.xml does not define", m[1])
			}
		}
	}
	for _, s := range []string{`w:styleId="Title"`, `<w:name w:val="heading 1">`, `<w:name w:val="heading 2">`, `w:type="table" w:styleId="ReportTable"`} {
		if !strings.Contains(styles, s) {
			t.Errorf("styles.xml lacks %s", s)
		}
	}

	// Sections in order.
	paras := paragraphs(t, document)
	var heads []docParagraph
	for _, p := range paras {
		if p.Style == "Title" || strings.HasPrefix(p.Style, "Heading") {
			heads = append(heads, p)
		}
	}
	if want := expectedHeadings(withHistogram); !slices.Equal(heads, want) {
		t.Errorf("headings:\n got %v\nwant %v", heads, want)
	}

	// Every turn's text, in order, each in a transcript paragraph.
	var texts []string
	for _, p := range paras {
		if p.Style == "TranscriptText" {
			texts = append(texts, p.Text)
		}
	}
	k := 0
	for i := range doc.Transcript {
		want := turnText(&doc.Transcript[i])
		if want == "" {
			continue
		}
		for k < len(texts) && texts[k] != want {
			k++
		}
		if k == len(texts) {
			t.Errorf("DOCX lacks turn %d's text %q (or it is out of order)", i, want)
			break
		}
		k++
	}

	// Tables: grid widths, header rows repeated, header cells shaded
	// with white text.
	s := string(document)
	tables := strings.Count(s, "<w:tbl>")
	if n := strings.Count(s, "<w:tblGrid>"); n != tables {
		t.Errorf("%d tables, %d with a grid", tables, n)
	}
	if strings.Contains(s, `<w:gridCol w:w="0"`) {
		t.Error("a grid column has no width")
	}
	headers := strings.Count(s, "<w:tblHeader")
	if headers < 1 {
		t.Errorf("%d repeated header rows, want one per data table", headers)
	}
	if n := strings.Count(s, `w:fill="`+fillHeader+`"`); n < 4*headers {
		t.Errorf("%d header cells shaded %s for %d header rows", n, fillHeader, headers)
	}
	if !strings.Contains(s, `<w:color w:val="FFFFFF">`) {
		t.Error("header text colour is not set")
	}

	// Pictures: PNG parts with an explicit size.
	extents := regexp.MustCompile(`<wp:extent cx="(\d+)" cy="(\d+)"`).FindAllStringSubmatch(s, -1)
	embeds := regexp.MustCompile(`r:embed="([^"]+)"`).FindAllStringSubmatch(s, -1)
	if len(extents) != len(embeds) {
		t.Errorf("%d pictures, %d extents", len(embeds), len(extents))
	}
	for _, e := range extents {
		cx, _ := strconv.Atoi(e[1])
		cy, _ := strconv.Atoi(e[2])
		if cx < 914400 || cy < 914400/2 || cx > 914400*7 {
			t.Errorf("picture size %d×%d EMU is not a chart's", cx, cy)
		}
	}
	for _, e := range embeds {
		target, ok := docRels[e[1]]
		if !ok {
			t.Errorf("picture %s has no relationship", e[1])
			continue
		}
		img := parts["word/"+target]
		cfg, err := png.DecodeConfig(bytes.NewReader(img))
		if err != nil {
			t.Errorf("picture %s: %v", target, err)
			continue
		}
		if cfg.Width < 900 {
			t.Errorf("picture %s is %d px wide: not print resolution", target, cfg.Width)
		}
	}
	if len(doc.Transcript) > 0 && len(embeds) < 2 {
		t.Errorf("%d charts in a call with speech, want at least 2", len(embeds))
	}
}

func mapValues(m map[string]string) []string {
	var v []string
	for _, x := range m {
		v = append(v, x)
	}
	return v
}

var (
	tagRE   = regexp.MustCompile(`<[^>]*>`)
	spaceRE = regexp.MustCompile(`\s+`)
)

// checkHTML checks that the HTML is one self-contained page with the
// sections, the charts and every turn's text.
func checkHTML(t testing.TB, data []byte, doc *transcript.Document, withHistogram bool) {
	t.Helper()
	s := string(data)
	if !strings.HasPrefix(s, "<!DOCTYPE html>") {
		t.Error("HTML does not start with <!DOCTYPE html>")
	}
	for _, bad := range []string{"<script", "<link", `src="http`, "@import"} {
		if strings.Contains(s, bad) {
			t.Errorf("HTML contains %q: not self-contained or not inert", bad)
		}
	}
	last := -1
	for _, h := range expectedHeadings(withHistogram)[1:] {
		i := strings.Index(s, ">"+html.EscapeString(h.Text)+"</h")
		if i < 0 {
			t.Errorf("HTML lacks the heading %q", h.Text)
			continue
		}
		if i < last {
			t.Errorf("HTML heading %q is out of order", h.Text)
		}
		last = i
	}
	// Charts inline, at print resolution.
	imgs := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindAllStringSubmatch(s, -1)
	if len(doc.Transcript) > 0 && len(imgs) < 2 {
		t.Errorf("%d inline charts, want at least 2", len(imgs))
	}
	for _, m := range imgs {
		b, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatalf("inline chart: %v", err)
		}
		if _, err := png.DecodeConfig(bytes.NewReader(b)); err != nil {
			t.Errorf("inline chart: %v", err)
		}
	}
	// Every turn: its text, escaped, in the page's text.
	body := s[strings.Index(s, "<body>"):]
	plain := html.UnescapeString(tagRE.ReplaceAllString(body, ""))
	plain = spaceRE.ReplaceAllString(plain, " ")
	for i := range doc.Transcript {
		want := spaceRE.ReplaceAllString(turnText(&doc.Transcript[i]), " ")
		if want != "" && !strings.Contains(plain, want) {
			t.Errorf("HTML lacks turn %d's text %q", i, want)
		}
	}
}
