package main

import "bytes"

// The request parser of the fast path (fastpath.go). It takes only what it
// can answer exactly as net/http and the handler would, and hands anything
// else over to net/http untouched: it is strict on purpose. It never reads
// a body, and any request that could have one (Content-Length other than
// 0, Transfer-Encoding) or that changes the framing of the connection
// (Expect, Upgrade, unknown Connection options) goes to net/http, so no
// byte of a request can be taken for the start of the next one.

// fastRequest is a request the fast path may answer: a GET or HEAD of a
// plain path in HTTP/1.1 or 1.0, with no body. Its slices point into the
// buffer it was parsed from.
type fastRequest struct {
	head   bool   // HEAD, else GET
	path   []byte // origin-form, plain (see pathByte), no query
	http10 bool   // HTTP/1.0, else HTTP/1.1
	// close is set when the connection is to close after the response:
	// Connection: close, or HTTP/1.0 without keep-alive.
	close bool
	// keepAlive10 is an HTTP/1.0 request with Connection: keep-alive: its
	// response says keep-alive, as net/http's does.
	keepAlive10 bool

	ifNoneMatch, ifModifiedSince, acceptEncoding []byte
}

// parseResult says what parseRequest made of the bytes it was given.
type parseResult int

const (
	// parseIncomplete: the bytes are the start of a request the fast path
	// may take; its header has not ended yet.
	parseIncomplete parseResult = iota
	// parseHandover: net/http is to read this request (and the rest of
	// the connection).
	parseHandover
	// parseOK: req holds the request, which took the first n bytes.
	parseOK
)

// tokenByte marks the bytes of a token (RFC 9110 §5.6.2): what header
// field names are made of, as net/http checks them.
var tokenByte = alnumAnd("!#$%&'*+-.^_`|~")

// pathByte marks the bytes of a path the fast path answers: unreserved
// characters (RFC 3986 §2.3) and '/'. Without '%' a path is its own
// unescaped form, which is what ServeMux matches.
var pathByte = alnumAnd("-._~/")

// hostByte marks the bytes of a Host field the fast path accepts: a
// stricter set than net/http's (it takes the rest to net/http).
var hostByte = alnumAnd("-._:[]")

// alnumAnd marks ASCII letters, digits and the bytes of extra.
func alnumAnd(extra string) (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for i := 0; i < len(extra); i++ {
		t[extra[i]] = true
	}
	return t
}

// plainSegment reports whether s may be a segment of a path the fast
// path answers: not empty and all unreserved characters but '.', which
// the topic file's name must not hold (topicFile cuts at the first dot).
func plainSegment(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !pathByte[s[i]] || s[i] == '/' || s[i] == '.' {
			return false
		}
	}
	return true
}

