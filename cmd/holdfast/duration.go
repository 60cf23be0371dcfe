package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseDuration accepts Go durations ("48h", "90m") and whole days, alone
// or before a Go duration ("2d", "1d12h"), which is how people write
// retention windows and look-back periods.
func parseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration: use a number of days and Go units, e.g. 2d, 36h or 1d12h", s)
	if s == "" {
		return 0, bad
	}
	days, rest := 0, s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 || n > 36500 || strings.HasPrefix(s, "+") {
			return 0, bad
		}
		days, rest = n, s[i+1:]
	}
	var d time.Duration
	if rest != "" {
		v, err := time.ParseDuration(rest)
		if err != nil || (days > 0 && v < 0) {
			return 0, bad
		}
		d = v
	}
	return time.Duration(days)*24*time.Hour + d, nil
}

// durationValue is a flag value that parses with parseDuration.
type durationValue time.Duration

func (d *durationValue) Set(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) String() string {
	v := time.Duration(*d)
	if v == 0 {
		return "0s"
	}
	if v%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(v/(24*time.Hour)), 10) + "d"
	}
	return v.String()
}

func (d *durationValue) Type() string { return "duration" }
