package httpapi

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serveContent is http.ServeContent (Range, If-Range, conditional
// requests) with one change: an unsatisfiable Range is answered with a
// problem document like every other error, not ServeContent's plain text.
func serveContent(w http.ResponseWriter, r *http.Request, modtime time.Time, content io.ReadSeeker) {
	size, err := content.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = content.Seek(0, io.SeekStart)
	}
	if err != nil {
		writeProblem(w, r, newProblem(http.StatusServiceUnavailable, "unavailable", "the content could not be read; retry after the delay in Retry-After").withRetryAfter(5*time.Second))
		return
	}
	http.ServeContent(&rangeProblemWriter{ResponseWriter: w, r: r, size: size}, r, "", modtime, content)
}

type rangeProblemWriter struct {
	http.ResponseWriter
	r          *http.Request
	size       int64
	suppressed bool
}

func (w *rangeProblemWriter) WriteHeader(code int) {
	if code == http.StatusRequestedRangeNotSatisfiable {
		w.suppressed = true
		h := w.ResponseWriter.Header()
		h.Del("Content-Length")
		h.Del("X-Content-Type-Options")
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(w.size, 10))
		writeProblem(w.ResponseWriter, w.r, newProblem(code, "range_not_satisfiable",
			"the Range "+strings.TrimSpace(w.r.Header.Get("Range"))+" is malformed or lies outside the content of "+strconv.FormatInt(w.size, 10)+" bytes"))
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *rangeProblemWriter) Write(b []byte) (int, error) {
	if w.suppressed {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}
