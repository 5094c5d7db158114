package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/feeds"
)

// TestPublisherSharesSelection checks that the formats of a topic are built
// from one selection, and that a store change drops it: the next render in
// every format lists the new item.
func TestPublisherSharesSelection(t *testing.T) {
	pub, _, st := benchPublisher(t)
	ctx := context.Background()
	render := func() map[feeds.Format][]byte {
		out := map[feeds.Format][]byte{}
		for _, f := range feeds.Formats {
			doc, err := pub.topicFeed(ctx, "one", f, 0)
			if err != nil || doc == nil {
				t.Fatalf("topicFeed(one, %s) = %v, %v", f, doc, err)
			}
			out[f] = doc.body
		}
		return out
	}
	render()
	if n := len(pub.selected); n != 1 {
		t.Fatalf("three formats made %d selections, want 1", n)
	}

	fresh := benchPosts("s00000", 5000, 1)
	fresh[0].Title = "A story stored after the first render"
	fresh[0].Published = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := st.SavePoll(ctx, "s00000", fresh, tidings.SourceState{Name: "s00000"}); err != nil {
		t.Fatal(err)
	}
	for f, body := range render() {
		if !bytes.Contains(body, []byte(fresh[0].Title)) {
			t.Errorf("%s after the change lacks the new item", f)
		}
	}
	if n := len(pub.selected); n != 1 {
		t.Errorf("after the change: %d selections, want 1", n)
	}
}
