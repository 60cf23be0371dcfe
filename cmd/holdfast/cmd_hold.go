package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/client"
)

// selection is the shared way hold and export commands select recordings.
type selection struct {
	ids   []string
	media string
	since time.Duration
	from  string
	to    string
}

func (s *selection) add(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&s.ids, "ids", nil, "recording ids, comma-separated")
	cmd.Flags().StringVar(&s.media, "media", "", "media type: sip, screen, chat, email or message")
	cmd.Flags().Var((*durationValue)(&s.since), "since", "recordings that started within this long before now, e.g. 48h or 2d")
	cmd.Flags().StringVar(&s.from, "from", "", "start of the started_at range (RFC 3339, inclusive)")
	cmd.Flags().StringVar(&s.to, "to", "", "end of the started_at range (RFC 3339, exclusive)")
}

func (s *selection) empty() bool {
	return len(s.ids) == 0 && s.media == "" && s.since == 0 && s.from == "" && s.to == ""
}

// filter turns the flags into an API filter.
func (s *selection) filter(now time.Time) (client.Filter, error) {
	var f client.Filter
	f.RecordIDs = s.ids
	if s.media != "" {
		f.MediaType = strings.ToUpper(s.media)
	}
	if s.since != 0 && (s.from != "" || s.to != "") {
		return f, usagef("give --since or --from/--to, not both")
	}
	if s.since < 0 {
		return f, usagef("--since must be positive, e.g. 48h")
	}
	if s.since > 0 {
		from := now.Add(-s.since).UTC()
		f.From = &from
	}
	for _, p := range []struct {
		flag, v string
		dst     **time.Time
	}{{"--from", s.from, &f.From}, {"--to", s.to, &f.To}} {
		if p.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, p.v)
		if err != nil {
			return f, usagef("%s %q must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-24T06:00:00Z", p.flag, p.v)
		}
		*p.dst = &t
	}
	return f, nil
}

func newHoldCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "hold", Short: "Place, show, list and release legal holds",
		Example: "  holdfast hold apply --case LC-2024-001 --reason 'Discovery Request #12345' --media sip --since 2d\n  holdfast hold list --case LC-2024-001"}
	cmd.AddCommand(newHoldApplyCommand(e), newHoldReleaseCommand(e), newHoldListCommand(e), newHoldShowCommand(e))
	return cmd
}

