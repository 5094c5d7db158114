package fetcher

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// testNow is the injected clock of the parsing tests; fixture dates lie
// around it.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newTestFetcher(tb testing.TB, opts Options) *Fetcher {
	tb.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	f := New(opts)
	tb.Cleanup(f.Close)
	return f
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func parseFixture(t *testing.T, src tidings.Source, name, feedURL string) ([]tidings.Item, FeedInfo) {
	t.Helper()
	f := newTestFetcher(t, Options{})
	items, info, err := f.ParseBytes(src, feedURL, readFixture(t, name))
	if err != nil {
		t.Fatalf("ParseBytes(%s): %v", name, err)
	}
	return items, info
}

// TestGolden compares the normalized items of every fixture feed with
// testdata/golden; run with -update after a deliberate change.
func TestGolden(t *testing.T) {
	tests := map[string]struct {
		file    string
		feedURL string
	}{
		"rss091":   {"rss091.xml", "https://example.org/091/rss.xml"},
		"rss10":    {"rss10.rdf", "https://example.org/rdf/feed.rdf"},
		"rss20":    {"rss20.xml", "https://example.org/news/rss.xml"},
		"atom03":   {"atom03.xml", "https://example.org/atom03/feed.xml"},
		"atom10":   {"atom10.xml", "https://example.org/atom/feed.atom"},
		"json":     {"feed.json", "https://example.org/json/feed.json"},
		"relative": {"relative.xml", "https://example.org/feeds/rss.xml"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			items, info := parseFixture(t, tidings.Source{Name: "fixture"}, tc.file, tc.feedURL)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // keep the HTML of the goldens readable
			enc.SetIndent("", "  ")
			if err := enc.Encode(struct {
				Info  FeedInfo
				Items []tidings.Item
			}{info, items}); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./fetcher -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (run with -update if the change is intended):\n%s", tc.file, path, got)
			}
		})
	}
}

