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

// A caller that re-INVITEs during the call: INVITE (a stranger, so 183
// early media, then 200), ACK, tone, pause, a re-INVITE in the dialog
// (CSeq 2) with ReSDP, ACK, pause, BYE (CSeq 3).
var reinviteCallerTemplate = template.Must(template.New("reinvite").Funcs(scenarioFuncs).Parse(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="caller re-INVITE">
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
  <recv response="180" optional="global" response_txn="invite"/>
  <recv response="183" optional="global" response_txn="invite"/>
  <recv response="200" rtd="true" response_txn="invite"/>
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
  <nop><action><exec rtp_stream="{{.Tone}},-1,0"/></action></nop>
  <pause milliseconds="{{.BeforeMS}}"/>
  <send retrans="500" start_txn="reinvite">
    <![CDATA[
      INVITE {{template "ruri" .}} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-reinvite
      {{template "from" .}}
      To: <{{template "ruri" .}}>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 INVITE
      Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Allow: INVITE, ACK, BYE, CANCEL, OPTIONS
      User-Agent: callrec-e2e
      Content-Type: application/sdp
      Content-Length: [len]

      {{indent .ReSDP}}
    ]]>
  </send>
  <recv response="100" optional="true" response_txn="reinvite"/>
  <recv response="200" response_txn="reinvite"/>
  <send ack_txn="reinvite">
    <![CDATA[
      ACK {{template "ruri" .}} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-reack
      {{template "from" .}}
      To: <{{template "ruri" .}}>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
{{- if .PauseStream}}
  <nop><action><exec rtp_stream="pause"/></action></nop>
{{- end}}
  <pause milliseconds="{{.AfterMS}}"/>
  <send retrans="500">
    <![CDATA[
      BYE {{template "ruri" .}} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-bye
      {{template "from" .}}
      To: <{{template "ruri" .}}>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 3 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
`))

// reinviteCaller is the scenario above, filled in.
type reinviteCaller struct {
	From, To          string
	Tone              string // μ-law file streamed from the answer on
	SDP, ReSDP        string // the INVITE's and the re-INVITE's SDP
	BeforeMS, AfterMS int    // talk before and after the re-INVITE
	PauseStream       bool   // stop the tone once the re-INVITE is answered
}

func (r reinviteCaller) render(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := reinviteCallerTemplate.Execute(&b, r); err != nil {
		t.Fatalf("re-INVITE scenario: %v", err)
	}
	return b.String()
}

// The digest challenge the tests' trunk and registrar send.
const (
	trunkRealm = "trunk.e2e.test"
	trunkNonce = "5f0c2a1bd3e94c7a8b6e1f20c4d9a377"
	trunkUser  = "callrec-e2e"
	trunkPass  = "s3cret-Pa55"
)

// authFail ends a scenario as a failed call: a receive that times out.
const authFail = `  <recv request="NOTIFY" timeout="200"/>`

// A trunk that challenges the first INVITE with 401, checks the
// Authorization of the second with verifyauth, answers it (200, tone) if
// valid and fails the call (403) if not, then waits for BYE.
var authTrunkTemplate = template.Must(template.New("authtrunk").Funcs(scenarioFuncs).Parse(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="trunk with digest auth">
{{define "resp"}}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
{{- end}}
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 401 Unauthorized{{template "resp"}}
      WWW-Authenticate: Digest realm="{{.Realm}}", nonce="{{.Nonce}}", algorithm=MD5{{if .QOP}}, qop="auth"{{end}}
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <recv request="INVITE" crlf="true">
    <action>
      <verifyauth assign_to="authvalid" username="{{.User}}" password="{{.Pass}}"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="1"/>
  <send>
    <![CDATA[
      SIP/2.0 403 Forbidden{{template "resp"}}
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
{{.Fail}}
  <label id="1"/>
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
  <nop><action><exec rtp_stream="{{.Tone}},-1,0"/></action></nop>
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
</scenario>
`))

// A registrar: 401 to the first REGISTER, verifyauth on the second, 200
// with Expires: 60 if valid, 403 and a failed call if not.
var registrarTemplate = template.Must(template.New("registrar").Funcs(scenarioFuncs).Parse(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="registrar with digest auth">
{{define "resp"}}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
{{- end}}
  <recv request="REGISTER" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 401 Unauthorized{{template "resp"}}
      WWW-Authenticate: Digest realm="{{.Realm}}", nonce="{{.Nonce}}", algorithm=MD5{{if .QOP}}, qop="auth"{{end}}
      Content-Length: 0

    ]]>
  </send>
  <recv request="REGISTER" crlf="true">
    <action>
      <verifyauth assign_to="authvalid" username="{{.User}}" password="{{.Pass}}"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="1"/>
  <send>
    <![CDATA[
      SIP/2.0 403 Forbidden{{template "resp"}}
      Content-Length: 0

    ]]>
  </send>
{{.Fail}}
  <label id="1"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK{{template "resp"}}
      [last_Contact:];expires=60
      Expires: 60
      Content-Length: 0

    ]]>
  </send>
</scenario>
`))

// authPeer fills the trunk and registrar templates.
type authPeer struct {
	Realm, Nonce, User, Pass string
	QOP                      bool   // offer qop="auth"
	Tone                     string // trunk: μ-law file streamed after the ACK
}

func (a authPeer) render(t *testing.T, tmpl *template.Template) string {
	t.Helper()
	var b bytes.Buffer
	err := tmpl.Execute(&b, struct {
		authPeer
		SDP, Fail string
	}{a, sdp([]codec{pcmu}, 0, 0), authFail})
	if err != nil {
		t.Fatalf("%s scenario: %v", tmpl.Name(), err)
	}
	return b.String()
}

// shortRegistrar is registrarTemplate (401, then 200 to a REGISTER that
// verifyauth accepts) granting expires seconds instead of 60.
func shortRegistrar(t *testing.T, a authPeer, expires int) string {
	t.Helper()
	s := a.render(t, registrarTemplate)
	for _, r := range [][2]string{{";expires=60", fmt.Sprintf(";expires=%d", expires)}, {"Expires: 60", fmt.Sprintf("Expires: %d", expires)}} {
		if !strings.Contains(s, r[0]) {
			t.Fatalf("registrar scenario has no %q to replace", r[0])
		}
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}

// A registrar for a refresh: it takes a REGISTER whose Authorization
// verifyauth accepts at once; otherwise it challenges it (401) and takes
// the next one if that one verifies; else 403 and a failed call. The
// lifetime granted is {{.Expires}} s.
var refreshRegistrarTemplate = template.Must(template.New("refresh").Funcs(scenarioFuncs).Parse(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="registrar for a refresh">
{{define "resp"}}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
{{- end}}
  <recv request="REGISTER" timeout="15000" crlf="true">
    <action>
      <verifyauth assign_to="authvalid" username="{{.User}}" password="{{.Pass}}"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="1"/>
  <send>
    <![CDATA[
      SIP/2.0 401 Unauthorized{{template "resp"}}
      WWW-Authenticate: Digest realm="{{.Realm}}", nonce="{{.Nonce}}", algorithm=MD5, qop="auth"
      Content-Length: 0

    ]]>
  </send>
  <recv request="REGISTER" crlf="true">
    <action>
      <verifyauth assign_to="authvalid" username="{{.User}}" password="{{.Pass}}"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="1"/>
  <send>
    <![CDATA[
      SIP/2.0 403 Forbidden{{template "resp"}}
      Content-Length: 0

    ]]>
  </send>
{{.Fail}}
  <label id="1"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK{{template "resp"}}
      [last_Contact:];expires={{.Expires}}
      Expires: {{.Expires}}
      Content-Length: 0

    ]]>
  </send>
</scenario>
`))

func refreshRegistrar(t *testing.T, a authPeer, expires int) string {
	t.Helper()
	var b bytes.Buffer
	if err := refreshRegistrarTemplate.Execute(&b, struct {
		authPeer
		Fail    string
		Expires int
	}{a, authFail, expires}); err != nil {
		t.Fatalf("refresh registrar scenario: %v", err)
	}
	return b.String()
}

// optionsScenario sends one OPTIONS and expects 200.
const optionsScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="OPTIONS ping">
  <send retrans="500">
    <![CDATA[
      OPTIONS sip:` + serviceNumber + `@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:monitor@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:` + serviceNumber + `@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Contact: <sip:monitor@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Accept: application/sdp
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" rtd="true"/>
</scenario>
`
