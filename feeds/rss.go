package feeds

import (
	"cmp"
	"encoding/xml"
	"html"
	"io"
	"strconv"
	"time"

	"github.com/gorilla/feeds"

	"github.com/tidings/tidings"
)

// Namespaces of the RSS extensions Tidings writes.
const (
	nsAtom    = "http://www.w3.org/2005/Atom"
	nsContent = "http://purl.org/rss/1.0/modules/content/"
	nsDC      = "http://purl.org/dc/elements/1.1/"
	nsMedia   = "http://search.yahoo.com/mrss/"
)

// The RSS and Atom documents start from gorilla/feeds' element structs and
// extend them where they fall short of a valid, complete feed: an outer
// field with the same XML name shadows the embedded one (encoding/xml, like
// Go, prefers the shallower field). gorilla/feeds has one category, one
// author and a bare <source> per item, no <atom:link rel="self">, and always
// writes <link>, even empty.

// rssDoc is the <rss> root, declaring the namespaces the extensions need.
type rssDoc struct {
	XMLName   xml.Name    `xml:"rss"`
	Version   string      `xml:"version,attr"`
	NSContent string      `xml:"xmlns:content,attr"`
	NSAtom    string      `xml:"xmlns:atom,attr"`
	NSDC      string      `xml:"xmlns:dc,attr"`
	NSMedia   string      `xml:"xmlns:media,attr"`
	Channel   *rssChannel `xml:"channel"`
}

type rssChannel struct {
	*feeds.RssFeed
	Links []rssAtomLink `xml:"atom:link"` // self, and the WebSub hub when there is one
	Items []*rssItem    `xml:"item"`
}

// rssAtomLink is the <atom:link rel="self"> that RSS Best Practices ask for,
// or the <atom:link rel="hub"> that WebSub discovery reads.
type rssAtomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
}

type rssItem struct {
	*feeds.RssItem
	Link       string        `xml:"link,omitempty"`
	Categories []string      `xml:"category"`
	Creators   []string      `xml:"dc:creator"`
	Source     *rssSource    `xml:"source"`
	Image      *mediaContent `xml:"media:content"`
}

// rssSource credits the source feed: <source url="feed URL">Title</source>.
type rssSource struct {
	URL   string `xml:"url,attr"`
	Title string `xml:",chardata"`
}

// mediaContent is a Media RSS <media:content url=... medium="image">, the
// item image in RSS and Atom, which gofeed and most readers pick up.
type mediaContent struct {
	URL    string `xml:"url,attr"`
	Medium string `xml:"medium,attr"`
}

func writeRSS(w io.Writer, ch *channel) error {
	doc := rssDoc{
		Version:   "2.0",
		NSContent: nsContent,
		NSAtom:    nsAtom,
		NSDC:      nsDC,
		NSMedia:   nsMedia,
		Channel: &rssChannel{
			RssFeed: &feeds.RssFeed{
				Title:         ch.title,
				Link:          ch.home,
				Description:   ch.description,
				LastBuildDate: ch.updated.Format(time.RFC1123Z),
				PubDate:       ch.updated.Format(time.RFC1123Z),
				Generator:     ch.generator,
				Docs:          "https://www.rssboard.org/rss-specification",
			},
			Links: []rssAtomLink{{Href: ch.self, Rel: "self", Type: RSS.MediaType()}},
			Items: make([]*rssItem, len(ch.items)),
		},
	}
	if ch.hub != "" {
		doc.Channel.Links = append(doc.Channel.Links, rssAtomLink{Href: ch.hub, Rel: "hub"})
	}
	for i := range ch.items {
		doc.Channel.Items[i] = newRSSItem(&ch.items[i])
	}
	return writeXML(w, &doc)
}

func newRSSItem(it *item) *rssItem {
	// The full content goes in content:encoded, where readers look for
	// it; description holds the summary, or the start of the content as
	// text, so that readers that show only description show something.
	description := it.summary
	if description == "" {
		description = html.EscapeString(it.summaryText)
	}
	if description == "" {
		description = it.content
	}
	r := &rssItem{
		RssItem: &feeds.RssItem{
			Title:       it.title,
			Description: description,
			Guid:        &feeds.RssGuid{Id: it.id, IsPermaLink: "false"},
		},
		Link:       it.link,
		Categories: it.categories,
	}
	if it.content != "" && it.content != description {
		r.Content = &feeds.RssContent{Content: it.content}
	}
	if !it.published.IsZero() {
		r.PubDate = it.published.Format(time.RFC1123Z)
	}
	// <author> must be an e-mail address; names go in <dc:creator>, as
	// most publishers do.
	for _, p := range it.authors {
		r.Creators = append(r.Creators, personName(p))
	}
	// RSS allows one enclosure per item and readers take the first.
	if len(it.enclosures) > 0 {
		e := it.enclosures[0]
		r.Enclosure = &feeds.RssEnclosure{Url: e.URL, Length: strconv.FormatInt(e.Length, 10), Type: e.Type}
		if r.Enclosure.Type == "" {
			r.Enclosure.Type = "application/octet-stream"
		}
	}
	if u := cmp.Or(it.sourceFeed, it.sourceLink); u != "" {
		r.Source = &rssSource{URL: u, Title: it.sourceTitle}
	}
	if it.image != "" {
		r.Image = &mediaContent{URL: it.image, Medium: "image"}
	}
	return r
}

// personName is how an author is shown where only one string fits.
func personName(p tidings.Person) string {
	switch {
	case p.Name == "":
		return p.Email
	case p.Email == "":
		return p.Name
	}
	return p.Name + " (" + p.Email + ")"
}

// writeXML writes the XML declaration and v, indented for people who read
// feeds in a browser.
func writeXML(w io.Writer, v any) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
