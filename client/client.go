// Package client is the Go SDK for the holdfast API: typed requests and
// responses for every endpoint, problem+json answers as [*Error], and a
// retry policy that handles the transient failures platforms produce.
//
// It is for compliance engineers who automate holds and discovery exports,
// and it is the only HTTP client inside holdfast: every command of the
// holdfast CLI talks to the server through it.
//
// # Retry policy
//
// A request is retried when the answer is transient: 409 with code
// recording_locked or idempotency_in_progress, 429, 502, 503 or 504, or a
// connection error. It is never retried on 400, 401, 403, 404 or 422, nor
// on any other answer. A POST is retried only when it carries an
// Idempotency-Key (the client always sends one when it creates an export
// job or ingests a recording), so a retry can never create a second
// resource; GET, HEAD and DELETE are retried freely. The hold calls send
// a key too: the server completes it with the hold it created
// (POST /api/v2/legalholds), and per-recording holds and releases are
// idempotent by nature (a repeat answers already_held).
//
// Between attempts the client waits with exponential backoff and full
// jitter: a random delay in [0, min(MaxDelay, BaseDelay·2^attempt)). When
// the server sends Retry-After (or X-Retry-After), as delay-seconds or an
// HTTP-date, the client waits that long instead, capped at MaxRetryAfter.
// Retrying stops after MaxAttempts attempts or when the overall Deadline
// (or the context) would pass. Each retry is logged at debug level with
// its reason.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// RetryPolicy configures retries; see the package documentation.
type RetryPolicy struct {
	MaxAttempts   int           // total attempts, including the first (default 8)
	BaseDelay     time.Duration // first backoff ceiling (default 250ms)
	MaxDelay      time.Duration // backoff ceiling (default 10s)
	MaxRetryAfter time.Duration // cap on a server's Retry-After (default 60s)
	Deadline      time.Duration // overall time budget per call (default 2m; 0 keeps the default, <0 none)
}

// DefaultRetryPolicy is used when no policy is given.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 8, BaseDelay: 250 * time.Millisecond, MaxDelay: 10 * time.Second, MaxRetryAfter: time.Minute, Deadline: 2 * time.Minute}
}

// Client talks to one holdfast server. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	token  string
	hc     *http.Client
	retry  RetryPolicy
	log    *slog.Logger
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	rngMu  sync.Mutex
	rng    *mrand.Rand
	uagent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the underlying *http.Client.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithRetryPolicy replaces the retry policy.
func WithRetryPolicy(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithLogger sets where retries are logged (at debug level).
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithSleep replaces the wait between attempts (for tests).
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = f }
}

// New returns a client for the server at baseURL using token.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: server URL %q must be http:// or https:// with a host", baseURL)
	}
	c := &Client{base: u, token: token, hc: &http.Client{Transport: defaultTransport()}, retry: DefaultRetryPolicy(), log: slog.New(slog.DiscardHandler),
		now: time.Now, rng: mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7)), uagent: "holdfast-client/1"}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	for _, o := range opts {
		o(c)
	}
	def := DefaultRetryPolicy()
	if c.retry.MaxAttempts <= 0 {
		c.retry.MaxAttempts = def.MaxAttempts
	}
	if c.retry.BaseDelay <= 0 {
		c.retry.BaseDelay = def.BaseDelay
	}
	if c.retry.MaxDelay <= 0 {
		c.retry.MaxDelay = def.MaxDelay
	}
	if c.retry.MaxRetryAfter <= 0 {
		c.retry.MaxRetryAfter = def.MaxRetryAfter
	}
	if c.retry.Deadline == 0 {
		c.retry.Deadline = def.Deadline
	}
	return c, nil
}

// NewIdempotencyKey returns a random key for a request that creates
// something.
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// request describes one logical call; body is rebuilt for each attempt.
type request struct {
	method      string
	path        string
	query       url.Values
	body        func() (io.Reader, string, error) // reader, content type
	header      http.Header
	idempotency string
	accept      string
}

func jsonBody(v any) func() (io.Reader, string, error) {
	b, err := json.Marshal(v)
	return func() (io.Reader, string, error) {
		if err != nil {
			return nil, "", err
		}
		return bytes.NewReader(b), "application/json", nil
	}
}

