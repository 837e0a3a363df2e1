// Package raw is the Raw WebSocket session: frames in and out, with every
// control frame (ping, pong, close) handed to the caller and nothing
// answered automatically. It is for programs that want their own
// behaviour on top of RFC 6455 framing — a proxy, a conformance tool, a
// custom keepalive — in the way Ktor's webSocketRaw is. Most programs want
// package conn, the Default session built on this one.
//
// A Conn checks every received header against the rules of RFC 6455,
// Section 5 (see frame.Check and frame.CheckSequence) and the frame size
// limit; it does not validate text payloads or close payloads, which are
// message-level (use frame.UTF8 and frame.ParseClose).
//
// # Opening and extensions
//
// Dial and Accept run the opening handshake (package handshake) and start
// a session; NewFromResult starts one on a handshake done by other means,
// and New on any connection past its handshake. Extensions negotiated by
// DialOptions.Extensions or AcceptOptions.Extensions are recorded
// (AgreedExtensions) and their reserved bits allowed, but not applied: the
// Raw session hands over frames as they are on the wire, and the caller
// encodes and decodes with the Agreed values if it wants to (package conn
// does; conn.New on a Raw session applies what it agreed).
//
// An allowed reserved bit is allowed on every frame. RFC 6455 lets each
// extension say which frames may carry its bit, and RFC 7692 forbids
// permessage-deflate's on control and continuation frames; the Raw
// session does not know those rules, so checking the bits of control and
// continuation frames is left to the caller.
//
// # Contexts
//
// NextFrame's context bounds the header and, through Read, the frame's
// payload. A call it cuts short returns ctx.Err() with nothing lost: call
// NextFrame again to go on reading a header, or ReadContext with a new
// context to go on reading a payload.
//
// # Buffers
//
// A Conn keeps a 128-byte inline read buffer and takes a pooled one only
// while a larger frame is being read; payload reads at least as large as
// the read buffer go straight into the caller's slice. Frames are written
// through a pooled buffer that is given back before WriteFrame returns. An
// idle Conn therefore holds no buffer beyond its inline one.
package raw
