package e2e

// SIPp scenarios, generated per test from text/template. SIPp strips the
// leading white space of every line inside CDATA, so the indentation below
// is for reading only. TestHarness* in harness_selfcheck_test.go runs these
// scenarios against each other, without callrec, to show they are right.

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
)

// codec is one audio format offered in SDP.
type codec struct {
	PT   int
	Name string // e.g. "PCMU/8000"
}

var (
	pcmu = codec{0, "PCMU/8000"}
	pcma = codec{8, "PCMA/8000"}
	g729 = codec{18, "G729/8000"}
)

// step is one thing a caller does once the call is answered.
type step struct {
	PauseMS  int    // wait this long (after playing PCAP, if set)
	PCAP     string // play this pcap (RFC 4733 keys) first
	Keys     string // the keys in PCAP, for reading the scenario
	Hangup   bool   // send BYE and expect 200
	AwaitBye int    // wait up to this many ms for a BYE and answer 200
}

func pause(ms int) step      { return step{PauseMS: ms} }
func hangup() step           { return step{Hangup: true} }
func awaitBye(ms int) step   { return step{AwaitBye: ms} }
func (s step) IsPause() bool { return s.PCAP == "" && !s.Hangup && s.AwaitBye == 0 }
func (s step) IsPCAP() bool  { return s.PCAP != "" }

// keys writes a pcap that types k as RFC 4733 events with payload type pt,
// and returns the step that plays it and waits until it has been sent
// plus 200 ms.
func keys(t *testing.T, k string, pt int) step {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("keys-%s.pcap", strings.NewReplacer("#", "H", "*", "S").Replace(k)))
	ms := writeDTMFPcap(t, path, k, uint8(pt))
	return step{PCAP: path, Keys: k, PauseMS: ms + 200}
}

// junkKeys returns a step that plays telephone-events that must not count
// as keys (see writeJunkDTMFPcap) on payload type pt and a type nobody
// offered, pt-1.
func junkKeys(t *testing.T, pt int) step {
	t.Helper()
	path := filepath.Join(t.TempDir(), "junk-keys.pcap")
	ms := writeJunkDTMFPcap(t, path, uint8(pt), uint8(pt-1))
	return step{PCAP: path, Keys: "(junk)", PauseMS: ms + 300}
}

// callerScenario is a phone that calls callrec (the owner or a stranger).
type callerScenario struct {
	From          string  // caller's number: user part of From and Contact
	To            string  // number called: user part of Request-URI and To
	Codecs        []codec // audio offered; default PCMU, PCMA
	EventPT       int     // payload type offered for telephone-event; 0: none
	SDPPort       int     // media port put in SDP; 0: SIPp's own (-mp)
	Early         bool    // require a 183 before the final response
	Expect        int     // final status expected for the INVITE; default 200
	CancelAfterMS int     // send CANCEL this long after the provisional response; expect 200 and 487
	Tone          string  // μ-law file streamed (PCMU) from the answer on
	Steps         []step  // what to do once answered, in order
}

// trunkScenario is the SIP trunk: it receives callrec's outbound INVITE.
type trunkScenario struct {
	Mode          string // "answer", "reject" (Code) or "ring" (180, then wait for CANCEL)
	Code          int    // reject: the final status
	RingMS        int    // answer: send 180 and wait this long before 200
	Tone          string // answer: μ-law file streamed (PCMU) after the ACK
	SDPPort       int    // media port put in SDP; 0: SIPp's own (-mp)
	HangupAfterMS int    // answer: send BYE this long after the ACK; 0: wait for BYE
	Early183      bool   // answer, ring: send 183 with SDP instead of 180
}

var reasons = map[int]string{
	403: "Forbidden", 404: "Not Found", 480: "Temporarily Unavailable",
	486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
	500: "Server Internal Error", 503: "Service Unavailable", 603: "Decline",
}

