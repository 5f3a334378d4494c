package sphinx

import "strings"

// cleanWord turns a token of PocketSphinx's hypothesis into the word to
// report: fillers and silences (<s>, </s>, <sil>, [NOISE], [SPEECH],
// ++BREATH++, +SMACK+ …) report ok = false, and an alternate pronunciation's
// suffix ("read(2)") is removed.
func cleanWord(tok string) (word string, ok bool) {
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", false
	}
	switch tok[0] {
	case '<', '[', '+':
		return "", false
	}
	if strings.HasSuffix(tok, ")") {
		if i := strings.LastIndexByte(tok, '('); i > 0 && allDigits(tok[i+1:len(tok)-1]) {
			tok = tok[:i]
		}
	}
	return tok, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
