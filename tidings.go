// Package tidings holds the domain types that the fetcher, the store and the
// feed publisher share: sources, their polling state, items and topics.
//
// It imports nothing of the project's own, so that every other package can
// depend on it while fetcher, storage and feeds stay independent of each other.
package tidings

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
)

// Version is the release of Tidings. The binary prints main.version, which
// starts as this and can be set with -ldflags "-X main.version=…" at build time.
const Version = "1.0.0"

// Source is one feed to poll, as configured.
type Source struct {
	Name     string            // unique slug
	URL      string            // http(s):// or file:// (already resolved to an absolute path)
	Title    string            // optional; else the feed's own title
	Tags     []string          // used by topics to select sources
	Interval time.Duration     // poll interval; zero means the fetch default
	Headers  map[string]string // extra request headers, after ${VAR} expansion
	Timezone string            // optional IANA zone for dates given without one
}

// SourceState is what Tidings remembers about a source between polls.
type SourceState struct {
	Name         string    `json:"name"`
	SourceURL    string    `json:"source_url,omitempty"` // the configured URL that URL was reached from
	URL          string    `json:"url,omitempty"`        // URL in use (after permanent redirects)
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Title        string    `json:"title,omitempty"`     // the feed's own title
	SiteLink     string    `json:"site_link,omitempty"` // the feed's own site link
	LastPoll     time.Time `json:"last_poll,omitzero"`
	LastSuccess  time.Time `json:"last_success,omitzero"`
	LastError    string    `json:"last_error,omitempty"` // empty after a successful poll
	LastErrorAt  time.Time `json:"last_error_at,omitzero"`
	Failures     int       `json:"failures,omitempty"` // consecutive failed polls, for backoff
	RetryAfter   time.Time `json:"retry_after,omitzero"`
	NextPoll     time.Time `json:"next_poll,omitzero"`

	// ErrorKind classifies LastError in one word for status displays and
	// alerts: timeout, dns, tls, connect, request, status, challenge,
	// too_large, not_a_feed, parse, redirect, denied, url.
	ErrorKind string `json:"error_kind,omitempty"`
	// BodyHash is the SHA-256 of the last body parsed, so an unchanged body
	// behind broken validators is not parsed again.
	BodyHash string `json:"body_hash,omitempty"`
	// LastUnconditional is when a request last went out without validators;
	// one is forced every 12h, since some servers' validators lie.
	LastUnconditional time.Time `json:"last_unconditional,omitzero"`
	// Conditional says how the server answers conditional requests:
	// "304" (it does), "none" (it sends no validators) or "ignored" (it
	// sends validators but answers an unchanged feed with 200 anyway).
	Conditional string `json:"conditional,omitempty"`
	// AvgLatencyMS is a moving average of the request time, in milliseconds.
	AvgLatencyMS int64 `json:"avg_latency_ms,omitempty"`
	// Interval is the poll interval in use after the feed's own hints and
	// observed item frequency were applied (never below the configured one).
	Interval time.Duration `json:"interval,omitempty"`
	// FeedHint is the interval the feed body suggests (RSS ttl,
	// sy:updatePeriod, item frequency), kept for polls answered with 304.
	FeedHint time.Duration `json:"feed_hint,omitempty"`
	// SkipHours and SkipDays are the RSS channel's skipHours and skipDays
	// as bit sets (bit h: hour h UTC; bit d: weekday d, 0 = Sunday): no
	// poll is scheduled in them. Bit sets keep SourceState comparable.
	SkipHours uint32 `json:"skip_hours,omitempty"`
	SkipDays  uint8  `json:"skip_days,omitempty"`
}

// Item is one entry of a feed, normalized. Links are absolute; Summary and
// Content are HTML as the publisher gave them (sanitized only on output).
type Item struct {
	Source        string      `json:"source"`
	ID            string      `json:"id"` // identity within the source, see ItemID
	Title         string      `json:"title,omitempty"`
	Link          string      `json:"link,omitempty"`
	CanonicalLink string      `json:"canonical_link,omitempty"` // see CanonicalURL
	Summary       string      `json:"summary,omitempty"`
	Content       string      `json:"content,omitempty"`
	Authors       []Person    `json:"authors,omitempty"`
	Categories    []string    `json:"categories,omitempty"`
	Enclosures    []Enclosure `json:"enclosures,omitempty"`
	Image         string      `json:"image,omitempty"`
	Published     time.Time   `json:"published,omitzero"`
	Updated       time.Time   `json:"updated,omitzero"`
	FirstSeen     time.Time   `json:"first_seen,omitzero"`
	// Fingerprint is a near-duplicate fingerprint of the title and text
	// (SimHash, see package dedupe), set by the store on ingest; 0 means
	// the item is too short to have one.
	Fingerprint uint64 `json:"fingerprint,omitempty"`
}

// Person is an author of an item.
type Person struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// Enclosure is a media file attached to an item (a podcast episode).
type Enclosure struct {
	URL    string `json:"url"`
	Type   string `json:"type,omitempty"`
	Length int64  `json:"length,omitempty"`
}

// Topic is a filtered view across sources, published as a feed.
type Topic struct {
	Name        string   // slug: the feed's URL path
	Title       string   // defaults to Name
	Description string   //
	Query       string   // query language text; empty matches everything
	Tags        []string // only sources with one of these tags (either this or Sources)
	Sources     []string // only these sources
	Limit       int      // items in the published feed
	// Dedupe is how copies of one story from different sources are merged:
	// DedupeStrict (also near-duplicates by fingerprint, the default when
	// empty), DedupeLinks (equal canonical links only) or DedupeOff.
	Dedupe string
}

// Values of Topic.Dedupe.
const (
	DedupeStrict = "strict"
	DedupeLinks  = "links"
	DedupeOff    = "off"
)

// ItemID returns the identity of an item within its source (DESIGN §5.1):
// the feed's GUID, else its link, else a hash of title and published date.
func ItemID(guid, link, title string, published time.Time) string {
	if g := strings.TrimSpace(guid); g != "" {
		return g
	}
	if l := strings.TrimSpace(link); l != "" {
		return l
	}
	sum := sha256.New()
	sum.Write([]byte(strings.TrimSpace(title)))
	sum.Write([]byte{0})
	if !published.IsZero() {
		sum.Write([]byte(published.UTC().Format(time.RFC3339)))
	}
	return "sha256:" + hex.EncodeToString(sum.Sum(nil))[:32]
}

// trackingParams are query parameters that identify a campaign, not a page.
var trackingParams = map[string]bool{
	"fbclid": true, "gclid": true, "mc_cid": true, "mc_eid": true, "ref": true,
}

// CanonicalURL returns the link under which copies of one story from
// different sources compare equal (DESIGN §5.2): lower-case scheme and host,
// no default port, no fragment, no tracking parameters, no trailing slash on
// the path. A string that is not an absolute URL is returned trimmed.
func CanonicalURL(raw string) string {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return raw
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	u.Host = host
	u.Fragment = ""
	u.RawFragment = ""
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if strings.HasPrefix(strings.ToLower(k), "utm_") || trackingParams[strings.ToLower(k)] {
				q.Del(k)
			}
		}
		u.RawQuery = q.Encode() // sorted, so parameter order does not matter
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u.String()
}
