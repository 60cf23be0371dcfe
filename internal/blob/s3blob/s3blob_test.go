package s3blob_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/holdfast/holdfast/internal/blob"
	"github.com/holdfast/holdfast/internal/blob/blobtest"
	"github.com/holdfast/holdfast/internal/blob/s3blob"
	"github.com/holdfast/holdfast/internal/blob/s3blob/s3test"
)

func open(t *testing.T, partSize int64) (*s3blob.Store, *s3.Client) {
	t.Helper()
	cfg, client := s3test.Bucket(t)
	cfg.PartSize = partSize
	return s3blob.New(client, cfg), client
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, _ := open(t, 5<<20)
		return s
	})
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 9))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestMultipartLayoutAndVersion checks content larger than a part: both
// digests, the documented key layout, the version id returned, no
// temporary object left, and the size limit enforced mid-stream.
func TestMultipartLayoutAndVersion(t *testing.T) {
	s, client := open(t, 5<<20)
	ctx := t.Context()
	data := randomBytes(11<<20 + 3)
	d, err := s.Put(ctx, bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if d.SHA256 != hex.EncodeToString(sum[:]) || d.Size != int64(len(data)) || len(d.SHA512) != 128 {
		t.Fatalf("digests = %+v", d)
	}
	if d.Version == "" {
		t.Error("no version id returned on a versioned bucket")
	}
	key := "blobs/" + d.SHA256[:2] + "/" + d.SHA256
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket()), Key: &key})
	if err != nil {
		t.Fatalf("object not at the documented key %s: %v", key, err)
	}
	if aws.ToString(head.VersionId) != d.Version {
		t.Errorf("current version %q, Put returned %q", aws.ToString(head.VersionId), d.Version)
	}
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket())})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.Contents {
		if strings.Contains(aws.ToString(o.Key), ".tmp") {
			t.Errorf("temporary object left behind: %s", aws.ToString(o.Key))
		}
	}
	o, err := s.Open(ctx, d.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(o)
	o.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	if _, err := s.Put(ctx, bytes.NewReader(data), 7<<20); !errors.Is(err, blob.ErrTooLarge) {
		t.Errorf("multipart Put over the limit = %v, want ErrTooLarge", err)
	}
	var walked []string
	if err := s.Walk(ctx, func(sha string, stored time.Time) error { walked = append(walked, sha); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(walked) != 1 || walked[0] != d.SHA256 {
		t.Errorf("Walk = %v, want [%s]", walked, d.SHA256)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want s3blob.Config
		err  string
	}{
		{in: "s3://vault/holdfast/blobs?endpoint=http://127.0.0.1:7070&region=eu-west-1&path_style=true",
			want: s3blob.Config{Bucket: "vault", Prefix: "holdfast/blobs", Endpoint: "http://127.0.0.1:7070", Region: "eu-west-1", PathStyle: true}},
		{in: "s3://vault", want: s3blob.Config{Bucket: "vault"}},
		{in: "s3:///prefix", err: "want s3://bucket/prefix"},
		{in: "file:///x", err: "want s3://bucket/prefix"},
		{in: "s3://b?path_style=maybe", err: "path_style"},
		{in: "s3://b?endpoint=ftp://x", err: "endpoint"},
		{in: "s3://b?acl=public", err: "unknown parameter"},
	} {
		got, err := s3blob.ParseURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseURL(%q) = %+v, %v; want error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
