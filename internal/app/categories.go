package app

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/callrec/callrec/internal/analytics"
)

// categoryFile is one rule as written in analytics.categories_file:
//
//   - name: pricing
//     phrases: ["price", "how much"]
//     speaker: CUSTOMER        # optional: AGENT (owner) or CUSTOMER
//     from_ms: 0               # optional window; negative counts from the end
//     to_ms: 60000
//     negate: false            # match when none of the phrases is said
type categoryFile struct {
	Name    string   `yaml:"name"`
	Phrases []string `yaml:"phrases"`
	Speaker string   `yaml:"speaker"`
	FromMS  int64    `yaml:"from_ms"`
	ToMS    int64    `yaml:"to_ms"`
	Negate  bool     `yaml:"negate"`
}

// LoadCategories reads category rules from a YAML file, checking each.
func LoadCategories(path string) ([]analytics.CategoryRule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseCategories(data)
}

// ParseCategories parses category rules (see LoadCategories).
func ParseCategories(data []byte) ([]analytics.CategoryRule, error) {
	var raw []categoryFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file, no rules
		return nil, fmt.Errorf("category rules: %w", err)
	}
	rules := make([]analytics.CategoryRule, 0, len(raw))
	for i, r := range raw {
		rule := analytics.CategoryRule{
			Name: r.Name, Phrases: r.Phrases, Speaker: strings.ToUpper(r.Speaker),
			FromMillis: r.FromMS, ToMillis: r.ToMS, Negate: r.Negate,
		}
		if err := rule.Validate(); err != nil {
			return nil, fmt.Errorf("category rule %d (%q): %w", i+1, r.Name, err)
		}
		rules = append(rules, rule)
	}
	return rules, nil
}
