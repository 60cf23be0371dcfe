package console

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/auditlog"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// listPage is the shape of every API list answer.
type listPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// pageSize is how many rows a console table shows; every table is one
// keyset-paged API request.
const pageSize = 50

// formKey is a fresh Idempotency-Key for a form, so that submitting it
// twice creates one hold or one export, not two.
func formKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "console-" + base64.RawURLEncoding.EncodeToString(b[:])
}

// overviewData is the Overview's figures.
type overviewData struct {
	Counts         map[string]int
	Active         store.ActiveCounts
	AuditSize      int64
	CheckpointSize int64
	Verification   *auditlog.Verification
	Ready          bool
	Checks         []check
}

type check struct{ Name, State string }

func (c *Console) overview(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	d := overviewData{}
	if v.Lacks(string(vault.PermRecordingView)) == "" {
		counts, err := c.cfg.Counts.CountRecordingsByStatus(ctx)
		if err != nil {
			return err
		}
		d.Counts = map[string]int{}
		for st, n := range counts {
			d.Counts[string(st)] = n
		}
		if d.Active, err = c.cfg.Counts.CountActive(ctx); err != nil {
			return err
		}
	}
	var err error
	if d.AuditSize, err = c.cfg.Counts.AuditSize(ctx); err != nil {
		return err
	}
	if size, _, err := c.cfg.Counts.LatestCheckpoint(ctx); err == nil {
		d.CheckpointSize = size
	} else if !errors.Is(err, vault.ErrNotFound) {
		return err
	}
	if c.cfg.Audit != nil {
		if ver, ok := c.cfg.Audit.LastVerification(); ok {
			d.Verification = &ver
		}
	}
	res := c.send(r, v, http.MethodGet, "/readyz", callOpts{})
	d.Ready = res.status == http.StatusOK
	var ready struct {
		Checks map[string]string `json:"checks"`
	}
	if d.Ready && json.Unmarshal(res.body.Bytes(), &ready) == nil {
		for _, k := range slices.Sorted(mapKeys(ready.Checks)) {
			d.Checks = append(d.Checks, check{k, ready.Checks[k]})
		}
	} else if !d.Ready {
		d.Checks = append(d.Checks, check{"readyz", res.problem().Message})
	}
	v.Title, v.Nav, v.Data = "Overview", "overview", d
	c.render(w, http.StatusOK, "overview", v)
	return nil
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// recordingsData is the Recordings page: the search as typed, one page of
// results and the links to the next.
type recordingsData struct {
	Q          map[string]string
	From, To   string
	MediaTypes []string
	Statuses   []string
	Items      []vault.Recording
	Next       string
	First      string
}

// searchParams are the API's recording filters the search form offers.
var searchParams = []string{"media_type", "from", "to", "status", "case_id", "call_id", "participant", "legal_hold"}

// localTime is the HTML datetime-local layout; the console reads and
// writes it as UTC.
const localTime = "2006-01-02T15:04"

// apiTime turns a datetime-local value (UTC) into RFC 3339; anything else
// is passed on for the API to judge.
func apiTime(v string) string {
	if t, err := time.Parse(localTime, v); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	if t, err := time.Parse(localTime+":05", v); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	return v
}

func (c *Console) recordings(w http.ResponseWriter, r *http.Request, v *view) error {
	in := r.URL.Query()
	d := recordingsData{Q: map[string]string{}, MediaTypes: append([]string{""}, vault.MediaTypes...), Statuses: []string{"", "processing", "completed", "failed"}}
	q := url.Values{"limit": {strconv.Itoa(pageSize)}}
	keep := url.Values{}
	for _, name := range searchParams {
		val := strings.TrimSpace(in.Get(name))
		if val == "" {
			continue
		}
		d.Q[name] = val
		keep.Set(name, val)
		if name == "from" || name == "to" {
			val = apiTime(val)
		}
		q.Set(name, val)
	}
	d.From, d.To = d.Q["from"], d.Q["to"]
	if cur := in.Get("cursor"); cur != "" {
		q.Set("cursor", cur)
		d.First = keep.Encode()
		if d.First == "" {
			d.First = "page=1"
		}
	}
	var page listPage[vault.Recording]
	v.Title, v.Nav, v.Data = "Recordings", "recordings", &d
	if err := c.call(r, v, http.MethodGet, "/api/v2/recordings", callOpts{query: q}, &page); err != nil {
		return c.inline(w, v, "recordings", err)
	}
	d.Items = page.Items
	if page.NextCursor != "" {
		keep.Set("cursor", page.NextCursor)
		d.Next = keep.Encode()
	}
	c.render(w, http.StatusOK, "recordings", v)
	return nil
}

// inline shows an API refusal on the page that asked (its form stays
// filled in), with the API's status.
func (c *Console) inline(w http.ResponseWriter, v *view, page string, err error) error {
	p, ok := asProblem(err)
	if !ok {
		return err
	}
	v.Err = p
	c.render(w, p.Status, page, v)
	return nil
}

type recordingData struct {
	Rec vault.Recording
	Key string
}

func (c *Console) recording(w http.ResponseWriter, r *http.Request, v *view) error {
	var rec vault.Recording
	if err := c.call(r, v, http.MethodGet, "/api/v2/recordings/"+url.PathEscape(r.PathValue("id")), callOpts{}, &rec); err != nil {
		v.Nav = "recordings"
		return err
	}
	v.Title, v.Nav, v.Data = "Recording "+rec.ID, "recordings", recordingData{Rec: rec, Key: formKey()}
	c.render(w, http.StatusOK, "recording", v)
	return nil
}

// exportsData is one page of export jobs.
type exportsData struct {
	Items []vault.ExportJob
	Next  string
}

func (c *Console) exports(w http.ResponseWriter, r *http.Request, v *view) error {
	q := url.Values{"limit": {strconv.Itoa(pageSize)}}
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		q.Set("cursor", cur)
	}
	var page listPage[vault.ExportJob]
	d := &exportsData{}
	v.Title, v.Nav, v.Data = "Exports", "exports", d
	if err := c.call(r, v, http.MethodGet, "/api/v2/bulk/recordingexports", callOpts{query: q}, &page); err != nil {
		return c.inline(w, v, "exports", err)
	}
	d.Items, d.Next = page.Items, page.NextCursor
	c.render(w, http.StatusOK, "exports", v)
	return nil
}

