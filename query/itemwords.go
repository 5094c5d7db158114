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

// Bytes is the length of all the words together.
func (w WordList) Bytes() int {
	if len(w.spans) == 0 {
		return 0
	}
	// The words of a list lie one after the other in buf.
	return int(w.spans[len(w.spans)-1].hi - w.spans[0].lo)
}

// AppendJoined appends each word to dst, followed by sep.
func (w WordList) AppendJoined(dst []byte, sep byte) []byte {
	for _, sp := range w.spans {
		dst = append(append(dst, w.buf[sp.lo:sp.hi]...), sep)
	}
	return dst
}
