package edge

import (
	"strings"
	"testing"
)

func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		nofile           uint64
		total, perClient int
	}{
		{0, 480, 60},
		{256, 96, 12},
		{100, 16, 4},
		{2048, 992, 124},
		{20000, 9968, 256},
		{1 << 20, 10000, 256},
		{^uint64(0), 10000, 256},
	} {
		l := DefaultLimits(tc.nofile)
		if l.MaxConns != tc.total || l.MaxConnsPerClient != tc.perClient {
			t.Errorf("DefaultLimits(%d) = %d total, %d per client; want %d, %d", tc.nofile, l.MaxConns, l.MaxConnsPerClient, tc.total, tc.perClient)
		}
		if tc.nofile > 0 && uint64(l.MaxConns)+reservedFDs > tc.nofile {
			t.Errorf("DefaultLimits(%d) leaves too few descriptors", tc.nofile)
		}
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in               Limits
		nofile           uint64
		total, perClient int
		err              string
	}{
		{Limits{}, 2048, 992, 124, ""},
		{Limits{MaxConns: 50}, 2048, 50, 50, ""},
		{Limits{MaxConns: 1500, MaxConnsPerClient: 10}, 2048, 1500, 10, ""},
		{Limits{MaxConns: 2000}, 2048, 0, 0, "would not leave 64"},
		{Limits{MaxConns: 10, MaxConnsPerClient: 20}, 2048, 0, 0, "above the total cap"},
		{Limits{MaxConns: -1}, 2048, 0, 0, "must be positive"},
		{Limits{BodyMinRate: -1}, 2048, 0, 0, "must not be negative"},
	} {
		l, err := tc.in.Resolve(tc.nofile)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Resolve(%+v) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || l.MaxConns != tc.total || l.MaxConnsPerClient != tc.perClient || l.IdleTimeout != DefaultIdleTimeout || l.BodyWindow != DefaultBodyWindow {
			t.Errorf("Resolve(%+v) = %+v, %v", tc.in, l, err)
		}
	}
}
