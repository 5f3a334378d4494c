package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/srtp"
)

// telephoneEvent is the payload type the offer gives RFC 4733 events, as
// the SIPp caller's does.
const telephoneEvent = 101

// byeTimeout bounds the wait for the answer to a call's BYE.
const byeTimeout = 10 * time.Second

// callResult is how one call went.
type callResult struct {
	// err is nil for a call that was answered, held for the whole hold
	// time and hung up by us; else why it failed.
	err error
	// sent and skipped count RTP packets sent and skipped for lateness;
	// sendErrors those that could not be sent.
	sent, skipped, sendErrors int
	// in counts what callrec sent back.
	in receiveCounts
}

// callError names the step a call failed at.
type callError struct {
	step string
	err  error
}

func (e *callError) Error() string { return e.step + ": " + e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

// errHungUp means callrec ended the call before the hold time was up.
var errHungUp = errors.New("callrec hung up before the hold time was up")

// place makes one call: offer, answer, ACK, tone for the hold time, BYE.
func (g *generator) place(ctx context.Context) (res callResult) {
	fail := func(step string, err error) callResult {
		res.err = &callError{step: step, err: err}
		return res
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(g.mediaAddr))
	if err != nil {
		return fail("media socket", err)
	}
	defer conn.Close()
	var key srtp.Crypto
	local := sdp.Local{
		SessionID:      rand.Uint64() >> 1,
		SessionVersion: 1,
		Address:        g.mediaAddr.Addr().String(),
		Port:           conn.LocalAddr().(*net.UDPAddr).Port,
		Codecs:         []sdp.Codec{g.codec.sdp},
		TelephoneEvent: telephoneEvent,
	}
	if g.srtp {
		if key, err = srtp.NewCrypto(1, srtp.AESCM128SHA1_80); err != nil {
			return fail("SRTP key", err)
		}
		local.Proto = "RTP/SAVP"
		local.Crypto = []string{key.String()}
	}
	offer, err := sdp.Build(local)
	if err != nil {
		return fail("offer", err)
	}

	dlg, err := g.dialogs.WriteInvite(ctx, g.invite(offer))
	if err != nil {
		return fail("INVITE", err)
	}
	defer dlg.Close()
	actx, cancel := context.WithTimeout(ctx, g.answerTimeout)
	err = dlg.WaitAnswer(actx, sipgo.AnswerOptions{})
	cancel()
	if err != nil {
		var resp *sipgo.ErrDialogResponse
		if errors.As(err, &resp) {
			err = fmt.Errorf("%d %s", resp.Res.StatusCode, resp.Res.Reason)
		}
		return fail("answer", err)
	}
	if err := dlg.Ack(ctx); err != nil {
		return fail("ACK", err)
	}
	ans, err := parseAnswer(dlg.InviteResponse.Body(), g.codec.sdp, g.srtp, key)
	if err != nil {
		g.bye(dlg)
		return fail("SDP", err)
	}
	var session *srtp.Session
	if g.srtp {
		if session, err = srtp.NewSession(key, ans.key); err != nil {
			g.bye(dlg)
			return fail("SRTP", err)
		}
	}

	received := make(chan receiveCounts, 1)
	go func() { received <- receive(conn, session) }()
	out := newOutStream(conn, ans.dest, session, g.codec.sdp.PayloadType, g.tone)
	g.pacer.Start(out)
	hold := time.NewTimer(g.hold)
	select {
	case <-hold.C:
	case <-dlg.Context().Done():
		err = errHungUp
	case <-ctx.Done():
		err = ctx.Err()
	}
	hold.Stop()
	g.pacer.Stop(out)
	if err == nil {
		err = g.bye(dlg)
	}
	conn.Close()
	res.sent, res.skipped, res.sendErrors = out.sent, out.skipped, out.sendErrors
	res.in = <-received
	if err != nil {
		return fail("hang-up", err)
	}
	return res
}

// invite builds the INVITE of one call: from the caller's number to the
// service number at callrec.
func (g *generator) invite(offer []byte) *sip.Request {
	host, port := g.server.Addr().String(), int(g.server.Port())
	target := sip.Uri{Scheme: "sip", User: g.service, Host: host, Port: port}
	req := sip.NewRequest(sip.INVITE, target)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: g.caller, Host: g.sipAddr.Addr().String()}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: target, Params: sip.NewParams()})
	req.AppendHeader(sip.HeaderClone(&g.contact))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer)
	req.SetDestination(g.server.String())
	req.SetTransport("UDP")
	return req
}

// bye hangs the call up and waits for callrec's answer.
func (g *generator) bye(dlg *sipgo.DialogClientSession) error {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	return dlg.Bye(ctx)
}
