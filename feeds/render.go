package feeds

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/tidings/tidings"
)

// ErrBaseURL is returned when Meta.BaseURL is not an absolute http(s) URL:
// published feeds must carry absolute links.
var ErrBaseURL = errors.New("feeds: base URL must be an absolute http(s) URL")

// Meta describes the published feed around the entries.
type Meta struct {
	BaseURL     string            // e.g. http://localhost:8080 (a trailing slash is ignored)
	SiteTitle   string            // title of the index page and the OPML list; default "Tidings"
	SourceTitle map[string]string // source name → display title (config title, else feed title, else name)
	SourceLink  map[string]string // source name → its site link (optional)
	// SourceFeed maps a source name to the URL of its feed (optional). RSS
	// <source url> wants it; without an http(s) one the site link is used,
	// and without either the element is left out. file:// URLs are never
	// published.
	SourceFeed map[string]string
	Generator  string // "Tidings 1.0.0"
	// Hub is the WebSub hub every topic feed advertises (rel="hub"); empty
	// for none.
	Hub string
}

// siteTitle returns the index page and OPML title.
func (m Meta) siteTitle() string {
	if m.SiteTitle != "" {
		return m.SiteTitle
	}
	return "Tidings"
}

// base returns BaseURL without a trailing slash, or ErrBaseURL.
func (m Meta) base() (string, error) {
	b := strings.TrimRight(m.BaseURL, "/")
	if absURL(b) == "" {
		return "", fmt.Errorf("%w, not %q", ErrBaseURL, m.BaseURL)
	}
	return b, nil
}

// sourceTitle returns a source's display title, else its name.
func (m Meta) sourceTitle(name string) string {
	if t := m.SourceTitle[name]; t != "" {
		return t
	}
	return name
}

// Render writes the topic feed in format f. The output depends only on its
// input — nothing reads the clock: the feed's updated time is LastUpdated
// of the entries — so that an ETag derived from the bytes is stable.
// HTML is sanitized, titles are plain text, characters illegal in XML are
// removed and only absolute http(s) links are published.
//
// Render writes as it goes; render into a buffer to serve or cache the bytes.
func Render(w io.Writer, t *Topic, entries []Entry, f Format, m Meta) error {
	base, err := m.base()
	if err != nil {
		return err
	}
	ch := channel{
		title:       clean(t.Title),
		description: clean(t.Description),
		home:        base + "/",
		self:        FeedURL(base, t.Name, f),
		hub:         absURL(m.Hub),
		generator:   clean(m.Generator),
		updated:     LastUpdated(entries),
		items:       make([]item, len(entries)),
	}
	if ch.description == "" {
		// RSS requires a description and readers show it as a subtitle.
		ch.description = ch.title
	}
	for i := range entries {
		ch.items[i] = prepare(&entries[i], m)
	}
	switch f {
	case RSS:
		err = writeRSS(w, &ch)
	case Atom:
		err = writeAtom(w, &ch)
	case JSON:
		err = writeJSON(w, &ch)
	default:
		return fmt.Errorf("feeds: render %q: unknown format %d", t.Name, int(f))
	}
	if err != nil {
		return fmt.Errorf("feeds: render %q as %s: %w", t.Name, f, err)
	}
	return nil
}

// LastUpdated returns the latest published or updated time among the
// entries (in UTC, whole seconds), or the Unix epoch when there are none. It
// is the feed's updated time and a natural Last-Modified.
func LastUpdated(entries []Entry) time.Time {
	var last time.Time
	for i := range entries {
		it := &entries[i].Item
		last = maxTime(last, published(it), it.Updated)
	}
	if last.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return last.UTC().Truncate(time.Second)
}

// ItemGUID returns the published id of an item: "urn:tidings:" and the first
// 32 hex digits of sha256(source, NUL, id). It is stable across renders and
// formats and unique per source and item, and, unlike the item's own id or
// link, it is always a valid IRI of fixed length.
func ItemGUID(source, id string) string {
	sum := sha256.Sum256([]byte(source + "\x00" + id))
	return "urn:tidings:" + hex.EncodeToString(sum[:])[:32]
}

// channel is a feed prepared for output: every string is clean, every link
// absolute, every HTML fragment sanitized, so the writers only map fields.
type channel struct {
	title, description string
	home, self, hub    string
	generator          string
	updated            time.Time
	items              []item
}

// item is an entry prepared for output.
type item struct {
	id          string
	title       string // plain text
	link        string // absolute or empty
	summary     string // sanitized HTML
	summaryText string // plain text, for JSON Feed's summary
	content     string // sanitized HTML, with the also-reported-by credit
	authors     []tidings.Person
	categories  []string
	enclosures  []tidings.Enclosure // absolute URLs only
	image       string
	published   time.Time // UTC, whole seconds
	updated     time.Time // max(published, updated)
	source      string
	sourceTitle string
	sourceLink  string // absolute or empty
	sourceFeed  string // absolute or empty
	alsoIn      []string
}

// ugc keeps user-generated HTML: no scripts, event handlers, javascript:
// links, iframes or styles. text strips every tag. Both are safe for
// concurrent use once built.
var (
	ugc  = bluemonday.UGCPolicy()
	text = bluemonday.StrictPolicy().AddSpaceWhenStrippingTag(true)
)

