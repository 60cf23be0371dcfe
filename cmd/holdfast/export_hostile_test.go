package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileFile is one file a hostile server lists and serves.
type hostileFile struct {
	path string
	body string
	// size, if not 0, is the size listed instead of len(body).
	size int64
}

// newHostileServer answers like a holdfast server whose export is
// finished, but names its package and files as an attacker chooses. It is
// a server we do not own, so it is faked here with real HTTP.
func newHostileServer(t *testing.T, pkgName string, files []hostileFile) *httptest.Server {
	t.Helper()
	job := map[string]any{"id": "exp_01JD0000000000000000000000", "state": "completed", "filter": map[string]any{}, "metadata": map[string]any{},
		"created_at": "2026-11-25T10:00:00Z", "created_by": "tok_x", "progress": map[string]any{"matched": 1, "exported": 1, "percent": 100},
		"failures": []any{}, "package": map[string]any{"name": pkgName, "location": "x", "tagmanifest_sha256": strings.Repeat("0", 64), "download_url": "x"}}
	byPath := map[string]string{}
	var items []map[string]any
	for _, f := range files {
		sum := sha256.Sum256([]byte(f.body))
		size := f.size
		if size == 0 {
			size = int64(len(f.body))
		}
		items = append(items, map[string]any{"path": f.path, "size_bytes": size, "sha256": hex.EncodeToString(sum[:])})
		byPath[f.path] = f.body
	}
	const prefix = "/api/v2/bulk/recordingexports/exp_01JD0000000000000000000000"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/api/v2/bulk/recordingexports":
			w.WriteHeader(http.StatusAccepted)
			json.NewEncoder(w).Encode(job)
		case r.URL.Path == prefix:
			json.NewEncoder(w).Encode(job)
		case r.URL.Path == prefix+"/package/files":
			json.NewEncoder(w).Encode(map[string]any{"items": items, "next_cursor": ""})
		case strings.HasPrefix(r.URL.Path, prefix+"/package/files/"):
			body, ok := byPath[strings.TrimPrefix(r.URL.Path, prefix+"/package/files/")]
			if !ok {
				// The client escapes each segment; a raw path names the file too.
				body, ok = byPath[strings.TrimPrefix(r.URL.RawPath, prefix+"/package/files/")]
			}
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte(body))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestExportTrustsNothing points `holdfast export` at hostile servers:
// whatever the package name or file paths say, it exits 1 and writes
// nothing outside --out.
func TestExportTrustsNothing(t *testing.T) {
	t.Parallel()
	good := []hostileFile{{path: "bagit.txt", body: "BagIt-Version: 1.0\n"}}
	tests := []struct {
		name    string
		pkg     string
		files   []hostileFile
		prepare func(t *testing.T, out, outside string) // e.g. a planted symlink
	}{
		{name: "package climbs", pkg: "../../x", files: good},
		{name: "package absolute", pkg: "/etc/x", files: good},
		{name: "package climbs after a step", pkg: "a/../../x", files: good},
		{name: "package dot-dot", pkg: "..", files: good},
		{name: "package dot", pkg: ".", files: good},
		{name: "package empty", pkg: "", files: good},
		{name: "package backslashes", pkg: `..\..\x`, files: good},
		{name: "package drive", pkg: `C:x`, files: good},
		{name: "package NUL", pkg: "bag\x00x", files: good},
		{name: "file climbs", pkg: "bag", files: []hostileFile{{path: "../../x", body: "pwned"}}},
		{name: "file absolute", pkg: "bag", files: []hostileFile{{path: "/etc/x", body: "pwned"}}},
		{name: "file climbs after a step", pkg: "bag", files: []hostileFile{{path: "a/../../x", body: "pwned"}}},
		{name: "file climbs deep", pkg: "bag", files: []hostileFile{{path: "data/../../../x", body: "pwned"}}},
		{name: "file backslashes", pkg: "bag", files: []hostileFile{{path: `..\..\x`, body: "pwned"}}},
		{name: "file drive", pkg: "bag", files: []hostileFile{{path: `C:/x`, body: "pwned"}}},
		{name: "file NUL", pkg: "bag", files: []hostileFile{{path: "x\x00y", body: "pwned"}}},
		{name: "file empty segment", pkg: "bag", files: []hostileFile{{path: "data//x", body: "pwned"}}},
		{name: "file listed after a good one", pkg: "bag", files: append(append([]hostileFile(nil), good...), hostileFile{path: "../x", body: "pwned"})},
		{name: "more bytes than listed", pkg: "bag", files: []hostileFile{{path: "data/big", body: strings.Repeat("x", 1<<20), size: 10}}},
		{name: "symlink planted in the bag", pkg: "bag", files: []hostileFile{{path: "data/x", body: "pwned"}},
			prepare: func(t *testing.T, out, outside string) {
				if err := os.MkdirAll(filepath.Join(out, "bag"), 0o750); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(outside, filepath.Join(out, "bag", "data")); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "symlink planted as the bag", pkg: "bag", files: []hostileFile{{path: "x", body: "pwned"}},
			prepare: func(t *testing.T, out, outside string) {
				if err := os.Symlink(outside, filepath.Join(out, "bag")); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			outside := filepath.Join(parent, "outside")
			out := filepath.Join(parent, "a", "b", "out")
			for _, d := range []string{outside, out} {
				if err := os.MkdirAll(d, 0o750); err != nil {
					t.Fatal(err)
				}
			}
			if tt.prepare != nil {
				tt.prepare(t, out, outside)
			}
			srv := newHostileServer(t, tt.pkg, tt.files)
			code, stdout, stderr := runCLI(t, "export", "--server", srv.URL, "--token", "hf_x", "--ids", "rec_01JD0000000000000000000000", "--out", out, "--poll", "10ms")
			if code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			// Nothing but the directories made above exists outside --out.
			err := filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if p == out || strings.HasPrefix(p, out+string(filepath.Separator)) {
					return nil
				}
				switch p {
				case parent, outside, filepath.Join(parent, "a"), filepath.Join(parent, "a", "b"):
					return nil
				}
				t.Errorf("written outside --out: %s", p)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(filepath.Join(out, "bag", "data", "big")); err == nil {
				t.Errorf("a file larger than listed took its final name")
			}
			if !strings.Contains(stderr, "holdfast: ") {
				t.Errorf("stderr has no error sentence: %s", stderr)
			}
		})
	}
}

// FuzzSafeRel checks that a path safeRel admits (and a name safeBagName
// admits) can only name something strictly inside the directory it is
// joined to, on this system and under Windows rules alike.
func FuzzSafeRel(f *testing.F) {
	for _, s := range []string{"bagit.txt", "data/recordings/rec_01JD0000000000000000000000.wav", "../x", "a/../../x", "/etc/x", `a\..\x`, "C:x", "x\x00y", ".", "", "data//x", "x.part"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		base := filepath.Join(string(filepath.Separator), "base")
		check := func(what string) {
			joined := filepath.Join(base, filepath.FromSlash(p))
			if !strings.HasPrefix(joined, base+string(filepath.Separator)) || filepath.Clean(joined) != joined {
				t.Fatalf("%s admits %q, which joins to %q", what, p, joined)
			}
			if strings.ContainsAny(p, "\\:\x00") || strings.Contains(p, "..") && strings.Contains("/"+p+"/", "/../") {
				t.Fatalf("%s admits %q", what, p)
			}
		}
		if safeRel(p) {
			check("safeRel")
		}
		if safeBagName(p) {
			check("safeBagName")
			if strings.Contains(p, "/") {
				t.Fatalf("safeBagName admits %q, which has a separator", p)
			}
		}
	})
}
