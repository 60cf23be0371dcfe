package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// testLog builds n entries, their stored hashes and a checkpoint of the full log.
func testLog(t *testing.T, n int) ([]Entry, *memHashes, Checkpoint) {
	t.Helper()
	var store memHashes
	entries := make([]Entry, n)
	for i := range entries {
		entries[i] = Entry{
			Index:   int64(i),
			Time:    testTime.Add(time.Duration(i) * time.Second),
			Type:    []string{"recording.ingested", "hold.applied", "export.created"}[i%3],
			Actor:   "system",
			Subject: fmt.Sprintf("rec_%d", i),
			Data:    json.RawMessage(fmt.Sprintf(`{"bytes":%d,"codec":"opus"}`, 1000*i)),
		}
		h, err := entries[i].Hash()
		if err != nil {
			t.Fatal(err)
		}
		store.append(t, h)
	}
	root, err := TreeHash(int64(n), &store)
	if err != nil {
		t.Fatal(err)
	}
	return entries, &store, Checkpoint{Origin: "holdfast/test", Size: int64(n), Root: root}
}

func seqOf(entries []Entry) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		for _, e := range entries {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// leafLookup reads level-0 stored hashes, as the store (or the API's
// leaf_hash field) provides them.
func leafLookup(store *memHashes) func(int64) (tlog.Hash, bool) {
	return func(i int64) (tlog.Hash, bool) {
		if i < 0 || i >= store.n {
			return tlog.Hash{}, false
		}
		return store.hashes[tlog.StoredHashIndex(0, i)], true
	}
}

func TestVerifyLog(t *testing.T) {
	const n = 20
	swap := func(es []Entry, i, j int) []Entry { es[i], es[j] = es[j], es[i]; return es }
	tests := []struct {
		name      string
		edit      func([]Entry) []Entry
		cpSize    int64 // 0: the full log
		noLeaves  bool
		wantIndex []int64 // exact set of Problem.Index values, sorted
	}{
		{name: "untouched", edit: nil, wantIndex: nil},
		{name: "untouched without stored leaves", noLeaves: true, wantIndex: nil},
		{name: "log grew after checkpoint", cpSize: 15, wantIndex: nil},
		{name: "edited entry", edit: func(es []Entry) []Entry { es[7].Subject = "rec_X"; return es },
			wantIndex: []int64{-1, 7}},
		{name: "edited data", edit: func(es []Entry) []Entry { es[12].Data = json.RawMessage(`{"bytes":1,"codec":"opus"}`); return es },
			wantIndex: []int64{-1, 12}},
		{name: "edited beyond checkpoint", cpSize: 15, edit: func(es []Entry) []Entry { es[17].Actor = "tok_evil"; return es },
			wantIndex: []int64{17}},
		{name: "edited without stored leaves", noLeaves: true, edit: func(es []Entry) []Entry { es[7].Subject = "rec_X"; return es },
			wantIndex: []int64{-1}},
		{name: "removed entry", edit: func(es []Entry) []Entry { return slices.Delete(es, 5, 6) },
			wantIndex: []int64{-1, 5}},
		{name: "removed first entry", edit: func(es []Entry) []Entry { return es[1:] },
			wantIndex: []int64{-1, 0}},
		{name: "removed last entry", edit: func(es []Entry) []Entry { return es[:n-1] },
			wantIndex: []int64{n - 1}},
		{name: "removed range", edit: func(es []Entry) []Entry { return slices.Delete(es, 4, 9) },
			wantIndex: []int64{-1, 4}},
		{name: "swapped entries", edit: func(es []Entry) []Entry { return swap(es, 3, 11) },
			wantIndex: []int64{-1, 3, 11}},
		{name: "swapped adjacent entries", edit: func(es []Entry) []Entry { return swap(es, 8, 9) },
			wantIndex: []int64{-1, 8, 9}},
		{name: "swapped and renumbered", edit: func(es []Entry) []Entry {
			swap(es, 3, 11)
			es[3].Index, es[11].Index = 3, 11
			return es
		}, wantIndex: []int64{-1, 3, 11}},
		{name: "duplicated entry", edit: func(es []Entry) []Entry { return slices.Insert(es, 6, es[6]) },
			wantIndex: []int64{-1, 7}},
		{name: "malformed entry", edit: func(es []Entry) []Entry { es[2].Data = json.RawMessage(`{"a":1,"a":1}`); return es },
			wantIndex: []int64{-1, 2}},
		{name: "empty log, non-empty checkpoint", edit: func([]Entry) []Entry { return nil },
			wantIndex: []int64{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entries, store, cp := testLog(t, n)
			if tc.cpSize != 0 {
				root, err := TreeHash(tc.cpSize, store)
				if err != nil {
					t.Fatal(err)
				}
				cp.Size, cp.Root = tc.cpSize, root
			}
			if tc.edit != nil {
				entries = tc.edit(entries)
			}
			var leaves func(int64) (tlog.Hash, bool)
			if !tc.noLeaves {
				leaves = leafLookup(store)
			}
			problems, err := VerifyLog(seqOf(entries), leaves, cp)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, p := range problems {
				if p.Message == "" {
					t.Errorf("problem without message: %+v", p)
				}
				got = append(got, p.Index)
			}
			slices.Sort(got)
			got = slices.Compact(got)
			if !slices.Equal(got, tc.wantIndex) {
				t.Errorf("problem indices %v, want %v; problems:\n%s", got, tc.wantIndex, formatProblems(problems))
			}
		})
	}
}

func formatProblems(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

func TestVerifyLogMessages(t *testing.T) {
	entries, store, cp := testLog(t, 10)
	tests := []struct {
		name string
		edit func([]Entry) []Entry
		cp   func(Checkpoint) Checkpoint
		want []string
	}{
		{"removed", func(es []Entry) []Entry { return slices.Delete(es, 4, 5) }, nil,
			[]string{"entry 4: positions 4..8 hold the entries with indices 5..9 (index 4 expected here: entry removed or moved later)"}},
		{"swapped", func(es []Entry) []Entry { es[2], es[6] = es[6], es[2]; return es }, nil,
			[]string{"entry 2: position 2 holds the entry with index 6", "entry 6: position 6 holds the entry with index 2"}},
		{"edited", func(es []Entry) []Entry { es[3].Type = "x"; return es }, nil,
			[]string{"entry 3: entry modified: leaf hash"}},
		{"wrong root", nil, func(c Checkpoint) Checkpoint { c.Root = tlog.Hash{}; return c },
			[]string{"log: recomputed root at size 10 is " + FormatHash(cp.Root)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			es := slices.Clone(entries)
			if tc.edit != nil {
				es = tc.edit(es)
			}
			c := cp
			if tc.cp != nil {
				c = tc.cp(c)
			}
			problems, err := VerifyLog(seqOf(es), leafLookup(store), c)
			if err != nil {
				t.Fatal(err)
			}
			text := formatProblems(problems)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("problems lack %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestVerifyLogErrors(t *testing.T) {
	entries, store, cp := testLog(t, 5)
	boom := errors.New("connection reset")
	failing := func(yield func(Entry, error) bool) {
		for _, e := range entries[:3] {
			if !yield(e, nil) {
				return
			}
		}
		yield(Entry{}, boom)
	}
	if _, err := VerifyLog(failing, leafLookup(store), cp); !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "audit: ") {
		t.Errorf("iterator error: got %v", err)
	}
	if _, err := VerifyLog(seqOf(entries), nil, Checkpoint{Size: -1}); err == nil {
		t.Error("negative checkpoint size accepted")
	}
	// Missing stored leaf hashes are reported per entry.
	problems, err := VerifyLog(seqOf(entries), func(int64) (tlog.Hash, bool) { return tlog.Hash{}, false }, cp)
	if err != nil || len(problems) != len(entries) {
		t.Errorf("missing stored leaves: %v, %v", problems, err)
	}
}

func TestVerifyLogProblemCap(t *testing.T) {
	var store memHashes
	n := MaxProblems + 50
	entries := make([]Entry, n)
	for i := range entries {
		entries[i] = Entry{Index: int64(i), Time: testTime, Type: "t", Actor: "a", Subject: "s"}
		store.append(t, tlog.Hash{byte(i)}) // every stored leaf is wrong
	}
	problems, err := VerifyLog(seqOf(entries), leafLookup(&store), Checkpoint{Size: int64(n)})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != MaxProblems+1 || !strings.Contains(problems[MaxProblems].Message, "further problems not reported") {
		t.Errorf("got %d problems, last %+v", len(problems), problems[len(problems)-1])
	}
}

func TestRootBuilderMemory(t *testing.T) {
	var b RootBuilder
	for i := range 1<<12 + 3 {
		b.Add(LeafHash(testLeaf(i)))
		if c := len(b.stack); c > 14 {
			t.Fatalf("stack of %d hashes after %d leaves", c, i+1)
		}
	}
}
