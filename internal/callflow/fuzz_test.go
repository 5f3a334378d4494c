package callflow

import (
	"encoding/json"
	"testing"

	"github.com/callrec/callrec/internal/number"
)

// FuzzHandle feeds arbitrary JSON events to handlers with and without a PIN
// and checks that Handle never panics and answers only with known actions
// that keep the owner's number hidden.
func FuzzHandle(f *testing.F) {
	f.Add([]byte(busyEvent))
	f.Add([]byte(digitsEvent))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"InvocationEventType":"HANGUP","CallDetails":{"Participants":[{"ParticipantTag":"LEG-A"}]}}`))
	f.Add([]byte(`{"InvocationEventType":"ACTION_SUCCESSFUL","ActionData":{"Type":"PlayAudioAndGetDigits","ReceivedDigits":"4321"},` +
		`"CallDetails":{"TransactionAttributes":{"stage":"pin","pin_attempts":"x"}}}`))
	for _, seq := range [][]step{ownerReachesDestination(), strangerReachesOwner()} {
		for _, s := range seq {
			b, err := json.Marshal(s.ev)
			if err != nil {
				f.Fatalf("marshal seed: %v", err)
			}
			f.Add(b)
		}
	}
	handlers := []*Handler{
		mustHandler(f, testConfig()),
		mustHandler(f, withPIN(testConfig())),
		mustHandler(f, nanp(testConfig())),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeEvent(data)
		if err != nil {
			return
		}
		for _, h := range handlers {
			resp := h.Handle(ev)
			checkResponse(t, h, resp)
			for _, a := range resp.Actions {
				if a.Type == ActionCallAndBridge {
					if !number.IsE164(a.Parameters.CallerIDNumber) {
						t.Fatalf("CallAndBridge caller ID %q is not E.164", a.Parameters.CallerIDNumber)
					}
					for _, e := range a.Parameters.Endpoints {
						if !number.IsE164(e.URI) {
							t.Fatalf("CallAndBridge endpoint %q is not E.164", e.URI)
						}
					}
				}
			}
			if _, err := EncodeResponse(resp); err != nil {
				t.Fatalf("EncodeResponse: %v", err)
			}
		}
	})
}
