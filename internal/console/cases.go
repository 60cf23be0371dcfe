package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/holdfast/holdfast/internal/vault"
)

// caseSummary is one row of GET /api/v2/cases.
type caseSummary struct {
	CaseID         string    `json:"case_id"`
	ActiveHolds    int       `json:"active_holds"`
	HeldRecordings int       `json:"held_recordings"`
	Exports        int       `json:"exports"`
	LastActivityAt time.Time `json:"last_activity_at"`
}

// caseExport is one export job in GET /api/v2/cases/{case_id}.
type caseExport struct {
	ID         string               `json:"id"`
	State      string               `json:"state"`
	HoldID     string               `json:"hold_id"`
	CreatedAt  time.Time            `json:"created_at"`
	FinishedAt *time.Time           `json:"finished_at"`
	Progress   vault.ExportProgress `json:"progress"`
}

// caseDetail is GET /api/v2/cases/{case_id}.
type caseDetail struct {
	caseSummary
	Holds      []vault.Hold `json:"holds"`
	ExportJobs []caseExport `json:"export_jobs"`
}

type casesData struct {
	Items []caseSummary
	Next  string
}

func (c *Console) cases(w http.ResponseWriter, r *http.Request, v *view) error {
	q := url.Values{"limit": {strconv.Itoa(pageSize)}}
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		q.Set("cursor", cur)
	}
	d := &casesData{}
	v.Title, v.Nav, v.Data = "Cases", "cases", d
	var page listPage[caseSummary]
	if err := c.call(r, v, http.MethodGet, "/api/v2/cases", callOpts{query: q}, &page); err != nil {
		return c.inline(w, v, "cases", err)
	}
	d.Items, d.Next = page.Items, page.NextCursor
	c.render(w, http.StatusOK, "cases", v)
	return nil
}

type newCaseData struct {
	Key        string
	CaseID     string
	RecordIDs  string
	MediaTypes []string
}

func (c *Console) newCaseForm(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title, v.Nav = "New case", "cases"
	v.Data = newCaseData{Key: formKey(), CaseID: r.URL.Query().Get("case_id"), RecordIDs: r.URL.Query().Get("record_ids"), MediaTypes: append([]string{""}, vault.MediaTypes...)}
	c.render(w, http.StatusOK, "newcase", v)
	return nil
}

// holdBody turns a hold form into the API's POST /api/v2/legalholds body.
func holdBody(r *http.Request, caseID string) map[string]any {
	filter := map[string]any{}
	if mt := r.PostFormValue("media_type"); mt != "" {
		filter["media_type"] = mt
	}
	for _, k := range []string{"from", "to"} {
		if t := strings.TrimSpace(r.PostFormValue(k)); t != "" {
			filter[k] = apiTime(t)
		}
	}
	if ids := strings.FieldsFunc(r.PostFormValue("record_ids"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }); len(ids) > 0 {
		filter["record_ids"] = ids
	}
	body := map[string]any{"case_id": caseID, "hold_reason": strings.TrimSpace(r.PostFormValue("hold_reason")), "filter": filter}
	if r.PostFormValue("include_future") == "true" {
		body["include_future"] = true
	}
	return body
}

// holdAnswer is the part of POST /api/v2/legalholds's answer the console
// reports.
type holdAnswer struct {
	HoldID  string `json:"hold_id"`
	CaseID  string `json:"case_id"`
	Matched int    `json:"matched"`
}

func (c *Console) newCase(w http.ResponseWriter, r *http.Request, v *view) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	caseID := strings.TrimSpace(r.PostFormValue("case_id"))
	var h holdAnswer
	err := c.call(r, v, http.MethodPost, "/api/v2/legalholds", callOpts{body: holdBody(r, caseID), idempotencyKey: r.PostFormValue("idempotency_key")}, &h)
	if err != nil {
		v.Title, v.Nav = "New case", "cases"
		v.Data = newCaseData{Key: formKey(), CaseID: caseID, RecordIDs: r.PostFormValue("record_ids"), MediaTypes: append([]string{""}, vault.MediaTypes...)}
		return c.inline(w, v, "newcase", err)
	}
	http.Redirect(w, r, "/cases/"+url.PathEscape(h.CaseID)+"?flash="+url.QueryEscape("Hold "+h.HoldID+" placed on "+strconv.Itoa(h.Matched)+" recording(s)."), http.StatusSeeOther)
	return nil
}

type caseData struct {
	Case           caseDetail
	Recordings     []vault.Recording
	MoreRecordings bool
	MediaTypes     []string
	ExportKey      string
	HoldKey        string
}

