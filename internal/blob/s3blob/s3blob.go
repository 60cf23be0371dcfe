// Package s3blob keeps holdfast's blobs in an S3 bucket (AWS S3 or any
// S3-compatible server such as versitygw or MinIO), so that several
// `holdfast serve` replicas share one blob store.
//
// It is for `holdfast serve --blobs s3://bucket/prefix?endpoint=…`, and for
// the Object Lock sync, which uses [Store.SetLegalHold] on the version a
// blob was written as. A blob's object key is
// `<prefix>/<first two hex digits>/<sha256 hex>` (contract §12), so
// operators and auditors can find a recording's bytes without holdfast.
//
// Credentials come from the standard AWS environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_REGION, shared config files).
package s3blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/holdfast/holdfast/internal/blob"
)

// Config locates a bucket and a key prefix in it.
type Config struct {
	Bucket string
	Prefix string // "" or a path without leading or trailing '/'
	// Endpoint is the server's base URL; "" means AWS itself.
	Endpoint string
	Region   string // "" means the AWS environment's region, else us-east-1
	// PathStyle addresses the bucket in the URL path instead of the host
	// name, as most S3-compatible servers need.
	PathStyle bool
	// PartSize is the multipart upload part size (default 16 MiB). Content
	// smaller than one part is sent in a single PutObject.
	PartSize int64
}

// ParseURL reads `s3://bucket/prefix?endpoint=URL&region=R&path_style=true`.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("s3blob: %q is not a URL: %w", raw, err)
	}
	if u.Scheme != "s3" || u.Host == "" {
		return Config{}, fmt.Errorf("s3blob: %q: want s3://bucket/prefix", raw)
	}
	c := Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	q := u.Query()
	for k := range q {
		switch k {
		case "endpoint", "region", "path_style":
		default:
			return Config{}, fmt.Errorf("s3blob: %q: unknown parameter %q (endpoint, region, path_style)", raw, k)
		}
	}
	c.Endpoint, c.Region = q.Get("endpoint"), q.Get("region")
	if c.Endpoint != "" {
		eu, err := url.Parse(c.Endpoint)
		if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" {
			return Config{}, fmt.Errorf("s3blob: endpoint %q: want http(s)://host:port", c.Endpoint)
		}
	}
	if ps := q.Get("path_style"); ps != "" {
		c.PathStyle, err = strconv.ParseBool(ps)
		if err != nil {
			return Config{}, fmt.Errorf("s3blob: path_style=%q: want true or false", ps)
		}
	}
	return c, nil
}

// NewClient builds an S3 client for c from the AWS environment. Request
// checksums are sent only where an operation requires one: the SDK's
// default CRC32 trailers on every upload are refused by some S3-compatible
// servers.
func NewClient(ctx context.Context, c Config) (*s3.Client, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3blob: load AWS config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.UsePathStyle = c.PathStyle
	}), nil
}

// Store is a [blob.Store] in one bucket under one prefix. It is safe for
// concurrent use.
type Store struct {
	client   *s3.Client
	bucket   string
	prefix   string // "" or ending in '/'
	partSize int64
}

var (
	_ blob.Store  = (*Store)(nil)
	_ blob.Walker = (*Store)(nil)
)

// Open connects to the bucket of c (the bucket must exist).
func Open(ctx context.Context, c Config) (*Store, error) {
	client, err := NewClient(ctx, c)
	if err != nil {
		return nil, err
	}
	return New(client, c), nil
}

// New wraps an existing client.
func New(client *s3.Client, c Config) *Store {
	s := &Store{client: client, bucket: c.Bucket, partSize: c.PartSize}
	if p := strings.Trim(c.Prefix, "/"); p != "" {
		s.prefix = p + "/"
	}
	if s.partSize <= 0 {
		s.partSize = 16 << 20
	}
	return s
}

// Client returns the S3 client, for callers that need more of S3.
func (s *Store) Client() *s3.Client { return s.client }

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// Prefix returns the key prefix ("" or ending in '/').
func (s *Store) Prefix() string { return s.prefix }

// Key returns the object key of the blob named sum.
func (s *Store) Key(sum string) string { return s.prefix + sum[:2] + "/" + sum }

