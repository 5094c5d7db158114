package fetcher

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
)

// This file holds the byte-level repairs that let Tidings read feeds that
// are broken in the ways real publishers break them. They run only after
// gofeed has refused a body (except transcode, which must run first), so a
// well-formed feed is parsed exactly as it came.

// repairs are tried in order by parseFeed, each on the output of the ones
// before it; each returns nil when it has nothing to change.
var repairs = []func([]byte) []byte{
	cutJunk,
	embeddedFeed,
	toUTF8,
	stripInvalidXML,
	escapeAmpersands,
	salvageJSONFeed,
}

var xmlDecl = regexp.MustCompile(`^<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']`)

// declaredEncoding is the encoding named in an XML declaration, or "".
func declaredEncoding(body []byte) string {
	m := xmlDecl.FindSubmatch(body[:min(len(body), 512)])
	if m == nil {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(string(m[1])))
}

func isUTF8Label(l string) bool {
	l = strings.ToLower(strings.TrimSpace(l))
	return l == "" || l == "utf-8" || l == "utf8" || l == "us-ascii" || l == "ascii"
}

// transcode decodes a body that is not UTF-8 using the charset of the
// Content-Type header, when the document itself names no encoding (an XML
// declaration wins: it travels with the file when servers do not). A body
// that is valid UTF-8 is left alone whatever the header claims, since
// Latin-1 text is practically never valid UTF-8 by accident.
func transcode(body []byte, contentType string) []byte {
	if contentType == "" || utf8.Valid(body) {
		return body
	}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || isUTF8Label(params["charset"]) {
		return body
	}
	if bytes.HasPrefix(body, []byte("<")) && declaredEncoding(body) != "" {
		return body
	}
	enc, _ := charset.Lookup(params["charset"])
	if enc == nil {
		return body
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return body
	}
	return out
}

// cutJunk drops what comes before the document: PHP warnings, a stray
// line of text, a BOM in the wrong place.
func cutJunk(body []byte) []byte {
	if i := bytes.Index(body, []byte("<?xml")); i > 0 {
		return body[i:]
	}
	if len(body) == 0 || body[0] == '<' || body[0] == '{' {
		return nil
	}
	if i := bytes.IndexAny(body, "<{"); i > 0 {
		return body[i:]
	}
	return nil
}

var feedStart = regexp.MustCompile(`<(feed\s[^>]*xmlns\s*=\s*["']http://www\.w3\.org/2005/Atom["']|rss[\s>]|rdf:RDF[\s>])`)

// embeddedFeed extracts a feed that was wrapped in an HTML page (a CMS
// template around the feed, or a feed pasted into a <pre>).
func embeddedFeed(body []byte) []byte {
	head := bytes.ToLower(body[:min(len(body), 2048)])
	if !bytes.Contains(head, []byte("<html")) {
		return nil
	}
	loc := feedStart.FindIndex(body)
	if loc == nil {
		return nil
	}
	var end string
	switch {
	case bytes.HasPrefix(body[loc[0]:], []byte("<feed")):
		end = "</feed>"
	case bytes.HasPrefix(body[loc[0]:], []byte("<rss")):
		end = "</rss>"
	default:
		end = "</rdf:RDF>"
	}
	j := bytes.LastIndex(body, []byte(end))
	if j < loc[0] {
		return nil
	}
	return append([]byte(`<?xml version="1.0" encoding="utf-8"?>`+"\n"), body[loc[0]:j+len(end)]...)
}

// toUTF8 reads bytes that are not valid UTF-8 as Windows-1252 (see
// fixUTF8) and makes the XML declaration say UTF-8, so that a document
// declared ISO-8859-1 but mixed with UTF-8 is not decoded twice.
func toUTF8(body []byte) []byte {
	enc := declaredEncoding(body)
	if utf8.Valid(body) && isUTF8Label(enc) {
		return nil
	}
	if !utf8.Valid(body) {
		body = fixUTF8(body)
	}
	if !isUTF8Label(enc) {
		m := xmlDecl.FindSubmatchIndex(body)
		if m != nil {
			body = append(append(append([]byte{}, body[:m[2]]...), "UTF-8"...), body[m[3]:]...)
		}
	}
	return body
}

// stripInvalidXML deletes characters XML 1.0 forbids (NUL and the other C0
// controls but tab, CR and LF; U+FFFE, U+FFFF) that make encoding/xml stop.
func stripInvalidXML(body []byte) []byte {
	if len(body) == 0 || body[0] != '<' {
		return nil
	}
	bad := func(r rune) bool {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF
	}
	if bytes.IndexFunc(body, bad) < 0 {
		return nil
	}
	return bytes.Map(func(r rune) rune {
		if bad(r) {
			return -1
		}
		return r
	}, body)
}

var entityRef = regexp.MustCompile(`^&(?:[A-Za-z_:][-A-Za-z0-9._:]*|#[0-9]+|#x[0-9A-Fa-f]+);`)

// escapeAmpersands turns each & that starts no entity reference into
// &amp; outside CDATA sections: "Q&A", "?a=1&b=2" in unescaped links.
func escapeAmpersands(body []byte) []byte {
	if len(body) == 0 || body[0] != '<' || !bytes.Contains(body, []byte("&")) {
		return nil
	}
	var out bytes.Buffer
	changed := false
	for i := 0; i < len(body); {
		if bytes.HasPrefix(body[i:], []byte("<![CDATA[")) {
			end := bytes.Index(body[i:], []byte("]]>"))
			if end < 0 {
				out.Write(body[i:])
				break
			}
			out.Write(body[i : i+end+3])
			i += end + 3
			continue
		}
		c := body[i]
		if c == '&' && !entityRef.Match(body[i:min(len(body), i+40)]) {
			out.WriteString("&amp;")
			changed = true
		} else {
			out.WriteByte(c)
		}
		i++
	}
	if !changed {
		return nil
	}
	return out.Bytes()
}

// salvageJSONFeed rebuilds a JSON Feed that was cut off or broken inside
// its item list from the top-level fields and every item that decodes
// whole before the damage.
func salvageJSONFeed(body []byte) []byte {
	if len(body) == 0 || body[0] != '{' || json.Valid(body) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	doc := map[string]json.RawMessage{}
	var items []json.RawMessage
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := t.(string)
		if key != "items" {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				break
			}
			doc[key] = v
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			break
		}
		for dec.More() {
			var it json.RawMessage
			if err := dec.Decode(&it); err != nil {
				break
			}
			items = append(items, it)
		}
		break
	}
	if len(items) == 0 || doc["version"] == nil && doc["title"] == nil && doc["feed_url"] == nil {
		return nil
	}
	list, _ := json.Marshal(items)
	doc["items"] = list
	out, err := json.Marshal(doc)
	if err != nil {
		return nil
	}
	return out
}

// shortHash is a short stable digest of parts, for derived identities.
func shortHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
