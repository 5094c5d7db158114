package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Key layouts. Source names hold no NUL byte (checked on write), so
// source\x00id sorts by source, then id, and splits at its first NUL even
// when the id holds one.
//
//	items      source \x00 id                          → encoded item
//	by_time    T(published) T(firstSeen) source \x00 id → nothing
//	by_seen    T(firstSeen) source \x00 id              → T(published)
//	by_source  source \x00 T(published) T(firstSeen) id → nothing
//	tombs      source \x00 id                          → T(tombstoned)
//	by_story   source \x00 kind hash                   → id (story.go)
//	by_topic   topic \x00 T(published) T(firstSeen) source \x00 id → fingerprint, link hash (topics.go)
//	topic_versions  topic                              → index layout ("2:") and version of the indexed definition
//
// T is a 12-byte time that sorts like the time itself: Unix seconds with the
// sign bit flipped, then nanoseconds, big-endian. Plain Unix nanoseconds
// overflow outside 1678–2262, and a zero or wild feed date must still sort.
const timeLen = 12

// putTime appends the sortable encoding of t to b.
func putTime(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

// getTime decodes a time written by putTime, in UTC.
func getTime(b []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
	return time.Unix(sec, int64(binary.BigEndian.Uint32(b[8:]))).UTC()
}

// itemKey is the key of an item in the items and tombs buckets.
func itemKey(source, id string) []byte {
	b := make([]byte, 0, len(source)+1+len(id))
	b = append(b, source...)
	b = append(b, 0)
	return append(b, id...)
}

// splitItemKey undoes itemKey.
func splitItemKey(k []byte) (source, id string) {
	i := bytes.IndexByte(k, 0)
	if i < 0 {
		return string(k), ""
	}
	return string(k[:i]), string(k[i+1:])
}

// sourcePrefix is the prefix of every items/tombs/by_source key of source.
func sourcePrefix(source string) []byte {
	return append([]byte(source), 0)
}

// timeKey is the by_time key of an item.
func timeKey(published, firstSeen time.Time, ik []byte) []byte {
	b := make([]byte, 0, 2*timeLen+len(ik))
	b = putTime(b, published)
	b = putTime(b, firstSeen)
	return append(b, ik...)
}

// seenKey is the by_seen key of an item.
func seenKey(firstSeen time.Time, ik []byte) []byte {
	b := make([]byte, 0, timeLen+len(ik))
	b = putTime(b, firstSeen)
	return append(b, ik...)
}

// bySourceKey is the by_source key of an item.
func bySourceKey(source, id string, published, firstSeen time.Time) []byte {
	b := make([]byte, 0, len(source)+1+2*timeLen+len(id))
	b = append(b, source...)
	b = append(b, 0)
	b = putTime(b, published)
	b = putTime(b, firstSeen)
	return append(b, id...)
}

// validSource reports whether name can be stored as a source name.
func validSource(name string) error {
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("%w: source name %q", ErrInvalid, name)
	}
	return nil
}

// putCount stores n as a big-endian uint64, deleting the key at zero so
// that removed sources leave nothing behind.
func putCount(b *bolt.Bucket, key []byte, n uint64) error {
	if n == 0 {
		return b.Delete(key)
	}
	return b.Put(key, binary.BigEndian.AppendUint64(nil, n))
}

// getCount reads a count written by putCount; absent is zero.
func getCount(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
