package fetcher

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/html"

	"github.com/tidings/tidings/markup"
)

// baseURL parses s as a base for relative links; nil unless it is an
// absolute http(s) URL with a host, or a file URL.
func baseURL(s string) *url.URL {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil
		}
	case "file":
	default:
		return nil
	}
	return u
}

// resolveRef returns ref made absolute against base. A ref that is already
// absolute, or that cannot be parsed, is returned as given, so that links
// are never rewritten for no reason.
func resolveRef(base *url.URL, ref string) string {
	if ref == "" || base == nil || hasScheme(ref) {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil || r.IsAbs() {
		return ref
	}
	return base.ResolveReference(r).String()
}

// hasScheme reports whether s starts with a URL scheme ("https:",
// "mailto:"), which is cheaper to check than parsing s.
func hasScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.':
			if i == 0 {
				return false
			}
		case c == ':':
			return i > 0
		default:
			return false
		}
	}
	return false
}

// urlAttrs are the HTML attributes that hold one URL, whatever the element.
var urlAttrs = map[string]bool{
	"href": true, "src": true, "poster": true, "cite": true, "background": true,
	"action": true, "formaction": true, "longdesc": true, "manifest": true,
}

// resolveHTML makes the relative URLs in the attributes of an HTML fragment
// absolute against base. Only the tags it changes are re-serialized.
func resolveHTML(base *url.URL, s string) string {
	if base == nil || markup.ValuesPass(s, resolvedKey, isAbsolute) {
		// Most fragments link absolutely, and tokenizing them to find
		// that out cost about a tenth of storing a poll.
		return s
	}
	return rewriteURLs(base, s)
}

// rewriteURLs is resolveHTML without its pre-check.
func rewriteURLs(base *url.URL, s string) string {
	return markup.RewriteAttrs(s, func(a markup.Attr) (string, bool) {
		switch {
		case urlAttrs[a.Key] || a.Key == "data" && a.Tag == "object":
			return resolveAttr(base, a.Val), true
		case a.Key == "srcset":
			return resolveSrcset(base, a.Val), true
		}
		return a.Val, true
	})
}

// resolvedKey reports whether resolveHTML rewrites attributes named k (of
// some element: "data" only of <object>).
func resolvedKey(k string) bool {
	return urlAttrs[k] || k == "srcset" || k == "data"
}

// isAbsolute reports whether resolveHTML surely keeps the value v of a
// resolved attribute, as written in the HTML: empty, or the whole value
// (as one URL) and each comma-separated part (as srcset's candidates)
// starting with a scheme or '#'. A character reference cannot hide a
// scheme's ':' from this (it would start the part), only a comma that
// splits a srcset candidate in two: those are not judged.
func isAbsolute(v string) bool {
	if strings.Contains(v, "&#") || strings.Contains(v, "&comma") {
		return false
	}
	// "," splits into empty parts, yet as an href it is a relative URL.
	if t := strings.TrimSpace(v); t != "" && !hasScheme(t) && t[0] != '#' {
		return false
	}
	for p := range strings.SplitSeq(v, ",") {
		if f := strings.Fields(p); len(f) > 0 && !hasScheme(f[0]) && f[0][0] != '#' {
			return false
		}
	}
	return true
}

// resolveAttr resolves one URL attribute value; in-page anchors stay as
// they are, since the base is the site, not the item's page.
func resolveAttr(base *url.URL, v string) string {
	t := strings.TrimSpace(v)
	if t == "" || t[0] == '#' {
		return v
	}
	if r := resolveRef(base, t); r != t {
		return r
	}
	return v
}

// resolveSrcset resolves the URLs of a srcset list ("a.jpg 1x, b.jpg 2x").
func resolveSrcset(base *url.URL, v string) string {
	if strings.Contains(v, "data:") { // data URLs contain commas
		return v
	}
	parts := strings.Split(v, ",")
	for i, p := range parts {
		fields := strings.Fields(p)
		if len(fields) == 0 {
			continue
		}
		fields[0] = resolveAttr(base, fields[0])
		parts[i] = strings.Join(fields, " ")
	}
	out := strings.Join(parts, ", ")
	if strings.Join(strings.Fields(out), "") == strings.Join(strings.Fields(v), "") {
		return v // nothing resolved: keep the original spacing
	}
	return out
}

// plainText turns a title that may hold markup or entities into plain
// text with single spaces.
func plainText(s string) string {
	if strings.ContainsAny(s, "<&") {
		if strings.Contains(s, "<") {
			s = stripTags(s)
		} else {
			s = html.UnescapeString(s)
		}
	}
	if strings.ContainsAny(s, "\n\r\t\u00a0") || strings.Contains(s, "  ") {
		return strings.Join(strings.Fields(s), " ")
	}
	return strings.TrimSpace(s)
}

func stripTags(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	pos := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		pos += len(z.Raw())
		if tt == html.TextToken {
			b.Write(z.Text())
		}
	}
	if pos < len(s) { // "a <b" yields no token for "<b"; it was text
		b.WriteString(s[pos:])
	}
	return b.String()
}

// isHTML reports whether a body that is no feed is a web page.
func isHTML(contentType string, body []byte) bool {
	switch mediaType(contentType) {
	case "text/html", "application/xhtml+xml":
		return true
	}
	head := body[:min(len(body), 1024)]
	if bytes.Contains(bytes.ToLower(head), []byte("<html")) {
		return true
	}
	return strings.HasPrefix(http.DetectContentType(head), "text/html")
}

// feedTypes are the link types an HTML page advertises its feeds with.
var feedTypes = map[string]bool{
	"application/rss+xml":   true,
	"application/atom+xml":  true,
	"application/feed+json": true,
	"application/rdf+xml":   true,
}

// alternates lists, absolute, the feeds an HTML page names in
// <link rel="alternate" type="…" href="…">, so that an error can tell the
// user which URL to configure instead.
func alternates(pageURL string, body []byte) []string {
	const most = 5
	base := baseURL(pageURL)
	var out []string
	z := html.NewTokenizer(bytes.NewReader(body))
	for len(out) < most {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, more := z.TagName()
		tag := string(name)
		if tag == "body" {
			break // feeds are announced in the head
		}
		if tag != "link" && tag != "base" {
			continue
		}
		var rel, typ, href string
		for more {
			var k, v []byte
			k, v, more = z.TagAttr()
			switch string(k) {
			case "rel":
				rel = strings.ToLower(string(v))
			case "type":
				typ = mediaType(string(v))
			case "href":
				href = strings.TrimSpace(string(v))
			}
		}
		if tag == "base" {
			if b := baseURL(resolveRef(base, href)); b != nil {
				base = b
			}
			continue
		}
		if href == "" || !feedTypes[typ] || !hasToken(rel, "alternate") {
			continue
		}
		if u := resolveRef(base, href); !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

func hasToken(list, tok string) bool {
	for f := range strings.FieldsSeq(list) {
		if f == tok {
			return true
		}
	}
	return false
}