// Put streams r into the bucket. Content that fits in one part is hashed
// in memory and written once under its final key; larger content is
// uploaded in parts under a temporary key while both digests are computed,
// then copied server-side to its final key, and the temporary object is
// removed. Either way the object version written is returned in
// Digests.Version.
func (s *Store) Put(ctx context.Context, r io.Reader, limit int64) (blob.Digests, error) {
	if limit > 0 {
		r = io.LimitReader(r, limit+1)
	}
	h := blob.NewHasher()
	buf := make([]byte, s.partSize)
	n, err := io.ReadFull(r, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return blob.Digests{}, fmt.Errorf("s3blob: put: read: %w", err)
	}
	h.Write(buf[:n])
	if limit > 0 && h.Digests().Size > limit {
		return blob.Digests{}, blob.ErrTooLarge
	}
	if err != nil { // the whole content fit in one part
		d := h.Digests()
		out, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: aws.String(s.Key(d.SHA256)),
			Body: bytes.NewReader(buf[:n]), ContentLength: aws.Int64(int64(n))})
		if err != nil {
			return blob.Digests{}, fmt.Errorf("s3blob: put %s: %w", d.SHA256, err)
		}
		d.Version = aws.ToString(out.VersionId)
		return d, nil
	}
	return s.putMultipart(ctx, r, limit, h, buf)
}

func (s *Store) putMultipart(ctx context.Context, r io.Reader, limit int64, h *blob.Hasher, first []byte) (blob.Digests, error) {
	tmp := s.prefix + ".tmp/" + randomHex()
	up, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &tmp})
	if err != nil {
		return blob.Digests{}, fmt.Errorf("s3blob: put: start multipart upload: %w", err)
	}
	completed := false
	defer func() {
		if !completed {
			_, _ = s.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &tmp, UploadId: up.UploadId})
		}
	}()
	var parts []types.CompletedPart
	buf := first
	for part := int32(1); ; part++ {
		pout, err := s.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: &s.bucket, Key: &tmp, UploadId: up.UploadId, PartNumber: aws.Int32(part),
			Body: bytes.NewReader(buf), ContentLength: aws.Int64(int64(len(buf)))})
		if err != nil {
			return blob.Digests{}, fmt.Errorf("s3blob: put: upload part %d: %w", part, err)
		}
		parts = append(parts, types.CompletedPart{ETag: pout.ETag, PartNumber: aws.Int32(part)})
		n, rerr := io.ReadFull(r, first[:cap(first)])
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return blob.Digests{}, fmt.Errorf("s3blob: put: read: %w", rerr)
		}
		h.Write(first[:n])
		if limit > 0 && h.Digests().Size > limit {
			return blob.Digests{}, blob.ErrTooLarge
		}
		if n == 0 {
			break
		}
		buf = first[:n]
	}
	cout, err := s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &s.bucket, Key: &tmp, UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		return blob.Digests{}, fmt.Errorf("s3blob: put: complete multipart upload: %w", err)
	}
	completed = true
	defer func() {
		// A versioned delete removes the temporary object itself, not
		// just its current version.
		_, _ = s.client.DeleteObject(context.WithoutCancel(ctx), &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &tmp, VersionId: cout.VersionId})
	}()
	d := h.Digests()
	cp, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &s.bucket, Key: aws.String(s.Key(d.SHA256)),
		CopySource: aws.String(url.PathEscape(s.bucket) + "/" + escapeKey(tmp))})
	if err != nil {
		return blob.Digests{}, fmt.Errorf("s3blob: put %s: copy into place: %w", d.SHA256, err)
	}
	d.Version = aws.ToString(cp.VersionId)
	return d, nil
}

