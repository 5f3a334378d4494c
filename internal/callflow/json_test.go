package callflow

import (
	"encoding/json"
	"reflect"
	"testing"
)

// busyEvent is a Chime-style ACTION_FAILED event for a CallAndBridge to a
// busy number, with callrec's SipResponseCode extension.
const busyEvent = `{
  "SchemaVersion": "1.0",
  "Sequence": 3,
  "InvocationEventType": "ACTION_FAILED",
  "ActionData": {
    "Type": "CallAndBridge",
    "Parameters": {
      "CallTimeoutSeconds": 30,
      "CallerIdNumber": "+442079460000",
      "Endpoints": [
        {"BridgeEndpointType": "PSTN", "Uri": "+442079460999"}
      ],
      "MaxCallDurationSeconds": 3600
    },
    "ErrorType": "CallDestinationBusy",
    "ErrorMessage": "The called party is busy.",
    "SipResponseCode": 486
  },
  "CallDetails": {
    "TransactionId": "5f3a7c1e-0d2b-4c8e-9a61-3b7d2e4f8a90",
    "TransactionAttributes": {
      "direction": "outbound",
      "owner_tag": "LEG-A",
      "party": "+442079460999",
      "stage": "bridging"
    },
    "Participants": [
      {
        "CallId": "a1b2c3d4-0000-4000-8000-00000000000a",
        "ParticipantTag": "LEG-A",
        "To": "+442079460000",
        "From": "+447700900123",
        "Direction": "Inbound",
        "StartTimeInMilliseconds": "1700000000000",
        "Status": "Connected",
        "SourceAddress": "192.0.2.10:5060"
      },
      {
        "CallId": "a1b2c3d4-0000-4000-8000-00000000000b",
        "ParticipantTag": "LEG-B",
        "To": "+442079460999",
        "From": "+442079460000",
        "Direction": "Outbound",
        "StartTimeInMilliseconds": "1700000004000",
        "Status": "Disconnected"
      }
    ]
  }
}`

// busyResponse is what the handler must answer to busyEvent.
const busyResponse = `{
  "SchemaVersion": "1.0",
  "Actions": [
    {
      "Type": "PlayAudio",
      "Parameters": {
        "ParticipantTag": "LEG-A",
        "AudioSource": {"Type": "Prompt", "Key": "unable_to_connect.wav"}
      }
    },
    {
      "Type": "Hangup",
      "Parameters": {"ParticipantTag": "LEG-A", "SipResponseCode": "486"}
    }
  ],
  "TransactionAttributes": {
    "direction": "outbound",
    "owner_tag": "LEG-A",
    "party": "+442079460999",
    "outcome": "busy",
    "stage": "ended",
    "hangup_code": "486"
  }
}`

// digitsEvent is a Chime-style DIGITS_RECEIVED event.
const digitsEvent = `{
  "SchemaVersion": "1.0",
  "Sequence": 7,
  "InvocationEventType": "DIGITS_RECEIVED",
  "ActionData": {
    "Type": "ReceiveDigits",
    "Parameters": {"ParticipantTag": "LEG-B", "InputDigitsRegex": "^[567]$"},
    "ReceivedDigits": "5"
  },
  "CallDetails": {
    "TransactionId": "tx-2",
    "TransactionAttributes": {
      "direction": "inbound", "owner_tag": "LEG-B", "party": "+12125550100",
      "recording": "on", "stage": "bridged"
    },
    "Participants": [
      {"CallId": "ca", "ParticipantTag": "LEG-A", "To": "+442079460000", "From": "+12125550100",
       "Direction": "Inbound", "StartTimeInMilliseconds": "1700000000000", "Status": "Connected"},
      {"CallId": "cb", "ParticipantTag": "LEG-B", "To": "+447700900123", "From": "+12125550100",
       "Direction": "Outbound", "StartTimeInMilliseconds": "1700000003000", "Status": "Connected"}
    ]
  }
}`

