package app

import (
	"strings"
	"testing"
)

func TestParseCategories(t *testing.T) {
	rules, err := ParseCategories([]byte(`
- name: pricing
  phrases: ["price", "how much"]
  speaker: customer
  from_ms: 0
  to_ms: 60000
- name: no-greeting
  phrases: ["hello"]
  negate: true
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[0].Speaker != "CUSTOMER" || rules[0].ToMillis != 60000 || !rules[1].Negate {
		t.Fatalf("rules %+v", rules)
	}
	if rules, err := ParseCategories(nil); err != nil || len(rules) != 0 {
		t.Fatalf("empty file: %v %v", rules, err)
	}
	for _, bad := range []string{
		"- name: x\n  phrase: [a]\n",                   // unknown key
		"- name: \"\"\n  phrases: [a]\n",               // no name
		"- name: x\n  phrases: [a]\n  speaker: boss\n", // bad speaker
		"name: x\n", // not a list
	} {
		if _, err := ParseCategories([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		} else if !strings.Contains(err.Error(), "categor") && !strings.Contains(err.Error(), "yaml") {
			t.Errorf("unclear error for %q: %v", bad, err)
		}
	}
}