// showCase renders a case's page, with err (a refused action) above it.
func (c *Console) showCase(w http.ResponseWriter, r *http.Request, v *view, status int, actionErr error) error {
	id := r.PathValue("id")
	v.Title, v.Nav = "Case "+id, "cases"
	d := &caseData{MediaTypes: append([]string{""}, vault.MediaTypes...), ExportKey: formKey(), HoldKey: formKey()}
	if err := c.call(r, v, http.MethodGet, "/api/v2/cases/"+url.PathEscape(id), callOpts{}, &d.Case); err != nil {
		return err
	}
	var recs listPage[vault.Recording]
	if v.Lacks(string(vault.PermRecordingView)) == "" {
		q := url.Values{"case_id": {id}, "limit": {strconv.Itoa(pageSize)}}
		if err := c.call(r, v, http.MethodGet, "/api/v2/recordings", callOpts{query: q}, &recs); err != nil {
			return err
		}
	}
	d.Recordings, d.MoreRecordings = recs.Items, recs.NextCursor != ""
	v.Data = d
	if p, ok := asProblem(actionErr); ok {
		v.Err, status = p, p.Status
	} else if actionErr != nil {
		return actionErr
	}
	c.render(w, status, "case", v)
	return nil
}

func (c *Console) caseView(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.showCase(w, r, v, http.StatusOK, nil)
}

func (c *Console) placeHold(w http.ResponseWriter, r *http.Request, v *view) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	id := r.PathValue("id")
	var h holdAnswer
	if err := c.call(r, v, http.MethodPost, "/api/v2/legalholds", callOpts{body: holdBody(r, id), idempotencyKey: r.PostFormValue("idempotency_key")}, &h); err != nil {
		return c.showCase(w, r, v, 0, err)
	}
	http.Redirect(w, r, "/cases/"+url.PathEscape(id)+"?flash="+url.QueryEscape("Hold "+h.HoldID+" placed on "+strconv.Itoa(h.Matched)+" recording(s)."), http.StatusSeeOther)
	return nil
}

// exportBody turns the export form into the API's canonical body. With no
// media type and no time range, the export selects the case's held
// recordings (filter.case_id), as `holdfast export --case` does.
func exportBody(r *http.Request) map[string]any {
	filter := map[string]any{}
	if mt := r.PostFormValue("media_type"); mt != "" {
		filter["media_type"] = mt
	}
	for _, k := range []string{"from", "to"} {
		if t := strings.TrimSpace(r.PostFormValue(k)); t != "" {
			filter[k] = apiTime(t)
		}
	}
	caseID := strings.TrimSpace(r.PostFormValue("case_id"))
	if len(filter) == 0 && caseID != "" {
		filter["case_id"] = caseID
	}
	meta := map[string]any{"legal_hold": r.PostFormValue("legal_hold") == "true"}
	if caseID != "" {
		meta["case_id"] = caseID
	}
	return map[string]any{"filter": filter, "metadata": meta, "destination": map[string]any{"type": "filesystem"}}
}

func (c *Console) startExport(w http.ResponseWriter, r *http.Request, v *view) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	var job vault.ExportJob
	if err := c.call(r, v, http.MethodPost, "/api/v2/bulk/recordingexports", callOpts{body: exportBody(r), idempotencyKey: r.PostFormValue("idempotency_key")}, &job); err != nil {
		return c.showCase(w, r, v, 0, err)
	}
	msg := "Export started: " + strconv.Itoa(job.Progress.Matched) + " recording(s) matched"
	if job.HoldID != "" {
		msg += ", all held under " + job.HoldID
	}
	http.Redirect(w, r, "/exports/"+url.PathEscape(job.ID)+"?flash="+url.QueryEscape(msg+"."), http.StatusSeeOther)
	return nil
}

func (c *Console) releaseCase(w http.ResponseWriter, r *http.Request, v *view) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	id := r.PathValue("id")
	var res struct {
		ReleasedHoldIDs []string `json:"released_hold_ids"`
	}
	body := map[string]any{"release_reason": strings.TrimSpace(r.PostFormValue("release_reason"))}
	if err := c.call(r, v, http.MethodPost, "/api/v2/cases/"+url.PathEscape(id)+"/release", callOpts{body: body}, &res); err != nil {
		return c.showCase(w, r, v, 0, err)
	}
	http.Redirect(w, r, "/cases/"+url.PathEscape(id)+"?flash="+url.QueryEscape("Released "+strconv.Itoa(len(res.ReleasedHoldIDs))+" hold(s) of "+id+"."), http.StatusSeeOther)
	return nil
}

// forward serves req with the API's handler as the session's token,
// streaming the answer (a package download) to w unchanged.
func (c *Console) forward(w http.ResponseWriter, req *http.Request, v *view) {
	req = req.WithContext(withSession(req.Context(), v.secretHash))
	req.Header.Del("Cookie")
	c.cfg.API.Handler().ServeHTTP(w, req)
}
