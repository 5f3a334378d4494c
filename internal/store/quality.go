package store

// LegQuality is one call leg's media quality, measured by callrec on what
// the leg's peer sent (RTP) and from what the peer reported about ours
// (RTCP).
type LegQuality struct {
	// Leg is "owner" or "other" (the party).
	Leg string `json:"leg"`
	// Codec is the audio codec the leg spoke ("G722", "PCMU", "PCMA").
	Codec string `json:"codec"`
	// Encrypted: the leg's media was SRTP.
	Encrypted bool `json:"encrypted,omitempty"`
	// PacketsReceived and PacketsLost count the peer's RTP packets;
	// LossPercent is lost of expected.
	PacketsReceived uint64  `json:"packets_received"`
	PacketsLost     uint64  `json:"packets_lost"`
	LossPercent     float64 `json:"loss_percent"`
	// JitterMS is the interarrival jitter at the end (RFC 3550), and
	// MaxJitterMS the highest seen, in milliseconds.
	JitterMS    float64 `json:"jitter_ms"`
	MaxJitterMS float64 `json:"max_jitter_ms"`
	// RTTMS is the round-trip time from RTCP, 0 when the peer sent no
	// reports to measure it.
	RTTMS float64 `json:"rtt_ms,omitempty"`
	// RemoteLossPercent and RemoteJitterMS are what the peer reported
	// about callrec's audio, when it sent RTCP reports.
	RemoteLossPercent float64 `json:"remote_loss_percent,omitempty"`
	RemoteJitterMS    float64 `json:"remote_jitter_ms,omitempty"`
	// RFactor and MOS are the ITU-T G.107 E-model estimate (simplified)
	// of the audio heard from the peer: R 0-100, MOS 1-4.5.
	RFactor float64 `json:"r_factor"`
	MOS     float64 `json:"mos"`
}
