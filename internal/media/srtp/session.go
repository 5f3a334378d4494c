package srtp

import (
	"errors"
	"fmt"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	pion "github.com/pion/srtp/v3"
)

// Replay windows, in packets: an RTP packet arriving more than this many
// packets late is refused as if replayed. 128 is libsrtp's default for RTP.
const (
	rtpReplayWindow  = 128
	rtcpReplayWindow = 64
)

// Errors that Decrypt* wrap, so a caller can count or quietly drop such
// packets.
var (
	// ErrNotAuthentic means a packet failed its authentication check: it
	// was altered, or keyed otherwise.
	ErrNotAuthentic = errors.New("packet failed SRTP authentication")
	// ErrReplayed means a packet was seen before, or is too old to tell.
	ErrReplayed = errors.New("packet replayed or too old")
)

// Session protects one RTP leg: what callrec sends is encrypted with the
// local key, what the peer sends is decrypted with the remote key.
//
// A Session is safe for concurrent use. Each direction has its own mutex,
// so sending and receiving never wait for each other; calls in one
// direction are serialised (the SRTP contexts keep per-SSRC packet
// counters and replay windows, and are not safe for concurrent use).
type Session struct {
	sendMu    sync.Mutex // guards send, sendRTP and sendRTCP
	send      *pion.Context
	sendRTP   rtp.Header
	sendRTCP  rtcp.Header
	receiveMu sync.Mutex // guards receive, recvRTP and recvRTCP
	receive   *pion.Context
	recvRTP   rtp.Header
	recvRTCP  rtcp.Header
}

// NewSession returns a Session that encrypts with local (the key callrec
// put in its SDP) and decrypts with remote (the peer's). It refuses a
// line callrec cannot use (see Choose).
func NewSession(local, remote Crypto) (*Session, error) {
	send, err := newContext(local)
	if err != nil {
		return nil, fmt.Errorf("srtp session: local key: %w", err)
	}
	receive, err := newContext(remote,
		pion.SRTPReplayProtection(rtpReplayWindow),
		pion.SRTCPReplayProtection(rtcpReplayWindow))
	if err != nil {
		return nil, fmt.Errorf("srtp session: remote key: %w", err)
	}
	return &Session{send: send, receive: receive}, nil
}

func newContext(c Crypto, opts ...pion.ContextOption) (*pion.Context, error) {
	if why := unusable(c); why != "" {
		return nil, fmt.Errorf("crypto %d %s: %s", c.Tag, c.Suite, why)
	}
	p, _ := c.Suite.params()
	ctx, err := pion.CreateContext(c.Key[:p.keyLen], c.Key[p.keyLen:], p.profile, opts...)
	if err != nil {
		return nil, fmt.Errorf("crypto %d %s: %w", c.Tag, c.Suite, err)
	}
	return ctx, nil
}

// EncryptRTP encrypts packet, a whole plain RTP packet, and returns the
// SRTP packet. It is written into dst when dst has the capacity (the
// packet's length plus 16 bytes always suffices); dst must not overlap
// packet.
func (s *Session) EncryptRTP(dst, packet []byte) ([]byte, error) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	out, err := s.send.EncryptRTP(dst, packet, &s.sendRTP)
	if err != nil {
		return nil, fmt.Errorf("srtp: encrypt RTP: %w", err)
	}
	return out, nil
}

// DecryptRTP checks and decrypts packet, a whole SRTP packet, and returns
// the plain RTP packet, written into dst when dst has the capacity; dst
// must not overlap packet. A packet that fails authentication is refused
// with an error wrapping ErrNotAuthentic, one seen before (or older than
// the replay window) with one wrapping ErrReplayed.
func (s *Session) DecryptRTP(dst, packet []byte) ([]byte, error) {
	s.receiveMu.Lock()
	defer s.receiveMu.Unlock()
	out, err := s.receive.DecryptRTP(dst, packet, &s.recvRTP)
	if err != nil {
		return nil, decryptError("RTP", err)
	}
	return out, nil
}

// EncryptRTCP encrypts packet, a whole plain RTCP (compound) packet, and
// returns the SRTCP packet, written into dst when dst has the capacity
// (the packet's length plus 32 bytes always suffices); dst must not
// overlap packet.
func (s *Session) EncryptRTCP(dst, packet []byte) ([]byte, error) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	out, err := s.send.EncryptRTCP(dst, packet, &s.sendRTCP)
	if err != nil {
		return nil, fmt.Errorf("srtp: encrypt RTCP: %w", err)
	}
	return out, nil
}

// DecryptRTCP checks and decrypts packet, a whole SRTCP packet, and
// returns the plain RTCP packet, written into dst when dst has the
// capacity; dst must not overlap packet. Its errors are DecryptRTP's.
func (s *Session) DecryptRTCP(dst, packet []byte) ([]byte, error) {
	s.receiveMu.Lock()
	defer s.receiveMu.Unlock()
	out, err := s.receive.DecryptRTCP(dst, packet, &s.recvRTCP)
	if err != nil {
		return nil, decryptError("RTCP", err)
	}
	return out, nil
}

// pionDuplicated is the text of the unexported error pion/srtp wraps for a
// replayed packet; TestReplayedPacketRefused pins it.
const pionDuplicated = "duplicated packet"

// decryptError wraps a decryption failure, adding ErrNotAuthentic or
// ErrReplayed when it is one.
func decryptError(kind string, err error) error {
	if errors.Is(err, pion.ErrFailedToVerifyAuthTag) {
		return fmt.Errorf("srtp: decrypt %s: %w: %w", kind, ErrNotAuthentic, err)
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e.Error() == pionDuplicated {
			return fmt.Errorf("srtp: decrypt %s: %w: %w", kind, ErrReplayed, err)
		}
	}
	return fmt.Errorf("srtp: decrypt %s: %w", kind, err)
}
