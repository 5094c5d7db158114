// Package markup rewrites the attributes of HTML fragments without
// re-serializing what it does not change. The fetcher (resolving relative
// links when an item is stored) and the feed renderer (making sure nothing
// relative reaches a topic feed) both need it and may not import each other.
package markup

import (
	"strings"

	"golang.org/x/net/html"
)

// Attr is one attribute of a start tag, as RewriteAttrs shows it to its
// callback.
type Attr struct {
	Tag, Key, Val string
}

// RewriteAttrs calls rewrite for every attribute of every start tag of the
// fragment s and returns s with the values it changed. rewrite returns the
// new value and whether to keep the attribute at all. Only tags with a
// changed or dropped attribute are re-serialized; every other byte,
// including invalid markup, passes through as it came, so a fragment with
// nothing to change is returned as the same string.
func RewriteAttrs(s string, rewrite func(a Attr) (val string, keep bool)) string {
	if !strings.Contains(s, "<") {
		return s
	}
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	pos := 0 // bytes of s consumed by the tokens so far
	changed := false
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		n := len(z.Raw()) // tokens are contiguous slices of s
		if tt == html.StartTagToken || tt == html.SelfClosingTagToken {
			if tag, ok := rewriteTag(z, tt, rewrite); ok {
				if !changed {
					b.Grow(len(s) + 64)
					b.WriteString(s[:pos])
					changed = true
				}
				b.WriteString(tag)
				pos += n
				continue
			}
		}
		if changed {
			b.WriteString(s[pos : pos+n])
		}
		pos += n
	}
	if !changed {
		return s
	}
	b.WriteString(s[pos:]) // an unfinished tag at the end yields no token
	return b.String()
}

// rewriteTag returns the current tag with its attributes rewritten, and
// whether anything changed.
func rewriteTag(z *html.Tokenizer, tt html.TokenType, rewrite func(Attr) (string, bool)) (string, bool) {
	name, more := z.TagName()
	if !more {
		return "", false
	}
	tag := string(name)
	var attrs []html.Attribute
	changed := false
	for more {
		var k, v []byte
		k, v, more = z.TagAttr()
		key, val := string(k), string(v)
		r, keep := rewrite(Attr{Tag: tag, Key: key, Val: val})
		if !keep {
			changed = true
			continue
		}
		if r != val {
			val, changed = r, true
		}
		attrs = append(attrs, html.Attribute{Key: key, Val: val})
	}
	if !changed {
		return "", false
	}
	return html.Token{Type: tt, Data: tag, Attr: attrs}.String(), true
}
