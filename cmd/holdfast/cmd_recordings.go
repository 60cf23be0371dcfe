package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/client"
)

func newRecordingsCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "recordings", Short: "Find and show recordings",
		Example: "  holdfast recordings list --participant alice@example.com\n  holdfast recordings show rec_01JD0000000000000000000000"}
	cmd.AddCommand(newRecordingsListCommand(e), newRecordingsShowCommand(e))
	return cmd
}

// recordingsListOptions are the filters of `holdfast recordings list`.
type recordingsListOptions struct {
	cf          clientFlags
	sel         selection
	status      string
	caseID      string
	callID      string
	participant string
	held        bool
	asJSON      bool
}

func newRecordingsListCommand(e *env) *cobra.Command {
	var o recordingsListOptions
	cmd := &cobra.Command{
		Use:   "list [--media sip] [--since 48h | --from T --to T] [--status S] [--case ID] [--call-id C] [--participant P] [--held]",
		Short: "List recordings (every page) as a table, or one JSON array with --json",
		Example: `  holdfast recordings list --since 2d --media sip
  holdfast recordings list --call-id a84b4c76e66710@pc33.example.com
  holdfast recordings list --participant alice --held --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := o.params(time.Now(), cmd.Flags().Changed("held"))
			if err != nil {
				return err
			}
			c, err := o.cf.client(e)
			if err != nil {
				return err
			}
			all, err := allPages(func(cursor string) (client.Page[client.Recording], error) {
				p.Cursor, p.Limit = cursor, 1000
				return c.ListRecordings(cmd.Context(), p)
			})
			if err != nil {
				return err
			}
			if o.asJSON {
				return printJSON(e.stdout, all)
			}
			return printRecordings(e.stdout, all)
		},
	}
	o.cf.add(cmd)
	f := cmd.Flags()
	f.StringVar(&o.sel.media, "media", "", "media type: sip, screen, chat, email or message")
	f.Var((*durationValue)(&o.sel.since), "since", "recordings that started within this long before now, e.g. 48h or 2d")
	f.StringVar(&o.sel.from, "from", "", "start of the started_at range (RFC 3339, inclusive)")
	f.StringVar(&o.sel.to, "to", "", "end of the started_at range (RFC 3339, exclusive)")
	f.StringVar(&o.status, "status", "", "processing, completed or failed")
	f.StringVar(&o.caseID, "case", "", "only recordings under an active hold of this case")
	f.StringVar(&o.callID, "call-id", "", "only recordings of this SIP Call-ID")
	f.StringVar(&o.participant, "participant", "", "only recordings with a participant whose address or name contains this (any case)")
	f.BoolVar(&o.held, "held", false, "only recordings under an active hold (--held=false: only those under none)")
	f.BoolVar(&o.asJSON, "json", false, "print one JSON array of every matching recording")
	return cmd
}

// params maps the flags onto the list query.
func (o *recordingsListOptions) params(now time.Time, heldGiven bool) (client.ListRecordingsParams, error) {
	f, err := o.sel.filter(now)
	if err != nil {
		return client.ListRecordingsParams{}, err
	}
	p := client.ListRecordingsParams{MediaType: f.MediaType, From: f.From, To: f.To, Status: o.status, CaseID: o.caseID, CallID: o.callID, Participant: o.participant}
	if heldGiven {
		held := o.held
		p.LegalHold = &held
	}
	return p, nil
}

func printRecordings(w io.Writer, recs []client.Recording) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tMEDIA\tSTATUS\tDURATION\tCALL ID\tPARTICIPANTS\tHOLDS")
	for _, r := range recs {
		dur := "-"
		if r.DurationMS != nil {
			dur = (time.Duration(*r.DurationMS) * time.Millisecond).String()
		}
		var parts []string
		for _, p := range r.Participants {
			parts = append(parts, p.AOR)
		}
		holds := "-"
		if len(r.Holds) > 0 {
			var cases []string
			for _, h := range r.Holds {
				cases = append(cases, orText(h.CaseID, h.HoldID))
			}
			holds = strings.Join(cases, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.StartedAt.UTC().Format(time.RFC3339), r.MediaType, r.Status, dur,
			orText(r.CallID, "-"), orText(strings.Join(parts, ","), "-"), holds)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d recording(s)\n", len(recs))
	return nil
}

func newRecordingsShowCommand(e *env) *cobra.Command {
	var cf clientFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "show ID",
		Short:   "Show one recording: metadata, content hashes and active holds",
		Example: "  holdfast recordings show rec_01JD0000000000000000000000\n  holdfast recordings show rec_01JD0000000000000000000000 --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			r, err := c.GetRecording(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, r)
			}
			w := e.stdout
			fmt.Fprintf(w, "recording %s\n", r.ID)
			fmt.Fprintf(w, "  media type:   %s\n  status:       %s\n", r.MediaType, r.Status)
			if r.FailureReason != "" {
				fmt.Fprintf(w, "  failure:      %s\n", r.FailureReason)
			}
			fmt.Fprintf(w, "  call id:      %s\n  direction:    %s\n", orText(r.CallID, "-"), orText(r.Direction, "-"))
			fmt.Fprintf(w, "  started at:   %s\n  ended at:     %s\n", r.StartedAt.UTC().Format(time.RFC3339), orDash(r.EndedAt))
			if r.DurationMS != nil {
				fmt.Fprintf(w, "  duration:     %s\n", time.Duration(*r.DurationMS)*time.Millisecond)
			}
			for _, p := range r.Participants {
				fmt.Fprintf(w, "  participant:  %s %s %s\n", p.AOR, p.Name, p.Role)
			}
			for k, v := range r.Labels {
				fmt.Fprintf(w, "  label:        %s=%s\n", k, v)
			}
			fmt.Fprintf(w, "  content:      %s, %d bytes, %s %d Hz %d ch\n", r.Content.MediaFormat, r.Content.SizeBytes, orText(r.Content.Codec, "-"), r.Content.SampleRate, r.Content.Channels)
			fmt.Fprintf(w, "  sha256:       %s\n", r.Content.SHA256)
			fmt.Fprintf(w, "  ingested at:  %s\n", r.IngestedAt.UTC().Format(time.RFC3339))
			if !r.LegalHold {
				fmt.Fprintln(w, "  legal hold:   none")
			}
			for _, h := range r.Holds {
				fmt.Fprintf(w, "  legal hold:   %s (case %s, hold date %s): %s\n", h.HoldID, orText(h.CaseID, "-"), h.HoldDate.UTC().Format(time.RFC3339), h.HoldReason)
			}
			return nil
		},
	}
	cf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the recording as the API shows it")
	return cmd
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// orText returns s, or def when s is empty.
func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
