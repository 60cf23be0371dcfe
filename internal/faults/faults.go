// Package faults is holdfast's rehearsal mode: it makes a server answer a
// chosen fraction of hold and export requests with the transient failures
// real platforms produce (409 recording_locked, 429 rate_limited, 503
// unavailable, all with Retry-After) and holds new recordings in
// processing for a while, so that client automation can be rehearsed.
//
// It is for `holdfast serve --faults` and the HTTP middleware that applies
// the decisions; it knows nothing of HTTP itself.
package faults

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config is a parsed fault specification. The zero value injects nothing.
type Config struct {
	Locked          float64       // fraction answered 409 recording_locked
	RateLimited     float64       // fraction answered 429 rate_limited
	Unavailable     float64       // fraction answered 503 unavailable
	RetryAfter      time.Duration // Retry-After of injected answers (default 1s)
	ProcessingDelay time.Duration // how long new recordings stay processing
}

// Enabled reports whether any request fault is configured.
func (c Config) Enabled() bool { return c.Locked+c.RateLimited+c.Unavailable > 0 }

// String renders the configuration in the form Parse accepts.
func (c Config) String() string {
	var parts []string
	add := func(k string, v float64) {
		if v > 0 {
			parts = append(parts, k+"="+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	add("locked", c.Locked)
	add("rate_limited", c.RateLimited)
	add("unavailable", c.Unavailable)
	if c.RetryAfter > 0 {
		parts = append(parts, "retry_after="+c.RetryAfter.String())
	}
	if c.ProcessingDelay > 0 {
		parts = append(parts, "processing_delay="+c.ProcessingDelay.String())
	}
	return strings.Join(parts, ",")
}

// Parse reads a specification such as
// "locked=0.3,rate_limited=0.1,unavailable=0.05,retry_after=2s,processing_delay=5s".
// Fractions are in [0, 1] and together at most 1; durations use Go syntax
// (or plain seconds). An empty string is the zero Config.
func Parse(spec string) (Config, error) {
	var c Config
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "off" {
		return c, nil
	}
	seen := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return Config{}, fmt.Errorf("faults: %q is not name=value (e.g. locked=0.3)", item)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if seen[k] {
			return Config{}, fmt.Errorf("faults: %s given twice", k)
		}
		seen[k] = true
		switch k {
		case "locked", "rate_limited", "unavailable":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 || f != f {
				return Config{}, fmt.Errorf("faults: %s must be a fraction between 0 and 1, e.g. %s=0.3; got %q", k, k, v)
			}
			switch k {
			case "locked":
				c.Locked = f
			case "rate_limited":
				c.RateLimited = f
			default:
				c.Unavailable = f
			}
		case "retry_after", "processing_delay":
			d, err := parseDuration(v)
			if err != nil {
				return Config{}, fmt.Errorf("faults: %s must be a duration such as 2s; got %q", k, v)
			}
			if k == "retry_after" {
				c.RetryAfter = d
			} else {
				c.ProcessingDelay = d
			}
		default:
			return Config{}, fmt.Errorf("faults: unknown fault %q; known: locked, rate_limited, unavailable, retry_after, processing_delay", k)
		}
	}
	if c.Locked+c.RateLimited+c.Unavailable > 1.0000001 {
		return Config{}, fmt.Errorf("faults: locked + rate_limited + unavailable must not exceed 1")
	}
	return c, nil
}

func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 || n > 86400 {
			return 0, fmt.Errorf("out of range")
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 24*time.Hour {
		return 0, fmt.Errorf("bad duration")
	}
	return d, nil
}

// Fault is one injected answer.
type Fault int

// The injected answers.
const (
	None Fault = iota
	Locked
	RateLimited
	Unavailable
)

// Injector decides, per request, whether to inject a fault. It is safe for
// concurrent use.
type Injector struct {
	cfg Config
	mu  sync.Mutex
	rng *rand.Rand
}

// NewInjector returns an injector drawing from rng (seed it for
// reproducible rehearsals).
func NewInjector(cfg Config, rng *rand.Rand) *Injector {
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	return &Injector{cfg: cfg, rng: rng}
}

// Config returns the configuration in use.
func (i *Injector) Config() Config { return i.cfg }

// Decide draws the fault for one request.
func (i *Injector) Decide() Fault {
	if i == nil || !i.cfg.Enabled() {
		return None
	}
	i.mu.Lock()
	x := i.rng.Float64()
	i.mu.Unlock()
	switch {
	case x < i.cfg.Locked:
		return Locked
	case x < i.cfg.Locked+i.cfg.RateLimited:
		return RateLimited
	case x < i.cfg.Locked+i.cfg.RateLimited+i.cfg.Unavailable:
		return Unavailable
	}
	return None
}