const digitsResponse = `{
  "SchemaVersion": "1.0",
  "Actions": [
    {"Type": "PauseCallRecording", "Parameters": {}},
    {"Type": "PlayAudio", "Parameters": {"ParticipantTag": "BOTH",
      "AudioSource": {"Type": "Prompt", "Key": "recording_paused.wav"}}}
  ],
  "TransactionAttributes": {
    "direction": "inbound", "owner_tag": "LEG-B", "party": "+12125550100",
    "recording": "paused", "stage": "bridged"
  }
}`

func TestDecodeEventFields(t *testing.T) {
	ev, err := DecodeEvent([]byte(busyEvent))
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	want := Event{
		SchemaVersion:       "1.0",
		Sequence:            3,
		InvocationEventType: ActionFailed,
		ActionData: &ActionData{
			Type: ActionCallAndBridge,
			Parameters: Parameters{
				CallTimeoutSeconds:     30,
				CallerIDNumber:         "+442079460000",
				Endpoints:              []BridgeEndpoint{{BridgeEndpointType: EndpointPSTN, URI: "+442079460999"}},
				MaxCallDurationSeconds: 3600,
			},
			ErrorType:       ErrCallDestinationBusy,
			ErrorMessage:    "The called party is busy.",
			SipResponseCode: 486,
		},
		CallDetails: CallDetails{
			TransactionID: "5f3a7c1e-0d2b-4c8e-9a61-3b7d2e4f8a90",
			TransactionAttributes: map[string]string{
				"direction": "outbound", "owner_tag": "LEG-A", "party": "+442079460999", "stage": "bridging",
			},
			Participants: []Participant{
				{
					CallID: "a1b2c3d4-0000-4000-8000-00000000000a", ParticipantTag: LegA,
					To: "+442079460000", From: "+447700900123", Direction: DirectionInbound,
					StartTimeInMilliseconds: "1700000000000", Status: StatusConnected, SourceAddress: "192.0.2.10:5060",
				},
				{
					CallID: "a1b2c3d4-0000-4000-8000-00000000000b", ParticipantTag: LegB,
					To: "+442079460999", From: "+442079460000", Direction: DirectionOutbound,
					StartTimeInMilliseconds: "1700000004000", Status: StatusDisconnected,
				},
			},
		},
	}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("DecodeEvent\n got  %+v\n want %+v", ev, want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name, event, response string
	}{
		{"busy", busyEvent, busyResponse},
		{"digits", digitsEvent, digitsResponse},
	}
	h := mustHandler(t, testConfig())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodeEvent([]byte(tt.event))
			if err != nil {
				t.Fatalf("DecodeEvent: %v", err)
			}
			// Every field of the document survives decoding and encoding.
			again, err := json.Marshal(ev)
			if err != nil {
				t.Fatalf("marshal event: %v", err)
			}
			assertSameJSON(t, "event", again, []byte(tt.event))

			out, err := EncodeResponse(h.Handle(ev))
			if err != nil {
				t.Fatalf("EncodeResponse: %v", err)
			}
			assertSameJSON(t, "response", out, []byte(tt.response))

			var resp Response
			if err := json.Unmarshal([]byte(tt.response), &resp); err != nil {
				t.Fatalf("unmarshal response: %v", err)
			}
			reencoded, err := EncodeResponse(resp)
			if err != nil {
				t.Fatalf("EncodeResponse: %v", err)
			}
			assertSameJSON(t, "response round trip", reencoded, []byte(tt.response))
		})
	}
}

func TestEncodeResponseEmptyActions(t *testing.T) {
	out, err := EncodeResponse(Response{SchemaVersion: SchemaVersion})
	if err != nil {
		t.Fatalf("EncodeResponse: %v", err)
	}
	assertSameJSON(t, "empty response", out, []byte(`{"SchemaVersion":"1.0","Actions":[]}`))
}

func TestDecodeEventError(t *testing.T) {
	for _, doc := range []string{``, `{`, `[]`, `{"Sequence":"one"}`} {
		if _, err := DecodeEvent([]byte(doc)); err == nil {
			t.Errorf("DecodeEvent(%q) succeeded, want an error", doc)
		}
	}
}

// assertSameJSON compares two JSON documents as values.
func assertSameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v in %s", what, err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v in the expected document", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got  %s\n want %s", what, got, compact(want))
	}
}

func compact(b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
