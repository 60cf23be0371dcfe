package vault

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestDecodeS3Destination(t *testing.T) {
	for _, tc := range []struct {
		name string
		dest string
		want []string // field:code, or none
	}{
		{"full", `{"type":"s3","bucket":"evidence-exports","prefix":"/holdfast/exports/","object_lock":{"mode":"compliance","retain_until":"2033-01-01T00:00:00Z","legal_hold":true}}`, nil},
		{"bucket missing", `{"type":"s3"}`, []string{"destination.bucket:required"}},
		{"bad bucket", `{"type":"s3","bucket":"Evidence_Exports"}`, []string{"destination.bucket:invalid"}},
		{"dot-dot prefix", `{"type":"s3","bucket":"b-1","prefix":"a/../b"}`, []string{"destination.prefix:invalid"}},
		{"mode without date", `{"type":"s3","bucket":"b-1","object_lock":{"mode":"GOVERNANCE"}}`, []string{"destination.object_lock.retain_until:required"}},
		{"date without mode", `{"type":"s3","bucket":"b-1","object_lock":{"retain_until":"2033-01-01T00:00:00Z"}}`, []string{"destination.object_lock.mode:required"}},
		{"bad mode and unknown member", `{"type":"s3","bucket":"b-1","object_lock":{"mode":"forever","retain_until":"2033-01-01T00:00:00Z","x":1}}`,
			[]string{"destination.object_lock.mode:invalid_enum", "destination.object_lock.x:unknown_field"}},
	} {
		req, err := DecodeExportRequest([]byte(`{"filter":{"media_type":"SIP"},"destination":`+tc.dest+`}`), nil)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			d := req.Destination
			want := time.Date(2033, 1, 1, 0, 0, 0, 0, time.UTC)
			if d.Bucket != "evidence-exports" || d.Prefix != "holdfast/exports" || d.ObjectLock == nil || d.ObjectLock.Mode != "COMPLIANCE" ||
				!d.ObjectLock.LegalHold || d.ObjectLock.RetainUntil == nil || !d.ObjectLock.RetainUntil.Equal(want) {
				t.Errorf("%s: destination %+v (lock %+v)", tc.name, d, d.ObjectLock)
			}
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: err = %v, want a validation error", tc.name, err)
			continue
		}
		var got []string
		for _, e := range ve.Errors {
			got = append(got, e.Field+":"+e.Code)
		}
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: errors %v lack %s", tc.name, got, w)
			}
		}
	}
}