// TestParseFormats checks, per format, the fields a reader relies on.
func TestParseFormats(t *testing.T) {
	type want struct {
		title, link, id string
		published       time.Time
	}
	tests := map[string]struct {
		file     string
		feedURL  string
		typ      string
		version  string
		title    string
		siteLink string
		items    []want
	}{
		"RSS 0.91": {
			file: "rss091.xml", feedURL: "https://example.org/091/rss.xml",
			typ: "rss", version: "0.91", title: "Tidings RSS 0.91 fixture", siteLink: "https://example.org/091/",
			items: []want{
				{"Café opens", "https://example.org/091/cafe", "https://example.org/091/cafe", testNow},
				{"Second item", "https://example.org/091/second", "/091/second", testNow},
			},
		},
		"RSS 1.0": {
			file: "rss10.rdf", feedURL: "https://example.org/rdf/feed.rdf",
			typ: "rss", version: "1.0", title: "Tidings RSS 1.0 fixture", siteLink: "https://example.org/rdf/",
			items: []want{
				{"One", "https://example.org/rdf/one", "https://example.org/rdf/one", time.Date(2025, 5, 30, 6, 0, 0, 0, time.UTC)},
				{"Two", "https://example.org/rdf/two", "https://example.org/rdf/two", time.Date(2025, 5, 31, 8, 0, 0, 0, time.UTC)},
			},
		},
		"RSS 2.0": {
			file: "rss20.xml", feedURL: "https://example.org/news/rss.xml",
			typ: "rss", version: "2.0", title: "Tidings RSS 2.0 fixture", siteLink: "https://example.org/news/",
			items: []want{
				{"Mexico & the USMCA", "https://Example.org:443/news/usmca/?utm_source=rss&id=7#comments", "item-1", time.Date(2025, 5, 30, 10, 0, 0, 0, time.UTC)},
				{"A second item reusing the first guid", "https://example.org/news/dupe", "item-1#2e455c577de70dd7", testNow},
				{"", "https://example.org/news/permalink-only", "https://example.org/news/permalink-only", time.Date(2025, 5, 31, 9, 30, 0, 0, time.UTC)},
			},
		},
		"Atom 0.3": {
			file: "atom03.xml", feedURL: "https://example.org/atom03/feed.xml",
			typ: "atom", version: "0.3", title: "Tidings Atom 0.3 fixture", siteLink: "https://example.org/atom03/",
			items: []want{
				{"Zero three", "https://example.org/atom03/one", "tag:example.org,2025:atom03-1", time.Date(2025, 5, 29, 12, 0, 0, 0, time.UTC)},
			},
		},
		"Atom 1.0": {
			file: "atom10.xml", feedURL: "https://example.org/atom/feed.atom",
			typ: "atom", version: "1.0", title: "Tidings Atom fixture", siteLink: "https://example.org/atom/",
			items: []want{
				{"Relative by xml:base", "https://example.org/atom/posts/one", "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a", time.Date(2025, 5, 30, 23, 30, 2, 0, time.UTC)},
				{"Updated only", "https://other.example.net/two", "urn:uuid:two", time.Date(2025, 5, 29, 10, 0, 0, 0, time.UTC)},
			},
		},
		"JSON Feed": {
			file: "feed.json", feedURL: "https://example.org/json/feed.json",
			typ: "json", version: "1.1", title: "Tidings JSON Feed fixture", siteLink: "https://example.org/json/",
			items: []want{
				{"HTML item", "https://example.org/json/one", "1", time.Date(2025, 5, 30, 10, 0, 0, 0, time.UTC)},
				{"", "https://example.org/json/two", "2", time.Date(2025, 5, 31, 10, 0, 0, 0, time.UTC)},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			items, info := parseFixture(t, tidings.Source{Name: "src"}, tc.file, tc.feedURL)
			if info.Type != tc.typ || info.Version != tc.version || info.Title != tc.title || info.SiteLink != tc.siteLink {
				t.Errorf("info = %+v, want type %q version %q title %q site %q", info, tc.typ, tc.version, tc.title, tc.siteLink)
			}
			if len(items) != len(tc.items) {
				t.Fatalf("got %d items, want %d: %+v", len(items), len(tc.items), items)
			}
			for i, w := range tc.items {
				it := items[i]
				if it.Title != w.title || it.Link != w.link || it.ID != w.id || !it.Published.Equal(w.published) {
					t.Errorf("item %d = {title %q link %q id %q published %v}, want %+v", i, it.Title, it.Link, it.ID, it.Published, w)
				}
				if it.Source != "src" || !it.FirstSeen.Equal(testNow) {
					t.Errorf("item %d: source %q first seen %v", i, it.Source, it.FirstSeen)
				}
				if it.CanonicalLink != tidings.CanonicalURL(it.Link) {
					t.Errorf("item %d: canonical %q, want %q", i, it.CanonicalLink, tidings.CanonicalURL(it.Link))
				}
			}
		})
	}
}

func TestParseRSS20Details(t *testing.T) {
	items, _ := parseFixture(t, tidings.Source{Name: "news"}, "rss20.xml", "https://example.org/news/rss.xml")
	it := items[0]
	if want := "https://example.org/news/usmca?id=7"; it.CanonicalLink != want {
		t.Errorf("canonical link %q, want %q", it.CanonicalLink, want)
	}
	if want := []string{"Trade", "Americas"}; strings.Join(it.Categories, "|") != strings.Join(want, "|") {
		t.Errorf("categories %q, want %q (trimmed, deduplicated ignoring case)", it.Categories, want)
	}
	if len(it.Authors) != 1 || it.Authors[0].Email != "editor@example.org" || it.Authors[0].Name != "The Editor" {
		t.Errorf("authors %+v", it.Authors)
	}
	if len(it.Enclosures) != 1 || it.Enclosures[0] != (tidings.Enclosure{URL: "https://example.org/audio/usmca.mp3", Type: "audio/mpeg", Length: 12345}) {
		t.Errorf("enclosures %+v", it.Enclosures)
	}
	if it.Summary != "Short summary." || it.Content != `<p>Full <a href="https://example.org/news/usmca-text">text</a>.</p>` {
		t.Errorf("summary %q content %q", it.Summary, it.Content)
	}
	for _, it := range items {
		if it.Link == "https://example.org/news/dupe" && !strings.HasPrefix(it.ID, "item-1#") {
			t.Errorf("the distinct second item with guid item-1 has ID %q, want one derived from item-1", it.ID)
		}
		if it.ID == "empty-item" {
			t.Error("an item with no title, link or content was kept")
		}
	}
}

