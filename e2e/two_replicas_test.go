package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

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
