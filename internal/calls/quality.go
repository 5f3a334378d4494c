package calls

import (
	"fmt"
	"strings"

	"github.com/callrec/callrec/internal/store"
)

// QualityRating names a MOS estimate the way users read it: excellent
// (4.3 and up, what a clean wideband or G.711 call gets), good (4.0),
// fair (3.6), poor (3.1), else bad (the ITU-T G.107 user-satisfaction
// bands).
func QualityRating(mos float64) string {
	switch {
	case mos >= 4.3:
		return "excellent"
	case mos >= 4.0:
		return "good"
	case mos >= 3.6:
		return "fair"
	case mos >= 3.1:
		return "poor"
	}
	return "bad"
}

// QualityWho names a leg of the quality figures: "Owner" or "Other
// party".
func QualityWho(q store.LegQuality) string {
	if q.Leg == "owner" {
		return "Owner"
	}
	return "Other party"
}

// CodecLabel is a codec as users know it: "G.722 (wideband)", "G.711
// µ-law", "G.711 A-law".
func CodecLabel(name string) string {
	switch strings.ToUpper(name) {
	case "G722":
		return "G.722 (wideband)"
	case "PCMU":
		return "G.711 µ-law"
	case "PCMA":
		return "G.711 A-law"
	}
	return name
}

// QualitySummary is one leg's figures on one line, for the call page,
// the report and the CLI: "MOS 4.4 (excellent); G.711 µ-law, SRTP;
// 0.3 % lost; jitter 2.1 ms; round trip 38 ms".
func QualitySummary(q store.LegQuality) string {
	parts := []string{fmt.Sprintf("MOS %.1f (%s)", q.MOS, QualityRating(q.MOS))}
	media := CodecLabel(q.Codec)
	if q.Encrypted {
		media += ", SRTP"
	}
	parts = append(parts, media,
		fmt.Sprintf("%s %% of %d packets lost", trimFloat(q.LossPercent), q.PacketsReceived+q.PacketsLost),
		fmt.Sprintf("jitter %s ms", trimFloat(q.JitterMS)))
	if q.RTTMS > 0 {
		parts = append(parts, fmt.Sprintf("round trip %s ms", trimFloat(q.RTTMS)))
	}
	return strings.Join(parts, "; ")
}

// trimFloat writes f with at most one decimal, without a trailing ".0".
func trimFloat(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	return strings.TrimSuffix(s, ".0")
}
