package fetcher

import (
	"context"
	"sync"
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

// hostHold is the host slot one poll holds while it follows redirects: it
// moves to the next host when a redirect leaves the current one, so every
// request counts against the host it goes to.
type hostHold struct {
	lim     *limiter
	host    string
	release func()
}

func (h *hostHold) moveTo(ctx context.Context, host string) error {
	if h.release != nil && h.host == host {
		return nil
	}
	h.free()
	release, err := h.lim.acquireHost(ctx, host)
	if err != nil {
		return err
	}
	h.host, h.release = host, release
	return nil
}

func (h *hostHold) free() {
	if h.release != nil {
		h.release()
		h.release = nil
	}
}
