package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/atomicfile"
	"github.com/holdfast/holdfast/internal/audit"
)

// exportStateFile keeps what a re-run needs in --out: the request, its
// idempotency key and the job, so running the same command again resumes
// the same job and never creates a second one.
const exportStateFile = ".holdfast-export.json"

type exportState struct {
	Server string `json:"server"`
	// Selection is the command's selection flags, so a re-run with other
	// flags is noticed instead of silently resuming a different export.
	Selection      string               `json:"selection"`
	Request        client.ExportRequest `json:"request"`
	IdempotencyKey string               `json:"idempotency_key"`
	JobID          string               `json:"job_id,omitempty"`
}

type exportOptions struct {
	cf        clientFlags
	sel       selection
	caseID    string
	legalHold bool
	reason    string
	out       string
	wait      string
	poll      time.Duration
}

func newExportCommand(e *env) *cobra.Command {
	var o exportOptions
	cmd := &cobra.Command{
		Use: "export --case ID [--media sip] [--since 48h | --from T --to T] [--ids …] [--legal-hold] [--reason TEXT] --out DIR",
		Example: `  holdfast export --case LC-2024-001 --media sip --since 2d --legal-hold --out discovery
  holdfast export --case LC-2024-001 --out discovery-again   # the recordings under the case's holds`,
		Short: "Create a discovery export, download its bag into DIR and verify it; re-running resumes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExport(cmd.Context(), e, &o)
		},
	}
	o.cf.add(cmd)
	o.sel.add(cmd)
	cmd.Flags().StringVar(&o.caseID, "case", "", "the matter: held for with --legal-hold; alone, selects the recordings under its holds")
	cmd.Flags().BoolVar(&o.legalHold, "legal-hold", false, "place a legal hold on every selected recording as the job is created")
	cmd.Flags().StringVar(&o.reason, "reason", "", "hold reason (default: a sentence naming the case and job)")
	cmd.Flags().StringVar(&o.out, "out", "", "directory to download the bag into")
	cmd.Flags().StringVar(&o.wait, "wait-for-processing", "", "how long the job waits for recordings still processing (default 15m)")
	cmd.Flags().DurationVar(&o.poll, "poll", time.Second, "how often to poll the job")
	return cmd
}

// selectionKey renders the flags that decide what is exported.
func (o *exportOptions) selectionKey() string {
	return fmt.Sprintf("case=%s media=%s since=%s from=%s to=%s ids=%s legal-hold=%t reason=%q wait=%s",
		o.caseID, strings.ToUpper(o.sel.media), o.sel.since, o.sel.from, o.sel.to, strings.Join(o.sel.ids, ","), o.legalHold, o.reason, o.wait)
}

// buildExportRequest maps the flags onto the canonical request (§10).
func buildExportRequest(o *exportOptions, now time.Time) (client.ExportRequest, error) {
	var req client.ExportRequest
	f, err := o.sel.filter(now)
	if err != nil {
		return req, err
	}
	if o.sel.since > 0 && f.To == nil {
		to := now.UTC().Add(time.Minute).Truncate(time.Second)
		f.To = &to
	}
	if o.caseID != "" && o.sel.empty() && !o.legalHold {
		f.CaseID = o.caseID
	}
	if f.MediaType == "" && f.From == nil && f.To == nil && len(f.RecordIDs) == 0 && f.CaseID == "" {
		return req, usagef("select recordings with --media, --since, --from/--to, --ids, or --case alone")
	}
	req.Filter = f
	if o.legalHold || o.caseID != "" || o.reason != "" {
		if o.reason != "" && !o.legalHold {
			return req, usagef("--reason only applies with --legal-hold")
		}
		req.Metadata = &client.ExportMetadata{LegalHold: o.legalHold, CaseID: o.caseID, HoldReason: o.reason}
	}
	if o.wait != "" {
		req.Options = &client.ExportOptions{WaitForProcessing: o.wait}
	}
	return req, nil
}

