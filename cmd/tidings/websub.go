package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/config"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/fetcher"
	"github.com/tidings/tidings/storage"
	"github.com/tidings/tidings/websub"
)

// pushDebounce gathers the polls that finish close together into one round
// of deliveries, well inside the "about a second" subscribers expect.
const pushDebounce = 200 * time.Millisecond

// pushSafetyInterval is how often a source that pushes to us is still
// polled, in case a delivery was lost.
const pushSafetyInterval = 6 * time.Hour

// push wires WebSub into the daemon: our hub for topic feeds, pings to an
// external hub, and subscriptions to the hubs sources advertise.
type push struct {
	pub   *publisher
	store *storage.Store
	fetch *fetcher.Fetcher
	log   *slog.Logger

	hub      *websub.Hub        // our hub; nil when off or external
	hubURL   string             // the hub topic feeds advertise; "" for none
	external bool               // hubURL is someone else's: ping it
	sub      *websub.Subscriber // nil unless websub.subscribe
	client   *http.Client       // for pings to an external hub
	changed  chan struct{}      // a poll changed items
	mu       sync.Mutex         // guards last
	last     map[string]string  // feed URL → ETag last pushed (or seen when a subscriber joined)
}

// newPush builds the WebSub parts the config asks for.
func newPush(cfg *config.Config, pub *publisher, st *storage.Store, f *fetcher.Fetcher, log *slog.Logger) *push {
	p := &push{pub: pub, store: st, fetch: f, log: log, changed: make(chan struct{}, 1), last: map[string]string{},
		client: &http.Client{Timeout: 10 * time.Second}}
	ws := cfg.WebSub
	switch {
	case ws.HubURL != "":
		p.hubURL, p.external = ws.HubURL, true
	case ws.Hub:
		p.hubURL = cfg.Server.BaseURL + "/websub"
		file := cfg.Storage.Path + ".websub.json"
		p.hub = websub.NewHub(websub.HubOptions{
			URL:              p.hubURL,
			ValidTopic:       p.validTopic,
			DefaultLease:     ws.Lease,
			MaxSubscriptions: ws.MaxSubscriptions,
			DenyPrivate:      ws.DenyPrivateCallbacks,
			Save:             func(s []websub.Subscription) error { return saveSubscriptions(file, s) },
			OnVerified:       p.remember,
		}, loadSubscriptions(file, log))
	}
	if ws.Subscribe {
		p.sub = websub.NewSubscriber(websub.SubscriberOptions{
			CallbackBase: cfg.Server.BaseURL + "/websub/callback",
			Deliver:      p.ingest,
			MaxBody:      cfg.Fetch.MaxBody,
		})
	}
	return p
}

// routes adds the hub and the subscriber callback to mux.
func (p *push) routes(mux *http.ServeMux) {
	if p.hub != nil {
		mux.Handle("POST /websub", p.hub)
	}
	if p.sub != nil {
		mux.Handle("/websub/callback/", p.sub)
	}
}

// hubLinks returns the Link header values of a topic feed at self that
// advertises hub (WebSub discovery).
func hubLinks(hub, self string) []string {
	return []string{"<" + hub + `>; rel="hub"`, "<" + self + `>; rel="self"`}
}

// validTopic reports whether u is one of our topic feed URLs.
func (p *push) validTopic(u string) bool {
	_, _, ok := p.feedOf(u)
	return ok
}

// feedOf maps a topic feed URL back to its topic and format.
func (p *push) feedOf(u string) (string, feeds.Format, bool) {
	s := p.pub.current()
	rest, ok := strings.CutPrefix(u, strings.TrimRight(s.cfg.Server.BaseURL, "/")+"/topics/")
	if !ok {
		return "", 0, false
	}
	name, ext, ok := strings.Cut(rest, ".")
	f, known := feeds.ParseFormat(ext)
	if _, exists := s.byName[name]; !ok || !known || !exists {
		return "", 0, false
	}
	return name, f, true
}

// remember records the current ETag of a feed that just gained a
// subscriber, so that only later changes are pushed, and sends that
// subscriber the feed as it is now.
func (p *push) remember(s websub.Subscription) {
	name, f, ok := p.feedOf(s.Topic)
	if !ok {
		return
	}
	doc, err := p.pub.topicFeed(context.Background(), name, f, 0)
	if err != nil || doc == nil {
		return
	}
	p.mu.Lock()
	if _, seen := p.last[s.Topic]; !seen {
		p.last[s.Topic] = doc.etag
	}
	p.mu.Unlock()
	p.hub.Send(s, doc.contentType, doc.body)
}

// notify says that items changed; it never blocks.
func (p *push) notify() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// run pushes changed topic feeds until ctx ends.
func (p *push) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.changed:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pushDebounce):
		}
		p.publishChanged(ctx)
	}
}

