package fetcher

import (
	"testing"

	"github.com/tidings/tidings"
)

// TestHostKey checks the host a caller queues a poll under: the one Poll
// takes its per-host slot for, from the redirect target it would start at.
func TestHostKey(t *testing.T) {
	const feed = "https://News.example:8443/feed.xml"
	tests := map[string]struct {
		url  string
		prev tidings.SourceState
		want string
	}{
		"configured URL, host and port, lower case": {feed, tidings.SourceState{}, "news.example:8443"},
		"moved for good: the target's host":         {feed, tidings.SourceState{SourceURL: feed, URL: "http://cdn.example/f"}, "cdn.example"},
		"the target of an earlier configured URL":   {feed, tidings.SourceState{SourceURL: "https://old.example/", URL: "http://cdn.example/f"}, "news.example:8443"},
		"a file takes no host slot":                 {"file:///srv/feed.xml", tidings.SourceState{}, ""},
		"a URL Poll refuses":                        {"gopher://x.example/", tidings.SourceState{}, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := HostKey(tidings.Source{Name: "s", URL: tc.url}, tc.prev); got != tc.want {
				t.Errorf("HostKey = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLimits checks that Limits reports the defaults that apply.
func TestLimits(t *testing.T) {
	if c, h := New(Options{}).Limits(); c != DefaultConcurrency || h != DefaultPerHost {
		t.Errorf("defaults: Limits = %d, %d; want %d, %d", c, h, DefaultConcurrency, DefaultPerHost)
	}
	if c, h := New(Options{Concurrency: 64, PerHost: 8}).Limits(); c != 64 || h != 8 {
		t.Errorf("Limits = %d, %d; want 64, 8", c, h)
	}
}
