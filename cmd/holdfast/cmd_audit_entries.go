package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/client"
)

func newAuditEntriesCommand(e *env) *cobra.Command {
	var cf clientFlags
	var start int64
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "entries [--start N] [--limit N]",
		Short: "Print the audit log, one line per entry (every page from --start; at most --limit entries)",
		Example: `  holdfast audit entries
  holdfast audit entries --start 100 --limit 20
  holdfast audit entries --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if start < 0 || limit < 0 {
				return usagef("--start and --limit must not be negative")
			}
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			all := []client.AuditEntry{}
			for next := start; limit == 0 || len(all) < limit; {
				n := 1000
				if limit > 0 {
					n = min(n, limit-len(all))
				}
				page, err := c.AuditEntries(cmd.Context(), next, n)
				if err != nil {
					return err
				}
				all = append(all, page.Items...)
				if page.NextCursor == "" || len(page.Items) == 0 {
					break
				}
				next = page.Items[len(page.Items)-1].Index + 1
			}
			if asJSON {
				return printJSON(e.stdout, all)
			}
			return printAuditEntries(e.stdout, all)
		},
	}
	cf.add(cmd)
	cmd.Flags().Int64Var(&start, "start", 0, "index of the first entry")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many entries (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON array of the entries")
	return cmd
}

// printAuditEntries prints one line per entry: index, time, type, actor,
// subject and the entry's data.
func printAuditEntries(w io.Writer, entries []client.AuditEntry) error {
	for _, en := range entries {
		data := string(en.Data)
		if len(data) > 300 {
			data = data[:300] + "…"
		}
		if _, err := fmt.Fprintf(w, "%-6s %s  %-22s %-30s %s  %s\n", strconv.FormatInt(en.Index, 10), en.Time.UTC().Format(time.RFC3339), en.Type, en.Actor, en.Subject, data); err != nil {
			return err
		}
	}
	return nil
}
