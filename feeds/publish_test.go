package feeds

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/tidings/tidings"
)

func TestAbsoluteLinks(t *testing.T) {
	const base = "https://site.example/news/2026/story.html"
	for name, tc := range map[string]struct{ in, base, want string }{
		"relative href":         {`<a href="../other.html">x</a>`, base, `<a href="https://site.example/news/other.html">x</a>`},
		"root-relative src":     {`<img src="/img/a.jpg" alt="a"/>`, base, `<img src="https://site.example/img/a.jpg" alt="a"/>`},
		"protocol-relative":     {`<a href="//cdn.example/x">x</a>`, base, `<a href="https://cdn.example/x">x</a>`},
		"absolute untouched":    {`<a href="https://o.example/x" rel="nofollow">x</a>`, base, `<a href="https://o.example/x" rel="nofollow">x</a>`},
		"anchor untouched":      {`<a href="#notes">1</a>`, base, `<a href="#notes">1</a>`},
		"no base drops":         {`<p><a href="x.html">x</a></p>`, "", `<p><a>x</a></p>`},
		"file base drops":       {`<img src="a.jpg"/>`, "file:///tmp/x.xml", `<img/>`},
		"text untouched":        {`a < b and c`, base, `a < b and c`},
		"cite on blockquote":    {`<blockquote cite="q.html">q</blockquote>`, base, `<blockquote cite="https://site.example/news/2026/q.html">q</blockquote>`},
		"other tags keep bytes": {`<p class="x">a</p><a href="b">b</a>`, base, `<p class="x">a</p><a href="https://site.example/news/2026/b">b</a>`},
	} {
		t.Run(name, func(t *testing.T) {
			if got := absoluteLinks(tc.in, tc.base); got != tc.want {
				t.Errorf("absoluteLinks(%q, %q) = %q, want %q", tc.in, tc.base, got, tc.want)
			}
		})
	}
}

// TestPublishedFields renders one full item and one bare one in every format
// and reads them back with gofeed: every field the issue lists must arrive.
func TestPublishedFields(t *testing.T) {
	published := time.Date(2026, 2, 3, 21, 0, 0, 0, time.FixedZone("CST", -6*3600))
	full := tidings.Item{
		Source: "wire", ID: "ep-41", Title: "Trade Desk, episode 41",
		Link:       "https://ledger.example/podcast/41",
		Content:    `<p>Show notes: <a href="/notes/41">notes</a>, <img src="art.jpg"> <script>x()</script><a href="javascript:alert(1)">bad</a><iframe src="https://evil.example/"></iframe></p>`,
		Authors:    []tidings.Person{{Name: "Ana Ruiz", Email: "ana@ledger.example"}, {Name: "Bo Li"}},
		Categories: []string{"Trade", "Podcast"},
		Enclosures: []tidings.Enclosure{{URL: "https://ledger.example/audio/41.mp3", Type: "audio/mpeg", Length: 31_000_000}},
		Published:  published,
	}
	ct := allTopic(t)
	entries := []Entry{{Item: full}}
	for _, f := range Formats {
		t.Run(f.String(), func(t *testing.T) {
			b := mustRender(t, ct, entries, f, testMeta)
			feed, err := gofeed.NewParser().Parse(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			it := feed.Items[0]
			check := func(what string, ok bool) {
				t.Helper()
				if !ok {
					t.Errorf("%s: %s is wrong:\n%s", f, what, b)
				}
			}
			check("link", it.Link == full.Link)
			check("id", it.GUID == ItemGUID("wire", "ep-41"))
			check("published", it.PublishedParsed != nil && it.PublishedParsed.Equal(published))
			check("authors", len(it.Authors) >= 1 && strings.Contains(it.Authors[0].Name, "Ana Ruiz"))
			if f == RSS {
				check("every author", bytes.Contains(b, []byte("<dc:creator>Bo Li</dc:creator>")))
			} else {
				check("every author", len(it.Authors) == 2 && it.Authors[1].Name == "Bo Li")
			}
			check("categories", strings.Join(it.Categories, ",") == "Trade,Podcast")
			check("enclosure", len(it.Enclosures) == 1 && it.Enclosures[0].URL == "https://ledger.example/audio/41.mp3" && it.Enclosures[0].Type == "audio/mpeg" && it.Enclosures[0].Length == "31000000")
			html := it.Content
			check("full content", strings.Contains(html, "Show notes:"))
			check("relative links made absolute", strings.Contains(html, `href="https://ledger.example/notes/41"`) && strings.Contains(html, `src="https://ledger.example/podcast/art.jpg"`))
			for _, bad := range []string{"<script", "javascript:", "<iframe", "evil.example"} {
				check("sanitized ("+bad+")", !strings.Contains(strings.ToLower(string(b)), bad))
			}
			switch f {
			case RSS:
				check("content:encoded", bytes.Contains(b, []byte("<content:encoded><![CDATA[<p>Show notes:")))
				check("text description", strings.HasPrefix(it.Description, "Show notes: notes"))
				check("source credit", bytes.Contains(b, []byte(`<source url=`)))
				check("dates in RFC 1123", bytes.Contains(b, []byte("<pubDate>Wed, 04 Feb 2026 03:00:00 +0000</pubDate>")))
			case Atom:
				check("dates in RFC 3339", bytes.Contains(b, []byte("<published>2026-02-04T03:00:00Z</published>")))
				check("source title", bytes.Contains(b, []byte("<source>")))
			case JSON:
				check("source extension", bytes.Contains(b, []byte(`"source": "wire"`)))
				check("dates in RFC 3339", bytes.Contains(b, []byte(`"date_published": "2026-02-04T03:00:00Z"`)))
			}
		})
	}
}