// sdp returns SDP lines announcing codecs and telephone-event on port
// (0: SIPp's [media_port]), each on its own line.
func sdp(codecs []codec, eventPT, port int) string {
	mport := "[media_port]"
	if port != 0 {
		mport = fmt.Sprint(port)
	}
	pts := make([]string, 0, len(codecs)+1)
	for _, c := range codecs {
		pts = append(pts, fmt.Sprint(c.PT))
	}
	if eventPT != 0 {
		pts = append(pts, fmt.Sprint(eventPT))
	}
	lines := []string{
		"v=0",
		"o=- 1 1 IN IP[media_ip_type] [media_ip]",
		"s=-",
		"c=IN IP[media_ip_type] [media_ip]",
		"t=0 0",
		"m=audio " + mport + " RTP/AVP " + strings.Join(pts, " "),
	}
	for _, c := range codecs {
		lines = append(lines, fmt.Sprintf("a=rtpmap:%d %s", c.PT, c.Name))
	}
	if eventPT != 0 {
		lines = append(lines,
			fmt.Sprintf("a=rtpmap:%d telephone-event/8000", eventPT),
			fmt.Sprintf("a=fmtp:%d 0-16", eventPT))
	}
	lines = append(lines, "a=ptime:20", "a=sendrecv")
	return strings.Join(lines, "\n")
}

