// Package interop holds no code: its tests run hybi against real WebSocket
// implementations (Node.js ws and Python websockets) started as child
// processes, in both roles, with and without permessage-deflate; hybi's
// server against headless Chromium's WebSocket in every permessage-deflate
// configuration the server can impose; and hybi's client over HTTP/2
// (RFC 8441) through nghttpx and HAProxy, in front of ws and of hybi's
// server. See README.md in this directory for the contract the peer
// scripts follow and how to install them.
package interop