func newHoldApplyCommand(e *env) *cobra.Command {
	var cf clientFlags
	var sel selection
	var caseID, reason, holdDate string
	var future, asJSON bool
	cmd := &cobra.Command{
		Use: "apply --case ID --reason TEXT (--ids ID,… | --media sip --since 48h | --from T --to T) [--include-future]",
		Example: `  holdfast hold apply --case LC-2024-001 --reason "Discovery Request #12345" --media sip --since 2d
  holdfast hold apply --case LC-2024-001 --reason "Custodian Alice" --ids rec_01JD0000000000000000000000`,
		Short: "Place a legal hold",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if caseID == "" || reason == "" {
				return usagef("--case and --reason are required")
			}
			if sel.empty() {
				return usagef("select recordings with --ids, --media/--since or --from/--to")
			}
			f, err := sel.filter(time.Now())
			if err != nil {
				return err
			}
			req := client.CreateHoldRequest{CaseID: caseID, HoldReason: reason, Filter: f, IncludeFuture: future}
			if holdDate != "" {
				t, err := time.Parse(time.RFC3339Nano, holdDate)
				if err != nil {
					return usagef("--hold-date must be RFC 3339 with a time zone, e.g. 2023-11-01T00:00:00.000Z")
				}
				req.HoldDate = &t
			}
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			h, err := c.CreateHold(cmd.Context(), req)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(h)
			}
			fmt.Fprintf(e.stdout, "placed hold %s for case %s on %d recording(s)", h.HoldID, h.CaseID, h.Matched)
			if h.IncludeFuture {
				fmt.Fprint(e.stdout, ", and on matching recordings ingested from now on")
			}
			fmt.Fprintln(e.stdout)
			return nil
		},
	}
	cf.add(cmd)
	sel.add(cmd)
	cmd.Flags().StringVar(&caseID, "case", "", "case id, e.g. LC-2024-001")
	cmd.Flags().StringVar(&reason, "reason", "", "why the recordings are held")
	cmd.Flags().StringVar(&holdDate, "hold-date", "", "the hold's effective date (RFC 3339; default now)")
	cmd.Flags().BoolVar(&future, "include-future", false, "also hold matching recordings ingested later")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newHoldReleaseCommand(e *env) *cobra.Command {
	var cf clientFlags
	var reason, caseID string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "release (HOLD_ID | --case ID) --reason TEXT",
		Short: "Release one legal hold (others stay in force), or with --case every active hold of a case at once",
		Example: `  holdfast hold release hold_01JD0000000000000000000000 --reason 'Matter closed'
  holdfast hold release --case LC-2024-001 --reason 'Matter closed'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if reason == "" {
				return usagef("--reason is required")
			}
			if (len(args) == 1) == (caseID != "") {
				return usagef("name one hold (HOLD_ID) or one case (--case ID), not both and not neither")
			}
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			if caseID != "" {
				rel, err := c.ReleaseCase(cmd.Context(), caseID, reason)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(e.stdout, rel)
				}
				if len(rel.ReleasedHoldIDs) == 0 {
					fmt.Fprintf(e.stdout, "case %s has no active hold; nothing to release\n", rel.CaseID)
					return nil
				}
				fmt.Fprintf(e.stdout, "released case %s: %d hold(s)\n", rel.CaseID, len(rel.ReleasedHoldIDs))
				for _, id := range rel.ReleasedHoldIDs {
					fmt.Fprintf(e.stdout, "  %s\n", id)
				}
				return nil
			}
			h, err := c.ReleaseHold(cmd.Context(), args[0], reason)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(h)
			}
			fmt.Fprintf(e.stdout, "released hold %s (case %s)\n", h.HoldID, h.CaseID)
			return nil
		},
	}
	cf.add(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why the hold is released")
	cmd.Flags().StringVar(&caseID, "case", "", "release every active hold of this case, in one step")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// holdState is "active" or "released".
func holdState(h client.Hold) string {
	if h.Active {
		return "active"
	}
	return "released"
}

func newHoldListCommand(e *env) *cobra.Command {
	var cf clientFlags
	var caseID string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "list [--case ID]",
		Short:   "List legal holds (every page) as a table, or one JSON array with --json",
		Example: "  holdfast hold list\n  holdfast hold list --case LC-2024-001 --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			all, err := allPages(func(cursor string) (client.Page[client.Hold], error) {
				return c.ListHolds(cmd.Context(), caseID, cursor, 1000)
			})
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(all)
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "HOLD\tCASE\tSTATE\tRECORDINGS\tHOLD DATE\tAPPLIED\tREASON")
			for _, h := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", h.HoldID, orText(h.CaseID, "-"), holdState(h), h.RecordingCount,
					h.HoldDate.UTC().Format(time.RFC3339), h.AppliedAt.UTC().Format(time.RFC3339), h.HoldReason)
			}
			return tw.Flush()
		},
	}
	cf.add(cmd)
	cmd.Flags().StringVar(&caseID, "case", "", "only holds of this case")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON array of every hold")
	return cmd
}

func newHoldShowCommand(e *env) *cobra.Command {
	var cf clientFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "show HOLD_ID",
		Short:   "Show one legal hold with the number of recordings it covers",
		Example: "  holdfast hold show hold_01JDQ4S5Q6ZJ1G2H3K4M5N6P7Q",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			h, err := c.GetHold(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(h)
			}
			state := "active"
			if !h.Active {
				state = "released " + h.ReleasedAt.Format(time.RFC3339) + " by " + h.ReleasedBy + ": " + h.ReleaseReason
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			for _, row := range [][2]string{
				{"hold", h.HoldID}, {"case", h.CaseID}, {"state", state}, {"recordings", fmt.Sprint(h.RecordingCount)},
				{"reason", h.HoldReason}, {"hold date", h.HoldDate.Format(time.RFC3339)},
				{"applied", h.AppliedAt.Format(time.RFC3339) + " by " + h.AppliedBy}, {"include future", fmt.Sprint(h.IncludeFuture)},
			} {
				fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
			}
			return tw.Flush()
		},
	}
	cf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
