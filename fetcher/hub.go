package fetcher

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// hubScanLimit bounds how much of a feed is read for hub links: they stand
// in the feed's head, before the first item.
const hubScanLimit = 64 << 10

// discoverHub returns the WebSub hub and self URLs a feed advertises
// (WebSub §4): the HTTP Link header wins, then <link rel="hub"> in Atom or
// <atom:link rel="hub"> in RSS, or "hubs" and "feed_url" in a JSON Feed.
// Relative URLs are resolved against base. Either may be empty.
func discoverHub(h http.Header, body []byte, base string) (hub, self string) {
	hub, self = linkHeader(h)
	if hub == "" || self == "" {
		var bh, bs string
		if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' {
			bh, bs = jsonHub(t)
		} else {
			bh, bs = xmlHub(body)
		}
		if hub == "" {
			hub = bh
		}
		if self == "" {
			self = bs
		}
	}
	return httpRef(base, hub), httpRef(base, self)
}

// linkHeader reads rel="hub" and rel="self" from Link headers.
func linkHeader(h http.Header) (hub, self string) {
	for _, v := range h.Values("Link") {
		for part := range strings.SplitSeq(v, ",") {
			target, params, ok := strings.Cut(part, ";")
			if !ok {
				continue
			}
			target = strings.Trim(strings.TrimSpace(target), "<>")
			for p := range strings.SplitSeq(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if !strings.EqualFold(k, "rel") {
					continue
				}
				for rel := range strings.FieldsSeq(strings.Trim(val, `"`)) {
					switch strings.ToLower(rel) {
					case "hub":
						if hub == "" {
							hub = target
						}
					case "self":
						if self == "" {
							self = target
						}
					}
				}
			}
		}
	}
	return hub, self
}

// xmlHub reads the feed-level link elements up to the first item or entry.
func xmlHub(body []byte) (hub, self string) {
	d := xml.NewDecoder(io.LimitReader(bytes.NewReader(body), hubScanLimit))
	d.Strict = false
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	for {
		tok, err := d.Token()
		if err != nil {
			return hub, self
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "item", "entry":
			return hub, self
		case "link":
			var rel, href string
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "rel":
					rel = strings.ToLower(a.Value)
				case "href":
					href = strings.TrimSpace(a.Value)
				}
			}
			if rel == "hub" && hub == "" {
				hub = href
			}
			if rel == "self" && self == "" {
				self = href
			}
		}
	}
}

// jsonHub reads a JSON Feed's hubs and feed_url.
func jsonHub(body []byte) (hub, self string) {
	var f struct {
		FeedURL string `json:"feed_url"`
		Hubs    []struct {
			Type string `json:"type"`
			URL  string `json:"url"`
		} `json:"hubs"`
	}
	if json.Unmarshal(body, &f) != nil {
		return "", ""
	}
	for _, h := range f.Hubs {
		if strings.EqualFold(h.Type, "websub") || strings.EqualFold(h.Type, "pubsubhubbub") || h.Type == "" {
			return h.URL, f.FeedURL
		}
	}
	return "", f.FeedURL
}

// httpRef resolves ref against base and keeps it only if it is http(s):
// a hub is something Tidings will POST to.
func httpRef(base, ref string) string {
	if ref == "" {
		return ""
	}
	b, err := url.Parse(base)
	if err != nil {
		return ""
	}
	r, err := b.Parse(ref)
	if err != nil || (r.Scheme != "http" && r.Scheme != "https") {
		return ""
	}
	return r.String()
}
