package query

import (
	"bytes"
	"testing"

	"github.com/tidings/tidings"
)

// TestItemWords: the three lists, and Bytes and AppendJoined agreeing with
// the words one by one (dedupe sizes and hashes its buffer with them).
func TestItemWords(t *testing.T) {
	it := &tidings.Item{
		Title:   "Straße &amp; Łódź",
		Summary: "<p>Un sismo sacudió <b>Oaxaca</b></p>",
		Content: "<p>東京 では<br>Me\u0301xico, 6,4 &mdash; fin</p><script>no words</script>",
	}
	title, summary, content := ItemWords(it)
	for _, tt := range []struct {
		name string
		list WordList
		want string
	}{
		{"title", title, "strasse lodz "},
		{"summary", summary, "un sismo sacudio oaxaca "},
		{"content", content, "東 京 で は mexico 6 4 fin "},
		{"none", WordList{}, ""},
	} {
		got := tt.list.AppendJoined([]byte("x"), ' ')
		if string(got) != "x"+tt.want {
			t.Errorf("%s: AppendJoined = %q, want %q", tt.name, got[1:], tt.want)
		}
		var n int
		var words [][]byte
		for i := range tt.list.Len() {
			n += len(tt.list.At(i))
			words = append(words, tt.list.At(i))
		}
		if tt.list.Bytes() != n {
			t.Errorf("%s: Bytes = %d, the words have %d", tt.name, tt.list.Bytes(), n)
		}
		if j := bytes.Join(words, []byte(" ")); len(words) > 0 && string(j)+" " != tt.want {
			t.Errorf("%s: words %q", tt.name, j)
		}
	}
}