// publishChanged renders every topic feed that someone follows and pushes
// those whose bytes changed since the last push.
func (p *push) publishChanged(ctx context.Context) {
	if p.hub == nil && !p.external {
		return
	}
	s := p.pub.current()
	for _, t := range s.topics {
		for _, f := range feeds.Formats {
			u := feeds.FeedURL(s.cfg.Server.BaseURL, t.Name, f)
			if p.hub != nil && !p.hub.HasSubscribers(u) {
				continue
			}
			doc, err := p.pub.topicFeed(ctx, t.Name, f, 0)
			if err != nil || doc == nil {
				p.log.Warn("websub: render for push", "topic", t.Name, "err", err)
				continue
			}
			p.mu.Lock()
			prev, seen := p.last[u]
			p.last[u] = doc.etag
			p.mu.Unlock()
			if seen && prev == doc.etag {
				continue
			}
			if p.external {
				if seen { // the first look only learns the ETag
					p.ping(ctx, u)
				}
				continue
			}
			p.hub.Publish(u, doc.contentType, doc.body)
			p.log.Debug("websub: pushed", "topic", t.Name, "feed_url", u)
		}
	}
}

// ping tells an external hub that a feed changed (hub.mode=publish, the
// convention of the public hubs).
func (p *push) ping(ctx context.Context, feedURL string) {
	form := url.Values{"hub.mode": {"publish"}, "hub.url": {feedURL}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.hubURL, strings.NewReader(form.Encode()))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.client.Do(req)
	if err != nil {
		p.log.Warn("websub: ping hub", "hub", p.hubURL, "feed_url", feedURL, "err", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		p.log.Warn("websub: ping hub", "hub", p.hubURL, "feed_url", feedURL, "status", resp.Status)
	}
}

// afterPoll subscribes a source to the hub its feed advertises, once.
func (p *push) afterPoll(ctx context.Context, src tidings.Source, hub, self string) {
	if p.sub == nil || hub == "" {
		return
	}
	if st, ok := p.sub.Status(src.Name); ok && st.Hub == hub && (st.Verified || st.LastError == "") {
		return
	}
	topic := self
	if topic == "" {
		topic = src.URL
	}
	if err := p.sub.Subscribe(ctx, src.Name, hub, topic); err != nil {
		p.log.Warn("websub: subscribe", "source", src.Name, "hub", hub, "err", err)
		return
	}
	p.log.Info("websub: subscribed", "source", src.Name, "hub", hub, "topic", topic)
}

// minInterval is how long a source that pushes to us waits between polls.
func (p *push) minInterval(source string) time.Duration {
	if p.sub == nil {
		return 0
	}
	if st, ok := p.sub.Status(source); ok && st.Verified && st.Expires.After(time.Now()) {
		return pushSafetyInterval
	}
	return 0
}

// removed unsubscribes sources that left the config.
func (p *push) removed(ctx context.Context, keep map[string]tidings.Source) {
	if p.sub == nil {
		return
	}
	for _, name := range p.sub.Sources() {
		if _, ok := keep[name]; !ok {
			if err := p.sub.Unsubscribe(ctx, name); err != nil {
				p.log.Warn("websub: unsubscribe", "source", name, "err", err)
			}
		}
	}
}

// ingest stores a pushed feed body through the poll's own path: the same
// parser and the same one-transaction save.
func (p *push) ingest(ctx context.Context, source, contentType string, body []byte) error {
	src, ok := p.pub.current().sources[source]
	if !ok {
		return fmt.Errorf("no source named %q", source)
	}
	prev, _, err := p.store.SourceState(ctx, source)
	if err != nil {
		return err
	}
	feedURL := firstNonEmpty(prev.URL, src.URL)
	items, _, err := p.fetch.ParseBytes(src, feedURL, body)
	if err != nil {
		return fmt.Errorf("parse pushed feed: %w", err)
	}
	if items == nil {
		items = []tidings.Item{}
	}
	saved, err := p.store.SavePoll(context.WithoutCancel(ctx), source, items, prev)
	if err != nil {
		return err
	}
	p.log.Info("websub: delivery", "source", source, "items", len(items), "new", saved.New, "updated", saved.Updated)
	if saved.New+saved.Updated > 0 {
		p.notify()
	}
	return nil
}

// close stops background work of the hub and the subscriber.
func (p *push) close() {
	if p.hub != nil {
		p.hub.Close()
	}
	if p.sub != nil {
		p.sub.Close()
	}
}

func loadSubscriptions(file string, log *slog.Logger) []websub.Subscription {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var subs []websub.Subscription
	if err == nil {
		err = json.Unmarshal(b, &subs)
	}
	if err != nil {
		log.Warn("websub: read saved subscriptions; starting without them", "file", file, "err", err)
		return nil
	}
	return subs
}

// saveSubscriptions writes the hub's subscriptions beside the store,
// atomically (write, then rename), so a crash never leaves half a file.
func saveSubscriptions(file string, subs []websub.Subscription) error {
	b, err := json.MarshalIndent(subs, "", "  ")
	if err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
