package report

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"strings"
	"time"
)

// The DOCX starts from a small package of our own (below) instead of
// godocx's default template: that template is a Word 2011 document whose
// 880 kB of styles, unrelated preview picture and core properties
// ("creator: gomutex", 2013) would ship in every report, and it has no
// footer. godocx reads this package (packager.Unpack) and writes the body.

// Page geometry (twentieths of a point): A4 with 2 cm margins.
const (
	pageWidth    = 11906
	pageHeight   = 16838
	pageMargin   = 1134
	contentWidth = pageWidth - 2*pageMargin // 9638
)

const (
	nsW   = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	nsR   = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	xmlPI = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
)

const partContentTypes = xmlPI + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
	`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
	`<Default Extension="xml" ContentType="application/xml"/>` +
	`<Default Extension="png" ContentType="image/png"/>` +
	`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>` +
	`<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>` +
	`<Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>` +
	`<Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/>` +
	`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>` +
	`<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>` +
	`</Types>`

const partRootRels = xmlPI + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
	`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>` +
	`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>` +
	`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>` +
	`</Relationships>`

// partDocumentRels: godocx numbers the relationships it adds (images)
// after these, so they must be rId1…rId3.
const partDocumentRels = xmlPI + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
	`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>` +
	`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/>` +
	`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer" Target="footer1.xml"/>` +
	`</Relationships>`

const partDocument = xmlPI + `<w:document xmlns:w="` + nsW + `" xmlns:r="` + nsR + `"><w:body>` +
	`<w:sectPr><w:footerReference w:type="default" r:id="rId3"/>` +
	`<w:pgSz w:w="11906" w:h="16838"/>` +
	`<w:pgMar w:top="1134" w:right="1134" w:bottom="1134" w:left="1134" w:header="567" w:footer="567" w:gutter="0"/>` +
	`</w:sectPr></w:body></w:document>`

const partSettings = xmlPI + `<w:settings xmlns:w="` + nsW + `">` +
	`<w:zoom w:percent="100"/><w:defaultTabStop w:val="720"/><w:characterSpacingControl w:val="doNotCompress"/>` +
	`<w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat>` +
	`</w:settings>`

