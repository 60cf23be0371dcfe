package httpapi

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// serveContent is http.ServeContent (Range, If-Range, conditional
// requests) with one change: an unsatisfiable Range is answered with a
// problem document like every other error, not ServeContent's plain text.
func serveContent(w http.ResponseWriter, r *http.Request, modtime time.Time, content io.ReadSeeker) {
	http.ServeContent(&rangeProblemWriter{ResponseWriter: w, r: r}, r, "", modtime, content)
}

type rangeProblemWriter struct {
	http.ResponseWriter
	r          *http.Request
	suppressed bool
}

func (w *rangeProblemWriter) WriteHeader(code int) {
	if code == http.StatusRequestedRangeNotSatisfiable {
		w.suppressed = true
		h := w.ResponseWriter.Header()
		h.Del("Content-Length")
		h.Del("X-Content-Type-Options")
		writeProblem(w.ResponseWriter, w.r, newProblem(code, "range_not_satisfiable",
			"the Range "+strings.TrimSpace(w.r.Header.Get("Range"))+" lies outside the content; the size is in Content-Range"))
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
