package genesysimport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/genesys"
)

// OrgProtectionCap is Genesys Cloud's documented limit on conversations
// protected from deletion per organisation.
const OrgProtectionCap = 1000

// Protection is what --protect did.
type Protection struct {
	// Held is how many imported conversations have a recording under an
	// active holdfast hold.
	Held int `json:"held_conversations"`
	// Protected were put under deletion protection by this run;
	// AlreadyProtected by an earlier one.
	Protected        int `json:"protected"`
	AlreadyProtected int `json:"already_protected"`
	// NotProtected are held conversations left unprotected: Stopped is set
	// when the organisation's cap refused them, with Genesys' answer in
	// Message.
	NotProtected int    `json:"not_protected"`
	Stopped      bool   `json:"stopped"`
	Message      string `json:"message,omitempty"`
	// Calls is how many protection calls were made (each ≤ 100 ids).
	Calls int `json:"calls"`
}

// protect mirrors holdfast's active holds to Genesys deletion protection:
// every conversation with an imported recording under an active hold is
// protected, at most 100 per call. When Genesys refuses a call, the call is
// split in halves until the refused conversations are found, so that
// protection stops exactly at the organisation's cap and everything below
// it is protected. holdfast's own holds are untouched either way.
func (im *importer) protect(ctx context.Context) error {
	held, err := im.heldConversations(ctx)
	if err != nil {
		return fmt.Errorf("genesysimport: list held recordings: %w", err)
	}
	p := &Protection{Held: len(held)}
	done := im.st.protected()
	var todo []string
	for _, id := range held {
		if done[id] {
			p.AlreadyProtected++
		} else {
			todo = append(todo, id)
		}
	}
	stopped := false
	var try func(ids []string) error
	try = func(ids []string) error {
		if stopped || len(ids) == 0 {
			return nil
		}
		p.Calls++
		err := im.cfg.Genesys.Protect(ctx, ids)
		if err == nil {
			p.Protected += len(ids)
			if serr := im.st.addProtected(ids); serr != nil {
				im.cfg.Logger.Warn("genesysimport: state not saved", "err", serr)
			}
			im.emit(Event{Kind: EventProtected, Message: fmt.Sprintf("%d conversation(s) protected from deletion in Genesys", len(ids))})
			return nil
		}
		var ae *genesys.APIError
		if !errors.As(err, &ae) || ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden || ae.Status >= 500 {
			return err
		}
		if len(ids) > 1 {
			h := len(ids) / 2
			if err := try(ids[:h]); err != nil {
				return err
			}
			return try(ids[h:])
		}
		if isCap(ae) {
			stopped = true
			p.Stopped = true
			p.Message = ae.Message
			return nil
		}
		// This one conversation cannot be protected (e.g. no longer in
		// Genesys); say so and go on with the others.
		p.NotProtected++
		im.mu.Lock()
		im.sum.Failed = append(im.sum.Failed, Failure{ConversationID: ids[0], Reason: "deletion protection refused: " + ae.Error()})
		im.mu.Unlock()
		return nil
	}
	for i := 0; i < len(todo) && !stopped; i += genesys.MaxProtectIDs {
		if err := try(todo[i:min(i+genesys.MaxProtectIDs, len(todo))]); err != nil {
			return fmt.Errorf("genesysimport: deletion protection: %w", err)
		}
	}
	if stopped {
		p.NotProtected = p.Held - p.Protected - p.AlreadyProtected
		im.emit(Event{Kind: EventProtectStop, Message: p.Message})
	}
	im.mu.Lock()
	im.sum.Protection = p
	im.mu.Unlock()
	return nil
}

// isCap reports whether a refusal of a single conversation is the
// organisation's cap on protected conversations.
func isCap(e *genesys.APIError) bool {
	s := strings.ToLower(e.Code + " " + e.Message)
	return e.Status == http.StatusBadRequest && (strings.Contains(s, "limit") || strings.Contains(s, "exceed") || strings.Contains(s, "maximum"))
}

// heldConversations pages through holdfast's held recordings
// (legal_hold=true) and returns the Genesys conversations among them,
// sorted.
func (im *importer) heldConversations(ctx context.Context) ([]string, error) {
	set := map[string]bool{}
	held := true
	for cursor := ""; ; {
		page, err := im.cfg.Holdfast.ListRecordings(ctx, client.ListRecordingsParams{LegalHold: &held, Limit: 1000, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, r := range page.Items {
			if cid := r.Labels[LabelConversationID]; cid != "" && r.LegalHold && r.Labels[LabelRecordingID] != "" {
				set[cid] = true
			}
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out, nil
}