// partStyles are the report's Word styles: the built-in Title, Subtitle,
// Heading 1 and 2, Caption and Footer redefined, a few paragraph and
// character styles of our own, and the table styles "Report Table" (rules
// between rows, a navy header) and "Layout Table" (no borders, no
// margins; for charts side by side).
const partStyles = xmlPI + `<w:styles xmlns:w="` + nsW + `">` +
	`<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Calibri" w:hAnsi="Calibri" w:eastAsia="Calibri" w:cs="Arial"/>` +
	`<w:color w:val="1F2933"/><w:sz w:val="20"/><w:szCs w:val="20"/><w:lang w:val="en-GB" w:eastAsia="en-US" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>` +
	`<w:pPrDefault><w:pPr><w:spacing w:after="120"/></w:pPr></w:pPrDefault></w:docDefaults>` +
	// Paragraph styles.
	`<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:next w:val="Subtitle"/><w:uiPriority w:val="10"/><w:qFormat/>` +
	`<w:pPr><w:spacing w:after="40"/></w:pPr>` +
	`<w:rPr><w:b/><w:bCs/><w:color w:val="1F3A5F"/><w:kern w:val="28"/><w:sz w:val="48"/><w:szCs w:val="48"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Subtitle"><w:name w:val="Subtitle"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:uiPriority w:val="11"/><w:qFormat/>` +
	`<w:pPr><w:pBdr><w:bottom w:val="single" w:sz="12" w:space="8" w:color="1F3A5F"/></w:pBdr><w:spacing w:after="240"/></w:pPr>` +
	`<w:rPr><w:color w:val="5B6573"/><w:sz w:val="22"/><w:szCs w:val="22"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:uiPriority w:val="9"/><w:qFormat/>` +
	`<w:pPr><w:keepNext/><w:keepLines/><w:spacing w:before="320" w:after="120"/><w:outlineLvl w:val="0"/></w:pPr>` +
	`<w:rPr><w:b/><w:bCs/><w:color w:val="1F3A5F"/><w:sz w:val="30"/><w:szCs w:val="30"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:uiPriority w:val="9"/><w:unhideWhenUsed/><w:qFormat/>` +
	`<w:pPr><w:keepNext/><w:keepLines/><w:spacing w:before="240" w:after="80"/><w:outlineLvl w:val="1"/></w:pPr>` +
	`<w:rPr><w:b/><w:bCs/><w:color w:val="2E4A6B"/><w:sz w:val="24"/><w:szCs w:val="24"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Caption"><w:name w:val="caption"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:uiPriority w:val="35"/><w:unhideWhenUsed/><w:qFormat/>` +
	`<w:pPr><w:spacing w:before="60" w:after="200"/></w:pPr><w:rPr><w:color w:val="5B6573"/><w:sz w:val="17"/><w:szCs w:val="17"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:customStyle="1" w:styleId="Note"><w:name w:val="Note"/><w:basedOn w:val="Normal"/><w:qFormat/>` +
	`<w:rPr><w:i/><w:iCs/><w:color w:val="5B6573"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:customStyle="1" w:styleId="Figure"><w:name w:val="Figure"/><w:basedOn w:val="Normal"/>` +
	`<w:pPr><w:keepNext/><w:spacing w:after="0"/><w:jc w:val="center"/></w:pPr></w:style>` +
	`<w:style w:type="paragraph" w:customStyle="1" w:styleId="TableText"><w:name w:val="Table Text"/><w:basedOn w:val="Normal"/><w:qFormat/>` +
	`<w:pPr><w:spacing w:after="0"/></w:pPr><w:rPr><w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:customStyle="1" w:styleId="TableHeading"><w:name w:val="Table Heading"/><w:basedOn w:val="TableText"/><w:qFormat/>` +
	`<w:pPr><w:keepNext/></w:pPr><w:rPr><w:b/><w:bCs/><w:color w:val="FFFFFF"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:customStyle="1" w:styleId="TranscriptText"><w:name w:val="Transcript Text"/><w:basedOn w:val="TableText"/><w:qFormat/>` +
	`<w:rPr><w:noProof/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:customStyle="1" w:styleId="TableNote"><w:name w:val="Table Note"/><w:basedOn w:val="TableText"/>` +
	`<w:pPr><w:spacing w:before="40"/></w:pPr><w:rPr><w:i/><w:iCs/><w:color w:val="5B6573"/><w:sz w:val="16"/><w:szCs w:val="16"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Footer"><w:name w:val="footer"/><w:basedOn w:val="Normal"/><w:uiPriority w:val="99"/><w:unhideWhenUsed/>` +
	`<w:pPr><w:tabs><w:tab w:val="right" w:pos="9638"/></w:tabs><w:spacing w:after="0"/></w:pPr><w:rPr><w:color w:val="5B6573"/><w:sz w:val="16"/><w:szCs w:val="16"/></w:rPr></w:style>` +
	// Character styles.
	`<w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont"><w:name w:val="Default Paragraph Font"/><w:uiPriority w:val="1"/><w:semiHidden/><w:unhideWhenUsed/></w:style>` +
	`<w:style w:type="character" w:customStyle="1" w:styleId="LowConfidence"><w:name w:val="Low Confidence"/><w:basedOn w:val="DefaultParagraphFont"/><w:rPr><w:color w:val="9AA5B1"/></w:rPr></w:style>` +
	`<w:style w:type="character" w:customStyle="1" w:styleId="IssueText"><w:name w:val="Issue Text"/><w:basedOn w:val="DefaultParagraphFont"/><w:rPr><w:b/><w:bCs/><w:color w:val="B42318"/></w:rPr></w:style>` +
	`<w:style w:type="character" w:customStyle="1" w:styleId="ActionText"><w:name w:val="Action Item Text"/><w:basedOn w:val="DefaultParagraphFont"/><w:rPr><w:b/><w:bCs/><w:color w:val="0E7490"/></w:rPr></w:style>` +
	`<w:style w:type="character" w:customStyle="1" w:styleId="OutcomeText"><w:name w:val="Outcome Text"/><w:basedOn w:val="DefaultParagraphFont"/><w:rPr><w:b/><w:bCs/><w:color w:val="15803D"/></w:rPr></w:style>` +
	`<w:style w:type="character" w:customStyle="1" w:styleId="Strong"><w:name w:val="Strong"/><w:basedOn w:val="DefaultParagraphFont"/><w:uiPriority w:val="22"/><w:qFormat/><w:rPr><w:b/><w:bCs/></w:rPr></w:style>` +
	// Table styles.
	`<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/><w:uiPriority w:val="99"/><w:semiHidden/><w:unhideWhenUsed/>` +
	`<w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>` +
	`<w:style w:type="table" w:customStyle="1" w:styleId="ReportTable"><w:name w:val="Report Table"/><w:basedOn w:val="TableNormal"/><w:uiPriority w:val="59"/>` +
	`<w:pPr><w:spacing w:after="0"/></w:pPr><w:rPr><w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr>` +
	`<w:tblPr><w:tblBorders><w:top w:val="single" w:sz="8" w:space="0" w:color="1F3A5F"/><w:bottom w:val="single" w:sz="8" w:space="0" w:color="1F3A5F"/>` +
	`<w:insideH w:val="single" w:sz="4" w:space="0" w:color="D5DBE3"/></w:tblBorders>` +
	`<w:tblCellMar><w:top w:w="45" w:type="dxa"/><w:left w:w="90" w:type="dxa"/><w:bottom w:w="45" w:type="dxa"/><w:right w:w="90" w:type="dxa"/></w:tblCellMar></w:tblPr>` +
	`<w:tblStylePr w:type="firstRow"><w:rPr><w:b/><w:bCs/><w:color w:val="FFFFFF"/></w:rPr><w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="1F3A5F"/></w:tcPr></w:tblStylePr>` +
	`</w:style>` +
	`<w:style w:type="table" w:customStyle="1" w:styleId="LayoutTable"><w:name w:val="Layout Table"/><w:basedOn w:val="TableNormal"/><w:uiPriority w:val="99"/>` +
	`<w:pPr><w:spacing w:after="0"/></w:pPr>` +
	`<w:tblPr><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="0" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="0" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>` +
	`</w:styles>`