type exportData struct {
	Job         vault.ExportJob
	Cancellable bool
}

func exportPath(r *http.Request) string {
	return "/api/v2/bulk/recordingexports/" + url.PathEscape(r.PathValue("id"))
}

func (c *Console) exportView(w http.ResponseWriter, r *http.Request, v *view) error {
	var job vault.ExportJob
	v.Nav = "exports"
	if err := c.call(r, v, http.MethodGet, exportPath(r), callOpts{}, &job); err != nil {
		return err
	}
	v.Title, v.Data = "Export "+job.ID, exportData{Job: job, Cancellable: !vault.ExportFinished(job.State)}
	c.render(w, http.StatusOK, "export", v)
	return nil
}

// exportStatus answers the progress script with the API's own JSON for
// the job, unchanged, so the page can never disagree with the API.
func (c *Console) exportStatus(w http.ResponseWriter, r *http.Request, v *view) error {
	res := c.send(r, v, http.MethodGet, exportPath(r), callOpts{})
	ct := res.header.Get("Content-Type")
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(res.status)
	_, _ = w.Write(res.body.Bytes())
	return nil
}

// exportPackage streams the package download straight from the API's
// handler (and its audit entry) to the browser.
func (c *Console) exportPackage(w http.ResponseWriter, r *http.Request, v *view) error {
	req := r.Clone(r.Context())
	req.URL = &url.URL{Path: exportPath(r) + "/package"}
	req.RequestURI = ""
	c.forward(w, req, v)
	return nil
}

func (c *Console) cancelExport(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "exports"
	if err := c.call(r, v, http.MethodDelete, exportPath(r), callOpts{}, nil); err != nil {
		return err
	}
	http.Redirect(w, r, "/exports/"+url.PathEscape(r.PathValue("id"))+"?flash="+url.QueryEscape("Cancellation requested; the job's hold stays in place."), http.StatusSeeOther)
	return nil
}

// auditData is one page of the log, newest first.
type auditData struct {
	Size         int64
	Start, End   int64
	Items        []audit.Entry
	Newer        int64
	Older        int64
	HasOlder     bool
	Checkpoint   string
	Verification *auditlog.Verification
}

// auditEntriesPage is the API's audit page.
type auditEntriesPage struct {
	Items    []audit.Entry `json:"items"`
	TreeSize int64         `json:"tree_size"`
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, v *view) error {
	d := &auditData{}
	v.Title, v.Nav, v.Data = "Audit", "audit", d
	if p := v.Lacks(string(vault.PermAuditView)); p != "" {
		return c.inline(w, v, "audit", permissionProblem(p))
	}
	size, err := c.cfg.Counts.AuditSize(r.Context())
	if err != nil {
		return err
	}
	start := max(size-pageSize, 0)
	if s := r.URL.Query().Get("start"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return c.inline(w, v, "audit", validationProblem("query.start", "must be a non-negative entry index, e.g. 0"))
		}
		start = min(n, max(size-1, 0))
	}
	var page auditEntriesPage
	q := url.Values{"start": {strconv.FormatInt(start, 10)}, "limit": {strconv.Itoa(pageSize)}}
	if err := c.call(r, v, http.MethodGet, "/api/v2/audit/entries", callOpts{query: q}, &page); err != nil {
		return c.inline(w, v, "audit", err)
	}
	slices.Reverse(page.Items)
	d.Items, d.Size, d.Start = page.Items, page.TreeSize, start
	d.End = start + int64(len(page.Items)) - 1
	if start+pageSize < d.Size {
		d.Newer = start + pageSize
	}
	if start > 0 {
		d.HasOlder, d.Older = true, max(start-pageSize, 0)
	}
	if _, signed, err := c.cfg.Counts.LatestCheckpoint(r.Context()); err == nil {
		d.Checkpoint = string(signed)
	}
	if c.cfg.Audit != nil {
		if ver, ok := c.cfg.Audit.LastVerification(); ok {
			d.Verification = &ver
		}
	}
	c.render(w, http.StatusOK, "audit", v)
	return nil
}

// verifyAudit runs POST /api/v2/audit/verify and shows its answer.
func (c *Console) verifyAudit(w http.ResponseWriter, r *http.Request, v *view) error {
	var res auditlog.Verification
	if err := c.call(r, v, http.MethodPost, "/api/v2/audit/verify", callOpts{}, &res); err != nil {
		v.Nav = "audit"
		return err
	}
	msg := "Verified: all " + strconv.FormatInt(res.TreeSize, 10) + " entries match the latest signed checkpoint."
	if !res.OK {
		msg = "Verification FAILED at checkpoint size " + strconv.FormatInt(res.TreeSize, 10)
		if res.FirstBadIndex != nil {
			msg += "; first bad entry " + strconv.FormatInt(*res.FirstBadIndex, 10)
		}
	}
	http.Redirect(w, r, "/audit?flash="+url.QueryEscape(msg), http.StatusSeeOther)
	return nil
}
