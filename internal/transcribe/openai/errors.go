package openai

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// APIError is an error answer from the server: a non-2xx status, or a 200
// whose body is an error object (whisper.cpp's server answers failures with
// 200 and {"error":"..."}).
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Message is the server's own explanation: error.message of OpenAI's
	// {"error":{"message":...}}, the string of {"error":"..."}, FastAPI's
	// "detail", or the start of a plain-text body.
	Message string
	// Type and Code are OpenAI's error.type and error.code, when sent.
	Type string
	Code string
	// RetryAfter is the wait the server asked for (Retry-After), if any.
	RetryAfter time.Duration
}

// Error says what failed and, for the usual causes, what to change.
func (e *APIError) Error() string {
	var b strings.Builder
	if e.StatusCode == http.StatusOK {
		b.WriteString("server answered with an error")
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
		if t := http.StatusText(e.StatusCode); t != "" {
			b.WriteString(" " + t)
		}
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Code != "" && !strings.Contains(e.Message, e.Code) {
		b.WriteString(" (" + e.Code + ")")
	}
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		b.WriteString(" (check transcribe.api_key)")
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		b.WriteString(" (check transcribe.url: the server must answer POST /v1/audio/transcriptions)")
	case http.StatusRequestEntityTooLarge:
		b.WriteString(" (the audio is too large for this server; OpenAI takes at most 25 MB per file, about 26 minutes of 8 kHz audio per channel)")
	}
	return b.String()
}

// Temporary reports whether the same request may succeed later: 408, 409,
// 429 and 5xx answers other than 501 and 505.
func (e *APIError) Temporary() bool {
	switch e.StatusCode {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return e.StatusCode >= 500 && e.StatusCode <= 599
}

// newAPIError reads the server's error message out of body.
func newAPIError(status int, body []byte) *APIError {
	e := &APIError{StatusCode: status}
	e.Message, e.Type, e.Code = errorMessage(body)
	if e.Message == "" {
		e.Message = plainText(body)
	}
	return e
}

// errorMessage reads the error shapes servers use: OpenAI's
// {"error":{"message","type","code"}}, whisper.cpp's {"error":"..."},
// FastAPI's {"detail":"..."} or {"detail":[{"msg":...}]}, and
// {"message":"..."}.
func errorMessage(body []byte) (msg, typ, code string) {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Detail  json.RawMessage `json:"detail"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", "", ""
	}
	if len(v.Error) > 0 && string(v.Error) != "null" {
		var s string
		if json.Unmarshal(v.Error, &s) == nil {
			return clip(s), "", ""
		}
		var o struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
		}
		if json.Unmarshal(v.Error, &o) == nil {
			return clip(o.Message), clip(o.Type), clip(rawString(o.Code))
		}
	}
	if len(v.Detail) > 0 && string(v.Detail) != "null" {
		var s string
		if json.Unmarshal(v.Detail, &s) == nil {
			return clip(s), "", ""
		}
		var list []struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal(v.Detail, &list) == nil {
			var msgs []string
			for _, d := range list {
				if d.Msg != "" {
					msgs = append(msgs, d.Msg)
				}
			}
			return clip(strings.Join(msgs, "; ")), "", ""
		}
		return clip(string(v.Detail)), "", ""
	}
	return clip(v.Message), "", ""
}

// rawString renders a JSON string or number (OpenAI's code is either).
func rawString(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// plainText is the start of a non-JSON body, on one line.
func plainText(body []byte) string {
	if !utf8.Valid(body) {
		return ""
	}
	return clip(strings.Join(strings.Fields(string(body)), " "))
}

// clip shortens s to a length fit for an error message.
func clip(s string) string {
	const n = 300
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
