package srtp

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoCommonSuite is returned (wrapped) by Choose and ChooseOffer when no
// offered crypto line is one callrec can use. A SIP stack answers it with
// 488 Not Acceptable Here.
var ErrNoCommonSuite = errors.New("no common SRTP crypto suite")

// Choose picks, in the offerer's order of preference, the first offered
// crypto line callrec can use, and returns it (remote: the peer's key, for
// decrypting what the peer sends) and the line to answer with (local: the
// same tag and suite with a fresh key, for encrypting what callrec sends).
// A line is passed over for a suite callrec does not speak, a key of the
// wrong length, an MKI, a key derivation rate other than 0, or a session
// parameter callrec does not know that is not marked optional with a
// leading "-" (RFC 4568 section 6.3.7). It returns an error wrapping
// ErrNoCommonSuite, naming each line and why, when none is usable.
func Choose(offered []Crypto) (remote, local Crypto, err error) {
	reasons := make([]string, 0, len(offered))
	for _, c := range offered {
		if why := unusable(c); why != "" {
			reasons = append(reasons, fmt.Sprintf("%d %s (%s)", c.Tag, c.Suite, why))
			continue
		}
		answer, err := NewCrypto(c.Tag, c.Suite)
		if err != nil {
			return Crypto{}, Crypto{}, err
		}
		return c, answer, nil
	}
	return Crypto{}, Crypto{}, noCommonSuite(reasons)
}

// ChooseOffer is Choose on the raw a=crypto values of an offer: a line
// ParseCrypto refuses is passed over like an unusable one, so one bad line
// does not fail an offer whose other lines will do.
func ChooseOffer(values []string) (remote, local Crypto, err error) {
	parsed := make([]Crypto, 0, len(values))
	var refused []string
	for _, v := range values {
		c, err := ParseCrypto(v)
		if err != nil {
			refused = append(refused, strings.TrimPrefix(err.Error(), "crypto attribute: "))
			continue
		}
		parsed = append(parsed, c)
	}
	remote, local, err = Choose(parsed)
	if err == nil || len(refused) == 0 {
		return remote, local, err
	}
	for _, c := range parsed {
		refused = append(refused, fmt.Sprintf("%d %s (%s)", c.Tag, c.Suite, unusable(c)))
	}
	return Crypto{}, Crypto{}, noCommonSuite(refused)
}

func noCommonSuite(reasons []string) error {
	offered := "none"
	if len(reasons) > 0 {
		offered = strings.Join(reasons, "; ")
	}
	return fmt.Errorf("%w: offered %s; supported %s", ErrNoCommonSuite, offered, suiteList(Supported()))
}

// unusable says why callrec cannot use c, or returns "" when it can.
func unusable(c Crypto) string {
	p, ok := c.Suite.params()
	if !ok {
		return "suite not supported"
	}
	if len(c.Key) != p.keyLen+p.saltLen {
		return fmt.Sprintf("key is %d bytes; want %s", len(c.Key), p.describeKeyLen())
	}
	if c.MKI != "" {
		return "MKI not supported"
	}
	for _, param := range c.Params {
		if why := unusableParam(param); why != "" {
			return why
		}
	}
	return ""
}

// unusableParam says why callrec cannot honour the session parameter p,
// or returns "" when it can (or may ignore it).
func unusableParam(p string) string {
	name, value, _ := strings.Cut(p, "=")
	switch strings.ToUpper(name) {
	case "KDR":
		if value != "0" {
			return fmt.Sprintf("key derivation rate %s not supported, only KDR=0", p)
		}
	case "WSH", "FEC_ORDER", "FEC_KEY":
		// A window size hint only advises; callrec negotiates no FEC, so
		// the FEC parameters have nothing to apply to.
	case "UNENCRYPTED_SRTP", "UNENCRYPTED_SRTCP", "UNAUTHENTICATED_SRTP":
		return p + " not supported"
	default:
		if !strings.HasPrefix(p, "-") {
			return fmt.Sprintf("unknown session parameter %s", p)
		}
	}
	return ""
}