func loadExportState(out string) (*exportState, error) {
	b, err := os.ReadFile(filepath.Join(out, exportStateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st exportState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, usagef("%s in %s is damaged: %v", exportStateFile, out, err)
	}
	return &st, nil
}

func saveExportState(out string, st *exportState) error {
	b, _ := json.MarshalIndent(st, "", "  ")
	return atomicfile.WriteFile(filepath.Join(out, exportStateFile), b, 0o644)
}

func runExport(ctx context.Context, e *env, o *exportOptions) error {
	if o.out == "" {
		return usagef("--out DIR is required")
	}
	c, err := o.cf.client(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o750); err != nil {
		return usagef("--out %s: %v", o.out, err)
	}
	unlock, err := acquireExportLock(o.out, time.Now())
	if err != nil {
		return err
	}
	defer unlock()
	st, err := loadExportState(o.out)
	if err != nil {
		return err
	}
	sel := o.selectionKey()
	if st != nil && st.Selection != sel {
		if st.JobID != "" {
			return usagef("%s already holds export job %s, made with other flags (%s); re-run with those flags to resume it, or use a new --out", o.out, st.JobID, st.Selection)
		}
		st = nil // never created on the server: start over with these flags
	}
	if st == nil {
		req, err := buildExportRequest(o, time.Now())
		if err != nil {
			return err
		}
		abs, _ := filepath.Abs(o.out)
		sum := sha256.Sum256([]byte(abs + "\x00" + client.NewIdempotencyKey()))
		st = &exportState{Server: o.cf.resolvedServer(e), Selection: sel, Request: req, IdempotencyKey: "export-" + hex.EncodeToString(sum[:16])}
		if err := saveExportState(o.out, st); err != nil {
			return fmt.Errorf("saving export state in %s: %w", o.out, err)
		}
	} else {
		fmt.Fprintf(e.stderr, "resuming the export saved in %s\n", filepath.Join(o.out, exportStateFile))
	}
	if st.JobID == "" {
		job, err := c.CreateExport(ctx, st.Request, st.IdempotencyKey)
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status >= 400 && ce.Status < 500 && ce.Status != 409 && ce.Status != 429 {
			// Refused for good: forget the request, so the corrected
			// command starts afresh in the same --out.
			_ = os.Remove(filepath.Join(o.out, exportStateFile))
		}
		if err != nil {
			return err
		}
		st.JobID = job.ID
		if err := saveExportState(o.out, st); err != nil {
			return fmt.Errorf("saving export state in %s: %w", o.out, err)
		}
		if job.Progress.Matched == 0 {
			// Nothing to export and nothing held: forget the request, so
			// a corrected command starts afresh in the same --out.
			_ = os.Remove(filepath.Join(o.out, exportStateFile))
			return fmt.Errorf("nothing matched: export job %s selects no recording (%s), so no hold was placed and there is no bag; check the selection with holdfast recordings list", job.ID, describeFilter(st.Request.Filter))
		}
		fmt.Fprintf(e.stderr, "export job %s created; %d recording(s) matched", job.ID, job.Progress.Matched)
		if job.HoldID != "" {
			fmt.Fprintf(e.stderr, ", all placed under hold %s", job.HoldID)
		}
		fmt.Fprintln(e.stderr)
	}
	job, err := waitForJob(ctx, e, c, st.JobID, o.poll)
	if err != nil {
		return err
	}
	switch {
	case job.State == "failed":
		return fmt.Errorf("export job %s failed on the server: %s", job.ID, job.Error)
	case job.State == "cancelled":
		return fmt.Errorf("export job %s was cancelled before it finished", job.ID)
	case job.Package == nil:
		return fmt.Errorf("export job %s ended %s without a package", job.ID, job.State)
	}
	bagDir := filepath.Join(o.out, job.Package.Name)
	downloaded, skipped, err := downloadBag(ctx, c, job, o.out)
	if err != nil {
		return err
	}
	pemKey, err := c.SigningKey(ctx)
	if err != nil {
		return err
	}
	key, err := audit.ParsePublicKeyPEM(pemKey)
	if err != nil {
		return fmt.Errorf("the server's signing key: %w", err)
	}
	rep, err := verifyBagDir(ctx, bagDir, key)
	if err != nil {
		return err
	}
	printVerify(e, rep, false, "pinned to the server's signing key")
	if !rep.OK {
		return fmt.Errorf("the downloaded bag at %s does not verify: %s: %s", bagDir, rep.Problems[0].Path, rep.Problems[0].Message)
	}
	tm, _ := os.ReadFile(filepath.Join(bagDir, "tagmanifest-sha256.txt"))
	tmSum := sha256.Sum256(tm)
	w := e.stdout
	fmt.Fprintf(w, "\nexport %s: %s\n", job.ID, job.State)
	fmt.Fprintf(w, "  recordings exported: %d of %d\n", job.Progress.Exported, job.Progress.Matched)
	for _, f := range job.Failures {
		fmt.Fprintf(w, "  not exported: %s (%s: %s)\n", f.RecordingID, f.Code, f.Message)
	}
	if job.HoldID != "" {
		fmt.Fprintf(w, "  legal hold: %s (case %s)\n", job.HoldID, job.Metadata.CaseID)
	}
	fmt.Fprintf(w, "  bag: %s (%d file(s) downloaded, %d already verified)\n", bagDir, downloaded, skipped)
	fmt.Fprintf(w, "  tagmanifest-sha256.txt SHA-256: %s\n", hex.EncodeToString(tmSum[:]))
	fmt.Fprintf(w, "  signed by: %s\n", audit.Fingerprint(key))
	return nil
}

// describeFilter renders a filter the way the flags gave it.
func describeFilter(f client.Filter) string {
	var parts []string
	if f.CaseID != "" {
		parts = append(parts, "under the holds of case "+f.CaseID)
	}
	if f.MediaType != "" {
		parts = append(parts, "media "+f.MediaType)
	}
	if f.From != nil {
		parts = append(parts, "started from "+f.From.UTC().Format(time.RFC3339))
	}
	if f.To != nil {
		parts = append(parts, "before "+f.To.UTC().Format(time.RFC3339))
	}
	if len(f.RecordIDs) > 0 {
		parts = append(parts, fmt.Sprintf("%d listed id(s)", len(f.RecordIDs)))
	}
	return strings.Join(parts, ", ")
}

// waitForJob polls until the job ends, showing progress: a bar on a
// terminal, one line per change otherwise.
func waitForJob(ctx context.Context, e *env, c *client.Client, id string, poll time.Duration) (client.ExportJob, error) {
	tty := isTerminal(e.stderr)
	last := ""
	for {
		job, err := c.GetExport(ctx, id)
		if err != nil {
			return job, err
		}
		p := job.Progress
		line := fmt.Sprintf("%s: %d/%d exported, %d failed, %d pending (%d%%)", job.State, p.Exported, p.Matched, p.Failed, p.Pending, p.Percent)
		if tty {
			const width = 30
			filled := p.Percent * width / 100
			fmt.Fprintf(e.stderr, "\r[%s%s] %s   ", strings.Repeat("#", filled), strings.Repeat(".", width-filled), line)
		} else if line != last {
			fmt.Fprintln(e.stderr, line)
		}
		last = line
		if job.Finished() {
			if tty {
				fmt.Fprintln(e.stderr)
			}
			return job, nil
		}
		select {
		case <-ctx.Done():
			return job, ctx.Err()
		case <-time.After(poll):
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// downloadBag fetches every file of the package into the bag's directory
// under out, one at a time. Whatever the server says, nothing is written
// outside out: the bag name and every file path must be plain relative
// names (no "..", absolute paths, backslashes, drive letters, NUL or
// control characters), and every write goes through an [os.Root], which
// also refuses symbolic links that lead out. A file already present with
// the right SHA-256 is kept; a partial download (.part) is resumed with
// Range; every file is checked against the SHA-256 the server lists for it
// (from the bag's manifests) before it takes its final name, and a file
// that grows past the size the server listed is cut off.
func downloadBag(ctx context.Context, c *client.Client, job client.ExportJob, out string) (downloaded, skipped int, err error) {
	if !safeBagName(job.Package.Name) {
		return 0, 0, fmt.Errorf("the server named the package %q, which is not a plain directory name", job.Package.Name)
	}
	files, err := c.PackageFiles(ctx, job.ID)
	if err != nil {
		return 0, 0, err
	}
	for _, f := range files {
		if !safeRel(f.Path) {
			return 0, 0, fmt.Errorf("the server listed an unsafe path %q in the package; nothing was downloaded", f.Path)
		}
		if f.SizeBytes < 0 {
			return 0, 0, fmt.Errorf("the server listed %q with a negative size %d", f.Path, f.SizeBytes)
		}
	}
	outRoot, err := os.OpenRoot(out)
	if err != nil {
		return 0, 0, err
	}
	defer outRoot.Close()
	if err := outRoot.MkdirAll(job.Package.Name, 0o750); err != nil {
		return 0, 0, fmt.Errorf("creating the bag directory in %s: %w", out, err)
	}
	root, err := outRoot.OpenRoot(job.Package.Name)
	if err != nil {
		return 0, 0, fmt.Errorf("opening the bag directory in %s: %w", out, err)
	}
	defer root.Close()
	for _, f := range files {
		dst := filepath.FromSlash(f.Path)
		if sum, err := rootFileSHA256(root, dst); err == nil && sum == f.SHA256 {
			skipped++
			continue
		}
		if dir := filepath.Dir(dst); dir != "." {
			if err := root.MkdirAll(dir, 0o750); err != nil {
				return downloaded, skipped, fmt.Errorf("creating %s in the bag: %w", dir, err)
			}
		}
		if err := downloadFile(ctx, c, job.ID, f, root, dst); err != nil {
			return downloaded, skipped, err
		}
		downloaded++
	}
	return downloaded, skipped, nil
}

// bagNamePattern is what a holdfast bag name looks like
// (<case_id or "export">_<job id>): one path element that cannot be ".",
// "..", absolute, or carry a separator on any system.
var bagNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

func safeBagName(name string) bool { return bagNamePattern.MatchString(name) }

// fileSegmentPattern is one element of a package file path. It admits the
// names holdfast writes (data/recordings/<id>.<ext>, tag files) and
// nothing that could climb, be absolute, or mean something else on
// another system (":", "\", NUL, control characters, leading dots).
var fileSegmentPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$`)

// safeRel reports whether p is a plain relative slash path inside a bag.
func safeRel(p string) bool {
	if p == "" || len(p) > 1024 {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if !fileSegmentPattern.MatchString(seg) || strings.HasSuffix(seg, ".part") {
			return false
		}
	}
	return true
}

// cappedWriter fails once more than n bytes are written, so a server
// cannot fill the disk by sending more than the size it listed.
type cappedWriter struct {
	w io.Writer
	n int64
}

func (c *cappedWriter) Write(b []byte) (int, error) {
	if int64(len(b)) > c.n {
		return 0, fmt.Errorf("the server sent more bytes than the size it listed")
	}
	n, err := c.w.Write(b)
	c.n -= int64(n)
	return n, err
}

func downloadFile(ctx context.Context, c *client.Client, jobID string, f client.PackageFile, root *os.Root, dst string) error {
	part := dst + ".part"
	for attempt := 0; ; attempt++ {
		out, err := root.OpenFile(part, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return err
		}
		st, err := out.Stat()
		if err != nil || !st.Mode().IsRegular() {
			out.Close()
			return fmt.Errorf("%s in the bag is not a regular file", part)
		}
		offset := st.Size()
		if offset > f.SizeBytes {
			out.Close()
			root.Remove(part)
			continue
		}
		if offset < f.SizeBytes || f.SizeBytes == 0 {
			_, err = c.DownloadPackageFile(ctx, jobID, f.Path, offset, &cappedWriter{w: out, n: f.SizeBytes - offset})
		}
		if err == nil {
			err = out.Sync()
		}
		out.Close()
		if errors.Is(err, client.ErrRangeIgnored) {
			root.Remove(part)
			continue
		}
		if err != nil {
			if ctx.Err() != nil || attempt >= 5 {
				return fmt.Errorf("downloading %s: %w", f.Path, err)
			}
			continue // resume from what arrived
		}
		sum, err := rootFileSHA256(root, part)
		if err != nil {
			return err
		}
		if sum != f.SHA256 {
			root.Remove(part)
			if attempt >= 5 {
				return fmt.Errorf("downloaded %s hashes to %s, but the package lists %s", f.Path, sum, f.SHA256)
			}
			continue
		}
		return root.Rename(part, dst)
	}
}

// rootFileSHA256 hashes a file inside root.
func rootFileSHA256(root *os.Root, name string) (string, error) {
	f, err := root.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
