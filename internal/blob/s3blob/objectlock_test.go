package s3blob_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/holdfast/holdfast/internal/blob"
)

// TestObjectLockGuarantees checks the Object Lock behaviour holdfast builds
// on: a version under legal hold cannot be deleted by a versioned delete,
// the hold can be read back and turned off, and then the delete succeeds;
// a version with a COMPLIANCE retention date in the future cannot be
// deleted either.
func TestObjectLockGuarantees(t *testing.T) {
	s, client := open(t, 5<<20)
	ctx := t.Context()
	d, err := s.Put(ctx, bytes.NewReader([]byte("evidence")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetLegalHold(ctx, d.SHA256, d.Version, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLegalHold(ctx, d.SHA256, d.Version, true); err != nil {
		t.Fatalf("setting the same hold again: %v", err)
	}
	if on, err := s.LegalHold(ctx, d.SHA256, d.Version); err != nil || !on {
		t.Fatalf("LegalHold = %v, %v; want on", on, err)
	}
	key := s.Key(d.SHA256)
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket()), Key: &key, VersionId: &d.Version}); err == nil {
		t.Fatal("versioned delete of a version under legal hold succeeded")
	}
	if err := s.Delete(ctx, d.SHA256); !errors.Is(err, blob.ErrLocked) {
		t.Fatalf("Store.Delete of a held version = %v, want blob.ErrLocked", err)
	}
	if vs, err := s.Versions(ctx, d.SHA256); err != nil || len(vs) != 1 || vs[0].ID != d.Version {
		t.Fatalf("after Delete refused, versions = %+v, %v; want the held version alone", vs, err)
	}
	if err := s.SetLegalHold(ctx, d.SHA256, d.Version, false); err != nil {
		t.Fatal(err)
	}
	if on, err := s.LegalHold(ctx, d.SHA256, d.Version); err != nil || on {
		t.Fatalf("LegalHold after release = %v, %v; want off", on, err)
	}
	if err := s.Delete(ctx, d.SHA256); err != nil {
		t.Fatalf("delete after the hold was released: %v", err)
	}
	if vs, err := s.Versions(ctx, d.SHA256); err != nil || len(vs) != 0 {
		t.Fatalf("versions after delete = %+v, %v; want none", vs, err)
	}

	retKey := "retained/object"
	out, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket()), Key: &retKey, Body: bytes.NewReader([]byte("x")),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(time.Hour)),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket()), Key: &retKey, VersionId: out.VersionId}); err == nil {
		t.Fatal("versioned delete of a version under COMPLIANCE retention succeeded")
	}
}

// TestVersitygwKnownGaps records two ways versitygw v1.8.0 differs from
// AWS S3, which holdfast must not build on: (1) a version with legal hold
// ON becomes deletable once a retention date on it has passed, and (2) a
// bucket's default retention is not written onto new objects. holdfast
// therefore never relies on retention to keep a held blob (the legal hold
// alone must, and the blob sweep never tries to delete a version whose
// legal hold is on), and the s3 export destination sets retention on each
// object explicitly. The test logs what the server does; it fails only if
// the server breaks the part holdfast does rely on.
func TestVersitygwKnownGaps(t *testing.T) {
	s, client := open(t, 5<<20)
	ctx := t.Context()
	bucket := aws.String(s.Bucket())

	key := "gap1/object"
	out, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: &key, Body: bytes.NewReader([]byte("x")),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(2 * time.Second)),
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn, ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: &key, VersionId: out.VersionId}); err == nil {
		t.Fatal("a version under legal hold and unexpired retention was deleted")
	}
	time.Sleep(3 * time.Second)
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: &key, VersionId: out.VersionId}); err == nil {
		t.Logf("gap 1 present: a version with legal hold ON was deleted once its retention expired")
	} else {
		t.Logf("gap 1 absent: legal hold ON still refused the delete after retention expired (%v)", err)
	}

	if _, err := client.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: bucket,
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)}}}}); err != nil {
		t.Fatalf("set default retention: %v", err)
	}
	key2 := "gap2/object"
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: &key2, Body: bytes.NewReader([]byte("y")), ChecksumAlgorithm: types.ChecksumAlgorithmSha256}); err != nil {
		t.Fatal(err)
	}
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: &key2})
	if err != nil {
		t.Fatal(err)
	}
	if head.ObjectLockMode == "" && head.ObjectLockRetainUntilDate == nil {
		t.Logf("gap 2 present: the bucket's default retention was not written onto a new object")
	} else {
		t.Logf("gap 2 absent: new object carries %s until %v", head.ObjectLockMode, head.ObjectLockRetainUntilDate)
	}
}
