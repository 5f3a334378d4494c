package dtmf

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The content types of SIP INFO bodies that carry a digit.
const (
	// ContentTypeDTMFRelay is "Signal=5\r\nDuration=160\r\n" (the de facto
	// format first sent by Cisco).
	ContentTypeDTMFRelay = "application/dtmf-relay"
	// ContentTypeDTMF is the digit alone.
	ContentTypeDTMF = "application/dtmf"
)

// MaxInfoDuration is the longest Duration an INFO body may give.
const MaxInfoDuration = time.Minute

// maxInfoBody is the largest INFO body ParseInfo reads; real ones are
// under 40 bytes.
const maxInfoBody = 1024

// ErrNotDTMF is returned (wrapped) by ParseInfo for a content type that
// carries no DTMF digit, so the caller can answer 415 or ignore the INFO.
var ErrNotDTMF = errors.New("not a DTMF content type")

// ParseInfo reads a SIP INFO request body carrying one DTMF digit:
//
//   - application/dtmf-relay: "Signal=5\r\nDuration=160\r\n". Signal is
//     one of 0-9 * # A-D (a-d too), or an event code 10-15 as some gateways
//     send ("10" is *, "11" #); Duration is in milliseconds and optional
//     (0 when absent), at most MaxInfoDuration. Lines may come in any
//     order, end in LF or CRLF, have spaces around '='; keys are
//     case-insensitive and unknown keys are ignored. A missing or repeated
//     Signal, a repeated Duration or a line without '=' is an error.
//   - application/dtmf: the digit alone ("5"), white space around it
//     allowed; the duration is 0.
//
// contentType is the Content-Type header's value; its parameters (such as
// ";charset=") are ignored and it is matched case-insensitively. Any other
// content type gives ErrNotDTMF. The digit returned is '0'-'9', '*', '#'
// or 'A'-'D'.
func ParseInfo(contentType string, body []byte) (digit byte, duration time.Duration, err error) {
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	if mediaType != ContentTypeDTMFRelay && mediaType != ContentTypeDTMF {
		return 0, 0, fmt.Errorf("INFO body of type %q: %w", contentType, ErrNotDTMF)
	}
	if len(body) > maxInfoBody {
		return 0, 0, fmt.Errorf("%s body of %d bytes: longer than %d", mediaType, len(body), maxInfoBody)
	}
	if mediaType == ContentTypeDTMF {
		value := bytes.TrimSpace(body)
		if len(value) != 1 {
			return 0, 0, fmt.Errorf("%s body %.20q: not a DTMF digit alone (use 0-9, *, #, A-D)", mediaType, value)
		}
		digit, err := infoSignal(string(value))
		if err != nil {
			return 0, 0, fmt.Errorf("%s body: %w", mediaType, err)
		}
		return digit, 0, nil
	}
	digit, duration, err = parseRelay(body)
	if err != nil {
		return 0, 0, fmt.Errorf("%s body: %w", mediaType, err)
	}
	return digit, duration, nil
}

// parseRelay reads an application/dtmf-relay body.
func parseRelay(body []byte) (digit byte, duration time.Duration, err error) {
	var haveSignal, haveDuration bool
	for n, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return 0, 0, fmt.Errorf("line %d (%.20q) has no '='", n+1, line)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case strings.EqualFold(key, "Signal"):
			if haveSignal {
				return 0, 0, errors.New("more than one Signal")
			}
			haveSignal = true
			if digit, err = infoSignal(value); err != nil {
				return 0, 0, err
			}
		case strings.EqualFold(key, "Duration"):
			if haveDuration {
				return 0, 0, errors.New("more than one Duration")
			}
			haveDuration = true
			if duration, err = infoDuration(value); err != nil {
				return 0, 0, err
			}
		}
	}
	if !haveSignal {
		return 0, 0, errors.New("no Signal")
	}
	return digit, duration, nil
}

// infoSignal reads a Signal value: a DTMF character or an event code
// 10-15.
func infoSignal(value string) (byte, error) {
	switch {
	case len(value) == 1:
		code, ok := Code(value[0])
		if ok {
			digit, _ := Digit(code)
			return digit, nil
		}
	case value == "10", value == "11", value == "12", value == "13", value == "14", value == "15":
		code, _ := strconv.Atoi(value)
		digit, _ := Digit(uint8(code))
		return digit, nil
	}
	return 0, fmt.Errorf("signal %.20q is not a DTMF digit (use 0-9, *, #, A-D)", value)
}

// infoDuration reads a Duration value in milliseconds.
func infoDuration(value string) (time.Duration, error) {
	ms, err := strconv.ParseUint(value, 10, 32)
	if err != nil || time.Duration(ms)*time.Millisecond > MaxInfoDuration {
		return 0, fmt.Errorf("duration %.20q is not a whole number of milliseconds up to %d", value, MaxInfoDuration.Milliseconds())
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// InfoBody builds an application/dtmf-relay body for digit (0-9, *, #,
// A-D, a-d) lasting duration, rounded to the millisecond, and returns its
// content type with it. A duration outside 0 to MaxInfoDuration is an
// error.
func InfoBody(digit byte, duration time.Duration) (contentType string, body []byte, err error) {
	code, ok := Code(digit)
	if !ok {
		return "", nil, fmt.Errorf("INFO body for %q: not a DTMF digit (use 0-9, *, #, A-D)", digit)
	}
	if duration < 0 || duration > MaxInfoDuration {
		return "", nil, fmt.Errorf("INFO body duration %v: must be 0 to %v", duration, MaxInfoDuration)
	}
	canonical, _ := Digit(code)
	ms := duration.Round(time.Millisecond).Milliseconds()
	body = fmt.Appendf(nil, "Signal=%c\r\nDuration=%d\r\n", canonical, ms)
	return ContentTypeDTMFRelay, body, nil
}
