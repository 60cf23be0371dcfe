package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
	_ "modernc.org/sqlite"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/testserver"
)

// makeActivity creates tokens, recordings and holds (some released) so
// the audit log has entries of every common kind, waits for processing
// to finish (so nothing appends behind the test's back) and returns the
// recording ids.
func makeActivity(t *testing.T, srv *testserver.Server, seed uint64) []string {
	t.Helper()
	c := sdk(t, srv)
	ctx := context.Background()
	for _, name := range []string{"auditor", "legal"} {
		if _, err := c.CreateToken(ctx, name, []string{"audit:view", "recording:view"}); err != nil {
			t.Fatal(err)
		}
	}
	ids := ingestAll(t, c, makeCalls(seed, 4))
	waitCompleted(t, c, ids)
	r := do(t, srv.URL, testserver.AdminToken, http.MethodPost, "/api/v2/recordings/legalholds", perRecordingBody(ids[0]))
	wantStatus(t, "hold", r, http.StatusOK)
	h, err := c.CreateHold(ctx, client.CreateHoldRequest{CaseID: "LC-2024-002", HoldReason: "Subpoena 7", Filter: client.Filter{RecordIDs: ids[1:3]}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReleaseHold(ctx, h.HoldID, "Matter settled"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteRecording(ctx, ids[3]); err != nil {
		t.Fatal(err)
	}
	return ids
}

// copyDir copies a directory tree (regular files only, keeping modes).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
}

// emptyDir removes everything inside dir.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// withDB opens <dataDir>/holdfast.db directly (the server is stopped) and
// runs fn in one transaction.
func withDB(t *testing.T, dataDir string, fn func(tx *sql.Tx) error) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "holdfast.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		t.Fatalf("tamper: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func execOne(tx *sql.Tx, q string, args ...any) error {
	res, err := tx.Exec(q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("%q affected %d rows, want 1", q, n)
	}
	return nil
}

type auditRow struct {
	typ, subject, data string
}

func readRow(tx *sql.Tx, idx int64) (auditRow, error) {
	var r auditRow
	err := tx.QueryRow(`SELECT type, subject, data FROM audit_entries WHERE idx = ?`, idx).Scan(&r.typ, &r.subject, &r.data)
	return r, err
}

// readyzStatus polls /readyz until it answers (the process is up).
func readyzStatus(t *testing.T, srv *testserver.Server) resp {
	t.Helper()
	var last error
	for range 100 {
		r, err := doErr(srv.URL, "", http.MethodGet, "/readyz", nil)
		if err == nil {
			return r
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET /readyz: %v", last)
	return resp{}
}

// tamperSetup runs a server, creates activity, fetches (and so saves) a
// signed checkpoint covering every entry, stops the server and keeps a
// pristine copy of its data directory. It returns the server (stopped),
// the copy, the entries and the signed checkpoint.
func tamperSetup(t *testing.T, seed uint64) (*testserver.Server, string, []client.AuditEntry, []byte) {
	t.Helper()
	srv := testserver.StartProcess(t, "")
	makeActivity(t, srv, seed)
	c := sdk(t, srv)
	signed, err := c.AuditCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	entries := allAuditEntries(t, c)
	size := int64(len(entries))
	if !bytes.Contains(signed, fmt.Appendf(nil, "\n%d\n", size)) {
		t.Fatalf("checkpoint %q does not cover the %d entries read after it", signed, size)
	}
	if size < 12 {
		t.Fatalf("only %d audit entries; the activity should have made more", size)
	}
	srv.Kill()
	pristine := t.TempDir()
	copyDir(t, srv.DataDir, pristine)
	return srv, pristine, entries, signed
}

// restore replaces the server's data directory with the pristine copy
// and applies tamper (if any) to its database.
func restore(t *testing.T, srv *testserver.Server, pristine string, tamper func(tx *sql.Tx) error) {
	t.Helper()
	emptyDir(t, srv.DataDir)
	copyDir(t, pristine, srv.DataDir)
	if tamper != nil {
		withDB(t, srv.DataDir, tamper)
	}
}

// TestAuditTamper edits, removes and swaps rows of the audit log straight
// in the SQLite file of a stopped server, and checks that both `holdfast
// audit verify` and the server's startup self-check (/readyz) catch it and
// name the damaged entries.
func TestAuditTamper(t *testing.T) {
	t.Parallel()
	srv, pristine, entries, _ := tamperSetup(t, 6)
	size := int64(len(entries))

	// Pick targets: a hold.applied entry to edit and delete (in the middle
	// of the log, so that later entries exist), and two entries of
	// different kinds to swap.
	k := int64(-1)
	for _, e := range entries {
		if e.Type == "hold.applied" {
			k = e.Index
			break
		}
	}
	if k < 0 || k >= size-1 {
		t.Fatalf("no hold.applied entry in the middle of the log: %+v", entries)
	}
	i, j := int64(1), size-2
	for entries[j].Type == entries[i].Type && j > i+1 {
		j--
	}

	cases := []struct {
		name   string
		tamper func(tx *sql.Tx) error
		names  []int64 // indexes the output must name
	}{
		{"untampered", nil, nil},
		{"edit data", func(tx *sql.Tx) error {
			r, err := readRow(tx, k)
			if err != nil {
				return err
			}
			edited := strings.Replace(r.data, `"hold_reason":"`, `"hold_reason":"(edited) `, 1)
			if edited == r.data {
				return fmt.Errorf("entry %d data %s has no hold_reason", k, r.data)
			}
			return execOne(tx, `UPDATE audit_entries SET data = ? WHERE idx = ?`, edited, k)
		}, []int64{k}},
		{"delete row", func(tx *sql.Tx) error {
			return execOne(tx, `DELETE FROM audit_entries WHERE idx = ?`, k)
		}, []int64{k}},
		{"swap rows", func(tx *sql.Tx) error {
			ri, err := readRow(tx, i)
			if err != nil {
				return err
			}
			rj, err := readRow(tx, j)
			if err != nil {
				return err
			}
			if err := execOne(tx, `UPDATE audit_entries SET type = ?, subject = ?, data = ? WHERE idx = ?`, rj.typ, rj.subject, rj.data, i); err != nil {
				return err
			}
			return execOne(tx, `UPDATE audit_entries SET type = ?, subject = ?, data = ? WHERE idx = ?`, ri.typ, ri.subject, ri.data, j)
		}, []int64{i, j}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			restore(t, srv, pristine, tc.tamper)
			logStart := len(srv.Log())
			srv.Restart()
			defer srv.Kill()

			out, code := auditVerify(t, srv)
			ready := readyzStatus(t, srv)
			v, err := srv.Client(t).VerifyAudit(context.Background())
			if err != nil {
				t.Fatalf("POST /api/v2/audit/verify: %v", err)
			}
			switch {
			case v.OK != (tc.tamper == nil):
				t.Errorf("POST /api/v2/audit/verify: ok %v, want %v", v.OK, tc.tamper == nil)
			case tc.tamper == nil && v.FirstBadIndex != nil:
				t.Errorf("POST /api/v2/audit/verify: first_bad_index %d on an untampered log", *v.FirstBadIndex)
			case tc.tamper != nil && (v.FirstBadIndex == nil || *v.FirstBadIndex != tc.names[0]):
				t.Errorf("POST /api/v2/audit/verify: first_bad_index %v, want %d", v.FirstBadIndex, tc.names[0])
			}
			if tc.tamper == nil {
				if code != 0 {
					t.Errorf("holdfast audit verify exited %d on an untampered log:\n%s", code, out)
				}
				if !strings.Contains(out, fmt.Sprintf("audit log OK: all %d entries", size)) {
					t.Errorf("holdfast audit verify output lacks the OK line for %d entries:\n%s", size, out)
				}
				if ready.Status != http.StatusOK {
					t.Errorf("GET /readyz on an untampered log: %d %s", ready.Status, ready.Body)
				}
				return
			}
			if code != 1 {
				t.Errorf("holdfast audit verify exited %d, want 1; output:\n%s", code, out)
			}
			for _, idx := range tc.names {
				if !regexp.MustCompile(fmt.Sprintf(`(?m)^entry %d: `, idx)).MatchString(out) {
					t.Errorf("holdfast audit verify output does not name entry %d:\n%s", idx, out)
				}
			}
			p := wantProblem(t, "GET /readyz after tampering", ready, http.StatusServiceUnavailable, "unavailable")
			if !strings.Contains(p.Message, "audit") {
				t.Errorf("GET /readyz message %q does not blame the audit log", p.Message)
			}
			if ra := ready.Header.Get("Retry-After"); ra == "" || ra != ready.Header.Get("X-Retry-After") {
				t.Errorf("GET /readyz 503: Retry-After %q X-Retry-After %q, want equal and set", ra, ready.Header.Get("X-Retry-After"))
			}
			log := srv.Log()[logStart:]
			for _, idx := range tc.names {
				if !strings.Contains(log, fmt.Sprintf("index=%d ", idx)) && !strings.Contains(log, fmt.Sprintf("entry %d:", idx)) {
					t.Errorf("server log does not name entry %d:\n%s", idx, lastLines(log, 20))
				}
			}
		})
	}
}

// TestAuditRewriteNoEquivocation tampers like an attacker who can write
// the database but does not hold the signing key: one entry is edited and
// the stored tree hashes are recomputed to match. The server has already
// signed (and saved) a checkpoint of that size with the true root, so it
// must neither report ready nor sign a second, different root for the
// same size (a split view), and `holdfast audit verify` must fail.
func TestAuditRewriteNoEquivocation(t *testing.T) {
	t.Parallel()
	srv, pristine, entries, signed := tamperSetup(t, 8)
	size := int64(len(entries))
	k := size / 2
	restore(t, srv, pristine, func(tx *sql.Tx) error {
		if err := execOne(tx, `UPDATE audit_entries SET subject = subject || '-edited' WHERE idx = ?`, k); err != nil {
			return err
		}
		return rehash(tx, k, size)
	})
	srv.Restart()
	defer srv.Kill()

	ready := readyzStatus(t, srv)
	wantProblem(t, "GET /readyz after a rewrite", ready, http.StatusServiceUnavailable, "unavailable")

	c := sdk(t, srv)
	pemBytes, err := c.SigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pub, err := audit.ParsePublicKeyPEM(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	before, err := audit.OpenCheckpoint(signed, audit.DefaultOrigin(pub), pub)
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, srv.URL, testserver.AdminToken, http.MethodGet, "/api/v2/audit/checkpoint", nil)
	// A log that contradicts its checkpoint is permanent until an operator
	// acts: 500 audit_log_inconsistent, never a retryable 503.
	if r.Status != http.StatusOK {
		wantProblem(t, "GET /api/v2/audit/checkpoint after a rewrite", r, http.StatusInternalServerError, "audit_log_inconsistent")
		if r.Header.Get("Retry-After") != "" {
			t.Errorf("audit_log_inconsistent carries Retry-After %q", r.Header.Get("Retry-After"))
		}
	}
	if r.Status == http.StatusOK {
		if after, err := audit.OpenCheckpoint(r.Body, audit.DefaultOrigin(pub), pub); err == nil && after.Size == before.Size && after.Root != before.Root {
			t.Errorf("the server signed two different roots for size %d: %s before the rewrite and %s after it (equivocation); "+
				"GET /api/v2/audit/checkpoint must not sign a tree that contradicts its own saved checkpoint",
				before.Size, audit.FormatHash(before.Root), audit.FormatHash(after.Root))
		}
	}
	out, code := auditVerify(t, srv)
	if code != 1 {
		t.Errorf("holdfast audit verify exited %d after entry %d was edited and the tree hashes rewritten, want 1 (the server's own /readyz reports the mismatch); output:\n%s", code, k, out)
	}
}

// txHashReader reads audit_hashes inside a transaction (hex-encoded).
type txHashReader struct{ tx *sql.Tx }

func (r txHashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		var hx string
		if err := r.tx.QueryRow(`SELECT hash FROM audit_hashes WHERE id = ?`, idx).Scan(&hx); err != nil {
			return nil, fmt.Errorf("hash %d: %w", idx, err)
		}
		b, err := hex.DecodeString(hx)
		if err != nil || len(b) != len(out[i]) {
			return nil, fmt.Errorf("hash %d: %q", idx, hx)
		}
		copy(out[i][:], b)
	}
	return out, nil
}

// rehash recomputes the stored tree hashes of leaves from..size-1 from the
// (tampered) entries, as an attacker with write access to the database
// but not to the signing key would.
func rehash(tx *sql.Tx, from, size int64) error {
	if _, err := tx.Exec(`DELETE FROM audit_hashes WHERE id >= ?`, tlog.StoredHashIndex(0, from)); err != nil {
		return err
	}
	for n := from; n < size; n++ {
		e := audit.Entry{Index: n}
		var nanos int64
		var data string
		if err := tx.QueryRow(`SELECT time, type, actor, subject, data FROM audit_entries WHERE idx = ?`, n).Scan(&nanos, &e.Type, &e.Actor, &e.Subject, &data); err != nil {
			return err
		}
		e.Time = time.Unix(0, nanos).UTC()
		e.Data = json.RawMessage(data)
		leaf, err := e.Hash()
		if err != nil {
			return err
		}
		hs, err := audit.StoredHashes(n, leaf, txHashReader{tx})
		if err != nil {
			return err
		}
		base := tlog.StoredHashIndex(0, n)
		for i, h := range hs {
			if _, err := tx.Exec(`INSERT INTO audit_hashes (id, hash) VALUES (?, ?)`, base+int64(i), hex.EncodeToString(h[:])); err != nil {
				return err
			}
		}
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// canonicalEntry is an independent implementation of the hashed form of
// an audit entry: JSON with keys sorted (actor, data, index, subject,
// time, type), no whitespace, time in UTC with nine fractional digits,
// data re-serialised with sorted keys and omitted when empty.
func canonicalEntry(t *testing.T, e client.AuditEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	str := func(s string) {
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		b.Truncate(b.Len() - 1) // Encode's newline
	}
	b.WriteString(`{"actor":`)
	str(e.Actor)
	if d := bytes.TrimSpace(e.Data); len(d) > 0 && string(d) != "null" {
		dec := json.NewDecoder(bytes.NewReader(d))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("entry %d data: %v", e.Index, err)
		}
		var db bytes.Buffer
		enc := json.NewEncoder(&db) // maps marshal with sorted keys
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		b.WriteString(`,"data":`)
		b.Write(bytes.TrimSuffix(db.Bytes(), []byte("\n")))
	}
	fmt.Fprintf(&b, `,"index":%d,"subject":`, e.Index)
	str(e.Subject)
	b.WriteString(`,"time":`)
	str(e.Time.UTC().Format("2006-01-02T15:04:05.000000000Z"))
	b.WriteString(`,"type":`)
	str(e.Type)
	b.WriteByte('}')
	return b.Bytes()
}

// mth is RFC 6962's Merkle Tree Hash over leaf hashes, written from the
// RFC's definition.
func mth(leaves [][]byte) []byte {
	h := rfc6962.DefaultHasher
	switch n := len(leaves); n {
	case 0:
		return h.EmptyRoot()
	case 1:
		return leaves[0]
	default:
		k := 1
		for k<<1 < n {
			k <<= 1
		}
		return h.HashChildren(mth(leaves[:k]), mth(leaves[k:]))
	}
}

func b64(t *testing.T, what, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		t.Fatalf("%s: %q is not standard base64 of 32 bytes: %v", what, s, err)
	}
	return b
}

func b64s(t *testing.T, what string, ss []string) [][]byte {
	t.Helper()
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = b64(t, fmt.Sprintf("%s[%d]", what, i), s)
	}
	return out
}

// TestAuditProofsIndependentVerifier recomputes leaf hashes from the
// entries, checks inclusion and consistency proofs with
// transparency-dev/merkle, and ties every root to the signed checkpoint.
func TestAuditProofsIndependentVerifier(t *testing.T) {
	t.Parallel()
	srv := testserver.StartProcess(t, "")
	makeActivity(t, srv, 7)
	c := sdk(t, srv)
	ctx := context.Background()

	// The checkpoint, verified with the key the server publishes.
	pemBytes, err := c.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := audit.ParsePublicKeyPEM(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := c.AuditCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := audit.OpenCheckpoint(signed, audit.DefaultOrigin(pub), pub)
	if err != nil {
		t.Fatalf("checkpoint %q: %v", signed, err)
	}
	n := cp.Size
	cpRoot := cp.Root[:]
	entries := allAuditEntries(t, c)
	if int64(len(entries)) < n || n < 10 {
		t.Fatalf("checkpoint size %d, %d entries", n, len(entries))
	}

	// Leaf hashes, recomputed independently.
	h := rfc6962.DefaultHasher
	leaves := make([][]byte, n)
	for i := range n {
		e := entries[i]
		if e.Index != i {
			t.Fatalf("entry at position %d has index %d", i, e.Index)
		}
		leaf := h.HashLeaf(canonicalEntry(t, e))
		if api := b64(t, "leaf_hash", e.LeafHash); !bytes.Equal(leaf, api) {
			t.Errorf("entry %d (%s): recomputed leaf hash %x, API leaf_hash %x; canonical form %s", i, e.Type, leaf, api, canonicalEntry(t, e))
		}
		leaves[i] = leaf
	}
	if root := mth(leaves); !bytes.Equal(root, cpRoot) {
		t.Fatalf("RFC 6962 root of the %d recomputed leaves is %x, the signed checkpoint says %x", n, root, cpRoot)
	}

	sizes := []int64{1, 2, 3, 7, n / 2, n - 1, n}
	for _, size := range sizes {
		// The root at size: from the API, checked against the
		// independent computation, and tied to the checkpoint by a
		// consistency proof.
		cons, err := c.ConsistencyProof(ctx, size, n)
		if err != nil {
			t.Fatalf("consistency %d→%d: %v", size, n, err)
		}
		oldRoot := b64(t, "old_root", cons.OldRoot)
		if !bytes.Equal(oldRoot, mth(leaves[:size])) {
			t.Errorf("consistency %d→%d: old_root %x, recomputed %x", size, n, oldRoot, mth(leaves[:size]))
		}
		if !bytes.Equal(b64(t, "new_root", cons.NewRoot), cpRoot) {
			t.Errorf("consistency %d→%d: new_root %s is not the checkpoint root", size, n, cons.NewRoot)
		}
		if err := proof.VerifyConsistency(h, uint64(size), uint64(n), b64s(t, "proof", cons.Proof), oldRoot, cpRoot); err != nil {
			t.Errorf("consistency %d→%d does not verify against the checkpoint: %v", size, n, err)
		}
		// Inclusion of first, middle and last entries at this size.
		for _, index := range []int64{0, size / 2, size - 1} {
			inc, err := c.InclusionProof(ctx, index, size)
			if err != nil {
				t.Fatalf("inclusion %d@%d: %v", index, size, err)
			}
			if inc.Index != index || inc.Size != size {
				t.Errorf("inclusion %d@%d: answer names %d@%d", index, size, inc.Index, inc.Size)
			}
			if !bytes.Equal(b64(t, "leaf_hash", inc.LeafHash), leaves[index]) {
				t.Errorf("inclusion %d@%d: leaf_hash %s differs from the recomputed leaf", index, size, inc.LeafHash)
			}
			if !bytes.Equal(b64(t, "root_hash", inc.RootHash), oldRoot) {
				t.Errorf("inclusion %d@%d: root_hash %s differs from the root proven consistent with the checkpoint", index, size, inc.RootHash)
			}
			if err := proof.VerifyInclusion(h, uint64(index), uint64(size), leaves[index], b64s(t, "proof", inc.Proof), oldRoot); err != nil {
				t.Errorf("inclusion %d@%d does not verify: %v", index, size, err)
			}
			// A wrong leaf must not verify with the same proof.
			if size > 1 {
				other := leaves[(index+1)%size]
				if proof.VerifyInclusion(h, uint64(index), uint64(size), other, b64s(t, "proof", inc.Proof), oldRoot) == nil {
					t.Errorf("inclusion %d@%d also verifies for the leaf of entry %d", index, size, (index+1)%size)
				}
			}
		}
	}

	// Out-of-range requests are 400 naming the query parameter.
	for _, q := range []struct{ path, field string }{
		{fmt.Sprintf("/api/v2/audit/proof/inclusion?index=%d&size=%d", n, n), "query.index"},
		{"/api/v2/audit/proof/inclusion?size=1", "query.index"},
		{"/api/v2/audit/proof/consistency?old=0&new=1", "query.new"},
		{"/api/v2/audit/proof/consistency?old=1&new=999999", "query.new"},
	} {
		r := do(t, srv.URL, testserver.AdminToken, http.MethodGet, q.path, nil)
		p := wantProblem(t, q.path, r, http.StatusBadRequest, "validation_failed")
		findFieldError(t, q.path, p, q.field)
	}
}
