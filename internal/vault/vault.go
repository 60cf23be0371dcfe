// Package vault holds holdfast's domain model and its rules: recordings,
// legal holds, tokens and permissions, and the validation that turns a
// request into something the store may act on.
//
// It is for every other package of holdfast. It knows nothing of HTTP, SQL
// or files, so its rules can be tested on their own and reused by the HTTP
// API, the command line and the background processor alike.
package vault

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// Sentinel errors shared by every layer. Stores translate their own "not
// found" and conflict conditions into these so callers can use errors.Is.
var (
	// ErrNotFound reports that the named resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrIdempotencyInProgress reports that another request with the same
	// Idempotency-Key is still being processed; retrying later may succeed.
	ErrIdempotencyInProgress = errors.New("idempotency key in progress")
	// ErrIdempotencyKeyReused reports that an Idempotency-Key was sent again
	// with a different request; retrying will never succeed.
	ErrIdempotencyKeyReused = errors.New("idempotency key reused with a different request")
)

// LegalHoldActiveError is returned when content removal is refused because
// the recording is under one or more active holds. It names the holds so the
// caller can see which matter blocks the deletion.
type LegalHoldActiveError struct {
	RecordingID string
	Holds       []HoldRef
}

func (e *LegalHoldActiveError) Error() string {
	ids := make([]string, len(e.Holds))
	for i, h := range e.Holds {
		ids[i] = h.HoldID
	}
	return "recording " + e.RecordingID + " is under active legal hold " + strings.Join(ids, ", ")
}

// Clock tells the time. It is injected everywhere so that time-dependent
// rules are testable.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real wall clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a new identifier with the given prefix, such as "rec". The
// part after the prefix is 26 Crockford base32 characters: 48 bits of
// millisecond time followed by 80 random bits. IDs therefore sort by
// creation time, which keeps list pagination stable and cheap.
func NewID(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], uint64(now.UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("vault: crypto/rand failed: " + err.Error())
	}
	// Encode 128 bits as 26 base32 characters (130 bits, top 2 zero).
	var out [26]byte
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return prefix + "_" + string(out[:])
}

// ValidID reports whether s looks like an ID made by NewID with the prefix.
// Handlers use it to answer 404 early for ids that cannot exist.
func ValidID(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix+"_")
	if !ok || len(rest) != 26 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(crockford, rest[i]) < 0 {
			return false
		}
	}
	return true
}
