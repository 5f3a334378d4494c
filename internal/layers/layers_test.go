package layers

import (
	"errors"
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/callrec/callrec/internal/"

// allowed lists, for each package under internal/ (by path, a trailing
// "/" covering its sub-packages), the internal packages it may import. A
// package missing here fails the test: place every new package.
var allowed = map[string][]string{
	// Vocabulary and stores: no knowledge of calls in progress or of
	// what processes them.
	"number":     nil,
	"display":    nil,
	"metrics":    nil,
	"password":   nil,
	"prompts":    nil,
	"store":      nil,
	"blob":       nil,
	"transcript": nil,
	"signed":     {"blob"},
	"callflow":   {"number"},
	"calls":      {"blob", "callflow", "store"},
	"config":     {"callflow", "number"},
	"storage":    {"display", "metrics"},
	// STUN discovery of the public address of a socket.
	"stunaddr": nil,
	// The call's path: SIP and media know nothing above them (SIP reads
	// the DTMF bodies of INFO requests with media/dtmf).
	"sip":     {"media/dtmf"},
	"media/":  {"media/"},
	"runtime": {"sip", "media/", "callflow", "calls", "store", "blob", "metrics", "display", "number"},
	// After the call.
	"transcribe":  {"transcript"},
	"transcribe/": {"transcribe", "transcribe/", "transcript", "number"},
	"analytics":   {"transcribe", "transcript"},
	"corpus":      {"transcribe", "transcript", "media/"},
	"corpus/":     {"corpus", "transcribe", "transcript", "media/"},
	"pipeline":    {"analytics", "blob", "calls", "media/", "store", "transcribe", "transcript"},
	"queue":       {"blob", "calls", "metrics", "pipeline", "store", "transcribe"},
	"report":      {"calls", "display", "store", "transcript"},
	"notify":      {"blob", "calls", "display", "signed", "store", "transcript"},
	"web":         {"blob", "calls", "display", "metrics", "password", "signed", "store", "transcript"},
	// Wiring may use everything; nothing uses it.
	"app":    {"*"},
	"layers": nil,
}

// rule returns the allowed imports of pkg and whether it has a rule.
func rule(pkg string) ([]string, bool) {
	if a, ok := allowed[pkg]; ok {
		return a, true
	}
	for p, a := range allowed {
		if strings.HasSuffix(p, "/") && strings.HasPrefix(pkg, p) {
			return a, true
		}
	}
	return nil, false
}

func permits(list []string, imp string) bool {
	for _, a := range list {
		if a == "*" || a == imp || strings.HasSuffix(a, "/") && strings.HasPrefix(imp, a) {
			return true
		}
	}
	return false
}

func TestImportsFollowTheDataPath(t *testing.T) {
	root := filepath.Join("..")
	checked := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		switch d.Name() {
		case "testdata", "static", "templates":
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." {
			return err
		}
		pkg := filepath.ToSlash(rel)
		bp, err := build.ImportDir(path, 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil
		}
		if err != nil {
			return err
		}
		list, ok := rule(pkg)
		if !ok {
			t.Errorf("package %s has no place in the layering: add it to allowed", pkg)
			return nil
		}
		checked++
		for _, imp := range bp.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			if !permits(list, imp) {
				t.Errorf("%s imports %s, which its place on the data path does not allow", pkg, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Errorf("checked %d packages: the walk missed the tree", checked)
	}
}
