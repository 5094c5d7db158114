package query

import "github.com/tidings/tidings"

// ItemWords returns the folded words of an item's title and of its text
// (summary and content read as HTML), split and folded exactly as matching
// does, for callers that compare items rather than match them (near-duplicate
// fingerprints). fn is called once per word in order, title first, with
// the field it came from (WordTitle, WordSummary, WordContent).
func ItemWords(it *tidings.Item, fn func(field int, word string)) {
	d := newDoc(it, partTitle|partSummary|partContent)
	for _, f := range [...]struct{ field, part int }{{WordTitle, iTitle}, {WordSummary, iSummary}, {WordContent, iContent}} {
		for _, sp := range d.words(f.part) {
			if sp.lo < sp.hi {
				fn(f.field, d.text[sp.lo:sp.hi])
			}
		}
	}
}

// Fields passed to the ItemWords callback.
const (
	WordTitle = iota
	WordSummary
	WordContent
)
