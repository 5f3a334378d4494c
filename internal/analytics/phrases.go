package analytics

import (
	"slices"

	"github.com/callrec/callrec/internal/transcript"
)

// detector finds spans of a turn by trigger phrases, the way Transcribe
// reports issues and action items: the span covers the trigger and the rest
// of its clause.
type detector struct {
	triggers []phrase
	// left and right are how many words around the trigger the span may
	// take in, within the clause.
	left, right int
	// skipNegated drops a trigger preceded (within two words) by "no",
	// "not" or "never", or within a clause that starts with "if" ("no
	// problem with", "if anything is wrong").
	skipNegated bool
}

// The phrases are written in full; contractions in the text match them
// ("doesn't work" matches "does not work", "I'll send" matches "i will
// send").
func issueDetector() detector {
	return detector{left: 5, right: 5, skipNegated: true, triggers: phrases(
		"problem with", "problems with", "issue with", "issues with", "trouble with",
		"have a problem", "had a problem", "having a problem", "having problems", "having trouble",
		"there is a problem", "there is an issue", "does not work", "do not work", "did not work",
		"is not working", "are not working", "not working", "stopped working", "will not start",
		"will not turn on", "does not turn on", "can not log in", "can not access", "can not connect",
		"does not load", "keeps crashing", "keeps failing", "is broken", "are broken", "was broken",
		"were broken", "got broken", "arrived damaged", "is damaged", "was damaged", "never arrived",
		"has not arrived", "have not arrived", "did not arrive", "did not receive", "have not received",
		"has not been delivered", "still waiting", "charged twice", "overcharged", "wrong item",
		"wrong order", "wrong size", "is wrong", "went wrong", "error message", "is missing",
		"are missing", "was missing", "got sick", "smells bad", "is leaking", "is faulty",
		"is defective", "complaint about", "want to complain", "would like to complain",
		"not happy with", "disappointed with", "frustrated with",
	)}
}

func actionItemDetector() detector {
	return detector{left: 0, right: 8, triggers: phrases(
		"i will send", "we will send", "i will email", "we will email", "i will call", "we will call",
		"i will get back to you", "we will get back to you", "i will follow up", "we will follow up",
		"i will check", "we will check", "i will change", "we will change", "i will forward",
		"i will share", "i will ask", "i will arrange", "we will arrange", "i will fix", "we will fix",
		"i will make sure", "we will make sure", "i will let you know", "we will let you know",
		"i will book", "i will schedule", "i will refund", "we will refund", "i will replace",
		"we will replace", "i will look into", "we will look into", "i will update", "let me check",
		"let me ask", "let me look", "let me find out", "please call", "call me back",
		"call you back", "please send", "can you send", "could you send", "can you email",
		"could you email", "please email", "send me", "email me", "remind me", "please confirm",
		"can you confirm", "could you confirm", "follow up", "get back to me", "i need you to",
	)}
}

func phrases(list ...string) []phrase {
	out := make([]phrase, len(list))
	for i, s := range list {
		out[i] = newPhrase(s)
	}
	return out
}

// conjunction ends a clause as punctuation does.
func conjunction(w string) bool {
	switch w {
	case "and", "but", "so", "because", "or", "then", "although", "though", "while", "if",
		"when", "unless", "whereas":
		return true
	}
	return false
}

// subjectStart reports whether w starts a noun phrase or is a pronoun: the
// left end of an issue's subject.
func subjectStart(w string) bool {
	switch w {
	case "the", "a", "an", "my", "our", "your", "his", "her", "their", "its", "this", "that",
		"these", "those", "it", "i", "we", "you", "they", "he", "she", "there", "some", "every":
		return true
	}
	return false
}

// DetectIssues returns the spans of content where a speaker states a
// problem ("I have a problem with…", "it doesn't work", "arrived damaged"),
// as Transcribe's IssuesDetected. Offsets count characters. The rules are
// English.
func DetectIssues(content string) []transcript.Detection {
	return issueDetector().detect(content, tokenize(content))
}

// DetectActionItems returns the spans of content where a speaker commits to
// or asks for an action ("I will send you…", "please call me back"), as
// Transcribe's ActionItemsDetected. Offsets count characters. The rules are
// English.
func DetectActionItems(content string) []transcript.Detection {
	return actionItemDetector().detect(content, tokenize(content))
}

func (d detector) detect(content string, toks []token) []transcript.Detection {
	var spans [][2]int // token ranges [s, e)
	for i := range toks {
		for _, p := range d.triggers {
			if !p.matchAt(toks, i) || (d.skipNegated && d.negated(toks, i)) {
				continue
			}
			s, e := i, i+len(p)
			// Left: take in the subject ("the tap water smells bad"),
			// up to its determiner or pronoun.
			for k := 0; k < d.left && s > 0 && !toks[s].breakBefore && !conjunction(toks[s-1].text); k++ {
				s--
				if subjectStart(toks[s].text) {
					break
				}
			}
			for k := 0; k < d.right && e < len(toks) && !toks[e].breakBefore && !conjunction(toks[e].text); k++ {
				e++
			}
			spans = append(spans, [2]int{s, e})
		}
	}
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	merged := spans[:1]
	for _, s := range spans[1:] {
		last := &merged[len(merged)-1]
		if s[0] <= last[1] {
			last[1] = max(last[1], s[1])
			continue
		}
		merged = append(merged, s)
	}
	out := make([]transcript.Detection, 0, len(merged))
	for _, s := range merged {
		out = append(out, transcript.Detection{
			CharacterOffsets: transcript.Offsets(content, toks[s[0]].start, toks[s[1]-1].end),
		})
	}
	return out
}

// negated reports whether the trigger at token i is negated or conditional.
func (d detector) negated(toks []token, i int) bool {
	for k := 1; k <= 4 && i-k >= 0 && !toks[i-k+1].breakBefore; k++ {
		w := toks[i-k].text
		if k <= 2 && (w == "no" || w == "not" || w == "never") {
			return true
		}
		if w == "if" || w == "unless" || w == "whether" {
			return true
		}
	}
	return false
}
