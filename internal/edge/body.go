package edge

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// ErrBodyTooSlow is returned by a request body read that waited longer
// than the minimum rate allows.
var ErrBodyTooSlow = errors.New("edge: the request body arrived slower than the minimum rate")

// SlowFunc answers a request whose body was too slow.
type SlowFunc func(w http.ResponseWriter, r *http.Request)

// LimitBodyRate bounds how long a request body may keep a connection:
// the connection's read deadline follows what the client sends (see
// [Limits].BodyWindow and BodyMinRate), so a large upload at any normal
// speed proceeds and a trickle, or a Content-Length the client never
// fills, is cut after one window. Only time spent waiting for the client
// counts, not time the handler spends between reads. When the body is cut,
// whatever the handler answers is replaced by slow's answer, and the
// connection is closed. now is the clock (time.Now in production).
func LimitBodyRate(next http.Handler, window time.Duration, minRate int64, now func() time.Time, slow SlowFunc) http.Handler {
	if window <= 0 || minRate <= 0 {
		return next
	}
	// The bytes the client must send within one window of waiting.
	quota := max(minRate*int64(window)/int64(time.Second), 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		// A handler that never reads the body still leaves net/http to
		// drain it after the answer; this deadline bounds that too.
		_ = rc.SetReadDeadline(now().Add(window))
		b := &rateBody{body: r.Body, rc: rc, window: window, quota: quota, now: now}
		sw := &slowWriter{ResponseWriter: w, b: b, r: r, slow: slow}
		r.Body = b
		next.ServeHTTP(sw, r)
		if b.tripped && !sw.wrote {
			sw.replace()
		}
	})
}

// rateBody is a request body whose reads carry the remaining deadline of
// the current window; a window ends when the client has sent its quota.
type rateBody struct {
	body    io.ReadCloser
	rc      *http.ResponseController
	window  time.Duration
	quota   int64
	now     func() time.Time
	waited  time.Duration
	got     int64
	tripped bool
}

func (b *rateBody) Read(p []byte) (int, error) {
	if b.tripped {
		return 0, ErrBodyTooSlow
	}
	start := b.now()
	_ = b.rc.SetReadDeadline(start.Add(b.window - b.waited))
	n, err := b.body.Read(p)
	b.waited += b.now().Sub(start)
	b.got += int64(n)
	if b.got >= b.quota {
		b.got, b.waited = 0, 0
	}
	var ne net.Error
	if err != nil && (errors.Is(err, ErrBodyTooSlow) || errors.As(err, &ne) && ne.Timeout()) {
		b.tripped = true
		return n, fmt.Errorf("%w: %w", ErrBodyTooSlow, err)
	}
	return n, err
}

func (b *rateBody) Close() error { return b.body.Close() }

// slowWriter replaces the handler's answer once the body was cut.
type slowWriter struct {
	http.ResponseWriter
	b        *rateBody
	r        *http.Request
	slow     SlowFunc
	wrote    bool // the handler's status line is out (or replaced)
	replaced bool
}

func (w *slowWriter) replace() {
	w.wrote, w.replaced = true, true
	h := w.ResponseWriter.Header()
	for k := range h {
		if k != "X-Request-Id" {
			delete(h, k)
		}
	}
	h.Set("Connection", "close")
	w.slow(w.ResponseWriter, w.r)
}

func (w *slowWriter) WriteHeader(code int) {
	if w.wrote || code < 200 {
		if !w.wrote {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	if w.b.tripped {
		w.replace()
		return
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *slowWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *slowWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
