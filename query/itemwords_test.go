package query

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tidings/tidings"
)

// TestItemWords: the three lists, and Joined agreeing with the words one
// by one (dedupe hashes it).
func TestItemWords(t *testing.T) {
	it := &tidings.Item{
		Title:   "Straße &amp; Łódź",
		Summary: "<p>Un sismo sacudió <b>Oaxaca</b></p>",
		Content: "<p>東京 では<br>Me\u0301xico, 6,4 &mdash; fin</p><script>no words</script>",
	}
	title, summary, content := ItemWords(it)
	_, _, empty := ItemWords(&tidings.Item{Title: "only"})
	for _, tt := range []struct {
		name string
		list WordList
		want string
	}{
		{"title", title, "strasse lodz "},
		{"summary", summary, "un sismo sacudio oaxaca "},
		{"content", content, "東 京 で は mexico 6 4 fin "},
		{"empty", empty, ""},
	} {
		if got := tt.list.Joined(); string(got) != tt.want+"\x00" {
			t.Errorf("%s: Joined = %q, want %q", tt.name, got, tt.want+"\x00")
		}
		var words [][]byte
		for i := range tt.list.Len() {
			words = append(words, tt.list.At(i))
		}
		if j := string(bytes.Join(words, []byte(" "))) + " "; len(words) > 0 && j != tt.want || len(words) == 0 && tt.want != "" {
			t.Errorf("%s: words %q, want %q", tt.name, j, tt.want)
		}
	}
}

// TestReadItemReuse: ReadItem gives what ItemWords gives, also in buffers
// that an earlier, longer item left behind.
func TestReadItemReuse(t *testing.T) {
	items := []*tidings.Item{
		{Title: "Long one", Content: "<p>" + strings.Repeat("palabra México ", 500) + "</p>"},
		{Title: "Short", Summary: "dos palabras"},
		{},
		{Title: "Third", Summary: "<b>a</b> b", Content: "c d e"},
	}
	for round := range 3 {
		for i, it := range items {
			wt, ws, wc := ItemWords(it)
			got := ReadItem(it)
			for _, l := range []struct {
				name      string
				got, want WordList
			}{{"title", got.Title, wt}, {"summary", got.Summary, ws}, {"content", got.Content, wc}} {
				if string(l.got.Joined()) != string(l.want.Joined()) || l.got.Len() != l.want.Len() {
					t.Errorf("round %d, item %d, %s: ReadItem %q (%d words), ItemWords %q (%d)", round, i, l.name, l.got.Joined(), l.got.Len(), l.want.Joined(), l.want.Len())
				}
			}
			got.Release()
		}
	}
}
