package micro

import "github.com/gobwas/ws"

func maskGobwas(p []byte, pos int) { ws.Cipher(p, key, pos) }
