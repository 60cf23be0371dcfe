package edge

import (
	"container/list"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// ProblemFunc renders the JSON body of an error the edge answers itself,
// before any handler runs (an RFC 9457 problem document).
type ProblemFunc func(status int, code, message string) []byte

// ListenerConfig configures a [Listener].
type ListenerConfig struct {
	// MaxConns and MaxConnsPerClient are the caps of [Limits].
	MaxConns          int
	MaxConnsPerClient int
	// Exempt reports peers that get no per-client cap (trusted proxies).
	Exempt func(netip.Addr) bool
	// Problem renders refusals and rewritten net/http errors.
	Problem ProblemFunc
	Logger  *slog.Logger
}

// Stats are a [Listener]'s counters.
type Stats struct {
	Open, Idle int
	// Refused counts connections closed at accept because their client
	// (RefusedPerClient) or the server (RefusedTotal) was at its cap.
	RefusedPerClient, RefusedTotal int64
	// Evicted counts idle keep-alive connections closed to make room.
	Evicted int64
}

// Listener wraps a net.Listener so that open connections stay under
// MaxConns in all and MaxConnsPerClient per client address. At a cap, the
// connection idle the longest (of that client, or of anyone for the total
// cap) is closed to make room, as nginx does with keep-alive connections;
// only if none is idle is the new connection refused, with a 429 (client
// cap) or 503 (total cap) problem document. An http.Server serving it
// must report connection states with [Listener.ConnState] and
// [Listener.ConnContext]. It is safe for concurrent use.
type Listener struct {
	net.Listener
	cfg ListenerConfig

	mu      sync.Mutex
	open    int
	idle    list.List // *Conn, longest idle first
	clients map[string]*client

	refusedClient, refusedTotal, evicted atomic.Int64
	warn                                 rate.Sometimes
	// lingering bounds the refused connections kept open briefly so that
	// their answer is read before the close (see refuse).
	lingering chan struct{}
}

type client struct {
	open int
	idle list.List // *Conn, longest idle first
}

// NewListener wraps ln.
func NewListener(ln net.Listener, cfg ListenerConfig) *Listener {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Listener{Listener: ln, cfg: cfg, clients: map[string]*client{}, warn: rate.Sometimes{Interval: 10 * time.Second},
		lingering: make(chan struct{}, max(cfg.MaxConns/8, 8))}
}

// Accept returns the next connection within the caps; connections over
// them are answered and closed here, without reaching the server.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c, victims, refusal := l.admit(nc)
		for _, v := range victims {
			_ = v.Conn.Close()
		}
		if c != nil {
			return c, nil
		}
		l.refuse(nc, refusal)
	}
}

type refusal struct {
	status int
	code   string
	msg    string
}

func (l *Listener) admit(nc net.Conn) (*Conn, []*Conn, refusal) {
	peer, _ := PeerAddr(nc.RemoteAddr())
	key := Key(peer)
	exempt := l.cfg.Exempt != nil && l.cfg.Exempt(peer)
	l.mu.Lock()
	defer l.mu.Unlock()
	var victims []*Conn
	cl := l.clients[key]
	if !exempt && cl != nil && cl.open >= l.cfg.MaxConnsPerClient {
		v := front(&cl.idle)
		if v == nil {
			l.refusedClient.Add(1)
			return nil, nil, refusal{http.StatusTooManyRequests, "rate_limited",
				"this address has " + strconv.Itoa(cl.open) + " connections open, the most one client may have; reuse them, or retry after the delay in Retry-After"}
		}
		l.detach(v)
		victims = append(victims, v)
	}
	if l.open >= l.cfg.MaxConns {
		v := front(&l.idle)
		if v == nil {
			l.refusedTotal.Add(1)
			return nil, victims, refusal{http.StatusServiceUnavailable, "unavailable",
				"the server has as many connections open as it serves at once; retry after the delay in Retry-After"}
		}
		l.detach(v)
		victims = append(victims, v)
	}
	l.evicted.Add(int64(len(victims)))
	if cl == nil {
		cl = &client{}
		l.clients[key] = cl
	}
	cl.open++
	l.open++
	return &Conn{Conn: nc, l: l, key: key, cl: cl}, victims, refusal{}
}

func front(q *list.List) *Conn {
	if e := q.Front(); e != nil {
		return e.Value.(*Conn)
	}
	return nil
}

// detach forgets c; l.mu is held.
func (l *Listener) detach(c *Conn) {
	if c.detached {
		return
	}
	c.detached = true
	l.setIdle(c, false)
	l.open--
	c.cl.open--
	if c.cl.open == 0 {
		delete(l.clients, c.key)
	}
}

// setIdle moves c onto or off the idle queues; l.mu is held.
func (l *Listener) setIdle(c *Conn, idle bool) {
	if idle && c.idleEl == nil && !c.detached {
		c.idleEl = l.idle.PushBack(c)
		c.clientIdleEl = c.cl.idle.PushBack(c)
	}
	if !idle && c.idleEl != nil {
		l.idle.Remove(c.idleEl)
		c.cl.idle.Remove(c.clientIdleEl)
		c.idleEl, c.clientIdleEl = nil, nil
	}
}

