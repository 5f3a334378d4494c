package sphinx

import (
	"strings"

	"github.com/callrec/callrec/internal/number"
)

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
		if i := strings.LastIndexByte(tok, '('); i > 0 && number.AllDigits(tok[i+1:len(tok)-1]) {
			tok = tok[:i]
		}
	}
	return tok, true
}
