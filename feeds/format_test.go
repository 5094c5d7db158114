package feeds

import "testing"

func TestParseFormat(t *testing.T) {
	tests := map[string]struct {
		in     string
		want   Format
		wantOK bool
	}{
		"rss":            {"rss", RSS, true},
		"atom":           {"atom", Atom, true},
		"json":           {"json", JSON, true},
		"leading dot":    {".atom", Atom, true},
		"upper case":     {"JSON", JSON, true},
		"unknown":        {"xml", 0, false},
		"empty":          {"", 0, false},
		"two dots":       {"..rss", 0, false},
		"name with ext":  {"mexico.rss", 0, false},
		"trailing space": {"rss ", 0, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := ParseFormat(tc.in)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("ParseFormat(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestFormatNames(t *testing.T) {
	tests := map[string]struct {
		f                     Format
		ext, contentType, url string
	}{
		"rss":  {RSS, "rss", "application/rss+xml; charset=utf-8", "http://localhost:8080/topics/mexico.rss"},
		"atom": {Atom, "atom", "application/atom+xml; charset=utf-8", "http://localhost:8080/topics/mexico.atom"},
		"json": {JSON, "json", "application/feed+json; charset=utf-8", "http://localhost:8080/topics/mexico.json"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.f.Ext(); got != tc.ext {
				t.Errorf("Ext() = %q, want %q", got, tc.ext)
			}
			if got := tc.f.ContentType(); got != tc.contentType {
				t.Errorf("ContentType() = %q, want %q", got, tc.contentType)
			}
			if got := FeedURL("http://localhost:8080/", "mexico", tc.f); got != tc.url {
				t.Errorf("FeedURL = %q, want %q", got, tc.url)
			}
			if back, ok := ParseFormat(tc.f.Ext()); !ok || back != tc.f {
				t.Errorf("ParseFormat(Ext()) = %v, %v", back, ok)
			}
		})
	}
	if got := FeedURL("https://example.org/news", "a b", RSS); got != "https://example.org/news/topics/a%20b.rss" {
		t.Errorf("FeedURL does not escape the name: %q", got)
	}
}
