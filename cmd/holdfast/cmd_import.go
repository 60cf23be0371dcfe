package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/internal/genesys"
	"github.com/holdfast/holdfast/internal/genesysimport"
)

// importGenesysOptions are the flags of `holdfast import genesys` (§14).
type importGenesysOptions struct {
	cf           clientFlags
	since        string
	from, to     string
	media        string
	protect      bool
	clientID     string
	clientSecret string
	region       string
	apiBase      string
	state        string
	workers      int
	poll         time.Duration
	transcode    time.Duration
	jsonOut      bool
}

func newImportCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "import", Short: "Copy recordings into holdfast from another platform",
		Example: "  holdfast import genesys --since 48h --media sip"}
	cmd.AddCommand(newImportGenesysCommand(e))
	return cmd
}

func newImportGenesysCommand(e *env) *cobra.Command {
	var o importGenesysOptions
	cmd := &cobra.Command{
		Use:   "genesys (--since 48h | --from T --to T) [--media sip] [--protect]",
		Short: "Copy recordings from a Genesys Cloud organisation into holdfast, resumably and without duplicates",
		Long: `Finds the interval's conversations in Genesys Cloud (analytics details API), downloads their audio
recordings through batch download requests, and ingests each with its Genesys ids as labels
(genesys.conversation_id, genesys.recording_id). A rerun imports only what is missing; recordings
already in holdfast (found by their genesys.recording_id label) are skipped, whatever token runs it.
Non-audio recordings (chat, email, message, screen) are counted as unsupported_media.
With --protect, conversations whose recordings are under an active holdfast hold are put under
Genesys deletion protection (at most 100 per call, 1,000 per organisation).

Exit status: 0 when nothing failed, 1 when any recording failed or --protect stopped at the
organisation's cap, 2 for usage or configuration errors.`,
		Example: `  export GENESYS_CLIENT_ID=… GENESYS_CLIENT_SECRET=… GENESYS_REGION=mypurecloud.ie
  holdfast import genesys --since 48h --media sip
  holdfast import genesys --from 2026-11-01T00:00:00Z --to 2026-11-08T00:00:00Z --protect`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runImportGenesys(cmd.Context(), e, &o) },
	}
	o.cf.add(cmd)
	f := cmd.Flags()
	f.StringVar(&o.since, "since", "", "conversations that started within this long before now, e.g. 48h or 2d")
	f.StringVar(&o.from, "from", "", "start of the interval (RFC 3339, inclusive)")
	f.StringVar(&o.to, "to", "", "end of the interval (RFC 3339, exclusive)")
	f.StringVar(&o.media, "media", "", "only conversations of this media: sip (voice calls)")
	f.BoolVar(&o.protect, "protect", false, "mirror holdfast's active holds to Genesys deletion protection")
	f.StringVar(&o.clientID, "client-id", "", "Genesys OAuth client id, client credentials grant (env GENESYS_CLIENT_ID)")
	f.StringVar(&o.clientSecret, "client-secret", "", "Genesys OAuth client secret (env GENESYS_CLIENT_SECRET)")
	f.StringVar(&o.region, "region", "", "Genesys Cloud region, e.g. mypurecloud.com, mypurecloud.ie, mypurecloud.de (env GENESYS_REGION)")
	f.StringVar(&o.apiBase, "api-base", "", "API base URL, overriding the region; the token is requested at <api-base>/oauth/token (env GENESYS_API_BASE)")
	f.StringVar(&o.state, "state", "holdfast-import-genesys.json", "resume state file (written atomically after every change)")
	f.IntVar(&o.workers, "workers", 4, "recordings downloaded and ingested at once")
	f.DurationVar(&o.poll, "poll", 2*time.Second, "how often Genesys jobs, batches and transcoding recordings are checked")
	f.DurationVar(&o.transcode, "transcode-wait", 30*time.Minute, "how long a recording may stay \"being transcoded\" before it counts as failed")
	f.BoolVar(&o.jsonOut, "json", false, "print the summary as JSON")
	return cmd
}

// parseSince accepts Go durations and days ("2d"), and only positive ones.
func parseSince(s string) (time.Duration, error) {
	v, err := parseDuration(s)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("--since %q: want a positive duration such as 48h or 2d", s)
	}
	return v, nil
}

