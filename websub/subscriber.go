package websub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SubscriberOptions configure a Subscriber.
type SubscriberOptions struct {
	// CallbackBase is the public URL under which ServeHTTP is reachable by
	// hubs, e.g. https://tidings.example.org/websub/callback. Each
	// subscription gets CallbackBase/SOURCE/TOKEN.
	CallbackBase string
	// Deliver ingests a pushed feed body of a source; it is the same path
	// a poll's body takes. An error makes the callback answer 500, so the
	// hub retries.
	Deliver func(ctx context.Context, source, contentType string, body []byte) error
	// Lease is the lease asked of hubs (10 days); the subscription is
	// renewed when RenewAt (0.8) of the granted lease has passed.
	Lease   time.Duration
	RenewAt float64
	// MaxBody bounds a delivered body (10 MiB).
	MaxBody int64
	// Timeout bounds each request to a hub (10s).
	Timeout time.Duration
	// Client, if set, is used for requests to hubs.
	Client *http.Client
	// Now is the clock (time.Now).
	Now func() time.Time
}

// SubState is what the subscriber knows of one source's subscription.
type SubState struct {
	Hub, Topic string
	Verified   bool
	Expires    time.Time // lease end, once verified
	Renewals   int       // how often the lease was renewed
	Rejected   int       // deliveries ignored for a bad or missing signature
	Delivered  int       // deliveries ingested
	LastError  string
}

// Subscriber subscribes sources to the hubs they advertise and receives
// their pushes on ServeHTTP. Every subscription has its own secret, so
// each delivery's HMAC signature is checked, and its own unguessable
// callback path.
type Subscriber struct {
	opts   SubscriberOptions
	client *http.Client

	mu   sync.Mutex
	subs map[string]*sub // by source
}

type sub struct {
	SubState
	source, token, secret string
	unsubscribing         bool
	renew                 *time.Timer
}

// NewSubscriber returns a Subscriber; it does nothing until Subscribe.
func NewSubscriber(opts SubscriberOptions) *Subscriber {
	if opts.Lease <= 0 {
		opts.Lease = 10 * 24 * time.Hour
	}
	if opts.RenewAt <= 0 || opts.RenewAt >= 1 {
		opts.RenewAt = 0.8
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 10 << 20
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := opts.Client
	if c == nil {
		c = &http.Client{Timeout: opts.Timeout}
	}
	return &Subscriber{opts: opts, client: c, subs: map[string]*sub{}}
}

// Subscribe asks hub to push topic's updates for source. It returns once
// the hub accepted the request (202); the hub then verifies intent against
// ServeHTTP. Subscribing a source again with the same hub and topic renews it.
func (s *Subscriber) Subscribe(ctx context.Context, source, hub, topic string) error {
	s.mu.Lock()
	cur := s.subs[source]
	if cur == nil || cur.Hub != hub || cur.Topic != topic {
		if cur != nil && cur.renew != nil {
			cur.renew.Stop()
		}
		cur = &sub{SubState: SubState{Hub: hub, Topic: topic}, source: source, token: randomToken(), secret: randomToken()}
		s.subs[source] = cur
	}
	cur.unsubscribing = false
	callback, secret := s.callback(cur), cur.secret
	s.mu.Unlock()

	err := s.request(ctx, hub, url.Values{
		"hub.mode":          {"subscribe"},
		"hub.topic":         {topic},
		"hub.callback":      {callback},
		"hub.secret":        {secret},
		"hub.lease_seconds": {strconv.FormatInt(int64(s.opts.Lease/time.Second), 10)},
	})
	if err != nil {
		s.mu.Lock()
		cur.LastError = err.Error()
		s.mu.Unlock()
		return fmt.Errorf("websub: subscribe %s to %s at %s: %w", source, topic, hub, err)
	}
	return nil
}

// Unsubscribe asks the hub to stop pushing source; the hub confirms
// through ServeHTTP, after which the subscription is forgotten.
func (s *Subscriber) Unsubscribe(ctx context.Context, source string) error {
	s.mu.Lock()
	cur := s.subs[source]
	if cur == nil {
		s.mu.Unlock()
		return nil
	}
	cur.unsubscribing = true
	if cur.renew != nil {
		cur.renew.Stop()
	}
	hub, topic, callback := cur.Hub, cur.Topic, s.callback(cur)
	s.mu.Unlock()
	err := s.request(ctx, hub, url.Values{
		"hub.mode":     {"unsubscribe"},
		"hub.topic":    {topic},
		"hub.callback": {callback},
	})
	if err != nil {
		return fmt.Errorf("websub: unsubscribe %s from %s: %w", source, hub, err)
	}
	return nil
}

// Status returns the state of source's subscription.
func (s *Subscriber) Status(source string) (SubState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.subs[source]
	if !ok {
		return SubState{}, false
	}
	return cur.SubState, true
}

// Sources returns the sources with a subscription (verified or not).
func (s *Subscriber) Sources() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.subs))
	for name := range s.subs {
		out = append(out, name)
	}
	return out
}

