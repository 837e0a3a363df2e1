//go:build !unix

package raw

type idleReader struct{}

func (c *Conn) initIdle() {}

func (c *Conn) readIdle() (bool, error) { return false, nil }