// interval resolves --since or --from/--to.
func (o *importGenesysOptions) interval(now time.Time) (time.Time, time.Time, error) {
	switch {
	case o.since != "" && (o.from != "" || o.to != ""):
		return time.Time{}, time.Time{}, usagef("give --since or --from/--to, not both")
	case o.since != "":
		d, err := parseSince(o.since)
		if err != nil {
			return time.Time{}, time.Time{}, usagef("%v", err)
		}
		return now.Add(-d), now, nil
	case o.from == "" || o.to == "":
		return time.Time{}, time.Time{}, usagef("select the interval with --since 48h, or --from and --to")
	}
	from, err1 := time.Parse(time.RFC3339Nano, o.from)
	to, err2 := time.Parse(time.RFC3339Nano, o.to)
	if err1 != nil || err2 != nil {
		return time.Time{}, time.Time{}, usagef("--from and --to must be RFC 3339 timestamps with a time zone, e.g. 2026-11-24T06:00:00Z")
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, usagef("--from must be before --to")
	}
	return from, to, nil
}

// genesysClient builds the Genesys client from flags and environment.
func (o *importGenesysOptions) genesysClient(e *env, log *slog.Logger) (*genesys.Client, error) {
	pick := func(flag, envName string) string {
		if flag != "" {
			return flag
		}
		return e.getenv(envName)
	}
	id, secret := pick(o.clientID, "GENESYS_CLIENT_ID"), pick(o.clientSecret, "GENESYS_CLIENT_SECRET")
	if id == "" || secret == "" {
		return nil, usagef("no Genesys OAuth client: pass --client-id and --client-secret or set GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET (see docs/genesys.md)")
	}
	var api, tok string
	if base := pick(o.apiBase, "GENESYS_API_BASE"); base != "" {
		api, tok = genesys.BaseConfig(base)
	} else if region := pick(o.region, "GENESYS_REGION"); region != "" {
		if strings.ContainsAny(region, "/: ") {
			return nil, usagef("--region %q: give the region's domain, e.g. mypurecloud.com or mypurecloud.ie", region)
		}
		api, tok = genesys.RegionConfig(region)
	} else {
		return nil, usagef("no Genesys region: pass --region (e.g. mypurecloud.com) or set GENESYS_REGION, or --api-base")
	}
	c, err := genesys.New(genesys.Config{ClientID: id, ClientSecret: secret, APIBase: api, TokenURL: tok, Logger: log})
	if err != nil {
		return nil, usagef("%v", err)
	}
	return c, nil
}

func runImportGenesys(ctx context.Context, e *env, o *importGenesysOptions) error {
	now := time.Now().UTC()
	from, to, err := o.interval(now)
	if err != nil {
		return err
	}
	switch strings.ToLower(o.media) {
	case "", "sip":
	default:
		return usagef("--media %q: only sip (voice) recordings can be imported; other media are counted as unsupported_media without --media", o.media)
	}
	if o.workers < 1 || o.workers > 64 {
		return usagef("--workers must be 1 to 64")
	}
	hc, err := o.cf.client(e)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.cf.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	gc, err := o.genesysClient(e, log)
	if err != nil {
		return err
	}
	prog := newImportProgress(e, isTerminal(e.stderr))
	sum, runErr := genesysimport.Run(ctx, genesysimport.Config{
		Genesys: gc, Holdfast: hc, StatePath: o.state, From: from, To: to,
		VoiceOnly: strings.EqualFold(o.media, "sip"), Protect: o.protect, Workers: o.workers,
		Poll: o.poll, TranscodeWait: o.transcode, Logger: log, Events: prog.event,
	})
	prog.finish()
	if runErr != nil && !errors.Is(runErr, context.Canceled) && sum.ConversationsFound == 0 {
		return runErr
	}
	printImportSummary(e, sum, o.jsonOut)
	switch {
	case runErr != nil:
		return fmt.Errorf("the import stopped early: %w", runErr)
	case len(sum.Failed) > 0:
		return fmt.Errorf("%d recording(s) or conversation(s) could not be imported; rerun the same command to retry them", len(sum.Failed))
	case sum.Protection != nil && sum.Protection.Stopped:
		return fmt.Errorf("Genesys deletion protection stopped at the organisation's limit; holdfast's own holds are in force")
	}
	return nil
}

