package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildInfo is what `holdfast version` reports, read from the binary's
// embedded build information.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
	Modified  bool   `json:"modified,omitempty"`
}

// readBuildInfo reads the module version, the VCS commit (when the binary
// was built from a checkout with VCS stamping) and the Go version.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: "(devel)", Commit: "unknown", GoVersion: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.GoVersion = bi.GoVersion
	if v := bi.Main.Version; v != "" {
		b.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String renders the one line `holdfast version` and `--version` print.
func (b buildInfo) String() string {
	commit := b.Commit
	if b.Modified {
		commit += " (modified)"
	}
	return fmt.Sprintf("holdfast %s, commit %s, built with %s", b.Version, commit, b.GoVersion)
}

func newVersionCommand(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the version, commit and Go version of this binary",
		Example: "  holdfast version\n  holdfast --version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b := readBuildInfo()
			if asJSON {
				return printJSON(e.stdout, b)
			}
			_, err := fmt.Fprintln(e.stdout, b.String())
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
