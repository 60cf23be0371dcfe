// Package genesystest is a faithful fake of the parts of Genesys Cloud that
// `holdfast import genesys` uses, serving real HTTP on a loopback port: the
// OAuth client credentials grant, the analytics conversation details job
// lifecycle (QUEUED → PENDING → FULFILLED, cursor paging, a
// dataAvailabilityDate that stops short of the present), the synchronous
// details query, recording metadata, recordings that answer 202 while they
// are "transcoding", batch download requests whose pre-signed result URLs
// really expire (and refuse an Authorization header, as object stores do),
// deletion protection with its per-call and per-organisation caps, and rate
// limiting: a per-token requests-per-minute window reported in the
// inin-ratelimit-* headers and 429s with Retry-After, both real and
// injected at a configurable rate.
//
// It is for tests. Its JSON uses the field names of the published Genesys
// Cloud API models, checked against documented example bodies in
// ../testdata/examples. A Server is safe for concurrent use.
package genesystest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"time"
)

// Recording is one recording of a fake conversation.
type Recording struct {
	ID string
	// Media is "audio", "chat", "email", "message" or "screen".
	Media string
	// Body is what a result URL serves, with ContentType.
	Body        []byte
	ContentType string
	// Transcoding is how many times the recording answers "not ready"
	// (202 from GET …/recordings/{id}, an errorMsg in a batch result)
	// before it is ready.
	Transcoding int
}

// Participant is one participant of a fake conversation.
type Participant struct {
	ID, Name, Purpose, UserID string
	// Address is the participant's own address (sessions' addressSelf,
	// and ani or dnis for the customer side).
	Address string
}

// Conversation is one fake conversation.
type Conversation struct {
	ID         string
	Start, End time.Time
	// Direction is "inbound" or "outbound".
	Direction string
	// MediaType of its sessions: "voice", "chat", "email", "message".
	MediaType      string
	ProtocolCallID string
	Participants   []Participant
	Recordings     []Recording
}

// Options configure a [Server]. Zero values take the defaults given.
type Options struct {
	ClientID, ClientSecret string        // default "test-client", "test-secret"
	TokenTTL               time.Duration // default 1 h
	Conversations          []Conversation
	// DataAvailability is where analytics jobs' data stops; conversations
	// starting at or after it are found only by the synchronous query.
	// Zero means all data is available.
	DataAvailability time.Time
	// RateLimit is requests per minute per token (default 300, negative
	// for none); the window is reported in inin-ratelimit-* headers and
	// enforced with 429 and Retry-After.
	RateLimit int
	// Inject429Every answers every Nth API request with 429 and
	// Retry-After: RetryAfter seconds (default 1); 0 injects none.
	Inject429Every int
	RetryAfter     int
	// URLTTL is how long result URLs stay readable (default 2 min, the
	// platform's documented minimum); ExpireEvery issues every Nth result
	// URL already expired.
	URLTTL      time.Duration
	ExpireEvery int
	// JobPolls and BatchPolls are how many status reads a job or batch
	// needs before it is complete (default 2 each).
	JobPolls, BatchPolls int
	// ProtectCap is the organisation's limit on protected conversations
	// (default 1000); AlreadyProtected start protected.
	ProtectCap       int
	AlreadyProtected []string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Server is a running fake organisation.
type Server struct {
	URL string
	srv *httptest.Server
	o   Options

	mu        sync.Mutex
	convs     []*Conversation // by start
	byID      map[string]*Conversation
	notReady  map[string]int // recording id -> remaining "not ready" answers
	tokens    map[string]time.Time
	windows   map[string]*window
	requests  int
	jobs      map[string]*job
	batches   map[string]*batch
	urls      map[string]*resultURL
	issued    int
	protected map[string]bool
	stats     Stats
}

// Stats counts what the fake saw, for tests to assert on.
type Stats struct {
	TokensIssued         int
	Requests             int
	Served429            int
	ExpiredURLs          int // result URLs issued already expired or read after expiry
	DownloadsWithAuth    int // downloads refused because they carried Authorization
	Downloads            int
	Served202            int
	BatchSizes           []int
	ProtectCalls         [][]string
	ProtectRefusals      int
	SyncQueries          int
	JobResultPages       int
	UnauthorizedAPICalls int
}

type window struct {
	start time.Time
	count int
}

type job struct {
	query detailsQuery
	polls int
}

type batch struct {
	items   []batchItem
	polls   int
	results []batchResult // filled when complete
}

type resultURL struct {
	rec     *Recording
	expires time.Time
}

// New starts a fake organisation; it is closed when the test ends via
// t.Cleanup in [Start], or by [Server.Close].
func New(o Options) *Server {
	if o.ClientID == "" {
		o.ClientID = "test-client"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "test-secret"
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}
	if o.RateLimit == 0 {
		o.RateLimit = 300
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 1
	}
	if o.URLTTL <= 0 {
		o.URLTTL = 2 * time.Minute
	}
	if o.JobPolls <= 0 {
		o.JobPolls = 2
	}
	if o.BatchPolls <= 0 {
		o.BatchPolls = 2
	}
	if o.ProtectCap <= 0 {
		o.ProtectCap = 1000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{o: o, byID: map[string]*Conversation{}, notReady: map[string]int{}, tokens: map[string]time.Time{},
		windows: map[string]*window{}, jobs: map[string]*job{}, batches: map[string]*batch{}, urls: map[string]*resultURL{},
		protected: map[string]bool{}}
	for i := range o.Conversations {
		c := &o.Conversations[i]
		s.convs = append(s.convs, c)
		s.byID[c.ID] = c
		for j := range c.Recordings {
			if n := c.Recordings[j].Transcoding; n > 0 {
				s.notReady[c.Recordings[j].ID] = n
			}
		}
	}
	sort.SliceStable(s.convs, func(i, j int) bool { return s.convs[i].Start.Before(s.convs[j].Start) })
	for _, id := range o.AlreadyProtected {
		s.protected[id] = true
	}
	s.srv = httptest.NewServer(s.routes())
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.BatchSizes = append([]int(nil), s.stats.BatchSizes...)
	st.ProtectCalls = append([][]string(nil), s.stats.ProtectCalls...)
	return st
}

// RevokeTokens invalidates every issued token at once, as an
// administrator revoking the OAuth client's sessions would; the next API
// call with one answers 401.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok := range s.tokens {
		delete(s.tokens, tok)
	}
}

// Protected returns the protected conversation ids, sorted.
func (s *Server) Protected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.protected {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Recording returns a recording of the fake by id.
func (s *Server) Recording(id string) (Recording, bool) {
	for _, c := range s.convs {
		for _, r := range c.Recordings {
			if r.ID == id {
				return r, true
			}
		}
	}
	return Recording{}, false
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", s.token)
	api := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.guard(h)) }
	api("POST /api/v2/analytics/conversations/details/jobs", s.createJob)
	api("GET /api/v2/analytics/conversations/details/jobs/{id}", s.jobStatus)
	api("GET /api/v2/analytics/conversations/details/jobs/{id}/results", s.jobResults)
	api("POST /api/v2/analytics/conversations/details/query", s.query)
	api("GET /api/v2/conversations/{cid}/recordingmetadata", s.recordingMetadata)
	api("GET /api/v2/conversations/{cid}/recordings/{rid}", s.recording)
	api("POST /api/v2/recording/batchrequests", s.createBatch)
	api("GET /api/v2/recording/batchrequests/{id}", s.batchStatus)
	api("PUT /api/v2/recordings/deletionprotection", s.protect)
	mux.HandleFunc("GET /downloads/{token}", s.download)
	return mux
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
