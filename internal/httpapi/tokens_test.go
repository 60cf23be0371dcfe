package httpapi_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/holdfast/holdfast/internal/testserver"
)

// oaAuditFrom returns every audit entry from index start on.
func oaAuditFrom(t testing.TB, a *oaClient, start int) []map[string]any {
	t.Helper()
	var out []map[string]any
	path := fmt.Sprintf("/api/v2/audit/entries?start=%d&limit=1000", start)
	for {
		page := a.expect(t, oaGet(path, testserver.AdminToken), 200, "").obj(t)
		items, _ := page["items"].([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any))
		}
		next, _ := page["next_cursor"].(string)
		if next == "" {
			return out
		}
		path = "/api/v2/audit/entries?limit=1000&cursor=" + url.QueryEscape(next)
	}
}

// oaAuditSize is the number of entries in the audit log.
func oaAuditSize(t testing.TB, a *oaClient) int {
	t.Helper()
	n, _ := a.expect(t, oaGet("/api/v2/audit/entries?limit=1", testserver.AdminToken), 200, "").obj(t)["tree_size"].(float64)
	return int(n)
}

// oaEntriesOf keeps the entries of one type.
func oaEntriesOf(entries []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, e := range entries {
		if e["type"] == typ {
			out = append(out, e)
		}
	}
	return out
}

// oaTokens lists every token, following next_cursor with the given page size.
func oaTokens(t testing.TB, a *oaClient, limit int) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for range 100 {
		path := fmt.Sprintf("/api/v2/tokens?limit=%d", limit)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		page := a.expect(t, oaGet(path, testserver.AdminToken), 200, "").obj(t)
		items, _ := page["items"].([]any)
		if len(items) > limit {
			t.Fatalf("a page of %d tokens with limit %d", len(items), limit)
		}
		for _, it := range items {
			out = append(out, it.(map[string]any))
		}
		cursor, _ = page["next_cursor"].(string)
		if cursor == "" {
			return out
		}
	}
	t.Fatal("the token list does not end")
	return nil
}

// oaTokenByName finds a token in the list by its name.
func oaTokenByName(t testing.TB, a *oaClient, name string) map[string]any {
	t.Helper()
	for _, tok := range oaTokens(t, a, 1000) {
		if tok["name"] == name {
			return tok
		}
	}
	t.Fatalf("no token named %q", name)
	return nil
}

func testOATokens(t *testing.T) {
	a := newOAClient(t)
	admin := testserver.AdminToken
	reader := oaCreateToken(t, a, "reader", "recording:view")
	auditor := oaCreateToken(t, a, "auditor", "audit:view")
	spare := oaCreateToken(t, a, "spare", "recording:export")
	adminID, _ := oaTokenByName(t, a, "bootstrap")["id"].(string)

	// The list pages like every list, shows no secret, and names every token.
	all := oaTokens(t, a, 2)
	if len(all) != 4 {
		t.Fatalf("listed %d tokens, want 4 (bootstrap, reader, auditor, spare)", len(all))
	}
	listed := a.expect(t, oaGet("/api/v2/tokens", admin), 200, "")
	for _, secret := range []string{admin, reader, auditor, spare} {
		if strings.Contains(string(listed.body), secret) {
			t.Fatalf("the token list shows a secret: %s", listed.body)
		}
	}
	for i, tok := range all {
		if tok["created_at"] == nil || tok["revoked_at"] != nil {
			t.Errorf("token %d: %v", i, tok)
		}
		if i > 0 && tok["id"].(string) <= all[i-1]["id"].(string) {
			t.Errorf("tokens not in id order: %v then %v", all[i-1]["id"], tok["id"])
		}
	}
	readerTok := oaTokenByName(t, a, "reader")
	readerID := readerTok["id"].(string)
	if readerTok["last_used_at"] != nil {
		t.Errorf("an unused token has last_used_at %v", readerTok["last_used_at"])
	}

	// Use is recorded, at most once a minute: two quick requests keep the first time.
	a.expect(t, oaGet("/api/v2/recordings", reader), 200, "")
	used := oaTokenByName(t, a, "reader")["last_used_at"]
	if used == nil {
		t.Fatal("last_used_at not set after a request")
	}
	a.expect(t, oaGet("/api/v2/recordings", reader), 200, "")
	if again := oaTokenByName(t, a, "reader")["last_used_at"]; again != used {
		t.Errorf("last_used_at went from %v to %v within a minute: written on every request", used, again)
	}

	// Revocation: the very next request is 401, with WWW-Authenticate.
	before := oaAuditSize(t, a)
	revoke := func(id, token string) oaReq {
		return oaReq{method: "DELETE", path: "/api/v2/tokens/" + id, token: token}
	}
	rv := a.expect(t, revoke(readerID, admin), 200, "").obj(t)
	if rv["id"] != readerID || rv["revoked_at"] == nil || rv["name"] != "reader" {
		t.Errorf("revoke answered %v", rv)
	}
	r := a.expect(t, oaGet("/api/v2/recordings", reader), 401, "unauthenticated")
	if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(string(r.body), "revoked") {
		t.Errorf("revoked token: WWW-Authenticate %q, body %s", r.header.Get("WWW-Authenticate"), r.body)
	}
	// Revoking again changes nothing and records nothing more.
	if again := a.expect(t, revoke(readerID, admin), 200, "").obj(t); again["revoked_at"] != rv["revoked_at"] {
		t.Errorf("second revoke moved revoked_at from %v to %v", rv["revoked_at"], again["revoked_at"])
	}
	if got := oaTokenByName(t, a, "reader"); got["revoked_at"] != rv["revoked_at"] {
		t.Errorf("list shows revoked_at %v, want %v", got["revoked_at"], rv["revoked_at"])
	}
	revs := oaEntriesOf(oaAuditFrom(t, a, before), "token.revoked")
	if len(revs) != 1 || revs[0]["actor"] != adminID || revs[0]["subject"] != readerID {
		t.Errorf("token.revoked entries after revoking twice: %v; want one, actor %s, subject %s", revs, adminID, readerID)
	}
	// Listing is audited too: one entry per page, naming the admin token.
	before = oaAuditSize(t, a)
	n := len(oaTokens(t, a, 2))
	listings := oaEntriesOf(oaAuditFrom(t, a, before), "token.listed")
	if pages := (n + 1) / 2; len(listings) != pages {
		t.Errorf("%d token.listed entries for listing %d tokens in pages of 2, want %d", len(listings), n, pages)
	}
	for _, e := range listings {
		if d, _ := e["data"].(map[string]any); e["actor"] != adminID || d["count"] == nil || d["first_id"] == nil {
			t.Errorf("token.listed entry %v, want actor %s with count and first_id", e, adminID)
		}
	}
	// Other tokens are untouched.
	a.expect(t, oaGet("/api/v2/audit/entries", auditor), 200, "")

	// Errors.
	a.expect(t, revoke("tok_01JD0000000000000000000000", admin), 404, "not_found")
	a.expect(t, revoke("nonsense", admin), 404, "not_found")
	for _, q := range []oaReq{oaGet("/api/v2/tokens", ""), revoke(readerID, ""), oaGet("/api/v2/tokens", "hf_unknown"), revoke(readerID, reader)} {
		a.expect(t, q, 401, "unauthenticated")
	}
	for _, q := range []oaReq{oaGet("/api/v2/tokens", auditor), revoke(readerID, auditor)} {
		p := a.expect(t, q, 403, "permission_denied").obj(t)
		if mp := fmt.Sprint(p["missing_permissions"]); mp != "[admin]" {
			t.Errorf("%s %s: missing_permissions %s, want [admin]", q.method, q.path, mp)
		}
	}
	for _, bad := range []string{"?limit=0", "?cursor=***", "?name=reader"} {
		p := a.expect(t, oaGet("/api/v2/tokens"+bad, admin), 400, "validation_failed").obj(t)
		if len(oaFieldErrors(p)) != 1 {
			t.Errorf("GET /api/v2/tokens%s: errors %v, want one", bad, oaFieldErrors(p))
		}
	}
}

