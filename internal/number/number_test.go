package number

import (
	"regexp"
	"strings"
	"testing"
)

// e164 is the form every successful Normalize result must have.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		cc      string
		want    string
		wantErr string // substring of the error; "" means no error
	}{
		// International forms.
		{name: "plus", input: "+442079460000", cc: "44", want: "+442079460000"},
		{name: "plus with separators", input: "+44 (20) 7946-0000", cc: "1", want: "+442079460000"},
		{name: "plus ignores default", input: "+12125550100", cc: "", want: "+12125550100"},
		{name: "00 prefix", input: "00442079460000", cc: "1", want: "+442079460000"},
		{name: "00 prefix in NANP too", input: "0033142685300", cc: "1", want: "+33142685300"},
		{name: "011 in NANP", input: "011442079460000", cc: "1", want: "+442079460000"},
		{name: "011 outside NANP is national", input: "0111234567", cc: "44", want: "+44111234567"},
		{name: "short test number", input: "+15550100", cc: "", want: "+15550100"},
		{name: "fifteen digits", input: "+123456789012345", want: "+123456789012345"},
		{name: "dots", input: "+1.212.555.0100", want: "+12125550100"},

		// National forms.
		{name: "UK national trunk 0", input: "02079460000", cc: "44", want: "+442079460000"},
		{name: "UK mobile national", input: "07700 900123", cc: "44", want: "+447700900123"},
		{name: "UK without trunk 0", input: "2079460000", cc: "44", want: "+442079460000"},
		{name: "default with plus", input: "02079460000", cc: "+44", want: "+442079460000"},
		{name: "NANP ten digits", input: "2125550100", cc: "1", want: "+12125550100"},
		{name: "NANP formatted", input: "(212) 555-0100", cc: "1", want: "+12125550100"},
		{name: "NANP eleven digits with 1", input: "12125550100", cc: "1", want: "+12125550100"},
		{name: "NANP seven digits", input: "5550100", cc: "1", want: "+15550100"},
		{name: "French national", input: "0142685300", cc: "33", want: "+33142685300"},
		{name: "three digit country code", input: "0871234567", cc: "353", want: "+353871234567"},

		// Errors.
		{name: "empty", input: "", cc: "44", wantErr: "has no digits"},
		{name: "only separators", input: " - ", cc: "44", wantErr: "has no digits"},
		{name: "only plus", input: "+", cc: "44", wantErr: "has no digits"},
		{name: "star", input: "0207*946", cc: "44", wantErr: `contains '*'`},
		{name: "hash", input: "02079460000#", cc: "44", wantErr: `contains '#'`},
		{name: "letters", input: "anonymous", cc: "44", wantErr: `contains 'a'`},
		{name: "tel URI not stripped", input: "tel:+12125550100", cc: "1", wantErr: `contains 't'`},
		{name: "plus in middle", input: "44+2079460000", cc: "44", wantErr: "not at its start"},
		{name: "double plus", input: "++442079460000", cc: "44", wantErr: "not at its start"},
		{name: "too long international", input: "+12345678901234567", cc: "44", wantErr: "has 17 digits; an international number has at most 15"},
		{name: "too long national", input: "0123456789012345", cc: "44", wantErr: "has 17 digits"},
		{name: "too short", input: "+441234", cc: "44", wantErr: "has 6 digits"},
		{name: "00 then nothing", input: "00", cc: "44", wantErr: "has 0 digits"},
		{name: "country code zero", input: "+0441234567", cc: "44", wantErr: "country code starting with 0"},
		{name: "000 prefix", input: "000441234567", cc: "44", wantErr: "country code starting with 0"},
		{name: "NANP national zero", input: "0123456789", cc: "1", want: "+10123456789"},
		{name: "national without default", input: "02079460000", cc: "", wantErr: "no default country code"},
		{name: "national with bad default", input: "02079460000", cc: "0", wantErr: `country code "0" is invalid`},
		{name: "default too long", input: "2079460000", cc: "4444", wantErr: "is invalid"},
		{name: "overlong input", input: strings.Repeat("1", 65), cc: "44", wantErr: "65 characters long"},
		{name: "unicode digit", input: "+44٢079460000", cc: "44", wantErr: "contains"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.input, tt.cc)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Normalize(%q, %q) = %q, want error containing %q", tt.input, tt.cc, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Normalize(%q, %q) error = %q, want it to contain %q", tt.input, tt.cc, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%q, %q) error = %v", tt.input, tt.cc, err)
			}
			if got != tt.want {
				t.Fatalf("Normalize(%q, %q) = %q, want %q", tt.input, tt.cc, got, tt.want)
			}
		})
	}
}

