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
//
// # Real phones
//
// Beside SIPp, real softphones are peers (phones_test.go), each with a
// config of its own per test, on loopback:
//
//   - baresip (Debian baresip 1.0.0): the owner's phone, a stranger's
//     phone, and the far party (callrec's trunk.address is that phone,
//     which answers by itself), over UDP, TCP, and TLS with SRTP (those
//     cases skip until `callrec config example` names tls_listen and
//     srtp:). Its voice is a WAV tone (the aufile module); what it hears
//     is dumped to a WAV file (the sndfile filter; baresip 1.0.0's aufile
//     plays no audio, and its dump stops when a re-INVITE restarts the
//     player, so hold is measured with /audio_debug); commands and
//     events go over ctrl_tcp (netstring JSON); -s puts its SIP in its
//     log, which is checked for the transport.
//   - linphonec (Debian linphone-cli 5.1): the owner's phone in one
//     dial-out over UDP, driven through its console on standard input,
//     playing and recording WAV files ('soundcard use files'). It only
//     listens with its network monitor off, and only uses loopback in
//     SDP with bind and NAT addresses of 127.0.0.1 (harness config).
//
// Without them those tests skip, or fail when CI=true. TestHarnessBaresip
// checks the baresip harness, one baresip calling another, without callrec.
//
// # Where the tests are
//
// Each test file is named after what it tests:
//
//	dialout_test.go    the owner dials out: number, PIN, busy, no answer, refusals
//	callin_test.go     a stranger calls in: early media, prompts_dir, owner busy, CANCEL
//	incall_test.go     during a call: pause and resume keys, keys to the far end, max_call_seconds
//	sip_test.go        SIP behaviour: allowed sources, codecs, call limit, malformed SIP, OPTIONS, re-INVITE
//	trunk_test.go      the trunk account: digest authentication, registration and its refresh
//	media_test.go      PCMU↔PCMA transcoding, RTP from addresses that are no peer
//	lifecycle_test.go  graceful shutdown, the grace period running out, crash recovery
//	pipeline_test.go   post-call processing, its crash recovery, PostgreSQL, `callrec process`
//	delivery_test.go   a call to the owner's email, and the signed link to the report
//	phones_test.go     real softphones (baresip, linphonec): dial-out, call-in, hold, pause
//	nat_test.go        behind NAT: port forwards with external addresses, registration kept alive past the binding timeout, external_address on loopback
//	sbc_test.go        behind Kamailio+rtpengine: calls both ways, SRTP toward callrec
//	impair_test.go     a call over a bad network: alignment, duration, loss figures
//	dtmf_forms_test.go DTMF by SIP INFO and by in-band tones
//	media_timeout_test.go media.timeout, hold, keep-alive silence
//	earlymedia_test.go a carrier's 183 early media heard by the caller
//	wideband_test.go   G.722 on both legs and bridged to PCMU, call quality
//	prack_test.go      100rel: the reliable 183 PRACKed
//	timers_test.go     session timers: callrec refreshes, and ends a call whose refresh never comes
//	tls_test.go        SIP over TLS both ways
//
// The harness is in harness_*_test.go, each file named for what it helps
// with:
//
//	harness_test.go            TestMain (builds callrec once), skipping, numbers, free ports
//	harness_callrec_test.go    the config per test; starting, restarting, signalling, stopping callrec; its log
//	harness_records_test.go    call records, recording files, pipeline stages
//	harness_sipp_test.go       running SIPp, waiting for it, reading its trace
//	harness_sip_test.go        SIP messages and SDP as the tests read them; Go stand-ins for SIP peers
//	harness_scenarios_test.go  what a phone or trunk scenario can do; the scenario loader
//	harness_calls_test.go      prompt timings, tones, placing calls (callThrough), checking INVITE and recording
//	harness_audio_test.go      G.711, tones, WAV files, tone detection
//	harness_rtp_test.go        RTP packets, rtpSink (a Go media endpoint), RFC 4733 DTMF pcaps
//	harness_pipeline_test.go   the stand-in transcription API, PostgreSQL schemas
//	harness_mailpit_test.go    Mailpit, the SMTP server the delivery test reads mail from
//	harness_baresip_test.go    baresip and linphonec phones: config per test, commands, events, what they heard
//	harness_netns_test.go      namespaces, veths, the NAT router, processes and sockets in a namespace, gates (root, tools, config keys)
//	harness_kamailio_test.go   Kamailio (testdata/kamailio/*.cfg.tmpl) and rtpengine
//	harness_impair_test.go     the impairment relay, tone pulses
//	harness_selfcheck_test.go  TestHarness*: the scenarios against each other, without callrec
//
// A new test goes into the file of the feature it tests (a new feature, a
// new file named after it), and usually reads: startCallrec with a config,
// makeTones, callThrough with a trunkScenario and a callerScenario, then
// checks on the SIPp traces, cr.oneCall() and checkRecording.
//
// # Where the SIPp scenarios are
//
// Every scenario is a text/template file in testdata/sipp/, NAME.xml.tmpl:
// caller (a phone calling callrec), caller-reinvite, trunk, trunk-auth,
// registrar, registrar-refresh and options. The SIP they share (INVITE
// with SDP, the provisional responses, ACK, BYE, answering a BYE, the
// trunk's 180/183 and 200, RTP tone and DTMF pcap play, digest challenge
// and check) is defined once, as {{define}} blocks in
// testdata/sipp/blocks.tmpl. The files are embedded and parsed together;
// renderScenario in harness_scenarios_test.go is the one loader, called by
// the render methods of the Go types that say what a test wants of a
// scenario (callerScenario, trunkScenario, reinviteCaller, authPeer).
//
// To add a scenario: write testdata/sipp/NAME.xml.tmpl from the blocks
// (a piece that a second scenario needs moves into blocks.tmpl); give it
// a type or a field and a render method that calls renderScenario(t,
// "NAME", data); add a case to TestScenarioTemplates, which fails for a
// file it does not render; and, for a new kind of peer, a TestHarness*
// that runs it against another scenario without callrec. SIPP_NOTES.md
// has the details and what SIPp does with them.
package e2e
