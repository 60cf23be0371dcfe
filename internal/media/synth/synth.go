// Package synth generates realistic synthetic SIP call recordings for
// holdfast's tests, the `holdfast demo` command and benchmarks. A Call
// carries the signalling facts of one call and can render the three
// artefacts holdfast ingests: the JSON metadata document, an RFC 7865
// SIPREC recording metadata document and a two-channel 16-bit PCM WAV.
//
// Everything is deterministic: Generate draws only from the supplied
// random source, and each Call's audio is derived from its Call-ID, so the
// same seed always yields byte-identical files.
package synth

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Defaults applied by Generate to zero-valued Options fields.
const (
	// DefaultSpread is the window before Options.Now that calls start in.
	DefaultSpread = 72 * time.Hour
	// DefaultMinDuration is the shortest generated call.
	DefaultMinDuration = 20 * time.Second
	// DefaultMaxDuration is the longest generated call.
	DefaultMaxDuration = 6 * time.Minute
	// DefaultSampleRate is the telephony narrowband rate in Hz.
	DefaultSampleRate = 8000
)

// Call directions, as used in Call.Direction and the metadata document.
const (
	// DirectionInbound is a customer calling in to an agent.
	DirectionInbound = "inbound"
	// DirectionOutbound is an agent calling a customer.
	DirectionOutbound = "outbound"
	// DirectionInternal is a call between two agents.
	DirectionInternal = "internal"
)

// Participant roles, as used in Participant.Role.
const (
	// RoleAgent marks an employee leg of the call.
	RoleAgent = "agent"
	// RoleCustomer marks an external party.
	RoleCustomer = "customer"
)

// Call is one synthetic SIP call: the facts a recorder would report about
// it. Its methods render the artefacts holdfast ingests.
type Call struct {
	// CallID is the SIP Call-ID, like "a84b4c76e66710@pc33.example.com".
	CallID string
	// Direction is DirectionInbound, DirectionOutbound or DirectionInternal.
	Direction string
	// StartedAt is when the call was answered (UTC, second precision).
	StartedAt time.Time
	// EndedAt is when the call was released (UTC, second precision).
	EndedAt time.Time
	// Participants holds the two parties; the first is always the agent.
	Participants []Participant
	// Labels are free-form tags such as {"queue": "billing"}.
	Labels map[string]string
	// SampleRate of the recording in Hz; zero means DefaultSampleRate.
	SampleRate int
}

// Participant is one party to a Call, in the shape holdfast's metadata
// document uses.
type Participant struct {
	// AOR is the party's SIP address of record, like "sip:alice@example.com".
	AOR string `json:"aor"`
	// Name is the display name.
	Name string `json:"name"`
	// Role is RoleAgent or RoleCustomer.
	Role string `json:"role"`
}

// Options controls Generate. The zero value is usable.
type Options struct {
	// Now is the end of the window calls start in: [Now-Spread, Now). The
	// zero value means a fixed reference instant (2025-01-01T00:00:00Z) so
	// that generation stays deterministic; pass time.Now() for recent calls.
	Now time.Time
	// Spread is the width of the start window; zero means DefaultSpread.
	Spread time.Duration
	// MinDuration and MaxDuration bound call length; zero means
	// DefaultMinDuration and DefaultMaxDuration. Durations are whole seconds.
	MinDuration, MaxDuration time.Duration
	// SampleRate for generated calls; zero means DefaultSampleRate.
	SampleRate int
}

// referenceNow is the instant used when Options.Now is zero.
func referenceNow() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }

// withDefaults fills zero fields and normalises bounds.
func (o Options) withDefaults() Options {
	if o.Now.IsZero() {
		o.Now = referenceNow()
	}
	if o.Spread <= 0 {
		o.Spread = DefaultSpread
	}
	if o.MinDuration <= 0 {
		o.MinDuration = DefaultMinDuration
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = DefaultMaxDuration
	}
	o.MinDuration = max(o.MinDuration.Round(time.Second), time.Second)
	o.MaxDuration = max(o.MaxDuration.Round(time.Second), o.MinDuration)
	if o.SampleRate <= 0 {
		o.SampleRate = DefaultSampleRate
	}
	return o
}

// Generate returns n calls drawn deterministically from rng: the same
// seed and options always produce the same calls. Each call starts within
// [opts.Now-opts.Spread, opts.Now) and, when the window is longer than the
// call, also ends by opts.Now. Durations follow a log-normal shape between
// the bounds, like real contact-centre traffic.
func Generate(rng *rand.Rand, n int, opts Options) []Call {
	o := opts.withDefaults()
	calls := make([]Call, 0, max(n, 0))
	for range n {
		calls = append(calls, generateOne(rng, o))
	}
	return calls
}

