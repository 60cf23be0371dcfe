package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/client"
)

func newExportsCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "exports", Short: "List, watch and cancel export jobs",
		Example: "  holdfast exports list\n  holdfast exports show exp_01JD0000000000000000000000"}
	cmd.AddCommand(newExportsListCommand(e), newExportsShowCommand(e), newExportsCancelCommand(e))
	return cmd
}

func newExportsListCommand(e *env) *cobra.Command {
	var cf clientFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List every export job with its state and progress",
		Example: "  holdfast exports list\n  holdfast exports list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			all, err := allPages(func(cursor string) (client.Page[client.ExportJob], error) {
				return c.ListExports(cmd.Context(), cursor, 1000)
			})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, all)
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tCASE\tHOLD\tEXPORTED\tFAILED\tCREATED\tFINISHED")
			for _, j := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%d\t%s\t%s\n", j.ID, j.State, orText(jobCase(j), "-"), orText(j.HoldID, "-"),
					j.Progress.Exported, j.Progress.Matched, j.Progress.Failed, j.CreatedAt.UTC().Format(time.RFC3339), orDash(j.FinishedAt))
			}
			return tw.Flush()
		},
	}
	cf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON array of every export job")
	return cmd
}

// jobCase is the matter an export job belongs to.
func jobCase(j client.ExportJob) string {
	if j.Metadata.CaseID != "" {
		return j.Metadata.CaseID
	}
	return j.Filter.CaseID
}

// printJob renders one job: its state, progress, hold, failures and
// package.
func printJob(w io.Writer, j client.ExportJob) {
	p := j.Progress
	fmt.Fprintf(w, "export %s: %s\n", j.ID, j.State)
	fmt.Fprintf(w, "  case:         %s\n", orText(jobCase(j), "-"))
	fmt.Fprintf(w, "  progress:     %d/%d exported, %d failed, %d pending (%d%%), %d bytes\n", p.Exported, p.Matched, p.Failed, p.Pending, p.Percent, p.BytesExported)
	fmt.Fprintf(w, "  legal hold:   %s\n", orText(j.HoldID, "none"))
	fmt.Fprintf(w, "  created:      %s by %s\n", j.CreatedAt.UTC().Format(time.RFC3339), j.CreatedBy)
	fmt.Fprintf(w, "  started:      %s\n  finished:     %s\n", orDash(j.StartedAt), orDash(j.FinishedAt))
	if j.Error != "" {
		fmt.Fprintf(w, "  error:        %s\n", j.Error)
	}
	for _, f := range j.Failures {
		fmt.Fprintf(w, "  not exported: %s (%s: %s)\n", f.RecordingID, f.Code, f.Message)
	}
	if j.Package != nil {
		fmt.Fprintf(w, "  package:      %s\n  tagmanifest-sha256.txt SHA-256: %s\n", j.Package.Name, j.Package.TagmanifestSHA256)
	}
}

func newExportsShowCommand(e *env) *cobra.Command {
	var cf clientFlags
	var asJSON, watch bool
	var poll time.Duration
	cmd := &cobra.Command{
		Use:     "show ID [--watch]",
		Short:   "Show an export job: progress, failures and package; --watch follows it until it ends",
		Example: "  holdfast exports show exp_01JD0000000000000000000000\n  holdfast exports show exp_01JD0000000000000000000000 --watch",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			var j client.ExportJob
			if watch {
				j, err = waitForJob(cmd.Context(), e, c, args[0], poll)
			} else {
				j, err = c.GetExport(cmd.Context(), args[0])
			}
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, j)
			}
			printJob(e.stdout, j)
			return nil
		},
	}
	cf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the job as the API shows it")
	cmd.Flags().BoolVar(&watch, "watch", false, "show progress until the job ends")
	cmd.Flags().DurationVar(&poll, "poll", time.Second, "how often --watch polls")
	return cmd
}

func newExportsCancelCommand(e *env) *cobra.Command {
	var cf clientFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "cancel ID",
		Short:   "Cancel an export job (its legal hold stays in force)",
		Example: "  holdfast exports cancel exp_01JD0000000000000000000000",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			j, err := c.CancelExport(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, j)
			}
			fmt.Fprintf(e.stdout, "asked export %s to stop; it is now %s", j.ID, j.State)
			if j.HoldID != "" {
				fmt.Fprintf(e.stdout, " (its hold %s stays in force)", j.HoldID)
			}
			fmt.Fprintln(e.stdout)
			return nil
		},
	}
	cf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the job as the API shows it")
	return cmd
}
