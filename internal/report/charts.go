package report

import (
	"bytes"
	"context"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"sync"
	"time"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/callrec/callrec/internal/display"
	"github.com/callrec/callrec/internal/transcript"
)

// The charts are drawn with gonum.org/v1/plot and rasterised to PNG at the
// renderer's DPI (300 by default: print quality), so that the DOCX, the PDF
// and the HTML show the same pictures.

// chart is one rendered chart.
type chart struct {
	PNG []byte
	// Width and Height are the printed size in inches.
	Width, Height float64
	// Alt describes the chart for readers who cannot see it.
	Alt string
}

// chartSet holds the report's charts; a chart is nil when there is no data
// for it.
type chartSet struct {
	Talk, Sentiment, Timeline, Histogram *chart
}

// Colours of the report (charts and documents share them).
var (
	colOwner     = rgb(0x1D4ED8)
	colOther     = rgb(0xEA580C)
	colNeither   = rgb(0xCBD5E1)
	colSilence   = rgb(0xE2E8F0)
	colPause     = rgb(0xFEF0C3)
	colInterrupt = rgb(0x7C3AED)
	colPositive  = rgb(0x16A34A)
	colNegative  = rgb(0xDC2626)
	colMixed     = rgb(0xD97706)
	colNeutral   = rgb(0x94A3B8)
	colText      = rgb(0x1F2933)
	colMuted     = rgb(0x5B6573)
	colAxis      = rgb(0x9AA5B1)
	colGrid      = rgb(0xE4E7EB)
	colLow       = rgb(0x9AA5B1)
)

// Text colours of the transcript's marks (RRGGBB).
const (
	colIssueText   = "B42318"
	colActionText  = "0E7490"
	colOutcomeText = "15803D"
)

func rgb(v uint32) color.RGBA {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xFF}
}

// hex returns a colour as RRGGBB.
func hex(c color.RGBA) string { return fmt.Sprintf("%02X%02X%02X", c.R, c.G, c.B) }

func speakerColour(sp int) color.RGBA {
	if sp == owner {
		return colOwner
	}
	return colOther
}

func sentimentColour(s string) color.RGBA {
	switch s {
	case transcript.Positive:
		return colPositive
	case transcript.Negative:
		return colNegative
	case transcript.Mixed:
		return colMixed
	}
	return colNeutral
}

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// textStyle returns a text style in the report's sans-serif font.
func textStyle(size vg.Length, bold bool, c color.Color) text.Style {
	f := sans
	if bold {
		f.Weight = stdfont.WeightBold
	}
	return text.Style{Color: c, Font: font.From(f, size), Handler: plot.DefaultTextHandler}
}

// renderCharts draws the report's charts concurrently (they are
// independent and each takes tens of milliseconds at 300 dpi).
func renderCharts(ctx context.Context, m *model, dpi int, histogram bool) (chartSet, error) {
	var set chartSet
	jobs := []struct {
		dst  **chart
		make func(*model, int) (*chart, error)
	}{
		{&set.Timeline, timelineChart},
		{&set.Talk, talkChart},
		{&set.Sentiment, sentimentChart},
	}
	if histogram {
		jobs = append(jobs, struct {
			dst  **chart
			make func(*model, int) (*chart, error)
		}{&set.Histogram, histogramChart})
	}
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			c, err := j.make(m, dpi)
			errs[i] = err
			*j.dst = c
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return set, err
		}
	}
	return set, nil
}

// rasterize draws a w×h inch picture at dpi and encodes it as PNG.
func rasterize(w, h float64, dpi int, paint func(c draw.Canvas)) (pngData []byte, err error) {
	defer func() {
		// gonum/plot panics on some degenerate input; a report must
		// still come out, so turn that into an error.
		if r := recover(); r != nil {
			err = fmt.Errorf("draw chart: %v", r)
		}
	}()
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(w)*vg.Inch, vg.Length(h)*vg.Inch), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	paint(draw.New(c))
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, c.Image()); err != nil {
		return nil, fmt.Errorf("encode chart: %w", err)
	}
	return buf.Bytes(), nil
}

