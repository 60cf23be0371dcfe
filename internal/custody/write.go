package custody

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"iter"

	"github.com/holdfast/holdfast/internal/vault"
)

// Top-level keys of the custody report whose arrays Write
// streams. MarshalIndent puts a top-level key alone on a line after
// exactly two spaces; nested keys are indented further.
const (
	custodyRecordingsKey = "\n  \"recordings\": "
	custodyFailuresKey   = "\n  \"failures\": "
)

// Write writes the custody report rep (whose Recordings and
// Failures are ignored) with recordings and failures as its arrays,
// element by element, so the report is never whole in memory. The output
// is byte for byte json.MarshalIndent(report, "", "  ") plus a newline.
func Write(out io.Writer, rep Report, recordings iter.Seq2[Recording, error], failures iter.Seq2[vault.ExportFailure, error]) error {
	rep.Recordings, rep.Failures = nil, nil
	fixed, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	head, rest, ok1 := bytes.Cut(fixed, []byte(custodyRecordingsKey+"null"))
	mid, tail, ok2 := bytes.Cut(rest, []byte(custodyFailuresKey+"null"))
	if !ok1 || !ok2 {
		return errors.New("custody: report does not have top-level recordings and failures arrays")
	}
	for _, part := range []struct {
		before []byte
		key    string
		array  func() error
	}{
		{head, custodyRecordingsKey, func() error { return writeJSONArray(out, recordings) }},
		{mid, custodyFailuresKey, func() error { return writeJSONArray(out, failures) }},
	} {
		if _, err := out.Write(part.before); err != nil {
			return err
		}
		if _, err := io.WriteString(out, part.key); err != nil {
			return err
		}
		if err := part.array(); err != nil {
			return err
		}
	}
	if _, err := out.Write(tail); err != nil {
		return err
	}
	_, err = io.WriteString(out, "\n")
	return err
}

// writeJSONArray writes the values of seq as the value of a top-level key
// of an object being indented with two spaces, exactly as
// json.MarshalIndent lays out a slice there.
func writeJSONArray[T any](out io.Writer, seq iter.Seq2[T, error]) error {
	const elemIndent = "    "
	n := 0
	for v, err := range seq {
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(v, elemIndent, "  ")
		if err != nil {
			return err
		}
		sep := ",\n" + elemIndent
		if n == 0 {
			sep = "[\n" + elemIndent
		}
		if _, err := io.WriteString(out, sep); err != nil {
			return err
		}
		if _, err := out.Write(b); err != nil {
			return err
		}
		n++
	}
	end := "\n  ]"
	if n == 0 {
		end = "[]"
	}
	_, err := io.WriteString(out, end)
	return err
}
