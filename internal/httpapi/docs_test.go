package httpapi_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every curl in the README and docs that sends a JSON body says so, or
// the server answers it 415.
func TestDocsCurlsDeclareJSON(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../../README.md")
	sendsData := regexp.MustCompile(`(^|\s)(-d|--data(-raw|-binary|-ascii)?)(\s|=|')`)
	checked := 0
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i := 0; i < len(lines); i++ {
			if !strings.Contains(lines[i], "curl ") {
				continue
			}
			cmd := lines[i]
			for j := i; strings.HasSuffix(strings.TrimSpace(lines[j]), `\`) && j+1 < len(lines); j++ {
				cmd += " " + lines[j+1]
			}
			if !sendsData.MatchString(cmd) && !strings.Contains(cmd, "--json") {
				continue
			}
			checked++
			if !strings.Contains(cmd, "--json") && !strings.Contains(strings.ToLower(cmd), "content-type: application/json") {
				t.Errorf("%s:%d: curl sends a body without --json or Content-Type: application/json: %s", name, i+1, strings.TrimSpace(lines[i]))
			}
		}
	}
	if checked == 0 {
		t.Error("found no curl that sends JSON in the README or docs; has the walkthrough moved?")
	}
}