// newPlot returns a plot in the report's style: sans-serif, muted axes,
// no title.
func newPlot() *plot.Plot {
	p := plot.New()
	p.BackgroundColor = color.Transparent
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.LineStyle.Color = colAxis
		a.LineStyle.Width = vg.Points(0.6)
		a.Tick.LineStyle.Color = colAxis
		a.Tick.LineStyle.Width = vg.Points(0.6)
		a.Tick.Length = vg.Points(3)
		a.Tick.Label = textStyle(7, false, colMuted)
		a.Label.TextStyle = textStyle(7.5, false, colMuted)
		a.Padding = 0
	}
	p.Y.Tick.Label.XAlign = draw.XRight
	p.Y.Tick.Label.YAlign = draw.YCenter
	p.X.Tick.Label.XAlign = draw.XCenter
	p.X.Tick.Label.YAlign = draw.YTop
	return p
}

// legendItem is one entry of a legend row.
type legendItem struct {
	Label  string
	Colour color.Color
	Kind   int // legendBox, legendLine, legendTriangle
}

const (
	legendBox = iota
	legendLine
	legendTriangle
)

// drawLegend draws items in a row centred in c.
func drawLegend(c draw.Canvas, items []legendItem) {
	st := textStyle(7, false, colText)
	st.YAlign = draw.YCenter
	sw := vg.Points(9)
	gap, pad := vg.Points(4), vg.Points(12)
	var total vg.Length
	for i, it := range items {
		total += sw + gap + st.Width(it.Label)
		if i > 0 {
			total += pad
		}
	}
	x := c.Min.X + (c.Max.X-c.Min.X-total)/2
	y := (c.Min.Y + c.Max.Y) / 2
	for _, it := range items {
		switch it.Kind {
		case legendLine:
			c.StrokeLine2(draw.LineStyle{Color: it.Colour, Width: vg.Points(1.6)}, x, y, x+sw, y)
		case legendTriangle:
			c.DrawGlyphNoClip(draw.GlyphStyle{Color: it.Colour, Radius: vg.Points(3.2), Shape: downTriangle{}}, vg.Point{X: x + sw/2, Y: y})
		default:
			c.FillPolygon(it.Colour, rect(x, y-sw/2+vg.Points(1), x+sw, y+sw/2-vg.Points(1)))
		}
		x += sw + gap
		c.FillText(st, vg.Point{X: x, Y: y}, it.Label)
		x += st.Width(it.Label) + pad
	}
}

func rect(x0, y0, x1, y1 vg.Length) []vg.Point {
	return []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}

// downTriangle is a glyph pointing down (an interruption marker).
type downTriangle struct{}

func (downTriangle) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius
	var p vg.Path
	p.Move(vg.Point{X: pt.X - r, Y: pt.Y + r*0.6})
	p.Line(vg.Point{X: pt.X + r, Y: pt.Y + r*0.6})
	p.Line(vg.Point{X: pt.X, Y: pt.Y - r})
	p.Close()
	c.SetColor(sty.Color)
	c.Fill(p)
}

