// Package number normalises telephone numbers to E.164 ("+" followed by
// the country code and the national number, digits only).
//
// It accepts what a person types on a keypad (digits, maybe an
// international access code such as "00" or "011") and what a SIP caller ID
// carries once its user part has been extracted ("+44 20 7946 0000",
// "0044...", "(212) 555-0100"). It knows no numbering plan beyond the
// leading-zero trunk prefix of most countries and the North American
// Numbering Plan's "1" and "011"; it does not check that a number exists.
package number

import (
	"fmt"
	"strings"
)

// Digit counts of a normalised number, country code included. E.164 allows
// at most 15 digits; the minimum is kept lenient (7) so that short test
// numbers such as +15550100 are accepted.
const (
	MinDigits = 7
	MaxDigits = 15
)

// maxInputLen bounds the input accepted by Normalize, so that garbage is
// rejected before it is scanned or quoted in an error.
const maxInputLen = 64

// separators are the visual separators Normalize ignores in caller IDs.
const separators = " -.()"

// nanpCountryCode is the country code of the North American Numbering Plan,
// whose international access code is "011" and which has no "0" trunk
// prefix.
const nanpCountryCode = "1"

// Normalize returns input as an E.164 number.
//
// Input is a keypad entry or a caller ID: digits, optionally preceded by a
// "+", with the separators " -.()" ignored anywhere. A leading "+" or "00"
// (and "011" when defaultCountryCode is "1") marks an international number.
// Any other input is a national number: in the North American Numbering
// Plan (defaultCountryCode "1") an 11-digit number starting with "1"
// already carries the country code; elsewhere one leading trunk prefix "0"
// is dropped; then defaultCountryCode is prepended. defaultCountryCode may
// be written with or without a leading "+"; it is needed only for national
// numbers.
//
// The result has MinDigits to MaxDigits digits after the "+" and a country
// code that does not start with 0; anything else is an error that says what
// is wrong.
func Normalize(input, defaultCountryCode string) (string, error) {
	if len(input) > maxInputLen {
		return "", fmt.Errorf("number %q... is %d characters long; a phone number has at most %d digits", input[:16], len(input), MaxDigits)
	}
	var b strings.Builder
	international := false
	for _, r := range input {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+':
			if international || b.Len() > 0 {
				return "", fmt.Errorf("number %q has a %q that is not at its start", input, r)
			}
			international = true
		case strings.ContainsRune(separators, r):
			// Visual separator in a caller ID.
		default:
			return "", fmt.Errorf("number %q contains %q; only digits, a leading + and the separators %q are allowed", input, r, separators)
		}
	}
	digits := b.String()
	if digits == "" {
		return "", fmt.Errorf("number %q has no digits", input)
	}
	cc := strings.TrimPrefix(strings.TrimSpace(defaultCountryCode), "+")
	switch {
	case international:
	case strings.HasPrefix(digits, "00"):
		digits = digits[2:]
	case cc == nanpCountryCode && strings.HasPrefix(digits, "011"):
		digits = digits[3:]
	default:
		if err := ValidateCountryCode(cc); err != nil {
			return "", fmt.Errorf("number %q is national: %w", input, err)
		}
		switch {
		case cc == nanpCountryCode && len(digits) == 11 && digits[0] == '1':
			// Already carries the country code.
		case cc != nanpCountryCode && digits[0] == '0':
			digits = cc + digits[1:]
		default:
			digits = cc + digits
		}
	}
	switch {
	case len(digits) > MaxDigits:
		return "", fmt.Errorf("number %q has %d digits; an international number has at most %d", input, len(digits), MaxDigits)
	case len(digits) < MinDigits:
		return "", fmt.Errorf("number %q has %d digits with its country code; a phone number has at least %d", input, len(digits), MinDigits)
	case digits[0] == '0':
		return "", fmt.Errorf("number %q has a country code starting with 0; no country code does", input)
	}
	return "+" + digits, nil
}

// ValidateCountryCode reports whether cc (without "+") is a plausible
// country code: 1 to 3 digits, the first not 0.
func ValidateCountryCode(cc string) error {
	if cc == "" {
		return fmt.Errorf("no default country code is set; set one such as 44 or 1")
	}
	if len(cc) > 3 || !AllDigits(cc) || cc[0] == '0' {
		return fmt.Errorf("country code %q is invalid; give 1 to 3 digits not starting with 0, such as 44 or 1", cc)
	}
	return nil
}

// ValidatePrefix reports whether prefix can be given to HasPrefix: a "+"
// followed by at most MaxDigits digits, the first not 0. "+" alone is valid
// and matches every number.
func ValidatePrefix(prefix string) error {
	if !strings.HasPrefix(prefix, "+") {
		return fmt.Errorf("number prefix %q must start with +, as in +44 or +1212", prefix)
	}
	d := prefix[1:]
	if len(d) > MaxDigits || (d != "" && (!AllDigits(d) || d[0] == '0')) {
		return fmt.Errorf("number prefix %q is invalid; give + followed by up to %d digits not starting with 0, as in +44 or +1212", prefix, MaxDigits)
	}
	return nil
}

// HasPrefix reports whether the E.164 number e164 starts with one of
// prefixes, each written as in E.164 ("+44", "+1", "+1212"). The prefix "+"
// matches every number; a prefix that does not start with "+" matches none.
func HasPrefix(e164 string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(p, "+") && strings.HasPrefix(e164, p) {
			return true
		}
	}
	return false
}

// IsE164 reports whether s is a number as Normalize returns it: "+", then
// MinDigits to MaxDigits digits, the first not 0.
func IsE164(s string) bool {
	if !strings.HasPrefix(s, "+") {
		return false
	}
	d := s[1:]
	return len(d) >= MinDigits && len(d) <= MaxDigits && AllDigits(d) && d[0] != '0'
}

// MaxDialableDigits bounds the digits of a number Dialable accepts.
const MaxDialableDigits = 32

// Dialable reports whether a caller ID as received can be kept as a
// number: an optional "+" and 1 to MaxDialableDigits ASCII digits,
// nothing else. Anything else (letters, spaces, control or bidirectional
// characters, SQL, percent-encoding) is not a number to show or call.
func Dialable(s string) bool {
	d := strings.TrimPrefix(s, "+")
	return len(d) <= MaxDialableDigits && AllDigits(d)
}

// AllDigits reports whether s is one or more ASCII digits.
func AllDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
