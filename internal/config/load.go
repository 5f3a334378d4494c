package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment variable that sets a key.
const EnvPrefix = "CALLREC_"

// EnvConfigFile names the configuration file. The CLI reads it; Load
// ignores it.
const EnvConfigFile = "CALLREC_CONFIG"

// Load returns the configuration made of Default, the YAML file at path
// (skipped when path is ""), and the CALLREC_* variables in environ (in
// os.Environ form, "NAME=value"), then validated.
//
// A key's environment variable is EnvPrefix followed by its dotted path in
// upper case with "." replaced by "_": sip.listen is CALLREC_SIP_LISTEN.
// Lists are comma-separated, booleans are true, false, 1 or 0, durations are
// Go duration strings. A CALLREC_ variable that names no key is an error,
// except EnvConfigFile.
//
// Errors name the key or variable at fault; validation problems are joined,
// one per line.
func Load(path string, environ []string) (*Config, error) {
	cfg, err := read(path, environ)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// read applies the file (if any) and then the environment to the defaults.
func read(path string, environ []string) (*Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config file: %w", err)
		}
		if err := decodeYAML(data, cfg); err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if err := applyEnv(cfg, environ); err != nil {
		return nil, err
	}
	return cfg, nil
}

// LoadProcessing is Load for commands that process files offline: the
// telephony keys (numbers, trunk) may be missing; everything present is
// still checked.
func LoadProcessing(path string, environ []string) (*Config, error) {
	cfg, err := read(path, environ)
	if err != nil {
		return nil, err
	}
	probe := *cfg
	if probe.ServiceNumber == "" {
		probe.ServiceNumber = "+15550100"
	}
	if probe.OwnerNumber == "" {
		probe.OwnerNumber = "+15550111"
	}
	if probe.Trunk.Address == "" {
		probe.Trunk.Address = "127.0.0.1:5060"
	}
	if err := probe.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// leaf is one settable key: its dotted path, its environment variable and
// the field it sets.
type leaf struct {
	path string
	env  string
	v    reflect.Value
}

// isLeaf reports whether a field of type t is a single key rather than a
// section of keys.
func isLeaf(t reflect.Type) bool {
	return t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}

// yamlName returns the key name of a struct field, or "" when it has none.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// leaves lists every key under the struct v (addressable), depth first, in
// declaration order.
func leaves(v reflect.Value, prefix string) []leaf {
	var out []leaf
	t := v.Type()
	for i := range t.NumField() {
		name := yamlName(t.Field(i))
		if name == "" {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		fv := v.Field(i)
		if isLeaf(fv.Type()) {
			out = append(out, leaf{path: path, env: envName(path), v: fv})
			continue
		}
		out = append(out, leaves(fv, path)...)
	}
	return out
}

// envName returns the environment variable for a dotted key path.
func envName(path string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// Keys returns every key's dotted path ("sip.listen"), in declaration order.
func Keys() []string {
	ls := leaves(reflect.ValueOf(Default()).Elem(), "")
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.path
	}
	return out
}

// EnvVars returns every key's environment variable ("CALLREC_SIP_LISTEN"),
// in declaration order.
func EnvVars() []string {
	ls := leaves(reflect.ValueOf(Default()).Elem(), "")
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.env
	}
	return out
}

// decodeYAML overlays the YAML document in data onto cfg. Keys not in the
// file keep their value; unknown and repeated keys are errors naming the key.
func decodeYAML(data []byte, cfg *Config) error {
	// The document is walked as a node tree rather than decoded with
	// KnownFields, so that errors carry the full dotted key path.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file: all defaults
		}
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document; keep a single document")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	root = resolveAlias(root)
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil // a file of comments only
	}
	var errs []error
	decodeSection(root, reflect.ValueOf(cfg).Elem(), "", &errs)
	return errors.Join(errs...)
}

