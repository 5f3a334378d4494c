package e2e

// The owner dials out: the owner's phone calls the service number, types
// a number (and the PIN, if one is set) as RFC 4733 keys, and is bridged
// through the trunk with only the service number shown; or callrec refuses
// (busy, no answer, wrong entries, a number not allowed).

import (
	"testing"
	"time"
)

// TestOwnerDialsOut: the owner calls the service number, types a national
// number with RFC 4733, and is bridged to it through the trunk, which sees
// the number in E.164 and only the service number as caller ID; the call
// is recorded with the owner on channel 0.
func TestOwnerDialsOut(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	owner, trunk := callThrough(t, cr, trunkScenario{RingMS: 1000, Tone: tn.other}, "owner", ownerDialsOut(t, tn, "2125550123", 8000), sippOpts{})
	if t.Failed() {
		return
	}

	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550123")
	if got := statuses(owner.messages(), "INVITE", false); !contains(got, 200) {
		t.Errorf("owner got %v to the INVITE, want 200", got)
	}
	if len(requests(trunk.messages(), "BYE", false)) != 1 {
		t.Errorf("the owner hung up, but the trunk got no BYE: %s", trunk.summary())
	}
	rec := cr.oneCall()
	if rec.Direction != "outbound" || rec.Party != "+12125550123" || rec.Status != "completed" || rec.AnsweredAt == nil {
		t.Errorf("call record %v: want direction outbound, party +12125550123, status completed, answered_at set", rec)
	}
	checkRecording(t, cr, rec, bridged(t, trunk), 5)
}

// TestOwnerDialsInternational: over TCP, with telephone-event on payload
// type 96, the owner dials 00 44…; the trunk sees +44…, answers and later
// hangs up, and callrec hangs up on the owner.
func TestOwnerDialsInternational(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	_, trunk := callThrough(t, cr, trunkScenario{Tone: tn.other, HangupAfterMS: 8000}, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 96, Tone: tn.owner,
		Steps: []step{pause(waitEnterNumber), keys(t, "00442079460000#", 96), awaitBye(30000)},
	}, sippOpts{TCP: true})
	if t.Failed() {
		return
	}
	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+442079460000")
	rec := cr.oneCall()
	if rec.Direction != "outbound" || rec.Party != "+442079460000" || rec.Status != "completed" {
		t.Errorf("call record %v: want direction outbound, party +442079460000, status completed", rec)
	}
	checkRecording(t, cr, rec, bridged(t, trunk), 5)
}

// TestGarbageDTMF: telephone-events that are no keys (truncated, unknown
// codes, a flash, a digit on a payload type nobody offered, RTP version 1)
// before the number change nothing: the number dialled is the one typed.
func TestGarbageDTMF(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	_, trunk := callThrough(t, cr, trunkScenario{Tone: tn.other}, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
		Steps: []step{
			pause(waitEnterNumber), junkKeys(t, 101), keys(t, "2125550123#", 101),
			pause(waitBridge + 2000), hangup(),
		},
	}, sippOpts{})
	if t.Failed() {
		return
	}
	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550123")
}

// TestDialOutBusy: the dialled number is busy (486): the owner hears
// "unable to connect" and gets BYE; the record says unanswered.
func TestDialOutBusy(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	_, trunk := callThrough(t, cr, trunkScenario{Mode: "reject", Code: 486}, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
		Steps: []step{pause(waitEnterNumber), keys(t, "2125550123#", 101), awaitBye(20000)},
	}, sippOpts{})
	if t.Failed() {
		return
	}
	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550123")
	if rec := cr.oneCall(); rec.Direction != "outbound" || rec.Status != "unanswered" || rec.AnsweredAt != nil {
		t.Errorf("call record %v: want direction outbound, status unanswered, answered_at null", rec)
	}
}

// TestNoAnswer: the dialled number rings and never answers; after
// ring_timeout_seconds (3) callrec CANCELs it and hangs up on the owner.
func TestNoAnswer(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{RingTimeout: 3})
	tn := makeTones(t)
	_, trunk := callThrough(t, cr, trunkScenario{Mode: "ring"}, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
		Steps: []step{pause(waitEnterNumber), keys(t, "2125550123#", 101), awaitBye(25000)},
	}, sippOpts{})
	if t.Failed() {
		return
	}
	inv := trunkINVITE(t, trunk)
	cancels := requests(trunk.messages(), "CANCEL", false)
	if len(cancels) == 0 {
		t.Fatalf("the trunk got no CANCEL: %s", trunk.summary())
	}
	if rang := cancels[0].Time.Sub(inv.Time); rang < 2500*time.Millisecond || rang > 5*time.Second {
		t.Errorf("CANCEL came %v after the INVITE; ring_timeout_seconds is 3", rang)
	}
	if rec := cr.oneCall(); rec.Status != "unanswered" || rec.AnsweredAt != nil {
		t.Errorf("call record %v: want status unanswered, answered_at null", rec)
	}
}

// TestWrongDigitsThreeTimes: three entries too short to be a number:
// callrec hangs up, calling no one.
func TestWrongDigitsThreeTimes(t *testing.T) {
	t.Parallel()
	ownerRejected(t, config{},
		pause(waitEnterNumber), keys(t, "123#", 101),
		pause(waitRetry), keys(t, "4567#", 101),
		pause(waitRetry), keys(t, "89#", 101))
}

// TestPINWrongThenRight: with owner_pin set, a wrong PIN is refused, the
// right one lets the owner dial out.
func TestPINWrongThenRight(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{OwnerPIN: "4321"})
	tn := makeTones(t)
	_, trunk := callThrough(t, cr, trunkScenario{Tone: tn.other}, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
		Steps: []step{
			pause(waitEnterPIN), keys(t, "1111#", 101),
			pause(waitRetry - 1000), keys(t, "4321#", 101),
			pause(waitEnterNumber), keys(t, "2125550123#", 101),
			pause(waitBridge + 5000), hangup(),
		},
	}, sippOpts{})
	if t.Failed() {
		return
	}
	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550123")
	if rec := cr.oneCall(); rec.Status != "completed" {
		t.Errorf("call record %v: want status completed", rec)
	}
}

// TestPINWrongThreeTimes: three wrong PINs: callrec hangs up, calling no one.
func TestPINWrongThreeTimes(t *testing.T) {
	t.Parallel()
	ownerRejected(t, config{OwnerPIN: "4321"},
		pause(waitEnterPIN), keys(t, "1111#", 101),
		pause(waitRetry-1000), keys(t, "1234#", 101),
		pause(waitRetry-1000), keys(t, "4320#", 101))
}

// TestDestinationNotAllowed: a number outside allowed_destinations (+33…)
// gets "not allowed" and BYE, and is never called.
func TestDestinationNotAllowed(t *testing.T) {
	t.Parallel()
	ownerRejected(t, config{},
		pause(waitEnterNumber), keys(t, "0033142685300#", 101))
}
