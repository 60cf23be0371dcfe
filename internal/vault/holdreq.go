package vault

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// HoldSpecInput is the validated description of a new hold.
type HoldSpecInput struct {
	CaseID     string
	HoldReason string
	HoldDate   time.Time // zero: the time it is applied
}

// HoldAction is what one entry of a per-recording hold request asks for,
// read from its legal_hold member.
type HoldAction int

// The actions of a per-recording hold entry.
const (
	// HoldUndecided: legal_hold is missing or not a JSON boolean, so the
	// entry asks for nothing and the request fails validation.
	HoldUndecided HoldAction = iota
	// HoldApply: legal_hold true places a hold.
	HoldApply
	// HoldRelease: legal_hold false releases the recording from the holds
	// of the entry's case.
	HoldRelease
)

// RecordingHoldInput is one entry of a per-recording hold request.
type RecordingHoldInput struct {
	ID            string
	Action        HoldAction
	Spec          HoldSpecInput
	ReleaseReason string
}

// RecordingHoldsRequest is a decoded POST /api/v2/recordings/legalholds
// body. The one value serves the permission check ([RecordingHoldsRequest.Needs]),
// validation and the action alike, so they cannot disagree about what the
// request asks for.
type RecordingHoldsRequest struct {
	Items []RecordingHoldInput
}

// Needs returns the permissions the entries imply:
// recording:export:legalhold if any places a hold, legalhold:release if
// any releases one, in that order. Undecided entries imply nothing (the
// request is invalid and is never acted on).
func (r RecordingHoldsRequest) Needs() []Permission {
	var applies, releases bool
	for _, it := range r.Items {
		applies = applies || it.Action == HoldApply
		releases = releases || it.Action == HoldRelease
	}
	var need []Permission
	if applies {
		need = append(need, PermExportLegalHold)
	}
	if releases {
		need = append(need, PermLegalHoldRelease)
	}
	return need
}

// Example values shown in messages.
const (
	exampleReason = `"Discovery Request #12345"`
	exampleCase   = `"LC-2024-001"`
)

// MaxHoldItems bounds one per-recording hold request.
const MaxHoldItems = 1000

// checkReason validates a 1-500 character reason member.
func checkReason(f *Fields, name string, required bool) string {
	s, ok := f.String(name, "Discovery Request #12345")
	if !ok {
		if _, present := f.Raw(name); !present && required {
			f.Require(name, exampleReason)
		}
		return ""
	}
	if n := utf8.RuneCountInString(s); n < 1 || n > 500 || hasControlExceptNewline(s) {
		f.p.Add(f.Path(name), "invalid_length", fmt.Sprintf("must be 1 to 500 characters (got %d), e.g. %s", n, exampleReason))
		return ""
	}
	return s
}

func hasControlExceptNewline(s string) bool {
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return true
		}
	}
	return !utf8.ValidString(s)
}

// checkCaseID validates an optional case_id member.
func checkCaseID(f *Fields, name string) string {
	s, ok := f.String(name, "LC-2024-001")
	if !ok {
		return ""
	}
	if !CaseIDPattern.MatchString(s) {
		f.p.Add(f.Path(name), "invalid_pattern", CaseIDRule)
		return ""
	}
	return s
}

// DecodeHoldMetadata reads the hold members shared by every hold request
// (case_id, hold_reason, hold_date) from an object at f.
func DecodeHoldMetadata(f *Fields, reasonRequired bool) HoldSpecInput {
	var h HoldSpecInput
	h.CaseID = checkCaseID(f, "case_id")
	h.HoldReason = checkReason(f, "hold_reason", reasonRequired)
	h.HoldDate, _ = f.Time("hold_date")
	return h
}