func TestParseRelativeLinks(t *testing.T) {
	items, info := parseFixture(t, tidings.Source{Name: "rel"}, "relative.xml", "https://example.org/feeds/rss.xml")
	if info.SiteLink != "https://example.org/blog/" {
		t.Errorf("site link %q: the relative channel link should be resolved against the feed URL", info.SiteLink)
	}
	it := items[0]
	if it.Link != "https://example.org/blog/posts/1" {
		t.Errorf("link %q", it.Link)
	}
	if len(it.Enclosures) != 1 || it.Enclosures[0].URL != "https://example.org/blog/media/ep1.mp3" {
		t.Errorf("enclosures %+v", it.Enclosures)
	}
	want := []string{
		`<a href="https://example.org/about">About</a>`,
		`<a HREF='#top'>top</a>`, // in-page anchor: unchanged, byte for byte
		`<a href="mailto:x@example.org">mail</a>`,
		`<a href="https://abs.example.com/x">abs</a>`,
		`<a href="https://cdn.example.com/y">cdn</a>`,
		`<img src="https://example.org/img/a.png" srcset="https://example.org/blog/a.png 1x, https://example.org/img/b.png 2x" alt="a &amp; b">`,
	}
	for _, w := range want {
		if !strings.Contains(it.Summary, w) {
			t.Errorf("summary lacks %s:\n%s", w, it.Summary)
		}
	}
}

func TestParseNoSiteLinkUsesFeedURL(t *testing.T) {
	body := []byte(`<rss version="2.0"><channel><title>t</title><item><title>a</title><link>a.html</link>` +
		`<description>&lt;img src="i.png"&gt;</description></item></channel></rss>`)
	tests := map[string]struct {
		feedURL, link, summary string
	}{
		"feed URL":    {"https://example.org/dir/feed.xml", "https://example.org/dir/a.html", `<img src="https://example.org/dir/i.png">`},
		"no base":     {"", "a.html", `<img src="i.png">`},
		"unusable":    {"not a url", "a.html", `<img src="i.png">`},
		"file source": {"file:///srv/feeds/bulletin.xml", "file:///srv/feeds/a.html", `<img src="file:///srv/feeds/i.png">`},
	}
	f := newTestFetcher(t, Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			items, _, err := f.ParseBytes(tidings.Source{Name: "s"}, tc.feedURL, body)
			if err != nil {
				t.Fatal(err)
			}
			if items[0].Link != tc.link || items[0].Summary != tc.summary {
				t.Errorf("link %q summary %q, want %q %q", items[0].Link, items[0].Summary, tc.link, tc.summary)
			}
		})
	}
}

