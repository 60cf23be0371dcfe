package vault

// Where holdfast keeps what other platforms' APIs name differently.
const (
	useFromTo = `use filter.from and filter.to, e.g. {"filter": {"from": "2026-11-24T06:00:00Z", "to": "2026-11-26T06:00:00Z"}}`
)

// filterHints name the holdfast field for other platforms' names of filter
// members, so a script written against one of them is told what to send.
var filterHints = map[string]string{
	"date_range":    useFromTo,
	"dateRange":     useFromTo,
	"interval":      useFromTo + ` (an interval "start/end" is the pair from, to)`,
	"start":         "use filter.from",
	"end":           "use filter.to",
	"mediaType":     `use filter.media_type, e.g. "SIP"`,
	"recordingIds":  `use filter.record_ids, e.g. ["rec_01JD0000000000000000000000"]`,
	"recording_ids": `use filter.record_ids, e.g. ["rec_01JD0000000000000000000000"]`,
	"caseId":        `use filter.case_id, e.g. "LC-2024-001"`,
	"legalHold":     "use metadata.legal_hold (legal_hold belongs in metadata, not in the filter)",
	"legal_hold":    "belongs in metadata, at metadata.legal_hold, not in the filter",
}

// metadataHints do the same for an export's metadata member.
var metadataHints = map[string]string{
	"legalHold":  "use metadata.legal_hold, e.g. true",
	"caseId":     `use metadata.case_id, e.g. "LC-2024-001"`,
	"holdReason": `use metadata.hold_reason, e.g. "Discovery Request #12345"`,
	"holdDate":   "use metadata.hold_date, e.g. " + TimestampExample,
	"date_range": useFromTo + " (the selection belongs in filter, not in metadata)",
	"mediaType":  `use filter.media_type, e.g. "SIP" (the selection belongs in filter, not in metadata)`,
}

// exportTopHints do the same at the top level of an export request.
var exportTopHints = map[string]string{
	"date_range":   useFromTo,
	"dateRange":    useFromTo,
	"interval":     useFromTo + ` (an interval "start/end" is the pair from, to)`,
	"mediaType":    `use filter.media_type (or media_type), e.g. "SIP"`,
	"recordingIds": `use filter.record_ids (or record_ids), e.g. ["rec_01JD0000000000000000000000"]`,
	"caseId":       `use metadata.case_id (or case_id), e.g. "LC-2024-001"`,
	"legalHold":    "use metadata.legal_hold (or legal_hold), e.g. true",
	"hold_reason":  "belongs under metadata, at metadata.hold_reason",
	"hold_date":    "belongs under metadata, at metadata.hold_date",
	"from":         "belongs under filter, at filter.from",
	"to":           "belongs under filter, at filter.to",
}