// testOAMediaReadsAudited checks that every media read is on the record:
// one entry per request, naming the token and the range.
func testOAMediaReadsAudited(t *testing.T) {
	a := newOAClient(t)
	reader := oaCreateToken(t, a, "media-reader", "recording:view")
	readerID := oaTokenByName(t, a, "media-reader")["id"].(string)
	f := oaCalls(t, 11, 1)[0]
	id, _ := a.expect(t, oaIngest(t, testserver.AdminToken, f.meta, f.wav, nil, ""), 202, "").obj(t)["id"].(string)
	media := "/api/v2/recordings/" + id + "/media"

	before := oaAuditSize(t, a)
	a.expect(t, oaGet(media, reader), 200, "")
	a.expect(t, oaReq{method: "GET", path: media, token: reader, header: map[string]string{"Range": "bytes=0-9,20-29"}}, 206, "")
	a.expect(t, oaGet("/api/v2/recordings/rec_01JD0000000000000000000000/media", reader), 404, "not_found")
	a.expect(t, oaGet(media, "hf_unknown"), 401, "unauthenticated")
	reads := oaEntriesOf(oaAuditFrom(t, a, before), "recording.media_read")
	if len(reads) != 2 {
		t.Fatalf("%d recording.media_read entries for two reads (and two refused): %v", len(reads), reads)
	}
	for i, wantRange := range []any{nil, "bytes=0-9,20-29"} {
		e := reads[i]
		d, _ := e["data"].(map[string]any)
		if e["actor"] != readerID || e["subject"] != id || d["range"] != wantRange || d["request_id"] == "" {
			t.Errorf("read %d: entry %v; want actor %s, subject %s, range %v", i, e, readerID, id, wantRange)
		}
	}
}

// oaCheckPackageReadsAudited checks the audit entries of the package
// downloads testOAExports makes from entry start on: one per request,
// naming the token, the job, the file and the range.
func oaCheckPackageReadsAudited(t *testing.T, a *oaClient, start int, tokenName, jobID, rangedFile string) {
	t.Helper()
	tokID := oaTokenByName(t, a, tokenName)["id"].(string)
	entries := oaAuditFrom(t, a, start)
	tars := oaEntriesOf(entries, "export.package_downloaded")
	if len(tars) != 1 || tars[0]["actor"] != tokID || tars[0]["subject"] != jobID {
		t.Errorf("export.package_downloaded entries %v; want one, actor %s, subject %s", tars, tokID, jobID)
	}
	files := oaEntriesOf(entries, "export.package_file_downloaded")
	ranges := map[string]int{}
	for _, e := range files {
		d, _ := e["data"].(map[string]any)
		if e["actor"] != tokID || e["subject"] != jobID || d["path"] == "" {
			t.Errorf("export.package_file_downloaded entry %v", e)
		}
		if d["path"] == rangedFile {
			rg, _ := d["range"].(string)
			ranges[rg]++
		}
	}
	if ranges["bytes=0-99"] != 1 || ranges["bytes=0-9,20-29"] != 1 || ranges[""] < 1 {
		t.Errorf("reads of %s recorded with ranges %v; want the whole file, bytes=0-99 and bytes=0-9,20-29", rangedFile, ranges)
	}
}
