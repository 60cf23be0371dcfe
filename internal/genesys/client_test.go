package genesys_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/genesys"
	"github.com/holdfast/holdfast/internal/genesys/genesystest"
)

func newClient(t *testing.T, base string) *genesys.Client {
	t.Helper()
	api, tok := genesys.BaseConfig(base)
	c, err := genesys.New(genesys.Config{ClientID: "test-client", ClientSecret: "test-secret", APIBase: api, TokenURL: tok})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fake(t *testing.T, o genesystest.Options, g genesystest.GenerateOptions) (*genesystest.Server, []genesystest.Conversation) {
	t.Helper()
	if g.Conversations > 0 {
		convs, err := genesystest.Generate(g)
		if err != nil {
			t.Fatal(err)
		}
		o.Conversations = convs
	}
	srv := genesystest.New(o)
	t.Cleanup(srv.Close)
	return srv, o.Conversations
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	srv, convs := fake(t, genesystest.Options{TokenTTL: 3 * time.Second}, genesystest.GenerateOptions{Conversations: 1, Start: now.Add(-time.Hour), End: now, Seed: 1})
	c := newClient(t, srv.URL)
	ctx := context.Background()
	if _, err := c.RecordingMetadata(ctx, convs[0].ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2800 * time.Millisecond) // inside the last tenth of the token's life
	if _, err := c.RecordingMetadata(ctx, convs[0].ID); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if st.TokensIssued != 2 || st.UnauthorizedAPICalls != 0 {
		t.Fatalf("tokens issued %d, refused calls %d; want a refresh before expiry (2, 0)", st.TokensIssued, st.UnauthorizedAPICalls)
	}
}

// TestRevokedTokenReplaced: a 401 on a token the client still believed
// valid makes it ask for a new token once and retry.
func TestRevokedTokenReplaced(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	srv, convs := fake(t, genesystest.Options{}, genesystest.GenerateOptions{Conversations: 1, Start: now.Add(-time.Hour), End: now, Seed: 7})
	c := newClient(t, srv.URL)
	ctx := context.Background()
	if _, err := c.RecordingMetadata(ctx, convs[0].ID); err != nil {
		t.Fatal(err)
	}
	srv.RevokeTokens()
	if meta, err := c.RecordingMetadata(ctx, convs[0].ID); err != nil || len(meta) != 1 {
		t.Fatalf("after revocation: %v, %v", meta, err)
	}
	if st := srv.Stats(); st.TokensIssued != 2 || st.UnauthorizedAPICalls != 1 {
		t.Fatalf("tokens issued %d, refused calls %d; want 2, 1", st.TokensIssued, st.UnauthorizedAPICalls)
	}
}

func TestBadCredentialsRefused(t *testing.T) {
	t.Parallel()
	srv, _ := fake(t, genesystest.Options{}, genesystest.GenerateOptions{})
	api, tok := genesys.BaseConfig(srv.URL)
	c, err := genesys.New(genesys.Config{ClientID: "test-client", ClientSecret: "wrong", APIBase: api, TokenURL: tok})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.RecordingMetadata(context.Background(), "x")
	var ae *genesys.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v, want a 401 APIError", err)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	srv, convs := fake(t, genesystest.Options{Inject429Every: 2, RetryAfter: 1}, genesystest.GenerateOptions{Conversations: 1, Start: now.Add(-time.Hour), End: now, Seed: 2})
	c := newClient(t, srv.URL)
	start := time.Now()
	for range 2 {
		meta, err := c.RecordingMetadata(context.Background(), convs[0].ID)
		if err != nil || len(meta) != 1 {
			t.Fatalf("metadata %v, %v", meta, err)
		}
	}
	if st := srv.Stats(); st.Served429 != 1 {
		t.Fatalf("served %d 429s, want 1", st.Served429)
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("finished in %v: Retry-After: 1 was not waited out", el)
	}
}

func TestIninRateLimitWindowHonoured(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var times [2]time.Time
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			w.Write([]byte(`{"access_token":"t","token_type":"bearer","expires_in":3600}`))
			return
		}
		n := calls.Add(1)
		times[n-1] = time.Now()
		w.Header().Set("inin-ratelimit-allowed", "300")
		w.Header().Set("inin-ratelimit-count", "300")
		w.Header().Set("inin-ratelimit-reset", "1")
		w.Write([]byte(`[]`))
	}))
	t.Cleanup(ts.Close)
	c := newClient(t, ts.URL)
	for range 2 {
		if _, err := c.RecordingMetadata(context.Background(), "c"); err != nil {
			t.Fatal(err)
		}
	}
	if gap := times[1].Sub(times[0]); gap < 900*time.Millisecond {
		t.Fatalf("second request %v after the first, though the window was used up for 1 s", gap)
	}
}

