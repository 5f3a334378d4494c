package e2e

// Real softphones: baresip as the owner's phone, a stranger's phone and
// the far party behind the trunk (callrec's trunk.address is the far
// phone itself, which answers by itself), over UDP and TCP, and over TLS
// with SRTP once callrec has them. Each phone sends a tone of its own;
// the tests check what each phone heard (its sndfile dump) and callrec's
// recording.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// farNumber is the number the owner dials out to, in national format,
// and farE164 the far phone's account.
const (
	farNational = "2125550123"
	farE164     = "+12125550123"
	ownerPIN    = "4321"
)

// phoneTransports are the transports every phone test runs over.
func phoneTransports() []phoneTransport {
	return []phoneTransport{
		{Name: "udp", SIP: "udp"},
		{Name: "tcp", SIP: "tcp"},
		{Name: "tls-srtp", SIP: "tls", MediaEnc: "srtp-mand"},
	}
}

// requireTransport skips a TLS+SRTP case while callrec has no SIP over TLS
// and no SRTP: its documented example config then names neither
// tls_listen nor srtp.
func requireTransport(t *testing.T, tr phoneTransport) {
	t.Helper()
	if tr.SIP != "tls" && tr.MediaEnc == "" {
		return
	}
	requireCallrec(t)
	out, err := exec.Command(env.callrec, "config", "example").Output()
	if err != nil {
		t.Fatalf("callrec config example: %v", err)
	}
	if ex := string(out); !strings.Contains(ex, "tls_listen") || !strings.Contains(ex, "srtp:") {
		t.Skip("callrec has no SIP over TLS and SRTP yet (`callrec config example` names no tls_listen and no srtp:)")
	}
}

// phoneCerts is the TLS certificate of a test's phones and callrec: one
// self-signed certificate for 127.0.0.1, which every side also trusts.
type phoneCerts struct {
	Cert, Key string // PEM files
	CertKey   string // both in one file, as baresip's sip_certificate wants
}

