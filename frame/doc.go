// Package frame is the RFC 6455 frame codec: headers (RFC 6455, Section
// 5.2), masking (Section 5.3), the per-frame and fragmentation rules
// (Sections 5.4 and 5.5), close payloads (Section 5.5.1 and 7.4) and an
// incremental UTF-8 validator for text messages (Section 8.1).
//
// The package is free of I/O policy: it encodes and decodes, and it checks.
// Sessions (packages raw and conn) decide what to do with what it reports.
// Nothing here allocates on the hot path; ReadHeader takes the caller's
// scratch buffer.
//
// Mask and UTF8 are the two passes over every payload byte. On amd64 they
// run vector assembly (AVX-512 or AVX2, SSE2 on the oldest CPUs), masking
// at about the speed of copy and validating ASCII several times faster
// than utf8.Valid; elsewhere, or built with -tags purego, portable Go
// loops. Both give the same results everywhere, and both work on a
// payload in pieces of any size.
//
// # Reading a stream of frames
//
// Reader reads frames from any io.Reader: Next decodes a header, Read
// returns the payload unmasked in pieces as small as the caller likes, and
// what is left unread is skipped by the next Next. MaxPayload bounds what a
// header may announce; Validate applies the rules below as a session does.
// It is what a tool, a test or a fuzz target needs to turn bytes into
// frames; FuzzExampleParser in this package's example_fuzz_test.go is a
// fuzz target to copy for fuzzing code that consumes frames.
//
// # Reserved bits
//
// Check refuses a reserved bit (RSV1-3) that the caller did not allow, on
// any frame. A bit it allows is allowed on every frame, control and
// continuation frames included: whether an extension may set its bit only
// on the first frame of a message (as permessage-deflate, RFC 7692,
// Section 6.1) or also on the others is the caller's rule to apply.
//
// # Errors
//
// Every rule a received frame can break has a sentinel *ProtocolError whose
// Code is the status to close the connection with:
//
//	input                                      error                      close code
//	RSV bit no extension owns                  ErrReservedBits            1002
//	opcode 0x3-0x7, 0xB-0xF                    ErrReservedOpcode          1002
//	unmasked frame from a client               ErrUnmasked                1002
//	masked frame from a server                 ErrMasked                  1002
//	control frame with FIN clear               ErrFragmentedControl       1002
//	control payload over 125 bytes             ErrControlTooLong          1002
//	64-bit length with the top bit set         ErrLengthOverflow          1002
//	continuation with no message open          ErrUnexpectedContinuation  1002
//	text/binary while a message is open        ErrExpectedContinuation    1002
//	close payload of one byte                  ErrCloseTooShort           1002
//	close code invalid on the wire             ErrInvalidCloseCode        1002
//	close reason not UTF-8                     ErrInvalidCloseReason      1007
//	text message not UTF-8                     ErrInvalidUTF8             1007
//	frame over the frame size limit            ErrFrameTooBig             1009
//	message over the message size limit        ErrMessageTooBig           1009
package frame
