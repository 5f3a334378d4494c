package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/callrec/callrec/internal/media/dtmf"
)

// defaultInfoDuration is the duration of a digit callrec sends in INFO
// when none is given.
const defaultInfoDuration = 250 * time.Millisecond

// SetInfoDigits installs the function that receives the digits the peer
// sends in SIP INFO within the dialog, once each, in the order sent.
// Digits that arrive while none is installed are dropped. f is called on
// the goroutine answering the INFO and should return promptly.
func (st *sessionState) SetInfoDigits(f func(digit byte)) {
	st.mu.Lock()
	st.onDigit = f
	st.mu.Unlock()
}

// deliverDigit hands digit, from the INFO with CSeq seq, to the digit
// function unless an INFO at or after seq was delivered already.
func (st *sessionState) deliverDigit(seq uint32, digit byte) {
	st.deliverMu.Lock()
	defer st.deliverMu.Unlock()
	st.mu.Lock()
	if st.infoSeen && seq <= st.lastInfo {
		st.mu.Unlock()
		return
	}
	st.infoSeen, st.lastInfo = true, seq
	f := st.onDigit
	st.mu.Unlock()
	if f != nil {
		f(digit)
	}
}

// SendInfoDigit sends digit to the peer as SIP INFO
// (application/dtmf-relay) within the dialog, lasting d, and waits for
// the answer: an error unless it is 2xx. The leg must be answered.
func (st *sessionState) SendInfoDigit(ctx context.Context, digit byte, d time.Duration) error {
	if d <= 0 {
		d = defaultInfoDuration
	}
	ct, body, err := dtmf.InfoBody(digit, d)
	if err != nil {
		return fmt.Errorf("send INFO: %w", err)
	}
	dlg, target := st.sender()
	if dlg == nil {
		return errors.New("send INFO: the call is not answered")
	}
	req := sip.NewRequest(sip.INFO, target)
	req.AppendHeader(sip.NewHeader("Content-Type", ct))
	req.SetBody(body)
	res, err := dlg.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("send INFO: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("send INFO: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// handleInfo answers INFO with 200 whatever its package (RFC 6086 would
// allow 415; callrec is lenient), handing a DTMF digit within one of our
// dialogs to its leg.
func (s *Server) handleInfo(req *sip.Request, tx sip.ServerTransaction) {
	if st := s.sessionOf(req); st != nil {
		ct, _ := headerValue(req, "Content-Type", "c")
		if digit, _, err := dtmf.ParseInfo(ct, req.Body()); err == nil && req.CSeq() != nil {
			st.deliverDigit(req.CSeq().SeqNo, digit)
		}
	}
	s.respond(tx, req, 200, "OK")
}
