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

// ValuesPass reports, from the bytes of s alone, whether RewriteAttrs
// would show rewrite only values that ok accepts under the keys that watch
// names (lower-case, as the tokenizer gives them). It reads s once, without
// tokenizing or allocating, so that a caller can skip RewriteAttrs on the
// fragments where it could change nothing: most feeds link absolutely.
//
// It errs only towards false. Every attribute with a value has an '=' in
// s, so each '=' is read as one: the name is the run of bytes before it
// (the tokenizer ends names at no byte this run does not stop at, so a
// watched name is seen whole), the value what follows, quoted or not. An
// '=' in text or inside another value is read the same way and can only
// add a false. ok sees the value as written, character references not
// decoded: it must accept only what rewrite keeps once they are. A value
// with a NUL or without an end is not judged (false). Values in
// the same kind of quotes cannot overlap, nor can unquoted ones, so each
// byte is read a bounded number of times: linear time on any input. An
// attribute without a value has the empty one, which ok must accept for
// anything to pass: such names have no '=' to be found by.
func ValuesPass(s string, watch func(key string) bool, ok func(val string) bool) bool {
	if !ok("") {
		return false
	}
	for i := 0; ; i++ {
		j := strings.IndexByte(s[i:], '=')
		if j < 0 {
			return true
		}
		i += j
		end := i
		for end > 0 && isSpace(s[end-1]) {
			end--
		}
		start := end
		for start > 0 && !nameStop[s[start-1]] {
			start--
		}
		if start == end || !watch(lowerKey(s[start:end])) {
			continue
		}
		v := i + 1
		for v < len(s) && isSpace(s[v]) {
			v++
		}
		var val string
		if v < len(s) && (s[v] == '"' || s[v] == '\'') {
			n := strings.IndexByte(s[v+1:], s[v])
			if n < 0 {
				return false
			}
			val = s[v+1 : v+1+n]
		} else {
			n := v
			for n < len(s) && !isSpace(s[n]) && s[n] != '>' {
				n++
			}
			if n == len(s) {
				return false
			}
			val = s[v:n]
			if strings.IndexByte(val, '=') >= 0 {
				// Not judged, so that no byte is in two unquoted values:
				// "k=k=k=…>" would read the rest of s at every '='.
				return false
			}
		}
		if strings.IndexByte(val, 0) >= 0 || !ok(val) {
			return false
		}
	}
}

// nameStop are the bytes that end an attribute name read backwards from
// its '=': those the tokenizer ends names at, and quotes and '<', which
// can only make the name read shorter than the tokenizer's, never a
// watched name out of an unwatched one.
var nameStop = func() (t [256]bool) {
	for _, c := range " \t\n\r\f/>='\"<" {
		t[c] = true
	}
	return t
}()

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// lowerKey lower-cases the ASCII letters of an attribute name, as the
// tokenizer does; most names are lower-case already and are not copied.
func lowerKey(k string) string {
	for i := 0; i < len(k); i++ {
		if 'A' <= k[i] && k[i] <= 'Z' {
			b := []byte(k)
			for j, c := range b {
				if 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return k
}