// talkChart is a donut of the call's time: owner, other party, neither.
func talkChart(m *model, dpi int) (*chart, error) {
	parts := []struct {
		name string
		d    time.Duration
		col  color.RGBA
	}{
		{m.Names[owner], m.Talk[owner], colOwner},
		{m.Names[other], m.Talk[other], colOther},
		{"Neither speaking", m.Neither, colNeither},
	}
	var total time.Duration
	for _, p := range parts {
		total += p.d
	}
	if total <= 0 || m.Talk[owner]+m.Talk[other] <= 0 {
		return nil, nil
	}
	const w, h = 3.25, 1.95
	alt := "Talk time: "
	for i, p := range parts {
		if i > 0 {
			alt += ", "
		}
		alt += fmt.Sprintf("%s %s (%s)", p.name, display.Duration(p.d), percent(float64(p.d)/float64(total)))
	}
	data, err := rasterize(w, h, dpi, func(c draw.Canvas) {
		center := vg.Point{X: c.Min.X + 1.0*vg.Inch, Y: (c.Min.Y + c.Max.Y) / 2}
		ro, ri := 0.9*vg.Inch, 0.56*vg.Inch
		a := math.Pi / 2
		at := func(r vg.Length, ang float64) vg.Point {
			return vg.Point{X: center.X + r*vg.Length(math.Cos(ang)), Y: center.Y + r*vg.Length(math.Sin(ang))}
		}
		for _, p := range parts {
			if p.d <= 0 {
				continue
			}
			sweep := -2 * math.Pi * float64(p.d) / float64(total)
			var path vg.Path
			path.Move(at(ro, a))
			path.Arc(center, ro, a, sweep)
			path.Line(at(ri, a+sweep))
			path.Arc(center, ri, a+sweep, -sweep)
			path.Close()
			c.SetColor(p.col)
			c.Fill(path)
			a += sweep
		}
		// White separators between the parts.
		a = math.Pi / 2
		for _, p := range parts {
			if p.d <= 0 {
				continue
			}
			if p.d < total {
				in, out := at(ri-1, a), at(ro+1, a)
				c.StrokeLine2(draw.LineStyle{Color: color.White, Width: vg.Points(1.2)}, in.X, in.Y, out.X, out.Y)
			}
			a -= 2 * math.Pi * float64(p.d) / float64(total)
		}
		big := textStyle(11, true, colText)
		big.XAlign, big.YAlign = draw.XCenter, draw.YBottom
		c.FillText(big, vg.Point{X: center.X, Y: center.Y - vg.Points(1)}, display.Duration(m.Duration))
		small := textStyle(7, false, colMuted)
		small.XAlign, small.YAlign = draw.XCenter, draw.YTop
		c.FillText(small, vg.Point{X: center.X, Y: center.Y - vg.Points(2)}, "recorded")

		// Legend with the figures.
		x := center.X + ro + vg.Points(14)
		y := center.Y + vg.Points(30)
		name := textStyle(8, true, colText)
		name.YAlign = draw.YCenter
		val := textStyle(7.5, false, colMuted)
		val.YAlign = draw.YCenter
		for _, p := range parts {
			c.FillPolygon(p.col, rect(x, y-vg.Points(4.5), x+vg.Points(9), y+vg.Points(4.5)))
			c.FillText(name, vg.Point{X: x + vg.Points(13), Y: y + vg.Points(1)}, p.name)
			c.FillText(val, vg.Point{X: x + vg.Points(13), Y: y - vg.Points(10)}, fmt.Sprintf("%s · %s", display.Duration(p.d), percent(float64(p.d)/float64(total))))
			y -= vg.Points(30)
		}
	})
	if err != nil {
		return nil, err
	}
	return &chart{PNG: data, Width: w, Height: h, Alt: alt}, nil
}

// sentimentChart plots each speaker's sentiment per quarter on −5…+5.
func sentimentChart(m *model, dpi int) (*chart, error) {
	has := false
	for _, q := range m.Quarters {
		if q.Score[owner] != nil || q.Score[other] != nil {
			has = true
		}
	}
	if !has {
		return nil, nil
	}
	const w, h = 3.25, 1.95
	n := len(m.Quarters)
	alt := "Sentiment by quarter (−5 to +5): "
	for sp := range 2 {
		if sp > 0 {
			alt += "; "
		}
		alt += m.Names[sp]
		for _, q := range m.Quarters {
			if v := q.Score[sp]; v != nil {
				alt += fmt.Sprintf(" %s %s", q.Label, score(*v))
			}
		}
	}
	data, err := rasterize(w, h, dpi, func(c draw.Canvas) {
		p := newPlot()
		p.X.Min, p.X.Max = 0.5, float64(n)+0.5
		p.Y.Min, p.Y.Max = -5, 5
		p.Y.Label.Text = "Sentiment"
		p.Y.Tick.Marker = plot.TickerFunc(func(_, _ float64) []plot.Tick {
			return []plot.Tick{{Value: -5, Label: "−5"}, {Value: -2.5, Label: ""}, {Value: 0, Label: "0"}, {Value: 2.5, Label: ""}, {Value: 5, Label: "+5"}}
		})
		p.X.Tick.Marker = plot.TickerFunc(func(_, _ float64) []plot.Tick {
			ticks := make([]plot.Tick, n)
			for i, q := range m.Quarters {
				ticks[i] = plot.Tick{Value: float64(i + 1), Label: q.Label}
			}
			return ticks
		})
		p.Add(plotFunc(func(c draw.Canvas, p *plot.Plot) {
			tx, ty := p.Transforms(&c)
			// Tinted halves and the grid.
			c.FillPolygon(rgb(0xF0FDF4), rect(tx(p.X.Min), ty(0), tx(p.X.Max), ty(5)))
			c.FillPolygon(rgb(0xFEF2F2), rect(tx(p.X.Min), ty(-5), tx(p.X.Max), ty(0)))
			for _, v := range []float64{-2.5, 2.5} {
				c.StrokeLine2(draw.LineStyle{Color: colGrid, Width: vg.Points(0.5)}, tx(p.X.Min), ty(v), tx(p.X.Max), ty(v))
			}
			c.StrokeLine2(draw.LineStyle{Color: colAxis, Width: vg.Points(0.8)}, tx(p.X.Min), ty(0), tx(p.X.Max), ty(0))
			for sp := range 2 {
				col := speakerColour(sp)
				var line []vg.Point
				flush := func() {
					if len(line) > 1 {
						c.StrokeLines(draw.LineStyle{Color: col, Width: vg.Points(1.6)}, line)
					}
					line = line[:0]
				}
				for i, q := range m.Quarters {
					v := q.Score[sp]
					if v == nil {
						flush()
						continue
					}
					line = append(line, vg.Point{X: tx(float64(i + 1)), Y: ty(max(-5, min(5, *v)))})
				}
				flush()
				for i, q := range m.Quarters {
					if v := q.Score[sp]; v != nil {
						pt := vg.Point{X: tx(float64(i + 1)), Y: ty(max(-5, min(5, *v)))}
						c.DrawGlyph(draw.GlyphStyle{Color: color.White, Radius: vg.Points(3.2), Shape: draw.CircleGlyph{}}, pt)
						c.DrawGlyph(draw.GlyphStyle{Color: col, Radius: vg.Points(2.4), Shape: draw.CircleGlyph{}}, pt)
					}
				}
			}
		}))
		legendH := vg.Points(16)
		p.Draw(draw.Crop(c, 0, -vg.Points(6), legendH, -vg.Points(4)))
		drawLegend(draw.Crop(c, 0, 0, 0, -(c.Max.Y-c.Min.Y-legendH)), []legendItem{
			{m.Names[owner], colOwner, legendLine}, {m.Names[other], colOther, legendLine},
		})
	})
	if err != nil {
		return nil, err
	}
	return &chart{PNG: data, Width: w, Height: h, Alt: alt}, nil
}

