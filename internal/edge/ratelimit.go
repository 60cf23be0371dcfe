package edge

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// KeyedLimiter is a token-bucket rate limit per key (a client address).
// It forgets keys whose bucket has refilled once it holds many, so an
// attacker cycling addresses cannot grow it without bound. It is safe for
// concurrent use.
type KeyedLimiter struct {
	limit rate.Limit
	burst int
	max   int

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// maxKeys is how many keys a KeyedLimiter holds before it prunes.
const maxKeys = 1 << 16

// NewKeyedLimiter allows each key limit events per second, in bursts of
// burst.
func NewKeyedLimiter(limit rate.Limit, burst int) *KeyedLimiter {
	return &KeyedLimiter{limit: limit, burst: burst, max: maxKeys, m: map[string]*rate.Limiter{}}
}

// Allow takes one event for key at now. When the key has none left it
// returns false and how long until it has one.
func (k *KeyedLimiter) Allow(key string, now time.Time) (bool, time.Duration) {
	k.mu.Lock()
	lim, ok := k.m[key]
	if !ok {
		if len(k.m) >= k.max {
			k.prune(now)
		}
		lim = rate.NewLimiter(k.limit, k.burst)
		k.m[key] = lim
	}
	k.mu.Unlock()
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// prune drops keys whose bucket is full again (they have been quiet), and
// everything if that is not enough; k.mu is held.
func (k *KeyedLimiter) prune(now time.Time) {
	for key, lim := range k.m {
		if lim.TokensAt(now) >= float64(k.burst) {
			delete(k.m, key)
		}
	}
	if len(k.m) >= k.max {
		clear(k.m)
	}
}