// templatePackage returns the starting package for godocx as a ZIP.
func templatePackage() ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{
		{"[Content_Types].xml", partContentTypes},
		{"_rels/.rels", partRootRels},
		{"word/document.xml", partDocument},
		{"word/_rels/document.xml.rels", partDocumentRels},
		{"word/styles.xml", partStyles},
		{"word/settings.xml", partSettings},
	} {
		w, err := zw.Create(f.name)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// escape escapes text for XML character data and attributes.
func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// footerPart is the page footer: the call on the left, the page number on
// the right.
func footerPart(m *model) []byte {
	run := func(t string) string {
		return `<w:r><w:t xml:space="preserve">` + escape(t) + `</w:t></w:r>`
	}
	field := func(instr string) string {
		return `<w:fldSimple w:instr=" ` + instr + ` "><w:r><w:rPr><w:noProof/></w:rPr><w:t>1</w:t></w:r></w:fldSimple>`
	}
	return []byte(xmlPI + `<w:ftr xmlns:w="` + nsW + `" xmlns:r="` + nsR + `">` +
		`<w:p><w:pPr><w:pStyle w:val="Footer"/></w:pPr>` +
		run("Call report · "+m.CallID) + `<w:r><w:tab/></w:r>` +
		run("Page ") + field("PAGE") + run(" of ") + field("NUMPAGES") +
		`</w:p></w:ftr>`)
}

// corePart is the package's core properties (title, creator, dates).
func corePart(m *model, now time.Time) []byte {
	ts := now.UTC().Format("2006-01-02T15:04:05Z")
	return []byte(xmlPI + `<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" ` +
		`xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" ` +
		`xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<dc:title>` + escape(m.Title+" · "+m.CallID) + `</dc:title>` +
		`<dc:subject>` + escape(m.Subtitle) + `</dc:subject>` +
		`<dc:creator>callrec</dc:creator>` +
		`<dcterms:created xsi:type="dcterms:W3CDTF">` + ts + `</dcterms:created>` +
		`<dcterms:modified xsi:type="dcterms:W3CDTF">` + ts + `</dcterms:modified>` +
		`</cp:coreProperties>`)
}

const partApp = xmlPI + `<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" ` +
	`xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><Application>callrec</Application></Properties>`