// resolveAlias follows YAML aliases (*name) to the node they stand for.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// decodeSection decodes the mapping n into the struct v, whose key path is
// prefix, appending problems to errs.
func decodeSection(n *yaml.Node, v reflect.Value, prefix string, errs *[]error) {
	where := prefix
	if where == "" {
		where = "the top level"
	}
	if n.Kind != yaml.MappingNode {
		*errs = append(*errs, fmt.Errorf("%s (line %d): expected a mapping of keys; write \"key: value\" lines", where, n.Line))
		return
	}
	t := v.Type()
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			fields[name] = i
			names = append(names, name)
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], resolveAlias(n.Content[i+1])
		path := k.Value
		if prefix != "" {
			path = prefix + "." + k.Value
		}
		idx, ok := fields[k.Value]
		if !ok {
			msg := fmt.Sprintf("%s (line %d): unknown key; ", path, k.Line)
			if s := suggest(k.Value, names); s != "" {
				msg += fmt.Sprintf("did you mean %q? ", s)
			}
			msg += fmt.Sprintf("keys allowed in %s: %s", where, strings.Join(names, ", "))
			*errs = append(*errs, errors.New(msg))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			*errs = append(*errs, fmt.Errorf("%s (line %d): key repeated (first on line %d); keep one", path, k.Line, first))
			continue
		}
		seen[k.Value] = k.Line
		fv := v.Field(idx)
		if val.Kind == yaml.ScalarNode && val.Tag == "!!null" {
			continue // "key:" with no value keeps the default
		}
		if !isLeaf(fv.Type()) {
			decodeSection(val, fv, path, errs)
			continue
		}
		if err := decodeLeaf(val, fv); err != nil {
			*errs = append(*errs, fmt.Errorf("%s (line %d): %w", path, val.Line, err))
		}
	}
}

// decodeLeaf decodes one key's value node into v.
func decodeLeaf(n *yaml.Node, v reflect.Value) error {
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		if n.Kind != yaml.ScalarNode {
			return errors.New("expected a single value, not a list or mapping")
		}
		return u.UnmarshalText([]byte(n.Value))
	}
	switch v.Kind() {
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return errors.New("expected a single value, not a list or mapping")
		}
		// Any scalar is text: 1234 and +15551234567 keep their digits.
		v.SetString(n.Value)
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return errors.New("expected a list; write [\"a\", \"b\"] or one \"- item\" per line")
		}
		out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
		for _, item := range n.Content {
			item = resolveAlias(item)
			ev := reflect.New(v.Type().Elem()).Elem()
			if err := decodeLeaf(item, ev); err != nil {
				return fmt.Errorf("item on line %d: %w", item.Line, err)
			}
			out = reflect.Append(out, ev)
		}
		v.Set(out)
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return errors.New("expected a single value, not a list or mapping")
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		return fmt.Errorf("%q is not %s", n.Value, kindWord(v.Kind()))
	}
	return nil
}

// kindWord describes what a value of kind k must look like.
func kindWord(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "a boolean; write true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number; write digits only, such as 30"
	default:
		return "valid here"
	}
}

// applyEnv sets keys from the CALLREC_* variables in environ. Later
// occurrences of a variable win.
func applyEnv(cfg *Config, environ []string) error {
	ls := leaves(reflect.ValueOf(cfg).Elem(), "")
	byEnv := make(map[string]leaf, len(ls))
	names := make([]string, 0, len(ls))
	for _, l := range ls {
		byEnv[l.env] = l
		names = append(names, l.env)
	}
	var errs []error
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || name == EnvConfigFile {
			continue
		}
		l, ok := byEnv[name]
		if !ok {
			msg := fmt.Sprintf("%s: no such setting; ", name)
			if s := suggest(name, names); s != "" {
				msg += fmt.Sprintf("did you mean %s? ", s)
			}
			msg += "unset it or use one of: " + strings.Join(names, ", ")
			errs = append(errs, errors.New(msg))
			continue
		}
		if err := setFromString(l.v, value); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", name, l.path, err))
		}
	}
	return errors.Join(errs...)
}

// setFromString parses an environment variable's value into v.
func setFromString(v reflect.Value, s string) error {
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(s))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1":
			v.SetBool(true)
		case "false", "0":
			v.SetBool(false)
		default:
			return fmt.Errorf("%q is not a boolean; set true, false, 1 or 0", s)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a whole number; set digits only, such as 30", s)
		}
		v.SetInt(n)
	case reflect.Slice:
		out := reflect.MakeSlice(v.Type(), 0, strings.Count(s, ",")+1)
		for item := range strings.SplitSeq(s, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			ev := reflect.New(v.Type().Elem()).Elem()
			if err := setFromString(ev, item); err != nil {
				return fmt.Errorf("list item %q: %w", item, err)
			}
			out = reflect.Append(out, ev)
		}
		v.Set(out)
	default:
		// Reached only if a field of a new kind is added to Config.
		return fmt.Errorf("cannot be set from the environment (type %s)", v.Type())
	}
	return nil
}

// suggest returns the candidate closest to s when it is close enough to be a
// likely typo, or "".
func suggest(s string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist < 0 || bestDist > 2 && bestDist*4 > len(s) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
