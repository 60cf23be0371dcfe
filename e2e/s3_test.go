package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/holdfast/holdfast/internal/blob/s3blob"
	"github.com/holdfast/holdfast/internal/blob/s3blob/s3test"
	"github.com/holdfast/holdfast/internal/testserver"
)

// s3BlobURL creates a fresh bucket with Object Lock on the test S3 server
// and returns the --blobs URL for it, the environment a `holdfast serve`
// process needs to reach it, and a client for looking under holdfast.
func s3BlobURL(t *testing.T) (string, []string, s3blob.Config, *s3.Client) {
	t.Helper()
	cfg, client := s3test.Bucket(t)
	access, secret := s3test.Credentials()
	u := fmt.Sprintf("s3://%s/%s?endpoint=%s&region=us-east-1&path_style=true", cfg.Bucket, cfg.Prefix, url.QueryEscape(cfg.Endpoint))
	env := []string{"AWS_ACCESS_KEY_ID=" + access, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_REGION=us-east-1"}
	return u, env, cfg, client
}

// TestServeWithS3Blobs runs `holdfast serve --blobs s3://…`: recordings
// are stored under the documented key layout and served back intact.
func TestServeWithS3Blobs(t *testing.T) {
	u, env, cfg, s3c := s3BlobURL(t)
	srv := testserver.StartProcessEnv(t, "", env, "--blobs", u)
	c := sdk(t, srv)
	calls := makeCalls(91, 3)
	ids := ingestAll(t, c, calls)
	waitProcessed(t, c, ids)
	for i, id := range ids {
		wav := wavBytes(t, calls[i])
		sum := sha256.Sum256(wav)
		hexsum := hex.EncodeToString(sum[:])
		key := cfg.Prefix + "/" + hexsum[:2] + "/" + hexsum
		if _, err := s3c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &cfg.Bucket, Key: aws.String(key)}); err != nil {
			t.Errorf("recording %s: no object at %s: %v", id, key, err)
		}
		r := do(t, srv.URL, testserver.AdminToken, "GET", "/api/v2/recordings/"+id+"/media", nil)
		if r.Status != 200 || sha256.Sum256(r.Body) != sum {
			t.Errorf("recording %s: media answered %d with %d bytes, want 200 with the uploaded bytes", id, r.Status, len(r.Body))
		}
	}
	if r := do(t, srv.URL, "", "GET", "/readyz", nil); r.Status != 200 {
		t.Errorf("/readyz = %d %s", r.Status, r.Body)
	}
}
