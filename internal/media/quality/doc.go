// Package quality keeps the reception and sending statistics of one RTP leg,
// speaks RTCP for it (RFC 3550 sender and receiver reports, SDES CNAME, BYE)
// and scores the leg's voice quality with the ITU-T G.107 E-model.
//
// A stream drives a Leg: it feeds in every RTP header it receives and every
// packet it sends, hands in the RTCP datagrams that arrive, asks for an RTCP
// compound packet to send every few seconds, and reads a Summary at the end.
// Every time handed in must come from one clock, the one whose readings go
// into the sender reports' NTP timestamps: round-trip times are measured
// against it.
package quality
