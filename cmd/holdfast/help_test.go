package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEverySubcommandHasHelpWithExample runs `--help` on every command of
// the tree and checks that it exits 0 and shows an example.
func TestEverySubcommandHasHelpWithExample(t *testing.T) {
	t.Parallel()
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			p := append(append([]string(nil), path...), sub.Name())
			paths = append(paths, p)
			walk(sub, p)
		}
	}
	walk(newRootCommand(&env{stdout: &strings.Builder{}, stderr: &strings.Builder{}, getenv: func(string) string { return "" }}), nil)
	if len(paths) < 20 {
		t.Fatalf("found only %d commands", len(paths))
	}
	for _, p := range paths {
		code, out, errs := runCLI(t, append(p, "--help")...)
		if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "holdfast "+p[len(p)-1]) && !strings.Contains(out, "holdfast "+strings.Join(p, " ")) {
			t.Errorf("holdfast %s --help: exit %d, no example shown:\n%s%s", strings.Join(p, " "), code, out, errs)
		}
	}
}
