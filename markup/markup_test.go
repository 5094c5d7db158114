package markup

import (
	"strings"
	"testing"
)

func TestRewriteAttrs(t *testing.T) {
	// The rule under test: href values starting with "/" get a host; any
	// onclick is dropped; everything else stays.
	rewrite := func(a Attr) (string, bool) {
		switch {
		case a.Key == "onclick":
			return "", false
		case a.Key == "href" && strings.HasPrefix(a.Val, "/"):
			return "https://example.org" + a.Val, true
		}
		return a.Val, true
	}
	tests := []struct {
		name, in, want string
	}{
		{"no markup", "plain & simple", "plain & simple"},
		{"nothing to change keeps the bytes", `<A  HREF='https://x.org/'>x</A><br/>`, `<A  HREF='https://x.org/'>x</A><br/>`},
		{"relative href", `<p>see <a href="/a?b=1&amp;c=2" title="t">this</a></p>`,
			`<p>see <a href="https://example.org/a?b=1&amp;c=2" title="t">this</a></p>`},
		{"dropped attribute", `<b onclick="x()">bold</b> rest`, `<b>bold</b> rest`},
		{"self-closing tag", `<img src="i.png"/><a href="/p"/>`, `<img src="i.png"/><a href="https://example.org/p"/>`},
		{"invalid markup around a change passes through", `a < b <a href="/x">x</a> <<>> &bogus; </i>`,
			`a < b <a href="https://example.org/x">x</a> <<>> &bogus; </i>`},
		{"unfinished tag at the end is kept", `<a href="/x">x</a><img src="`, `<a href="https://example.org/x">x</a><img src="`},
		{"attribute names are lower-cased by the tokenizer", `<a HREF="/up">u</a>`, `<a href="https://example.org/up">u</a>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RewriteAttrs(tt.in, rewrite); got != tt.want {
				t.Errorf("RewriteAttrs(%q) =\n %q\nwant\n %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzRewriteAttrs(f *testing.F) {
	f.Add(`<p>x <a href="/a" onclick="y">a</a></p>`)
	f.Add(`<img src="`)
	f.Add(`<<a b=c>>`)
	f.Fuzz(func(t *testing.T, s string) {
		// The identity rewrite must give back the very same bytes.
		if got := RewriteAttrs(s, func(a Attr) (string, bool) { return a.Val, true }); got != s {
			t.Errorf("identity rewrite changed %q into %q", s, got)
		}
		_ = RewriteAttrs(s, func(a Attr) (string, bool) { return "/" + a.Val, a.Key != "on" })
	})
}

// The rule of the ValuesPass tests: href and srcset values must be empty
// or start with "https:"; RewriteAttrs changes any other.
var (
	watchLinks = func(k string) bool { return k == "href" || k == "srcset" }
	httpsOnly  = func(v string) bool { return v == "" || strings.HasPrefix(v, "https:") }
	fixLinks   = func(a Attr) (string, bool) {
		if watchLinks(a.Key) && !httpsOnly(a.Val) {
			return "https://example.org/" + a.Val, true
		}
		return a.Val, true
	}
)

func TestValuesPass(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"plain text", true},
		{`<a href="https://x.org/">x</a> <img src=i.png>`, true},
		{`<A HREF = 'https://x.org/' title="a=b">x</A>`, true},
		{`<a href="/rel">x</a>`, false},
		{`<a HREF=rel>x</a>`, false},
		{`<a title="x" href="https:/ok" srcset="i.png 1x">`, false},
		{`<a href="https://x.org/?a=1&amp;b=2">`, true},
		{`<a href="&#104;ttps://x.org/">`, false}, // judged as written
		{`<a href="https://x.org/`, false},        // no end
		{`<a data-href="/x" xhref=/y>`, true},     // other names
		{`a = b, c=d and href=e in text`, false},  // reads as markup: a false alarm, never a miss
		{`<img srcset>`, true},
	}
	for _, tt := range tests {
		if got := ValuesPass(tt.in, watchLinks, httpsOnly); got != tt.want {
			t.Errorf("ValuesPass(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if tt.want && RewriteAttrs(tt.in, fixLinks) != tt.in {
			t.Errorf("ValuesPass(%q) passed a fragment that RewriteAttrs changes", tt.in)
		}
	}
}

func FuzzValuesPass(f *testing.F) {
	f.Add(`<p>x <a href="https://a" srcset='https://b 1x'>a</a></p>`)
	f.Add(`<a HREF = "/x">`)
	f.Add(`<a x"href=/y>`)
	f.Add(`<img src="`)
	f.Fuzz(func(t *testing.T, s string) {
		// The promise: a pass means RewriteAttrs would change nothing.
		if ValuesPass(s, watchLinks, httpsOnly) && RewriteAttrs(s, fixLinks) != s {
			t.Errorf("ValuesPass(%q) is true but RewriteAttrs changes it", s)
		}
	})
}
