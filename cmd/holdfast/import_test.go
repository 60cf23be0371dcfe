package main

import (
	"strings"
	"testing"
	"time"
)

// TestImportGenesysUsage: configuration mistakes exit 2 with a sentence
// naming the fix, before anything is contacted.
func TestImportGenesysUsage(t *testing.T) {
	t.Parallel()
	creds := []string{"--token", "t", "--client-id", "id", "--client-secret", "s", "--region", "mypurecloud.ie"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no interval", creds, "--since 48h, or --from and --to"},
		{"since and from", append([]string{"--since", "48h", "--from", "2026-11-01T00:00:00Z"}, creds...), "not both"},
		{"bad since", append([]string{"--since", "yesterday"}, creds...), "48h or 2d"},
		{"from after to", append([]string{"--from", "2026-11-02T00:00:00Z", "--to", "2026-11-01T00:00:00Z"}, creds...), "--from must be before --to"},
		{"bad from", append([]string{"--from", "2026-11-01", "--to", "2026-11-02T00:00:00Z"}, creds...), "RFC 3339"},
		{"chat media", append([]string{"--since", "2d", "--media", "chat"}, creds...), "only sip"},
		{"no client", []string{"--since", "2d", "--token", "t", "--region", "mypurecloud.ie"}, "GENESYS_CLIENT_ID"},
		{"no region", []string{"--since", "2d", "--token", "t", "--client-id", "id", "--client-secret", "s"}, "GENESYS_REGION"},
		{"region as URL", []string{"--since", "2d", "--token", "t", "--client-id", "id", "--client-secret", "s", "--region", "https://api.mypurecloud.ie"}, "region's domain"},
		{"no holdfast token", []string{"--since", "2d", "--client-id", "id", "--client-secret", "s", "--region", "mypurecloud.ie"}, "HOLDFAST_TOKEN"},
	} {
		code, _, errs := runCLI(t, append([]string{"import", "genesys"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 mentioning %q", tc.name, code, errs, tc.want)
		}
	}
}

func TestParseSince(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"48h": 48 * time.Hour, "2d": 48 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := parseSince(in); err != nil || got != want {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "-1h", "d", "1.5d", "0s"} {
		if _, err := parseSince(in); err == nil {
			t.Errorf("parseSince(%q) succeeded", in)
		}
	}
}
