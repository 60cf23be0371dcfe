package faults

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		want    Config
		wantErr string
	}{
		{"", Config{}, ""},
		{"locked=0.3,rate_limited=0.1,unavailable=0.05,retry_after=2s,processing_delay=5s",
			Config{Locked: 0.3, RateLimited: 0.1, Unavailable: 0.05, RetryAfter: 2 * time.Second, ProcessingDelay: 5 * time.Second}, ""},
		{"processing_delay=30s", Config{ProcessingDelay: 30 * time.Second}, ""},
		{"retry_after=1", Config{RetryAfter: time.Second}, ""},
		{"locked=1.5", Config{}, "between 0 and 1"},
		{"locked=NaN", Config{}, "between 0 and 1"},
		{"locked=0.6,unavailable=0.6", Config{}, "must not exceed 1"},
		{"bogus=1", Config{}, "unknown fault"},
		{"locked", Config{}, "not name=value"},
		{"locked=0.1,locked=0.2", Config{}, "given twice"},
		{"retry_after=-1s", Config{}, "duration"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.spec)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) error = %v, want containing %q", tt.spec, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
		if err == nil && tt.spec != "" {
			again, err := Parse(got.String())
			if err != nil || again != got {
				t.Errorf("round trip of %q via %q = %+v, %v", tt.spec, got.String(), again, err)
			}
		}
	}
}

func TestDecideFractions(t *testing.T) {
	t.Parallel()
	in := NewInjector(Config{Locked: 0.3, RateLimited: 0.2, Unavailable: 0.1}, rand.New(rand.NewPCG(1, 2)))
	counts := map[Fault]int{}
	const n = 20000
	for range n {
		counts[in.Decide()]++
	}
	check := func(f Fault, want float64) {
		got := float64(counts[f]) / n
		if got < want-0.02 || got > want+0.02 {
			t.Errorf("fault %d fraction %.3f, want about %.2f", f, got, want)
		}
	}
	check(Locked, 0.3)
	check(RateLimited, 0.2)
	check(Unavailable, 0.1)
	check(None, 0.4)
	if NewInjector(Config{}, rand.New(rand.NewPCG(1, 2))).Decide() != None {
		t.Error("zero config injected a fault")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"locked=0.3,rate_limited=0.1,unavailable=0.05,retry_after=2s,processing_delay=5s", "", "locked=", "=,=", "retry_after=1e309"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		c, err := Parse(spec)
		if err != nil {
			return
		}
		if c.Locked < 0 || c.Locked > 1 || c.Locked+c.RateLimited+c.Unavailable > 1.0000001 || c.RetryAfter < 0 || c.ProcessingDelay < 0 {
			t.Fatalf("Parse(%q) accepted out-of-range config %+v", spec, c)
		}
	})
}