func printImportSummary(e *env, s genesysimport.Summary, asJSON bool) {
	w := e.stdout
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s)
		return
	}
	fmt.Fprintf(w, "genesys import:\n")
	fmt.Fprintf(w, "  conversations found: %d\n", s.ConversationsFound)
	fmt.Fprintf(w, "  recordings found: %d\n", s.RecordingsFound)
	fmt.Fprintf(w, "  recordings imported: %d\n", s.Imported)
	fmt.Fprintf(w, "  skipped (already present): %d\n", s.Skipped)
	fmt.Fprintf(w, "  unsupported_media (not audio): %d\n", s.UnsupportedMedia)
	fmt.Fprintf(w, "  failed: %d\n", len(s.Failed))
	for _, f := range s.Failed {
		what := "conversation " + f.ConversationID
		if f.RecordingID != "" {
			what = "recording " + f.RecordingID + " (conversation " + f.ConversationID + ")"
		}
		fmt.Fprintf(w, "    %s: %s\n", what, f.Reason)
	}
	if p := s.Protection; p != nil {
		fmt.Fprintf(w, "  deletion protection: %d held conversation(s): %d protected now, %d already protected, %d not protected\n",
			p.Held, p.Protected, p.AlreadyProtected, p.NotProtected)
		if p.Stopped {
			fmt.Fprintf(w, "  Genesys refused to protect more conversations: the organisation's limit of %d protected conversations is reached (%s); %d held conversation(s) remain unprotected in Genesys but stay under hold in holdfast.\n",
				genesysimport.OrgProtectionCap, p.Message, p.NotProtected)
		}
	}
}

// importProgress renders events: a bar on a terminal, one line per change
// otherwise.
type importProgress struct {
	e      *env
	tty    bool
	drawn  bool
	counts map[string]int
}

func newImportProgress(e *env, tty bool) *importProgress {
	return &importProgress{e: e, tty: tty, counts: map[string]int{}}
}

func (p *importProgress) event(ev genesysimport.Event) {
	p.counts[ev.Kind]++
	w := p.e.stderr
	if !p.tty {
		switch ev.Kind {
		case genesysimport.EventFound, genesysimport.EventProtected, genesysimport.EventProtectStop:
			fmt.Fprintf(w, "%s\n", ev.Message)
		case genesysimport.EventImported:
			fmt.Fprintf(w, "[%d/%d] imported %s (conversation %s) as %s\n", ev.Done, ev.Total, ev.RecordingID, ev.ConversationID, ev.HoldfastID)
		case genesysimport.EventSkipped:
			fmt.Fprintf(w, "[%d/%d] skipped %s (conversation %s): already present as %s\n", ev.Done, ev.Total, ev.RecordingID, ev.ConversationID, ev.HoldfastID)
		case genesysimport.EventFailed:
			fmt.Fprintf(w, "[%d/%d] failed %s (conversation %s): %s\n", ev.Done, ev.Total, ev.RecordingID, ev.ConversationID, ev.Message)
		default:
			fmt.Fprintf(w, "%s %s (conversation %s): %s\n", ev.Kind, ev.RecordingID, ev.ConversationID, ev.Message)
		}
		return
	}
	if ev.Kind == genesysimport.EventFound || ev.Kind == genesysimport.EventProtectStop || ev.Kind == genesysimport.EventFailed {
		p.clear()
		fmt.Fprintf(w, "%s %s\n", ev.Kind, strings.TrimSpace(ev.RecordingID+" "+ev.Message))
	}
	const width = 30
	fill := 0
	if ev.Total > 0 {
		fill = min(width, ev.Done*width/ev.Total)
	}
	fmt.Fprintf(w, "\r[%s%s] %d/%d recordings: %d imported, %d skipped, %d failed, %d waiting  ",
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill), ev.Done, ev.Total,
		p.counts[genesysimport.EventImported], p.counts[genesysimport.EventSkipped], p.counts[genesysimport.EventFailed], p.counts[genesysimport.EventWaiting])
	p.drawn = true
}

func (p *importProgress) clear() {
	if p.drawn {
		fmt.Fprint(p.e.stderr, "\r\033[K")
		p.drawn = false
	}
}

func (p *importProgress) finish() {
	if p.drawn {
		fmt.Fprintln(p.e.stderr)
	}
}
