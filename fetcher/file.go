package fetcher

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/tidings/tidings"
)

// readFile reads a file:// feed. Its validators are derived from the file's
// size and modification time, so an unchanged file is NotModified without
// being read, just like a 304.
func (f *Fetcher) readFile(ctx context.Context, u *url.URL, prev tidings.SourceState) (*response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := u.Path
	out := &response{url: u.String()}
	fh, err := os.Open(path)
	if err != nil {
		return out, newError(ErrRequest, err, "open feed file: %v", err)
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return out, newError(ErrRequest, err, "open feed file: %v", err)
	}
	if !info.Mode().IsRegular() {
		return out, newError(ErrRequest, nil, "open feed file: %s is not a regular file", path)
	}
	out.etag = fmt.Sprintf(`"%x-%x"`, info.Size(), info.ModTime().UnixNano())
	out.lastModified = info.ModTime().UTC().Format(http.TimeFormat)
	if prev.ETag == out.etag {
		out.notModified = true
		return out, nil
	}
	if info.Size() > f.opts.MaxBody {
		return out, tooLarge(f.opts.MaxBody)
	}
	body, err := io.ReadAll(io.LimitReader(fh, f.opts.MaxBody+1))
	if err != nil {
		return out, newError(ErrRequest, err, "read feed file: %v", err)
	}
	if int64(len(body)) > f.opts.MaxBody { // the file grew while being read
		return out, tooLarge(f.opts.MaxBody)
	}
	body, err = gunzipSniffed(body, f.opts.MaxBody)
	if err != nil {
		return out, err
	}
	out.body = body
	return out, nil
}