// plotFunc adapts a function to plot.Plotter.
type plotFunc func(c draw.Canvas, p *plot.Plot)

func (f plotFunc) Plot(c draw.Canvas, p *plot.Plot) { f(c, p) }

// timeTicks returns ticks every nice step over [0, max] seconds.
func timeTicks(maxSec float64, long bool) plot.Ticker {
	return plot.TickerFunc(func(_, _ float64) []plot.Tick {
		steps := []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600}
		step := steps[len(steps)-1]
		for _, s := range steps {
			if maxSec/s <= 8 {
				step = s
				break
			}
		}
		var ticks []plot.Tick
		for v := 0.0; v <= maxSec+1e-9; v += step {
			ticks = append(ticks, plot.Tick{Value: v, Label: display.Clock(time.Duration(v*float64(time.Second)), long)})
			if step >= 60 {
				// A minor tick between labels.
				if v+step/2 <= maxSec {
					ticks = append(ticks, plot.Tick{Value: v + step/2})
				}
			}
		}
		return ticks
	})
}

// Vertical layout of the timeline (data units): loudness 0…100 above, a
// strip per speaker's sentiment below.
const (
	tlLoudTop    = 100.0
	tlMarkY      = 107.0
	tlTop        = 112.0
	tlOwnerStrip = -9.0
	tlOtherStrip = -21.0
	tlStripHalf  = 4.5
	tlBottom     = -27.0
)

