// Package edge bounds what a client can make the HTTP server hold: open
// connections (in all and per client address, idle ones closed first
// under pressure), slow request bodies, unauthenticated request rates, and
// it turns the errors that net/http answers by itself (oversized headers,
// a bad Content-Length) into problem documents.
//
// It is for internal/server, which wraps its listener and handler with
// it, and for internal/httpapi, which keys its per-client limits on
// [Proxies.Client].
package edge

import (
	"fmt"
	"time"
)

// Limits are the connection and timing bounds of the HTTP edge. The zero
// value of a field means "derive it" (see [DefaultLimits]).
type Limits struct {
	// MaxConns caps open connections in all; it must stay well below the
	// process's file-descriptor limit, which files, the database and
	// blob writes need too.
	MaxConns int
	// MaxConnsPerClient caps the open connections of one client address
	// (IPv6: one /64), so one address's flood never takes every slot.
	// Trusted proxies are exempt: many clients share their address.
	MaxConnsPerClient int
	// HeaderTimeout bounds reading a request's headers.
	HeaderTimeout time.Duration
	// IdleTimeout closes keep-alive connections that stay idle this long.
	IdleTimeout time.Duration
	// BodyWindow and BodyMinRate bound slow bodies: in each BodyWindow
	// the server spends waiting for body bytes, the client must send at
	// least BodyMinRate bytes per second of that window, or the request is
	// cut (408). A fast client never meets the limit however large the
	// upload; a trickle is cut after one window.
	BodyWindow  time.Duration
	BodyMinRate int64
}

// MaxHeaderBytes is the most a request line and its headers may take;
// more is 431 headers_too_large.
const MaxHeaderBytes = 32 << 10

// reservedFDs are file descriptors kept for everything but client
// connections (database, blob and package files, listeners).
const reservedFDs = 64

// Default values of the bounds that do not depend on the file limit.
const (
	DefaultHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout   = 60 * time.Second
	DefaultBodyWindow    = 20 * time.Second
	DefaultBodyMinRate   = 1 << 10
	// maxDefaultConns keeps the derived global cap within what the
	// memory of a modest machine holds (each connection costs tens of KiB).
	maxDefaultConns = 10000
	// maxDefaultPerClient is far more than a real client (a browser, the
	// export client, a NAT of a few hundred users) keeps open.
	maxDefaultPerClient = 256
)

// DefaultLimits derives the bounds from the process's file-descriptor
// limit nofile (0: unknown, taken as 1024): half of what is left after
// a reserve goes to connections (the other half covers one open file per
// active request), capped at 10000; one client address gets an eighth of
// that, between 4 and 256.
func DefaultLimits(nofile uint64) Limits {
	if nofile == 0 {
		nofile = 1024
	}
	global := 16
	if nofile > 2*reservedFDs+32 {
		global = int(min((nofile-reservedFDs)/2, maxDefaultConns))
	}
	return Limits{
		MaxConns:          global,
		MaxConnsPerClient: min(max(global/8, 4), maxDefaultPerClient),
		HeaderTimeout:     DefaultHeaderTimeout,
		IdleTimeout:       DefaultIdleTimeout,
		BodyWindow:        DefaultBodyWindow,
		BodyMinRate:       DefaultBodyMinRate,
	}
}

// Resolve fills the zero fields of l from [DefaultLimits] for nofile and
// checks that the result can work: the connection caps must leave file
// descriptors for everything else.
func (l Limits) Resolve(nofile uint64) (Limits, error) {
	d := DefaultLimits(nofile)
	if l.MaxConns == 0 {
		l.MaxConns = d.MaxConns
	}
	if l.MaxConnsPerClient == 0 {
		l.MaxConnsPerClient = min(d.MaxConnsPerClient, l.MaxConns)
	}
	if l.HeaderTimeout == 0 {
		l.HeaderTimeout = d.HeaderTimeout
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.BodyWindow == 0 {
		l.BodyWindow = d.BodyWindow
	}
	if l.BodyMinRate == 0 {
		l.BodyMinRate = d.BodyMinRate
	}
	switch {
	case l.MaxConns < 1 || l.MaxConnsPerClient < 1:
		return l, fmt.Errorf("edge: connection caps must be positive (max connections %d, per client %d)", l.MaxConns, l.MaxConnsPerClient)
	case nofile > 0 && uint64(l.MaxConns)+reservedFDs > nofile:
		return l, fmt.Errorf("edge: %d connections would not leave %d of the process's %d file descriptors for files and the database; lower the connection cap or raise the limit (ulimit -n)", l.MaxConns, reservedFDs, nofile)
	case l.MaxConnsPerClient > l.MaxConns:
		return l, fmt.Errorf("edge: the per-client connection cap %d is above the total cap %d", l.MaxConnsPerClient, l.MaxConns)
	case l.HeaderTimeout < 0 || l.IdleTimeout < 0 || l.BodyWindow < 0 || l.BodyMinRate < 0:
		return l, fmt.Errorf("edge: timeouts and the minimum body rate must not be negative")
	}
	return l, nil
}
