package genesys

import "time"

// The types below are holdfast's own, small copies of the Genesys Cloud
// Platform API models it reads and writes. Field names follow the published
// models (platformclientv2: Asyncconversationquery, Asyncquerystatus,
// Analyticsconversationasyncqueryresponse, Analyticsconversationqueryresponse,
// Analyticsconversation, Analyticsparticipant, Analyticssession,
// Recordingmetadata, Batchdownloadjobsubmission, Batchdownloadjobstatusresult,
// Batchdownloadjobresult, Conversationdeletionprotectionquery); only the
// fields holdfast uses are kept. testdata/examples holds documented example
// bodies that the tests decode with these types.

// DetailsQuery is the body of an analytics conversation details job
// (Asyncconversationquery) and of the synchronous details query
// (Conversationquery, which adds Paging).
type DetailsQuery struct {
	// Interval is "<start>/<end>" in ISO-8601.
	Interval       string          `json:"interval"`
	Order          string          `json:"order,omitempty"`
	OrderBy        string          `json:"orderBy,omitempty"`
	SegmentFilters []SegmentFilter `json:"segmentFilters,omitempty"`
	Paging         *Paging         `json:"paging,omitempty"`
}

// SegmentFilter is a Segmentdetailqueryfilter.
type SegmentFilter struct {
	Type       string      `json:"type"`
	Predicates []Predicate `json:"predicates"`
}

// Predicate is a Segmentdetailquerypredicate.
type Predicate struct {
	Type      string `json:"type,omitempty"`
	Dimension string `json:"dimension,omitempty"`
	Operator  string `json:"operator,omitempty"`
	Value     string `json:"value,omitempty"`
}

// Paging is a Pagingspec of the synchronous query.
type Paging struct {
	PageSize   int `json:"pageSize"`
	PageNumber int `json:"pageNumber"`
}

// JobRef is the AsyncQueryResponse answering a new details job.
type JobRef struct {
	JobID string `json:"jobId"`
}

// Job states of an analytics details job (Asyncquerystatus.state).
const (
	JobQueued    = "QUEUED"
	JobPending   = "PENDING"
	JobFulfilled = "FULFILLED"
	JobFailed    = "FAILED"
	JobCancelled = "CANCELLED"
	JobExpired   = "EXPIRED"
)

// JobStatus is an Asyncquerystatus.
type JobStatus struct {
	State          string     `json:"state"`
	ErrorMessage   string     `json:"errorMessage,omitempty"`
	ExpirationDate *time.Time `json:"expirationDate,omitempty"`
	SubmissionDate *time.Time `json:"submissionDate,omitempty"`
	CompletionDate *time.Time `json:"completionDate,omitempty"`
}

// JobResults is one page of a details job's results
// (Analyticsconversationasyncqueryresponse).
type JobResults struct {
	Conversations []Conversation `json:"conversations"`
	// Cursor is empty on the last page.
	Cursor string `json:"cursor,omitempty"`
	// DataAvailabilityDate is how far the job's data reaches; conversations
	// after it must come from the synchronous query.
	DataAvailabilityDate *time.Time `json:"dataAvailabilityDate,omitempty"`
}

// QueryResults is one page of the synchronous details query
// (Analyticsconversationqueryresponse).
type QueryResults struct {
	Conversations []Conversation `json:"conversations"`
	TotalHits     int            `json:"totalHits"`
}

// Conversation is an Analyticsconversation.
type Conversation struct {
	ConversationID       string        `json:"conversationId"`
	ConversationStart    time.Time     `json:"conversationStart"`
	ConversationEnd      *time.Time    `json:"conversationEnd,omitempty"`
	OriginatingDirection string        `json:"originatingDirection,omitempty"`
	DivisionIDs          []string      `json:"divisionIds,omitempty"`
	Participants         []Participant `json:"participants,omitempty"`
}