// timelineChart plots the call over time: loudness per speaker, the
// sentiment of every turn, silences, recording pauses and interruptions.
func timelineChart(m *model, dpi int) (*chart, error) {
	if m.Duration <= 0 {
		return nil, nil
	}
	const w, h = 6.6, 2.7
	total := m.Duration.Seconds()
	alt := fmt.Sprintf("Timeline of the %s call: loudness of each speaker (0–100), the sentiment of each turn, %s, %s",
		display.Duration(m.Duration), plural(len(m.Silences), "silence", "silences"), plural(len(m.Interrupts), "interruption", "interruptions"))
	if len(m.Pauses) > 0 {
		alt += ", " + plural(len(m.Pauses), "recording pause", "recording pauses")
	}
	hasLoudness := len(m.Loudness[owner])+len(m.Loudness[other]) > 0
	if !hasLoudness {
		alt += " (no loudness in the transcript)"
	}
	// Loudness averaged into at most ~400 bins, so a long call stays
	// readable (and cheap to draw).
	bin := max(1.0, total/400)
	data, err := rasterize(w, h, dpi, func(c draw.Canvas) {
		p := newPlot()
		p.X.Min, p.X.Max = 0, total
		p.Y.Min, p.Y.Max = tlBottom, tlTop
		p.X.Tick.Marker = timeTicks(total, m.Long)
		p.X.Label.Text = "Time into the call"
		p.Y.Tick.Marker = plot.TickerFunc(func(_, _ float64) []plot.Tick {
			return []plot.Tick{{Value: 0, Label: "0"}, {Value: 25}, {Value: 50, Label: "50"}, {Value: 75}, {Value: 100, Label: "100"},
				{Value: tlOwnerStrip, Label: shortName(m.Names[owner])}, {Value: tlOtherStrip, Label: shortName(m.Names[other])}}
		})
		p.Add(plotFunc(func(c draw.Canvas, p *plot.Plot) {
			tx, ty := p.Transforms(&c)
			sec := func(d time.Duration) float64 { return d.Seconds() }
			// Grid.
			for _, v := range []float64{25, 50, 75, 100} {
				c.StrokeLine2(draw.LineStyle{Color: colGrid, Width: vg.Points(0.5)}, tx(0), ty(v), tx(total), ty(v))
			}
			// Spans behind everything: pauses, silences.
			minW := vg.Points(0.8)
			band := func(s span, col color.Color, y0, y1 float64) {
				x0, x1 := tx(sec(s.Begin)), tx(sec(s.End))
				if x1-x0 < minW {
					x1 = x0 + minW
				}
				c.FillPolygon(col, rect(x0, ty(y0), x1, ty(y1)))
			}
			for _, s := range m.Pauses {
				band(s, colPause, tlBottom, tlLoudTop)
			}
			for _, s := range m.Silences {
				band(s, colSilence, 0, tlLoudTop)
			}
			// Sentiment strips.
			for _, s := range m.Segments {
				y := tlOwnerStrip
				if s.Speaker == other {
					y = tlOtherStrip
				}
				band(s.span, sentimentColour(s.Sentiment), y-tlStripHalf, y+tlStripHalf)
			}
			// Interruptions: a thin band over the loudness and a marker.
			for _, in := range m.Interrupts {
				band(in.span, color.NRGBA{R: colInterrupt.R, G: colInterrupt.G, B: colInterrupt.B, A: 0x38}, 0, tlLoudTop)
				c.DrawGlyph(draw.GlyphStyle{Color: colInterrupt, Radius: vg.Points(3), Shape: downTriangle{}},
					vg.Point{X: tx(sec(in.Begin+in.End) / 2), Y: ty(tlMarkY)})
			}
			// Loudness lines, broken where a speaker is silent.
			for sp := range 2 {
				pts := m.Loudness[sp]
				if len(pts) == 0 {
					continue
				}
				var lines [][]vg.Point
				var cur []vg.Point
				var sum float64
				var n int
				bIdx := -1
				flush := func() {
					if n > 0 {
						cur = append(cur, vg.Point{X: tx((float64(bIdx) + 0.5) * bin), Y: ty(sum / float64(n))})
					}
					sum, n = 0, 0
				}
				for _, pt := range pts {
					b := int(pt.At.Seconds() / bin)
					if b != bIdx {
						flush()
						if bIdx >= 0 && b > bIdx+max(1, int(2/bin)) && len(cur) > 0 {
							lines = append(lines, cur)
							cur = nil
						}
						bIdx = b
					}
					sum += pt.Value
					n++
				}
				flush()
				lines = append(lines, cur)
				ls := draw.LineStyle{Color: speakerColour(sp), Width: vg.Points(1.1)}
				for _, l := range lines {
					if len(l) == 1 {
						c.DrawGlyph(draw.GlyphStyle{Color: speakerColour(sp), Radius: vg.Points(1), Shape: draw.CircleGlyph{}}, l[0])
						continue
					}
					c.StrokeLines(ls, c.ClipLinesXY(l)...)
				}
			}
			lab := textStyle(7, false, colMuted)
			lab.XAlign, lab.YAlign = draw.XRight, draw.YCenter
			c.FillText(lab, vg.Point{X: tx(0) - vg.Points(3), Y: ty(tlTop)}, "Loudness")
			if !hasLoudness {
				st := textStyle(8, false, colMuted)
				st.XAlign, st.YAlign = draw.XCenter, draw.YCenter
				c.FillText(st, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: ty(50)}, "No loudness in this transcript")
			}
		}))
		legendH := vg.Points(16)
		p.Draw(draw.Crop(c, 0, -vg.Points(8), legendH, -vg.Points(2)))
		items := []legendItem{
			{m.Names[owner], colOwner, legendLine}, {m.Names[other], colOther, legendLine},
			{"Silence", colSilence, legendBox},
		}
		if len(m.Pauses) > 0 {
			items = append(items, legendItem{"Recording paused", colPause, legendBox})
		}
		items = append(items, legendItem{"Interruption", colInterrupt, legendTriangle},
			legendItem{"Positive", colPositive, legendBox}, legendItem{"Negative", colNegative, legendBox},
			legendItem{"Mixed", colMixed, legendBox}, legendItem{"Neutral", colNeutral, legendBox})
		drawLegend(draw.Crop(c, 0, 0, 0, -(c.Max.Y-c.Min.Y-legendH)), items)
	})
	if err != nil {
		return nil, err
	}
	return &chart{PNG: data, Width: w, Height: h, Alt: alt}, nil
}

