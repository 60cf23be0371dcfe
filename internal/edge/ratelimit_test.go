package edge

import (
	"strconv"
	"testing"
	"time"
)

func TestKeyedLimiter(t *testing.T) {
	t.Parallel()
	k := NewKeyedLimiter(2, 3) // 2/s, bursts of 3
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if ok, _ := k.Allow("a", now); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := k.Allow("a", now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: %v, wait %s; want refused, 500ms", ok, wait)
	}
	if ok, _ := k.Allow("b", now); !ok {
		t.Fatal("another key was refused")
	}
	if ok, _ := k.Allow("a", now.Add(500*time.Millisecond)); !ok {
		t.Fatal("refused after the wait it announced")
	}
}

func TestKeyedLimiterForgetsQuietKeys(t *testing.T) {
	t.Parallel()
	k := NewKeyedLimiter(1, 1)
	k.max = 100
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100 {
		k.Allow(strconv.Itoa(i), now)
	}
	k.Allow("busy", now.Add(time.Hour))
	k.Allow("busy", now.Add(time.Hour))
	if len(k.m) != 1 {
		t.Fatalf("%d keys kept, want only the one not yet refilled", len(k.m))
	}
	if ok, _ := k.Allow("busy", now.Add(time.Hour)); ok {
		t.Fatal("pruning forgot a key that is over its limit")
	}
}
