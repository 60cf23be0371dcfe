package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestCheckRange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		h    string
		size int64
		why  string
	}{
		{"", 100, ""},
		{"bytes=0-99", 100, ""},
		{"bytes=0-9,20-29", 100, ""},
		{"bytes=-10", 100, ""},
		{"bytes=90-", 100, ""},
		{"bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,24-24,26-26,28-28,30-30", 100, ""},
		{"bytes=-0", 100, "it selects no bytes"},
		{"bytes=-0", 0, "it selects no bytes"},
		{"bytes=-5", 0, "it selects no bytes"},
		{"bytes=200-", 100, "it selects no bytes"},
		{"bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,24-24,26-26,28-28,30-30,32-32", 100, "it asks for more than 16 ranges"},
		{"bytes=0-10,5-20", 100, "its ranges overlap"},
		{"bytes=0-,0-", 100, "its ranges overlap"},
		{"bytes=-50,0-60", 100, "its ranges overlap"},
		{"bytes=10-19,0-9", 100, ""},
		// Malformed headers are ServeContent's to refuse.
		{"bytes=oops", 100, ""},
		{"items=0-1", 100, ""},
	} {
		if got := checkRange(tc.h, tc.size); got != tc.why {
			t.Errorf("checkRange(%q, %d) = %q, want %q", tc.h, tc.size, got, tc.why)
		}
	}
}

// FuzzServeRange serves content of any size with any Range header: the
// answer is 200, 206 or a 416 problem with Content-Range, and never more
// than the content plus a bounded amount of multipart framing.
func FuzzServeRange(f *testing.F) {
	f.Add("bytes=0-9,20-29", 100)
	f.Add("bytes=-0", 100)
	f.Add("bytes=0-0,1-1,2-2,3-3", 4)
	f.Add("bytes=0-,0-,0-", 1000)
	f.Add("bytes=-1,-1", 10)
	f.Fuzz(func(t *testing.T, h string, size int) {
		if size < 0 || size > 1<<12 {
			return
		}
		content := bytes.Repeat([]byte("a"), size)
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.Header.Set("Range", h)
		w := httptest.NewRecorder()
		if err := serveContent(w, r, time.Unix(0, 0), bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		switch w.Code {
		case http.StatusOK, http.StatusPartialContent:
			if w.Body.Len() > size+maxRanges*256 {
				t.Fatalf("Range %q on %d bytes: %d bytes answered", h, size, w.Body.Len())
			}
		case http.StatusRequestedRangeNotSatisfiable:
			if w.Header().Get("Content-Type") != "application/problem+json" || w.Header().Get("Content-Range") == "" {
				t.Fatalf("416 without a problem or Content-Range: %v", w.Header())
			}
		default:
			t.Fatalf("Range %q: status %d", h, w.Code)
		}
	})
}