// shortName shortens a name for an axis label.
func shortName(s string) string {
	r := []rune(s)
	if len(r) > 14 {
		return string(r[:13]) + "…"
	}
	return s
}

// histogramChart shows how many words had each confidence (in 5% bins).
func histogramChart(m *model, dpi int) (*chart, error) {
	if len(m.Confidences) == 0 {
		return nil, nil
	}
	const w, h, bins = 6.6, 2.2, 20
	var counts [bins]int
	for _, v := range m.Confidences {
		counts[max(0, min(bins-1, int(v*bins)))]++
	}
	top := 0
	for _, n := range counts {
		top = max(top, n)
	}
	alt := fmt.Sprintf("Histogram of the confidence of %s in 5%% steps", plural(len(m.Confidences), "word", "words"))
	data, err := rasterize(w, h, dpi, func(c draw.Canvas) {
		p := newPlot()
		p.X.Min, p.X.Max = 0, 1
		p.Y.Min, p.Y.Max = 0, float64(top)*1.1
		p.X.Label.Text = "Word confidence"
		p.Y.Label.Text = "Words"
		p.X.Tick.Marker = plot.TickerFunc(func(_, _ float64) []plot.Tick {
			var t []plot.Tick
			for i := 0; i <= 10; i++ {
				l := ""
				if i%2 == 0 {
					l = fmt.Sprintf("%d%%", i*10)
				}
				t = append(t, plot.Tick{Value: float64(i) / 10, Label: l})
			}
			return t
		})
		p.Y.Tick.Marker = countTicks{}
		p.Add(plotFunc(func(c draw.Canvas, p *plot.Plot) {
			tx, ty := p.Transforms(&c)
			for i, n := range counts {
				if n == 0 {
					continue
				}
				x0, x1 := float64(i)/bins, float64(i+1)/bins
				col := colOwner
				if m.LowConfidence > 0 && x1 <= m.LowConfidence+1e-9 {
					col = colLow
				}
				c.FillPolygon(col, rect(tx(x0)+vg.Points(0.6), ty(0), tx(x1)-vg.Points(0.6), ty(float64(n))))
			}
			if t := m.LowConfidence; t > 0 && t < 1 {
				c.StrokeLine2(draw.LineStyle{Color: colNegative, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}},
					tx(t), ty(0), tx(t), ty(p.Y.Max))
				st := textStyle(7, false, colNegative)
				st.XAlign, st.YAlign = draw.XLeft, draw.YTop
				c.FillText(st, vg.Point{X: tx(t) + vg.Points(3), Y: ty(p.Y.Max)}, "greyed below "+percent(t))
			}
		}))
		p.Draw(draw.Crop(c, 0, -vg.Points(8), 0, -vg.Points(4)))
	})
	if err != nil {
		return nil, err
	}
	return &chart{PNG: data, Width: w, Height: h, Alt: alt}, nil
}

// countTicks marks a count axis at whole 1, 2 or 5 × 10ⁿ steps, at most
// about six labels.
type countTicks struct{}

func (countTicks) Ticks(_, hi float64) []plot.Tick {
	step := 1.0
	for k := 0; hi/step > 5; k++ {
		step *= []float64{2, 2.5, 2}[k%3] // 1, 2, 5, 10, 20, 50…
	}
	var t []plot.Tick
	for v := 0.0; v <= hi; v += step {
		t = append(t, plot.Tick{Value: v, Label: thousands(int(v))})
	}
	return t
}
