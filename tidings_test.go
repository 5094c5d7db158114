package tidings

import (
	"strings"
	"testing"
	"time"
)

func TestCanonicalURL(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"tracking parameters": {
			"https://example-wire.org/2026/03/12/usmca-review?utm_source=rss&utm_medium=feed",
			"https://example-wire.org/2026/03/12/usmca-review",
		},
		"every listed tracker": {
			"http://a.org/x?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&ref=5&UTM_Campaign=6&id=7",
			"http://a.org/x?id=7",
		},
		"case of scheme and host, not path": {"HTTPS://Example.ORG/Path/Page", "https://example.org/Path/Page"},
		"default ports":                     {"http://a.org:80/x", "http://a.org/x"},
		"default https port":                {"https://a.org:443/x", "https://a.org/x"},
		"other port kept":                   {"http://a.org:8080/x", "http://a.org:8080/x"},
		"fragment":                          {"https://a.org/post#comments", "https://a.org/post"},
		"trailing slash":                    {"https://a.org/news/", "https://a.org/news"},
		"root":                              {"https://a.org/", "https://a.org"},
		"parameter order":                   {"https://a.org/x?b=2&a=1", "https://a.org/x?a=1&b=2"},
		"ipv6 host":                         {"http://[::1]:80/x", "http://[::1]/x"},
		"not absolute":                      {" /relative/path ", "/relative/path"},
		"empty":                             {"", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := CanonicalURL(tc.in); got != tc.want {
				t.Errorf("CanonicalURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestItemID(t *testing.T) {
	date := time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC)
	hashed := ItemID("", "", "Title", date)
	tests := map[string]struct {
		guid, link, title string
		published         time.Time
		want              string
	}{
		"guid wins":          {"  urn:x:1 ", "https://a.org/1", "T", date, "urn:x:1"},
		"else link":          {"", "https://a.org/1", "T", date, "https://a.org/1"},
		"else hash":          {"", " ", "Title", date, hashed},
		"hash ignores zone":  {"", "", "Title", date.In(time.FixedZone("X", 3600)), hashed},
		"hash ignores space": {"", "", " Title ", date, hashed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ItemID(tc.guid, tc.link, tc.title, tc.published); got != tc.want {
				t.Errorf("ItemID = %q, want %q", got, tc.want)
			}
		})
	}
	if !strings.HasPrefix(hashed, "sha256:") {
		t.Errorf("hashed id %q lacks its prefix", hashed)
	}
	for _, other := range []string{
		ItemID("", "", "Other title", date),
		ItemID("", "", "Title", date.Add(time.Second)),
		ItemID("", "", "Title", time.Time{}),
	} {
		if other == hashed {
			t.Errorf("different title or date gave the same id %q", other)
		}
	}
}
