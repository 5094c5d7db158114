package feeds

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
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
	z := html.NewTokenizer(strings.NewReader(s))
	var out strings.Builder
	pos, changed := 0, false
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		n := len(z.Raw())
		if tt == html.StartTagToken || tt == html.SelfClosingTagToken {
			if tag, ok := resolveTag(z, tt, b); ok {
				if !changed {
					out.WriteString(s[:pos])
					changed = true
				}
				out.WriteString(tag)
				pos += n
				continue
			}
		}
		if changed {
			out.WriteString(s[pos : pos+n])
		}
		pos += n
	}
	if !changed {
		return s
	}
	out.WriteString(s[pos:])
	return out.String()
}

// resolveTag returns the current tag with its relative URLs resolved (or
// dropped), and whether anything changed.
func resolveTag(z *html.Tokenizer, tt html.TokenType, base *url.URL) (string, bool) {
	name, more := z.TagName()
	if !more {
		return "", false
	}
	var attrs []html.Attribute
	changed := false
	for more {
		var k, v []byte
		k, v, more = z.TagAttr()
		key, val := string(k), string(v)
		if linkAttrs[key] {
			if r, keep := resolveLink(val, base); r != val || !keep {
				changed = true
				if !keep {
					continue
				}
				val = r
			}
		}
		attrs = append(attrs, html.Attribute{Key: key, Val: val})
	}
	if !changed {
		return "", false
	}
	return html.Token{Type: tt, Data: string(name), Attr: attrs}.String(), true
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