func TestParseDates(t *testing.T) {
	items, _ := parseFixture(t, tidings.Source{Name: "rel"}, "relative.xml", "https://example.org/feeds/rss.xml")
	byTitle := map[string]tidings.Item{}
	for _, it := range items {
		byTitle[it.Title] = it
	}
	tests := map[string]struct {
		title     string
		published time.Time
	}{
		"no date gives now":          {"Undated, with relative links", testNow},
		"two hours ahead gives now":  {"Two hours in the future", testNow},
		"five minutes ahead is kept": {"Five minutes in the future", testNow.Add(5 * time.Minute)},
		"no zone is UTC by default":  {"Local time without a zone", time.Date(2025, 5, 30, 9, 0, 0, 0, time.UTC)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			it, ok := byTitle[tc.title]
			if !ok {
				t.Fatalf("no item %q", tc.title)
			}
			if !it.Published.Equal(tc.published) {
				t.Errorf("published %v, want %v", it.Published, tc.published)
			}
		})
	}

	// An undated item's identity must not depend on the clock, or every
	// poll would make it a new item.
	later := newTestFetcher(t, Options{Now: func() time.Time { return testNow.Add(time.Hour) }})
	again, _, err := later.ParseBytes(tidings.Source{Name: "rel"}, "https://example.org/feeds/rss.xml", readFixture(t, "relative.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range items {
		if items[i].ID != again[i].ID {
			t.Errorf("item %q: ID %q changed to %q with the clock", items[i].Title, items[i].ID, again[i].ID)
		}
	}
}

func TestParseTimezone(t *testing.T) {
	src := tidings.Source{Name: "ny", Timezone: "America/New_York"}
	items, _ := parseFixture(t, src, "relative.xml", "https://example.org/feeds/rss.xml")
	want := map[string]time.Time{
		"Local time without a zone":  time.Date(2025, 5, 30, 13, 0, 0, 0, time.UTC), // 09:00 EDT
		"UTC time":                   time.Date(2025, 5, 30, 9, 0, 0, 0, time.UTC),
		"Five minutes in the future": testNow.Add(5 * time.Minute), // +0000 given
	}
	for _, it := range items {
		if w, ok := want[it.Title]; ok && !it.Published.Equal(w) {
			t.Errorf("%q: published %v, want %v", it.Title, it.Published, w)
		}
	}
}

func TestParseAtom(t *testing.T) {
	items, _ := parseFixture(t, tidings.Source{Name: "a"}, "atom10.xml", "https://example.org/atom/feed.atom")
	one, two := items[0], items[1]
	if one.Content != `<p>See <img src="https://example.org/atom/img/one.png"/></p>` { // gofeed resolved xml:base
		t.Errorf("content %q", one.Content)
	}
	if len(one.Enclosures) != 1 || one.Enclosures[0] != (tidings.Enclosure{URL: "https://example.org/atom/media/one.ogg", Type: "audio/ogg", Length: 999}) {
		t.Errorf("enclosures %+v", one.Enclosures)
	}
	if want := []tidings.Person{{Name: "Feed Author", Email: "feed@example.org"}}; len(one.Authors) != 1 || one.Authors[0] != want[0] {
		t.Errorf("authors %+v, want the feed's %+v", one.Authors, want)
	}
	if !one.Updated.Equal(time.Date(2025, 5, 31, 18, 30, 2, 0, time.UTC)) {
		t.Errorf("updated %v", one.Updated)
	}
	if len(two.Authors) != 1 || two.Authors[0].Name != "Entry Author" {
		t.Errorf("authors %+v, want the entry's own", two.Authors)
	}
	if !strings.Contains(two.Content, `href="https://example.org/rooted"`) {
		t.Errorf("xhtml content %q: /rooted not resolved", two.Content)
	}
}

func TestParseJSONFeed(t *testing.T) {
	items, _ := parseFixture(t, tidings.Source{Name: "j"}, "feed.json", "https://example.org/json/feed.json")
	one, two := items[0], items[1]
	if one.Summary != "Fish &amp; chips &lt;b&gt;not bold&lt;/b&gt;" {
		t.Errorf("summary %q: JSON Feed summaries are plain text and must be escaped", one.Summary)
	}
	if one.Content != `<p>Hello <a href="https://example.org/json/two">two</a></p>` {
		t.Errorf("content %q", one.Content)
	}
	if strings.Join(one.Categories, ",") != "a,b" {
		t.Errorf("categories %q", one.Categories)
	}
	if len(one.Enclosures) != 1 || one.Enclosures[0] != (tidings.Enclosure{URL: "https://example.org/json/ep1.mp3", Type: "audio/mpeg", Length: 42}) {
		t.Errorf("enclosures %+v", one.Enclosures)
	}
	if want := "<p>Line one<br>line two &amp; more</p><p>Second paragraph &lt;not a tag&gt;</p>"; two.Content != want {
		t.Errorf("content_text became %q, want %q", two.Content, want)
	}
	if two.Image != "https://example.org/json/img/two.png" {
		t.Errorf("image %q", two.Image)
	}
	if len(two.Authors) != 1 || two.Authors[0].Name != "JSON Author" {
		t.Errorf("authors %+v", two.Authors)
	}
}

