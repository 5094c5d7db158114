// Package dedupe tells whether two items tell the same story although their
// links and GUIDs differ: a wire story reposted by many outlets, a headline
// tweaked after publication, a GUID regenerated on every fetch.
//
// It uses SimHash (Charikar 2002; Manku, Jain and Das Sarma 2007) over the
// item's normalized title and text rather than MinHash. Both estimate
// similarity from a sketch, but a SimHash sketch is one uint64: it is stored
// with every item at no noticeable cost in a store of a million items,
// compared with one XOR and a popcount, and indexed exactly by splitting it
// into bands (pigeonhole: two fingerprints within distance d are within
// ⌊d/m⌋ bits of each other in at least one of m bands; feeds probes 5
// bands of 13 bits), so a topic of thousands of items is grouped without
// comparing all pairs. MinHash needs a hundred or more 32-bit values per item for a
// usable Jaccard estimate, which would grow every item by half a kilobyte.
// What SimHash gives up — a good estimate of middling similarity — does not
// matter here: copies of one story are either nearly identical or distinct.
//
// The fingerprint hashes word bigrams (shingles of two words) of the folded
// text, the same words the query language matches (accents, case, HTML tags
// and punctuation gone). Bigrams keep word order, so two different stories
// about the same people and places, which share many single words, still
// land far apart; and they are short enough that one changed word in a
// headline moves only two features out of the forty or more of a typical
// summary.
package dedupe

import (
	"crypto/sha256"
	"math/bits"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/query"
)

// MinWords is how many words an item needs for a fingerprint. A headline
// alone ("Markets close lower", "Weather update") is shared by unrelated
// stories, so an item with less text gets no fingerprint and is merged only
// by its link.
const MinWords = 12

// StrictDistance is the largest Hamming distance between two fingerprints
// that still counts as the same story in `dedupe: strict`. It was chosen
// from the realistic pairs in dedupe_test.go: copies of one story (a wire
// text reposted under another headline, a dateline and credit line added, a
// summary cut short, a headline and a sentence edited) differ by 0–12 bits;
// different stories on the same subject or from one template (a follow-up,
// another event in the same places, two daily market reports) by 18 or
// more; unrelated texts by 32 on average (a chance below one in 100,000 of
// reaching 14). 14 sits in the gap, nearer the false-positive side: hiding
// a different story costs a reader more than seeing one story twice.
const StrictDistance = 14

// Fingerprint returns the 64-bit SimHash of the item's title and text, or
// 0 when the item has fewer than MinWords words. The text is the content
// when it has at least as many words as the summary, else the summary:
// feeds often repeat the start of the content as the summary, and counting
// it twice would weigh the first paragraph double. Fingerprints are stored,
// so this function must not change without a schema migration.
func Fingerprint(it *tidings.Item) uint64 {
	fp, _ := Analyze(it)
	return fp
}

// Analyze returns the item's Fingerprint and a hash of its exact folded
// words (title, then text as Fingerprint chooses it), or zeros when it has
// fewer than MinWords words. Within one source the text hash, not the
// fingerprint, says "the same item": templated posts (a daily notice that
// changes one number) have equal or near fingerprints but different texts.
func Analyze(it *tidings.Item) (fp uint64, text [16]byte) {
	words := query.ReadItem(it)
	defer words.Release()
	title, body := words.Title, words.Summary
	if words.Content.Len() >= body.Len() {
		body = words.Content
	}
	if title.Len()+body.Len() < MinWords {
		return 0, text
	}
	// The text hash is of the joined lists, as one buffer would hold them.
	h := sha256.New()
	h.Write(title.Joined())
	h.Write(body.Joined())
	copy(text[:], h.Sum(nil))
	fp = simhash(title.Joined(), body.Joined())
	if fp == 0 {
		fp = 1 // 0 means "no fingerprint"
	}
	return fp, text
}