// lingerFor is how long a refused connection stays half-closed.
const lingerFor = 250 * time.Millisecond

// refuse answers a connection over a cap and closes it. The answer is
// written at once, before the client's request is read. Closing a socket
// with unread request bytes would reset it and could destroy the answer
// before the client reads it, so the connection is half-closed and its
// request drained for lingerFor first, as nginx's lingering close does;
// at most cap(l.lingering) connections linger at once (more are closed at
// once), which bounds the descriptors a flood of refusals can hold.
func (l *Listener) refuse(nc net.Conn, r refusal) {
	peer, _ := PeerAddr(nc.RemoteAddr())
	l.warn.Do(func() {
		l.cfg.Logger.Warn("refusing connections over the cap", "client", Key(peer), "code", r.code,
			"refused_per_client", l.refusedClient.Load(), "refused_total", l.refusedTotal.Load())
	})
	_ = nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, err := nc.Write(rawResponse(r.status, l.body(r.status, r.code, r.msg), true))
	cw, ok := nc.(interface{ CloseWrite() error })
	if err != nil || !ok {
		_ = nc.Close()
		return
	}
	select {
	case l.lingering <- struct{}{}:
	default:
		_ = nc.Close()
		return
	}
	_ = cw.CloseWrite()
	go func() {
		defer func() { <-l.lingering }()
		_ = nc.SetReadDeadline(time.Now().Add(lingerFor))
		_, _ = io.Copy(io.Discard, io.LimitReader(nc, 64<<10))
		_ = nc.Close()
	}()
}

func (l *Listener) body(status int, code, msg string) []byte {
	if l.cfg.Problem == nil {
		return []byte(`{"status":` + strconv.Itoa(status) + `,"code":"` + code + `"}`)
	}
	return l.cfg.Problem(status, code, msg)
}

// rawResponse is a complete HTTP/1.1 answer that closes the connection.
func rawResponse(status int, body []byte, retry bool) []byte {
	b := make([]byte, 0, 256+len(body))
	b = append(b, "HTTP/1.1 "+strconv.Itoa(status)+" "+http.StatusText(status)+"\r\n"...)
	b = append(b, "Content-Type: application/problem+json\r\nCache-Control: no-store\r\nConnection: close\r\n"...)
	if retry {
		b = append(b, "Retry-After: 1\r\nX-Retry-After: 1\r\n"...)
	}
	b = append(b, "Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"...)
	return append(b, body...)
}

// ConnState is the http.Server hook that tells the listener which
// connections are idle keep-alives (the first to be closed under
// pressure) and which have gone.
func (l *Listener) ConnState(nc net.Conn, s http.ConnState) {
	c, ok := nc.(*Conn)
	if !ok {
		return
	}
	if s == http.StateIdle {
		c.serving.Store(false)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateIdle:
		l.setIdle(c, true)
	case http.StateNew, http.StateActive:
		l.setIdle(c, false)
	case http.StateClosed, http.StateHijacked:
		l.detach(c)
	}
}

type connKey struct{}

// ConnContext is the http.Server hook that lets [Listener.Serving] find
// a request's connection.
func (l *Listener) ConnContext(ctx context.Context, nc net.Conn) context.Context {
	if c, ok := nc.(*Conn); ok {
		return context.WithValue(ctx, connKey{}, c)
	}
	return ctx
}

// Serving wraps the server's handler: it marks a connection as answering
// a request until it is idle again, so that only what net/http writes by
// itself between requests is rewritten into problem documents.
func (l *Listener) Serving(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(*Conn); ok {
			c.serving.Store(true)
		}
		next.ServeHTTP(w, r)
	})
}

// Stats returns the listener's counters.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	open, idle := l.open, l.idle.Len()
	l.mu.Unlock()
	return Stats{Open: open, Idle: idle, RefusedPerClient: l.refusedClient.Load(), RefusedTotal: l.refusedTotal.Load(), Evicted: l.evicted.Load()}
}

// Conn is a connection accepted by a [Listener].
type Conn struct {
	net.Conn
	l   *Listener
	key string
	cl  *client
	// serving is set while a handler's answer is being written.
	serving atomic.Bool

	// guarded by l.mu
	detached             bool
	idleEl, clientIdleEl *list.Element
}

// Close closes the connection and frees its place.
func (c *Conn) Close() error {
	c.l.mu.Lock()
	c.l.detach(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// CloseWrite half-closes a TCP connection, as net/http does before it
// hangs up on a client that is still sending.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// Write passes the server's writes through, except the plain-text errors
// net/http answers by itself when it cannot read a request (oversized
// headers, a bad Content-Length, …): those become problem documents.
func (c *Conn) Write(b []byte) (int, error) {
	if !c.serving.Load() {
		if status, code, msg, ok := parseGoError(b); ok {
			if _, err := c.Conn.Write(rawResponse(status, c.l.body(status, code, msg), false)); err != nil {
				return 0, err
			}
			return len(b), nil
		}
	}
	return c.Conn.Write(b)
}