// DecodeRecordingHolds decodes and validates a POST
// /api/v2/recordings/legalholds body. Every broken field is reported at
// once in a *ValidationError; the request is then still returned with
// every entry as far as it could be read, so the permissions its entries
// imply can be checked before the client is told what to fix. A
// *MalformedError (not JSON, a duplicate key) returns no entries.
func DecodeRecordingHolds(body []byte) (RecordingHoldsRequest, error) {
	obj, err := DecodeObject(body, "")
	if err != nil {
		return RecordingHoldsRequest{}, err
	}
	var p Problems
	f := NewFields(obj, "", &p)
	arr, ok := f.Array("recordings", `[{"id": "rec_…", "metadata": {"legal_hold": true, "hold_reason": "Discovery Request #12345"}}]`)
	if !ok {
		if _, present := f.Raw("recordings"); !present {
			f.Require("recordings", `[{"id": "rec_…", "metadata": {"legal_hold": true, "hold_reason": "Discovery Request #12345", "hold_date": "2023-11-01T00:00:00.000Z", "case_id": "LC-2024-001"}}]`)
		}
	}
	f.RejectUnknown("recordings", map[string]string{
		"legal_hold": `belongs inside each entry of recordings, at recordings[i].metadata.legal_hold`,
		"case_id":    `belongs inside each entry of recordings, at recordings[i].metadata.case_id`,
	})
	if ok && len(arr) == 0 {
		p.Add("recordings", "required", "must list at least one recording")
	}
	if len(arr) > MaxHoldItems {
		p.Add("recordings", "too_many", fmt.Sprintf("must list at most %d recordings per request", MaxHoldItems))
		arr = nil
	}
	items := make([]RecordingHoldInput, 0, len(arr))
	seen := map[string]int{}
	for i, raw := range arr {
		path := fmt.Sprintf("recordings[%d]", i)
		var eo map[string]json.RawMessage
		if json.Unmarshal(raw, &eo) != nil || eo == nil {
			p.Add(path, "invalid_type", `must be a JSON object, e.g. {"id": "rec_…", "metadata": {"legal_hold": true, "hold_reason": "Discovery Request #12345"}}`)
			continue
		}
		ef := NewFields(eo, path, &p)
		var item RecordingHoldInput
		if id, ok := ef.String("id", "rec_01JD0000000000000000000000"); ok {
			switch first, dup := seen[id]; {
			case !plausibleID(id):
				p.Add(ef.Path("id"), "not_found", fmt.Sprintf("no recording has id %q; list recordings with GET /api/v2/recordings", truncate(id, 80)))
			case dup:
				p.Add(ef.Path("id"), "duplicate", fmt.Sprintf("lists the same recording as recordings[%d]; list each recording once", first))
			default:
				seen[id] = i
			}
			item.ID = id
		} else if _, present := ef.Raw("id"); !present {
			ef.Require("id", `"rec_01JD0000000000000000000000"`)
		}
		mo, ok := ef.Object("metadata", `{"legal_hold": true, "hold_reason": "Discovery Request #12345"}`)
		if !ok {
			if _, present := ef.Raw("metadata"); !present {
				ef.Require("metadata", `{"legal_hold": true, "hold_reason": "Discovery Request #12345", "case_id": "LC-2024-001"}`)
			}
		}
		ef.RejectUnknown("id, metadata", map[string]string{
			"legal_hold":  "belongs in metadata, at " + path + ".metadata.legal_hold",
			"hold_reason": "belongs in metadata, at " + path + ".metadata.hold_reason",
			"case_id":     "belongs in metadata, at " + path + ".metadata.case_id",
		})
		if mo != nil {
			mf := NewFields(mo, path+".metadata", &p)
			lh, ok := mf.Bool("legal_hold")
			switch {
			case !ok:
				if _, present := mf.Raw("legal_hold"); !present {
					mf.Require("legal_hold", "true")
				}
			case lh:
				item.Action = HoldApply
			default:
				item.Action = HoldRelease
			}
			if item.Action != HoldRelease {
				item.Spec = DecodeHoldMetadata(mf, true)
				mf.Raw("release_reason")
			} else {
				item.Spec.CaseID = checkCaseID(mf, "case_id")
				if _, present := mf.Raw("case_id"); !present {
					mf.Require("case_id", exampleCase+" (legal_hold: false releases the recording from that case's holds)")
				}
				item.ReleaseReason = checkReason(mf, "release_reason", true)
				mf.Raw("hold_reason")
				mf.Raw("hold_date")
			}
			mf.RejectUnknown("legal_hold, hold_reason, hold_date, case_id, release_reason", nil)
		}
		items = append(items, item)
	}
	// An entry that decides nothing must never be acted on: Needs grants it
	// nothing, so it would otherwise run with no permission checked.
	for i, it := range items {
		if it.Action == HoldUndecided && p.Empty() {
			p.Add(fmt.Sprintf("recordings[%d].metadata.legal_hold", i), "required", "is required, e.g. true")
		}
	}
	return RecordingHoldsRequest{Items: items}, p.Err()
}

