package genesys_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/genesys"
	"github.com/holdfast/holdfast/internal/genesys/genesystest"
)

func readExample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestExamplesDecode: the documented example bodies decode into the
// client's types with every field the importer relies on.
func TestExamplesDecode(t *testing.T) {
	t.Parallel()
	var res genesys.JobResults
	if err := json.Unmarshal(readExample(t, "details_job_results.json"), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Conversations) != 1 || res.Cursor == "" || res.DataAvailabilityDate == nil {
		t.Fatalf("job results %+v", res)
	}
	c := res.Conversations[0]
	if c.ConversationID == "" || c.ConversationStart.IsZero() || c.ConversationEnd == nil || c.OriginatingDirection != "inbound" || len(c.Participants) != 2 {
		t.Fatalf("conversation %+v", c)
	}
	p := c.Participants[1]
	if p.Purpose != "agent" || p.UserID == "" || p.ParticipantName != "Alice Agent" || len(p.Sessions) != 1 ||
		p.Sessions[0].MediaType != "voice" || p.Sessions[0].ProtocolCallID == "" || p.Sessions[0].AddressSelf == "" {
		t.Fatalf("participant %+v", p)
	}
	if s := c.Participants[0].Sessions[0]; s.Ani != "tel:+13175551234" || s.Recording == nil || !*s.Recording {
		t.Fatalf("customer session %+v", s)
	}

	var q genesys.QueryResults
	if err := json.Unmarshal(readExample(t, "details_query.json"), &q); err != nil || q.TotalHits != 1 || len(q.Conversations) != 1 {
		t.Fatalf("query results %+v %v", q, err)
	}
	var st genesys.JobStatus
	if err := json.Unmarshal(readExample(t, "details_job_status.json"), &st); err != nil || st.State != genesys.JobFulfilled || st.CompletionDate == nil {
		t.Fatalf("job status %+v %v", st, err)
	}
	var ref genesys.JobRef
	if err := json.Unmarshal(readExample(t, "details_job_create.json"), &ref); err != nil || ref.JobID == "" {
		t.Fatalf("job ref %+v %v", ref, err)
	}
	var meta []genesys.RecordingMetadata
	if err := json.Unmarshal(readExample(t, "recordingmetadata.json"), &meta); err != nil || len(meta) != 2 ||
		meta[0].Media != "audio" || meta[0].ID == "" || meta[0].ConversationID == "" || meta[1].Media != "screen" {
		t.Fatalf("recording metadata %+v %v", meta, err)
	}
	var b genesys.BatchStatus
	if err := json.Unmarshal(readExample(t, "batch_status.json"), &b); err != nil || !b.Complete() || len(b.Results) != 2 ||
		b.Results[0].ResultURL == "" || b.Results[0].ContentType != "audio/webm" || b.Results[1].ErrorMsg == "" {
		t.Fatalf("batch status %+v %v", b, err)
	}
	var br genesys.BatchRef
	if err := json.Unmarshal(readExample(t, "batch_create.json"), &br); err != nil || br.ID == "" {
		t.Fatalf("batch ref %+v %v", br, err)
	}
}

// shapeWithin checks that every member of got (a decoded JSON value)
// appears in doc at the same path with the same JSON type. Arrays are
// checked element by element against the union of doc's elements.
func shapeWithin(t *testing.T, path string, got, doc any) {
	t.Helper()
	switch g := got.(type) {
	case map[string]any:
		d, ok := doc.(map[string]any)
		if !ok {
			t.Errorf("%s: the fake sends an object, the documented example has %T", path, doc)
			return
		}
		for k, v := range g {
			dv, ok := d[k]
			if !ok {
				t.Errorf("%s.%s: sent by the fake but not in the documented example", path, k)
				continue
			}
			shapeWithin(t, path+"."+k, v, dv)
		}
	case []any:
		d, ok := doc.([]any)
		if !ok {
			t.Errorf("%s: the fake sends an array, the documented example has %T", path, doc)
			return
		}
		if len(g) == 0 {
			return
		}
		if len(d) == 0 {
			t.Errorf("%s: documented example array is empty", path)
			return
		}
		union := d[0]
		for _, e := range d[1:] {
			union = mergeDoc(union, e)
		}
		for i, e := range g {
			shapeWithin(t, path+"["+strconv.Itoa(i)+"]", e, union)
		}
	default:
		if kind(got) != kind(doc) {
			t.Errorf("%s: the fake sends a %s, the documented example a %s", path, kind(got), kind(doc))
		}
	}
}

