package genesysimport

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/genesys"
	"github.com/holdfast/holdfast/internal/vault"
)

// FuzzMetadataFor: whatever participants, names, addresses, purposes and
// directions Genesys reports, a conversation with a sane id and start time
// maps to metadata holdfast accepts, carrying both Genesys labels and
// every participant (up to holdfast's 100). Seeds live in
// testdata/fuzz/FuzzMetadataFor; the documented example is added here.
func FuzzMetadataFor(f *testing.F) {
	ex, err := os.ReadFile(filepath.Join("..", "genesys", "testdata", "examples", "details_job_results.json"))
	if err != nil {
		f.Fatal(err)
	}
	var res genesys.JobResults
	if err := json.Unmarshal(ex, &res); err != nil {
		f.Fatal(err)
	}
	for _, c := range res.Conversations {
		b, _ := json.Marshal(c)
		f.Add(b)
	}
	start := time.Date(2026, 11, 28, 11, 50, 49, 582e6, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		var c genesys.Conversation
		if json.Unmarshal(data, &c) != nil {
			return
		}
		c.ConversationID = "5773eca4-0874-4617-a6e8-85591aa94609"
		c.ConversationStart = start
		if c.ConversationEnd != nil && (c.ConversationEnd.Before(start) || c.ConversationEnd.Year() > 2100) {
			c.ConversationEnd = nil
		}
		b, err := metadataFor(c, "c1a2b3d4-0000-4000-8000-000000000101")
		if err != nil {
			t.Fatalf("metadataFor refused a sane conversation: %v", err)
		}
		m, fieldErrs, err := vault.DecodeRecordingMetadata(b)
		if err != nil || len(fieldErrs) > 0 {
			t.Fatalf("holdfast refuses %s: %v %v", b, err, fieldErrs)
		}
		if m.Labels[LabelConversationID] != c.ConversationID || m.Labels[LabelRecordingID] == "" || m.MediaType != "SIP" ||
			len(m.Participants) != min(len(c.Participants), maxParticipants) {
			t.Fatalf("metadata %s lost something", b)
		}
		for _, p := range m.Participants {
			if !vault.ValidAOR(p.AOR) {
				t.Fatalf("participant address %q", p.AOR)
			}
		}
	})
}

// TestMetadataForRefusesBeforeDownload: a conversation holdfast would
// refuse is reported with the field, before any download.
func TestMetadataForRefusesBeforeDownload(t *testing.T) {
	t.Parallel()
	ok := genesys.Conversation{ConversationID: "c-1", ConversationStart: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for name, tc := range map[string]struct {
		c     genesys.Conversation
		recID string
		want  string
	}{
		"long conversation id":    {genesys.Conversation{ConversationID: strings.Repeat("x", 300), ConversationStart: ok.ConversationStart}, "r", "metadata."},
		"control in recording id": {ok, "r\x01", "metadata.labels.genesys.recording_id"},
		"start out of range":      {genesys.Conversation{ConversationID: "c", ConversationStart: time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC)}, "r", "metadata.started_at"},
	} {
		if _, err := metadataFor(tc.c, tc.recID); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want a refusal naming %s", name, err, tc.want)
		}
	}
	if _, err := metadataFor(ok, "r-1"); err != nil {
		t.Fatal(err)
	}
}
