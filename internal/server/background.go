package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/holdfast/holdfast/internal/blob/s3blob"
	"github.com/holdfast/holdfast/internal/httpapi"
	"github.com/holdfast/holdfast/internal/jobs"
	"github.com/holdfast/holdfast/internal/objectlock"
	"github.com/holdfast/holdfast/internal/scrub"
	"github.com/holdfast/holdfast/internal/vault"
)

// objectLockEvery is how often the Object Lock sync runs: a hold's S3
// legal hold is set within about this long of the hold's commit.
const objectLockEvery = time.Second

// wireObjectLock registers the Object Lock sync when blobs live in an S3
// bucket with Object Lock enabled, the holdfast_object_lock_pending gauge,
// and the object_lock /readyz check, which says whether Object Lock is in
// force and how many blob versions are not yet in line.
func (a *App) wireObjectLock(ctx context.Context, reg *prometheus.Registry) ([]httpapi.ReadyCheck, error) {
	s3, ok := a.Blobs.(*s3blob.Store)
	if !ok {
		return []httpapi.ReadyCheck{{Name: "object_lock", Check: func(context.Context) (string, error) {
			return "not in force: blobs are not in S3", nil
		}}}, nil
	}
	enabled, err := s3.ObjectLockEnabled(ctx)
	if err != nil {
		return nil, err
	}
	if !enabled {
		a.log.Warn("the S3 bucket does not have Object Lock enabled; holds are enforced by holdfast alone", "bucket", s3.Bucket())
		return []httpapi.ReadyCheck{{Name: "object_lock", Check: func(context.Context) (string, error) {
			return "not in force: Object Lock is not enabled on bucket " + s3.Bucket(), nil
		}}}, nil
	}
	sync := &objectlock.Syncer{Store: a.db, Locker: s3, Logger: a.log}
	a.Jobs.Register(jobs.KindSyncObjectLocks, sync, 1)
	a.Jobs.Every(jobs.KindSyncObjectLocks, objectLockEvery)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "holdfast_object_lock_pending", Help: "Blob versions whose S3 legal hold is not yet in line with the holds in the database.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := sync.Pending(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
	return []httpapi.ReadyCheck{{Name: "object_lock", Check: func(ctx context.Context) (string, error) {
		n, err := sync.Pending(ctx)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("in force on bucket %s, %d pending", s3.Bucket(), n), nil
	}}}, nil
}

// wireScrub registers the scrub job when cfg.ScrubRate > 0, the
// holdfast_scrub_mismatches gauge and the scrub /readyz check.
func (a *App) wireScrub(reg *prometheus.Registry) []httpapi.ReadyCheck {
	if a.cfg.ScrubRate <= 0 {
		return nil
	}
	w := &scrub.Worker{Store: a.db, Blobs: a.Blobs, Clock: a.cfg.Clock, Rate: a.cfg.ScrubRate, Logger: a.log}
	a.Jobs.Register(jobs.KindScrubBlobs, w, 1)
	a.Jobs.Every(jobs.KindScrubBlobs, scrub.Every)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "holdfast_scrub_mismatches", Help: "Recordings whose stored blob no longer hashes to its ingest SHA-256.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ms, err := a.db.ScrubMismatches(ctx)
		if err != nil {
			return -1
		}
		return float64(len(ms))
	}))
	return []httpapi.ReadyCheck{{Name: "scrub", Check: func(ctx context.Context) (string, error) { return scrub.Status(ctx, a.db) }}}
}

// s3Destination writes export bags to S3 destinations with the blob
// store's connection, and vets destinations before a job is created.
type s3Destination struct {
	blobs *s3blob.Store
	clock interface{ Now() time.Time }
}

// UploadBag writes the sealed bag under bucket/prefix/name with the
// destination's Object Lock on every object.
func (d s3Destination) UploadBag(ctx context.Context, dir, name string, dest vault.Destination) (string, error) {
	prefix := name
	if dest.Prefix != "" {
		prefix = dest.Prefix + "/" + name
	}
	p := s3blob.UploadTreeParams{Bucket: dest.Bucket, Prefix: prefix}
	if l := dest.ObjectLock; l != nil {
		p.LegalHold = l.LegalHold
		if l.Mode != "" && l.RetainUntil != nil {
			p.Mode, p.RetainUntil = l.Mode, *l.RetainUntil
		}
	}
	if _, err := d.blobs.UploadTree(ctx, dir, p); err != nil {
		return "", err
	}
	return "s3://" + dest.Bucket + "/" + prefix + "/", nil
}

// check refuses a destination that overlaps the blob store's bucket and
// prefix (§7), whose retention date has passed, or whose bucket this
// server cannot reach.
func (d s3Destination) check(dest vault.Destination) error {
	var errs []vault.FieldError
	blobPrefix := strings.TrimSuffix(d.blobs.Prefix(), "/")
	if dest.Bucket == d.blobs.Bucket() && prefixesOverlap(dest.Prefix, blobPrefix) {
		errs = append(errs, vault.FieldError{Field: "destination.prefix", Code: "overlaps_blob_store",
			Message: fmt.Sprintf("s3://%s/%s overlaps the blob store s3://%s/%s; choose another bucket or a prefix outside %q", dest.Bucket, dest.Prefix, d.blobs.Bucket(), blobPrefix, blobPrefix)})
	}
	if l := dest.ObjectLock; l != nil && l.RetainUntil != nil && !l.RetainUntil.After(d.clock.Now()) {
		errs = append(errs, vault.FieldError{Field: "destination.object_lock.retain_until", Code: "invalid",
			Message: "must be in the future, e.g. " + d.clock.Now().AddDate(7, 0, 0).Format(time.RFC3339)})
	}
	if len(errs) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.blobs.BucketExists(ctx, dest.Bucket); err != nil {
			errs = append(errs, vault.FieldError{Field: "destination.bucket", Code: "unreachable", Message: "this server cannot reach the bucket: " + err.Error()})
		}
	}
	if len(errs) > 0 {
		return &vault.ValidationError{Errors: errs}
	}
	return nil
}

// prefixesOverlap reports whether one key prefix contains the other, by
// whole path segments ("" contains everything).
func prefixesOverlap(a, b string) bool {
	a, b = strings.Trim(a, "/"), strings.Trim(b, "/")
	if a == "" || b == "" || a == b {
		return true
	}
	return strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}
