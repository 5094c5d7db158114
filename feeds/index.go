package feeds

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"github.com/tidings/tidings"
	"html/template"
	"io"
	"time"
)

// TopicSummary is what the index page shows of one topic.
type TopicSummary struct {
	Topic     *Topic
	Count     int       // entries in the topic feed
	Updated   time.Time // LastUpdated of its entries; zero when it has none
	Headlines []Entry   // the newest few entries
}

// WriteIndex writes the HTML index page (GET /): every topic with its
// description, item count, last update, newest headlines and subscribe
// links, and a <link rel="alternate"> in the head for every topic feed in
// every format so that readers discover them. The page is self-contained:
// inline CSS, no scripts, no external assets.
func WriteIndex(w io.Writer, topics []TopicSummary, m Meta) error {
	base, err := m.base()
	if err != nil {
		return err
	}
	page := indexPage{Title: clean(m.siteTitle()), Generator: clean(m.Generator), OPML: base + "/topics.opml"}
	for _, ts := range topics {
		t := ts.Topic
		it := indexTopic{
			Name:        t.Name,
			Title:       clean(t.Title),
			Description: clean(t.Description),
			Count:       ts.Count,
		}
		if !ts.Updated.IsZero() && !ts.Updated.Equal(time.Unix(0, 0)) {
			it.Updated = ts.Updated.UTC()
		}
		for _, f := range Formats {
			it.Feeds = append(it.Feeds, indexFeed{Label: f.label(), Type: f.MediaType(), URL: FeedURL(base, t.Name, f)})
		}
		for _, e := range ts.Headlines {
			p := prepareHeadline(&e.Item, m)
			it.Headlines = append(it.Headlines, p)
		}
		page.Topics = append(page.Topics, it)
	}
	if err := indexTemplate.Execute(w, &page); err != nil {
		return fmt.Errorf("feeds: write index: %w", err)
	}
	return nil
}

type indexPage struct {
	Title, Generator, OPML string
	Topics                 []indexTopic
}

type indexTopic struct {
	Name, Title, Description string
	Count                    int
	Updated                  time.Time
	Feeds                    []indexFeed
	Headlines                []headline
}

type indexFeed struct{ Label, Type, URL string }

type headline struct {
	Title, Link, Source string
	Published           time.Time
}

// prepareHeadline cleans what the index shows of an item; html/template
// escapes it and refuses unsafe URLs on its own, the rest is for looks.
func prepareHeadline(it *tidings.Item, m Meta) headline {
	h := headline{
		Title:     plainText(it.Title),
		Link:      absURL(it.Link),
		Source:    clean(m.sourceTitle(it.Source)),
		Published: published(it).UTC(),
	}
	if h.Title == "" {
		h.Title = cmp.Or(truncateRunes(plainText(it.Summary), 100), "(untitled)")
	}
	return h
}

var indexTemplate = template.Must(template.New("index").Funcs(template.FuncMap{
	"iso":  func(t time.Time) string { return t.Format(time.RFC3339) },
	"when": func(t time.Time) string { return t.Format("2 Jan 2006 15:04 UTC") },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{- with .Generator}}
<meta name="generator" content="{{.}}">
{{- end}}
<title>{{.Title}}</title>
{{- range .Topics}}{{$t := .}}{{range .Feeds}}
<link rel="alternate" type="{{.Type}}" title="{{$t.Title}} ({{.Label}})" href="{{.URL}}">
{{- end}}{{end}}
<style>
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:46rem;margin:0 auto;padding:1rem;color:#222;background:#fff}
h1{font-size:1.6rem;margin:.5rem 0}
h2{font-size:1.25rem;margin:0 0 .25rem}
section{border-top:1px solid #ddd;padding:1rem 0}
a{color:#0645ad}
.meta,.src,footer{color:#666;font-size:.875rem}
ul{padding-left:1.2rem;margin:.5rem 0}
li{margin:.2rem 0}
.subscribe a{margin-right:.6rem}
.copy{font-size:.875rem;margin:.2rem 0}
code{font:.875rem ui-monospace,monospace;background:#f3f3f3;padding:.1rem .3rem;user-select:all;word-break:break-all}
@media (prefers-color-scheme:dark){body{color:#ddd;background:#111}a{color:#8ab4f8}section{border-color:#333}code{background:#222}.meta,.src,footer{color:#999}}
</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
<p class="meta">{{len .Topics}} topic{{if ne (len .Topics) 1}}s{{end}} · <a href="{{.OPML}}">OPML</a> to subscribe to all at once</p>
</header>
<main>
{{- range .Topics}}
<section id="topic-{{.Name}}">
<h2>{{.Title}}</h2>
{{- with .Description}}
<p>{{.}}</p>
{{- end}}
<p class="meta">{{.Count}} item{{if ne .Count 1}}s{{end}}{{if not .Updated.IsZero}} · updated <time datetime="{{iso .Updated}}">{{when .Updated}}</time>{{end}}</p>
{{- with .Headlines}}
<ul>
{{- range .}}
<li>{{if .Link}}<a href="{{.Link}}">{{.Title}}</a>{{else}}{{.Title}}{{end}} <span class="src">{{.Source}}{{if not .Published.IsZero}} · <time datetime="{{iso .Published}}">{{when .Published}}</time>{{end}}</span></li>
{{- end}}
</ul>
{{- end}}
<p class="subscribe">Subscribe:{{range .Feeds}} <a href="{{.URL}}" type="{{.Type}}">{{.Label}}</a>{{end}}</p>
{{- with .Feeds}}
<p class="copy">Paste into your reader: <code>{{(index . 0).URL}}</code></p>
{{- end}}
</section>
{{- else}}
<p>No topics are configured.</p>
{{- end}}
</main>
<footer>{{with .Generator}}{{.}}{{else}}Tidings{{end}}</footer>
</body>
</html>
`))

// WriteOPML writes the OPML 2.0 list of every topic's RSS feed
// (GET /topics.opml), for subscribing to all topics at once.
func WriteOPML(w io.Writer, topics []*Topic, m Meta) error {
	base, err := m.base()
	if err != nil {
		return err
	}
	doc := opmlDoc{Version: "2.0", Title: clean(m.siteTitle()), Docs: "http://opml.org/spec2.opml"}
	for _, t := range topics {
		title := clean(t.Title)
		doc.Body.Outlines = append(doc.Body.Outlines, opmlOutline{
			Type:        "rss",
			Text:        title,
			Title:       title,
			Description: clean(t.Description),
			XMLURL:      FeedURL(base, t.Name, RSS),
			HTMLURL:     base + "/",
		})
	}
	if err := writeXML(w, &doc); err != nil {
		return fmt.Errorf("feeds: write OPML: %w", err)
	}
	return nil
}

type opmlDoc struct {
	XMLName xml.Name `xml:"opml"`
	Version string   `xml:"version,attr"`
	Title   string   `xml:"head>title"`
	Docs    string   `xml:"head>docs"`
	// Body is its own element so that an empty list still has a <body>.
	Body struct {
		Outlines []opmlOutline `xml:"outline"`
	} `xml:"body"`
}

type opmlOutline struct {
	Type        string `xml:"type,attr"`
	Text        string `xml:"text,attr"`
	Title       string `xml:"title,attr"`
	Description string `xml:"description,attr,omitempty"`
	XMLURL      string `xml:"xmlUrl,attr"`
	HTMLURL     string `xml:"htmlUrl,attr"`
}
