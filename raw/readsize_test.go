package raw

import "testing"

// TestReadSizeGrows: reads that keep filling the buffer double it up to
// 16 times Options.ReadBufferSize or 256 KiB, whichever is more, and
// reads that fill less than a quarter halve it back.
func TestReadSizeGrows(t *testing.T) {
	for _, tc := range []struct{ buf, max int }{
		{DefaultReadBufferSize, 256 << 10},
		{1024, 256 << 10},
		{64 << 10, 1 << 20},
	} {
		c := &Conn{opts: settings{readBuf: int32(tc.buf)}}
		for range 32 {
			c.adaptRead(c.readSize(), c.readSize())
		}
		if got := c.readSize(); got != tc.max {
			t.Errorf("ReadBufferSize %d: full reads grew the read to %d bytes, want %d", tc.buf, got, tc.max)
		}
		for range 32 {
			c.adaptRead(1, c.readSize())
		}
		if got := c.readSize(); got != tc.buf {
			t.Errorf("ReadBufferSize %d: short reads shrank the read to %d bytes, want %d", tc.buf, got, tc.buf)
		}
	}
}
