// Package strictjsontest gives differential tests two independent readers
// of JSON text that disagree exactly where the text is ambiguous: one keeps
// the last of repeated keys (encoding/json), the other the first (a token
// stream reader). A decision taken from text that strictjson accepts must
// match what both readers see.
//
// It is only for tests; nothing in the product imports it.
package strictjsontest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// Readings returns data as read by the last-wins and the first-wins
// reader, in that order, with numbers as json.Number. It returns an error
// if either reader rejects data.
func Readings(data []byte) (last, first any, err error) {
	ld := json.NewDecoder(bytes.NewReader(data))
	ld.UseNumber()
	if err := ld.Decode(&last); err != nil {
		return nil, nil, err
	}
	fd := json.NewDecoder(bytes.NewReader(data))
	fd.UseNumber()
	first, err = firstWins(fd)
	if err != nil {
		return nil, nil, err
	}
	if _, err := fd.Token(); err != io.EOF {
		return nil, nil, errors.New("strictjsontest: data after the JSON value")
	}
	return last, first, nil
}

// firstWins decodes one value, keeping the first of repeated keys.
func firstWins(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if d == '[' {
		arr := []any{}
		for dec.More() {
			v, err := firstWins(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	obj := map[string]any{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		v, err := firstWins(dec)
		if err != nil {
			return nil, err
		}
		k, _ := kt.(string)
		if _, seen := obj[k]; !seen {
			obj[k] = v
		}
	}
	_, err = dec.Token()
	return obj, err
}

// Get walks a reading along keys (string) and indexes (int); it reports
// false where the path does not exist or has another shape.
func Get(v any, path ...any) (any, bool) {
	for _, step := range path {
		switch s := step.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[s]; !ok {
				return nil, false
			}
		case int:
			a, ok := v.([]any)
			if !ok || s < 0 || s >= len(a) {
				return nil, false
			}
			v = a[s]
		default:
			return nil, false
		}
	}
	return v, true
}
