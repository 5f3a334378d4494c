package main

import (
	"net"

	"github.com/pion/rtp"

	"github.com/callrec/callrec/internal/media/srtp"
)

// receiveCounts is what a call got back from callrec.
type receiveCounts struct {
	// packets counts the RTP packets that arrived and were accepted
	// (authentic, for SRTP).
	packets int
	// rejected counts those that were not RTP or failed SRTP
	// authentication.
	rejected int
}

// receive reads conn until it is closed, checking (and, with session,
// decrypting) each packet, and returns the counts.
func receive(conn *net.UDPConn, session *srtp.Session) receiveCounts {
	var counts receiveCounts
	buf := make([]byte, 1500)
	plain := make([]byte, 0, 1500)
	var h rtp.Header
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return counts
		}
		pkt := buf[:n]
		if session != nil {
			if pkt, err = session.DecryptRTP(plain[:0], pkt); err != nil {
				counts.rejected++
				continue
			}
		}
		if _, err := h.Unmarshal(pkt); err != nil {
			counts.rejected++
			continue
		}
		counts.packets++
	}
}
