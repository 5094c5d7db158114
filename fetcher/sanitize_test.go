package fetcher

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestRepairs(t *testing.T) {
	tests := map[string]struct {
		repair func([]byte) []byte
		in     string
		want   string // "" for nil: nothing to change
	}{
		"ampersands":              {escapeAmpersands, `<a>Q&A &amp; &#38; &#x26; &nbsp; a=1&b=2</a>`, `<a>Q&amp;A &amp; &#38; &#x26; &nbsp; a=1&amp;b=2</a>`},
		"ampersand in CDATA":      {escapeAmpersands, `<a><![CDATA[Q&A]]> & </a>`, `<a><![CDATA[Q&A]]> &amp; </a>`},
		"no stray ampersand":      {escapeAmpersands, `<a>&amp;</a>`, ""},
		"junk before the prolog":  {cutJunk, "Warning: x\n<?xml version=\"1.0\"?><rss/>", `<?xml version="1.0"?><rss/>`},
		"text before a JSON feed": {cutJunk, `callback({"version":1})`, `{"version":1})`},
		"clean start":             {cutJunk, `<rss/>`, ""},
		"NUL and controls":        {stripInvalidXML, "<a>x\x00y\x0bz\tq</a>", "<a>xyz\tq</a>"},
		"Latin-1 declared, mixed": {toUTF8, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9 and café</a>", `<?xml version="1.0" encoding="UTF-8"?><a>café and café</a>`},
		"already UTF-8":           {toUTF8, `<?xml version="1.0" encoding="utf-8"?><a>café</a>`, ""},
		"feed in a page": {embeddedFeed, `<html><body><pre><rss version="2.0"><channel><title>x</title></channel></rss></pre></body></html>`,
			`<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<rss version="2.0"><channel><title>x</title></channel></rss>`},
		"truncated JSON Feed": {salvageJSONFeed, `{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[{"id":"1"},{"id":"2"},{"id":"3","title":"cut`,
			`{"items":[{"id":"1"},{"id":"2"}],"title":"T","version":"https://jsonfeed.org/version/1.1"}`},
		"valid JSON left alone": {salvageJSONFeed, `{"version":"x","items":[]}`, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := tc.repair([]byte(tc.in))
			if tc.want == "" {
				if got != nil {
					t.Errorf("changed %q into %q, want no change", tc.in, got)
				}
				return
			}
			if string(got) != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestTranscode(t *testing.T) {
	tests := map[string]struct {
		ct, in, want string
	}{
		"header Latin-1":             {"text/xml; charset=ISO-8859-1", "<a>caf\xe9</a>", "<a>café</a>"},
		"prolog wins":                {"text/xml; charset=windows-1252", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9</a>", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9</a>"},
		"valid UTF-8 ignores header": {"text/xml; charset=ISO-8859-1", "<a>café</a>", "<a>café</a>"},
		"unknown charset":            {"text/xml; charset=x-nope", "<a>\xe9</a>", "<a>\xe9</a>"},
		"no header":                  {"", "<a>\xe9</a>", "<a>\xe9</a>"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := transcode([]byte(tc.in), tc.ct); string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzRepairs: no repair panics, and each keeps its promise on any input.
func FuzzRepairs(f *testing.F) {
	for _, s := range []string{`<a>Q&A</a>`, "<a>\x00</a>", `{"version":"1","items":[{"id":1},{"id"`, "x<?xml?><rss/>", "<html><rss></rss>", "<?xml encoding=\"latin1\"?>\xe9"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range repairs {
			r(b)
		}
		if out := stripInvalidXML(b); out != nil && bytes.ContainsAny(out, "\x00\x01\x0b") {
			t.Errorf("stripInvalidXML left a control byte in %q", out)
		}
		if out := toUTF8(b); out != nil && !utf8.Valid(out) {
			t.Errorf("toUTF8 gave invalid UTF-8 %q", out)
		}
		if out := salvageJSONFeed(b); out != nil && !json.Valid(out) {
			t.Errorf("salvageJSONFeed gave invalid JSON %q", out)
		}
	})
}
