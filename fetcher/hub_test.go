package fetcher

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tidings/tidings"
)

func TestDiscoverHub(t *testing.T) {
	tests := map[string]struct {
		header            http.Header
		body              string
		wantHub, wantSelf string
	}{
		"atom": {
			body:    `<feed xmlns="http://www.w3.org/2005/Atom"><link rel="hub" href="https://pubsubhubbub.appspot.com/"/><link rel="self" href="https://a.example/feed.atom"/><entry><link rel="hub" href="https://wrong/"/></entry></feed>`,
			wantHub: "https://pubsubhubbub.appspot.com/", wantSelf: "https://a.example/feed.atom",
		},
		"rss with atom:link": {
			body:    `<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><atom:link rel="self" href="/rss.xml"/><atom:link rel="hub" href="https://hub.example/"/><link>https://a.example/</link><item><title>x</title></item></channel></rss>`,
			wantHub: "https://hub.example/", wantSelf: "https://a.example/rss.xml",
		},
		"json feed": {
			body:    `{"version":"https://jsonfeed.org/version/1.1","feed_url":"https://a.example/feed.json","hubs":[{"type":"WebSub","url":"https://hub.example/"}],"items":[]}`,
			wantHub: "https://hub.example/", wantSelf: "https://a.example/feed.json",
		},
		"link header wins": {
			header:  http.Header{"Link": {`<https://hub.example/h>; rel="hub", <https://a.example/self>; rel="self"`}},
			body:    `<feed xmlns="http://www.w3.org/2005/Atom"><link rel="hub" href="https://other/"/></feed>`,
			wantHub: "https://hub.example/h", wantSelf: "https://a.example/self",
		},
		"link header with several rels": {
			header:  http.Header{"Link": {`<https://hub.example/>; rel="hub alternate"`}},
			body:    `<rss><channel></channel></rss>`,
			wantHub: "https://hub.example/",
		},
		"none":               {body: `<rss version="2.0"><channel><title>x</title></channel></rss>`},
		"javascript refused": {body: `<feed><link rel="hub" href="javascript:alert(1)"/></feed>`},
		"broken xml":         {body: `<feed><link rel="hub" href="https://h.example/"/><entry`, wantHub: "https://h.example/"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			hub, self := discoverHub(tc.header, []byte(tc.body), "https://a.example/feed")
			if hub != tc.wantHub || self != tc.wantSelf {
				t.Errorf("got hub %q self %q, want %q %q", hub, self, tc.wantHub, tc.wantSelf)
			}
		})
	}
}

func TestPollReportsHub(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/atom+xml")
		w.Header().Add("Link", `<https://hub.example/>; rel="hub"`)
		io.WriteString(w, `<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id><link rel="self" href="/feed"/>`+
			`<entry><title>a</title><id>urn:a</id><link href="https://a.example/a"/></entry></feed>`)
	}))
	defer srv.Close()
	res, err := newTestFetcher(t, Options{}).Poll(context.Background(), source(srv.URL+"/feed"), tidings.SourceState{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Hub != "https://hub.example/" || res.Self != srv.URL+"/feed" {
		t.Errorf("hub %q self %q", res.Hub, res.Self)
	}
}
