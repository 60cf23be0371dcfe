package edge

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
)

// goErrorHeaders are the headers net/http writes, in one Write on the raw
// connection, when it answers a request it could not read:
//
//	HTTP/1.1 <status line>\r\n<goErrorHeaders><body>
//
// where the body repeats the status line, except for an unsupported
// Transfer-Encoding. A handler's answer never looks like this: net/http
// adds a Date header to every answer it writes for a handler.
const goErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// parseGoError recognises such an answer and says what problem replaces
// it.
func parseGoError(b []byte) (status int, code, msg string, ok bool) {
	const proto = "HTTP/1.1 "
	if len(b) > 4096 || !bytes.HasPrefix(b, []byte(proto)) {
		return 0, "", "", false
	}
	i := bytes.Index(b, []byte(goErrorHeaders))
	if i < 0 {
		return 0, "", "", false
	}
	line, body := string(b[len(proto):i]), string(b[i+len(goErrorHeaders):])
	if strings.ContainsAny(line, "\r\n") || len(line) < 4 || line[3] != ' ' {
		return 0, "", "", false
	}
	status, err := strconv.Atoi(line[:3])
	if err != nil || status < 400 || status > 599 {
		return 0, "", "", false
	}
	if body != line && !(status == http.StatusNotImplemented && body == "Unsupported transfer encoding") {
		return 0, "", "", false
	}
	// The text after the reason phrase is net/http's own detail, such as
	// `bad Content-Length "x"` or "missing required Host header".
	detail := ""
	if _, d, found := strings.Cut(line[4:], ": "); found {
		detail = d
	}
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		return status, "headers_too_large", "the request line and headers are larger than the limit of " + strconv.Itoa(MaxHeaderBytes) + " bytes", true
	case http.StatusBadRequest:
		msg = "the HTTP request is malformed (its request line, a header, Content-Length or Transfer-Encoding)"
		if detail != "" {
			msg = "the HTTP request is malformed: " + detail
		}
		return status, "malformed_request", msg + "; it was not processed", true
	case http.StatusNotImplemented:
		return status, "not_implemented", "the request's Transfer-Encoding is not supported; send the body with a Content-Length or chunked", true
	case http.StatusHTTPVersionNotSupported:
		return status, "http_version_not_supported", "the request's HTTP version is not supported; use HTTP/1.1", true
	}
	msg = "the HTTP request could not be processed"
	if detail != "" {
		msg += ": " + detail
	}
	return status, "malformed_request", msg, true
}
