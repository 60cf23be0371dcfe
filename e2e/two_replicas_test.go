package e2e_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/holdfast/holdfast/client"

	"github.com/holdfast/holdfast/internal/testserver"
)

// twoReplicas starts replicas A and B of one deployment: one PostgreSQL
// schema, one S3 bucket with Object Lock (versitygw), one signing key.
func twoReplicas(t *testing.T, extra ...string) (a, b *testserver.Server, blobURL string, env []string) {
	t.Helper()
	db := postgresSchema(t)
	blobURL, env, _, _ = s3BlobURL(t)
	key, _ := newKeyFile(t, t.TempDir(), "signing-key.pem")
	args := append([]string{"--database", db, "--blobs", blobURL, "--signing-key", key}, extra...)
	a = testserver.StartProcessEnv(t, "", env, args...)
	b = testserver.StartProcessEnv(t, "", env, args...)
	return a, b, blobURL, env
}

// TestHoldOnOneReplicaRefusesDeleteOnTheOther places a hold through A
// and, at once, deletes the same recording through B, 200 times over:
// every delete is a 409 legal_hold_active. After each release the hold is
// gone on B as well, and a final delete through B succeeds.
func TestHoldOnOneReplicaRefusesDeleteOnTheOther(t *testing.T) {
	a, b, _, _ := twoReplicas(t)
	ids := ingestAll(t, sdk(t, a), makeCalls(71, 10))
	const rounds = 200
	for i := range rounds {
		id := ids[i%len(ids)]
		r := do(t, a.URL, testserver.AdminToken, http.MethodPost, "/api/v2/recordings/legalholds", perRecordingBody(id))
		wantStatus(t, fmt.Sprintf("round %d: hold on A", i), r, http.StatusOK)
		var res holdResults
		if err := json.Unmarshal(r.Body, &res); err != nil || len(res.Results) != 1 || res.Results[0].HoldID == "" {
			t.Fatalf("round %d: hold answer %s (%v)", i, r.Body, err)
		}
		d := do(t, b.URL, testserver.AdminToken, http.MethodDelete, "/api/v2/recordings/"+id, nil)
		wantProblem(t, fmt.Sprintf("round %d: DELETE on B right after the hold on A", i), d, http.StatusConflict, "legal_hold_active")
		rel := do(t, a.URL, testserver.AdminToken, http.MethodPost, "/api/v2/legalholds/"+res.Results[0].HoldID+"/release", `{"release_reason": "round over"}`)
		wantStatus(t, fmt.Sprintf("round %d: release on A", i), rel, http.StatusOK)
	}
	d := do(t, b.URL, testserver.AdminToken, http.MethodDelete, "/api/v2/recordings/"+ids[0], nil)
	wantStatus(t, "DELETE on B after every release", d, http.StatusNoContent)
	for name, s := range map[string]*testserver.Server{"A": a, "B": b} {
		if o, code := auditVerify(t, s); code != 0 {
			t.Errorf("audit verify on %s: exit %d\n%s", name, code, o)
		}
	}
}

