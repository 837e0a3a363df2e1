package extension_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/frame"
)

// xorExtension is a toy extension to copy the shape of: it XORs the
// payload of every message with a one-byte key that the client proposes
// in its offer, and marks the messages it encoded with RSV2. The value is
// the configuration, shared by all connections; key is the client's.
type xorExtension struct{ key byte }

func (x xorExtension) Name() string { return "x-xor" }

// Offer: the client proposes its key.
func (x xorExtension) Offer() []extension.Element {
	return []extension.Element{{Name: "x-xor", Params: []extension.Param{{Name: "key", Value: strconv.Itoa(int(x.key))}}}}
}

// Accept: the server takes the first offer it understands and declines the
// others; answering with the offer itself confirms the key.
func (x xorExtension) Accept(offers []extension.Element) (extension.Element, extension.Agreed, error) {
	for _, o := range offers {
		v, _ := o.Get("key")
		k, err := strconv.ParseUint(v, 10, 8)
		if err != nil || len(o.Params) != 1 {
			continue
		}
		return o, xorAgreed{byte(k)}, nil
	}
	return extension.Element{}, nil, nil
}

// Confirm: the client checks that the server answered with its key.
func (x xorExtension) Confirm(resp extension.Element) (extension.Agreed, error) {
	if v, _ := resp.Get("key"); v != strconv.Itoa(int(x.key)) || len(resp.Params) != 1 {
		return nil, errors.New("x-xor: unexpected response")
	}
	return xorAgreed{x.key}, nil
}

// xorAgreed is the extension on one connection.
type xorAgreed struct{ key byte }

func (a xorAgreed) RSV() frame.RSV                { return frame.RSV2 }
func (a xorAgreed) NewEncoder() extension.Encoder { return xorCodec(a) }
func (a xorAgreed) NewDecoder() extension.Decoder { return xorCodec(a) }

type xorCodec struct{ key byte }

// Encode transforms every message as it streams through, setting RSV2.
func (c xorCodec) Encode(w io.Writer, m *extension.Message) (io.WriteCloser, error) {
	m.RSV |= frame.RSV2
	return &xorWriter{w: w, key: c.key}, nil
}

// Decode undoes the transform on messages that carry RSV2.
func (c xorCodec) Decode(r io.Reader, m *extension.Message) (io.ReadCloser, error) {
	if m.RSV&frame.RSV2 == 0 {
		return nil, nil
	}
	return &xorReader{r: r, key: c.key}, nil
}

type xorWriter struct {
	w   io.Writer
	key byte
	buf [512]byte
}

func (x *xorWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := copy(x.buf[:], p)
		for i := range x.buf[:k] {
			x.buf[i] ^= x.key
		}
		if _, err := x.w.Write(x.buf[:k]); err != nil {
			return n, err
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

func (x *xorWriter) Close() error { return nil }

type xorReader struct {
	r   io.Reader
	key byte
}

func (x *xorReader) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	for i := range p[:n] {
		p[i] ^= x.key
	}
	return n, err
}

func (x *xorReader) Close() error { return nil }

// Example shows a custom extension, xorExtension above, chained with
// permessage-deflate on both ends of a connection. The client offers both;
// the server accepts them in the client's order, so every message is
// XORed first and then compressed (RFC 6455, Section 9.1).
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, &conn.AcceptOptions{
			Extensions: []extension.Extension{deflate.New(nil), xorExtension{}},
		})
		if err != nil {
			return
		}
		defer c.CloseNow()
		typ, p, err := c.Read(r.Context())
		if err != nil {
			return
		}
		c.Write(r.Context(), typ, []byte(strings.ToUpper(string(p))))
		c.Read(r.Context()) // until the client closes
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &conn.DialOptions{
		Extensions: []extension.Extension{xorExtension{key: 42}, deflate.New(nil)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("agreed:", c.Extensions())
	c.Write(ctx, conn.MessageText, []byte(strings.Repeat("hello ", 40)))
	_, p, err := c.Read(ctx)
	fmt.Println(string(p[:11]), len(p), err)
	c.Close(conn.StatusNormalClosure, "")
	// Output:
	// agreed: x-xor; key=42, permessage-deflate
	// HELLO HELLO 240 <nil>
}

// quotaExtension answers with a per-user parameter taken from the request:
// it implements RequestAccepter, so NegotiateRequest (and conn.Accept,
// raw.Accept) give it the request. Accept answers when there is none.
type quotaExtension struct{ xorExtension }

func (q quotaExtension) AcceptRequest(r *http.Request, offers []extension.Element) (extension.Element, extension.Agreed, error) {
	quota := "10"
	if r.URL.Query().Get("plan") == "pro" {
		quota = "1000"
	}
	resp, agreed, err := q.Accept(offers)
	if agreed != nil {
		resp.Params = append(resp.Params, extension.Param{Name: "quota", Value: quota})
	}
	return resp, agreed, err
}

// NegotiateRequest gives an extension that implements RequestAccepter the
// client's request, and reports what it declined and why.
func ExampleRequestAccepter() {
	exts := []extension.Extension{quotaExtension{}, deflate.New(nil)}
	r := httptest.NewRequest("GET", "/chat?plan=pro", nil)
	n, err := extension.NegotiateRequest(r, exts, []string{"x-xor; key=7, x-webkit-deflate-frame"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n.Response)
	for _, d := range n.Declined {
		fmt.Printf("declined %s: %v\n", d.Name, d.Reason)
	}
	// Output:
	// x-xor; key=7; quota=1000
	// declined x-webkit-deflate-frame: extension: not supported by the server
}
