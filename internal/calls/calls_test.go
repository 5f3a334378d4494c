package calls

import (
	"testing"
	"time"

	"github.com/callrec/callrec/internal/blob"
)

func TestRecordingKey(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC), "recordings/2025/03/04/abc.wav"},
		// 23:30 in New York on 31 Dec is already 1 January in UTC.
		{time.Date(2024, 12, 31, 23, 30, 0, 0, time.FixedZone("EST", -5*3600)), "recordings/2025/01/01/abc.wav"},
	}
	for _, tc := range tests {
		got := RecordingKey("abc", tc.t)
		if got != tc.want {
			t.Errorf("RecordingKey(%v) = %q, want %q", tc.t, got, tc.want)
		}
		if err := blob.ValidKey(got); err != nil {
			t.Errorf("RecordingKey gave an invalid key: %v", err)
		}
	}
}