// TestHeldBlobLockedInS3 holds a recording through A and checks S3
// itself: its blob version gets an S3 legal hold, a versioned delete of it
// is refused, /readyz and the pending gauge say Object Lock is in force
// and in line; after the last release (through B) the legal hold is OFF.
func TestHeldBlobLockedInS3(t *testing.T) {
	db := postgresSchema(t)
	blobURL, env, cfg, s3c := s3BlobURL(t)
	key, _ := newKeyFile(t, t.TempDir(), "signing-key.pem")
	args := []string{"--database", db, "--blobs", blobURL, "--signing-key", key}
	a := testserver.StartProcessEnv(t, "", env, args...)
	b := testserver.StartProcessEnv(t, "", env, args...)
	calls := makeCalls(81, 2)
	ids := ingestAll(t, sdk(t, a), calls)
	wav := wavBytes(t, calls[0])
	sum := sha256.Sum256(wav)
	hexsum := hex.EncodeToString(sum[:])
	objKey := cfg.Prefix + "/" + hexsum[:2] + "/" + hexsum
	vs, err := s3c.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: &cfg.Bucket, Prefix: &objKey})
	if err != nil || len(vs.Versions) != 1 {
		t.Fatalf("versions of %s: %+v, %v; want exactly one", objKey, vs, err)
	}
	version := vs.Versions[0].VersionId
	legalHold := func() types.ObjectLockLegalHoldStatus {
		out, err := s3c.GetObjectLegalHold(t.Context(), &s3.GetObjectLegalHoldInput{Bucket: &cfg.Bucket, Key: &objKey, VersionId: version})
		if err != nil || out.LegalHold == nil {
			return types.ObjectLockLegalHoldStatusOff
		}
		return out.LegalHold.Status
	}

	r := do(t, a.URL, testserver.AdminToken, http.MethodPost, "/api/v2/recordings/legalholds", perRecordingBody(ids[0]))
	wantStatus(t, "hold on A", r, http.StatusOK)
	var res holdResults
	if err := json.Unmarshal(r.Body, &res); err != nil || len(res.Results) != 1 {
		t.Fatalf("hold answer %s", r.Body)
	}
	waitUntil(t, "the S3 legal hold is ON", 30*time.Second, func() bool { return legalHold() == types.ObjectLockLegalHoldStatusOn })
	if _, err := s3c.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: &cfg.Bucket, Key: &objKey, VersionId: version}); err == nil {
		t.Fatal("a versioned DeleteObject of a held recording's blob succeeded")
	}
	waitUntil(t, "nothing pending", 30*time.Second, func() bool {
		m := do(t, b.URL, "", http.MethodGet, "/metrics", nil)
		return strings.Contains(string(m.Body), "\nholdfast_object_lock_pending 0\n")
	})
	ready := do(t, b.URL, "", http.MethodGet, "/readyz", nil)
	if ready.Status != http.StatusOK || !strings.Contains(string(ready.Body), `"object_lock":"in force on bucket `+cfg.Bucket+`, 0 pending"`) {
		t.Errorf("/readyz on B = %d %s; want Object Lock in force, 0 pending", ready.Status, ready.Body)
	}

	rel := do(t, b.URL, testserver.AdminToken, http.MethodPost, "/api/v2/legalholds/"+res.Results[0].HoldID+"/release", `{"release_reason": "matter closed"}`)
	wantStatus(t, "release on B", rel, http.StatusOK)
	waitUntil(t, "the S3 legal hold is OFF after the last release", 30*time.Second, func() bool { return legalHold() == types.ObjectLockLegalHoldStatusOff })
	if got := legalHold(); got != types.ObjectLockLegalHoldStatusOff {
		t.Fatalf("legal hold after release = %s", got)
	}
	// The other recording was never held: its blob never got a legal hold.
	wav1 := wavBytes(t, calls[1])
	sum1 := sha256.Sum256(wav1)
	hex1 := hex.EncodeToString(sum1[:])
	k1 := cfg.Prefix + "/" + hex1[:2] + "/" + hex1
	if out, err := s3c.GetObjectLegalHold(t.Context(), &s3.GetObjectLegalHoldInput{Bucket: &cfg.Bucket, Key: &k1}); err == nil && out.LegalHold != nil && out.LegalHold.Status == types.ObjectLockLegalHoldStatusOn {
		t.Error("an unheld recording's blob carries a legal hold")
	}
}

// waitUntil polls cond every 100 ms until it holds or the timeout passes.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitProcessed waits until every recording left processing, allowing
// for a slow, shared machine (the jobs are claimed by any replica).
func waitProcessed(t *testing.T, c *client.Client, ids []string) {
	t.Helper()
	waitUntil(t, "every recording is processed", 3*time.Minute, func() bool {
		for _, id := range ids {
			r, err := c.GetRecording(t.Context(), id)
			if err != nil || r.Status == "processing" {
				return false
			}
		}
		return true
	})
}
