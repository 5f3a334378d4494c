//go:build cgo && !nosphinx

package sphinx

import ("testing";"time";"context";"strings";"os")

type quietTB struct{ testing.TB }
func (quietTB) Logf(string, ...any) {}

func TestZZDebug(t *testing.T) {
	needTools(t)
	rec8, lines := conversation(t, script, 8000, 700*time.Millisecond, 1200*time.Millisecond)
	rec16, _ := conversation(t, script, 16000, 700*time.Millisecond, 1200*time.Millisecond)
	var v8 []line
	for _, v := range []string{"rms","awb","slt"} { for _, l := range script { v8 = append(v8, line{0, v, l.Text}) } }
	recv, linesv := conversation(t, v8, 8000, 700*time.Millisecond, 1200*time.Millisecond)
	for _, x := range strings.Split(os.Getenv("PSX"), ";") {
		e, err := New(Config{Workers: 2, extra: strings.Fields(x)})
		if err != nil { t.Fatal(err) }
		r8, _ := e.Transcribe(context.Background(), rec8)
		r16, _ := e.Transcribe(context.Background(), rec16)
		rv, _ := e.Transcribe(context.Background(), recv)
		t.Logf("CFG %-40q 16k %.3f 8k %.3f 8k-3voices %.3f", x, conversationWER(quietTB{t}, r16, lines), conversationWER(quietTB{t}, r8, lines), conversationWER(quietTB{t}, rv, linesv))
		e.Close()
	}
}
