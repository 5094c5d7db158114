package fetcher

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
	jsonfeed "github.com/mmcdole/gofeed/json"
	"golang.org/x/text/encoding/charmap"

	"github.com/tidings/tidings"
)

// FeedInfo describes a parsed feed itself.
type FeedInfo struct {
	Title    string // plain text
	SiteLink string // the feed's site link (RSS channel link, Atom alternate, JSON home_page_url), absolute
	Type     string // "rss", "atom" or "json"
	Version  string // as gofeed reports it, e.g. "2.0", "1.0", "1.1"
	// Hint is the poll interval the feed suggests: RSS ttl,
	// sy:updatePeriod/updateFrequency or half its items' average gap,
	// whichever is longest; zero if it suggests none.
	Hint time.Duration
	// SkipHours (bit h: hour h UTC) and SkipDays (bit d: weekday d) are
	// the RSS channel's skipHours and skipDays.
	SkipHours uint32
	SkipDays  uint8
}

// ParseBytes normalizes a feed body into items as Poll does, without any
// I/O: feedURL is the URL the body came from (the last resort for resolving
// relative links; it may be empty) and the clock is Options.Now.
//
// Items carry Source = src.Name and absolute links; items with no title,
// link, summary, content or enclosure are dropped, and of items sharing an
// identity (tidings.ItemID) the first is kept. A gzip-compressed body is
// decompressed first. The error wraps ErrNotAFeed, ErrParse or ErrTooLarge.
func (f *Fetcher) ParseBytes(src tidings.Source, feedURL string, body []byte) ([]tidings.Item, FeedInfo, error) {
	body, err := gunzipSniffed(body, f.opts.MaxBody) // as Poll does with what it reads
	if err != nil {
		return nil, FeedInfo{}, err
	}
	return f.parse(src, feedURL, "", body, f.opts.Now())
}

func (f *Fetcher) parse(src tidings.Source, feedURL, contentType string, body []byte, now time.Time) ([]tidings.Item, FeedInfo, error) {
	// gofeed detects the format in the first 4 KiB only; blank lines before
	// the document are a common publishing mistake.
	body = bytes.TrimLeft(body, " \t\r\n")
	body = transcode(body, contentType)
	feed, err := f.parseFeed(body)
	if err != nil {
		return nil, FeedInfo{}, classify(err, contentType, feedURL, body)
	}
	jf, _ := feed.OriginalFeed().(*jsonfeed.Feed)
	if jf != nil && len(jf.Items) == 0 && jf.Title == "" && !strings.Contains(jf.Version, "jsonfeed.org") {
		// Any JSON object "parses" as a JSON Feed; one with none of its
		// fields is some other JSON document.
		return nil, FeedInfo{}, &NotAFeedError{ContentType: contentType}
	}

	feedBase := baseURL(feedURL)
	info := FeedInfo{
		Title:    plainText(feed.Title),
		SiteLink: resolveRef(feedBase, strings.TrimSpace(feed.Link)),
		Type:     feed.FeedType,
		Version:  strings.TrimPrefix(feed.FeedVersion, "https://jsonfeed.org/version/"),
	}
	info.Hint, info.SkipHours, info.SkipDays = feedHint(feed)
	n := normalizer{
		src:  src,
		now:  now,
		base: feedBase,
		loc:  location(src.Timezone),
	}
	if site := baseURL(info.SiteLink); site != nil {
		n.base = site
	}
	n.feedAuthors = n.persons(feed.Authors)

	items := make([]tidings.Item, 0, len(feed.Items))
	seen := make(map[string]struct{}, len(feed.Items))
	for i, it := range feed.Items {
		if it == nil {
			continue
		}
		var orig *jsonfeed.Item
		if jf != nil && len(jf.Items) == len(feed.Items) {
			orig = jf.Items[i]
		}
		item, ok := n.item(it, orig)
		if !ok {
			continue
		}
		if _, dup := seen[item.ID]; dup {
			// Feeds reuse a GUID for distinct posts (a template bug, a
			// constant "1"): keep each distinct one under an identity
			// derived from its link and title; drop true repeats.
			item.ID += "#" + shortHash(item.Link, item.Title)
			if _, dup := seen[item.ID]; dup {
				continue
			}
		}
		seen[item.ID] = struct{}{}
		items = append(items, item)
	}
	return items, info, nil
}