// Participant is an Analyticsparticipant.
type Participant struct {
	ParticipantID   string    `json:"participantId,omitempty"`
	ParticipantName string    `json:"participantName,omitempty"`
	Purpose         string    `json:"purpose,omitempty"`
	UserID          string    `json:"userId,omitempty"`
	Sessions        []Session `json:"sessions,omitempty"`
}

// Session is an Analyticssession.
type Session struct {
	SessionID      string `json:"sessionId,omitempty"`
	MediaType      string `json:"mediaType,omitempty"`
	Direction      string `json:"direction,omitempty"`
	Ani            string `json:"ani,omitempty"`
	Dnis           string `json:"dnis,omitempty"`
	AddressSelf    string `json:"addressSelf,omitempty"`
	AddressOther   string `json:"addressOther,omitempty"`
	AddressFrom    string `json:"addressFrom,omitempty"`
	AddressTo      string `json:"addressTo,omitempty"`
	ProtocolCallID string `json:"protocolCallId,omitempty"`
	Recording      *bool  `json:"recording,omitempty"`
}

// RecordingMetadata is a Recordingmetadata, one element of
// GET /api/v2/conversations/{id}/recordingmetadata.
type RecordingMetadata struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversationId,omitempty"`
	Name           string `json:"name,omitempty"`
	// Media is "audio", "chat", "email", "message" or "screen".
	Media     string `json:"media,omitempty"`
	FileState string `json:"fileState,omitempty"`
	SessionID string `json:"sessionId,omitempty"`
	// StartTime and EndTime are set for screen recordings only.
	StartTime string `json:"startTime,omitempty"`
	EndTime   string `json:"endTime,omitempty"`
}

// BatchItem names one recording of a batch download request
// (Batchdownloadrequest).
type BatchItem struct {
	ConversationID string `json:"conversationId"`
	RecordingID    string `json:"recordingId"`
}

// batchSubmission is a Batchdownloadjobsubmission.
type batchSubmission struct {
	BatchDownloadRequestList []BatchItem `json:"batchDownloadRequestList"`
}

// BatchRef answers a new batch download request
// (Batchdownloadjobsubmissionresult).
type BatchRef struct {
	ID      string `json:"id"`
	SelfURI string `json:"selfUri,omitempty"`
}

// BatchStatus is a Batchdownloadjobstatusresult. The job is complete when
// ResultCount reaches ExpectedResultCount.
type BatchStatus struct {
	ID                  string        `json:"id"`
	JobID               string        `json:"jobId,omitempty"`
	ExpectedResultCount int           `json:"expectedResultCount"`
	ResultCount         int           `json:"resultCount"`
	ErrorCount          int           `json:"errorCount"`
	Status              string        `json:"status,omitempty"`
	Results             []BatchResult `json:"results,omitempty"`
	SelfURI             string        `json:"selfUri,omitempty"`
}

// Complete reports whether every requested item has its result.
func (b BatchStatus) Complete() bool {
	return b.ExpectedResultCount > 0 && b.ResultCount >= b.ExpectedResultCount
}

// BatchResult is a Batchdownloadjobresult: a pre-signed ResultURL, or
// ErrorMsg when the recording could not be delivered (yet).
type BatchResult struct {
	ConversationID string `json:"conversationId"`
	RecordingID    string `json:"recordingId"`
	ResultURL      string `json:"resultUrl,omitempty"`
	ContentType    string `json:"contentType,omitempty"`
	ErrorMsg       string `json:"errorMsg,omitempty"`
}

// protectionQuery is a Conversationdeletionprotectionquery.
type protectionQuery struct {
	ConversationIDs []string `json:"conversationIds"`
}

// tokenResponse is the OAuth token endpoint's answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// errorBody is the platform's error body (ErrorBody).
type errorBody struct {
	Message   string `json:"message"`
	Code      string `json:"code"`
	Status    int    `json:"status"`
	ContextID string `json:"contextId,omitempty"`
}