func generateOne(rng *rand.Rand, o Options) Call {
	agentNames := [...]string{"Alice Moreau", "Bruno Silva", "Chen Wei", "Dana Kowalski", "Emeka Obi", "Fatima Zahra", "Gustav Lind", "Hana Sato", "Ivan Petrov", "Julia Romano", "Kofi Mensah", "Lena Fischer"}
	customerNames := [...]string{"Maria Garcia", "James Smith", "Priya Patel", "Tom Becker", "Aiko Tanaka", "Olu Adeyemi", "Sofia Rossi", "Liam O'Brien", "Noor Haddad", "Pedro Alves", "Grace Kim", "Yusuf Demir"}
	hosts := [...]string{"pc33.example.com", "pbx1.example.com", "pbx2.example.com", "sbc-eu.example.net", "sbc-us.example.net"}
	inboundQueues := [...]string{"billing", "support", "sales", "retention", "onboarding"}
	outboundQueues := [...]string{"outbound-sales", "collections", "callbacks"}
	sites := [...]string{"ams", "nyc", "sgp"}

	dur := drawDuration(rng, o.MinDuration, o.MaxDuration)
	start := drawStart(rng, o.Now, o.Spread, dur)

	var dir string
	switch p := rng.Float64(); {
	case p < 0.55:
		dir = DirectionInbound
	case p < 0.9:
		dir = DirectionOutbound
	default:
		dir = DirectionInternal
	}
	agent := agentNames[rng.IntN(len(agentNames))]
	parts := []Participant{{AOR: agentAOR(agent), Name: agent, Role: RoleAgent}}
	labels := map[string]string{"site": sites[rng.IntN(len(sites))]}
	switch dir {
	case DirectionInternal:
		other := agentNames[rng.IntN(len(agentNames)-1)]
		if other == agent {
			other = agentNames[len(agentNames)-1]
		}
		parts = append(parts, Participant{AOR: agentAOR(other), Name: other, Role: RoleAgent})
		labels["queue"] = "internal"
	default:
		name := customerNames[rng.IntN(len(customerNames))]
		// 555-0100..0199 numbers are reserved for fiction.
		aor := fmt.Sprintf("sip:+1%03d5550%03d@carrier.example.net", 200+rng.IntN(800), 100+rng.IntN(100))
		parts = append(parts, Participant{AOR: aor, Name: name, Role: RoleCustomer})
		if dir == DirectionInbound {
			labels["queue"] = inboundQueues[rng.IntN(len(inboundQueues))]
		} else {
			labels["queue"] = outboundQueues[rng.IntN(len(outboundQueues))]
		}
	}
	return Call{
		CallID:       fmt.Sprintf("%014x@%s", rng.Uint64()>>8, hosts[rng.IntN(len(hosts))]),
		Direction:    dir,
		StartedAt:    start,
		EndedAt:      start.Add(dur),
		Participants: parts,
		Labels:       labels,
		SampleRate:   o.SampleRate,
	}
}

// agentAOR turns "Alice Moreau" into "sip:alice.moreau@example.com".
func agentAOR(name string) string {
	local := strings.ToLower(strings.NewReplacer(" ", ".", "'", "").Replace(name))
	return "sip:" + local + "@example.com"
}

// drawDuration draws a whole-second duration from a log-normal centred on
// the geometric mean of the bounds, clamped to them.
func drawDuration(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	loS, hiS := lo.Seconds(), hi.Seconds()
	mu := (math.Log(loS) + math.Log(hiS)) / 2
	sigma := (math.Log(hiS) - math.Log(loS)) / 4
	s := math.Round(math.Exp(mu + sigma*rng.NormFloat64()))
	s = min(max(s, loS), hiS)
	return time.Duration(s) * time.Second
}

// drawStart picks a whole-second start in [now-spread, now), preferring
// starts that let the call end by now.
func drawStart(rng *rand.Rand, now time.Time, spread, dur time.Duration) time.Time {
	now = now.UTC()
	lo := now.Add(-spread)
	if t := lo.Truncate(time.Second); t.Before(lo) {
		lo = t.Add(time.Second)
	} else {
		lo = t
	}
	hi := now // exclusive
	if end := now.Add(-dur); end.After(lo) {
		hi = end.Add(time.Nanosecond) // inclusive of now-dur
	}
	// Count whole seconds s with lo <= s < hi.
	count := int64((hi.Sub(lo) + time.Second - 1) / time.Second)
	if count < 1 {
		count = 1
	}
	return lo.Add(time.Duration(rng.Int64N(count)) * time.Second)
}

// Duration is the length of the call; negative spans count as zero.
func (c Call) Duration() time.Duration {
	return max(c.EndedAt.Sub(c.StartedAt), 0)
}

// rate returns the call's sample rate, applying the default.
func (c Call) rate() int {
	if c.SampleRate > 0 {
		return c.SampleRate
	}
	return DefaultSampleRate
}

// metadataDoc is the JSON shape of holdfast's ingest metadata.
type metadataDoc struct {
	MediaType    string            `json:"media_type"`
	CallID       string            `json:"call_id"`
	StartedAt    string            `json:"started_at"`
	EndedAt      string            `json:"ended_at"`
	Direction    string            `json:"direction"`
	Participants []Participant     `json:"participants"`
	Labels       map[string]string `json:"labels"`
}

// Metadata returns the JSON metadata document holdfast's ingest API
// expects alongside the recording:
//
//	{"media_type":"SIP","call_id":...,"started_at":RFC3339,"ended_at":RFC3339,
//	 "direction":...,"participants":[{"aor":...,"name":...,"role":...}],"labels":{...}}
func (c Call) Metadata() []byte {
	parts := c.Participants
	if parts == nil {
		parts = []Participant{}
	}
	labels := c.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	doc := metadataDoc{
		MediaType:    "SIP",
		CallID:       c.CallID,
		StartedAt:    c.StartedAt.UTC().Format(time.RFC3339),
		EndedAt:      c.EndedAt.UTC().Format(time.RFC3339),
		Direction:    c.Direction,
		Participants: parts,
		Labels:       labels,
	}
	// Marshalling strings, a slice of string structs and a string map
	// cannot fail, so the error is always nil.
	b, _ := json.Marshal(doc)
	return b
}
