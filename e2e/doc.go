// Package e2e holds callrec's end-to-end tests. They build the real callrec
// binary, start it with a configuration written per test, and drive it over
// loopback with SIPp (Debian package sip-tester) playing the owner's phone,
// a stranger's phone and the SIP trunk. They assert what a peer sees: SIP
// statuses and headers in SIPp's message traces, call records from
// `callrec calls list --json`, and the recorded WAV (format, duration, and
// which side's tone is on which channel).
//
// Run them with
//
//	go test ./e2e/ -v
//
// They need sipp on PATH and root (or CAP_NET_RAW on sipp) for SIPp's
// play_pcap_audio. Without sipp they skip, except when CI=true, where a
// missing sipp fails them. Set CALLREC_E2E_BIN to test a prebuilt binary
// instead of building ./cmd/callrec, or CALLREC_E2E_RACE=1 to build it with
// -race (a reported data race fails the test). TestHarness* check the SIPp
// scenarios against each other without callrec. See SIPP_NOTES.md for what
// SIPp does on the wire.
package e2e
