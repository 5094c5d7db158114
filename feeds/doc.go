// Package feeds publishes stored items as topic feeds.
//
// A topic (tidings.Topic) is compiled once with Compile: its query is parsed
// and its tags are turned into the set of sources it draws from. A Selector
// then takes the store's items newest first, keeps those the topic matches
// and lists each story once when several sources carry it (DESIGN §4–5).
// Render writes the entries as RSS 2.0, Atom 1.0 or JSON Feed 1.1, with HTML
// sanitized and ids that stay the same from one render to the next;
// WriteIndex and WriteOPML write the HTML index page and the OPML list of
// topic feeds.
//
// Nothing here reads the clock, so the same items always render to the same
// bytes and an ETag taken from them is stable: a topic whose query has an
// age: term counts from the time given to Selector.At or Topic.MatchAt
// (only the convenience Topic.Match uses time.Now). The package imports neither
// the store nor the fetcher: it works on tidings.Item values only.
package feeds
