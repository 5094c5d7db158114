package query

import (
	"slices"
	"sync"

	"github.com/tidings/tidings"
)

// ItemWords returns the folded words of an item's title, summary and
// content (the last two read as HTML), split and folded exactly as matching
// does, for callers that compare items rather than match them (near-duplicate
// fingerprints). The three lists share one buffer: no string per word.
func ItemWords(it *tidings.Item) (title, summary, content WordList) {
	// Folded words and the space after each take about as many bytes as
	// the text they come from (a space or a tag between words).
	return newBuilder(itemSize(it)).itemLists(it)
}

// ItemText holds the words of an item as ItemWords gives them, in buffers
// that Release hands on to the next ReadItem: a store fingerprinting every
// new item would otherwise allocate twice the size of its text for each.
type ItemText struct {
	Title, Summary, Content WordList
	b                       builder
}

var itemTexts = sync.Pool{New: func() any { return new(ItemText) }}

// ReadItem returns the words of it, as ItemWords does. The lists are valid
// until Release.
func ReadItem(it *tidings.Item) *ItemText {
	t := itemTexts.Get().(*ItemText)
	n := itemSize(it)
	t.b.buf = slices.Grow(t.b.buf[:0], n)
	t.b.spans = slices.Grow(t.b.spans[:0], n/6+4)
	t.Title, t.Summary, t.Content = t.b.itemLists(it)
	return t
}

// keepBelow is the largest buffer Release keeps for reuse: one outsized
// item should not pin its buffers for good.
const keepBelow = 1 << 20

// Release gives the buffers back; t and its lists are not to be used after.
func (t *ItemText) Release() {
	t.Title, t.Summary, t.Content = WordList{}, WordList{}, WordList{}
	if cap(t.b.buf) <= keepBelow {
		itemTexts.Put(t)
	}
}

func itemSize(it *tidings.Item) int {
	return len(it.Title) + len(it.Summary) + len(it.Content) + 64
}

// itemLists splits the item's texts into b, which is empty, each word
// followed by a space and each list by a 0 (WordList.Joined).
func (b *builder) itemLists(it *tidings.Item) (title, summary, content WordList) {
	b.sep = true
	var ends [3]int  // where each list ends in buf, after its 0
	var spans [3]int // where each list ends in spans
	end := func(i int) {
		b.buf = append(b.buf, 0)
		ends[i], spans[i] = len(b.buf), len(b.spans)
	}
	b.text(decodeEntities(it.Title))
	end(0)
	b.html(it.Summary)
	end(1)
	b.html(it.Content)
	end(2)
	list := func(i int) WordList {
		lo, from := 0, 0
		if i > 0 {
			lo, from = ends[i-1], spans[i-1]
		}
		return WordList{b.buf[lo:ends[i]:ends[i]], b.buf, b.spans[from:spans[i]:spans[i]]}
	}
	return list(0), list(1), list(2)
}

// WordList is a list of folded words, in a buffer of their bytes.
type WordList struct {
	joined []byte // the words, each followed by a space, then a 0
	buf    []byte
	spans  []span
}

// Len is the number of words.
func (w WordList) Len() int { return len(w.spans) }

// At returns word i. Its bytes belong to the list: not to be changed.
func (w WordList) At(i int) []byte {
	sp := w.spans[i]
	return w.buf[sp.lo:sp.hi:sp.hi]
}

// Joined returns the words, each followed by a space, and a 0 after the
// last: the list as one text, to be hashed at once. Folded words hold
// neither byte. Its bytes belong to the list: not to be changed.
func (w WordList) Joined() []byte { return w.joined }
