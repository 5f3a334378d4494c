package transcript

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestRoles(t *testing.T) {
	if Role(0) != Agent || Role(1) != Customer || Channel(Agent) != 0 || Channel(Customer) != 1 || Channel("x") != -1 {
		t.Error("role/channel mapping")
	}
	if r := Roles(); len(r) != 2 || r[AgentChannel] != Agent || r[CustomerChannel] != Customer {
		t.Errorf("Roles() = %v", r)
	}
}

func TestCharacterOffsets(t *testing.T) {
	tests := []struct {
		content    string
		begin, end int
		want       string
	}{
		{"hello world", 6, 11, "world"},
		{"hello world", 0, 5, "hello"},
		{"café au lait", 0, 4, "café"},
		{"café au lait", 5, 7, "au"},
		{"abc", 2, 10, "c"},
		{"abc", -3, 1, "a"},
		{"abc", 3, 5, ""},
		{"abc", 2, 1, ""},
		{"", 0, 1, ""},
	}
	for _, tc := range tests {
		if got := (CharacterOffsets{tc.begin, tc.end}).Text(tc.content); got != tc.want {
			t.Errorf("Text(%q, %d, %d) = %q, want %q", tc.content, tc.begin, tc.end, got, tc.want)
		}
	}
	s := "naïve café"
	o := Offsets(s, len("naïve "), len(s))
	if o != (CharacterOffsets{6, 10}) || o.Text(s) != "café" {
		t.Errorf("Offsets = %+v", o)
	}
}

func TestMillis(t *testing.T) {
	if Millis(1499*time.Microsecond) != 1 || Millis(1500*time.Microsecond) != 2 || Millis(2*time.Second) != 2000 {
		t.Error("Millis rounding")
	}
}

func TestTurnHelpers(t *testing.T) {
	turn := Turn{BeginOffsetMillis: 1500, EndOffsetMillis: 2500, Items: []Item{
		{Content: "hi", Type: Pronunciation}, {Content: ",", Type: Punctuation}, {Content: "you", Type: Pronunciation},
	}}
	if turn.Begin() != 1500*time.Millisecond || turn.End() != 2500*time.Millisecond || len(turn.Words()) != 2 {
		t.Errorf("helpers: %v %v %v", turn.Begin(), turn.End(), turn.Words())
	}
	d := Document{Transcript: []Turn{turn}}
	if d.Duration() != 2500*time.Millisecond {
		t.Errorf("Duration = %v", d.Duration())
	}
	d.ConversationCharacteristics.TotalConversationDurationMillis = 9000
	if d.Duration() != 9*time.Second {
		t.Errorf("Duration = %v", d.Duration())
	}
}

func TestFillEmpty(t *testing.T) {
	var d Document
	d.Categories.MatchedDetails = map[string]CategoryDetails{"x": {}}
	d.ConversationCharacteristics.Sentiment.OverallSentiment = map[string]float64{Agent: 2.5}
	d.FillEmpty()
	b, err := json.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"Transcript":[]`, `"MatchedCategories":[]`, `"MatchedDetails":{"x":{"TimestampRanges":[]}}`,
		`"Instances":[]`, `"InterruptionsByInterrupter":{"AGENT":[],"CUSTOMER":[]}`,
		`"OverallSentiment":{"AGENT":2.5,"CUSTOMER":0}`, `"QUARTER":{"AGENT":[],"CUSTOMER":[]}`,
		`"DetailsByParticipant":{"AGENT":{"AverageWordsPerMinute":0}`, `"DetailsByParticipant":{"AGENT":{"TotalTimeMillis":0}`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
}

func TestFloat(t *testing.T) {
	if p := Float(3.5); p == nil || *p != 3.5 {
		t.Error("Float")
	}
}
