package feeds

import (
	"bytes"
	"encoding/xml"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"golang.org/x/net/html"
)

// testSummaries builds the index of two topics over the fixtures.
func testSummaries(tb testing.TB) []TopicSummary {
	items := loadItems(tb)
	var out []TopicSummary
	for _, t := range []tidings.Topic{
		{Name: "mexico", Title: "Mexico & the Americas", Description: "US–Mexico relations, <trade> and security", Tags: []string{"americas"}},
		{Name: "all"},
	} {
		ct := mustCompile(tb, t)
		entries := selectAll(ct, 0, items)
		out = append(out, TopicSummary{Topic: ct, Count: len(entries), Updated: LastUpdated(entries), Headlines: entries[:min(3, len(entries))]})
	}
	return out
}

func TestWriteIndex(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteIndex(&buf, testSummaries(t), testMeta); err != nil {
		t.Fatal(err)
	}
	golden(t, "index.html", buf.Bytes())

	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var alternates, scripts, anchors []string
	var text strings.Builder
	for n := range doc.Descendants() {
		switch {
		case n.Type == html.ElementNode && n.Data == "link" && attr(n, "rel") == "alternate":
			alternates = append(alternates, attr(n, "type")+" "+attr(n, "href")+" "+attr(n, "title"))
		case n.Type == html.ElementNode && (n.Data == "script" || n.Data == "iframe"):
			scripts = append(scripts, n.Data)
		case n.Type == html.ElementNode && n.Data == "a":
			anchors = append(anchors, attr(n, "href"))
		case n.Type == html.TextNode:
			text.WriteString(n.Data)
		}
	}
	wantAlternates := []string{
		"application/rss+xml http://localhost:8080/topics/mexico.rss Mexico & the Americas (RSS)",
		"application/atom+xml http://localhost:8080/topics/mexico.atom Mexico & the Americas (Atom)",
		"application/feed+json http://localhost:8080/topics/mexico.json Mexico & the Americas (JSON Feed)",
		"application/rss+xml http://localhost:8080/topics/all.rss all (RSS)",
		"application/atom+xml http://localhost:8080/topics/all.atom all (Atom)",
		"application/feed+json http://localhost:8080/topics/all.json all (JSON Feed)",
	}
	if !slices.Equal(alternates, wantAlternates) {
		t.Errorf("alternate links:\n%s\nwant\n%s", strings.Join(alternates, "\n"), strings.Join(wantAlternates, "\n"))
	}
	if len(scripts) > 0 {
		t.Errorf("the page has %q elements", scripts)
	}
	for _, want := range []string{"http://localhost:8080/topics/mexico.atom", "https://wire.example.com/2026/02/04/tariffs", "http://localhost:8080/topics.opml"} {
		if !slices.Contains(anchors, want) {
			t.Errorf("no link to %s in %q", want, anchors)
		}
	}
	for _, want := range []string{"US–Mexico relations, <trade> and security", "2 items", "5 items", hostileTitle, "updated 4 Feb 2026 11:00 UTC"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the page does not say %q", want)
		}
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func TestWriteIndexUnsafeLink(t *testing.T) {
	ct := mustCompile(t, tidings.Topic{Name: "x"})
	ts := []TopicSummary{{Topic: ct, Count: 1, Headlines: []Entry{{Item: tidings.Item{Source: "wire", ID: "1", Title: `<img src=x onerror=alert(1)>Hi`, Link: "javascript:alert(1)"}}}}}
	var buf bytes.Buffer
	if err := WriteIndex(&buf, ts, testMeta); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"javascript:", "onerror", "<img"} {
		if strings.Contains(buf.String(), bad) {
			t.Errorf("index page contains %q", bad)
		}
	}
}

func TestWriteOPML(t *testing.T) {
	var topics []*Topic
	for _, ts := range testSummaries(t) {
		topics = append(topics, ts.Topic)
	}
	var buf bytes.Buffer
	if err := WriteOPML(&buf, topics, testMeta); err != nil {
		t.Fatal(err)
	}
	golden(t, "topics.opml", buf.Bytes())
	checkWellFormed(t, buf.Bytes())

	var doc struct {
		XMLName xml.Name `xml:"opml"`
		Version string   `xml:"version,attr"`
		Title   string   `xml:"head>title"`
		Body    struct {
			Outlines []struct {
				Type    string `xml:"type,attr"`
				Text    string `xml:"text,attr"`
				Title   string `xml:"title,attr"`
				XMLURL  string `xml:"xmlUrl,attr"`
				HTMLURL string `xml:"htmlUrl,attr"`
			} `xml:"outline"`
		} `xml:"body"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.0" || doc.Title != "Tidings" || len(doc.Body.Outlines) != 2 {
		t.Fatalf("opml = %+v", doc)
	}
	o := doc.Body.Outlines[0]
	if o.Type != "rss" || o.Text != "Mexico & the Americas" || o.Title != o.Text ||
		o.XMLURL != "http://localhost:8080/topics/mexico.rss" || o.HTMLURL != "http://localhost:8080/" {
		t.Errorf("outline = %+v", o)
	}
}

func TestWriteOPMLEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteOPML(&buf, nil, testMeta); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "<body></body>") {
		t.Errorf("an empty list needs an empty <body>:\n%s", buf.String())
	}
}

func TestIndexBadBaseURL(t *testing.T) {
	m := testMeta
	m.BaseURL = "localhost"
	var buf bytes.Buffer
	if err := WriteIndex(&buf, nil, m); !errors.Is(err, ErrBaseURL) {
		t.Errorf("WriteIndex: %v, want ErrBaseURL", err)
	}
	if err := WriteOPML(&buf, nil, m); !errors.Is(err, ErrBaseURL) {
		t.Errorf("WriteOPML: %v, want ErrBaseURL", err)
	}
}
