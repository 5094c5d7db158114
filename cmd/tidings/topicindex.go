package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/storage"
)

// topicDefs describes the setup's topics to the store, which keeps an index
// of each topic's items by time (DESIGN §7 keeps the store ignorant of
// queries: it only calls Match).
//
// A topic's Version hashes everything that decides which items it matches:
// its query, the sources it resolves to (tags resolve through the sources'
// config, so a tag added to a source changes it) and the Tidings version,
// whose query language may match differently; the sources' tags too, for
// tag: terms. Title, limit and dedupe are
// left out: they change what is shown, not what matches.
func topicDefs(s *setup) []storage.TopicDef {
	// tag: terms in a query resolve through every source's tags.
	var tags strings.Builder
	for _, src := range s.cfg.Sources {
		fmt.Fprintf(&tags, "%s=%s\x00", src.Name, strings.Join(src.Tags, ","))
	}
	defs := make([]storage.TopicDef, 0, len(s.topics))
	for _, t := range s.topics {
		if t.Dynamic() {
			// An age: query matches differently as time passes, so what it
			// matched at ingest says nothing later: such topics are read by
			// scanning the store (with the clock of the request).
			continue
		}
		h := sha256.New()
		allowed := t.AllowedSources()
		fmt.Fprintf(h, "tidings %s\x00query %s\x00all %v\x00sources %s\x00tags %s", version, t.Query, allowed == nil, strings.Join(allowed, "\x00"), tags.String())
		defs = append(defs, storage.TopicDef{
			Name:    t.Name,
			Version: hex.EncodeToString(h.Sum(nil)[:12]),
			Match:   func(it *tidings.Item) bool { return t.Match(it) },
		})
	}
	return defs
}

// indexTopics tells the store about the setup's topics, rebuilding the
// index of every topic whose definition changed.
func indexTopics(ctx context.Context, st *storage.Store, s *setup) error {
	if err := st.SetTopics(ctx, s.defs); err != nil {
		return fmt.Errorf("index topics: %w", err)
	}
	return nil
}