// HoldInput is a validated POST /api/v2/legalholds body.
type HoldInput struct {
	Spec          HoldSpecInput
	Filter        RecordingFilter
	IncludeFuture bool
}

// DecodeFilter reads a recording filter object at path. It requires at
// least one selector.
func DecodeFilter(obj map[string]json.RawMessage, path string, p *Problems) RecordingFilter {
	var flt RecordingFilter
	f := NewFields(obj, path, p)
	if _, ok := f.Raw("media_type"); ok {
		flt.MediaType, _ = f.Enum("media_type", MediaTypes)
	}
	if t, ok := f.Time("from"); ok {
		flt.From = &t
	}
	if t, ok := f.Time("to"); ok {
		flt.To = &t
	}
	if flt.From != nil && flt.To != nil && !flt.From.Before(*flt.To) {
		p.Add(f.Path("to"), "out_of_order", "must be after from, e.g. "+FormatTime(flt.From.Add(48*time.Hour)))
	}
	if arr, ok := f.Array("record_ids", `["rec_01JD0000000000000000000000"]`); ok {
		if len(arr) > 10000 {
			p.Add(f.Path("record_ids"), "too_many", "must list at most 10000 ids")
		}
		seen := map[string]bool{}
		for i, raw := range arr {
			var id string
			if json.Unmarshal(raw, &id) != nil || id == "" {
				p.Add(fmt.Sprintf("%s[%d]", f.Path("record_ids"), i), "invalid_type", `must be a recording id string, e.g. "rec_01JD0000000000000000000000"`)
				continue
			}
			if !plausibleID(id) {
				p.Add(fmt.Sprintf("%s[%d]", f.Path("record_ids"), i), "not_found", fmt.Sprintf("no recording has id %q; list recordings with GET /api/v2/recordings", truncate(id, 80)))
				continue
			}
			if !seen[id] {
				seen[id] = true
				flt.RecordIDs = append(flt.RecordIDs, id)
			}
		}
	}
	flt.CaseID = checkCaseID(f, "case_id")
	f.RejectUnknown("media_type, from, to, record_ids, case_id", filterHints)
	if flt.Empty() && p.Empty() {
		p.Add(path, "required", `must select recordings by at least one of media_type, from/to, record_ids or case_id, e.g. {"media_type": "SIP", "from": "2026-11-24T06:00:00Z", "to": "2026-11-26T06:00:00Z"}`)
	}
	return flt
}

// DecodeHold validates a POST /api/v2/legalholds body.
func DecodeHold(body []byte) (HoldInput, error) {
	var in HoldInput
	obj, err := DecodeObject(body, "")
	if err != nil {
		return in, err
	}
	var p Problems
	f := NewFields(obj, "", &p)
	in.Spec = DecodeHoldMetadata(f, true)
	if fo, ok := f.Object("filter", `{"media_type": "SIP", "from": "2026-11-24T06:00:00Z", "to": "2026-11-26T06:00:00Z"}`); ok {
		in.Filter = DecodeFilter(fo, "filter", &p)
	} else if _, present := f.Raw("filter"); !present {
		f.Require("filter", `{"media_type": "SIP", "from": "2026-11-24T06:00:00Z", "to": "2026-11-26T06:00:00Z"}`)
	}
	in.IncludeFuture, _ = f.Bool("include_future")
	f.RejectUnknown("case_id, hold_reason, hold_date, filter, include_future", map[string]string{
		"legal_hold": "is not needed here: POST /api/v2/legalholds always places a hold",
	})
	return in, p.Err()
}

// DecodeRelease validates a POST /api/v2/legalholds/{id}/release body.
func DecodeRelease(body []byte) (string, error) {
	obj, err := DecodeObject(body, "")
	if err != nil {
		return "", err
	}
	var p Problems
	f := NewFields(obj, "", &p)
	reason := checkReason(f, "release_reason", true)
	f.RejectUnknown("release_reason", nil)
	return reason, p.Err()
}

// plausibleID reports whether s could be an id at all: short printable
// ASCII. Anything else cannot name a resource, and must not reach a
// database that rejects invalid text.
func plausibleID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// PlausibleID is plausibleID for other layers (path ids, cursors).
func PlausibleID(s string) bool { return plausibleID(s) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
