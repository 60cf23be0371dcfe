package main

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"48h", 48 * time.Hour, true},
		{"2d", 48 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"0d", 0, true},
		{"d", 0, false},
		{"2x", 0, false},
		{"-1d", 0, false},
		{"1.5d", 0, false},
		{"2dd", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// FuzzParseDuration: any input parses or is refused, never panics, and a
// parsed value prints back to one that parses to the same value.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"48h", "2d", "1d12h", "90m", "d", "-1d", "99999999999d", "1d-5h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err != nil {
			return
		}
		v := durationValue(d)
		back, err := parseDuration(v.String())
		if err != nil || back != d {
			t.Fatalf("%q parsed to %v, printed %q, parsed back to %v, %v", s, d, v.String(), back, err)
		}
	})
}
