package e2e_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/blob/s3blob/s3test"
	"github.com/holdfast/holdfast/internal/testserver"
)

// TestS3DestinationWithObjectLock exports to an s3 destination with a
// COMPLIANCE retention: every object of the bag carries that retention
// and a versioned delete of any of them is refused. A destination that
// overlaps the blob store's bucket and prefix, or whose retention date
// has passed, is a validation_failed.
func TestS3DestinationWithObjectLock(t *testing.T) {
	blobURL, env, blobCfg, _ := s3BlobURL(t)
	destCfg, s3c := s3test.Bucket(t)
	srv := testserver.StartProcessEnv(t, "", env, "--blobs", blobURL)
	c := sdk(t, srv)
	ids := ingestAll(t, c, makeCalls(131, 3))
	waitProcessed(t, c, ids)

	for _, tc := range []struct {
		name string
		dest map[string]any
		want string
	}{
		{"the blob store's bucket, no prefix", map[string]any{"type": "s3", "bucket": blobCfg.Bucket}, "destination.prefix:overlaps_blob_store"},
		{"inside the blob store's prefix", map[string]any{"type": "s3", "bucket": blobCfg.Bucket, "prefix": blobCfg.Prefix + "/exports"}, "destination.prefix:overlaps_blob_store"},
		{"retention in the past", map[string]any{"type": "s3", "bucket": destCfg.Bucket, "object_lock": map[string]any{"mode": "COMPLIANCE", "retain_until": "2020-01-01T00:00:00Z"}}, "destination.object_lock.retain_until:invalid"},
		{"mode without a date", map[string]any{"type": "s3", "bucket": destCfg.Bucket, "object_lock": map[string]any{"mode": "COMPLIANCE"}}, "destination.object_lock.retain_until:required"},
	} {
		r := do(t, srv.URL, testserver.AdminToken, http.MethodPost, "/api/v2/bulk/recordingexports", map[string]any{"filter": map[string]any{"record_ids": ids}, "destination": tc.dest})
		p := wantProblem(t, tc.name, r, http.StatusBadRequest, "validation_failed")
		found := false
		for _, e := range p.Errors {
			if e.Field+":"+e.Code == tc.want {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: errors %+v lack %s", tc.name, p.Errors, tc.want)
		}
	}

	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	r := do(t, srv.URL, testserver.AdminToken, http.MethodPost, "/api/v2/bulk/recordingexports", map[string]any{
		"filter":      map[string]any{"record_ids": ids},
		"destination": map[string]any{"type": "s3", "bucket": destCfg.Bucket, "prefix": "exports", "object_lock": map[string]any{"mode": "COMPLIANCE", "retain_until": until.Format(time.RFC3339)}},
	})
	wantStatus(t, "export to s3", r, http.StatusAccepted)
	var job client.ExportJob
	if err := json.Unmarshal(r.Body, &job); err != nil {
		t.Fatal(err)
	}
	var done client.ExportJob
	waitUntil(t, "the export finished", 60*time.Second, func() bool {
		var err error
		done, err = c.GetExport(t.Context(), job.ID)
		return err == nil && done.Finished()
	})
	if done.State != "completed" || done.Package == nil || !strings.HasPrefix(done.Package.Location, "s3://"+destCfg.Bucket+"/exports/") {
		t.Fatalf("export: state %s, package %+v, error %q", done.State, done.Package, done.Error)
	}
	prefix := "exports/" + done.Package.Name + "/"
	list, err := s3c.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: &destCfg.Bucket, Prefix: &prefix})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	for _, v := range list.Versions {
		files[strings.TrimPrefix(aws.ToString(v.Key), prefix)] = true
		head, err := s3c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &destCfg.Bucket, Key: v.Key, VersionId: v.VersionId})
		if err != nil {
			t.Fatal(err)
		}
		if head.ObjectLockMode != types.ObjectLockModeCompliance || head.ObjectLockRetainUntilDate == nil || !head.ObjectLockRetainUntilDate.Equal(until) {
			t.Errorf("%s: lock %s until %v; want COMPLIANCE until %v", aws.ToString(v.Key), head.ObjectLockMode, head.ObjectLockRetainUntilDate, until)
		}
		if _, err := s3c.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: &destCfg.Bucket, Key: v.Key, VersionId: v.VersionId}); err == nil {
			t.Errorf("a versioned delete of %s succeeded", aws.ToString(v.Key))
		}
	}
	for _, f := range []string{"bagit.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "data/index.csv", "custody/custody.json"} {
		if !files[f] {
			t.Errorf("the bag in S3 lacks %s; it has %v", f, files)
		}
	}
	if n := len(files); n < 3+5 {
		t.Errorf("the bag in S3 has %d objects, want at least the 3 recordings and the tag files", n)
	}
}
