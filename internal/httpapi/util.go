package httpapi

import (
	"encoding/json"
	"strconv"
)

func jsonString(raw json.RawMessage, s *string) error { return json.Unmarshal(raw, s) }

func itoa(i int) string { return strconv.Itoa(i) }