// Close stops lease renewals.
func (s *Subscriber) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cur := range s.subs {
		if cur.renew != nil {
			cur.renew.Stop()
		}
	}
}

func (s *Subscriber) callback(cur *sub) string {
	return strings.TrimRight(s.opts.CallbackBase, "/") + "/" + url.PathEscape(cur.source) + "/" + cur.token
}

func (s *Subscriber) request(ctx context.Context, hub string, form url.Values) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hub, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("hub answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// ServeHTTP handles hub requests at CallbackBase/SOURCE/TOKEN: GET for
// verification of intent, POST for content delivery.
func (s *Subscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	source, err := url.PathUnescape(parts[len(parts)-2])
	if err != nil {
		http.NotFound(w, r)
		return
	}
	token := parts[len(parts)-1]
	s.mu.Lock()
	cur := s.subs[source]
	s.mu.Unlock()
	if cur == nil || cur.token != token {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.verification(w, r, cur)
	case http.MethodPost:
		s.delivery(w, r, cur)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// verification answers a hub's check of intent: the challenge is echoed
// only for a request we made, and a granted lease schedules the renewal.
func (s *Subscriber) verification(w http.ResponseWriter, r *http.Request, cur *sub) {
	q := r.URL.Query()
	mode, topic, challenge := q.Get("hub.mode"), q.Get("hub.topic"), q.Get("hub.challenge")
	s.mu.Lock()
	defer s.mu.Unlock()
	if topic != cur.Topic {
		http.NotFound(w, r)
		return
	}
	switch mode {
	case "subscribe":
		if cur.unsubscribing || challenge == "" {
			http.NotFound(w, r)
			return
		}
		lease := s.opts.Lease
		if n, err := strconv.ParseInt(q.Get("hub.lease_seconds"), 10, 64); err == nil && n > 0 {
			lease = time.Duration(n) * time.Second
		}
		if cur.Verified {
			cur.Renewals++
		}
		cur.Verified = true
		cur.Expires = s.opts.Now().Add(lease)
		cur.LastError = ""
		s.scheduleRenewLocked(cur, time.Duration(float64(lease)*s.opts.RenewAt))
	case "unsubscribe":
		if !cur.unsubscribing || challenge == "" {
			http.NotFound(w, r)
			return
		}
		delete(s.subs, cur.source)
	case "denied":
		cur.Verified = false
		cur.LastError = "the hub denied the subscription: " + q.Get("hub.reason")
		w.WriteHeader(http.StatusOK)
		return
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, challenge)
}

func (s *Subscriber) scheduleRenewLocked(cur *sub, after time.Duration) {
	if cur.renew != nil {
		cur.renew.Stop()
	}
	source, hub, topic := cur.source, cur.Hub, cur.Topic
	cur.renew = time.AfterFunc(after, func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
		defer cancel()
		if err := s.Subscribe(ctx, source, hub, topic); err != nil {
			// Try again before the lease ends; Subscribe recorded the error.
			s.mu.Lock()
			if c := s.subs[source]; c == cur && !c.unsubscribing {
				s.scheduleRenewLocked(c, max(time.Until(c.Expires)/4, time.Second))
			}
			s.mu.Unlock()
		}
	})
}

// delivery takes a pushed feed. A delivery without a valid signature is
// acknowledged (the spec allows it, and it tells a forger nothing) but
// not ingested.
func (s *Subscriber) delivery(w http.ResponseWriter, r *http.Request, cur *sub) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	secret := cur.secret
	s.mu.Unlock()
	if err := verify(secret, r.Header.Get("X-Hub-Signature"), body); err != nil {
		s.mu.Lock()
		cur.Rejected++
		cur.LastError = "ignored a delivery: " + err.Error()
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if err := s.opts.Deliver(r.Context(), cur.source, r.Header.Get("Content-Type"), body); err != nil {
		s.mu.Lock()
		cur.LastError = "ingest a delivery: " + err.Error()
		s.mu.Unlock()
		http.Error(w, "could not ingest the delivery", http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	cur.Delivered++
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}