// mergeDoc is the deep union of two documented values, so an array's
// elements together document every member any of them shows.
func mergeDoc(a, b any) any {
	switch am := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			return a
		}
		out := map[string]any{}
		for k, v := range am {
			out[k] = v
		}
		for k, v := range bm {
			if av, ok := out[k]; ok {
				out[k] = mergeDoc(av, v)
			} else {
				out[k] = v
			}
		}
		return out
	case []any:
		bs, ok := b.([]any)
		if !ok {
			return a
		}
		return append(append([]any{}, am...), bs...)
	}
	return a
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "other"
}

// TestFakeMatchesDocumentedExamples: what the fake sends has the shape of
// the documented example bodies, field by field.
func TestFakeMatchesDocumentedExamples(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	convs, err := genesystest.Generate(genesystest.GenerateOptions{Conversations: 3, Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour),
		Seed: 3, TranscodingEvery: 2, Transcoding: 3, ScreenEvery: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := genesystest.New(genesystest.Options{Conversations: convs, JobPolls: 1, BatchPolls: 1})
	t.Cleanup(srv.Close)

	raw := func(method, path, token string, body string, form url.Values) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if form != nil {
			rd = strings.NewReader(form.Encode())
		} else if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, srv.URL+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.SetBasicAuth("test-client", "test-secret")
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	check := func(example string, status, want int, body []byte) {
		t.Helper()
		if status != want {
			t.Fatalf("%s: status %d, want %d: %s", example, status, want, body)
		}
		var got, doc any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: fake sent invalid JSON: %v", example, err)
		}
		if err := json.Unmarshal(readExample(t, example), &doc); err != nil {
			t.Fatal(err)
		}
		shapeWithin(t, example, got, doc)
	}

	st, b := raw("POST", "/oauth/token", "", "", url.Values{"grant_type": {"client_credentials"}})
	check("token.json", st, 200, b)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(b, &tok)

	iv := `{"interval":"` + now.Add(-3*time.Hour).Format(time.RFC3339) + "/" + now.Format(time.RFC3339) + `"}`
	st, b = raw("POST", "/api/v2/analytics/conversations/details/jobs", tok.AccessToken, iv, nil)
	check("details_job_create.json", st, 202, b)
	var ref genesys.JobRef
	_ = json.Unmarshal(b, &ref)
	st, b = raw("GET", "/api/v2/analytics/conversations/details/jobs/"+ref.JobID, tok.AccessToken, "", nil)
	check("details_job_status.json", st, 200, b)
	st, b = raw("GET", "/api/v2/analytics/conversations/details/jobs/"+ref.JobID+"/results?pageSize=2", tok.AccessToken, "", nil)
	check("details_job_results.json", st, 200, b)
	if !bytes.Contains(b, []byte(`"cursor"`)) {
		t.Errorf("first of two pages has no cursor: %s", b)
	}
	st, b = raw("POST", "/api/v2/analytics/conversations/details/query", tok.AccessToken, strings.TrimSuffix(iv, "}")+`,"paging":{"pageSize":10,"pageNumber":1}}`, nil)
	check("details_query.json", st, 200, b)

	c := convs[1]
	st, b = raw("GET", "/api/v2/conversations/"+c.ID+"/recordingmetadata", tok.AccessToken, "", nil)
	check("recordingmetadata.json", st, 200, b)
	rec := c.Recordings[0]
	if rec.Transcoding == 0 {
		t.Fatal("generator did not make the second recording transcode")
	}
	getRec := func(want int) {
		t.Helper()
		st, b := raw("GET", "/api/v2/conversations/"+c.ID+"/recordings/"+rec.ID, tok.AccessToken, "", nil)
		check("recording.json", st, want, b)
	}
	getRec(202)

	items := `{"batchDownloadRequestList":[{"conversationId":"` + convs[0].ID + `","recordingId":"` + convs[0].Recordings[0].ID + `"},` +
		`{"conversationId":"` + c.ID + `","recordingId":"` + rec.ID + `"}]}`
	st, b = raw("POST", "/api/v2/recording/batchrequests", tok.AccessToken, items, nil)
	check("batch_create.json", st, 202, b)
	var br genesys.BatchRef
	_ = json.Unmarshal(b, &br)
	st, b = raw("GET", "/api/v2/recording/batchrequests/"+br.ID, tok.AccessToken, "", nil)
	check("batch_status.json", st, 200, b)
	if !bytes.Contains(b, []byte(`"errorMsg"`)) || !bytes.Contains(b, []byte(`"resultUrl"`)) {
		t.Errorf("batch with one transcoding recording lacks an errorMsg or a resultUrl: %s", b)
	}
	getRec(202)
	getRec(200)

	st, b = raw("GET", "/api/v2/conversations/nope/recordingmetadata", tok.AccessToken, "", nil)
	check("error.json", st, 404, b)
	st, b = raw("GET", "/api/v2/conversations/"+c.ID+"/recordingmetadata", "bad-token", "", nil)
	check("error.json", st, 401, b)
}
