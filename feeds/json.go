package feeds

import (
	"cmp"
	"encoding/json"
	"io"

	"github.com/gorilla/feeds"
)

// jsonFeed extends gorilla/feeds' JSONFeed, which already writes version 1.1
// and "authors", where it falls short: it leaves out "items" when there are
// none (the spec requires the array), names the attachment size "size"
// instead of "size_in_bytes" and limits it to 32 bits, and has no room for
// Tidings' "_tidings" extension. Outer fields shadow the embedded ones of the
// same JSON name.
type jsonFeed struct {
	*feeds.JSONFeed
	Hubs  []jsonHub   `json:"hubs,omitempty"`
	Items []*jsonItem `json:"items"`
}

// jsonHub is a JSON Feed 1.1 "hubs" entry: where to subscribe for pushes.
type jsonHub struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

type jsonItem struct {
	*feeds.JSONItem
	Attachments []jsonAttachment `json:"attachments,omitempty"`
	Tidings     jsonExtension    `json:"_tidings"`
}

type jsonAttachment struct {
	URL      string `json:"url"`
	MIMEType string `json:"mime_type"`
	Size     int64  `json:"size_in_bytes,omitempty"`
}

// jsonExtension tells JSON Feed readers which source carried the item; an
// extension's name starts with an underscore (JSON Feed 1.1, "Extensions").
type jsonExtension struct {
	Source      string   `json:"source"`
	SourceTitle string   `json:"source_title,omitempty"`
	SourceURL   string   `json:"source_url,omitempty"`
	AlsoIn      []string `json:"also_in,omitempty"`
}

func writeJSON(w io.Writer, ch *channel) error {
	doc := jsonFeed{
		JSONFeed: &feeds.JSONFeed{
			Version:     "https://jsonfeed.org/version/1.1",
			Title:       ch.title,
			HomePageUrl: ch.home,
			FeedUrl:     ch.self,
			Description: ch.description,
		},
		Items: make([]*jsonItem, len(ch.items)),
	}
	if ch.hub != "" {
		doc.Hubs = []jsonHub{{Type: "WebSub", URL: ch.hub}}
	}
	for i := range ch.items {
		doc.Items[i] = newJSONItem(&ch.items[i])
	}
	enc := json.NewEncoder(w)
	// Content is HTML: escaping every < and > as \u003c would only bloat it.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(&doc)
}

func newJSONItem(it *item) *jsonItem {
	j := &jsonItem{
		JSONItem: &feeds.JSONItem{
			Id:          it.id,
			Url:         it.link,
			Title:       it.title,
			ContentHTML: it.content,
			Summary:     it.summaryText, // plain text in JSON Feed
			Image:       it.image,
			Tags:        it.categories,
		},
		Tidings: jsonExtension{
			Source:      it.source,
			SourceTitle: it.sourceTitle,
			SourceURL:   it.sourceLink,
			AlsoIn:      it.alsoIn,
		},
	}
	if j.ContentHTML == "" {
		// An item needs content_html or content_text; the title is all there is.
		j.ContentText = it.title
	}
	if !it.published.IsZero() {
		j.PublishedDate = &it.published
	}
	if it.updated.After(it.published) {
		j.ModifiedDate = &it.updated
	}
	for _, p := range it.authors {
		a := &feeds.JSONAuthor{Name: cmp.Or(p.Name, p.Email)}
		if p.Email != "" {
			a.Url = "mailto:" + p.Email // the spec's way to give an address
		}
		j.Authors = append(j.Authors, a)
	}
	if len(j.Authors) > 0 {
		// "author" is deprecated in 1.1 but 1.0 readers know only it.
		j.Author = j.Authors[0]
	}
	for _, e := range it.enclosures {
		j.Attachments = append(j.Attachments, jsonAttachment{URL: e.URL, MIMEType: cmp.Or(e.Type, "application/octet-stream"), Size: e.Length})
	}
	return j
}
