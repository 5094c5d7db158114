package storage

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

func TestItemCodecRoundTrip(t *testing.T) {
	tests := map[string]tidings.Item{
		"empty":   {},
		"minimal": {Source: "a", ID: "x", Published: t0, FirstSeen: t0},
		"full": {
			Source:        "wsws",
			ID:            "https://example.org/a?id=1",
			Title:         "México: «tarifas» — 日本語",
			Link:          "https://example.org/a?id=1#x",
			CanonicalLink: "https://example.org/a?id=1",
			Summary:       "<p>Summary & more</p>",
			Content:       "<p>Content with \x00 NUL and \"quotes\"</p>",
			Authors:       []tidings.Person{{Name: "Ann", Email: "ann@example.org"}, {Name: "Bob"}},
			Categories:    []string{"world", "", "americas"},
			Enclosures:    []tidings.Enclosure{{URL: "https://example.org/a.mp3", Type: "audio/mpeg", Length: 1 << 40}, {URL: "u", Length: -1}},
			Image:         "https://example.org/a.png",
			Published:     t0.Add(123456789 * time.Nanosecond),
			Updated:       t0.Add(time.Hour),
			FirstSeen:     t0.Add(time.Minute),
			Fingerprint:   0xdeadbeefcafef00d,
		},
		"times beyond Unix nanoseconds": {
			Published: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
			Updated:   time.Date(1500, 6, 1, 0, 0, 0, 0, time.UTC),
			FirstSeen: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		},
	}
	for name, it := range tests {
		t.Run(name, func(t *testing.T) {
			var got tidings.Item
			if err := decodeItem(encodeItem(&it), &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, it) {
				t.Errorf("round trip = %#v\nwant %#v", got, it)
			}
		})
	}
}

func TestDecodeItemReadsJSON(t *testing.T) {
	want := newItem("a", "x", t0)
	want.FirstSeen = t0
	v, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var got tidings.Item
	if err := decodeItem(v, &got); err != nil {
		t.Fatalf("decode JSON: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JSON item = %#v\nwant %#v", got, want)
	}
}

func TestDecodeItemRejectsDamage(t *testing.T) {
	good := encodeItem(&tidings.Item{Source: "a", ID: "x", Title: "t", Categories: []string{"c"}, Published: t0})
	tests := map[string][]byte{
		"empty":          {},
		"unknown format": append([]byte{0x7f}, good[1:]...),
		"truncated":      good[:len(good)-1],
		"trailing bytes": append(append([]byte{}, good...), 0),
		"huge string":    {itemFormatV1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"huge list": append([]byte{itemFormatV1, 0, 0, 0, 0, 0, 0, 0, 0},
			0xff, 0xff, 0xff, 0xff, 0x0f),
		"bad JSON": []byte(`{"id":`),
	}
	for name, v := range tests {
		t.Run(name, func(t *testing.T) {
			it := tidings.Item{Title: "before"}
			if err := decodeItem(v, &it); err == nil {
				t.Errorf("decodeItem(%q) = %+v, want an error", v, it)
			}
		})
	}
}

// FuzzItemCodec checks that any item survives the round trip and that no
// damaged value makes decodeItem panic.
func FuzzItemCodec(f *testing.F) {
	f.Add("a", "x", "<p>c</p>", "cat", int64(0), int64(1), []byte{itemFormatV1})
	f.Add("", "", "", "", int64(-62135596800), int64(999999999), []byte(`{"id":"x"}`))
	f.Add("wsws", "https://e.org/1", "México", "", t0.Unix(), int64(5), encodeItem(&tidings.Item{ID: "x"}))
	f.Fuzz(func(t *testing.T, source, id, content, category string, sec, nsec int64, raw []byte) {
		var sink tidings.Item
		_ = decodeItem(raw, &sink) // must not panic or allocate wildly

		nsec %= 1e9
		if nsec < 0 {
			nsec = -nsec
		}
		published := time.Unix(sec%(1<<40), nsec).UTC()
		it := tidings.Item{
			Source: source, ID: id, Content: content,
			Categories:  []string{category},
			Authors:     []tidings.Person{{Name: source, Email: id}},
			Enclosures:  []tidings.Enclosure{{URL: content, Length: sec}},
			Published:   published,
			FirstSeen:   published.Add(time.Duration(nsec)),
			Fingerprint: uint64(sec) * 0x9e3779b97f4a7c15,
		}
		var got tidings.Item
		if err := decodeItem(encodeItem(&it), &got); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(got, it) {
			t.Errorf("round trip = %#v\nwant %#v", got, it)
		}
	})
}