// makePhoneCerts writes the test's certificate when tr is TLS; otherwise
// it returns the zero phoneCerts.
func makePhoneCerts(t *testing.T, tr phoneTransport) phoneCerts {
	t.Helper()
	if tr.SIP != "tls" {
		return phoneCerts{}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := phoneCerts{Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem"), CertKey: filepath.Join(dir, "certkey.pem")}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	for path, b := range map[string][]byte{c.Cert: certPEM, c.Key: keyPEM, c.CertKey: append(append([]byte(nil), certPEM...), keyPEM...)} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// phoneOpts is a baresip phone's options for the transport tr.
func phoneOpts(o baresipOpts, tr phoneTransport, certs phoneCerts) baresipOpts {
	o.Transport = tr
	o.CertFile, o.CAFile = certs.CertKey, certs.Cert
	return o
}

// phoneCallrec starts callrec with its trunk at the phone behind it, over
// tr, and returns it with the address phones call it at.
//
// Over TLS it also sets callrec's SIP over TLS (sip.tls_listen,
// sip.tls_cert, sip.tls_key; trunk.transport tls verified with
// trunk.tls_ca) and, for mandatory SRTP, media.srtp: required.
func phoneCallrec(t *testing.T, cfg config, tr phoneTransport, certs phoneCerts, behindTrunk *baresip) (*callrec, string) {
	t.Helper()
	cfg.TrunkPort = behindTrunk.SIPPort()
	env := []string{"CALLREC_TRUNK_TRANSPORT=" + tr.SIP}
	if tr.SIP != "tls" {
		cr := startCallrec(t, cfg, env...)
		return cr, cr.SIPAddr()
	}
	tlsAddr := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1, true))
	env = append(env,
		"CALLREC_SIP_TLS_LISTEN="+tlsAddr,
		"CALLREC_SIP_TLS_CERT="+certs.Cert,
		"CALLREC_SIP_TLS_KEY="+certs.Key,
		"CALLREC_TRUNK_TLS_CA="+certs.Cert,
	)
	if tr.MediaEnc == "srtp-mand" {
		env = append(env, "CALLREC_MEDIA_SRTP=required")
	}
	return startCallrec(t, cfg, env...), tlsAddr
}

// phoneCall is one bridged call between two baresip phones through
// callrec: the owner's phone and the other party's (the far phone the
// owner dialled, or the stranger who called in).
type phoneCall struct {
	cr           *callrec
	owner, other *baresip
	up           baresipEvent // the other phone's CALL_ESTABLISHED
}

// dialOut starts the far phone (answering by itself), callrec with its
// trunk at that phone, and the owner's phone, which calls the service
// number and keys the PIN and the far number; it returns once callrec
// has bridged the call and started recording.
func dialOut(t *testing.T, tr phoneTransport) phoneCall {
	t.Helper()
	certs := makePhoneCerts(t, tr)
	far := startBaresip(t, phoneOpts(baresipOpts{Name: "far", User: farE164, VoiceHz: otherHz, AutoAnswer: true}, tr, certs))
	cr, addr := phoneCallrec(t, config{OwnerPIN: ownerPIN}, tr, certs, far)
	owner := startBaresip(t, phoneOpts(baresipOpts{Name: "owner", User: ownerNumber, VoiceHz: ownerHz}, tr, certs))
	owner.dial(serviceNumber, addr)
	owner.waitEvent(20*time.Second, "CALL_ESTABLISHED")
	cr.waitLog(20*time.Second, "prompt=enter_pin.wav")
	time.Sleep(waitEnterPIN * time.Millisecond)
	owner.pressKeys(ownerPIN + "#")
	cr.waitLog(20*time.Second, "prompt=enter_number.wav")
	time.Sleep(waitEnterNumber * time.Millisecond)
	owner.pressKeys(farNational + "#")
	up := far.waitEvent(30*time.Second, "CALL_ESTABLISHED")
	cr.waitRecordingStarted()
	// The far phone hears "this call is being recorded" first; the keys
	// that pause and resume are armed after it.
	cr.waitLog(20*time.Second, "type=ReceiveDigits")
	return phoneCall{cr: cr, owner: owner, other: far, up: up}
}

// hangUp has the owner's phone hang up, waits until both phones report
// the call closed, and returns how long the other phone's leg was up.
func (c phoneCall) hangUp(t *testing.T) time.Duration {
	t.Helper()
	c.owner.hangup()
	c.owner.waitEvent(10*time.Second, "CALL_CLOSED")
	down := c.other.waitEvent(10*time.Second, "CALL_CLOSED")
	return down.At.Sub(c.up.At)
}

// TestPhoneDialOut: the owner's baresip calls the service number, keys
// the PIN and a national number as RFC 4733 events, and is bridged to the
// far baresip, which answers by itself; each phone hears the other's
// tone, and the recording has the owner's on channel 0 and the far
// phone's on channel 1. All SIP went over the transport under test.
func TestPhoneDialOut(t *testing.T) {
	t.Parallel()
	for _, tr := range phoneTransports() {
		t.Run(tr.Name, func(t *testing.T) {
			t.Parallel()
			requireTransport(t, tr)
			c := dialOut(t, tr)
			time.Sleep(5 * time.Second)
			bridged := c.hangUp(t)

			rec := c.cr.oneCall()
			if rec.Direction != "outbound" || rec.Party != farE164 || rec.Status != "completed" || rec.AnsweredAt == nil {
				t.Errorf("call record %v: want direction outbound, party %s, status completed, answered_at set", rec, farE164)
			}
			checkRecording(t, c.cr, rec, bridged, 4)
			c.owner.heardTone(0, otherHz, 4)
			c.other.heardTone(0, ownerHz, 4)
			c.owner.checkTransport()
			c.other.checkTransport()
		})
	}
}

// TestPhoneStrangerCallsIn: a stranger's baresip calls the service
// number; callrec calls the owner's baresip (at the trunk address), which
// answers by itself; the two hear each other, the owner hangs up, and the
// recording has the owner on channel 0 although the callee.
func TestPhoneStrangerCallsIn(t *testing.T) {
	t.Parallel()
	for _, tr := range phoneTransports() {
		t.Run(tr.Name, func(t *testing.T) {
			t.Parallel()
			requireTransport(t, tr)
			certs := makePhoneCerts(t, tr)
			owner := startBaresip(t, phoneOpts(baresipOpts{Name: "owner", User: ownerNumber, VoiceHz: ownerHz, AutoAnswer: true}, tr, certs))
			cr, addr := phoneCallrec(t, config{}, tr, certs, owner)
			stranger := startBaresip(t, phoneOpts(baresipOpts{Name: "stranger", User: strangerNum, VoiceHz: otherHz}, tr, certs))
			stranger.dial(serviceNumber, addr)
			owner.waitEvent(30*time.Second, "CALL_ESTABLISHED")
			up := stranger.waitEvent(30*time.Second, "CALL_ESTABLISHED")
			cr.waitRecordingStarted()
			time.Sleep(6 * time.Second)
			c := phoneCall{cr: cr, owner: owner, other: stranger, up: up}
			bridged := c.hangUp(t)

			rec := cr.oneCall()
			if rec.Direction != "inbound" || rec.Party != strangerNum || rec.Status != "completed" || rec.AnsweredAt == nil {
				t.Errorf("call record %v: want direction inbound, party %s, status completed, answered_at set", rec, strangerNum)
			}
			checkRecording(t, cr, rec, bridged, 4)
			owner.heardTone(0, otherHz, 4)
			stranger.heardTone(0, ownerHz, 4)
			owner.checkTransport()
			stranger.checkTransport()
		})
	}
}

// TestPhoneHold: mid-call the owner's phone puts the call on hold and
// later resumes it (re-INVITEs with a=sendonly, then a=sendrecv). The call
// survives; on hold callrec sends the owner's phone nothing (its answer
// is recvonly) and the owner's channel of the recording is silent, as the
// phone sends nothing while holding; after the resume each phone hears the
// other again and both tones are back in the recording.
//
// What each phone heard is measured with /audio_debug (seconds decoded),
// not its sndfile dump: baresip 1.0.0 drops the dump from its receive
// pipeline when a re-INVITE restarts the player.
func TestPhoneHold(t *testing.T) {
	t.Parallel()
	for _, tr := range phoneTransports() {
		t.Run(tr.Name, func(t *testing.T) {
			t.Parallel()
			requireTransport(t, tr)
			c := dialOut(t, tr)
			time.Sleep(3 * time.Second)
			held := c.owner.hold()
			ownerAtHold, farAtHold := c.owner.audio(), c.other.audio()
			time.Sleep(4 * time.Second)
			ownerHeld := c.owner.audio()
			resumed := c.owner.resume()
			ownerAtResume, farAtResume := c.owner.audio(), c.other.audio()
			time.Sleep(5 * time.Second)
			ownerEnd, farEnd := c.owner.audio(), c.other.audio()
			bridged := c.hangUp(t)

			t.Logf("owner's phone: %+v at the hold, %+v before the resume, %+v after it, %+v at the end", ownerAtHold, ownerHeld, ownerAtResume, ownerEnd)
			t.Logf("far phone: %+v at the hold, %+v after the resume, %+v at the end", farAtHold, farAtResume, farEnd)
			if ownerHeld.Dir != "sendonly" {
				t.Errorf("the owner's phone on hold has its stream %s, want sendonly", ownerHeld.Dir)
			}
			if d := ownerHeld.RxSeconds - ownerAtHold.RxSeconds; d > 1 {
				t.Errorf("on hold (4 s) the owner's phone decoded %.2f s of audio from callrec, which answered recvonly", d)
			}
			if ownerEnd.Dir != "sendrecv" {
				t.Errorf("the owner's phone after the resume has its stream %s, want sendrecv", ownerEnd.Dir)
			}
			if d := ownerEnd.RxSeconds - ownerAtResume.RxSeconds; d < 3.5 {
				t.Errorf("in the 5 s after the resume the owner's phone decoded %.2f s of audio, want about 5 s", d)
			}
			if d := farEnd.RxSeconds - farAtResume.RxSeconds; d < 3.5 {
				t.Errorf("in the 5 s after the resume the far phone decoded %.2f s of audio, want about 5 s", d)
			}

			rec := c.cr.oneCall()
			if rec.Status != "completed" {
				t.Errorf("call record %v: want status completed", rec)
			}
			w := checkRecording(t, c.cr, rec, bridged, 4)
			recStart := rec.EndedAt.Add(-time.Duration(w.Duration() * float64(time.Second)))
			span := func(from, to time.Time) [2]channelStats {
				var st [2]channelStats
				for ch := range st {
					hi := min(max(int(to.Sub(recStart).Seconds()*8000), 0), len(w.Samples[ch]))
					lo := min(max(int(from.Sub(recStart).Seconds()*8000), 0), hi)
					st[ch] = analyseChannel(w.Samples[ch][lo:hi])
				}
				return st
			}
			// The spans leave 0.5 s at each end for the re-INVITEs' media to settle.
			onHold := span(held.At.Add(500*time.Millisecond), resumed.At.Add(-500*time.Millisecond))
			after := span(resumed.At.Add(500*time.Millisecond), rec.EndedAt.Add(-500*time.Millisecond))
			t.Logf("recording on hold: owner %v; far %v", onHold[0], onHold[1])
			t.Logf("recording after the resume: owner %v; far %v", after[0], after[1])
			if onHold[0].Frames == 0 || onHold[0].Silent < onHold[0].Frames*9/10 {
				t.Errorf("the owner's channel is silent in %d of the %d frames on hold, want nearly all: the holding phone sends nothing", onHold[0].Silent, onHold[0].Frames)
			}
			for ch, hz := range [2]int{ownerHz, otherHz} {
				if after[ch].Frames == 0 || after[ch].ToneHit[hz] < after[ch].Frames*8/10 {
					t.Errorf("after the resume channel %d carries its %d Hz tone in %d of %d frames, want nearly all", ch, hz, after[ch].ToneHit[hz], after[ch].Frames)
				}
			}
		})
	}
}

// TestPhonePauseResume: the owner's phone keys 5 and later 6 during the
// call: the record has one pause span, the recording is silent on both
// channels for it, the far phone got both keys as RFC 4733 events, and
// the phones heard each other throughout.
func TestPhonePauseResume(t *testing.T) {
	t.Parallel()
	for _, tr := range phoneTransports() {
		t.Run(tr.Name, func(t *testing.T) {
			t.Parallel()
			requireTransport(t, tr)
			c := dialOut(t, tr)
			time.Sleep(3 * time.Second)
			c.owner.pressKeys("5")
			c.cr.waitLog(5*time.Second, `msg="digit received"`, "digit=5")
			farMark := c.other.heardSoFar()
			time.Sleep(4500 * time.Millisecond)
			farPaused := c.other.heardSoFar() - farMark
			c.owner.pressKeys("6")
			c.cr.waitLog(5*time.Second, `msg="digit received"`, "digit=6")
			time.Sleep(4 * time.Second)
			bridged := c.hangUp(t)

			if keys := strings.Join(c.other.eventParams("CALL_DTMF_START"), ""); keys != "56" {
				t.Errorf("the far phone got keys %q as RFC 4733 events, want \"56\" (the owner's 5 and 6)", keys)
			}
			if s := float64(farPaused) / 8000; s < 3 {
				t.Errorf("during the pause the far phone heard %.2f s of audio, want about 4.5 s: a pause stops the recording only", s)
			}

			rec := c.cr.oneCall()
			w := checkRecording(t, c.cr, rec, bridged, 4)
			if len(rec.Pauses) != 1 {
				t.Fatalf("call record has pauses %v, want one span", rec.Pauses)
			}
			recStart := rec.EndedAt.Add(-time.Duration(w.Duration() * float64(time.Second)))
			ps, pe := rec.Pauses[0].Start.offset(recStart), rec.Pauses[0].End.offset(recStart)
			runs := silentRuns(w, 1)
			t.Logf("pause at %.2f–%.2f s of the recording (from the record); silent runs %v", ps, pe, runs)
			if pe-ps < 3.5 || pe-ps > 6.5 {
				t.Errorf("pause span %.2f s long, want about 4.5 s", pe-ps)
			}
			if len(runs) != 1 {
				t.Fatalf("recording has silent runs %v, want exactly one (the pause)", runs)
			}
			if d := runs[0][1] - runs[0][0]; d < pe-ps-0.6 || d > pe-ps+0.6 {
				t.Errorf("silent run lasts %.2f s, the pause %.2f s", d, pe-ps)
			}
			if runs[0][0] < ps-0.8 || runs[0][0] > ps+0.8 {
				t.Errorf("silent run starts at %.2f s of the recording, the pause at %.2f s", runs[0][0], ps)
			}
		})
	}
}

// TestPhoneLinphoneDialOut: TestPhoneDialOut over UDP with linphonec as
// the owner's phone: its keys reach callrec, and the two phones hear each
// other.
func TestPhoneLinphoneDialOut(t *testing.T) {
	t.Parallel()
	tr := phoneTransport{Name: "udp", SIP: "udp"}
	far := startBaresip(t, baresipOpts{Name: "far", User: farE164, VoiceHz: otherHz, Transport: tr, AutoAnswer: true})
	cr, addr := phoneCallrec(t, config{OwnerPIN: ownerPIN}, tr, phoneCerts{}, far)
	owner := startLinphone(t, "owner", ownerNumber, ownerHz)
	owner.dial(serviceNumber, addr)
	owner.waitOutput(20*time.Second, "connected.")
	cr.waitLog(20*time.Second, "prompt=enter_pin.wav")
	time.Sleep(waitEnterPIN * time.Millisecond)
	owner.pressKeys(ownerPIN + "#")
	cr.waitLog(20*time.Second, "prompt=enter_number.wav")
	time.Sleep(waitEnterNumber * time.Millisecond)
	owner.pressKeys(farNational + "#")
	up := far.waitEvent(30*time.Second, "CALL_ESTABLISHED")
	cr.waitRecordingStarted()
	cr.waitLog(20*time.Second, "type=ReceiveDigits")
	time.Sleep(5 * time.Second)
	owner.send("terminate")
	owner.waitOutput(10*time.Second, "ended")
	down := far.waitEvent(10*time.Second, "CALL_CLOSED")

	rec := cr.oneCall()
	if rec.Direction != "outbound" || rec.Party != farE164 || rec.Status != "completed" || rec.AnsweredAt == nil {
		t.Errorf("call record %v: want direction outbound, party %s, status completed, answered_at set", rec, farE164)
	}
	checkRecording(t, cr, rec, down.At.Sub(up.At), 4)
	far.heardTone(0, ownerHz, 4)
	heard := owner.heard()
	hits, _ := toneFrames(heard, otherHz)
	own, frames := toneFrames(heard, ownerHz)
	t.Logf("linphonec heard %.2f s: %d Hz in %.2f s, its own %d Hz in %.2f s", float64(len(heard))/8000,
		otherHz, float64(hits*frameMS)/1000, ownerHz, float64(own*frameMS)/1000)
	if hits*frameMS < 4000 {
		t.Errorf("linphonec heard the far phone's %d Hz for %.2f s, want at least 4 s", otherHz, float64(hits*frameMS)/1000)
	}
	if own > frames/50 {
		t.Errorf("linphonec heard its own %d Hz for %.2f s: its audio came back to it", ownerHz, float64(own*frameMS)/1000)
	}
}

// TestHarnessBaresip checks the baresip harness without callrec: one
// baresip calls another over each transport (TLS with SRTP too), keys a
// digit, and hangs up; each hears the other's tone, the callee gets the
// key, all SIP goes over the transport, and SRTP is offered as RTP/SAVP
// with a key.
func TestHarnessBaresip(t *testing.T) {
	t.Parallel()
	for _, tr := range phoneTransports() {
		t.Run(tr.Name, func(t *testing.T) {
			t.Parallel()
			certs := makePhoneCerts(t, tr)
			callee := startBaresip(t, phoneOpts(baresipOpts{Name: "callee", User: farE164, VoiceHz: otherHz, AutoAnswer: true}, tr, certs))
			caller := startBaresip(t, phoneOpts(baresipOpts{Name: "caller", User: ownerNumber, VoiceHz: ownerHz}, tr, certs))
			caller.dial(farE164, fmt.Sprintf("127.0.0.1:%d", callee.SIPPort()))
			caller.waitEvent(15*time.Second, "CALL_ESTABLISHED")
			callee.waitEvent(15*time.Second, "CALL_ESTABLISHED")
			time.Sleep(2 * time.Second)
			caller.pressKeys("7")
			callee.waitEvent(5*time.Second, "CALL_DTMF_START")
			time.Sleep(2 * time.Second)
			caller.hangup()
			callee.waitEvent(10*time.Second, "CALL_CLOSED")

			if keys := strings.Join(callee.eventParams("CALL_DTMF_START"), ""); keys != "7" {
				t.Errorf("the callee got keys %q, want \"7\"", keys)
			}
			caller.heardTone(0, otherHz, 3)
			callee.heardTone(0, ownerHz, 3)
			for _, b := range []*baresip{caller, callee} {
				b.checkTransport()
				if tr.MediaEnc == "" {
					continue
				}
				for _, m := range b.sipTrace() {
					if m.Msg.Method == "INVITE" && !strings.Contains(m.Msg.Body, "RTP/SAVP") || m.Msg.Method == "INVITE" && !strings.Contains(m.Msg.Body, "a=crypto:") {
						t.Errorf("baresip %s: an INVITE offers no SRTP (RTP/SAVP with a=crypto):\n%s", b.opts.Name, m.Msg.Body)
					}
				}
			}
		})
	}
}