// parseFeed runs gofeed, and on failure retries once with the body repaired
// for the two mistakes real feeds make most that gofeed does not forgive:
// Latin-1 bytes in a document that is meant to be UTF-8, and JSON Feed tags
// given as one string.
func (f *Fetcher) parseFeed(body []byte) (*gofeed.Feed, error) {
	feed, err := f.gofeed(body)
	if err == nil {
		return feed, nil
	}
	var fixed []byte
	var jerr *json.UnmarshalTypeError
	switch {
	case strings.Contains(err.Error(), "invalid UTF-8") && !utf8.Valid(body):
		fixed = fixUTF8(body)
	case errors.As(err, &jerr):
		fixed = fixJSONFeed(body)
	}
	if fixed != nil {
		if feed, err2 := f.gofeed(fixed); err2 == nil {
			return feed, nil
		}
	}
	// Then the heavier repairs, each tried on what the previous left.
	for _, repair := range repairs {
		r := repair(body)
		if r == nil {
			continue
		}
		body = r
		if feed, err2 := f.gofeed(body); err2 == nil && (len(feed.Items) > 0 || feed.Title != "") {
			return feed, nil
		}
	}
	return nil, err
}

// gofeed parses body, turning a panic of the parser on hostile input into
// an error so that one bad feed cannot stop the daemon.
func (f *Fetcher) gofeed(body []byte) (feed *gofeed.Feed, err error) {
	defer func() {
		if r := recover(); r != nil {
			feed, err = nil, fmt.Errorf("feed parser failed: %v", r)
		}
	}()
	return f.parser.Parse(bytes.NewReader(body))
}

// classify explains why body is no usable feed.
func classify(err error, contentType, feedURL string, body []byte) error {
	if !errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
		return newError(ErrParse, err, "parse feed: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return &NotAFeedError{ContentType: contentType, Empty: true}
	}
	if isHTML(contentType, body) {
		if contentType == "" {
			contentType = "text/html"
		}
		return &NotAFeedError{ContentType: contentType, HTML: true, Alternates: alternates(feedURL, body)}
	}
	return &NotAFeedError{ContentType: contentType}
}

// fixUTF8 decodes each byte that is not part of valid UTF-8 as Windows-1252
// (a superset of Latin-1's printable range), keeping the valid sequences:
// feeds that mix both are common, and this is how browsers read them.
func fixUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, charmap.Windows1252.DecodeByte(b[0]))
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}

// fixJSONFeed coerces the fields of a JSON Feed that publishers get wrong
// into their specified types; nil if there was nothing to fix.
func fixJSONFeed(body []byte) []byte {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil
	}
	changed := fixAuthors(doc)
	items, _ := doc["items"].([]any)
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		changed = fixAuthors(m) || changed
		switch tags := m["tags"].(type) {
		case string: // "a,b,c"
			var list []any
			for t := range strings.SplitSeq(tags, ",") {
				if t = strings.TrimSpace(t); t != "" {
					list = append(list, t)
				}
			}
			m["tags"], changed = list, true
		case []any:
			for i, t := range tags {
				if _, ok := t.(string); !ok {
					tags[i], changed = fmt.Sprint(t), true
				}
			}
		}
	}
	if !changed {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil
	}
	return out
}

// fixAuthors turns an author given as a bare name into an author object,
// and a single authors object into a list.
func fixAuthors(m map[string]any) bool {
	changed := false
	if s, ok := m["author"].(string); ok {
		m["author"], changed = map[string]any{"name": s}, true
	}
	switch a := m["authors"].(type) {
	case string:
		m["authors"], changed = []any{map[string]any{"name": a}}, true
	case map[string]any:
		m["authors"], changed = []any{a}, true
	}
	return changed
}

// normalizer turns gofeed items of one feed into tidings items.
type normalizer struct {
	src         tidings.Source
	now         time.Time
	base        *url.URL       // for relative links: site link, else feed URL; nil if neither is absolute
	loc         *time.Location // for dates given without a zone; nil keeps them UTC
	feedAuthors []tidings.Person
}

