package feeds

import "sync"

// memo remembers the results of a pure string function for the most
// recent inputs. Sanitizing HTML is most of what rendering a feed costs, and
// the same items are rendered again and again: in three formats, on the
// index page, and after every poll that changes some other item of the
// topic. Keys are the inputs themselves, so a changed item is a new key and
// a stale result is never served.
//
// The memo holds at most max entries; when full it starts over, which costs
// one render's worth of sanitizing and bounds memory at max × (input +
// output) without bookkeeping per hit. It is safe for concurrent use.
type memo[K comparable] struct {
	fn  func(K) string
	max int

	mu sync.Mutex
	m  map[K]string
}

func newMemo[K comparable](max int, fn func(K) string) *memo[K] {
	return &memo[K]{fn: fn, max: max, m: make(map[K]string)}
}

// get returns fn(s), computed at most once while s stays in the memo.
func (c *memo[K]) get(s K) string {
	c.mu.Lock()
	out, ok := c.m[s]
	c.mu.Unlock()
	if ok {
		return out
	}
	out = c.fn(s)
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[s] = out
	c.mu.Unlock()
	return out
}
