// Package genesys is a small client for exactly the Genesys Cloud Platform
// API endpoints that `holdfast import genesys` needs: the OAuth client
// credentials grant, analytics conversation details (asynchronous jobs and
// the synchronous query), recording metadata, batch download requests and
// their pre-signed result URLs, and deletion protection.
//
// It is for the importer in internal/genesysimport. It honours the
// platform's rate limits (429 with Retry-After, and the inin-ratelimit-*
// headers where they are still sent), refreshes its token before it
// expires, and reports "not yet" conditions (a recording still being
// transcoded) as values rather than errors, so callers come back later.
//
// A Client is safe for concurrent use.
package genesys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config configures a [Client].
type Config struct {
	// ClientID and ClientSecret are the OAuth client (client credentials
	// grant).
	ClientID, ClientSecret string
	// APIBase is the API root, e.g. https://api.mypurecloud.com.
	APIBase string
	// TokenURL is the token endpoint, e.g.
	// https://login.mypurecloud.com/oauth/token.
	TokenURL string
	// HTTP is the transport; nil means a client with sane timeouts.
	HTTP *http.Client
	// Now is the clock (token expiry, rate-limit windows); nil means
	// time.Now.
	Now func() time.Time
	// Logger receives one debug line per retry; nil discards.
	Logger *slog.Logger
	// MaxAttempts bounds attempts per request for transient failures
	// (5xx, connection errors); 429s are always waited out, up to
	// MaxRateLimitWait in total per request. Zero means 8.
	MaxAttempts int
	// MaxRateLimitWait bounds the total time one request waits for rate
	// limits. Zero means 10 minutes.
	MaxRateLimitWait time.Duration
}

// RegionConfig fills APIBase and TokenURL for a region such as
// "mypurecloud.com" or "mypurecloud.ie".
func RegionConfig(region string) (apiBase, tokenURL string) {
	region = strings.TrimPrefix(strings.TrimSpace(region), ".")
	return "https://api." + region, "https://login." + region + "/oauth/token"
}

// BaseConfig fills TokenURL for an explicit API base (tests and private
// deployments): the token is requested at <api-base>/oauth/token.
func BaseConfig(apiBase string) (base, tokenURL string) {
	base = strings.TrimRight(apiBase, "/")
	return base, base + "/oauth/token"
}

// Client talks to one Genesys Cloud organisation.
type Client struct {
	cfg  Config
	http *http.Client
	// raw fetches pre-signed result URLs; it never adds credentials.
	raw *http.Client

	mu        sync.Mutex
	token     string
	expiry    time.Time
	notBefore time.Time // from inin-ratelimit-* when a window is used up
}

// APIError is a refusal by the platform: a 4xx other than 401 and 429, or
// a 5xx that persisted through every attempt.
type APIError struct {
	Method, Path string
	Status       int
	Code         string
	Message      string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Code != "" {
		return fmt.Sprintf("genesys: %s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, msg)
	}
	return fmt.Sprintf("genesys: %s %s: %d: %s", e.Method, e.Path, e.Status, msg)
}

// ErrURLExpired reports a pre-signed result URL that can no longer be
// read; ask for a new batch download for the recording.
var ErrURLExpired = errors.New("genesys: result URL expired")

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("genesys: an OAuth client id and secret are required")
	}
	for _, u := range []string{cfg.APIBase, cfg.TokenURL} {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("genesys: %q is not an http(s) URL", u)
		}
	}
	cfg.APIBase = strings.TrimRight(cfg.APIBase, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.MaxRateLimitWait <= 0 {
		cfg.MaxRateLimitWait = 10 * time.Minute
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	raw := &http.Client{Transport: hc.Transport, Timeout: hc.Timeout,
		// A redirect from a result URL must not pick up credentials either;
		// the default policy already drops Authorization across hosts, and
		// none is set on these requests in the first place.
		CheckRedirect: hc.CheckRedirect}
	return &Client{cfg: cfg, http: hc, raw: raw}, nil
}

// accessToken returns a valid token, requesting a new one when none is
// held or the held one is within a tenth of its life (at most a minute) of
// expiring.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.cfg.Now().Before(c.expiry) {
		return c.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.TokenURL, strings.NewReader(form.Encode()))
		if err != nil {
			return "", fmt.Errorf("genesys: token request: %w", err)
		}
		req.SetBasicAuth(c.cfg.ClientID, c.cfg.ClientSecret)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		start := c.cfg.Now()
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil || attempt >= c.cfg.MaxAttempts {
				return "", fmt.Errorf("genesys: token request: %w", err)
			}
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return "", err
			}
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			if attempt >= c.cfg.MaxAttempts {
				return "", apiError(http.MethodPost, "/oauth/token", resp.StatusCode, body)
			}
			wait := retryAfter(resp.Header, backoff(attempt))
			if err := sleep(ctx, wait); err != nil {
				return "", err
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return "", apiError(http.MethodPost, "/oauth/token", resp.StatusCode, body)
		}
		var tr tokenResponse
		if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" || tr.ExpiresIn <= 0 {
			return "", fmt.Errorf("genesys: token endpoint answered an unusable body")
		}
		life := time.Duration(tr.ExpiresIn) * time.Second
		margin := min(life/10, time.Minute)
		c.token, c.expiry = tr.AccessToken, start.Add(life-margin)
		return c.token, nil
	}
}

