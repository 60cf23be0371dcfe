// Package s3test gives tests a fresh bucket, with Object Lock enabled, on
// the local S3-compatible server that CI starts (versitygw).
//
// The server is found at HOLDFAST_TEST_S3_ENDPOINT (default
// http://127.0.0.1:7070) with the credentials in AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (defaults: the ones .ci/run starts it with).
// Without a server the test is skipped, unless CI=true, where it fails.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/holdfast/holdfast/internal/blob/s3blob"
)

// Default credentials of the local test server (.ci/run starts it with
// these); they protect nothing.
const (
	DefaultEndpoint  = "http://127.0.0.1:7070"
	DefaultAccessKey = "holdfast"
	DefaultSecretKey = "holdfast-secret"
)

// Env // returns its endpoint. It skips or fails (CI=true) when the
// server does not answer.
func Env(t testing.TB) string {
	t.Helper()
	ep := os.Getenv("HOLDFAST_TEST_S3_ENDPOINT")
	if ep == "" {
		ep = DefaultEndpoint
	}
	u, err := url.Parse(ep)
	if err != nil {
		t.Fatalf("HOLDFAST_TEST_S3_ENDPOINT=%q: %v", ep, err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("S3 at %s is unreachable (CI=true, so this fails instead of skipping): %v", ep, err)
		}
		t.Skipf("SKIP: S3 at %s is unreachable; start versitygw (see .ci/run) or set HOLDFAST_TEST_S3_ENDPOINT: %v", ep, err)
	}
	c.Close()
	return ep
}

// Credentials returns the test server's access key and secret: the AWS
// environment's if set, else the defaults .ci/run uses.
func Credentials() (access, secret string) {
	if k := os.Getenv("AWS_ACCESS_KEY_ID"); k != "" {
		return k, os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	return DefaultAccessKey, DefaultSecretKey
}

// Client returns a client of the test server for cfg.
func Client(cfg s3blob.Config) *s3.Client {
	access, secret := Credentials()
	return s3.New(s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(cfg.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(access, secret, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// Bucket creates a uniquely named bucket with Object Lock enabled (and so
// versioning) and returns its config (prefix "blobs") and a client. The
// bucket's objects are left to the server's temporary data directory:
// locked versions cannot be removed anyway.
func Bucket(t testing.TB) (s3blob.Config, *s3.Client) {
	t.Helper()
	ep := Env(t)
	var b [6]byte
	rand.Read(b[:])
	cfg := s3blob.Config{Bucket: "hf-" + hex.EncodeToString(b[:]), Prefix: "blobs", Endpoint: ep, Region: "us-east-1", PathStyle: true}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := Client(cfg)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &cfg.Bucket, ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatalf("create bucket %s: %v", cfg.Bucket, err)
	}
	if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &cfg.Bucket,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatalf("enable versioning on %s: %v", cfg.Bucket, err)
	}
	return cfg, client
}
