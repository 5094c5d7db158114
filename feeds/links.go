package feeds

import (
	"net/url"
	"strings"

	"github.com/tidings/tidings/markup"
)

// linkAttrs are the attributes that the sanitizing policy lets through and
// that hold a URL.
var linkAttrs = map[string]bool{"href": true, "src": true, "cite": true, "poster": true}

// absoluteLinks makes the relative URLs in sanitized HTML absolute against
// base, the item's own link: the fetcher resolves them when it stores an
// item, but items stored by older versions, or from sources without a
// usable base, may still have some, and in a topic feed a reader would
// resolve them against the topic's address — a link to nowhere. A relative
// URL that cannot be resolved is dropped with its attribute; in-page
// anchors (#notes) stay. Tags without relative URLs keep their bytes.
func absoluteLinks(s, base string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	b, _ := url.Parse(base)
	if b != nil && (b.Host == "" || (b.Scheme != "http" && b.Scheme != "https")) {
		b = nil
	}
	return markup.RewriteAttrs(s, func(a markup.Attr) (string, bool) {
		if !linkAttrs[a.Key] {
			return a.Val, true
		}
		return resolveLink(a.Val, b)
	})
}

// resolveLink resolves one URL attribute; keep is false when it is relative
// and there is no base to resolve it against.
func resolveLink(v string, base *url.URL) (string, bool) {
	t := strings.TrimSpace(v)
	if t == "" || t[0] == '#' {
		return v, true
	}
	u, err := url.Parse(t)
	if err != nil {
		return "", false
	}
	if u.IsAbs() {
		return v, true
	}
	if base == nil {
		return "", false
	}
	return base.ResolveReference(u).String(), true
}
