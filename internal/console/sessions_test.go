package console

import (
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/store/sqlitestore"
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
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "holdfast.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	start := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	clk := &fakeClock{t: start}
	s := NewSessions(st, clk, nil)
	// A second replica's table over the same database knows the session.
	other := NewSessions(st, clk, nil)
	ck, err := s.Create(t.Context(), "hash-a", "tok_a", false)
	if err != nil {
		t.Fatal(err)
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || len(ck.Value) < 40 {
		t.Fatalf("cookie %+v", ck)
	}
	if h, ok := other.SecretHash(reqWith(ck)); !ok || h != "hash-a" {
		t.Fatalf("fresh session on another replica: %q %v", h, ok)
	}
	if _, ok := s.SecretHash(reqWith(nil)); ok {
		t.Error("no cookie resolved to a session")
	}
	if _, ok := s.SecretHash(reqWith(&http.Cookie{Name: CookieName, Value: ck.Value + "x"})); ok {
		t.Error("a different cookie value resolved to a session")
	}
	// Activity keeps a session alive up to MaxAge, never past it.
	for clk.Now().Add(IdleTimeout-time.Minute).Sub(start) <= MaxAge {
		clk.add(IdleTimeout - time.Minute)
		if _, ok := s.SecretHash(reqWith(ck)); !ok {
			t.Fatalf("active session ended early at %v", clk.Now().Sub(start))
		}
	}
	clk.add(IdleTimeout - time.Minute)
	if _, ok := s.SecretHash(reqWith(ck)); ok {
		t.Errorf("session outlived MaxAge (%v after sign-in)", clk.Now().Sub(start))
	}
	// Idle sessions end.
	ck2, err := s.Create(t.Context(), "hash-b", "tok_b", true)
	if err != nil {
		t.Fatal(err)
	}
	if !ck2.Secure {
		t.Error("cookie over TLS is not Secure")
	}
	clk.add(IdleTimeout + time.Second)
	if _, ok := s.SecretHash(reqWith(ck2)); ok {
		t.Error("idle session still alive")
	}
	// Signing out on one replica ends the session on every replica.
	ck3, err := s.Create(t.Context(), "h3", "tok_c", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.End(reqWith(ck3)); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.SecretHash(reqWith(ck3)); ok {
		t.Error("ended session alive")
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

// FuzzApiTime checks the datetime-local reader: it either passes the value
// on untouched (for the API to judge) or turns it into the same instant in
// RFC 3339, UTC.
func FuzzApiTime(f *testing.F) {
	for _, s := range []string{"2026-11-30T08:15", "2026-11-30T08:15:09", "2026-02-30T08:15", "2026-11-30T24:00", "", "2026-11-30T08:15Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := apiTime(in)
		if out == in {
			return
		}
		got, err := time.Parse(time.RFC3339, out)
		if err != nil {
			t.Fatalf("apiTime(%q) = %q, not RFC 3339: %v", in, out, err)
		}
		want, err1 := time.Parse(localTime, in)
		if err1 != nil {
			want, err1 = time.Parse(localTime+":05", in)
		}
		if err1 != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("apiTime(%q) = %q, want the same instant as the input in UTC", in, out)
		}
	})
}