// FNV-1a's parameters, for the feature hash of simhash.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// simhash is the SimHash of the word bigrams of the title and of the body,
// each as WordList.Joined gives them (each word followed by a space, a 0
// after the last). A bigram's feature is mix of 64-bit FNV-1a
// over its first word, a 0xff separator and its second word (a word alone,
// when it is the only one); FNV is stable across processes and releases,
// as a stored fingerprint requires (hash/maphash is seeded per process).
func simhash(title, body []byte) (fp uint64) {
	// SimHash sums +1 or -1 per feature into each of 64 bit counters. A
	// feature hash has random bits, so the obvious loop over them
	// mispredicts every other branch and was most of the cost of storing
	// an item. Counting ones instead gives the same result (bit i is set
	// iff ones[i] > features/2) and packs eight counters into each lane
	// byte of an uint64: lanes[j] counts bits j, j+8, …, j+56, eight adds
	// per feature instead of 64 branches.
	var ones [64]int
	var lanes [8]uint64
	pending, features := 0, 0
	flush := func() {
		for j, l := range lanes {
			for k := range 8 {
				ones[j+8*k] += int(l >> (8 * k) & 0xff)
			}
		}
		lanes = [8]uint64{}
		pending = 0
	}
	add := func(h uint64) {
		h = mix(h)
		for j := range lanes {
			lanes[j] += h >> j & 0x0101010101010101
		}
		features++
		if pending++; pending == 255 { // a lane byte holds up to 255
			flush()
		}
	}
	// Title and body are shingled separately: the last word of a headline
	// and the first of the text are no phrase. Each list is read once,
	// byte by byte from the joined buffer: no word is looked up, and each
	// word feeds two hashes at once, the bigram it ends (from prev) and
	// the state it leaves for the next bigram (from the start). The two
	// multiplication chains are independent, so the processor runs them
	// side by side: FNV waits on each multiplication, and hashing each
	// word twice in turn was half the cost of a fingerprint.
	for _, buf := range [2][]byte{title, body} {
		i := 0
		if buf[i] == 0 { // no words
			continue
		}
		// prev is FNV's state after the previous word and the separator.
		prev := uint64(fnvOffset)
		for ; buf[i] != ' '; i++ {
			prev = (prev ^ uint64(buf[i])) * fnvPrime
		}
		i++
		prev = (prev ^ 0xff) * fnvPrime
		if buf[i] == 0 {
			add(prev) // the only word
		}
		for buf[i] != 0 {
			pair, next := prev, uint64(fnvOffset)
			for ; buf[i] != ' '; i++ {
				c := uint64(buf[i])
				pair = (pair ^ c) * fnvPrime
				next = (next ^ c) * fnvPrime
			}
			i++
			add(pair)
			prev = (next ^ 0xff) * fnvPrime
		}
	}
	flush()
	for i, n := range ones {
		if 2*n > features {
			fp |= 1 << i
		}
	}
	return fp
}

// Distance is the number of bits in which two fingerprints differ.
func Distance(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// Near reports whether two fingerprints are of the same story: both exist
// and they differ in at most maxDist bits.
func Near(a, b uint64, maxDist int) bool {
	return a != 0 && b != 0 && Distance(a, b) <= maxDist
}

// Bands splits fp into maxDist+1 bands and calls fn with each band's index
// and value. Two fingerprints within maxDist bits of each other agree on at
// least one band (pigeonhole), so grouping by (index, value) finds every
// candidate pair without comparing all pairs; candidates are then checked
// with Near.
func Bands(fp uint64, maxDist int, fn func(band int, value uint64)) {
	n := maxDist + 1
	for i := range n {
		lo, hi := 64*i/n, 64*(i+1)/n
		fn(i, fp>>lo&(1<<(hi-lo)-1))
	}
}

// mix is the splitmix64 finalizer: FNV's high bits depend weakly on the
// last bytes, and SimHash needs every bit of a feature's hash to be a fair
// coin.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// StoryLink is the canonical link under which copies of a story meet: the
// item's canonical link, else its link canonicalized, else "" (an item
// without any link is a story of its own).
func StoryLink(it *tidings.Item) string {
	if it.CanonicalLink != "" {
		return it.CanonicalLink
	}
	if it.Link != "" {
		return tidings.CanonicalURL(it.Link)
	}
	return ""
}

// LinkHash is a short, stable hash of a story link (see StoryLink), for
// indexes that tell without decoding an item that it cannot share a link
// with others: equal links have equal hashes. It is 0 for "" and never 0
// otherwise. It is stored, so it must not change without rebuilding what
// holds it.
func LinkHash(link string) uint64 {
	if link == "" {
		return 0
	}
	h := uint64(fnvOffset)
	for i := 0; i < len(link); i++ {
		h ^= uint64(link[i])
		h *= fnvPrime
	}
	if h = mix(h); h == 0 {
		h = 1
	}
	return h
}