// parseRequest parses the request at the start of b. It returns
// parseIncomplete while b is a prefix of a request it may take,
// parseHandover as soon as it is not, and parseOK with the length of the
// request (request line and header, no body) once its header has ended.
func parseRequest(b []byte, req *fastRequest) (n int, res parseResult) {
	*req = fastRequest{}
	// The method first: anything else goes to net/http without waiting
	// for the end of its header.
	switch {
	case bytes.HasPrefix(b, []byte("GET ")):
	case bytes.HasPrefix(b, []byte("HEAD ")):
		req.head = true
	case bytes.HasPrefix([]byte("GET "), b), bytes.HasPrefix([]byte("HEAD "), b):
		return 0, parseIncomplete
	default:
		return 0, parseHandover
	}
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		// Lines must end in CRLF: a bare LF (which net/http takes) would
		// leave this waiting for a CRLF CRLF that never comes.
		for i, c := range b {
			if c == '\n' && (i == 0 || b[i-1] != '\r') || c == '\r' && i+1 < len(b) && b[i+1] != '\n' {
				return 0, parseHandover
			}
		}
		return 0, parseIncomplete
	}
	n = end + 4
	head := b[:end+2] // every line with its CRLF

	line, rest := cutLine(head)
	if line == nil {
		return 0, parseHandover
	}
	line = line[len("GET "):]
	if req.head {
		line = line[len("HEAD ")-len("GET "):]
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 1 || line[0] != '/' {
		return 0, parseHandover // absolute-form, asterisk-form, or no target
	}
	req.path = line[:sp]
	for _, c := range req.path {
		if !pathByte[c] {
			return 0, parseHandover // query, escapes, anything unusual
		}
	}
	switch string(line[sp+1:]) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		req.http10 = true
	default:
		return 0, parseHandover
	}

	var seen [7]bool // of the fields that may appear once, by knownField
	var closeOpt, keepAlive bool
	for len(rest) > 0 {
		line, rest = cutLine(rest)
		if line == nil {
			return 0, parseHandover // a CR or LF inside a line
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 1 {
			return 0, parseHandover // no name
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		for _, c := range name {
			if !tokenByte[c] {
				return 0, parseHandover // obs-fold (a line starting with SP or HTAB) among others
			}
		}
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return 0, parseHandover
			}
		}
		f := knownField(name)
		if f < 0 {
			continue
		}
		if seen[f] {
			return 0, parseHandover // a second one: let net/http judge
		}
		seen[f] = true
		switch f {
		case fieldHost:
			for _, c := range value {
				if !hostByte[c] {
					return 0, parseHandover
				}
			}
		case fieldIfNoneMatch:
			req.ifNoneMatch = value
		case fieldIfModifiedSince:
			req.ifModifiedSince = value
		case fieldAcceptEncoding:
			req.acceptEncoding = value
		case fieldContentLength:
			if string(value) != "0" {
				return 0, parseHandover
			}
		case fieldConnection:
			for opt := range bytes.SplitSeq(value, []byte(",")) {
				switch opt = trimOWS(opt); {
				case len(opt) == 0:
				case bytes.EqualFold(opt, []byte("close")):
					closeOpt = true
				case bytes.EqualFold(opt, []byte("keep-alive")):
					keepAlive = true
				default:
					return 0, parseHandover
				}
			}
		case fieldFraming:
			return 0, parseHandover
		}
	}
	if !seen[fieldHost] && !req.http10 || closeOpt && keepAlive {
		return 0, parseHandover // net/http answers 400 to the first; the second is odd
	}
	switch {
	case req.http10 && keepAlive:
		req.keepAlive10 = true
	case req.http10, closeOpt:
		req.close = true
	}
	return n, parseOK
}

// The header fields the fast path reads, as knownField numbers them.
const (
	fieldHost = iota
	fieldIfNoneMatch
	fieldIfModifiedSince
	fieldAcceptEncoding
	fieldContentLength
	fieldConnection
	fieldFraming // Transfer-Encoding, Expect, Upgrade, Trailer, TE
)

// knownField numbers the header fields the fast path reads; -1 for the
// others, which it ignores.
func knownField(name []byte) int {
	switch len(name) {
	case 2:
		if bytes.EqualFold(name, []byte("TE")) {
			return fieldFraming
		}
	case 4:
		if bytes.EqualFold(name, []byte("Host")) {
			return fieldHost
		}
	case 6:
		if bytes.EqualFold(name, []byte("Expect")) {
			return fieldFraming
		}
	case 7:
		if bytes.EqualFold(name, []byte("Upgrade")) || bytes.EqualFold(name, []byte("Trailer")) {
			return fieldFraming
		}
	case 10:
		if bytes.EqualFold(name, []byte("Connection")) {
			return fieldConnection
		}
	case 13:
		if bytes.EqualFold(name, []byte("If-None-Match")) {
			return fieldIfNoneMatch
		}
	case 14:
		if bytes.EqualFold(name, []byte("Content-Length")) {
			return fieldContentLength
		}
	case 15:
		if bytes.EqualFold(name, []byte("Accept-Encoding")) {
			return fieldAcceptEncoding
		}
	case 17:
		if bytes.EqualFold(name, []byte("If-Modified-Since")) {
			return fieldIfModifiedSince
		}
		if bytes.EqualFold(name, []byte("Transfer-Encoding")) {
			return fieldFraming
		}
	}
	return -1
}

// cutLine returns the first line of b without its CRLF, and the rest; the
// line is nil when it holds a CR or LF of its own. b ends in CRLF.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 1 || b[i-1] != '\r' {
		return nil, b[i+1:]
	}
	line, rest = b[:i-1], b[i+1:]
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, rest
	}
	return line, rest
}

// trimOWS trims spaces and tabs on both sides, as net/http trims field
// values.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
