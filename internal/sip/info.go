package sip

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Content types of SIP INFO digits.
const (
	contentDTMFRelay = "application/dtmf-relay"
	contentDTMF      = "application/dtmf"
)

// defaultInfoDuration is a digit's duration when its INFO gives none.
const defaultInfoDuration = 250 * time.Millisecond

// errNotDigit is parseInfoDigit's answer for INFO bodies that carry no
// digit (another package, or junk).
var errNotDigit = errors.New("no DTMF digit")

// parseInfoDigit reads the digit of an INFO body: application/dtmf-relay
// ("Signal=5\r\nDuration=160") or application/dtmf ("5"). Digits are
// 0-9, *, #, A-D (event numbers 10-15 are taken for * # A-D).
//
// TODO(merge): replace with dtmf.ParseInfo
func parseInfoDigit(ct string, body []byte) (byte, time.Duration, error) {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, 0, errNotDigit
	}
	switch mt {
	case contentDTMF:
		d, ok := infoDigit(strings.TrimSpace(string(body)))
		if !ok {
			return 0, 0, errNotDigit
		}
		return d, defaultInfoDuration, nil
	case contentDTMFRelay:
		var (
			digit    byte
			found    bool
			duration = defaultInfoDuration
		)
		for _, line := range strings.FieldsFunc(string(body), func(r rune) bool { return r == '\r' || r == '\n' }) {
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch {
			case strings.EqualFold(k, "Signal"):
				digit, found = infoDigit(v)
			case strings.EqualFold(k, "Duration"):
				if ms, err := strconv.Atoi(v); err == nil && ms > 0 && ms <= 60_000 {
					duration = time.Duration(ms) * time.Millisecond
				}
			}
		}
		if !found {
			return 0, 0, errNotDigit
		}
		return digit, duration, nil
	}
	return 0, 0, errNotDigit
}

// infoDigit reads one digit as INFO bodies write it.
func infoDigit(v string) (byte, bool) {
	if len(v) == 1 {
		c := v[0]
		switch {
		case c >= '0' && c <= '9', c == '*', c == '#':
			return c, true
		case c >= 'A' && c <= 'D':
			return c, true
		case c >= 'a' && c <= 'd':
			return c - 'a' + 'A', true
		}
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 10 && n <= 15 {
		return "*#ABCD"[n-10], true
	}
	return 0, false
}

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
	if _, ok := infoDigit(string(digit)); !ok {
		return fmt.Errorf("send INFO: %q is no DTMF digit", digit)
	}
	dlg, target := st.sender()
	if dlg == nil {
		return errors.New("send INFO: the call is not answered")
	}
	if d <= 0 {
		d = defaultInfoDuration
	}
	req := sip.NewRequest(sip.INFO, target)
	req.AppendHeader(sip.NewHeader("Content-Type", contentDTMFRelay))
	req.SetBody(infoRelayBody(digit, d))
	res, err := dlg.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("send INFO: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("send INFO: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// infoRelayBody is an application/dtmf-relay body.
func infoRelayBody(digit byte, d time.Duration) []byte {
	return fmt.Appendf(nil, "Signal=%c\r\nDuration=%d\r\n", digit, d.Milliseconds())
}

// handleInfo answers INFO with 200 whatever its package (RFC 6086 would
// allow 415; callrec is lenient), handing a DTMF digit within one of our
// dialogs to its leg.
func (s *Server) handleInfo(req *sip.Request, tx sip.ServerTransaction) {
	if st := s.sessionOf(req); st != nil {
		ct, _ := headerValue(req, "Content-Type", "c")
		if digit, _, err := parseInfoDigit(ct, req.Body()); err == nil && req.CSeq() != nil {
			st.deliverDigit(req.CSeq().SeqNo, digit)
		}
	}
	s.respond(tx, req, 200, "OK")
}