func escapeKey(k string) string {
	parts := strings.Split(k, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// IsNotFound reports whether err is S3's answer for a missing object,
// version or bucket.
func IsNotFound(err error) bool {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == 404 {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NotFound", "NoSuchKey", "NoSuchVersion", "NoSuchBucket":
			return true
		}
	}
	return false
}

// Open opens the current version of a blob.
func (s *Store) Open(ctx context.Context, sum string) (blob.Object, error) {
	if !blob.ValidDigest(sum) {
		return nil, blob.ErrNotFound
	}
	key := s.Key(sum)
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if IsNotFound(err) {
		return nil, blob.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("s3blob: open %s: %w", sum, err)
	}
	return &object{ctx: ctx, s: s, key: key, version: head.VersionId, size: aws.ToInt64(head.ContentLength)}, nil
}

// object reads one object version with ranged GETs. It keeps the context
// of Open because io.Reader has no place for one; it is not safe for
// concurrent use except ReadAt.
type object struct {
	ctx     context.Context
	s       *Store
	key     string
	version *string
	size    int64
	off     int64
	body    io.ReadCloser
}

func (o *object) Size() int64 { return o.size }

func (o *object) get(start, end int64) (io.ReadCloser, error) {
	out, err := o.s.client.GetObject(o.ctx, &s3.GetObjectInput{Bucket: &o.s.bucket, Key: &o.key, VersionId: o.version,
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", start, end))})
	if err != nil {
		return nil, fmt.Errorf("s3blob: read %s: %w", o.key, err)
	}
	return out.Body, nil
}

func (o *object) Read(p []byte) (int, error) {
	if o.off >= o.size {
		return 0, io.EOF
	}
	if o.body == nil {
		b, err := o.get(o.off, o.size-1)
		if err != nil {
			return 0, err
		}
		o.body = b
	}
	n, err := o.body.Read(p)
	o.off += int64(n)
	if err == io.EOF && o.off < o.size {
		err = io.ErrUnexpectedEOF
	}
	if err == io.EOF || o.off >= o.size {
		o.body.Close()
		o.body = nil
		if err == nil && o.off >= o.size {
			return n, nil
		}
	}
	return n, err
}

func (o *object) ReadAt(p []byte, off int64) (int, error) {
	if off >= o.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), o.size)
	b, err := o.get(off, end-1)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	n, err := io.ReadFull(b, p[:end-off])
	if err != nil {
		return n, fmt.Errorf("s3blob: read %s: %w", o.key, err)
	}
	if end-off < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

func (o *object) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = o.off + offset
	case io.SeekEnd:
		abs = o.size + offset
	default:
		return 0, errors.New("s3blob: seek: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("s3blob: seek: negative position")
	}
	if abs != o.off && o.body != nil {
		o.body.Close()
		o.body = nil
	}
	o.off = abs
	return abs, nil
}

func (o *object) Close() error {
	if o.body != nil {
		err := o.body.Close()
		o.body = nil
		return err
	}
	return nil
}

// Delete removes every version of a blob, so its bytes are gone, not
// hidden behind a delete marker. It never tries to delete a version whose
// legal hold is on: it leaves those and returns [blob.ErrLocked] after
// removing the others. A version under retention is refused by S3; Delete
// returns that error.
func (s *Store) Delete(ctx context.Context, sum string) error {
	if !blob.ValidDigest(sum) {
		return nil
	}
	key := s.Key(sum)
	versions, err := s.Versions(ctx, sum)
	if err != nil {
		return err
	}
	var firstErr error
	for _, v := range versions {
		if !v.DeleteMarker {
			held, err := s.LegalHold(ctx, sum, v.ID)
			if err != nil {
				return err
			}
			if held {
				if firstErr == nil {
					firstErr = fmt.Errorf("s3blob: delete %s version %s: %w", sum, v.ID, blob.ErrLocked)
				}
				continue
			}
		}
		_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key, VersionId: nilIfEmpty(v.ID)})
		if err != nil && !IsNotFound(err) && firstErr == nil {
			firstErr = fmt.Errorf("s3blob: delete %s version %s: %w", sum, v.ID, err)
		}
	}
	if len(versions) == 0 {
		if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil && !IsNotFound(err) {
			return fmt.Errorf("s3blob: delete %s: %w", sum, err)
		}
	}
	return firstErr
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Version is one stored version of a blob's object (or a delete marker).
type Version struct {
	ID           string
	DeleteMarker bool
	Latest       bool
	Modified     time.Time
}

// Versions lists the versions of a blob's object, newest first; an
// unversioned bucket has at most one, with ID "null" or "".
func (s *Store) Versions(ctx context.Context, sum string) ([]Version, error) {
	key := s.Key(sum)
	out, err := s.client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &s.bucket, Prefix: &key})
	if err != nil {
		return nil, fmt.Errorf("s3blob: list versions of %s: %w", sum, err)
	}
	var vs []Version
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == key {
			vs = append(vs, Version{ID: aws.ToString(v.VersionId), Latest: aws.ToBool(v.IsLatest), Modified: aws.ToTime(v.LastModified)})
		}
	}
	for _, m := range out.DeleteMarkers {
		if aws.ToString(m.Key) == key {
			vs = append(vs, Version{ID: aws.ToString(m.VersionId), DeleteMarker: true, Latest: aws.ToBool(m.IsLatest), Modified: aws.ToTime(m.LastModified)})
		}
	}
	return vs, nil
}

