package feeds

import (
	"cmp"
	"io"
	"strconv"
	"time"

	"github.com/gorilla/feeds"
)

// atomDoc extends gorilla/feeds' AtomFeed (see the note in rss.go): a feed
// has both an alternate and a self link, entries have several authors and
// categories, and <source> is an element, not a string.
type atomDoc struct {
	*feeds.AtomFeed
	NSMedia   string           `xml:"xmlns:media,attr"`
	Links     []feeds.AtomLink `xml:"link"`
	Generator string           `xml:"generator,omitempty"`
	Entries   []*atomEntry     `xml:"entry"`
}

type atomEntry struct {
	*feeds.AtomEntry
	Authors    []*feeds.AtomAuthor `xml:"author"`
	Categories []atomCategory      `xml:"category"`
	Source     *atomSource         `xml:"source"`
	Image      *mediaContent       `xml:"media:content"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

// atomSource names the feed an entry came from (RFC 4287 §4.2.11).
type atomSource struct {
	ID    string           `xml:"id,omitempty"`
	Title string           `xml:"title"`
	Links []feeds.AtomLink `xml:"link"`
}

func writeAtom(w io.Writer, ch *channel) error {
	doc := atomDoc{
		AtomFeed: &feeds.AtomFeed{
			Xmlns:    nsAtom,
			Title:    ch.title,
			Id:       ch.self, // stable for as long as the feed's address is
			Updated:  ch.updated.Format(time.RFC3339),
			Subtitle: ch.description,
		},
		NSMedia: nsMedia,
		Links: []feeds.AtomLink{
			{Href: ch.home, Rel: "alternate", Type: "text/html"},
			{Href: ch.self, Rel: "self", Type: Atom.MediaType()},
		},
		Generator: ch.generator,
		Entries:   make([]*atomEntry, len(ch.items)),
	}
	if ch.hub != "" {
		doc.Links = append(doc.Links, feeds.AtomLink{Href: ch.hub, Rel: "hub"})
	}
	for i := range ch.items {
		doc.Entries[i] = newAtomEntry(&ch.items[i])
	}
	return writeXML(w, &doc)
}

func newAtomEntry(it *item) *atomEntry {
	updated := it.updated
	if updated.IsZero() {
		updated = time.Unix(0, 0).UTC() // <updated> is required
	}
	e := &atomEntry{
		AtomEntry: &feeds.AtomEntry{
			Title:   it.title,
			Updated: updated.Format(time.RFC3339),
			Id:      it.id,
		},
	}
	if !it.published.IsZero() {
		e.Published = it.published.Format(time.RFC3339)
	}
	if it.link != "" {
		e.Links = append(e.Links, feeds.AtomLink{Href: it.link, Rel: "alternate"})
	}
	for _, enc := range it.enclosures {
		l := feeds.AtomLink{Href: enc.URL, Rel: "enclosure", Type: enc.Type}
		if enc.Length > 0 {
			l.Length = strconv.FormatInt(enc.Length, 10)
		}
		e.Links = append(e.Links, l)
	}
	if it.summary != "" {
		e.Summary = &feeds.AtomSummary{Content: it.summary, Type: "html"}
	}
	// Content repeating the summary is left out, unless it is needed:
	// an entry without an alternate link must have content (§4.1.1.1).
	switch {
	case it.content != "" && (it.content != it.summary || it.link == ""):
		e.Content = &feeds.AtomContent{Content: it.content, Type: "html"}
	case it.content == "" && it.link == "":
		e.Content = &feeds.AtomContent{Content: it.title, Type: "text"}
	}
	for _, p := range it.authors {
		e.Authors = append(e.Authors, &feeds.AtomAuthor{AtomPerson: feeds.AtomPerson{Name: cmp.Or(p.Name, p.Email), Email: p.Email}})
	}
	if len(e.Authors) == 0 {
		// A feed without an author needs one in every entry (RFC 4287
		// §4.1.1); the publication that carried the item is its author.
		e.Authors = []*feeds.AtomAuthor{{AtomPerson: feeds.AtomPerson{Name: it.sourceTitle}}}
	}
	for _, c := range it.categories {
		e.Categories = append(e.Categories, atomCategory{Term: c})
	}
	e.Source = &atomSource{Title: it.sourceTitle}
	if it.sourceFeed != "" {
		e.Source.ID = it.sourceFeed
		e.Source.Links = append(e.Source.Links, feeds.AtomLink{Href: it.sourceFeed, Rel: "self"})
	}
	if it.sourceLink != "" {
		e.Source.Links = append(e.Source.Links, feeds.AtomLink{Href: it.sourceLink, Rel: "alternate"})
	}
	if it.image != "" {
		e.Image = &mediaContent{URL: it.image, Medium: "image"}
	}
	return e
}
