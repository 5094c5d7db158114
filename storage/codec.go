package storage

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tidings/tidings"
)

// Items are stored in a small binary format rather than JSON: Newest
// decodes every item a topic walks past, and JSON (which also escapes every
// '<' of the HTML content) costs about ten times as much to read.
//
// Layout, after the leading format byte itemFormatV1: the strings Source,
// ID, Title, Link, CanonicalLink, Summary, Content, Image; the lists
// Authors (Name, Email), Categories, Enclosures (URL, Type, Length); the
// times Published, Updated, FirstSeen. A string is a uvarint length and its
// bytes, a list a uvarint count and its elements, a Length a varint, a time
// a varint of Unix seconds and a uvarint of nanoseconds (the zero time has
// its own Unix seconds, so it round-trips). A value starting with '{' is a
// JSON item, which decodeItem also reads, so a store can be repaired by hand.
//
// itemFormatV2 (schema 2) appends the Fingerprint as 8 bytes, big-endian.
// Both are read; only V2 is written.
const (
	itemFormatV1 = 0x01
	itemFormatV2 = 0x02
)

// zeroUnix is the Unix time of the zero time.Time.
var zeroUnix = time.Time{}.Unix()

// errShortItem means an encoded item ended early or has a length beyond
// its end: the store is damaged.
var errShortItem = errors.New("truncated or damaged item")

// encodeItem encodes an item for the items bucket.
func encodeItem(it *tidings.Item) []byte {
	n := 1 + 3*2*binary.MaxVarintLen64 + 8
	for _, s := range []string{it.Source, it.ID, it.Title, it.Link, it.CanonicalLink, it.Summary, it.Content, it.Image} {
		n += binary.MaxVarintLen64 + len(s)
	}
	n += 3 * binary.MaxVarintLen64
	for _, p := range it.Authors {
		n += 2*binary.MaxVarintLen64 + len(p.Name) + len(p.Email)
	}
	for _, c := range it.Categories {
		n += binary.MaxVarintLen64 + len(c)
	}
	for _, e := range it.Enclosures {
		n += 3*binary.MaxVarintLen64 + len(e.URL) + len(e.Type)
	}

	b := make([]byte, 0, n)
	b = append(b, itemFormatV2)
	for _, s := range []string{it.Source, it.ID, it.Title, it.Link, it.CanonicalLink, it.Summary, it.Content, it.Image} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(it.Authors)))
	for _, p := range it.Authors {
		b = appendString(b, p.Name)
		b = appendString(b, p.Email)
	}
	b = binary.AppendUvarint(b, uint64(len(it.Categories)))
	for _, c := range it.Categories {
		b = appendString(b, c)
	}
	b = binary.AppendUvarint(b, uint64(len(it.Enclosures)))
	for _, e := range it.Enclosures {
		b = appendString(b, e.URL)
		b = appendString(b, e.Type)
		b = binary.AppendVarint(b, e.Length)
	}
	for _, t := range []time.Time{it.Published, it.Updated, it.FirstSeen} {
		b = binary.AppendVarint(b, t.Unix())
		b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	}
	return binary.BigEndian.AppendUint64(b, it.Fingerprint)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeItem decodes a value of the items bucket into it. The value may be
// reused by bbolt after the transaction, so nothing of it is kept: all
// strings share one copy of it, one allocation instead of a dozen.
func decodeItem(v []byte, it *tidings.Item) error {
	if len(v) > 0 && v[0] == '{' {
		*it = tidings.Item{}
		if err := json.Unmarshal(v, it); err != nil {
			return fmt.Errorf("decode JSON item: %w", err)
		}
		return nil
	}
	if len(v) == 0 || (v[0] != itemFormatV1 && v[0] != itemFormatV2) {
		return fmt.Errorf("decode item: unknown format %q", v[:min(len(v), 1)])
	}
	d := decoder{s: string(v), i: 1}
	var out tidings.Item
	for _, p := range []*string{&out.Source, &out.ID, &out.Title, &out.Link, &out.CanonicalLink, &out.Summary, &out.Content, &out.Image} {
		*p = d.string()
	}
	if n := d.count(2); n > 0 {
		out.Authors = make([]tidings.Person, n)
		for i := range out.Authors {
			out.Authors[i] = tidings.Person{Name: d.string(), Email: d.string()}
		}
	}
	if n := d.count(1); n > 0 {
		out.Categories = make([]string, n)
		for i := range out.Categories {
			out.Categories[i] = d.string()
		}
	}
	if n := d.count(3); n > 0 {
		out.Enclosures = make([]tidings.Enclosure, n)
		for i := range out.Enclosures {
			out.Enclosures[i] = tidings.Enclosure{URL: d.string(), Type: d.string(), Length: d.varint()}
		}
	}
	for _, p := range []*time.Time{&out.Published, &out.Updated, &out.FirstSeen} {
		*p = d.time()
	}
	if v[0] == itemFormatV2 && d.err == nil {
		if len(d.s)-d.i < 8 {
			d.err = errShortItem
		} else {
			out.Fingerprint = binary.BigEndian.Uint64([]byte(d.s[d.i : d.i+8]))
			d.i += 8
		}
	}
	if d.err == nil && d.i != len(d.s) {
		d.err = fmt.Errorf("%d bytes after the item", len(d.s)-d.i)
	}
	if d.err != nil {
		return fmt.Errorf("decode item: %w", d.err)
	}
	*it = out
	return nil
}

// decoder reads the fields of an encoded item in order. After the first
// error it returns zero values and keeps the error.
type decoder struct {
	s   string
	i   int
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	// binary.Uvarint wants bytes; the header of a varint is at most 10.
	var buf [binary.MaxVarintLen64]byte
	n := copy(buf[:], d.s[d.i:])
	x, k := binary.Uvarint(buf[:n])
	if k <= 0 {
		d.err = errShortItem
		return 0
	}
	d.i += k
	return x
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	var buf [binary.MaxVarintLen64]byte
	n := copy(buf[:], d.s[d.i:])
	x, k := binary.Varint(buf[:n])
	if k <= 0 {
		d.err = errShortItem
		return 0
	}
	d.i += k
	return x
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)-d.i) {
		d.err = errShortItem
		return ""
	}
	s := d.s[d.i : d.i+int(n)]
	d.i += int(n)
	return s
}

// count reads a list length, refusing one that cannot fit in what is left
// when each element takes at least minBytes: a damaged length must not
// allocate gigabytes.
func (d *decoder) count(minBytes int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64((len(d.s)-d.i)/minBytes) {
		d.err = errShortItem
		return 0
	}
	return int(n)
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= 1e9 {
		d.err = fmt.Errorf("nanoseconds %d out of range", nsec)
		return time.Time{}
	}
	if sec == zeroUnix && nsec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}
