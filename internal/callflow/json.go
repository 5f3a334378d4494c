package callflow

import (
	"encoding/json"
	"fmt"
)

// DecodeEvent parses an event in Chime's JSON form.
func DecodeEvent(data []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return Event{}, fmt.Errorf("decode SIP media application event: %w", err)
	}
	return ev, nil
}

// EncodeResponse renders a response in Chime's JSON form. A nil Actions
// list is written as [] (wait for the next event), never as null.
func EncodeResponse(r Response) ([]byte, error) {
	if r.Actions == nil {
		r.Actions = []Action{}
	}
	data, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode SIP media application response: %w", err)
	}
	return data, nil
}
