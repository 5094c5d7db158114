package query

import "github.com/tidings/tidings"

// ItemWords returns the folded words of an item's title, summary and
// content (the last two read as HTML), split and folded exactly as matching
// does, for callers that compare items rather than match them (near-duplicate
// fingerprints). The three lists share one buffer: no string per word.
func ItemWords(it *tidings.Item) (title, summary, content WordList) {
	b := newBuilder(len(it.Title) + len(it.Summary) + len(it.Content) + 64)
	b.text(decodeEntities(it.Title))
	t := len(b.spans)
	b.html(it.Summary)
	s := len(b.spans)
	b.html(it.Content)
	return WordList{b.buf, b.spans[:t:t]}, WordList{b.buf, b.spans[t:s:s]}, WordList{b.buf, b.spans[s:]}
}

// WordList is a list of folded words, in a buffer of their bytes.
type WordList struct {
	buf   []byte
	spans []span
}

// Len is the number of words.
func (w WordList) Len() int { return len(w.spans) }

// At returns word i. Its bytes belong to the list: not to be changed.
func (w WordList) At(i int) []byte {
	sp := w.spans[i]
	return w.buf[sp.lo:sp.hi:sp.hi]
}