// dropToken forgets a token the platform refused, unless another request
// already replaced it.
func (c *Client) dropToken(tok string) {
	c.mu.Lock()
	if c.token == tok {
		c.token = ""
	}
	c.mu.Unlock()
}

// call is one API request.
type call struct {
	method string
	path   string // below APIBase, starting with /api/v2/
	query  url.Values
	body   any
}

// do sends a request, retrying what can be retried, and decodes a 2xx
// body into out (if non-nil). It returns the final status: callers that
// care about 202 (still transcoding) check it.
func (c *Client) do(ctx context.Context, cl call, out any) (int, error) {
	var payload []byte
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return 0, fmt.Errorf("genesys: encode %s %s: %w", cl.method, cl.path, err)
		}
		payload = b
	}
	u := c.cfg.APIBase + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var rateWaited time.Duration
	refreshed := false
	for attempt := 1; ; attempt++ {
		if err := c.waitWindow(ctx); err != nil {
			return 0, err
		}
		tok, err := c.accessToken(ctx)
		if err != nil {
			return 0, err
		}
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, cl.method, u, rd)
		if err != nil {
			return 0, fmt.Errorf("genesys: %s %s: %w", cl.method, cl.path, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil || attempt >= c.cfg.MaxAttempts {
				return 0, fmt.Errorf("genesys: %s %s: %w", cl.method, cl.path, err)
			}
			c.cfg.Logger.Debug("genesys: retrying after a connection error", "method", cl.method, "path", cl.path, "err", err)
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return 0, err
			}
			continue
		}
		body, readErr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		c.noteWindow(resp.Header)
		switch st := resp.StatusCode; {
		case st == http.StatusUnauthorized && !refreshed:
			// The token expired early or was revoked: get another, once.
			refreshed = true
			c.dropToken(tok)
			attempt--
			continue
		case st == http.StatusTooManyRequests:
			wait := retryAfter(resp.Header, time.Second)
			if rateWaited+wait > c.cfg.MaxRateLimitWait {
				return st, apiError(cl.method, cl.path, st, body)
			}
			rateWaited += wait
			attempt--
			c.cfg.Logger.Debug("genesys: rate limited; waiting as Retry-After says", "method", cl.method, "path", cl.path, "wait", wait)
			if err := sleep(ctx, wait); err != nil {
				return 0, err
			}
			continue
		case st >= 500 || readErr != nil:
			if attempt >= c.cfg.MaxAttempts {
				if readErr != nil {
					return st, fmt.Errorf("genesys: %s %s: read body: %w", cl.method, cl.path, readErr)
				}
				return st, apiError(cl.method, cl.path, st, body)
			}
			c.cfg.Logger.Debug("genesys: retrying a server error", "method", cl.method, "path", cl.path, "status", st)
			if err := sleep(ctx, retryAfter(resp.Header, backoff(attempt))); err != nil {
				return 0, err
			}
			continue
		case st >= 300:
			return st, apiError(cl.method, cl.path, st, body)
		}
		if out != nil && len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, out); err != nil {
				return resp.StatusCode, fmt.Errorf("genesys: %s %s: decode answer: %w", cl.method, cl.path, err)
			}
		}
		return resp.StatusCode, nil
	}
}

// noteWindow reads the inin-ratelimit-* headers: when a response says the
// window's allowance is used up, no request is sent until it resets.
func (c *Client) noteWindow(h http.Header) {
	allowed, err1 := strconv.Atoi(h.Get("inin-ratelimit-allowed"))
	count, err2 := strconv.Atoi(h.Get("inin-ratelimit-count"))
	reset, err3 := strconv.Atoi(h.Get("inin-ratelimit-reset"))
	if err1 != nil || err2 != nil || err3 != nil || allowed <= 0 || count < allowed || reset <= 0 || reset > 3600 {
		return
	}
	until := c.cfg.Now().Add(time.Duration(reset) * time.Second)
	c.mu.Lock()
	if until.After(c.notBefore) {
		c.notBefore = until
	}
	c.mu.Unlock()
	c.cfg.Logger.Debug("genesys: rate-limit window used up; pausing", "count", count, "allowed", allowed, "reset_s", reset)
}

// waitWindow waits until a used-up rate-limit window has reset.
func (c *Client) waitWindow(ctx context.Context) error {
	c.mu.Lock()
	d := c.notBefore.Sub(c.cfg.Now())
	c.mu.Unlock()
	if d <= 0 {
		return nil
	}
	return sleep(ctx, d)
}

func apiError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: status}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil {
		e.Code, e.Message = eb.Code, eb.Message
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	return e
}

// retryAfter reads Retry-After (delay-seconds or an HTTP date), or returns
// def.
func retryAfter(h http.Header, def time.Duration) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return def
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 && n <= 3600 {
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 && d <= time.Hour {
			return d
		}
		return 0
	}
	return def
}

// backoff is exponential with jitter: ~0.5 s, 1 s, 2 s … capped at 30 s.
func backoff(attempt int) time.Duration {
	d := 500 * time.Millisecond << min(attempt-1, 6)
	d = min(d, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
