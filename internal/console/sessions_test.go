package console

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func reqWith(ck *http.Cookie) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	if ck != nil {
		r.AddCookie(ck)
	}
	return r
}

func TestSessionLifetimes(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	s := NewSessions(clk)
	ck := s.Create("hash-a", "tok_a", false)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || len(ck.Value) < 40 {
		t.Fatalf("cookie %+v", ck)
	}
	if h, ok := s.SecretHash(reqWith(ck)); !ok || h != "hash-a" {
		t.Fatalf("fresh session: %q %v", h, ok)
	}
	if _, ok := s.SecretHash(reqWith(nil)); ok {
		t.Error("no cookie resolved to a session")
	}
	if _, ok := s.SecretHash(reqWith(&http.Cookie{Name: CookieName, Value: ck.Value + "x"})); ok {
		t.Error("a different cookie value resolved to a session")
	}
	// Activity keeps a session alive up to MaxAge, never past it.
	for range 11 {
		clk.add(IdleTimeout - time.Minute)
		if _, ok := s.SecretHash(reqWith(ck)); !ok && clk.Now().Sub(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)) <= MaxAge {
			t.Fatalf("active session ended early at %v", clk.Now())
		}
	}
	clk.add(2 * time.Hour)
	if _, ok := s.SecretHash(reqWith(ck)); ok {
		t.Error("session outlived MaxAge")
	}
	// Idle sessions end.
	ck2 := s.Create("hash-b", "tok_b", true)
	if !ck2.Secure {
		t.Error("cookie over TLS is not Secure")
	}
	clk.add(IdleTimeout + time.Second)
	if _, ok := s.SecretHash(reqWith(ck2)); ok {
		t.Error("idle session still alive")
	}
	// End and EndToken.
	ck3, ck4, ck5 := s.Create("h3", "tok_c", false), s.Create("h4", "tok_c", false), s.Create("h5", "tok_d", false)
	s.End(reqWith(ck3))
	if _, ok := s.SecretHash(reqWith(ck3)); ok {
		t.Error("ended session alive")
	}
	s.EndToken("tok_c")
	if _, ok := s.SecretHash(reqWith(ck4)); ok {
		t.Error("session of an ended token alive")
	}
	if _, ok := s.SecretHash(reqWith(ck5)); !ok {
		t.Error("EndToken ended another token's session")
	}
}

func TestSessionsBounded(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	s := NewSessions(clk)
	first := s.Create("h", "tok", false)
	for range maxSessions {
		clk.add(time.Millisecond)
		s.Create("h", "tok", false)
	}
	if n := s.Len(); n != maxSessions {
		t.Errorf("%d sessions, want the cap %d", n, maxSessions)
	}
	if _, ok := s.SecretHash(reqWith(first)); ok {
		t.Error("the oldest session survived past the cap")
	}
}

func TestApiTime(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"2026-11-30T08:15":      "2026-11-30T08:15:00Z",
		"2026-11-30T08:15:09":   "2026-11-30T08:15:09Z",
		"2026-11-30T08:15:00Z":  "2026-11-30T08:15:00Z",
		"yesterday":             "yesterday",
		"2026-11-30T08:15+0100": "2026-11-30T08:15+0100",
	} {
		if got := apiTime(in); got != want {
			t.Errorf("apiTime(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSafeNext checks that no sign-in "next" value can send the browser
// off this site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/recordings?status=processing", "//evil.example", "/\\evil.example", "https://evil.example", "/a\r\nSet-Cookie: x", "/\t/evil.example", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") || strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("safeNext(%q) = %q leaves the site", next, got)
		}
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) = %q rewrote a local path", next, got)
		}
	})
}
