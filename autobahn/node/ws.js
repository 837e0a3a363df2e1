'use strict';

// The `ws` package, taken from interop/node (installed there with `npm ci`)
// so that this directory needs no install of its own.
module.exports = require('../../interop/node/node_modules/ws');