// retryable reports whether an answer may be retried, and why.
func retryable(status int, code string) (bool, string) {
	switch status {
	case http.StatusConflict:
		if code == "recording_locked" || code == "idempotency_in_progress" {
			return true, "409 " + code
		}
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, fmt.Sprintf("%d %s", status, code)
	}
	return false, ""
}

func (c *Client) backoff(attempt int) time.Duration {
	ceil := c.retry.BaseDelay << min(attempt, 30)
	if ceil <= 0 || ceil > c.retry.MaxDelay {
		ceil = c.retry.MaxDelay
	}
	c.rngMu.Lock()
	defer c.rngMu.Unlock()
	return time.Duration(c.rng.Int64N(int64(ceil) + 1))
}

// do runs r with retries and returns the successful response; the caller
// closes its body.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	start := c.now()
	canRetry := r.method == http.MethodGet || r.method == http.MethodHead || r.method == http.MethodDelete || r.idempotency != ""
	for attempt := 0; ; attempt++ {
		resp, err := c.once(ctx, r)
		var reason string
		var wait time.Duration
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var apiErr *Error
			var be *buildError
			if errors.As(err, &be) {
				return nil, err // the request could not be built: nothing was sent, and a retry would fail the same way
			}
			if errors.As(err, &apiErr) {
				ok, why := retryable(apiErr.Status, apiErr.Code)
				if !ok {
					return nil, err
				}
				reason = why
				if apiErr.RetryAfter > 0 {
					wait = min(apiErr.RetryAfter, c.retry.MaxRetryAfter)
				}
			} else {
				reason = "connection error: " + err.Error()
			}
			if wait == 0 {
				wait = c.backoff(attempt)
			}
			if !canRetry || attempt+1 >= c.retry.MaxAttempts {
				return nil, err
			}
			if c.retry.Deadline > 0 && c.now().Add(wait).Sub(start) > c.retry.Deadline {
				return nil, fmt.Errorf("client: giving up after %d attempts (deadline %s): %w", attempt+1, c.retry.Deadline, err)
			}
			c.log.Debug("retrying request", "method", r.method, "path", r.path, "attempt", attempt+1, "reason", reason, "wait", wait)
			if err := c.sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		}
		return resp, nil
	}
}

// buildError is a failure to build a request (such as a media file that
// cannot be opened); it is never retried.
type buildError struct{ err error }

func (e *buildError) Error() string { return "client: build request: " + e.err.Error() }
func (e *buildError) Unwrap() error { return e.err }

// once makes a single attempt. Non-2xx answers become *Error.
func (c *Client) once(ctx context.Context, r request) (*http.Response, error) {
	u := *c.base
	// r.path is already escaped (url.PathEscape per segment): keep it as
	// RawPath so a "%" in it is not escaped a second time.
	rawPath := c.base.EscapedPath() + r.path
	p, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, &buildError{err}
	}
	u.Path, u.RawPath = p, rawPath
	if r.query != nil {
		u.RawQuery = r.query.Encode()
	}
	var body io.Reader
	var ctype string
	if r.body != nil {
		body, ctype, err = r.body()
		if err != nil {
			return nil, &buildError{err}
		}
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, &buildError{err}
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if r.idempotency != "" {
		req.Header.Set("Idempotency-Key", r.idempotency)
	}
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	}
	req.Header.Set("User-Agent", c.uagent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 || resp.StatusCode == http.StatusNotModified {
		return resp, nil
	}
	defer resp.Body.Close()
	e := &Error{Status: resp.StatusCode}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(raw, e) != nil || e.Code == "" {
		e.Code = strings.ToLower(strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "_"))
		e.Message = strings.TrimSpace(string(raw))
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
	}
	e.Status = resp.StatusCode
	if d, ok := parseRetryAfter(resp.Header, c.now()); ok {
		e.RetryAfter = d
	}
	return nil, e
}

// doJSON runs r and decodes a JSON answer into out (if non-nil).
func (c *Client) doJSON(ctx context.Context, r request, out any) (*http.Response, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp, fmt.Errorf("client: decode %s %s: %w", r.method, r.path, err)
		}
	}
	return resp, nil
}

// defaultTransport bounds how long the client waits for a server to start
// answering, so a hung server becomes a retryable error instead of a hang;
// bodies (such as package downloads) may take as long as they need.
func defaultTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = time.Minute
	return t
}
