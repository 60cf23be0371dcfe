package httpapi_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/custody"
	"github.com/holdfast/holdfast/internal/testserver"
)

// TestCaseExportProvesHoldMembership exports part of a case hold's
// recordings: the custody report then carries one inclusion proof per
// recording in the hold's set, which verification checks, and tampering
// with an id or a proof step fails verification naming the recording. An
// export of exactly the hold's recordings carries no proofs: verification
// recomputes the set's root from the package's own list.
func TestCaseExportProvesHoldMembership(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	ids := h.ingestCalls(31, 6, "SIP")
	hold, _ := json.Marshal(map[string]any{"case_id": "LC-SET-1", "hold_reason": "Discovery Request #7", "filter": map[string]any{"record_ids": ids[:5]}})
	if r := h.postJSON("/api/v2/legalholds", testserver.AdminToken, string(hold)); r.status != 201 {
		t.Fatalf("hold: %d %s", r.status, r.body)
	}
	export := func(filter string) string {
		t.Helper()
		r := h.postJSON("/api/v2/bulk/recordingexports", testserver.AdminToken, `{"filter": `+filter+`, "options": {"wait_for_processing": "1m"}}`)
		if r.status != 202 {
			t.Fatalf("export %s: %d %s", filter, r.status, r.body)
		}
		done := h.waitJob(r.json(t)["id"].(string), time.Minute)
		if done["state"] != "completed" {
			t.Fatalf("export %s ended %v", filter, done)
		}
		return done["package"].(map[string]any)["location"].(string)
	}
	key := h.srv.App.Audit.Signer.PublicKey()

	// Part of the hold: one proof per recording against the hold.applied entry.
	part := export(fmt.Sprintf(`{"case_id": "LC-SET-1", "record_ids": [%q, %q, %q]}`, ids[1], ids[2], ids[3]))
	if res := custody.Verify(part, key); len(res.Problems) != 0 || res.Recordings != 3 {
		t.Fatalf("partial case export: %+v", res)
	}
	rep := readReport(t, part)
	var caseEntry int64 = -1
	for _, pe := range rep.Audit.Entries {
		if pe.Role == custody.RoleCaseHold {
			caseEntry = pe.Entry.Index
			if pe.Entry.Type != "hold.applied" {
				t.Errorf("case hold entry %+v", pe.Entry)
			}
		}
	}
	for _, r := range rep.Recordings {
		if len(r.SetProofs) != 1 || r.SetProofs[0].EntryIndex != caseEntry || r.SetProofs[0].TreeSize != 5 || len(r.SetProofs[0].Proof) == 0 {
			t.Errorf("recording %s set proofs %+v, want one against case hold entry %d over 5", r.RecordingID, r.SetProofs, caseEntry)
		}
	}

	// Exactly the hold's recordings: no proofs needed.
	whole := export(`{"case_id": "LC-SET-1"}`)
	if res := custody.Verify(whole, key); len(res.Problems) != 0 || res.Recordings != 5 {
		t.Fatalf("whole case export: %+v", res)
	}
	for _, r := range readReport(t, whole).Recordings {
		if len(r.SetProofs) != 0 {
			t.Errorf("recording %s of an export equal to the hold's set carries proofs %+v", r.RecordingID, r.SetProofs)
		}
	}

	for _, tt := range []struct {
		name   string
		dir    string
		tamper func(t *testing.T, dir string)
		named  string
	}{
		{"one proof step", part, func(t *testing.T, dir string) {
			editReport(t, dir, func(rep map[string]any) {
				p := rep["recordings"].([]any)[1].(map[string]any)["set_proofs"].([]any)[0].(map[string]any)["proof"].([]any)
				s := p[0].(string)
				p[0] = flipHex(s)
			})
		}, ids[2]},
		{"one id in a proved set", part, func(t *testing.T, dir string) {
			editReport(t, dir, func(rep map[string]any) {
				rep["recordings"].([]any)[0].(map[string]any)["recording_id"] = ids[5]
			})
		}, ids[5]},
		{"one id in the package's own list", whole, func(t *testing.T, dir string) {
			b, err := os.ReadFile(filepath.Join(dir, "data", "index.csv"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "data", "index.csv"), []byte(strings.Replace(string(b), ids[4]+",", ids[5]+",", 1)), 0o644); err != nil {
				t.Fatal(err)
			}
		}, ids[5]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, tt.dir)
			tt.tamper(t, dir)
			res := custody.Verify(dir, key)
			named := false
			for _, p := range res.Problems {
				named = named || strings.Contains(p.Message, tt.named) || strings.Contains(p.Path, tt.named)
			}
			if !named {
				t.Errorf("tampering with %s: problems %+v do not name recording %s", tt.name, res.Problems, tt.named)
			}
		})
	}
}

func readReport(t *testing.T, dir string) custody.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(custody.Path)))
	if err != nil {
		t.Fatal(err)
	}
	var rep custody.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func editReport(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	file := filepath.Join(dir, filepath.FromSlash(custody.Path))
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	edit(rep)
	if b, err = json.MarshalIndent(rep, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func flipHex(s string) string {
	c := byte('0')
	if s[0] == '0' {
		c = '1'
	}
	return string(c) + s[1:]
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