func TestFindConversationsAcrossDataAvailability(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	srv, convs := fake(t, genesystest.Options{DataAvailability: now.Add(-30 * time.Minute), JobPolls: 3},
		genesystest.GenerateOptions{Conversations: 23, Start: now.Add(-2 * time.Hour), End: now.Add(-time.Minute), Seed: 4, ChatEvery: 5})
	c := newClient(t, srv.URL)
	var recent int
	for _, cv := range convs {
		if !cv.Start.Before(now.Add(-30 * time.Minute)) {
			recent++
		}
	}
	if recent == 0 || recent == len(convs) {
		t.Fatalf("generator put %d of %d conversations after dataAvailabilityDate; want some", recent, len(convs))
	}
	for _, voice := range []bool{false, true} {
		seen := map[string]int{}
		err := c.FindConversations(context.Background(), genesys.FindOptions{From: now.Add(-3 * time.Hour), To: now, VoiceOnly: voice, Poll: 10 * time.Millisecond, PageSize: 5},
			func(cv genesys.Conversation) error {
				seen[cv.ConversationID]++
				if len(cv.Participants) != 3 || cv.ConversationEnd == nil {
					t.Errorf("conversation %+v", cv)
				}
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, cv := range convs {
			if !voice || cv.MediaType == "voice" {
				want++
				if seen[cv.ID] != 1 {
					t.Errorf("voice=%v: conversation %s found %d times", voice, cv.ID, seen[cv.ID])
				}
			}
		}
		if len(seen) != want {
			t.Errorf("voice=%v: found %d conversations, want %d", voice, len(seen), want)
		}
	}
	if st := srv.Stats(); st.SyncQueries == 0 || st.JobResultPages < 4 {
		t.Fatalf("sync queries %d, job result pages %d; want the synchronous query used and the job paged", st.SyncQueries, st.JobResultPages)
	}
}

func TestBatchDownloadExpiryAndTranscoding(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	srv, convs := fake(t, genesystest.Options{ExpireEvery: 2, BatchPolls: 2},
		genesystest.GenerateOptions{Conversations: 4, Start: now.Add(-time.Hour), End: now, Seed: 5, TranscodingEvery: 4, Transcoding: 2})
	c := newClient(t, srv.URL)
	ctx := context.Background()
	var items []genesys.BatchItem
	for _, cv := range convs {
		items = append(items, genesys.BatchItem{ConversationID: cv.ID, RecordingID: cv.Recordings[0].ID})
	}
	id, err := c.CreateBatch(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	var st genesys.BatchStatus
	for polls := 0; !st.Complete(); polls++ {
		if polls > 5 {
			t.Fatal("batch never completed")
		}
		if st, err = c.BatchStatus(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	var ok, expired, transcoding int
	for _, r := range st.Results {
		if r.ErrorMsg != "" {
			transcoding++
			if ready, err := c.RecordingReady(ctx, r.ConversationID, r.RecordingID); err != nil || ready {
				t.Fatalf("RecordingReady = %v, %v; want not yet (202)", ready, err)
			}
			if ready, err := c.RecordingReady(ctx, r.ConversationID, r.RecordingID); err != nil || !ready {
				t.Fatalf("RecordingReady = %v, %v; want ready", ready, err)
			}
			continue
		}
		var buf bytes.Buffer
		_, err := c.Download(ctx, r.ResultURL, &buf)
		switch {
		case errors.Is(err, genesys.ErrURLExpired):
			expired++
		case err != nil:
			t.Fatal(err)
		default:
			ok++
			rec, _ := srv.Recording(r.RecordingID)
			if !bytes.Equal(buf.Bytes(), rec.Body) {
				t.Fatalf("downloaded %d bytes that differ from the recording", buf.Len())
			}
		}
	}
	if transcoding != 1 || expired != 1 || ok != 2 {
		t.Fatalf("ok %d, expired %d, transcoding %d; want 2, 1, 1", ok, expired, transcoding)
	}
	if s := srv.Stats(); s.DownloadsWithAuth != 0 || s.Downloads != 2 {
		t.Fatalf("downloads %d, with Authorization %d", s.Downloads, s.DownloadsWithAuth)
	}
	if _, err := c.CreateBatch(ctx, make([]genesys.BatchItem, 101)); err == nil {
		t.Fatal("a batch of 101 items was sent")
	}
}

func TestProtectCap(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	srv, convs := fake(t, genesystest.Options{ProtectCap: 3}, genesystest.GenerateOptions{Conversations: 4, Start: now.Add(-time.Hour), End: now, Seed: 6})
	c := newClient(t, srv.URL)
	ctx := context.Background()
	if err := c.Protect(ctx, []string{convs[0].ID, convs[1].ID}); err != nil {
		t.Fatal(err)
	}
	if err := c.Protect(ctx, []string{convs[0].ID, convs[2].ID}); err != nil {
		t.Fatalf("re-protecting one and adding one within the cap: %v", err)
	}
	err := c.Protect(ctx, []string{convs[3].ID})
	var ae *genesys.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Code != "recording.deletion.protection.limit.exceeded" {
		t.Fatalf("err = %v, want the organisation cap refusal", err)
	}
	if got := len(srv.Protected()); got != 3 {
		t.Fatalf("%d protected, want 3", got)
	}
	if err := c.Protect(ctx, make([]string, 101)); err == nil {
		t.Fatal("101 conversations were sent in one call")
	}
}
