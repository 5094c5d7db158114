package storage

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/dedupe"
)

// The by_story bucket finds an item of a source by what it says rather than
// by its GUID, so that a source that regenerates GUIDs (or rewrites links)
// on every fetch does not flood topics with copies (GUID churn). Two keys
// per item, each → the item's ID:
//
//	source \x00 'l' sha256(canonical link \x00 title)[:16]
//	source \x00 't' hash of the folded title and text (dedupe.Analyze)
//
// Link and title together, not the link alone: blogs give distinct posts
// one page link with different fragments, and their titles differ. The text
// key needs the same words, not a near fingerprint: within one source a
// text that differs at all after folding is a different post (a templated
// daily notice changes one number, and its SimHash may not change at all).
// Items with too little text for a fingerprint get no text key.
const (
	storyLink = 'l'
	storyText = 't'
)

// textKey is the dedupe.Analyze text hash of an item, or nil when it has
// too little text; computed once per item, as it tokenizes the whole text.
type textKey []byte

// analyze sets it.Fingerprint and returns its text key.
func analyze(it *tidings.Item) textKey {
	fp, text := dedupe.Analyze(it)
	it.Fingerprint = fp
	if fp == 0 {
		return nil
	}
	return text[:]
}

// storyKeys returns the by_story keys of an item whose text key is text:
// none for an item without link and with too little text.
func storyKeys(it *tidings.Item, text textKey) [][]byte {
	var keys [][]byte
	prefix := sourcePrefix(it.Source)
	if link := canonical(it); link != "" {
		sum := sha256.Sum256([]byte(link + "\x00" + strings.TrimSpace(it.Title)))
		k := append(bytes.Clone(prefix), storyLink)
		keys = append(keys, append(k, sum[:16]...))
	}
	if text != nil {
		k := append(bytes.Clone(prefix), storyText)
		keys = append(keys, append(k, text...))
	}
	return keys
}

// canonical is the item's canonical link, computed if the fetcher left it
// empty.
func canonical(it *tidings.Item) string {
	if it.CanonicalLink != "" {
		return it.CanonicalLink
	}
	if it.Link != "" {
		return tidings.CanonicalURL(it.Link)
	}
	return ""
}

// findStory returns the ID of a stored item of the source that tells the
// same story as an item with these story keys (storyKeys), or "".
func findStory(b txBuckets, keys [][]byte) string {
	for _, k := range keys {
		if id := b.byStory.Get(k); id != nil {
			return string(id)
		}
	}
	return ""
}

// putStory indexes a stored item by its story keys. A key already naming
// another item of the source keeps it: the older item is the one a churned
// GUID is matched to.
func putStory(b txBuckets, it *tidings.Item, text textKey) error {
	return putStoryKeys(b, it.ID, storyKeys(it, text))
}

// putStoryKeys is putStory by the story keys of the item with id.
func putStoryKeys(b txBuckets, id string, keys [][]byte) error {
	for _, k := range keys {
		if b.byStory.Get(k) != nil {
			continue
		}
		if err := b.byStory.Put(k, []byte(id)); err != nil {
			return fmt.Errorf("index item %q by story: %w", id, err)
		}
	}
	return nil
}

// deleteStory removes the story keys of a stored item that name it.
func deleteStory(b txBuckets, it *tidings.Item) error {
	var text textKey
	if it.Fingerprint != 0 {
		_, t := dedupe.Analyze(it)
		text = t[:]
	}
	for _, k := range storyKeys(it, text) {
		if id := b.byStory.Get(k); id != nil && string(id) == it.ID {
			if err := b.byStory.Delete(k); err != nil {
				return fmt.Errorf("unindex item %q by story: %w", it.ID, err)
			}
		}
	}
	return nil
}
