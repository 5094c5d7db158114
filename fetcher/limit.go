package fetcher

import (
	"context"
	"sync"

	"github.com/tidings/tidings"
)

// limiter holds the two semaphores of polling manners: one slot per feed
// fetched at once, and PerHost slots per host so that many sources on one
// site do not hammer it.
type limiter struct {
	global  chan struct{}
	perHost int

	mu    sync.Mutex
	hosts map[string]*hostSlots // only hosts with a waiting or running request
}

type hostSlots struct {
	ch   chan struct{}
	refs int // holders and waiters; the entry is dropped at zero so the map stays small
}

func newLimiter(concurrency, perHost int) *limiter {
	return &limiter{
		global:  make(chan struct{}, concurrency),
		perHost: perHost,
		hosts:   make(map[string]*hostSlots),
	}
}

// acquireGlobal blocks for a feed slot; the returned func gives it back.
func (l *limiter) acquireGlobal(ctx context.Context) (func(), error) {
	select {
	case l.global <- struct{}{}:
		return func() { <-l.global }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// acquireHost blocks for a slot of host; the returned func gives it back.
func (l *limiter) acquireHost(ctx context.Context, host string) (func(), error) {
	l.mu.Lock()
	h := l.hosts[host]
	if h == nil {
		h = &hostSlots{ch: make(chan struct{}, l.perHost)}
		l.hosts[host] = h
	}
	h.refs++
	l.mu.Unlock()

	select {
	case h.ch <- struct{}{}:
		return func() {
			<-h.ch
			l.unref(host, h)
		}, nil
	case <-ctx.Done():
		l.unref(host, h)
		return nil, ctx.Err()
	}
}

func (l *limiter) unref(host string, h *hostSlots) {
	l.mu.Lock()
	h.refs--
	if h.refs == 0 {
		delete(l.hosts, host)
	}
	l.mu.Unlock()
}

// slots are the semaphore slots one poll holds: its host's, then a global
// one. Both are always taken in that order, and a redirect to another host
// gives both back before it takes the new host's, so that no poll holds one
// slot while it waits for another that a waiting poll holds.
type slots struct {
	lim           *limiter
	host          string
	releaseHost   func() // nil while no host slot is held
	releaseGlobal func() // nil while no global slot is held
}

// acquire makes s hold the slots for a request to host ("" for a local
// file, which burdens no server); it returns at once if it already does.
func (s *slots) acquire(ctx context.Context, host string) error {
	if s.releaseGlobal != nil && s.host == host {
		return nil
	}
	s.free()
	if host != "" {
		release, err := s.lim.acquireHost(ctx, host)
		if err != nil {
			return err
		}
		s.releaseHost = release
	}
	s.host = host
	release, err := s.lim.acquireGlobal(ctx)
	if err != nil {
		s.free()
		return err
	}
	s.releaseGlobal = release
	return nil
}

// free gives back whatever s holds.
func (s *slots) free() {
	if s.releaseGlobal != nil {
		s.releaseGlobal()
		s.releaseGlobal = nil
	}
	if s.releaseHost != nil {
		s.releaseHost()
		s.releaseHost = nil
	}
}

// Limits are Options.Concurrency and Options.PerHost after defaults, for a
// caller that queues polls itself and wants to hand out no more at once
// than the fetcher would serve without making them wait.
func (f *Fetcher) Limits() (concurrency, perHost int) {
	return f.opts.Concurrency, f.opts.PerHost
}

// HostKey names the per-host slot a poll of src from state prev starts
// under (host and port; "" for a file, which takes no host slot, and for
// a URL Poll would refuse). A redirect may move a poll to another host.
func HostKey(src tidings.Source, prev tidings.SourceState) string {
	if prev.SourceURL != src.URL {
		prev.URL = "" // as Poll does: the recorded target was the old URL's
	}
	u, err := parseFeedURL(startURL(src, prev))
	if err != nil {
		return ""
	}
	return hostKey(u)
}