func TestHasPrefix(t *testing.T) {
	tests := []struct {
		name     string
		number   string
		prefixes []string
		want     bool
	}{
		{name: "plus matches all", number: "+442079460000", prefixes: []string{"+"}, want: true},
		{name: "country", number: "+442079460000", prefixes: []string{"+44"}, want: true},
		{name: "other country", number: "+12125550100", prefixes: []string{"+44"}, want: false},
		{name: "area", number: "+12125550100", prefixes: []string{"+1212"}, want: true},
		{name: "other area", number: "+13105550100", prefixes: []string{"+1212"}, want: false},
		{name: "second of several", number: "+33142685300", prefixes: []string{"+44", "+33"}, want: true},
		{name: "none", number: "+33142685300", prefixes: nil, want: false},
		{name: "prefix without plus never matches", number: "+442079460000", prefixes: []string{"44"}, want: false},
		{name: "empty prefix never matches", number: "+442079460000", prefixes: []string{""}, want: false},
		{name: "empty number", number: "", prefixes: []string{"+"}, want: false},
		{name: "prefix longer than number", number: "+44", prefixes: []string{"+4420"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HasPrefix(tt.number, tt.prefixes); got != tt.want {
				t.Fatalf("HasPrefix(%q, %q) = %v, want %v", tt.number, tt.prefixes, got, tt.want)
			}
		})
	}
}

func TestValidatePrefix(t *testing.T) {
	tests := []struct {
		prefix string
		ok     bool
	}{
		{"+", true},
		{"+44", true},
		{"+1212", true},
		{"+123456789012345", true},
		{"+1234567890123456", false},
		{"44", false},
		{"", false},
		{"+0", false},
		{"+44 20", false},
		{"+4a", false},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			err := ValidatePrefix(tt.prefix)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidatePrefix(%q) = %v, want ok=%v", tt.prefix, err, tt.ok)
			}
		})
	}
}

func TestValidateCountryCode(t *testing.T) {
	tests := []struct {
		cc string
		ok bool
	}{
		{"1", true},
		{"44", true},
		{"353", true},
		{"", false},
		{"0", false},
		{"044", false},
		{"4444", false},
		{"+44", false},
		{"4x", false},
	}
	for _, tt := range tests {
		t.Run(tt.cc, func(t *testing.T) {
			err := ValidateCountryCode(tt.cc)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateCountryCode(%q) = %v, want ok=%v", tt.cc, err, tt.ok)
			}
		})
	}
}

func TestIsE164(t *testing.T) {
	tests := []struct {
		s  string
		ok bool
	}{
		{"+442079460000", true},
		{"+15550100", true},
		{"+1555010", true},
		{"+155501", false},
		{"+123456789012345", true},
		{"+1234567890123456", false},
		{"442079460000", false},
		{"+0442079460000", false},
		{"+44 2079460000", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			if got := IsE164(tt.s); got != tt.ok {
				t.Fatalf("IsE164(%q) = %v, want %v", tt.s, got, tt.ok)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	seeds := []struct{ input, cc string }{
		{"+442079460000", "44"},
		{"00442079460000", "1"},
		{"011442079460000", "1"},
		{"02079460000", "44"},
		{"(212) 555-0100", "1"},
		{"12125550100", "1"},
		{"0207*946", "44"},
		{"+", ""},
		{"00", "44"},
		{"0", "33"},
		{"+12345678901234567", "44"},
		{"anonymous", "+44"},
	}
	for _, s := range seeds {
		f.Add(s.input, s.cc)
	}
	f.Fuzz(func(t *testing.T, input, cc string) {
		got, err := Normalize(input, cc)
		if err != nil {
			if got != "" {
				t.Fatalf("Normalize(%q, %q) = %q with error %v; want empty result on error", input, cc, got, err)
			}
			return
		}
		if !e164.MatchString(got) {
			t.Fatalf("Normalize(%q, %q) = %q, which is not E.164", input, cc, got)
		}
		if !IsE164(got) {
			t.Fatalf("IsE164(%q) = false for a Normalize result", got)
		}
		// A normalised number normalises to itself, whatever the default.
		again, err := Normalize(got, cc)
		if err != nil || again != got {
			t.Fatalf("Normalize(%q, %q) = %q, %v; want it unchanged", got, cc, again, err)
		}
		if !HasPrefix(got, []string{"+"}) {
			t.Fatalf("HasPrefix(%q, [+]) = false", got)
		}
	})
}

func TestDialable(t *testing.T) {
	for s, want := range map[string]bool{
		"+14155550199": true, "4155550199": true, "1": true, "+" + strings.Repeat("1", 32): true,
		"": false, "+": false, "+" + strings.Repeat("1", 33): false, "anonymous": false, "+1 415": false,
		"+15550199\u202e1234": false, "1234%20": false, "'; DROP TABLE calls; --": false, "++1": false, "1\x00": false,
	} {
		if got := Dialable(s); got != want {
			t.Errorf("Dialable(%q) = %v, want %v", s, got, want)
		}
	}
}
