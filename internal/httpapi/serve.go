package httpapi

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"
)

// serveContent is http.ServeContent (Range, If-Range, conditional
// requests) with two changes: a Range that selects nothing, has more than
// maxRanges ranges or overlapping ones is refused (see checkRange), and
// an unsatisfiable Range is answered with a problem document like every
// other error, not ServeContent's plain text. An error means the content
// could not be measured, and nothing was written.
func serveContent(w http.ResponseWriter, r *http.Request, modtime time.Time, content io.ReadSeeker) error {
	size, err := content.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = content.Seek(0, io.SeekStart)
	}
	if err != nil {
		return fmt.Errorf("httpapi: content size: %w", err)
	}
	rw := &rangeProblemWriter{ResponseWriter: w, r: r, size: size}
	if why := checkRange(r.Header.Get("Range"), size); why != "" {
		rw.reason = why
		rw.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return nil
	}
	http.ServeContent(rw, r, "", modtime, content)
	return nil
}

// maxRanges is the most ranges one request may ask for. With no overlaps
// allowed, a multipart answer is then at most the content plus a few KiB
// of part headers, never many times the content.
const maxRanges = 16

// checkRange says why a Range header of a GET for content of size bytes
// cannot be served ("" if it can, or if there is none). It refuses what
// http.ServeContent would serve but should not: a range that selects
// nothing (bytes=-0), more than maxRanges ranges, and overlapping ranges.
// Malformed headers are left to ServeContent, which refuses them too.
func checkRange(h string, size int64) string {
	if h == "" {
		return ""
	}
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return ""
	}
	type span struct{ start, end int64 } // [start, end)
	var spans []span
	n := 0
	for ra := range strings.SplitSeq(spec, ",") {
		ra = textproto.TrimString(ra)
		if ra == "" {
			continue
		}
		if n++; n > maxRanges {
			return "it asks for more than " + strconv.Itoa(maxRanges) + " ranges"
		}
		first, last, ok := strings.Cut(ra, "-")
		if !ok {
			return ""
		}
		first, last = textproto.TrimString(first), textproto.TrimString(last)
		if first == "" {
			suffix, err := strconv.ParseInt(last, 10, 64)
			if err != nil || suffix < 0 {
				return ""
			}
			if suffix > 0 && size > 0 {
				spans = append(spans, span{size - min(suffix, size), size})
			}
			continue
		}
		start, err := strconv.ParseInt(first, 10, 64)
		if err != nil || start < 0 {
			return ""
		}
		end := size
		if last != "" {
			e, err := strconv.ParseInt(last, 10, 64)
			if err != nil || e < start {
				return ""
			}
			end = min(e, size-1) + 1
		}
		if start < size {
			spans = append(spans, span{start, end})
		}
	}
	if len(spans) == 0 {
		return "it selects no bytes"
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			return "its ranges overlap"
		}
	}
	return ""
}

// rangeProblemWriter turns ServeContent's plain-text 416 into a problem.
type rangeProblemWriter struct {
	http.ResponseWriter
	r          *http.Request
	size       int64
	reason     string // why the Range was refused, if known
	suppressed bool
}

func (w *rangeProblemWriter) WriteHeader(code int) {
	if code == http.StatusRequestedRangeNotSatisfiable {
		w.suppressed = true
		h := w.ResponseWriter.Header()
		// The problem is not the representation: drop what describes it,
		// as ServeContent's own errors do.
		for _, k := range []string{"Content-Length", "X-Content-Type-Options", "Etag", "Last-Modified", "Accept-Ranges"} {
			h.Del(k)
		}
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(w.size, 10))
		why := w.reason
		if why == "" {
			why = "it is malformed or lies outside the content"
		}
		writeProblem(w.ResponseWriter, w.r, newProblem(code, "range_not_satisfiable",
			"the Range "+strings.TrimSpace(w.r.Header.Get("Range"))+" cannot be served: "+why+" (the content has "+strconv.FormatInt(w.size, 10)+" bytes)"))
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