var scenarioFuncs = template.FuncMap{
	"reason": func(code int) string {
		if r, ok := reasons[code]; ok {
			return r
		}
		return "Error"
	},
	"indent": func(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") },
}

// The caller. The INVITE's branch is fixed so that CANCEL and the ACK of a
// failure response reuse it, as RFC 3261 wants.
var callerTemplate = template.Must(template.New("caller").Funcs(scenarioFuncs).Parse(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="caller {{.From}} to {{.To}}">
{{define "from"}}From: <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]{{end}}
{{- define "ruri"}}sip:{{.To}}@[remote_ip]:[remote_port]{{end}}
  <send retrans="500" start_txn="invite">
    <![CDATA[
      INVITE {{template "ruri" .}} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-invite
      {{template "from" .}}
      To: <{{template "ruri" .}}>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Allow: INVITE, ACK, BYE, CANCEL, OPTIONS
      User-Agent: callrec-e2e
      Content-Type: application/sdp
      Content-Length: [len]

      {{indent .SDP}}
    ]]>
  </send>

  <recv response="100" optional="global" response_txn="invite"/>
{{- if .Early}}
  <recv response="180" optional="global" response_txn="invite"/>
  <recv response="183" response_txn="invite"/>
{{- if not .CancelAfterMS}}
  <recv response="180" optional="global" response_txn="invite"/>
  <recv response="183" optional="global" response_txn="invite"/>
{{- end}}
{{- else if .CancelAfterMS}}
  <recv response="183" optional="global" response_txn="invite"/>
  <recv response="180" response_txn="invite"/>
{{- else}}
  <recv response="180" optional="global" response_txn="invite"/>
  <recv response="183" optional="global" response_txn="invite"/>
{{- end}}
{{if .CancelAfterMS}}
  <pause milliseconds="{{.CancelAfterMS}}"/>
  <send start_txn="cancel">
    <![CDATA[
      CANCEL {{template "ruri" .}} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-invite
      {{template "from" .}}
      To: <{{template "ruri" .}}>
      Call-ID: [call_id]
      CSeq: 1 CANCEL
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" response_txn="cancel"/>
  <recv response="487" response_txn="invite"/>
{{- else}}
  <recv response="{{.Expect}}" rtd="true" response_txn="invite"/>
{{- end}}
{{if eq .Expect 200}}
  <send ack_txn="invite">
    <![CDATA[
      ACK {{template "ruri" .}} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-ack
      {{template "from" .}}
      To: <{{template "ruri" .}}>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
{{- if .Tone}}
  <nop><action><exec rtp_stream="{{.Tone}},-1,0"/></action></nop>
{{- end}}
{{- range $i, $s := .Steps}}
{{- if $s.IsPCAP}}
  <!-- keys {{$s.Keys}} -->
  <nop><action><exec play_pcap_audio="{{$s.PCAP}}"/></action></nop>
  <pause milliseconds="{{$s.PauseMS}}"/>
{{- else if $s.Hangup}}
  <send retrans="500">
    <![CDATA[
      BYE {{template "ruri" $}} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-bye{{$i}}
      {{template "from" $}}
      To: <{{template "ruri" $}}>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
{{- else if $s.AwaitBye}}
  <recv request="BYE" timeout="{{$s.AwaitBye}}" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
{{- else}}
  <pause milliseconds="{{$s.PauseMS}}"/>
{{- end}}
{{- end}}
{{- else}}
  <send ack_txn="invite">
    <![CDATA[
      ACK {{template "ruri" .}} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-invite
      {{template "from" .}}
      To: <{{template "ruri" .}}>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="300"/>
{{- end}}
</scenario>
`))

// The trunk.
var trunkTemplate = template.Must(template.New("trunk").Funcs(scenarioFuncs).Parse(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="trunk {{.Mode}}">
{{define "resp"}}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
{{- end}}
{{define "ringing"}}
  <send>
    <![CDATA[
{{- if .Early183}}
      SIP/2.0 183 Session Progress{{template "resp"}}
      Contact: <sip:trunk@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      {{indent .SDP}}
{{- else}}
      SIP/2.0 180 Ringing{{template "resp"}}
      Contact: <sip:trunk@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0
{{end}}
    ]]>
  </send>
{{- end}}
  <recv request="INVITE" crlf="true">
{{- if eq .Mode "ring"}}
    <action>
      <ereg regexp="([0-9]+) +INVITE" search_in="hdr" header="CSeq:" check_it="true" assign_to="_,cseq_num"/>
    </action>
{{- else if .HangupAfterMS}}
    <action>
      <ereg regexp="sips?:[^>]*" search_in="hdr" header="Contact:" check_it="true" assign_to="contact"/>
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="from"/>
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="to"/>
    </action>
{{- end}}
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 100 Trying
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
{{- if eq .Mode "reject"}}
  <send>
    <![CDATA[
      SIP/2.0 {{.Code}} {{reason .Code}}{{template "resp"}}
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
{{- else if eq .Mode "ring"}}
  {{template "ringing" .}}
  <recv request="CANCEL" timeout="55000" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK{{template "resp"}}
      Content-Length: 0

    ]]>
  </send>
  <send>
    <![CDATA[
      SIP/2.0 487 Request Terminated
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: [$cseq_num] INVITE
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
{{- else}}
{{- if .RingMS}}
  {{template "ringing" .}}
  <pause milliseconds="{{.RingMS}}"/>
{{- end}}
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK{{template "resp"}}
      Contact: <sip:trunk@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      {{indent .SDP}}
    ]]>
  </send>
  <recv request="ACK" rtd="true" crlf="true"/>
{{- if .Tone}}
  <nop><action><exec rtp_stream="{{.Tone}},-1,0"/></action></nop>
{{- end}}
{{- if .HangupAfterMS}}
  <pause milliseconds="{{.HangupAfterMS}}"/>
  <send retrans="500">
    <![CDATA[
      BYE [$contact] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-bye
      From: [$to];tag=[pid]SIPpTag01[call_number]
      To: [$from]
      Call-ID: [call_id]
      CSeq: 1 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
{{- else}}
  <recv request="BYE" timeout="55000" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
{{- end}}
{{- end}}
</scenario>
`))

// render fills a scenario template.
func (c callerScenario) render(t *testing.T) string {
	t.Helper()
	if c.Expect == 0 {
		c.Expect = 200
	}
	if c.Codecs == nil {
		c.Codecs = []codec{pcmu, pcma}
	}
	if c.CancelAfterMS > 0 {
		c.Expect = 487
	}
	var b bytes.Buffer
	err := callerTemplate.Execute(&b, struct {
		callerScenario
		SDP string
	}{c, sdp(c.Codecs, c.EventPT, c.SDPPort)})
	if err != nil {
		t.Fatalf("caller scenario: %v", err)
	}
	return b.String()
}

func (s trunkScenario) render(t *testing.T) string {
	t.Helper()
	if s.Mode == "" {
		s.Mode = "answer"
	}
	var b bytes.Buffer
	err := trunkTemplate.Execute(&b, struct {
		trunkScenario
		SDP string
	}{s, sdp([]codec{pcmu}, 0, s.SDPPort)})
	if err != nil {
		t.Fatalf("trunk scenario: %v", err)
	}
	return b.String()
}