func TestNotAFeed(t *testing.T) {
	tests := map[string]struct {
		body    []byte
		html    bool
		empty   bool
		message string
		alts    []string
	}{
		"HTML page": {
			body: readFixture(t, "page.html"), html: true,
			message: "not a feed: got an HTML page (text/html); it links to these feeds: https://example.org/site/feed.xml, https://example.org/atom.xml",
			alts:    []string{"https://example.org/site/feed.xml", "https://example.org/atom.xml"},
		},
		"empty":     {body: []byte(" \n"), empty: true, message: "not a feed: the response is empty"},
		"plain":     {body: []byte("hello"), message: "not a feed: the response is not RSS, Atom or JSON Feed"},
		"other XML": {body: []byte(`<?xml version="1.0"?><opml version="2.0"><body/></opml>`), message: "not a feed: the response is not RSS, Atom or JSON Feed"},
		"JSON API":  {body: []byte(`{"error": "no such thing"}`), message: "not a feed: the response is not RSS, Atom or JSON Feed"},
	}
	f := newTestFetcher(t, Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := f.ParseBytes(tidings.Source{Name: "s"}, "https://example.org/page", tc.body)
			if !errors.Is(err, ErrNotAFeed) {
				t.Fatalf("err = %v, want ErrNotAFeed", err)
			}
			nf, ok := errors.AsType[*NotAFeedError](err)
			if !ok {
				t.Fatalf("err %T is no *NotAFeedError", err)
			}
			if nf.HTML != tc.html || nf.Empty != tc.empty || strings.Join(nf.Alternates, " ") != strings.Join(tc.alts, " ") {
				t.Errorf("got %+v", nf)
			}
			if err.Error() != tc.message {
				t.Errorf("message %q, want %q", err.Error(), tc.message)
			}
		})
	}
}

func TestParseError(t *testing.T) {
	f := newTestFetcher(t, Options{})
	_, _, err := f.ParseBytes(tidings.Source{Name: "s"}, "", []byte(`{"version": "https://jsonfeed.org/version/1", "items": [`))
	if !errors.Is(err, ErrParse) || !strings.HasPrefix(err.Error(), "parse feed: ") {
		t.Errorf("err = %v, want ErrParse saying parse feed: …", err)
	}
}

// TestParseRepairs covers the body repairs tried when gofeed fails: bytes
// of Latin-1 in a UTF-8 document, and JSON Feed tags as a string.
func TestParseRepairs(t *testing.T) {
	tests := map[string]struct {
		body  []byte
		check func(t *testing.T, items []tidings.Item)
	}{
		"Latin-1 in UTF-8": {
			body: []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>t</title>" +
				"<item><title>Caf\xe9 \xe2\x82\xac and \x92quoted\x92</title><link>https://e.org/1</link></item></channel></rss>"),
			check: func(t *testing.T, items []tidings.Item) {
				if want := "Café € and ’quoted’"; items[0].Title != want {
					t.Errorf("title %q, want %q (valid UTF-8 kept, stray bytes as Windows-1252)", items[0].Title, want)
				}
			},
		},
		"JSON tags as a string": {
			body: []byte(`{"version": "https://jsonfeed.org/version/1", "title": "t", "author": "Ann",` +
				`"items": [{"id": "1", "url": "https://e.org/1", "title": "x", "tags": "a, b,c"}]}`),
			check: func(t *testing.T, items []tidings.Item) {
				if strings.Join(items[0].Categories, "|") != "a|b|c" {
					t.Errorf("categories %q", items[0].Categories)
				}
			},
		},
	}
	f := newTestFetcher(t, Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			items, _, err := f.ParseBytes(tidings.Source{Name: "s"}, "", tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 {
				t.Fatalf("got %d items", len(items))
			}
			tc.check(t, items)
		})
	}
}

