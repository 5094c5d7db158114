package feeds

import (
	"net/url"
	"strings"
)

// Format is a published feed format.
type Format int

// The published formats, in the order the index page offers them.
const (
	RSS  Format = iota // RSS 2.0
	Atom               // Atom 1.0 (RFC 4287)
	JSON               // JSON Feed 1.1
)

// Formats lists every published format, in the order the index page offers them.
var Formats = []Format{RSS, Atom, JSON}

// ParseFormat returns the format for a file extension or a --format value:
// "rss", "atom" or "json", with or without a leading dot, in any case.
func ParseFormat(ext string) (Format, bool) {
	switch strings.ToLower(strings.TrimPrefix(ext, ".")) {
	case "rss":
		return RSS, true
	case "atom":
		return Atom, true
	case "json":
		return JSON, true
	}
	return 0, false
}

// Ext returns the file extension of the format without a dot: "rss", "atom" or "json".
func (f Format) Ext() string {
	switch f {
	case Atom:
		return "atom"
	case JSON:
		return "json"
	}
	return "rss"
}

// String returns the extension, so that a Format prints as users type it.
func (f Format) String() string { return f.Ext() }

// MediaType returns the format's MIME type without parameters, as used in
// <link rel="alternate" type=...> and OPML.
func (f Format) MediaType() string {
	switch f {
	case Atom:
		return "application/atom+xml"
	case JSON:
		return "application/feed+json"
	}
	return "application/rss+xml"
}

// ContentType returns the HTTP Content-Type of the format, charset included.
func (f Format) ContentType() string { return f.MediaType() + "; charset=utf-8" }

// label is the human name of the format, for link titles.
func (f Format) label() string {
	switch f {
	case Atom:
		return "Atom"
	case JSON:
		return "JSON Feed"
	}
	return "RSS"
}

// FeedURL returns the absolute URL of a topic feed:
// baseURL + "/topics/" + name + "." + ext. A trailing slash on baseURL is
// ignored and the name is path-escaped.
func FeedURL(baseURL, name string, f Format) string {
	return strings.TrimRight(baseURL, "/") + "/topics/" + url.PathEscape(name) + "." + f.Ext()
}