func (n *normalizer) item(it *gofeed.Item, orig *jsonfeed.Item) (tidings.Item, bool) {
	guid := strings.TrimSpace(it.GUID)
	rawLink := strings.TrimSpace(it.Link)
	for _, l := range it.Links {
		if rawLink != "" {
			break
		}
		rawLink = strings.TrimSpace(l)
	}
	if rawLink == "" && (strings.HasPrefix(guid, "http://") || strings.HasPrefix(guid, "https://")) {
		// An RSS guid is a permalink unless isPermaLink="false"; it is the
		// best link there is when <link> is missing.
		rawLink = guid
	}

	summary := strings.TrimSpace(it.Description)
	content := strings.TrimSpace(it.Content)
	if orig != nil {
		// JSON Feed allows HTML only in content_html; the summary and
		// content_text are plain text, while Item holds HTML.
		summary = html.EscapeString(summary)
		if orig.ContentHTML == "" {
			content = textToHTML(strings.TrimSpace(orig.ContentText))
		}
	}

	out := tidings.Item{
		Source:     n.src.Name,
		Title:      plainText(it.Title),
		Link:       resolveRef(n.base, rawLink),
		Summary:    resolveHTML(n.base, summary),
		Content:    resolveHTML(n.base, content),
		Enclosures: n.enclosures(it.Enclosures),
		FirstSeen:  n.now,
	}
	if out.Title == "" && out.Link == "" && out.Summary == "" && out.Content == "" && len(out.Enclosures) == 0 {
		return out, false
	}

	if it.PublishedParsed == nil {
		it.PublishedParsed = parseOddDate(it.Published)
	}
	if it.UpdatedParsed == nil {
		it.UpdatedParsed = parseOddDate(it.Updated)
	}
	var published time.Time
	if it.PublishedParsed != nil {
		published = n.inZone(*it.PublishedParsed, it.Published)
	}
	if it.UpdatedParsed != nil {
		out.Updated = n.inZone(*it.UpdatedParsed, it.Updated)
	}
	// Identity uses the feed's own values, not the normalized ones, so it
	// stays stable when the feed moves or our normalization changes.
	out.ID = tidings.ItemID(guid, rawLink, it.Title, published)
	out.Published = published
	if out.Published.IsZero() {
		out.Published = out.Updated
	}
	if out.Published.IsZero() || out.Published.After(n.now.Add(futureSlack)) {
		out.Published = n.now
	}

	out.CanonicalLink = tidings.CanonicalURL(out.Link)
	out.Authors = n.persons(it.Authors)
	if len(out.Authors) == 0 {
		out.Authors = n.feedAuthors // Atom: entries inherit the feed's authors
	}
	out.Categories = categories(it.Categories)
	if it.Image != nil {
		out.Image = resolveRef(n.base, strings.TrimSpace(it.Image.URL))
	}
	return out, true
}

func (n *normalizer) persons(in []*gofeed.Person) []tidings.Person {
	var out []tidings.Person
	for _, p := range in {
		if p == nil {
			continue
		}
		q := tidings.Person{Name: plainText(p.Name), Email: strings.TrimSpace(p.Email)}
		if q == (tidings.Person{}) || slices.Contains(out, q) {
			continue
		}
		out = append(out, q)
	}
	return out
}

func (n *normalizer) enclosures(in []*gofeed.Enclosure) []tidings.Enclosure {
	var out []tidings.Enclosure
	for _, e := range in {
		if e == nil {
			continue
		}
		u := resolveRef(n.base, strings.TrimSpace(e.URL))
		if u == "" || containsURL(out, u) {
			continue
		}
		length, err := strconv.ParseInt(strings.TrimSpace(e.Length), 10, 64)
		if err != nil || length < 0 {
			length = 0
		}
		out = append(out, tidings.Enclosure{URL: u, Type: strings.TrimSpace(e.Type), Length: length})
	}
	return out
}

// inZone reads a date that its feed gave without a zone in the source's
// configured zone instead of UTC. gofeed returns exactly those dates, and
// the ones with a zero offset or a UTC zone name (told apart by raw), in
// time.UTC.
func (n *normalizer) inZone(t time.Time, raw string) time.Time {
	if n.loc == nil || t.Location() != time.UTC || hasUTCZone(raw) {
		return t.UTC()
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), n.loc).UTC()
}

func hasUTCZone(raw string) bool {
	s := strings.ToUpper(strings.TrimSpace(raw))
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, " UT") || strings.HasSuffix(s, "+00") {
		return true
	}
	for _, z := range []string{"UTC", "GMT", "+0000", "+00:00", "-0000", "-00:00"} {
		if strings.Contains(s, z) {
			return true
		}
	}
	return false
}

var locations sync.Map // zone name → *time.Location, or nil for an unknown name

// location loads an IANA zone once; an unknown name gives nil (UTC), as
// configuration validation is where a bad name is reported.
func location(name string) *time.Location {
	if name == "" {
		return nil
	}
	if v, ok := locations.Load(name); ok {
		return v.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
	}
	locations.Store(name, loc)
	return loc
}

// categories trims, drops empty and case-insensitively repeated categories,
// keeping the first spelling.
func categories(in []string) []string {
	var out []string
	for _, c := range in {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		dup := false
		for _, o := range out {
			if strings.EqualFold(o, c) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, c)
		}
	}
	return out
}

func containsURL(es []tidings.Enclosure, u string) bool {
	for _, e := range es {
		if e.URL == u {
			return true
		}
	}
	return false
}

// textToHTML renders plain text as HTML paragraphs, keeping line breaks.
func textToHTML(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	for p := range strings.SplitSeq(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(html.EscapeString(p), "\n", "<br>"))
		b.WriteString("</p>")
	}
	return b.String()
}