// ObjectLockEnabled reports whether the bucket has Object Lock enabled,
// so legal holds can be set on its object versions.
func (s *Store) ObjectLockEnabled(ctx context.Context) (bool, error) {
	out, err := s.client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &s.bucket})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ObjectLockConfigurationNotFoundError" {
			return false, nil
		}
		return false, fmt.Errorf("s3blob: object lock configuration of %s: %w", s.bucket, err)
	}
	return out.ObjectLockConfiguration != nil && out.ObjectLockConfiguration.ObjectLockEnabled == types.ObjectLockEnabledEnabled, nil
}

// Ping checks that the bucket answers.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		return fmt.Errorf("s3blob: bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Walk lists every blob under the prefix with its last-modified time.
func (s *Store) Walk(ctx context.Context, fn func(sha256 string, stored time.Time) error) error {
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("s3blob: walk: %w", err)
		}
		for _, o := range page.Contents {
			rest := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
			dir, sum, ok := strings.Cut(rest, "/")
			if !ok || !blob.ValidDigest(sum) || dir != sum[:2] {
				continue
			}
			if err := fn(sum, aws.ToTime(o.LastModified)); err != nil {
				return err
			}
		}
	}
	return nil
}

// SetLegalHold turns the S3 legal hold of one version of a blob on or off.
// It is idempotent.
func (s *Store) SetLegalHold(ctx context.Context, sum, version string, on bool) error {
	st := types.ObjectLockLegalHoldStatusOff
	if on {
		st = types.ObjectLockLegalHoldStatusOn
	}
	_, err := s.client.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: &s.bucket, Key: aws.String(s.Key(sum)), VersionId: nilIfEmpty(version),
		LegalHold: &types.ObjectLockLegalHold{Status: st}})
	if err != nil {
		return fmt.Errorf("s3blob: legal hold %s version %s: %w", sum, version, err)
	}
	return nil
}

// LegalHold reports whether one version of a blob has its legal hold on.
func (s *Store) LegalHold(ctx context.Context, sum, version string) (bool, error) {
	out, err := s.client.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: &s.bucket, Key: aws.String(s.Key(sum)), VersionId: nilIfEmpty(version)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchObjectLockConfiguration" {
			return false, nil
		}
		return false, fmt.Errorf("s3blob: get legal hold %s version %s: %w", sum, version, err)
	}
	return out.LegalHold != nil && out.LegalHold.Status == types.ObjectLockLegalHoldStatusOn, nil
}

// UploadTreeParams place a directory's files under Bucket/Prefix with an
// optional Object Lock on every object.
type UploadTreeParams struct {
	Bucket      string
	Prefix      string // no trailing '/'
	LegalHold   bool
	Mode        string    // "", "COMPLIANCE" or "GOVERNANCE"
	RetainUntil time.Time // with Mode
}

// UploadTree writes every regular file under dir to p.Bucket at
// p.Prefix/<path relative to dir>, each with the requested legal hold and
// retention, and returns how many objects it wrote. Objects are sent with
// a SHA-256 checksum, which S3 requires of writes with Object Lock
// settings. Uploading the same tree again writes new versions.
func (s *Store) UploadTree(ctx context.Context, dir string, p UploadTreeParams) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		in := &s3.PutObjectInput{Bucket: &p.Bucket, Key: aws.String(p.Prefix + "/" + filepath.ToSlash(rel)), Body: f,
			ContentLength: aws.Int64(info.Size()), ChecksumAlgorithm: types.ChecksumAlgorithmSha256}
		if p.LegalHold {
			in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn
		}
		if p.Mode != "" {
			in.ObjectLockMode = types.ObjectLockMode(p.Mode)
			in.ObjectLockRetainUntilDate = aws.Time(p.RetainUntil)
		}
		if _, err := s.client.PutObject(ctx, in); err != nil {
			return fmt.Errorf("put %s: %w", *in.Key, err)
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("s3blob: upload %s to s3://%s/%s: %w", dir, p.Bucket, p.Prefix, err)
	}
	return n, nil
}

// BucketExists reports whether this store's credentials reach bucket.
func (s *Store) BucketExists(ctx context.Context, bucket string) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err != nil {
		return fmt.Errorf("s3blob: bucket %s: %w", bucket, err)
	}
	return nil
}