func TestPlainText(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain":              {"  Hello world ", "Hello world"},
		"entities":           {"AT&amp;T &#8211; news", "AT&T – news"},
		"tags":               {"<b>Bold</b> &amp; <i>new</i>", "Bold & new"},
		"whitespace":         {"a\n\t b\u00a0 c", "a b c"},
		"lone angle bracket": {"1 < 2", "1 < 2"},
		"unfinished tag":     {"x <y", "x <y"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := plainText(tc.in); got != tc.want {
				t.Errorf("plainText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestResolveHTML(t *testing.T) {
	base, _ := url.Parse("https://example.org/blog/post/")
	tests := map[string]struct{ in, want string }{
		"no markup":       {"just text", "just text"},
		"absolute kept":   {`<a href="https://x.org/a">x</a>`, `<a href="https://x.org/a">x</a>`},
		"relative":        {`<a href="a">x</a>`, `<a href="https://example.org/blog/post/a">x</a>`},
		"root":            {`<p><img src="/i.png" alt=x></p>`, `<p><img src="https://example.org/i.png" alt="x"></p>`},
		"parent":          {`<a href="../b">`, `<a href="https://example.org/blog/b">`},
		"anchor kept":     {`<a href="#c">`, `<a href="#c">`},
		"schemes kept":    {`<a href="mailto:a@b.c">m</a><a href="javascript:void(0)">j</a>`, `<a href="mailto:a@b.c">m</a><a href="javascript:void(0)">j</a>`},
		"other attrs":     {`<video poster="p.jpg" src="v.mp4"></video>`, `<video poster="https://example.org/blog/post/p.jpg" src="https://example.org/blog/post/v.mp4"></video>`},
		"data attr":       {`<div data-src="x"></div>`, `<div data-src="x"></div>`},
		"script kept":     {`<script>if (a<b) {}</script><a href=x>`, `<script>if (a<b) {}</script><a href="https://example.org/blog/post/x">`},
		"unfinished tail": {`<a href=x>y</a><img src="z`, `<a href="https://example.org/blog/post/x">y</a><img src="z`},
		"comment kept":    {`<!-- <a href=x> --><b>`, `<!-- <a href=x> --><b>`},
		"comma URL":       {`<A href=,>`, `<a href="https://example.org/blog/post/,">`},
		"srcset data URL": {`<img srcset="data:image/png;base64,AA 1x">`, `<img srcset="data:image/png;base64,AA 1x">`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := resolveHTML(base, tc.in); got != tc.want {
				t.Errorf("resolveHTML(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzResolveHTML: the pre-check that lets resolveHTML skip tokenizing
// never skips a fragment that has something to resolve.
func FuzzResolveHTML(f *testing.F) {
	for _, s := range []string{
		`<a href="https://x.org/a">x</a><img src='/i.png'>`,
		`<img srcset="https://x/a.jpg 1x, b.jpg 2x">`,
		`<img srcset="data:image/png;base64,AA 1x, /b.png 2x">`,
		`<object data=o.swf></object><a HREF = " https://x/">`,
		`<a href="#n">n</a> a=b <video poster=p.jpg>`,
		`<img srcset="https://x/a.jpg?w=1&amp;h=2 1x&#44; b.jpg 2x">`,
		`<a href="https://x/?a=1&amp;b=2">x</a><img src="&#47;i.png">`,
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://example.org/blog/post/")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := resolveHTML(base, s), rewriteURLs(base, s); got != want {
			t.Errorf("resolveHTML(%q)\n got %q\nwant %q", s, got, want)
		}
	})
}