// prepare sanitizes one entry once for whichever format is written.
func prepare(e *Entry, m Meta) item {
	it := &e.Item
	out := item{
		id:          ItemGUID(it.Source, it.ID),
		title:       plainText(it.Title),
		link:        absURL(it.Link),
		summary:     publishable(it.Summary, it.Link),
		content:     publishable(it.Content, it.Link),
		image:       absURL(it.Image),
		published:   published(it).UTC().Truncate(time.Second),
		source:      clean(it.Source),
		sourceTitle: clean(m.sourceTitle(it.Source)),
		sourceLink:  absURL(m.SourceLink[it.Source]),
		sourceFeed:  absURL(m.SourceFeed[it.Source]),
	}
	out.updated = maxTime(out.published, it.Updated.UTC().Truncate(time.Second))
	if out.content == "" {
		// Readers that show only the full content should still show something.
		out.content = out.summary
	}
	out.summaryText = plainText(it.Summary)
	if out.summaryText == "" && it.Summary == "" {
		out.summaryText = summarized.get(it.Content)
	}
	if out.title == "" {
		// RSS allows an untitled item, Atom and most readers do not.
		out.title = cmp.Or(truncateRunes(out.summaryText, 100), out.link, "(untitled)")
	}
	for _, p := range it.Authors {
		if p := (tidings.Person{Name: plainText(p.Name), Email: clean(p.Email)}); p != (tidings.Person{}) {
			out.authors = append(out.authors, p)
		}
	}
	for _, c := range it.Categories {
		if c = plainText(c); c != "" {
			out.categories = append(out.categories, c)
		}
	}
	for _, enc := range it.Enclosures {
		if u := absURL(enc.URL); u != "" {
			out.enclosures = append(out.enclosures, tidings.Enclosure{URL: u, Type: clean(enc.Type), Length: max(enc.Length, 0)})
		}
	}
	if len(e.AlsoIn) > 0 {
		titles := make([]string, len(e.AlsoIn))
		for i, name := range e.AlsoIn {
			out.alsoIn = append(out.alsoIn, clean(name))
			titles[i] = html.EscapeString(clean(m.sourceTitle(name)))
		}
		out.content += "<p>Also reported by: " + strings.Join(titles, ", ") + "</p>"
	}
	return out
}

// memoSize bounds each memo: enough for the summary and content of every
// item of a few dozen 50-item topics; a few MB of strings at most.
const memoSize = 4096

// sanitized and stripped remember sanitize's and plainText's work on
// markup, so an item is sanitized once, not once per format and render;
// linked and summarized remember what prepare makes of an item's HTML
// from them (tokenizing it again to resolve links, gathering its first
// words), which was most of a render once sanitizing was remembered.
var (
	sanitized  = newMemo(memoSize, func(s string) string { return strings.TrimSpace(clean(ugc.Sanitize(clean(s)))) })
	stripped   = newMemo(memoSize, func(s string) string { return html.UnescapeString(text.Sanitize(clean(s))) })
	linked     = newMemo(memoSize, func(k linkedKey) string { return absoluteLinks(sanitize(k.html), k.base) })
	summarized = newMemo(memoSize, func(s string) string { return plainPrefix(s, summaryLen) })
)

// linkedKey is an item's HTML and the link its relative URLs resolve against.
type linkedKey struct{ html, base string }

// publishable returns s sanitized, its links made absolute against base.
func publishable(s, base string) string {
	if s == "" {
		return ""
	}
	return linked.get(linkedKey{s, base})
}

// summaryLen is how many characters of an item's text stand for a summary
// it does not have.
const summaryLen = 300

// sanitize returns publishable HTML.
func sanitize(s string) string {
	if s == "" {
		return ""
	}
	return sanitized.get(s)
}

// plainText strips tags, decodes entities and collapses white space.
func plainText(s string) string {
	if s == "" {
		return ""
	}
	if strings.ContainsAny(s, "<&") {
		s = stripped.get(s)
	}
	return strings.Join(strings.Fields(clean(s)), " ")
}

// plainPrefix is truncateRunes(plainText(s), n), without collapsing the
// white space of all of s first: a summary needs the start of an article,
// and joining every word of a long one was a tenth of a feed's render.
func plainPrefix(s string, n int) string {
	if s == "" {
		return ""
	}
	if strings.ContainsAny(s, "<&") {
		s = stripped.get(s)
	}
	var b strings.Builder
	runes := 0
	// truncateRunes reads the first n runes and whether there are more:
	// the words up to the first that passes n tell both.
	for w := range strings.FieldsSeq(clean(s)) {
		if runes > 0 {
			b.WriteByte(' ')
			runes++
		}
		b.WriteString(w)
		if runes += utf8.RuneCountInString(w); runes > n {
			break
		}
	}
	return truncateRunes(b.String(), n)
}

// clean makes s valid UTF-8 without characters that XML 1.0 forbids
// (C0 controls other than tab, newline and carriage return; U+FFFE, U+FFFF;
// surrogates). encoding/xml escapes these in text, but not in CDATA, and a
// reader should not see them in any format.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || !xmlChar(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if xmlChar(r) {
			return r
		}
		return -1
	}, s)
}

// xmlChar reports whether r is a Char of XML 1.0.
func xmlChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD ||
		(r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) ||
		(r >= 0x10000 && r <= 0x10FFFF)
}

// absURL returns s trimmed if it is an absolute http(s) URL, else "". Only
// such links mean the same thing in every reader.
func absURL(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return clean(s)
}

// truncateRunes shortens s to at most n runes, at a word boundary where it
// can, and marks the cut with an ellipsis.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return cut + "…"
}

// maxTime returns the latest of the times.
func maxTime(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}
