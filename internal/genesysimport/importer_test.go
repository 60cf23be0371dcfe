package genesysimport_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/genesys"
	"github.com/holdfast/holdfast/internal/genesys/genesystest"
	"github.com/holdfast/holdfast/internal/genesysimport"
	"github.com/holdfast/holdfast/internal/testserver"
)

type world struct {
	fake  *genesystest.Server
	convs []genesystest.Conversation
	hf    *testserver.Server
	c     *client.Client
	gc    *genesys.Client
	now   time.Time
}

func newWorld(t *testing.T, o genesystest.Options, g genesystest.GenerateOptions) *world {
	t.Helper()
	w := &world{now: time.Now().UTC()}
	g.Start, g.End = w.now.Add(-3*time.Hour), w.now.Add(-time.Minute)
	convs, err := genesystest.Generate(g)
	if err != nil {
		t.Fatal(err)
	}
	o.Conversations = convs
	w.convs = convs
	w.fake = genesystest.New(o)
	t.Cleanup(w.fake.Close)
	w.hf = testserver.Start(t)
	w.c = w.hf.Client(t)
	api, tok := genesys.BaseConfig(w.fake.URL)
	w.gc, err = genesys.New(genesys.Config{ClientID: "test-client", ClientSecret: "test-secret", APIBase: api, TokenURL: tok})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) run(t *testing.T, c *client.Client, state string, protect bool) (genesysimport.Summary, []genesysimport.Event) {
	t.Helper()
	var mu sync.Mutex
	var events []genesysimport.Event
	sum, err := genesysimport.Run(context.Background(), genesysimport.Config{
		Genesys: w.gc, Holdfast: c, StatePath: state, From: w.now.Add(-4 * time.Hour), To: w.now,
		Protect: protect, Poll: 20 * time.Millisecond, PageSize: 7,
		Events: func(e genesysimport.Event) { mu.Lock(); events = append(events, e); mu.Unlock() },
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum, events
}

// imported lists holdfast's recordings with a genesys.recording_id label.
func (w *world) imported(t *testing.T) map[string]client.Recording {
	t.Helper()
	out := map[string]client.Recording{}
	for cursor := ""; ; {
		page, err := w.c.ListRecordings(context.Background(), client.ListRecordingsParams{Limit: 1000, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Items {
			gid := r.Labels[genesysimport.LabelRecordingID]
			if gid == "" {
				continue
			}
			if _, dup := out[gid]; dup {
				t.Errorf("Genesys recording %s is in holdfast twice", gid)
			}
			out[gid] = r
		}
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

func TestImportThenRerun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, genesystest.Options{Inject429Every: 9, RetryAfter: 1, ExpireEvery: 6, URLTTL: time.Minute, DataAvailability: time.Now().Add(-time.Hour)},
		genesystest.GenerateOptions{Conversations: 24, Seed: 11, SecondRecordingEvery: 4, TranscodingEvery: 5, Transcoding: 2, ScreenEvery: 6, ChatEvery: 7})
	var audio, other int
	for _, c := range w.convs {
		for _, r := range c.Recordings {
			if r.Media == "audio" {
				audio++
			} else {
				other++
			}
		}
	}
	state := filepath.Join(t.TempDir(), "import.json")
	sum, events := w.run(t, w.c, state, false)
	if sum.ConversationsFound != len(w.convs) || sum.RecordingsFound != audio+other || sum.Imported != audio || sum.Skipped != 0 ||
		sum.UnsupportedMedia != other || len(sum.Failed) != 0 || !sum.OK() {
		t.Fatalf("summary %+v; want %d conversations, %d audio imported, %d unsupported", sum, len(w.convs), audio, other)
	}
	kinds := map[string]int{}
	for _, e := range events {
		kinds[e.Kind]++
	}
	if kinds[genesysimport.EventImported] != audio || kinds[genesysimport.EventWaiting] == 0 || kinds[genesysimport.EventExpired] == 0 {
		t.Errorf("events %v: want every import, some transcoding waits and some expired URLs", kinds)
	}
	got := w.imported(t)
	if len(got) != audio {
		t.Fatalf("holdfast holds %d Genesys recordings, want %d", len(got), audio)
	}
	for _, c := range w.convs {
		for _, r := range c.Recordings {
			if r.Media != "audio" {
				if _, ok := got[r.ID]; ok {
					t.Errorf("%s recording %s was imported", r.Media, r.ID)
				}
				continue
			}
			h := got[r.ID]
			sum := sha256.Sum256(r.Body)
			if h.Content.SHA256 != hex.EncodeToString(sum[:]) || h.Labels[genesysimport.LabelConversationID] != c.ID || h.CallID != c.ID ||
				h.MediaType != "SIP" || h.Direction != c.Direction || !h.StartedAt.Equal(c.Start) || len(h.Participants) != 3 {
				t.Errorf("recording %s imported as %+v", r.ID, h)
			}
			roles := map[string]string{}
			for _, p := range h.Participants {
				roles[p.Role] = p.AOR
			}
			if !strings.HasPrefix(roles["customer"], "tel:") || !strings.HasPrefix(roles["agent"], "sip:") || !strings.HasSuffix(roles["acd"], "@participants.genesys.invalid") {
				t.Errorf("participants %+v", h.Participants)
			}
		}
	}
	if st := w.fake.Stats(); st.DownloadsWithAuth != 0 || st.Served429 == 0 || st.ExpiredURLs == 0 {
		t.Errorf("fake saw %+v; want 429s, expired URLs and no download with Authorization", st)
	}
	for _, n := range w.fake.Stats().BatchSizes {
		if n > 100 {
			t.Errorf("batch of %d", n)
		}
	}

	// A rerun with the state: nothing new, no Genesys metadata asked again.
	sum2, _ := w.run(t, w.c, state, false)
	if sum2.Imported != 0 || sum2.Skipped != audio || sum2.UnsupportedMedia != other || len(sum2.Failed) != 0 {
		t.Fatalf("rerun summary %+v", sum2)
	}
	// Without the state and with another token: presence by label still
	// prevents duplicates.
	tok, err := w.c.CreateToken(context.Background(), "importer-2", []string{"recording:view", "recording:ingest"})
	if err != nil {
		t.Fatal(err)
	}
	sum3, _ := w.run(t, w.hf.ClientWithToken(t, tok.Secret), filepath.Join(t.TempDir(), "other.json"), false)
	if sum3.Imported != 0 || sum3.Skipped != audio || len(sum3.Failed) != 0 {
		t.Fatalf("run with another token and no state %+v", sum3)
	}
	if got := w.imported(t); len(got) != audio {
		t.Fatalf("after reruns holdfast holds %d Genesys recordings, want %d", len(got), audio)
	}
	var doc map[string]any
	b, _ := os.ReadFile(state)
	if err := json.Unmarshal(b, &doc); err != nil || doc["version"] != float64(1) {
		t.Fatalf("state file %s: %v", b, err)
	}
}

func TestProtectStopsAtCap(t *testing.T) {
	t.Parallel()
	w := newWorld(t, genesystest.Options{ProtectCap: 7, AlreadyProtected: nil},
		genesystest.GenerateOptions{Conversations: 12, Seed: 12, SecondRecordingEvery: 3})
	state := filepath.Join(t.TempDir(), "import.json")
	if sum, _ := w.run(t, w.c, state, false); !sum.OK() {
		t.Fatalf("import %+v", sum)
	}
	// Hold the recordings of 10 conversations.
	got := w.imported(t)
	heldConvs := map[string]bool{}
	var ids []string
	for _, c := range w.convs[:10] {
		heldConvs[c.ID] = true
		for _, r := range c.Recordings {
			ids = append(ids, got[r.ID].ID)
		}
	}
	if _, err := w.c.CreateHold(context.Background(), client.CreateHoldRequest{CaseID: "LC-GEN-1", HoldReason: "Discovery", Filter: client.Filter{RecordIDs: ids}}); err != nil {
		t.Fatal(err)
	}
	sum, _ := w.run(t, w.c, state, true)
	p := sum.Protection
	if p == nil || p.Held != 10 || p.Protected != 7 || !p.Stopped || p.NotProtected != 3 || sum.OK() || p.Message == "" {
		t.Fatalf("protection %+v", p)
	}
	protected := w.fake.Protected()
	if len(protected) != 7 {
		t.Fatalf("fake protects %v", protected)
	}
	for _, id := range protected {
		if !heldConvs[id] {
			t.Errorf("conversation %s protected but not held", id)
		}
	}
	for _, call := range w.fake.Stats().ProtectCalls {
		if len(call) > 100 {
			t.Errorf("protection call of %d ids", len(call))
		}
	}
	sort.Strings(protected)
}
